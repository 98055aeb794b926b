//! Facts read from an ELF file: size, `DT_NEEDED`, relocation counts, and whether it is stripped.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// What the dynamic loader will have to do for this file, read from the file itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ElfFacts {
    /// `DT_NEEDED` entries, in order.
    pub needed: Vec<String>,
    /// Relative relocations (cheap: no symbol lookup).
    pub relative_relocations: u64,
    /// Other dynamic relocations, which need a symbol lookup.
    pub symbolic_relocations: u64,
    /// PLT relocations (resolved at load time with `RTLD_NOW`/`-z now`, else lazily).
    pub plt_relocations: u64,
    /// Whether the file has no `.symtab`.
    pub stripped: bool,
}

/// Reads the facts of an ELF file; an error message for anything that is not one.
pub fn read(path: &Path) -> Result<ElfFacts, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("could not read {}: {e}", path.display()))?;
    let elf = goblin::elf::Elf::parse(&bytes).map_err(|e| format!("{} is not an ELF file: {e}", path.display()))?;
    let relative = match elf.header.e_machine {
        goblin::elf::header::EM_X86_64 => goblin::elf::reloc::R_X86_64_RELATIVE,
        goblin::elf::header::EM_AARCH64 => goblin::elf::reloc::R_AARCH64_RELATIVE,
        goblin::elf::header::EM_386 => goblin::elf::reloc::R_386_RELATIVE,
        _ => u32::MAX,
    };
    let (mut rel, mut sym) = (0u64, 0u64);
    for r in elf.dynrelas.iter().chain(elf.dynrels.iter()) {
        if r.r_type == relative {
            rel += 1;
        } else {
            sym += 1;
        }
    }
    Ok(ElfFacts {
        needed: elf.libraries.iter().map(|s| s.to_string()).collect(),
        relative_relocations: rel,
        symbolic_relocations: sym,
        plt_relocations: elf.pltrelocs.len() as u64,
        stripped: elf.syms.is_empty(),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_this_test_binary() {
        let exe = std::env::current_exe().unwrap();
        let facts = super::read(&exe).unwrap();
        assert!(facts.needed.iter().any(|n| n.starts_with("libc.so")), "{facts:?}");
        assert!(facts.relative_relocations > 0, "a PIE test binary has relative relocations");
        assert!(!facts.stripped, "test binaries keep their symbols");
        assert!(super::read(std::path::Path::new("/etc/hostname")).is_err());
    }
}
