//! Errors as a user reads them: what happened, why, and what to do — the shape of Heroku's buildpack
//! errors (heroku/buildpacks-procfile `src/error.rs`), rendered as hoist renders its own errors
//! (`what`, then `why:` and `hint:` lines, literals in backticks, no colour).

use std::fmt;

/// One error, explained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// What happened, in one line: "no `web` process for this Python app".
    pub what: String,
    /// Why it matters or what caused it.
    pub why: String,
    /// What to do about it.
    pub fix: String,
}

impl Problem {
    pub fn new(what: impl Into<String>, why: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            what: what.into(),
            why: why.into(),
            fix: fix.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}\nwhy: {}\nhint: {}", self.what, self.why, self.fix)
    }
}

impl std::error::Error for Problem {}

/// An error a buildpack can explain. Each buildpack's error enum implements it by an exhaustive match,
/// so that every variant has its what/why/fix.
pub trait Explain {
    fn explain(&self) -> Problem;
}

impl Explain for Problem {
    fn explain(&self) -> Problem {
        self.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_what_why_and_hint_lines() {
        let problem = Problem::new(
            "no `web` process",
            "nothing would listen",
            "add a `Procfile`",
        );
        assert_eq!(
            problem.to_string(),
            "no `web` process\nwhy: nothing would listen\nhint: add a `Procfile`"
        );
    }
}
