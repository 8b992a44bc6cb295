//! The default builder's order and its resolution (CNB platform spec 0.13, "Detector": order
//! resolution; CNB buildpack spec 0.10, "Detection" and "Build Plan"): the first group whose
//! non-optional buildpacks all pass detection, with its optional buildpacks that pass, and whose
//! build plan resolves — every required name provided by the same or an earlier buildpack, every
//! provided name required by the same or a later one. An optional buildpack whose plan does not
//! resolve is dropped; a non-optional one fails the group.
//!
//! The order is the seed platform's default builder: python, ruby (with Node.js when the app has it),
//! java, go, php, nodejs, each followed by an optional procfile, then procfile alone (an app that is
//! only a `Procfile` and the files its commands run). Detection is the buildpack crates' own
//! (`buildpacks/<name>`), called as a library. The same order, in CNB `order.toml` form
//! ([`order_toml`]), is `buildpacks/order.toml`, which the build image gets as `/cnb/order.toml`.

use std::collections::BTreeMap;
use std::path::Path;

use buildpack_kit::{Detection, Plan};

/// The buildpacks of the default builder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Buildpack {
    Python,
    Ruby,
    Java,
    Go,
    Php,
    Nodejs,
    Procfile,
}

impl Buildpack {
    /// Every buildpack, in the order the "looked for" message lists them.
    pub const ALL: [Buildpack; 7] = [
        Buildpack::Python,
        Buildpack::Ruby,
        Buildpack::Java,
        Buildpack::Go,
        Buildpack::Php,
        Buildpack::Nodejs,
        Buildpack::Procfile,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Buildpack::Python => buildpack_python::ID,
            Buildpack::Ruby => buildpack_ruby::ID,
            Buildpack::Java => buildpack_java::ID,
            Buildpack::Go => buildpack_go::ID,
            Buildpack::Php => buildpack_php::ID,
            Buildpack::Nodejs => buildpack_nodejs::ID,
            Buildpack::Procfile => buildpack_procfile::ID,
        }
    }

    pub fn version(self) -> &'static str {
        match self {
            Buildpack::Python => buildpack_python::VERSION,
            Buildpack::Ruby => buildpack_ruby::VERSION,
            Buildpack::Java => buildpack_java::VERSION,
            Buildpack::Go => buildpack_go::VERSION,
            Buildpack::Php => buildpack_php::VERSION,
            Buildpack::Nodejs => buildpack_nodejs::VERSION,
            Buildpack::Procfile => buildpack_procfile::VERSION,
        }
    }

    /// What its detection looks for, in words.
    pub fn looks_for(self) -> &'static str {
        match self {
            Buildpack::Python => buildpack_python::detect::LOOKS_FOR,
            Buildpack::Ruby => buildpack_ruby::detect::LOOKS_FOR,
            Buildpack::Java => buildpack_java::detect::LOOKS_FOR,
            Buildpack::Go => buildpack_go::detect::LOOKS_FOR,
            Buildpack::Php => buildpack_php::detect::LOOKS_FOR,
            Buildpack::Nodejs => buildpack_nodejs::detect::LOOKS_FOR,
            Buildpack::Procfile => buildpack_procfile::detect::LOOKS_FOR,
        }
    }

    /// Its detection, on the app in `app`.
    pub fn detect(self, app: &Path) -> Detection {
        match self {
            Buildpack::Python => buildpack_python::detect::detect(app),
            Buildpack::Ruby => buildpack_ruby::detect::detect(app),
            Buildpack::Java => buildpack_java::detect::detect(app),
            Buildpack::Go => buildpack_go::detect::detect(app),
            Buildpack::Php => buildpack_php::detect::detect(app),
            Buildpack::Nodejs => buildpack_nodejs::detect::detect(app),
            Buildpack::Procfile => buildpack_procfile::detect::detect(app),
        }
    }
}

/// One buildpack of a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub buildpack: Buildpack,
    pub optional: bool,
}

const fn required(buildpack: Buildpack) -> Entry {
    Entry {
        buildpack,
        optional: false,
    }
}

const fn optional(buildpack: Buildpack) -> Entry {
    Entry {
        buildpack,
        optional: true,
    }
}

/// The default builder's order: groups tried first to last. In the Ruby group Node.js comes first,
/// so that a Rails asset build finds `node`. The last group is the Procfile alone, after every
/// language, so a language buildpack always builds an app it detects.
pub const DEFAULT_ORDER: &[&[Entry]] = &[
    &[required(Buildpack::Python), optional(Buildpack::Procfile)],
    &[
        optional(Buildpack::Nodejs),
        required(Buildpack::Ruby),
        optional(Buildpack::Procfile),
    ],
    &[required(Buildpack::Java), optional(Buildpack::Procfile)],
    &[required(Buildpack::Go), optional(Buildpack::Procfile)],
    &[required(Buildpack::Php), optional(Buildpack::Procfile)],
    &[required(Buildpack::Nodejs), optional(Buildpack::Procfile)],
    &[required(Buildpack::Procfile)],
];

