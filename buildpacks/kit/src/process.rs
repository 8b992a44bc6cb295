//! Launch processes (CNB buildpack spec 0.10, `launch.toml` `[[processes]]`) and the default process
//! a language buildpack gives an app that has no Procfile `web` line.

use crate::problem::Problem;
use crate::procfile::Procfile;

/// A process type and its command, run through `sh -c` at launch (so `$PORT` expands).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    /// The process type: `web`, `worker`...
    pub kind: String,
    /// The command line.
    pub command: String,
    /// What the command runs, when the command alone does not say: the script a package manager
    /// runs (`npm start` runs `scripts.start`), the source line of a built binary that reads `PORT`.
    pub runs: Option<String>,
}

impl Process {
    /// A `web` process.
    pub fn web(command: impl Into<String>) -> Self {
        Self {
            kind: "web".to_owned(),
            command: command.into(),
            runs: None,
        }
    }

    /// Whether the command (or the script it runs) names `PORT` — `$PORT`, `${PORT:-8080}`,
    /// `process.env.PORT` — the variable a server must listen on.
    pub fn mentions_port(&self) -> bool {
        self.command.contains("PORT") || self.runs.as_deref().is_some_and(|s| s.contains("PORT"))
    }

    /// The warning for a `web` process that never mentions `PORT`, if it deserves one.
    pub fn port_warning(&self) -> Option<String> {
        (self.kind == "web" && !self.mentions_port()).then(|| {
            format!(
                "the `web` command `{}` never mentions `PORT`: servers must bind 0.0.0.0 and listen on \
                 $PORT (8080 unless the platform sets it)",
                self.command
            )
        })
    }
}

/// The `web` process a language buildpack sets when the app's Procfile has none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DefaultProcess {
    /// This command.
    Command(Process),
    /// None: the Procfile must declare `web` (Python, PHP); the problem says so when it does not.
    ProcfileRequired(Problem),
    /// Decided by what the build produces (Java's runnable jar); `rule` says how.
    AfterBuild { rule: String },
}

impl DefaultProcess {
    /// The `web` process this default gives, with the app's Procfile (whose `web` overrides it):
    /// `Ok(Some)` the default command; `Ok(None)` the Procfile's, or one decided after the build;
    /// `Err` when a Procfile `web` is required and missing.
    pub fn resolve(&self, procfile: Option<&Procfile>) -> Result<Option<&Process>, &Problem> {
        let procfile_web = procfile.and_then(Procfile::web).is_some();
        match self {
            DefaultProcess::Command(process) => Ok(Some(process)),
            DefaultProcess::ProcfileRequired(_) | DefaultProcess::AfterBuild { .. }
                if procfile_web =>
            {
                Ok(None)
            }
            DefaultProcess::ProcfileRequired(problem) => Err(problem),
            DefaultProcess::AfterBuild { .. } => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_required_procfile_web_is_an_error_only_when_missing() {
        let problem = Problem::new("no web", "why", "fix");
        let required = DefaultProcess::ProcfileRequired(problem.clone());
        let worker_only: Procfile = "worker: ./jobs".parse().unwrap();
        let web: Procfile = "web: ./serve".parse().unwrap();
        assert_eq!(required.resolve(None), Err(&problem));
        assert_eq!(required.resolve(Some(&worker_only)), Err(&problem));
        assert_eq!(required.resolve(Some(&web)), Ok(None));
        let command = DefaultProcess::Command(Process::web("./serve"));
        assert_eq!(
            command.resolve(Some(&web)),
            Ok(Some(&Process::web("./serve")))
        );
    }

    #[test]
    fn port_is_looked_for_in_the_command_and_the_script_it_runs() {
        assert!(Process::web("gunicorn -b 0.0.0.0:$PORT app:app").mentions_port());
        assert!(Process::web("rackup -p ${PORT:-8080}").mentions_port());
        let mut npm = Process::web("npm start");
        assert!(!npm.mentions_port());
        npm.runs = Some("next start -p $PORT".into());
        assert!(npm.mentions_port());
    }

    #[test]
    fn only_web_processes_are_warned_about() {
        let warning = Process::web("node server.js").port_warning().unwrap();
        assert!(warning.contains("`node server.js`"), "{warning}");
        assert!(
            warning.contains("bind 0.0.0.0 and listen on $PORT"),
            "{warning}"
        );
        let worker = Process {
            kind: "worker".into(),
            command: "celery worker".into(),
            runs: None,
        };
        assert_eq!(worker.port_warning(), None);
    }
}
