//! What `hoist detect --json` writes: the chosen group as `{id, version}` entries (the shape of a CNB
//! `group.toml`), the build plan (providers and requirers per name, as a lifecycle's `plan.toml` groups
//! them), the processes as `{type, command}` (`launch.toml`'s names) and the warnings.

use serde::Serialize;

use super::detect::Detected;
use super::order::Buildpack;

/// `hoist detect --json`: `{"group":[{"id","version"}],"plan":[{"name","providers","requirers",
/// "metadata"}],"processes":[{"type","command"}],"warnings":[...]}`.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct DetectJson {
    pub group: Vec<GroupJson>,
    pub plan: Vec<PlanJson>,
    pub processes: Vec<ProcessJson>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct GroupJson {
    pub id: &'static str,
    pub version: &'static str,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct PlanJson {
    pub name: String,
    pub providers: Vec<&'static str>,
    pub requirers: Vec<&'static str>,
    pub metadata: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct ProcessJson {
    #[serde(rename = "type")]
    pub kind: String,
    pub command: String,
}

impl DetectJson {
    /// Nothing detected: an empty group.
    pub fn empty() -> Self {
        Self {
            group: Vec::new(),
            plan: Vec::new(),
            processes: Vec::new(),
            warnings: Vec::new(),
        }
    }
}

impl From<&Detected> for DetectJson {
    fn from(detected: &Detected) -> Self {
        let ids = |list: &[Buildpack]| list.iter().map(|b| b.id()).collect();
        Self {
            group: detected
                .group
                .iter()
                .map(|m| GroupJson {
                    id: m.buildpack.id(),
                    version: m.buildpack.version(),
                })
                .collect(),
            plan: detected
                .plan
                .iter()
                .map(|e| PlanJson {
                    name: e.name.clone(),
                    providers: ids(&e.providers),
                    requirers: ids(&e.requirers),
                    metadata: e.metadata.clone(),
                })
                .collect(),
            processes: detected
                .processes
                .iter()
                .map(|p| ProcessJson {
                    kind: p.kind.clone(),
                    command: p.command.clone(),
                })
                .collect(),
            warnings: detected.warnings.clone(),
        }
    }
}
