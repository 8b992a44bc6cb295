//! Errors of the Dockerfile frontend. Every variant that comes from the file names `file:line` and shows
//! the offending line, as BuildKit's `parser/errors.go` does.

use std::fmt;
use std::path::PathBuf;

use crate::plan::context::PatternError;

/// A place in the Dockerfile with what went wrong there and, when we know it, what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub file: PathBuf,
    pub line: usize,
    /// The offending line as written.
    pub text: String,
    pub message: String,
    pub hint: Option<String>,
}

impl Located {
    pub fn new(
        file: &std::path::Path,
        line: usize,
        text: &str,
        message: impl Into<String>,
    ) -> Self {
        Located {
            file: file.to_path_buf(),
            line,
            text: text.lines().next().unwrap_or("").to_string(),
            message: message.into(),
            hint: None,
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for Located {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}\n{:>4} | {}",
            self.file.display(),
            self.line,
            self.message,
            self.line,
            self.text
        )?;
        if let Some(hint) = &self.hint {
            write!(f, "\nhint: {hint}")?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FrontendError {
    #[error(
        "cannot read `{path}`: {source}\nhint: check the path given with `--file` / the context"
    )]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The text is not a Dockerfile (continuations, directives, empty file).
    #[error("{0}")]
    Syntax(Box<Located>),
    /// An instruction is unknown or its arguments or flags are wrong.
    #[error("{0}")]
    Instruction(Box<Located>),
    /// A variable expansion failed (`${VAR:?message}`, unterminated `${`).
    #[error("{0}")]
    Expansion(Box<Located>),
    /// Stages: bad base reference, unknown `--from`, dependency cycles.
    #[error("{0}")]
    Stage(Box<Located>),
    /// A feature of the Dockerfile language hoist does not implement yet.
    #[error("{0}")]
    Unsupported(Box<Located>),
    #[error(
        "target stage `{target}` is not in `{file}`\nhint: stages are: {stages}; pass one of them (or an index) to `--target`"
    )]
    UnknownTarget {
        file: PathBuf,
        target: String,
        stages: String,
    },
    #[error(
        "image `{reference}` was not resolved before planning\nhint: this is a bug in hoist: resolve every image from `external_images()` first"
    )]
    UnresolvedImage { reference: String },
    #[error("invalid pattern in `{path}`: {source}")]
    Ignore { path: PathBuf, source: PatternError },
    #[error(
        "failed to parse build-arg:BUILDKIT_DOCKERFILE_CHECK `{value}`: {reason}\nhint: write `--build-arg BUILDKIT_DOCKERFILE_CHECK=skip=RULE1,RULE2;error=true` (it replaces the file's `# check=`)"
    )]
    CheckBuildArg { value: String, reason: String },
}

impl FrontendError {
    pub fn syntax(l: Located) -> Self {
        FrontendError::Syntax(Box::new(l))
    }
    pub fn instruction(l: Located) -> Self {
        FrontendError::Instruction(Box::new(l))
    }
    pub fn expansion(l: Located) -> Self {
        FrontendError::Expansion(Box::new(l))
    }
    pub fn stage(l: Located) -> Self {
        FrontendError::Stage(Box::new(l))
    }
    pub fn unsupported(l: Located) -> Self {
        FrontendError::Unsupported(Box::new(l))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_shows_location_line_and_hint() {
        let e = FrontendError::instruction(
            Located::new(
                std::path::Path::new("Dockerfile"),
                7,
                "COPPY a b",
                "unknown instruction: COPPY",
            )
            .hint("did you mean `COPY`?"),
        );
        assert_eq!(
            e.to_string(),
            "Dockerfile:7: unknown instruction: COPPY\n   7 | COPPY a b\nhint: did you mean `COPY`?"
        );
    }
}
