//! The checks BuildKit runs on FROM lines (`dockerfile2llb/convert.go` `reportUnusedFromArgs`,
//! `reportRedundantTargetPlatform`, `reportConstPlatformDisallowed`): undeclared ARGs in the base name or
//! `--platform`, a `--platform=$TARGETPLATFORM` that changes nothing, a constant platform.

use std::collections::BTreeSet;

use super::{Linter, Rule, did_you_mean};
use crate::image::Platform;

/// One FROM line and the global ARG names it may use (declared ones and the automatic ones).
pub struct FromLine<'a> {
    pub line: usize,
    pub known: &'a [String],
}

impl FromLine<'_> {
    /// `UndefinedArgInFrom` for each variable the line used that no ARG declares.
    pub fn undeclared(&self, lint: &mut Linter, unmatched: &BTreeSet<String>) {
        let options: Vec<&str> = self.known.iter().map(String::as_str).collect();
        for name in unmatched.iter().filter(|n| !self.known.contains(n)) {
            let mut message = format!("FROM argument '{name}' is not declared");
            if let Some(m) = did_you_mean(name, &options) {
                message.push_str(&format!(" (did you mean {m}?)"));
            }
            lint.run(Rule::UndefinedArgInFrom, self.line, message);
        }
    }

    /// `RedundantTargetPlatform` and `FromPlatformFlagConstDisallowed` for `--platform=raw`, which
    /// expanded to `value` using the `matched` variables and missing the `unmatched` ones.
    #[allow(clippy::too_many_arguments)]
    pub fn platform(
        &self,
        lint: &mut Linter,
        raw: &str,
        value: &str,
        matched: &BTreeSet<String>,
        unmatched: &BTreeSet<String>,
        target_platform: Option<&str>,
        stage: Option<&str>,
    ) {
        if matched.len() == 1
            && unmatched.is_empty()
            && matched.contains("TARGETPLATFORM")
            && Some(value) == target_platform
        {
            lint.run(
                Rule::RedundantTargetPlatform,
                self.line,
                format!("Setting platform to predefined {raw} in FROM is redundant as this is the default behavior"),
            );
        }
        if matched.is_empty()
            && unmatched.is_empty()
            && let Ok(constant) = value.parse::<Platform>()
            && !stage
                .is_some_and(|n| n.contains(&constant.os) || n.contains(&constant.architecture))
        {
            lint.run(
                Rule::FromPlatformFlagConstDisallowed,
                self.line,
                format!("FROM --platform flag should not use constant value \"{value}\""),
            );
        }
    }
}
