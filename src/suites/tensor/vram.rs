//! Device memory per worker, from NVML's list of the processes on the GPU: which entries are the
//! workers, and what each holds. NVML lists PIDs as the driver sees them; a coldbench running in a
//! container (a PID namespace of its own) sees its workers under other PIDs than NVML does, and
//! the host's PIDs cannot be read from inside. The workers are then the processes that appeared on
//! the GPU when they started (each opens its CUDA context as it starts).

use crate::gpu::GpuProcess;

/// How the workers were found in NVML's list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PidMapping {
    /// Under their own PIDs.
    Direct,
    /// NVML lists PIDs of another PID namespace: the workers are the processes that appeared
    /// when they started, under these PIDs (which is which is not known, nor needed for totals).
    Arrival(Vec<u32>),
}

impl PidMapping {
    /// For the facts: how the figures were attributed.
    pub fn describe(&self) -> String {
        match self {
            PidMapping::Direct => "NVML lists the workers under their own PIDs".into(),
            PidMapping::Arrival(pids) => format!(
                "NVML lists PIDs of another PID namespace (coldbench runs in a container): the workers are the \
                 {} GPU processes that appeared when they started (PIDs {} in NVML's list)",
                pids.len(),
                join(pids)
            ),
        }
    }
}

/// The device memory of each worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vram {
    /// Per worker, in bytes (in PID order when found by arrival).
    pub per_worker: Vec<u64>,
    /// How they were found.
    pub mapping: PidMapping,
}

impl Vram {
    /// All of them together.
    pub fn total(&self) -> u64 {
        self.per_worker.iter().sum()
    }
}

fn join(pids: &[u32]) -> String {
    pids.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
}

/// The workers' device memory: `workers` are their PIDs here, `before` the PIDs NVML listed before
/// they started, `now` NVML's list.
pub fn workers_vram(workers: &[u32], before: &[u32], now: &[GpuProcess]) -> Result<Vram, String> {
    let found: Vec<&GpuProcess> = workers.iter().filter_map(|w| now.iter().find(|p| p.pid == *w)).collect();
    let (entries, mapping) = if found.len() == workers.len() {
        (found, PidMapping::Direct)
    } else if found.is_empty() {
        let mut new: Vec<&GpuProcess> = now.iter().filter(|p| !before.contains(&p.pid)).collect();
        new.sort_by_key(|p| p.pid);
        if new.len() != workers.len() {
            let pids: Vec<u32> = new.iter().map(|p| p.pid).collect();
            return Err(format!(
                "NVML does not list the workers under their PIDs ({}), and {} GPU process{} appeared when the {} \
                 worker{} started ({}): which are the workers cannot be told (did another program start on the GPU?)",
                join(workers),
                new.len(),
                if new.len() == 1 { "" } else { "es" },
                workers.len(),
                if workers.len() == 1 { "" } else { "s" },
                if pids.is_empty() { "none".to_string() } else { format!("PIDs {}", join(&pids)) },
            ));
        }
        let pids = new.iter().map(|p| p.pid).collect();
        (new, PidMapping::Arrival(pids))
    } else {
        return Err(format!(
            "NVML lists {} of the {} workers under their PIDs ({}): the list is incomplete",
            found.len(),
            workers.len(),
            join(workers)
        ));
    };
    let per_worker =
        entries.iter().map(|p| p.used).collect::<Option<Vec<u64>>>().ok_or(
            "NVML does not tell how much memory each process uses on this GPU (under MIG, or without permission)",
        )?;
    Ok(Vram { per_worker, mapping })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    fn p(pid: u32, mib: u64) -> GpuProcess {
        GpuProcess { pid, used: Some(mib * MIB) }
    }

    #[test]
    fn workers_listed_under_their_own_pids_are_read_directly() {
        // Another program (50) and coldbench itself (40) are on the GPU too.
        let now = [p(50, 1000), p(40, 900), p(101, 700), p(100, 600)];
        let vram = workers_vram(&[100, 101], &[40, 50], &now).unwrap();
        assert_eq!(vram.per_worker, vec![600 * MIB, 700 * MIB]);
        assert_eq!(vram.total(), 1300 * MIB);
        assert_eq!(vram.mapping, PidMapping::Direct);
    }

    #[test]
    fn in_a_container_the_workers_are_the_processes_that_appeared_when_they_started() {
        // Here the workers are 7 and 8; NVML lists host PIDs: 4000 was there before (coldbench's
        // own context), 4102 and 4101 came with the workers.
        let now = [p(4000, 900), p(4102, 650), p(4101, 600)];
        let vram = workers_vram(&[7, 8], &[4000], &now).unwrap();
        assert_eq!(vram.per_worker, vec![600 * MIB, 650 * MIB]);
        assert_eq!(vram.mapping, PidMapping::Arrival(vec![4101, 4102]));
        assert!(vram
            .mapping
            .describe()
            .contains("the 2 GPU processes that appeared when they started (PIDs 4101, 4102"));
    }

    #[test]
    fn what_cannot_be_attributed_is_said_with_the_pids() {
        // A third program started beside the two workers.
        let now = [p(4000, 900), p(4101, 600), p(4102, 650), p(4200, 100)];
        let err = workers_vram(&[7, 8], &[4000], &now).unwrap_err();
        assert!(
            err.contains("(7, 8), and 3 GPU processes appeared when the 2 workers started (PIDs 4101, 4102, 4200)"),
            "{err}"
        );
        // NVML lists nothing (a sandbox that hides the processes).
        let err = workers_vram(&[7], &[], &[]).unwrap_err();
        assert!(err.contains("0 GPU processes appeared when the 1 worker started (none)"), "{err}");
        // One worker is listed and the other is not.
        let err = workers_vram(&[100, 101], &[], &[p(100, 600)]).unwrap_err();
        assert!(err.contains("NVML lists 1 of the 2 workers"), "{err}");
        // The memory is not reported (MIG).
        let hidden = [GpuProcess { pid: 100, used: None }];
        let err = workers_vram(&[100], &[], &hidden).unwrap_err();
        assert!(err.contains("does not tell how much memory"), "{err}");
    }
}
