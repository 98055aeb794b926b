//! What a profile says about a function from its symbol and its object: the name demangled
//! (`rustc-demangle`, `cpp_demangle`), the Rust crate, and the group it belongs to in a start —
//! the loader's relocation and symbol lookup, the loader's other work, the runtime's start-up and
//! exit, the program, the libraries it calls, valgrind's own preload.

use std::path::Path;

use crate::results::FunctionGroup;

/// A symbol, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbol {
    /// Demangled, without Rust's hash, symbol versions and callgrind's recursion marks.
    pub name: String,
    /// For Rust, the crate.
    pub krate: Option<String>,
}

/// Reads a symbol as callgrind wrote it with `--demangle=no`.
pub fn read(raw: &str) -> Symbol {
    // `'2`: callgrind's recursion level; `@@GLIBC_2.14`: a symbol version.
    let raw = match raw.rsplit_once('\'') {
        Some((name, level)) if !level.is_empty() && level.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => raw,
    };
    let raw = raw.split_once('@').map_or(raw, |(name, _)| name);
    if let Ok(d) = rustc_demangle::try_demangle(raw) {
        let (full, short) = (d.to_string(), format!("{d:#}"));
        // A legacy symbol is Rust's when it ends in the hash (dropped by `{:#}`); v0 always is.
        if raw.starts_with("_R") || full != short {
            // `write_str.775`: a local copy numbered by LTO, numbered differently in every build.
            let name = match short.rsplit_once('.') {
                Some((name, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => name.to_string(),
                _ => short,
            };
            let krate = rust_crate(&name);
            return Symbol { name, krate };
        }
    }
    if raw.starts_with("_Z") {
        if let Ok(sym) = cpp_demangle::Symbol::new(raw) {
            let options = cpp_demangle::DemangleOptions::new().no_params().no_return_type();
            if let Ok(name) = sym.demangle_with_options(&options) {
                return Symbol { name, krate: None };
            }
        }
    }
    Symbol { name: raw.to_string(), krate: None }
}

/// Primitive types, which belong to no crate: `<u8 as core::fmt::Debug>::fmt` is `core`'s.
const PRIMITIVES: [&str; 18] = [
    "bool", "char", "str", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize",
    "f32", "f64", "_",
];

/// The crate of a demangled Rust path: the first segment, or for `<Type as Trait>::f` the type's
/// crate (the trait's when the type is a primitive or generic).
fn rust_crate(path: &str) -> Option<String> {
    let first_segment = |p: &str| -> Option<String> {
        let p = p.trim_start_matches(['&', '*', '[', '(', ' ']);
        let p =
            p.strip_prefix("mut ").or_else(|| p.strip_prefix("const ")).or_else(|| p.strip_prefix("dyn ")).unwrap_or(p);
        let p = p.trim_start_matches(['&', '*', '[', '(', ' ']);
        let end = p.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(p.len());
        let segment = &p[..end];
        let qualified = p[end..].starts_with("::");
        (qualified && !segment.is_empty() && !PRIMITIVES.contains(&segment)).then(|| segment.to_string())
    };
    let Some(inner) = path.strip_prefix('<') else {
        let end = path.find("::")?;
        return Some(path[..end].to_string());
    };
    // The top-level ` as ` and the closing `>` of the qualified self type.
    let (mut depth, mut split, mut close) = (0i32, None, None);
    for (i, c) in inner.char_indices() {
        match c {
            '<' => depth += 1,
            '>' if depth == 0 => {
                close = Some(i);
                break;
            }
            '>' => depth -= 1,
            ' ' if depth == 0 && split.is_none() && inner[i..].starts_with(" as ") => split = Some(i),
            _ => {}
        }
    }
    let self_type = &inner[..split.or(close).unwrap_or(inner.len())];
    first_segment(self_type).or_else(|| {
        let trait_path = &inner[split? + 4..close.unwrap_or(inner.len())];
        first_segment(trait_path)
    })
}

/// The dynamic loader's file names (glibc's and musl's).
pub fn is_loader(object: &str) -> bool {
    object.starts_with("ld-linux") || object.starts_with("ld.so") || object.starts_with("ld-musl")
}

/// The file name of an object as callgrind names it (`/usr/lib/x86_64-linux-gnu/libc.so.6` is
/// `libc.so.6`).
pub fn object_name(object: &str) -> String {
    Path::new(object).file_name().map_or_else(|| object.to_string(), |n| n.to_string_lossy().into_owned())
}

/// libc's and the language runtime's start-up and exit, by name: what runs around `main` in any
/// program (`std::rt::lang_start_internal`, `__libc_start_main`, `exit`), and `pthread_getattr_np`,
/// which Rust's runtime calls to find its stack guard, also when link-time optimisation has
/// inlined the runtime into `main`.
fn is_runtime(name: &str) -> bool {
    const EXACT: [&str; 22] = [
        "_start",
        "_dl_start_user",
        "_init",
        "_fini",
        "(below main)",
        "frame_dummy",
        "register_tm_clones",
        "deregister_tm_clones",
        "__do_global_dtors_aux",
        "__libc_csu_init",
        "__libc_setup_tls",
        "__libc_init_secure",
        "__libc_init_first",
        "pthread_getattr_np",
        "__libc_early_init",
        "init_cacheinfo",
        "__cpu_indicator_init",
        "exit",
        "__run_exit_handlers",
        "_IO_cleanup",
        "__call_tls_dtors",
        "_dl_non_dynamic_init",
    ];
    const PREFIXES: [&str; 9] = [
        "__libc_start",
        "__libc_csu_",
        "std::rt::",
        "std::sys::pal::unix::init",
        "std::sys::pal::unix::stack_overflow::",
        "std::sys::args::",
        "std::sys::backtrace::__rust_begin_short_backtrace",
        "__init_cpu_features",
        "init_cpu_features",
    ];
    EXACT.contains(&name) || PREFIXES.iter().any(|p| name.starts_with(p)) || name.contains("lang_start")
}

/// Crates of Rust's standard library: their functions in the executable serve the runtime when the
/// runtime calls them.
const STANDARD_CRATES: [&str; 9] =
    ["std", "core", "alloc", "__rustc", "std_detect", "panic_unwind", "panic_abort", "compiler_builtins", "unwind"];

/// How a function's group is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    /// Its object and name decide.
    Fixed(FunctionGroup),
    /// Its callers decide, among the groups it [`Grouping::takes`], else this group: a loader helper
    /// (`strcmp` in `ld.so`), a library function (libc's `sscanf` called by Rust's runtime to read
    /// its stack's bounds) or a standard library function in the executable.
    Callers(FunctionGroup),
}

impl Grouping {
    /// Whether a function grouped this way takes the group `of_callers` from its callers.
    pub fn takes(self, of_callers: FunctionGroup) -> bool {
        match self {
            Grouping::Fixed(_) => false,
            Grouping::Callers(FunctionGroup::Loading) => of_callers.is_loader(),
            Grouping::Callers(FunctionGroup::Libraries) => {
                of_callers == FunctionGroup::Runtime || of_callers.is_loader()
            }
            Grouping::Callers(_) => of_callers == FunctionGroup::Runtime,
        }
    }

    /// The group when the callers do not decide.
    pub fn fallback(self) -> FunctionGroup {
        match self {
            Grouping::Fixed(g) | Grouping::Callers(g) => g,
        }
    }
}

/// How the group of a function is decided, from its object, name and crate; `executable` says
/// whether its object is the program's file.
pub fn group(object: &str, name: &str, krate: Option<&str>, executable: bool) -> Grouping {
    if object.starts_with("vgpreload") {
        return Grouping::Fixed(FunctionGroup::Valgrind);
    }
    if is_loader(object) {
        let lower = name.to_ascii_lowercase();
        if lower.contains("reloc")
            || lower.starts_with("elf_machine")
            || name.starts_with("_dl_runtime_resolve")
            || name == "_dl_fixup"
        {
            return Grouping::Fixed(FunctionGroup::Relocation);
        }
        // Not `_dl_load_cache_lookup`: that finds a library's file in `ld.so.cache`.
        const LOOKUP: [&str; 6] = [
            "check_match",
            "_dl_lookup_direct",
            "lookup_malloc_symbol",
            "dl_new_hash",
            "_dl_elf_hash",
            "do_lookup_unique",
        ];
        if name.contains("lookup_symbol") || name.starts_with("do_lookup") || LOOKUP.contains(&name) {
            return Grouping::Fixed(FunctionGroup::SymbolLookup);
        }
        return Grouping::Callers(FunctionGroup::Loading);
    }
    if is_runtime(name) {
        return Grouping::Fixed(FunctionGroup::Runtime);
    }
    if !executable {
        return Grouping::Callers(FunctionGroup::Libraries);
    }
    match krate {
        Some(k) if !STANDARD_CRATES.contains(&k) => Grouping::Fixed(FunctionGroup::Program),
        _ if name == "main" => Grouping::Fixed(FunctionGroup::Program),
        _ => Grouping::Callers(FunctionGroup::Program),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_names_lose_their_hash_and_name_their_crate() {
        let legacy = read("_ZN3std2rt19lang_start_internal17h6f8d5c2f3e1a0b9cE");
        assert_eq!(legacy, Symbol { name: "std::rt::lang_start_internal".into(), krate: Some("std".into()) });
        let v0 = read("_RNvNtCsjrHSEGnQ3l9_3std2rt19lang_start_internal");
        assert_eq!(v0.name, "std::rt::lang_start_internal");
        assert_eq!(v0.krate.as_deref(), Some("std"));
        // A trait impl belongs to the type's crate; a primitive's to the trait's.
        let vec_drop = read(
            "_ZN70_$LT$alloc..vec..Vec$LT$T$C$A$GT$$u20$as$u20$core..ops..drop..Drop$GT$4drop17h0123456789abcdefE",
        );
        assert_eq!(vec_drop.name, "<alloc::vec::Vec<T,A> as core::ops::drop::Drop>::drop");
        assert_eq!(vec_drop.krate.as_deref(), Some("alloc"));
        assert_eq!(rust_crate("<u8 as core::fmt::Debug>::fmt").as_deref(), Some("core"));
        assert_eq!(rust_crate("<&mut fd::cli::Opts as clap::Parser>::parse").as_deref(), Some("fd"));
        assert_eq!(rust_crate("<T as clap::Parser>::parse").as_deref(), Some("clap"));
        assert_eq!(rust_crate("<alloc::vec::Vec<u8>>::push").as_deref(), Some("alloc"));
        // callgrind's recursion level and LTO's numbering of local copies are not part of the name.
        assert_eq!(read("_ZN4work4main17h0123456789abcdefE'2").name, "work::main");
        let copy =
            read("_RNvXsZ_NtCslNYArtu3iFV_5alloc6stringNtB5_6StringNtNtCsgEmfK2I1SDS_4core3fmt5Write9write_str.1111");
        assert_eq!(copy.name, "<alloc::string::String as core::fmt::Write>::write_str");
    }

    #[test]
    fn cpp_and_c_names() {
        let cpp = read("_ZNSt6vectorIiSaIiEE9push_backERKi");
        assert_eq!(cpp, Symbol { name: "std::vector<int, std::allocator<int> >::push_back".into(), krate: None });
        assert_eq!(read("memcpy@@GLIBC_2.14"), Symbol { name: "memcpy".into(), krate: None });
        assert_eq!(read("ptmalloc_init.part.0").name, "ptmalloc_init.part.0");
        assert_eq!(read("0x000000000001ab70").name, "0x000000000001ab70");
    }

    #[test]
    fn groups_tell_the_loader_from_the_runtime_and_the_program() {
        use FunctionGroup::*;
        let g = |object: &str, name: &str, exe: bool| group(object, name, None, exe);
        assert_eq!(g("ld-linux-x86-64.so.2", "_dl_relocate_object", false), Grouping::Fixed(Relocation));
        assert_eq!(g("ld-linux-x86-64.so.2", "_dl_fixup", false), Grouping::Fixed(Relocation));
        assert_eq!(g("ld-linux-x86-64.so.2", "do_lookup_x", false), Grouping::Fixed(SymbolLookup));
        assert_eq!(g("ld-linux-x86-64.so.2", "check_match", false), Grouping::Fixed(SymbolLookup));
        assert_eq!(g("ld-linux-x86-64.so.2", "_dl_lookup_symbol_x", false), Grouping::Fixed(SymbolLookup));
        assert_eq!(g("ld-linux-x86-64.so.2", "_dl_load_cache_lookup", false), Grouping::Callers(Loading));
        assert_eq!(g("libc.so.6", "__libc_start_call_main", false), Grouping::Fixed(Runtime));
        assert_eq!(g("libc.so.6", "pthread_getattr_np", false), Grouping::Fixed(Runtime));
        assert_eq!(group("app", "std::rt::lang_start_internal", Some("std"), true), Grouping::Fixed(Runtime));
        assert_eq!(group("app", "app::main", Some("app"), true), Grouping::Fixed(Program));
        assert_eq!(g("vgpreload_core-amd64-linux.so", "_init", false), Grouping::Fixed(Valgrind));
        // Helpers: their callers decide, within limits.
        let helper = g("ld-linux-x86-64.so.2", "strcmp", false);
        assert!(helper.takes(SymbolLookup) && !helper.takes(Runtime) && helper.fallback() == Loading);
        let library = g("libc.so.6", "malloc", false);
        assert!(library.takes(Runtime) && library.takes(Relocation) && !library.takes(Program));
        assert_eq!(library.fallback(), Libraries);
        let standard = group("app", "std::thread::current", Some("std"), true);
        assert!(standard.takes(Runtime) && !standard.takes(Libraries) && standard.fallback() == Program);
        assert!(is_loader("ld-linux-x86-64.so.2") && !is_loader("libc.so.6"));
        assert_eq!(object_name("/usr/lib/x86_64-linux-gnu/libc.so.6"), "libc.so.6");
    }
}
