//! Running a build tool (a package manager, a compiler) during the build phase: its output goes to the
//! build log as it comes, and a failure names the command and its exit status.

use std::path::Path;
use std::process::Command;

use crate::problem::{Explain, Problem};

/// One command of a build, as data: what a buildpack's pure planning functions return and its
/// unit tests compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub program: String,
    pub args: Vec<String>,
}

impl Step {
    pub fn new<S: AsRef<str>>(program: &str, args: &[S]) -> Self {
        Self {
            program: program.to_owned(),
            args: args.iter().map(|a| a.as_ref().to_owned()).collect(),
        }
    }

    /// The command line, space-separated.
    pub fn line(&self) -> String {
        std::iter::once(self.program.as_str())
            .chain(self.args.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// A [`Command`] running it in `dir`.
    pub fn command(&self, dir: &Path) -> Command {
        let mut command = Command::new(&self.program);
        command.args(&self.args).current_dir(dir);
        command
    }
}

/// A build tool that could not run or did not succeed.
#[derive(Debug)]
pub enum CommandError {
    /// The program could not be started (usually: not installed in the build image).
    Spawn {
        command: String,
        error: std::io::Error,
    },
    /// It ran and exited unsuccessfully.
    Failed { command: String, status: String },
}

/// The command line as a user would type it.
pub fn display(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Run `command` with inherited stdout/stderr; an error unless it exits 0.
pub fn run(command: &mut Command) -> Result<(), CommandError> {
    let line = display(command);
    println!("$ {line}");
    let status = command.status().map_err(|error| CommandError::Spawn {
        command: line.clone(),
        error,
    })?;
    if status.success() {
        Ok(())
    } else {
        Err(CommandError::Failed {
            command: line,
            status: status.to_string(),
        })
    }
}

impl Explain for CommandError {
    fn explain(&self) -> Problem {
        match self {
            CommandError::Spawn { command, error } => Problem::new(
                format!("cannot run `{command}`: {error}"),
                "the buildpack runs the language's own tools, which come from the build image",
                "use a build image that has the tool installed (`--builder IMAGE`), or build with a Dockerfile",
            ),
            CommandError::Failed { command, status } => Problem::new(
                format!("`{command}` failed ({status})"),
                "the build step's own output above says what went wrong",
                "fix the error it reports and build again; run the same command locally to reproduce it",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_name_the_command() {
        let err = run(Command::new("sh").args(["-c", "exit 3"])).unwrap_err();
        let problem = err.explain();
        assert!(
            problem.what.starts_with("`sh -c exit 3` failed"),
            "{problem}"
        );
        let err = run(&mut Command::new("/nonexistent/tool")).unwrap_err();
        assert!(matches!(err, CommandError::Spawn { .. }));
        run(&mut Command::new("true")).unwrap();
    }
}
