//! Detection (CNB buildpack spec 0.10, "Detection"): `requirements.txt`, `uv.lock` or `poetry.lock`
//! in the app's root. A Python project without any of them (`pyproject.toml` alone, `setup.py`, a
//! `Pipfile`) is not detected, with a reason saying what to add. The plan provides and requires
//! `python`, with the package manager and the file it installs from.

use std::path::Path;

use buildpack_kit::detection::{either, first_file};
use buildpack_kit::{Detection, Plan};

/// What this buildpack looks for, for the message listing every buildpack's.
pub const LOOKS_FOR: &str = "`requirements.txt`, `uv.lock` or `poetry.lock`";

/// The tool that installs the app's dependencies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PackageManager {
    Pip,
    Uv,
    Poetry,
}

impl PackageManager {
    pub fn name(self) -> &'static str {
        match self {
            PackageManager::Pip => "pip",
            PackageManager::Uv => "uv",
            PackageManager::Poetry => "poetry",
        }
    }
}

/// The files, in the order that wins when an app has several: a lockfile over `requirements.txt`.
pub const FILES: [(&str, PackageManager); 3] = [
    ("uv.lock", PackageManager::Uv),
    ("poetry.lock", PackageManager::Poetry),
    ("requirements.txt", PackageManager::Pip),
];

/// Python project files that are not enough on their own.
const PROJECT_FILES: [&str; 3] = ["pyproject.toml", "Pipfile", "setup.py"];

/// The file the dependencies are installed from, and its package manager.
pub fn package_manager(app: &Path) -> Option<(&'static str, PackageManager)> {
    let names = FILES.map(|(name, _)| name);
    let name = first_file(app, &names)?;
    FILES.into_iter().find(|(n, _)| *n == name)
}

pub fn detect(app: &Path) -> Detection {
    if let Some((file, manager)) = package_manager(app) {
        return Detection::Pass {
            found: format!("`{file}` ({})", manager.name()),
            plan: Plan::provides_and_requires(
                "python",
                &[("package_manager", manager.name()), ("file", file)],
            ),
        };
    }
    match first_file(app, &PROJECT_FILES) {
        Some("Pipfile") => Detection::Incomplete {
            missing: "`Pipfile` found, but Pipenv is not supported: write `requirements.txt` \
                      (`pipenv requirements > requirements.txt`)"
                .to_owned(),
        },
        Some(file) => Detection::Incomplete {
            missing: format!(
                "`{file}` found without {}: hoist installs from one of them; run `uv lock` or \
                 `poetry lock`, or write `requirements.txt`",
                either(&FILES.map(|(name, _)| name))
            ),
        },
        None => Detection::Absent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for file in files {
            std::fs::write(dir.path().join(file), "").unwrap();
        }
        dir
    }

    #[test]
    fn each_file_passes_with_its_package_manager() {
        for (file, manager) in [
            ("requirements.txt", "pip"),
            ("uv.lock", "uv"),
            ("poetry.lock", "poetry"),
        ] {
            assert_eq!(
                detect(app(&[file, "pyproject.toml"]).path()),
                Detection::Pass {
                    found: format!("`{file}` ({manager})"),
                    plan: Plan::provides_and_requires(
                        "python",
                        &[("package_manager", manager), ("file", file)]
                    )
                },
                "{file}"
            );
        }
    }

    #[test]
    fn a_lockfile_wins_over_requirements_txt() {
        let dir = app(&["requirements.txt", "poetry.lock"]);
        assert_eq!(
            package_manager(dir.path()),
            Some(("poetry.lock", PackageManager::Poetry))
        );
    }

    #[test]
    fn project_files_alone_are_not_detected_and_say_what_to_add() {
        let Detection::Incomplete { missing } = detect(app(&["pyproject.toml"]).path()) else {
            panic!("pyproject.toml alone must not pass");
        };
        assert!(missing.contains("`uv lock`"), "{missing}");
        let Detection::Incomplete { missing } = detect(app(&["Pipfile"]).path()) else {
            panic!("a Pipfile must not pass");
        };
        assert!(missing.contains("Pipenv"), "{missing}");
        assert_eq!(detect(app(&["app.py"]).path()), Detection::Absent);
    }
}