/// `order` as a CNB `order.toml` (platform spec 0.13, "order.toml"): what the lifecycle's detector
/// reads. `buildpacks/order.toml` is this text for [`DEFAULT_ORDER`].
pub fn order_toml(order: &[&[Entry]]) -> String {
    String::from(
        "# The default order of hoist's builder (CNB platform spec 0.13, \"order.toml\"), installed as\n\
         # /cnb/order.toml. Generated from src/frontend/buildpacks/order.rs (`order_toml`); a unit test\n\
         # there keeps the two equal.\n",
    ) + &groups_toml(order)
}

/// The `[[order]]` tables of `order`, one a group (what [`order_toml`] writes after its header; a
/// build's own one-group order too).
pub fn groups_toml(order: &[&[Entry]]) -> String {
    let mut text = String::new();
    for group in order {
        text.push_str("\n[[order]]\n");
        for entry in group.iter() {
            text.push_str(&format!(
                "[[order.group]]\nid = \"{}\"\nversion = \"{}\"\n",
                entry.buildpack.id(),
                entry.buildpack.version()
            ));
            if entry.optional {
                text.push_str("optional = true\n");
            }
        }
    }
    text
}

/// A buildpack of the chosen group, with what its detection found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub buildpack: Buildpack,
    pub optional: bool,
    pub found: String,
    pub plan: Plan,
}

/// One name of the resolved build plan: who provides it, who requires it, and the requirers'
/// metadata (the first requirer's value wins a key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanEntry {
    pub name: String,
    pub providers: Vec<Buildpack>,
    pub requirers: Vec<Buildpack>,
    pub metadata: BTreeMap<String, String>,
}

/// The chosen group and its plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The group as the order defines it.
    pub entries: Vec<Entry>,
    /// Its buildpacks that passed and resolved.
    pub group: Vec<Member>,
    pub plan: Vec<PlanEntry>,
}

/// The first group of `order` that resolves; `detect` gives a buildpack's detection (callers cache
/// it: a buildpack in several groups is detected once).
pub fn resolve(
    order: &[&[Entry]],
    mut detect: impl FnMut(Buildpack) -> Detection,
) -> Option<Resolved> {
    order
        .iter()
        .find_map(|group| resolve_group(group, &mut detect))
}

fn resolve_group(
    group: &[Entry],
    detect: &mut impl FnMut(Buildpack) -> Detection,
) -> Option<Resolved> {
    let mut members = Vec::new();
    for entry in group {
        match detect(entry.buildpack) {
            Detection::Pass { found, plan } => members.push(Member {
                buildpack: entry.buildpack,
                optional: entry.optional,
                found,
                plan,
            }),
            Detection::Absent | Detection::Incomplete { .. } if entry.optional => {}
            Detection::Absent | Detection::Incomplete { .. } => return None,
        }
    }
    while let Some(i) = (0..members.len()).find(|&i| !plan_resolves(&members, i)) {
        if !members[i].optional {
            return None;
        }
        members.remove(i);
    }
    (!members.is_empty()).then(|| Resolved {
        entries: group.to_vec(),
        plan: plan_of(&members),
        group: members,
    })
}

/// Whether member `i`'s requires are provided at or before it, and its provides required at or after.
fn plan_resolves(members: &[Member], i: usize) -> bool {
    let plan = &members[i].plan;
    let requires_met = plan.requires.iter().all(|req| {
        members[..=i]
            .iter()
            .any(|m| m.plan.provides.contains(&req.name))
    });
    let provides_used = plan.provides.iter().all(|name| {
        members[i..]
            .iter()
            .any(|m| m.plan.requires.iter().any(|r| &r.name == name))
    });
    requires_met && provides_used
}

