//! Which benchmarks of a run are measured together: a benchmark whose reference is in the same
//! run runs interleaved with it, and with everything else measured against the same
//! implementation down a chain of references.

use super::bench::Bench;

/// For each id, the index of the id its reference names, when it is among `ids` (and is not
/// itself).
pub fn reference_indices(ids: &[String], references: &[Option<String>]) -> Vec<Option<usize>> {
    references
        .iter()
        .enumerate()
        .map(|(i, r)| r.as_ref().and_then(|r| ids.iter().position(|id| id == r)).filter(|&j| j != i))
        .collect()
}

/// For each benchmark, the index of its reference among `benches`, when it is there.
pub fn references_in(benches: &[Box<dyn Bench>]) -> Vec<Option<usize>> {
    let ids: Vec<String> = benches.iter().map(|b| b.id().render()).collect();
    let references: Vec<Option<String>> = benches.iter().map(|b| b.reference().map(|r| r.id)).collect();
    reference_indices(&ids, &references)
}

/// The end of the chain of references from `i`: the implementation everything on the chain is
/// measured against. (The configuration rules out cycles; the walk stops anyway.)
pub fn chain_root(reference_of: &[Option<usize>], i: usize) -> usize {
    let mut at = i;
    for _ in 0..reference_of.len() {
        match reference_of[at] {
            Some(next) => at = next,
            None => break,
        }
    }
    at
}

/// The groups measured together, in plan order of their heads: each the root of a chain first,
/// then every benchmark whose chain ends there, in plan order. Every index is in one group.
pub fn reference_groups(reference_of: &[Option<usize>]) -> Vec<Vec<usize>> {
    let root_of: Vec<usize> = (0..reference_of.len()).map(|i| chain_root(reference_of, i)).collect();
    (0..reference_of.len())
        .filter(|&head| root_of[head] == head)
        .map(|head| {
            std::iter::once(head).chain((0..reference_of.len()).filter(|&j| j != head && root_of[j] == head)).collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn a_reference_is_found_by_id_and_never_points_at_itself() {
        let refs = vec![None, Some("a".to_string()), Some("gone".to_string()), Some("d".to_string())];
        assert_eq!(reference_indices(&ids(&["a", "b", "c", "d"]), &refs), vec![None, Some(0), None, None]);
    }

    #[test]
    fn a_chain_groups_under_its_root_head_first_then_plan_order() {
        // d -> c -> a, b -> a; e alone; f -> e.
        let reference_of = vec![None, Some(0), Some(0), Some(2), None, Some(4)];
        assert_eq!(chain_root(&reference_of, 3), 0);
        assert_eq!(reference_groups(&reference_of), vec![vec![0, 1, 2, 3], vec![4, 5]]);
        // A reference later in the plan than what points at it: the group follows its head.
        assert_eq!(reference_groups(&[Some(1), None, None]), vec![vec![1, 0], vec![2]]);
    }

    #[test]
    fn a_cycle_still_ends_the_walk() {
        let reference_of = vec![Some(1), Some(0)];
        let mut grouped: Vec<usize> = reference_groups(&reference_of).concat();
        grouped.sort();
        assert_eq!(grouped, vec![0, 1], "each benchmark measured once");
    }
}
