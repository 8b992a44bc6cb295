//! Detection (CNB buildpack spec 0.10, "Detection"): `Gemfile` **and** `Gemfile.lock`. A Gemfile
//! without its lock is not detected, and the reason says how to make one: the build installs exactly
//! what the lock pins. The plan provides and requires `ruby`, with the Bundler version that wrote the
//! lock when it says.

use std::path::Path;

use buildpack_kit::detection::has_file;
use buildpack_kit::{Detection, Plan};

/// What this buildpack looks for, for the message listing every buildpack's.
pub const LOOKS_FOR: &str = "`Gemfile` and `Gemfile.lock`";

pub const GEMFILE: &str = "Gemfile";
pub const GEMFILE_LOCK: &str = "Gemfile.lock";

/// The version under `BUNDLED WITH` in a `Gemfile.lock`.
pub fn bundled_with(lock: &str) -> Option<&str> {
    let mut lines = lock.lines();
    lines.find(|line| line.trim() == "BUNDLED WITH")?;
    lines.next().map(str::trim).filter(|v| !v.is_empty())
}

pub fn detect(app: &Path) -> Detection {
    match (has_file(app, GEMFILE), has_file(app, GEMFILE_LOCK)) {
        (true, true) => {
            let lock = std::fs::read_to_string(app.join(GEMFILE_LOCK)).unwrap_or_default();
            let mut metadata = vec![("lockfile", GEMFILE_LOCK)];
            if let Some(version) = bundled_with(&lock) {
                metadata.push(("bundled_with", version));
            }
            Detection::Pass {
                found: format!("`{GEMFILE}` and `{GEMFILE_LOCK}`"),
                plan: Plan::provides_and_requires("ruby", &metadata),
            }
        }
        (true, false) => Detection::Incomplete {
            missing: format!(
                "`{GEMFILE}` found without `{GEMFILE_LOCK}`: hoist installs exactly what the lock pins; \
                 run `bundle lock` (or `bundle install`) and commit `{GEMFILE_LOCK}`"
            ),
        },
        (false, true) => Detection::Incomplete {
            missing: format!("`{GEMFILE_LOCK}` found without `{GEMFILE}`"),
        },
        (false, false) => Detection::Absent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        dir
    }

    const LOCK: &str = "GEM\n  remote: https://rubygems.org/\n  specs:\n    rack (3.1.8)\n\nBUNDLED WITH\n   2.5.22\n";

    #[test]
    fn gemfile_and_its_lock_pass() {
        assert_eq!(
            detect(app(&[("Gemfile", ""), ("Gemfile.lock", LOCK)]).path()),
            Detection::Pass {
                found: "`Gemfile` and `Gemfile.lock`".into(),
                plan: Plan::provides_and_requires(
                    "ruby",
                    &[("lockfile", "Gemfile.lock"), ("bundled_with", "2.5.22")]
                )
            }
        );
    }

    #[test]
    fn a_gemfile_without_its_lock_is_not_detected_and_says_so() {
        let Detection::Incomplete { missing } = detect(app(&[("Gemfile", "")]).path()) else {
            panic!("Gemfile alone must not pass");
        };
        assert!(missing.contains("`bundle lock`"), "{missing}");
        assert!(matches!(
            detect(app(&[("Gemfile.lock", LOCK)]).path()),
            Detection::Incomplete { .. }
        ));
        assert_eq!(detect(app(&[("app.rb", "")]).path()), Detection::Absent);
    }

    #[test]
    fn bundled_with_is_optional() {
        assert_eq!(bundled_with(LOCK), Some("2.5.22"));
        assert_eq!(bundled_with("GEM\n  specs:\n"), None);
    }
}
