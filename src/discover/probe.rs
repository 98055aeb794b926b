//! Looking at the machine while the plan is made: finding programs on PATH, asking an interpreter
//! where it really lives, resolving an address.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};

use crate::error::UserError;

/// The path of `program`, looked up on PATH or relative to `dir`; the error names the key.
pub fn program(program: &str, key: &str, dir: &Path, manifest: &Path) -> Result<PathBuf, UserError> {
    which::which_in(program, std::env::var_os("PATH"), dir).map_err(|_| UserError::ProgramNotFound {
        program: program.to_string(),
        key: key.to_string(),
        manifest: manifest.to_path_buf(),
    })
}

/// The interpreter behind `python`: version managers (pyenv, asdf) put shell-script shims on
/// PATH whose own start-up would be measured with every import.
pub fn real_interpreter(python: &Path) -> Result<PathBuf, String> {
    let out = std::process::Command::new(python)
        .args(["-c", "import sys; print(sys.executable)"])
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("could not run {}: {e}", python.display()))?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || text.is_empty() {
        return Err(format!(
            "{} did not run as a Python interpreter: {}",
            python.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(PathBuf::from(text))
}

/// The socket address of `addr` (`127.0.0.1:7000`, `localhost:7000`).
pub fn address(addr: &str) -> Option<SocketAddr> {
    if let Ok(parsed) = addr.parse() {
        return Some(parsed);
    }
    // `localhost` resolves to ::1 and 127.0.0.1; servers most often listen on the IPv4 one.
    let all: Vec<SocketAddr> = addr.to_socket_addrs().ok()?.collect();
    all.iter().find(|a| a.is_ipv4()).or(all.first()).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_are_found_on_path_and_missing_ones_named() {
        let sh = program("sh", "k", Path::new("/"), Path::new("/ws/Cargo.toml")).unwrap();
        assert!(sh.is_absolute());
        let err = program("no-such-program-xyz", "k.command", Path::new("/"), Path::new("/ws/Cargo.toml")).unwrap_err();
        assert!(matches!(err, UserError::ProgramNotFound { .. }), "{err:?}");
    }

    #[test]
    fn addresses_resolve() {
        assert_eq!(address("127.0.0.1:7000"), Some("127.0.0.1:7000".parse().unwrap()));
        assert!(address("localhost:7000").is_some_and(|a| a.port() == 7000));
    }
}
