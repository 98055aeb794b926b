//! The kinds this binary knows: the one place that lists them. Adding a kind is a folder that
//! implements `measure::kind::Kind`, and one line in [`Registry::builtin`].

use crate::measure::kind::{Family, Kind, Role, ScenarioGroup};
use crate::measure::{load, python, start};
use crate::results::HostFacts;
use crate::suites::{rpc, tensor, zmq};

/// The kinds a plan is made of, in the order each package's benchmarks are planned.
#[derive(Clone)]
pub struct Registry {
    kinds: Vec<&'static dyn Kind>,
}

impl Registry {
    /// The kinds of this binary.
    pub fn builtin() -> Registry {
        Registry { kinds: vec![&start::Start, &load::Load, &python::Python, &zmq::Zmq, &rpc::Rpc, &tensor::Tensor] }
    }

    /// These kinds and one more, planned after them.
    pub fn with(mut self, kind: &'static dyn Kind) -> Registry {
        self.kinds.push(kind);
        self
    }

    /// Every kind, in order.
    pub fn iter(&self) -> impl Iterator<Item = &'static dyn Kind> + '_ {
        self.kinds.iter().copied()
    }

    /// The kind of this name.
    pub fn get(&self, name: &str) -> Option<&'static dyn Kind> {
        self.iter().find(|k| k.name() == name)
    }

    /// Every kind's name, in order.
    pub fn names(&self) -> Vec<&'static str> {
        self.iter().map(|k| k.name()).collect()
    }

    /// The facts of the machine every result carries, with what each kind adds.
    pub fn host_facts(&self) -> HostFacts {
        let mut facts = crate::host::collect();
        for kind in self.iter() {
            kind.host_facts(&mut facts);
        }
        facts
    }

    /// Every kind's built-in processes (`suites::role`).
    pub fn roles(&self) -> Vec<Role> {
        self.iter().flat_map(|k| k.info().roles.iter().copied()).collect()
    }

    /// Every suite's scenario groups (`--scenario`), in order.
    pub fn scenario_groups(&self) -> impl Iterator<Item = &'static ScenarioGroup> + '_ {
        self.iter().flat_map(|k| k.info().groups)
    }

    /// The names of the kinds of one family.
    pub fn names_of(&self, family: Family) -> Vec<&'static str> {
        self.iter().filter(|k| k.family() == family).map(|k| k.name()).collect()
    }
}

impl Default for Registry {
    fn default() -> Self {
        Registry::builtin()
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}
