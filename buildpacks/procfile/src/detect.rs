//! Detection (CNB buildpack spec 0.10, "Detection"): a `Procfile` in the app's root that parses and
//! declares at least one process type. No build plan: the Procfile needs nothing installed.

use std::path::Path;

use buildpack_kit::procfile::{self, FILE};
use buildpack_kit::{Detection, Explain, Plan};

/// What this buildpack looks for, for the message listing every buildpack's.
pub const LOOKS_FOR: &str = "a `Procfile` with `TYPE: COMMAND` lines";

pub fn detect(app: &Path) -> Detection {
    match procfile::read(app) {
        Ok(None) => Detection::Absent,
        Ok(Some(procfile)) if procfile.processes.is_empty() => Detection::Incomplete {
            missing: format!(
                "`{FILE}` declares no process types; add one per line, e.g. `web: ./start --port $PORT`"
            ),
        },
        Ok(Some(procfile)) => Detection::Pass {
            found: format!("`{FILE}` ({})", procfile.types().join(", ")),
            plan: Plan::default(),
        },
        Err(error) => {
            let problem = error.explain();
            Detection::Incomplete {
                missing: format!("{}; {}", problem.what, problem.fix),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(procfile: Option<&str>) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        if let Some(text) = procfile {
            std::fs::write(dir.path().join(FILE), text).unwrap();
        }
        dir
    }

    #[test]
    fn passes_with_process_types() {
        let dir = app(Some("web: ./server\nworker: ./jobs\n"));
        assert_eq!(
            detect(dir.path()),
            Detection::Pass {
                found: "`Procfile` (web, worker)".into(),
                plan: Plan::default()
            }
        );
    }

    #[test]
    fn fails_without_a_procfile_or_without_processes() {
        assert_eq!(detect(app(None).path()), Detection::Absent);
        let Detection::Incomplete { missing } = detect(app(Some("# soon\n")).path()) else {
            panic!("an empty Procfile must not pass");
        };
        assert!(missing.contains("no process types"), "{missing}");
    }

    #[test]
    fn a_broken_procfile_fails_naming_the_line() {
        let Detection::Incomplete { missing } = detect(app(Some("web: a\noops\n")).path()) else {
            panic!("a broken Procfile must not pass");
        };
        assert!(missing.contains("line 2"), "{missing}");
    }
}
