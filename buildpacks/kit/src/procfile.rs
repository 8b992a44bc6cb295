//! The `Procfile` (Heroku's format, as the CNB procfile buildpacks read it): one `TYPE: COMMAND` line
//! per process type, `#` comments and blank lines ignored. Types follow the CNB process-type rule
//! (letters, digits, `.`, `_`, `-`); a line that is not `TYPE: COMMAND`, an empty command or a type
//! declared twice is an error naming the line.

use std::path::Path;

use crate::problem::{Explain, Problem};

/// The file name, in the app's root.
pub const FILE: &str = "Procfile";

/// The process types of a Procfile, in the order they appear.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Procfile {
    pub processes: Vec<(String, String)>,
}

impl Procfile {
    /// The command of a process type.
    pub fn get(&self, kind: &str) -> Option<&str> {
        self.processes
            .iter()
            .find(|(k, _)| k == kind)
            .map(|(_, c)| c.as_str())
    }

    /// The `web` process's command.
    pub fn web(&self) -> Option<&str> {
        self.get("web")
    }

    /// The type names, in order.
    pub fn types(&self) -> Vec<&str> {
        self.processes.iter().map(|(k, _)| k.as_str()).collect()
    }
}

/// A Procfile that cannot be read or parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProcfileError {
    /// The file exists but cannot be read (or is not UTF-8).
    Read { message: String },
    /// Line `line` (1-based) is wrong in the way `kind` says.
    Line {
        line: usize,
        text: String,
        kind: LineError,
    },
}

/// What is wrong with one Procfile line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineError {
    /// No `:` right after the type.
    NoColon,
    /// The type has characters a CNB process type cannot have.
    BadType { kind: String },
    /// Nothing after the `:`.
    EmptyCommand { kind: String },
    /// The type was already declared on `first_line`.
    Duplicate { kind: String, first_line: usize },
}

impl std::str::FromStr for Procfile {
    type Err = ProcfileError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut processes: Vec<(String, String)> = Vec::new();
        let mut lines_of: Vec<usize> = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let error = |kind| ProcfileError::Line {
                line,
                text: raw.to_owned(),
                kind,
            };
            // A type with blank space in it is a line missing the colon after its type.
            let Some((kind, command)) = trimmed
                .split_once(':')
                .filter(|(kind, _)| !kind.trim().contains(char::is_whitespace))
            else {
                return Err(error(LineError::NoColon));
            };
            let (kind, command) = (kind.trim(), command.trim());
            if !is_process_type(kind) {
                return Err(error(LineError::BadType {
                    kind: kind.to_owned(),
                }));
            }
            if command.is_empty() {
                return Err(error(LineError::EmptyCommand {
                    kind: kind.to_owned(),
                }));
            }
            if let Some(first) = processes.iter().position(|(k, _)| k == kind) {
                return Err(error(LineError::Duplicate {
                    kind: kind.to_owned(),
                    first_line: lines_of[first],
                }));
            }
            processes.push((kind.to_owned(), command.to_owned()));
            lines_of.push(line);
        }
        Ok(Procfile { processes })
    }
}

/// The CNB process-type rule: `^[[:alnum:]._-]+$`.
fn is_process_type(kind: &str) -> bool {
    !kind.is_empty()
        && kind
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// The app's Procfile: `Ok(None)` when there is none.
pub fn read(app: &Path) -> Result<Option<Procfile>, ProcfileError> {
    let path = app.join(FILE);
    if !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path).map_err(|e| ProcfileError::Read {
        message: e.to_string(),
    })?;
    text.parse().map(Some)
}

impl Explain for ProcfileError {
    fn explain(&self) -> Problem {
        match self {
            ProcfileError::Read { message } => Problem::new(
                format!("cannot read the `{FILE}`: {message}"),
                "the Procfile declares the app's processes; it must be a readable UTF-8 text file",
                format!("check the permissions and the encoding of `{FILE}`"),
            ),
            ProcfileError::Line { line, text, kind } => {
                let at = format!("`{FILE}` line {line}: `{}`", text.trim());
                let example = "write one process per line as `TYPE: COMMAND`, e.g. `web: gunicorn app:app --bind 0.0.0.0:$PORT`";
                match kind {
                    LineError::NoColon => Problem::new(
                        format!("{at} has no `:` after its process type"),
                        "each Procfile line is a process type, a colon and the command",
                        example,
                    ),
                    LineError::BadType { kind } => Problem::new(
                        format!("{at}: `{kind}` is not a valid process type"),
                        "a process type is letters, digits, `.`, `_` and `-`",
                        format!("rename the process type; {example}"),
                    ),
                    LineError::EmptyCommand { kind } => Problem::new(
                        format!("{at}: the `{kind}` process has no command"),
                        "a process type needs the command that starts it",
                        example,
                    ),
                    LineError::Duplicate { kind, first_line } => Problem::new(
                        format!(
                            "{at}: the `{kind}` process is already declared on line {first_line}"
                        ),
                        "a process type can have one command only",
                        format!("keep one `{kind}:` line"),
                    ),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Procfile, ProcfileError> {
        text.parse()
    }

    #[test]
    fn reads_types_in_order_skipping_comments_and_blank_lines() {
        let procfile =
            parse("# processes\n\nweb: gunicorn app:app\r\n  worker:  celery -A app worker \n")
                .unwrap();
        assert_eq!(
            procfile.processes,
            [
                ("web".to_owned(), "gunicorn app:app".to_owned()),
                ("worker".to_owned(), "celery -A app worker".to_owned())
            ]
        );
        assert_eq!(procfile.web(), Some("gunicorn app:app"));
        assert_eq!(procfile.types(), ["web", "worker"]);
    }

    #[test]
    fn keeps_colons_inside_the_command() {
        let procfile = parse("web: echo foo: bar").unwrap();
        assert_eq!(procfile.web(), Some("echo foo: bar"));
    }

    #[test]
    fn an_empty_procfile_has_no_processes() {
        assert_eq!(parse("# nothing\n").unwrap(), Procfile::default());
    }

    #[test]
    fn errors_name_the_line() {
        let err = parse("web: a\nnonsense\n").unwrap_err();
        assert_eq!(
            err,
            ProcfileError::Line {
                line: 2,
                text: "nonsense".into(),
                kind: LineError::NoColon
            }
        );
        assert!(err.explain().what.contains("line 2"), "{}", err.explain());
        assert!(matches!(
            parse("web:\n").unwrap_err(),
            ProcfileError::Line {
                kind: LineError::EmptyCommand { .. },
                ..
            }
        ));
        assert!(matches!(
            parse("web gunicorn app:app\n").unwrap_err(),
            ProcfileError::Line {
                kind: LineError::NoColon,
                ..
            }
        ));
        assert!(matches!(
            parse("web!: x\n").unwrap_err(),
            ProcfileError::Line {
                kind: LineError::BadType { .. },
                ..
            }
        ));
        assert!(matches!(
            parse(": x\n").unwrap_err(),
            ProcfileError::Line {
                kind: LineError::BadType { .. },
                ..
            }
        ));
        assert_eq!(
            parse("web: a\nweb: b\n").unwrap_err(),
            ProcfileError::Line {
                line: 2,
                text: "web: b".into(),
                kind: LineError::Duplicate {
                    kind: "web".into(),
                    first_line: 1
                }
            }
        );
    }

    #[test]
    fn read_is_none_without_a_procfile() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(dir.path()), Ok(None));
        std::fs::write(dir.path().join(FILE), "web: ./run\n").unwrap();
        assert_eq!(read(dir.path()).unwrap().unwrap().web(), Some("./run"));
    }
}
