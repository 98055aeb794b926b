//! A spec's command as the timed spawn ([`crate::sys::spawn`]) takes it: built once per spec,
//! before any clock starts.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io;

use super::spec::ProcessSpec;
pub(super) use crate::sys::spawn::{Exec, Spawner};

/// The spec's command with this process's environment, the spec's variables and `extra` added
/// (later ones override).
pub(super) fn exec(spec: &ProcessSpec, extra: &BTreeMap<String, String>) -> io::Result<Exec> {
    let mut env: BTreeMap<OsString, OsString> = std::env::vars_os().collect();
    for (k, v) in spec.env.iter().chain(extra) {
        env.insert(k.into(), v.into());
    }
    Exec::new(&spec.program, &spec.args, env, &spec.cwd)
}
