//! Detection (CNB buildpack spec 0.10, "Detection"): `package.json` **and** a lockfile —
//! `package-lock.json`, `npm-shrinkwrap.json`, `yarn.lock` or `pnpm-lock.yaml`. Without a lockfile the
//! app is not detected, and the reason says so: the build installs exactly what a lockfile pins.
//! The plan provides and requires `node`, with the package manager and its lockfile.

use std::path::Path;

use buildpack_kit::detection::{either, has_file};
use buildpack_kit::{Detection, Plan};

/// What this buildpack looks for, for the message listing every buildpack's.
pub const LOOKS_FOR: &str = "`package.json` and a lockfile (`package-lock.json`, \
`npm-shrinkwrap.json`, `yarn.lock` or `pnpm-lock.yaml`)";

pub const PACKAGE_JSON: &str = "package.json";

/// The package manager a lockfile belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PackageManager {
    Npm,
    Yarn,
    Pnpm,
}

impl PackageManager {
    pub fn name(self) -> &'static str {
        match self {
            PackageManager::Npm => "npm",
            PackageManager::Yarn => "yarn",
            PackageManager::Pnpm => "pnpm",
        }
    }
}

/// The lockfiles, in the order that wins when an app has several.
pub const LOCKFILES: [(&str, PackageManager); 4] = [
    ("package-lock.json", PackageManager::Npm),
    ("npm-shrinkwrap.json", PackageManager::Npm),
    ("yarn.lock", PackageManager::Yarn),
    ("pnpm-lock.yaml", PackageManager::Pnpm),
];

/// The app's lockfile (the first of [`LOCKFILES`] present) and its package manager.
pub fn lockfile(app: &Path) -> Option<(&'static str, PackageManager)> {
    LOCKFILES.into_iter().find(|(name, _)| has_file(app, name))
}

pub fn detect(app: &Path) -> Detection {
    let lockfiles: Vec<&str> = LOCKFILES
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| has_file(app, name))
        .collect();
    let names: Vec<&str> = LOCKFILES.iter().map(|(name, _)| *name).collect();
    match (has_file(app, PACKAGE_JSON), lockfile(app)) {
        (true, Some((lock, manager))) => {
            let mut found = format!("`{PACKAGE_JSON}` and `{lock}` ({})", manager.name());
            if let [_, others @ ..] = lockfiles.as_slice()
                && !others.is_empty()
            {
                found.push_str(&format!("; `{lock}` wins over {}", either(others)));
            }
            Detection::Pass {
                found,
                plan: Plan::provides_and_requires(
                    "node",
                    &[("package_manager", manager.name()), ("lockfile", lock)],
                ),
            }
        }
        (true, None) => Detection::Incomplete {
            missing: format!(
                "`{PACKAGE_JSON}` found without a lockfile ({}): hoist installs exactly what a lockfile \
                 pins; run `npm install` (or `yarn install`, `pnpm install`) and commit the lockfile",
                either(&names)
            ),
        },
        (false, Some((lock, _))) => Detection::Incomplete {
            missing: format!("`{lock}` found without `{PACKAGE_JSON}`"),
        },
        (false, None) => Detection::Absent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for file in files {
            std::fs::write(dir.path().join(file), "{}").unwrap();
        }
        dir
    }

    fn plan(manager: &str, lock: &str) -> Plan {
        Plan::provides_and_requires("node", &[("package_manager", manager), ("lockfile", lock)])
    }

    #[test]
    fn every_lockfile_kind_passes_with_its_package_manager() {
        for (lock, manager) in [
            ("package-lock.json", "npm"),
            ("npm-shrinkwrap.json", "npm"),
            ("yarn.lock", "yarn"),
            ("pnpm-lock.yaml", "pnpm"),
        ] {
            let dir = app(&["package.json", lock]);
            assert_eq!(
                detect(dir.path()),
                Detection::Pass {
                    found: format!("`package.json` and `{lock}` ({manager})"),
                    plan: plan(manager, lock)
                },
                "{lock}"
            );
        }
    }

    #[test]
    fn package_json_without_a_lockfile_is_not_detected_and_says_so() {
        let dir = app(&["package.json"]);
        let Detection::Incomplete { missing } = detect(dir.path()) else {
            panic!("package.json alone must not pass");
        };
        assert!(missing.contains("without a lockfile"), "{missing}");
        assert!(missing.contains("`pnpm-lock.yaml`"), "{missing}");
    }

    #[test]
    fn a_lockfile_alone_or_nothing_is_not_detected() {
        assert!(matches!(
            detect(app(&["yarn.lock"]).path()),
            Detection::Incomplete { .. }
        ));
        assert_eq!(detect(app(&["index.js"]).path()), Detection::Absent);
    }

    #[test]
    fn with_several_lockfiles_the_first_in_order_wins() {
        let dir = app(&["package.json", "yarn.lock", "package-lock.json"]);
        let Detection::Pass { found, plan: got } = detect(dir.path()) else {
            panic!("must pass");
        };
        assert_eq!(got, plan("npm", "package-lock.json"));
        assert!(found.contains("wins over `yarn.lock`"), "{found}");
    }

    #[test]
    fn a_directory_named_like_a_lockfile_does_not_count() {
        let dir = app(&["package.json"]);
        std::fs::create_dir(dir.path().join("yarn.lock")).unwrap();
        assert!(!detect(dir.path()).passed());
    }
}
