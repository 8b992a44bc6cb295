//! Build plans (CNB buildpack spec 0.10, "Phase #1: Detection" and "Build Plan (TOML)"; platform
//! spec 0.13, "plan.toml"): what each passing buildpack provides and requires — with `or`
//! alternatives — resolved into the group's plan by trials, and each buildpack's Buildpack Plan
//! ("Buildpack Plan (TOML)") taken from it.
//!
//! Trials pick one alternative per buildpack, left to right, depth first. In a trial every require
//! must be provided by the same or an earlier buildpack and every provide required by the same or a
//! later one; an optional buildpack that breaks this is dropped (and the trial checked again), a
//! required one fails the trial. The first trial that holds is the plan.

use serde::{Deserialize, Serialize};

/// What a buildpack's `bin/detect` writes to `<plan>`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct DetectPlan {
    #[serde(default)]
    pub provides: Vec<Provide>,
    #[serde(default)]
    pub requires: Vec<Require>,
    #[serde(default)]
    pub or: Vec<Alternative>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct Alternative {
    #[serde(default)]
    pub provides: Vec<Provide>,
    #[serde(default)]
    pub requires: Vec<Require>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Provide {
    pub name: String,
}

/// A required name with its metadata (also a Buildpack Plan entry).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Require {
    pub name: String,
    #[serde(default, skip_serializing_if = "toml::Table::is_empty")]
    pub metadata: toml::Table,
}

impl DetectPlan {
    /// The potential plans: the top level, then each `or` entry.
    pub fn alternatives(&self) -> Vec<Alternative> {
        std::iter::once(Alternative {
            provides: self.provides.clone(),
            requires: self.requires.clone(),
        })
        .chain(self.or.iter().cloned())
        .collect()
    }
}

/// `plan.toml` (platform spec 0.13): each resolved name, who provides it, every require of it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct PlanFile {
    #[serde(default)]
    pub entries: Vec<PlanFileEntry>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct PlanFileEntry {
    pub providers: Vec<Provider>,
    #[serde(default)]
    pub requires: Vec<Require>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Provider {
    pub id: String,
    pub version: String,
}

/// The Buildpack Plan a buildpack's `bin/build` reads (`[[entries]]` `name`, `metadata`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct BuildpackPlan {
    #[serde(default)]
    pub entries: Vec<Require>,
}

/// A buildpack that passed detection: whether it is optional, and its potential plans.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub optional: bool,
    pub alternatives: Vec<Alternative>,
}

/// One name of the resolved plan: who provides it (candidate indexes, in order) and every require.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub providers: Vec<usize>,
    pub requires: Vec<Require>,
}

/// The resolved group: the candidates kept (indexes, in order) and the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolution {
    pub members: Vec<usize>,
    pub entries: Vec<Entry>,
}

/// The first trial that holds, if any (`None` also when it keeps no buildpack).
pub fn resolve(candidates: &[Candidate]) -> Option<Resolution> {
    let mut choice = vec![0usize; candidates.len()];
    loop {
        if let Some(resolution) = trial(candidates, &choice) {
            return Some(resolution);
        }
        // The next combination: the last buildpack's alternatives vary fastest.
        let mut i = candidates.len();
        loop {
            if i == 0 {
                return None;
            }
            i -= 1;
            choice[i] += 1;
            if choice[i] < candidates[i].alternatives.len().max(1) {
                break;
            }
            choice[i] = 0;
        }
    }
}

fn trial(candidates: &[Candidate], choice: &[usize]) -> Option<Resolution> {
    let mut members: Vec<usize> = (0..candidates.len()).collect();
    let empty = Alternative::default();
    let pick = |i: usize| candidates[i].alternatives.get(choice[i]).unwrap_or(&empty);
    loop {
        let (entries, unmet) = dependencies(&members, pick);
        if unmet.is_empty() {
            return (!members.is_empty()).then(|| Resolution {
                entries: entries.into_iter().map(|(_, e)| e).collect(),
                members,
            });
        }
        if unmet.iter().any(|&i| !candidates[i].optional) {
            return None;
        }
        members.retain(|i| !unmet.contains(i));
    }
}

type Named = Vec<(String, Entry)>;

