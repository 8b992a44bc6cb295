//! The checks BuildKit's dispatch runs on an instruction (`dockerfile2llb/convert.go`):
//! `MultipleInstructionsDisallowed`, `SecretsUsedInArgOrEnv`, `UndefinedVar`.

use std::collections::BTreeSet;

use super::State;
use crate::frontend::dockerfile::gofmt;
use crate::frontend::dockerfile::lint::{Linter, Rule, did_you_mean, looks_secret};

/// `MultipleInstructionsDisallowed`: the earlier CMD/ENTRYPOINT/HEALTHCHECK of the stage is ignored.
pub fn used_once(
    lint: &mut Linter,
    seen: &mut Vec<(&'static str, usize)>,
    name: &'static str,
    written: &str,
    line: usize,
) {
    if let Some(i) = seen.iter().position(|(n, _)| *n == name) {
        let (_, earlier) = seen.remove(i);
        lint.run(
            Rule::MultipleInstructionsDisallowed,
            earlier,
            format!("Multiple {written} instructions should not be used in the same stage because only the last one will be used"),
        );
    }
    seen.push((name, line));
}

/// `SecretsUsedInArgOrEnv` for an ARG or ENV name.
pub fn check_secret(lint: &mut Linter, instruction: &str, key: &str, line: usize) {
    if looks_secret(key) {
        lint.run(
            Rule::SecretsUsedInArgOrEnv,
            line,
            format!(
                "Do not use ARG or ENV instructions for sensitive data ({instruction} {})",
                gofmt::quote(key)
            ),
        );
    }
}

/// `UndefinedVar`: variables an instruction expanded that neither the environment nor a declared ARG
/// defines.
pub fn report_undefined(
    lint: &mut Linter,
    unmatched: &BTreeSet<String>,
    state: &State,
    known: &[String],
    line: usize,
) {
    let options: Vec<&str> = known.iter().map(String::as_str).collect();
    for name in unmatched {
        if state.declared.contains(name) {
            continue;
        }
        let mut message = format!("Usage of undefined variable '${name}'");
        if let Some(m) = did_you_mean(name, &options) {
            message.push_str(&format!(" (did you mean ${m}?)"));
        }
        lint.run(Rule::UndefinedVar, line, message);
    }
}
