//! Loading a shared library into this process (`dlopen`) and calling its init symbol, for the
//! load helper: `libloading` leaves both to `unsafe` code, since loading runs the library's own
//! code (its initialisers), which is what the tool measures.

use std::ffi::OsStr;

pub use libloading::os::unix::{RTLD_LOCAL, RTLD_NOW};
pub use libloading::Error;

/// A library loaded into this process; never unloaded (the load helper reads what it mapped, and
/// exits soon after).
pub struct Library(std::mem::ManuallyDrop<libloading::os::unix::Library>);

/// A symbol of a [`Library`] to call as `extern "C" fn()`.
pub struct InitSymbol(libloading::os::unix::Symbol<unsafe extern "C" fn()>);

impl Library {
    /// `dlopen(path, flags)` (`RTLD_NOW | RTLD_LOCAL`, ...). Loading runs the library's
    /// initialisers.
    pub fn open(path: &OsStr, flags: libc::c_int) -> Result<Library, Error> {
        // SAFETY: loading runs the library's initialisers, arbitrary code of the library: running
        // it is inherent to what the tool measures (the time to load it), and the caller is the
        // load helper, a process that exists only to do it. The library is never unloaded, so
        // nothing resolved in it outlives it.
        let lib = unsafe { libloading::os::unix::Library::open(Some(path), flags) }?;
        Ok(Library(std::mem::ManuallyDrop::new(lib)))
    }

    /// The symbol `name`, to be called as an `extern "C" fn()` taking no argument.
    pub fn init_symbol(&self, name: &str) -> Result<InitSymbol, Error> {
        // SAFETY: the lookup itself only reads the library's symbol table; the type is what the
        // configuration declares an init symbol to be, and calling it is `InitSymbol::call`'s
        // business. The library stays loaded for the life of the process.
        unsafe { self.0.get::<unsafe extern "C" fn()>(name.as_bytes()) }.map(InitSymbol)
    }
}

impl InitSymbol {
    /// Calls the symbol.
    pub fn call(&self) {
        // SAFETY: the symbol was resolved in a library that is never unloaded; the configuration
        // declares it an `extern "C" fn()` with no arguments, and running the library's code is
        // what the load helper, a process of its own, exists for (as for `Library::open`).
        unsafe { (self.0)() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_library_is_an_error_with_the_loader_s_message() {
        let err = Library::open(OsStr::new("/nonexistent/libx.so"), RTLD_NOW | RTLD_LOCAL).err().unwrap();
        let detail = std::error::Error::source(&err).map(|s| s.to_string()).unwrap_or_default();
        assert!(detail.contains("/nonexistent/libx.so"), "{detail}");
    }
}