fn plan_of(members: &[Member]) -> Vec<PlanEntry> {
    let mut entries: Vec<PlanEntry> = Vec::new();
    for member in members {
        for requirement in &member.plan.requires {
            let index = match entries.iter().position(|e| e.name == requirement.name) {
                Some(index) => index,
                None => {
                    entries.push(PlanEntry {
                        name: requirement.name.clone(),
                        providers: members
                            .iter()
                            .filter(|m| m.plan.provides.contains(&requirement.name))
                            .map(|m| m.buildpack)
                            .collect(),
                        requirers: Vec::new(),
                        metadata: BTreeMap::new(),
                    });
                    entries.len() - 1
                }
            };
            let entry = &mut entries[index];
            entry.requirers.push(member.buildpack);
            for (key, value) in &requirement.metadata {
                entry
                    .metadata
                    .entry(key.clone())
                    .or_insert_with(|| value.clone());
            }
        }
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pass(name: &str) -> Detection {
        Detection::Pass {
            found: format!("{name} files"),
            plan: Plan::provides_and_requires(name, &[("k", name)]),
        }
    }

    fn detections(passing: &[Buildpack]) -> impl FnMut(Buildpack) -> Detection {
        let passing = passing.to_vec();
        move |buildpack| match buildpack {
            Buildpack::Procfile if passing.contains(&buildpack) => Detection::Pass {
                found: "Procfile".into(),
                plan: Plan::default(),
            },
            other if passing.contains(&other) => pass(other.id()),
            _ => Detection::Absent,
        }
    }

    fn ids(resolved: &Option<Resolved>) -> Vec<&'static str> {
        resolved
            .iter()
            .flat_map(|r| r.group.iter().map(|m| m.buildpack.id()))
            .collect()
    }

    #[test]
    fn the_first_group_whose_required_buildpacks_pass_wins() {
        let resolved = resolve(
            DEFAULT_ORDER,
            detections(&[Buildpack::Nodejs, Buildpack::Python]),
        );
        assert_eq!(ids(&resolved), ["hoist/python"]);
    }

    #[test]
    fn optional_buildpacks_join_when_they_pass() {
        let resolved = resolve(
            DEFAULT_ORDER,
            detections(&[Buildpack::Ruby, Buildpack::Nodejs, Buildpack::Procfile]),
        );
        assert_eq!(
            ids(&resolved),
            ["hoist/nodejs", "hoist/ruby", "hoist/procfile"]
        );
        let resolved = resolve(DEFAULT_ORDER, detections(&[Buildpack::Ruby]));
        assert_eq!(ids(&resolved), ["hoist/ruby"]);
    }

    #[test]
    fn optional_buildpacks_alone_are_no_group() {
        let order: &[&[Entry]] = &[&[optional(Buildpack::Go), optional(Buildpack::Procfile)]];
        assert_eq!(resolve(order, detections(&[])), None);
        assert_eq!(resolve(DEFAULT_ORDER, detections(&[])), None);
    }

    #[test]
    fn a_procfile_alone_is_the_last_group() {
        let resolved = resolve(DEFAULT_ORDER, detections(&[Buildpack::Procfile]));
        assert_eq!(ids(&resolved), ["hoist/procfile"]);
        // A language the Procfile goes with still wins.
        let resolved = resolve(
            DEFAULT_ORDER,
            detections(&[Buildpack::Go, Buildpack::Procfile]),
        );
        assert_eq!(ids(&resolved), ["hoist/go", "hoist/procfile"]);
    }

    #[test]
    fn buildpacks_order_toml_is_the_default_order() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/buildpacks/order.toml");
        let file = std::fs::read_to_string(path).unwrap();
        assert!(
            file == order_toml(DEFAULT_ORDER),
            "{path} differs from `order_toml(DEFAULT_ORDER)`; write it again:\n{}",
            order_toml(DEFAULT_ORDER)
        );
    }

    #[test]
    fn the_plan_names_providers_requirers_and_metadata() {
        let resolved = resolve(DEFAULT_ORDER, detections(&[Buildpack::Go])).unwrap();
        assert_eq!(
            resolved.plan,
            [PlanEntry {
                name: "hoist/go".into(),
                providers: vec![Buildpack::Go],
                requirers: vec![Buildpack::Go],
                metadata: [("k".to_owned(), "hoist/go".to_owned())].into(),
            }]
        );
    }

    fn needs_node() -> Detection {
        Detection::Pass {
            found: String::new(),
            plan: Plan {
                provides: vec![],
                requires: Plan::provides_and_requires("node", &[]).requires,
            },
        }
    }

    #[test]
    fn an_unmet_requirement_drops_an_optional_buildpack_and_fails_a_required_one() {
        // An optional buildpack requiring what nobody provides is dropped.
        let order: &[&[Entry]] = &[&[required(Buildpack::Go), optional(Buildpack::Procfile)]];
        let resolved = resolve(order, |b| match b {
            Buildpack::Procfile => needs_node(),
            other => pass(other.id()),
        });
        assert_eq!(ids(&resolved), ["hoist/go"]);
        // A required one fails its group, and the next group is tried.
        let order: &[&[Entry]] = &[
            &[required(Buildpack::Procfile)],
            &[required(Buildpack::Php)],
        ];
        let resolved = resolve(order, |b| match b {
            Buildpack::Procfile => needs_node(),
            other => pass(other.id()),
        });
        assert_eq!(ids(&resolved), ["hoist/php"]);
    }

    #[test]
    fn a_provide_nobody_requires_fails_its_buildpack() {
        let order: &[&[Entry]] = &[&[required(Buildpack::Go), optional(Buildpack::Java)]];
        let resolved = resolve(order, |b| match b {
            Buildpack::Java => Detection::Pass {
                found: String::new(),
                plan: Plan {
                    provides: vec!["jvm".into()],
                    requires: vec![],
                },
            },
            other => pass(other.id()),
        });
        assert_eq!(ids(&resolved), ["hoist/go"]);
    }

    #[test]
    fn every_buildpack_has_its_crates_id() {
        let ids: Vec<&str> = Buildpack::ALL.iter().map(|b| b.id()).collect();
        assert_eq!(
            ids,
            [
                "hoist/python",
                "hoist/ruby",
                "hoist/java",
                "hoist/go",
                "hoist/php",
                "hoist/nodejs",
                "hoist/procfile"
            ]
        );
    }
}
