//! Detection (CNB buildpack spec 0.10, "Detection"): `composer.json` **and** `composer.lock`. Without
//! the lock the app is not detected, and the reason says how to make one; PHP files without Composer
//! are not detected either. The plan provides and requires `php`, with the lockfile.

use std::path::Path;

use buildpack_kit::detection::has_file;
use buildpack_kit::{Detection, Plan};

/// What this buildpack looks for, for the message listing every buildpack's.
pub const LOOKS_FOR: &str = "`composer.json` and `composer.lock`";

pub const COMPOSER_JSON: &str = "composer.json";
pub const COMPOSER_LOCK: &str = "composer.lock";

pub fn detect(app: &Path) -> Detection {
    match (has_file(app, COMPOSER_JSON), has_file(app, COMPOSER_LOCK)) {
        (true, true) => Detection::Pass {
            found: format!("`{COMPOSER_JSON}` and `{COMPOSER_LOCK}`"),
            plan: Plan::provides_and_requires("php", &[("lockfile", COMPOSER_LOCK)]),
        },
        (true, false) => Detection::Incomplete {
            missing: format!(
                "`{COMPOSER_JSON}` found without `{COMPOSER_LOCK}`: hoist installs exactly what the lock \
                 pins; run `composer update --lock` (or `composer install`) and commit `{COMPOSER_LOCK}`"
            ),
        },
        (false, true) => Detection::Incomplete {
            missing: format!("`{COMPOSER_LOCK}` found without `{COMPOSER_JSON}`"),
        },
        (false, false) if has_file(app, "index.php") => Detection::Incomplete {
            missing: format!(
                "`index.php` found without `{COMPOSER_JSON}` and `{COMPOSER_LOCK}`: the PHP buildpack \
                 installs with Composer; run `composer init` and `composer install` and commit both"
            ),
        },
        (false, false) => Detection::Absent,
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
    fn composer_json_and_its_lock_pass() {
        assert_eq!(
            detect(app(&["composer.json", "composer.lock"]).path()),
            Detection::Pass {
                found: "`composer.json` and `composer.lock`".into(),
                plan: Plan::provides_and_requires("php", &[("lockfile", "composer.lock")])
            }
        );
    }

    #[test]
    fn composer_json_without_its_lock_is_not_detected_and_says_so() {
        let Detection::Incomplete { missing } = detect(app(&["composer.json"]).path()) else {
            panic!("composer.json alone must not pass");
        };
        assert!(missing.contains("without `composer.lock`"), "{missing}");
        assert!(matches!(
            detect(app(&["index.php"]).path()),
            Detection::Incomplete { .. }
        ));
        assert_eq!(detect(app(&["README.md"]).path()), Detection::Absent);
    }
}