/// The plan of `members` and the members that break it.
fn dependencies<'a>(
    members: &[usize],
    pick: impl Fn(usize) -> &'a Alternative,
) -> (Named, Vec<usize>) {
    // Per name: providers whose provide a require has met, providers still waiting for one, and
    // buildpacks that required it before anyone provided it.
    let mut entries: Named = Vec::new();
    let mut waiting: Vec<(String, Vec<usize>)> = Vec::new();
    let mut unmet: Vec<usize> = Vec::new();
    for &i in members {
        let alternative = pick(i);
        for provide in &alternative.provides {
            match waiting.iter_mut().find(|(n, _)| *n == provide.name) {
                Some((_, list)) => list.push(i),
                None => waiting.push((provide.name.clone(), vec![i])),
            }
        }
        for require in &alternative.requires {
            let fresh: Vec<usize> = waiting
                .iter_mut()
                .find(|(n, _)| *n == require.name)
                .map(|(_, list)| std::mem::take(list))
                .unwrap_or_default();
            let index = match entries.iter().position(|(n, _)| *n == require.name) {
                Some(index) => index,
                None => {
                    entries.push((
                        require.name.clone(),
                        Entry {
                            providers: Vec::new(),
                            requires: Vec::new(),
                        },
                    ));
                    entries.len() - 1
                }
            };
            let entry = &mut entries[index].1;
            for provider in fresh {
                if !entry.providers.contains(&provider) {
                    entry.providers.push(provider);
                }
            }
            if entry.providers.is_empty() {
                unmet.push(i);
            } else {
                entry.requires.push(require.clone());
            }
        }
    }
    for (_, list) in waiting {
        unmet.extend(list);
    }
    entries.retain(|(_, e)| !e.providers.is_empty());
    unmet.sort_unstable();
    unmet.dedup();
    (entries, unmet)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alt(provides: &[&str], requires: &[&str]) -> Alternative {
        Alternative {
            provides: provides
                .iter()
                .map(|n| Provide {
                    name: (*n).to_owned(),
                })
                .collect(),
            requires: requires
                .iter()
                .map(|n| Require {
                    name: (*n).to_owned(),
                    metadata: toml::Table::new(),
                })
                .collect(),
        }
    }

    fn candidate(optional: bool, alternatives: Vec<Alternative>) -> Candidate {
        Candidate {
            optional,
            alternatives,
        }
    }

    #[test]
    fn a_buildpack_providing_and_requiring_its_own_name_resolves() {
        let resolved = resolve(&[
            candidate(false, vec![alt(&["node"], &["node"])]),
            candidate(true, vec![alt(&[], &[])]),
        ])
        .unwrap();
        assert_eq!(resolved.members, [0, 1]);
        assert_eq!(resolved.entries.len(), 1);
        assert_eq!(resolved.entries[0].providers, [0]);
    }

    #[test]
    fn requires_must_come_after_their_provider() {
        // The requirer is first: a required buildpack fails the group.
        assert_eq!(
            resolve(&[
                candidate(false, vec![alt(&[], &["jdk"])]),
                candidate(false, vec![alt(&["jdk"], &["jdk"])]),
            ]),
            None
        );
        // An optional one is dropped, with its requires and provides.
        let resolved = resolve(&[
            candidate(true, vec![alt(&[], &["jdk"])]),
            candidate(false, vec![alt(&["jdk"], &["jdk"])]),
        ])
        .unwrap();
        assert_eq!(resolved.members, [1]);
    }

    #[test]
    fn a_provide_nobody_requires_drops_an_optional_buildpack() {
        let resolved = resolve(&[
            candidate(false, vec![alt(&[], &[])]),
            candidate(true, vec![alt(&["jvm"], &[])]),
        ])
        .unwrap();
        assert_eq!(resolved.members, [0]);
        assert_eq!(resolve(&[candidate(false, vec![alt(&["jvm"], &[])])]), None);
    }

    #[test]
    fn or_alternatives_are_tried_depth_first() {
        // The first buildpack's first alternative provides what nobody requires; its `or`
        // alternative provides nothing and resolves.
        let resolved = resolve(&[
            candidate(false, vec![alt(&["x"], &[]), alt(&[], &[])]),
            candidate(false, vec![alt(&["y"], &["y"])]),
        ])
        .unwrap();
        assert_eq!(resolved.members, [0, 1]);
        assert_eq!(resolved.entries.len(), 1);
        // The second buildpack's alternative that requires what the first provides wins.
        let resolved = resolve(&[
            candidate(false, vec![alt(&["x"], &[])]),
            candidate(false, vec![alt(&[], &["z"]), alt(&[], &["x"])]),
        ])
        .unwrap();
        assert_eq!(resolved.entries[0].providers, [0]);
        assert_eq!(resolved.entries[0].requires[0].name, "x");
    }

    #[test]
    fn dropping_an_optional_provider_drops_its_optional_requirer_too() {
        let resolved = resolve(&[
            candidate(false, vec![alt(&[], &[])]),
            candidate(true, vec![alt(&["a"], &["b"])]),
            candidate(true, vec![alt(&[], &["a"])]),
        ])
        .unwrap();
        assert_eq!(resolved.members, [0]);
        assert!(resolved.entries.is_empty());
    }

    #[test]
    fn several_providers_and_requirers_share_one_entry() {
        let resolved = resolve(&[
            candidate(false, vec![alt(&["node"], &["node"])]),
            candidate(false, vec![alt(&["node"], &["node"])]),
        ])
        .unwrap();
        assert_eq!(resolved.entries.len(), 1);
        assert_eq!(resolved.entries[0].providers, [0, 1]);
        assert_eq!(resolved.entries[0].requires.len(), 2);
    }

    #[test]
    fn nothing_kept_is_no_resolution() {
        assert_eq!(resolve(&[]), None);
        assert_eq!(resolve(&[candidate(true, vec![alt(&["a"], &[])])]), None);
    }
}
