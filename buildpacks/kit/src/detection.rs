//! The outcome of a buildpack's detection (CNB buildpack spec 0.10, "Detection"): the buildpack passes
//! with a build plan of what it provides and requires, or fails — because none of its files is in the
//! app, or because some are but not all it needs (a `package.json` without a lockfile), which deserves
//! a message of its own.

use std::collections::BTreeMap;
use std::path::Path;

/// What a buildpack's detection found in an app directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detection {
    /// The buildpack applies. `found` names the files that made it so.
    Pass { found: String, plan: Plan },
    /// None of the files the buildpack looks for is there.
    Absent,
    /// Some of its files are there but not everything it needs; `missing` says what, and what to do.
    Incomplete { missing: String },
}

impl Detection {
    pub fn passed(&self) -> bool {
        match self {
            Detection::Pass { .. } => true,
            Detection::Absent | Detection::Incomplete { .. } => false,
        }
    }
}

/// A build plan (CNB buildpack spec, "Build Plan (TOML)"): the names a buildpack provides and the
/// names it requires, with metadata the build reads back. hoist uses no `or` alternatives.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub provides: Vec<String>,
    pub requires: Vec<Requirement>,
}

impl Plan {
    /// The common shape: provide `name` and require it, with metadata.
    pub fn provides_and_requires(name: &str, metadata: &[(&str, &str)]) -> Self {
        Self {
            provides: vec![name.to_owned()],
            requires: vec![Requirement {
                name: name.to_owned(),
                metadata: metadata
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            }],
        }
    }
}

/// One `[[requires]]` entry of a build plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    pub name: String,
    pub metadata: BTreeMap<String, String>,
}

/// Whether `app/name` is a regular file (or a symlink to one).
pub fn has_file(app: &Path, name: &str) -> bool {
    app.join(name).is_file()
}

/// The first of `names` that is a file in `app`.
pub fn first_file<'a>(app: &Path, names: &[&'a str]) -> Option<&'a str> {
    names.iter().copied().find(|name| has_file(app, name))
}

/// `a`, `a or b`, `a, b or c` — with each name in backticks.
pub fn either(names: &[&str]) -> String {
    join(names, "or")
}

/// `a`, `a and b`, `a, b and c` — with each name in backticks.
pub fn both(names: &[&str]) -> String {
    join(names, "and")
}

fn join(names: &[&str], word: &str) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} {word} {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_read_as_english() {
        assert_eq!(either(&["a"]), "`a`");
        assert_eq!(either(&["a", "b"]), "`a` or `b`");
        assert_eq!(both(&["a", "b", "c"]), "`a`, `b` and `c`");
    }

    #[test]
    fn first_file_follows_the_given_precedence() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b"), "").unwrap();
        std::fs::write(dir.path().join("c"), "").unwrap();
        std::fs::create_dir(dir.path().join("a")).unwrap();
        assert_eq!(first_file(dir.path(), &["a", "c", "b"]), Some("c"));
        assert_eq!(first_file(dir.path(), &["a", "d"]), None);
    }
}
