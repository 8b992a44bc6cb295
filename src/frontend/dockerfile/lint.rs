//! Build checks, named and worded as BuildKit's linter (`frontend/dockerfile/linter/ruleset.go`), and
//! the `# check=skip=…;error=true;experimental=…` directive (`linter.go` `ParseLintOptions`). The
//! frontend runs each rule where BuildKit does: while parsing (casing, MAINTAINER, empty
//! continuations, stage names), on FROM lines (their ARGs and platforms), and while dispatching the
//! stages the target needs (undefined variables, JSON arguments, WORKDIR, secrets, EXPOSE…).

use std::fmt;
use std::path::{Path, PathBuf};

use super::suggest::closest;

pub mod from_rules;
pub mod parse_rules;

/// A rule of BuildKit's linter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rule {
    StageNameCasing,
    FromAsCasing,
    NoEmptyContinuation,
    ConsistentInstructionCasing,
    DuplicateStageName,
    ReservedStageName,
    JSONArgsRecommended,
    MaintainerDeprecated,
    UndefinedArgInFrom,
    WorkdirRelativePath,
    UndefinedVar,
    MultipleInstructionsDisallowed,
    LegacyKeyValueFormat,
    InvalidBaseImagePlatform,
    RedundantTargetPlatform,
    SecretsUsedInArgOrEnv,
    InvalidDefaultArgInFrom,
    FromPlatformFlagConstDisallowed,
    ExposeProtoCasing,
    ExposeInvalidFormat,
    /// Experimental: runs only when `# check=experimental=` names it (or says `all`).
    CopyIgnoredFile,
    /// Experimental.
    InvalidDefinitionDescription,
}

impl Rule {
    /// The rule's name, as `# check=skip=` and BuildKit's output spell it.
    pub fn name(self) -> &'static str {
        match self {
            Rule::StageNameCasing => "StageNameCasing",
            Rule::FromAsCasing => "FromAsCasing",
            Rule::NoEmptyContinuation => "NoEmptyContinuation",
            Rule::ConsistentInstructionCasing => "ConsistentInstructionCasing",
            Rule::DuplicateStageName => "DuplicateStageName",
            Rule::ReservedStageName => "ReservedStageName",
            Rule::JSONArgsRecommended => "JSONArgsRecommended",
            Rule::MaintainerDeprecated => "MaintainerDeprecated",
            Rule::UndefinedArgInFrom => "UndefinedArgInFrom",
            Rule::WorkdirRelativePath => "WorkdirRelativePath",
            Rule::UndefinedVar => "UndefinedVar",
            Rule::MultipleInstructionsDisallowed => "MultipleInstructionsDisallowed",
            Rule::LegacyKeyValueFormat => "LegacyKeyValueFormat",
            Rule::InvalidBaseImagePlatform => "InvalidBaseImagePlatform",
            Rule::RedundantTargetPlatform => "RedundantTargetPlatform",
            Rule::SecretsUsedInArgOrEnv => "SecretsUsedInArgOrEnv",
            Rule::InvalidDefaultArgInFrom => "InvalidDefaultArgInFrom",
            Rule::FromPlatformFlagConstDisallowed => "FromPlatformFlagConstDisallowed",
            Rule::ExposeProtoCasing => "ExposeProtoCasing",
            Rule::ExposeInvalidFormat => "ExposeInvalidFormat",
            Rule::CopyIgnoredFile => "CopyIgnoredFile",
            Rule::InvalidDefinitionDescription => "InvalidDefinitionDescription",
        }
    }

    /// BuildKit's experimental rules run only when enabled by name or with `experimental=all`, and
    /// `skip=` does not apply to them.
    pub fn experimental(self) -> bool {
        match self {
            Rule::CopyIgnoredFile | Rule::InvalidDefinitionDescription => true,
            Rule::StageNameCasing
            | Rule::FromAsCasing
            | Rule::NoEmptyContinuation
            | Rule::ConsistentInstructionCasing
            | Rule::DuplicateStageName
            | Rule::ReservedStageName
            | Rule::JSONArgsRecommended
            | Rule::MaintainerDeprecated
            | Rule::UndefinedArgInFrom
            | Rule::WorkdirRelativePath
            | Rule::UndefinedVar
            | Rule::MultipleInstructionsDisallowed
            | Rule::LegacyKeyValueFormat
            | Rule::InvalidBaseImagePlatform
            | Rule::RedundantTargetPlatform
            | Rule::SecretsUsedInArgOrEnv
            | Rule::InvalidDefaultArgInFrom
            | Rule::FromPlatformFlagConstDisallowed
            | Rule::ExposeProtoCasing
            | Rule::ExposeInvalidFormat => false,
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One finding: the rule, BuildKit's message, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    pub rule: Rule,
    pub message: String,
    pub file: PathBuf,
    pub line: usize,
}

impl Check {
    /// `file:line`.
    pub fn location(&self) -> String {
        format!("{}:{}", self.file.display(), self.line)
    }
}

impl fmt::Display for Check {
    /// `Rule: message (file:line)`, BuildKit's short form with the file named.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} ({})", self.rule, self.message, self.location())
    }
}

/// The `# check=` directive.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    pub skip_all: bool,
    pub skip: Vec<String>,
    /// `error=true`: any finding fails the build.
    pub error: bool,
    /// `experimental=all`.
    pub experimental_all: bool,
    /// `experimental=RULE1,RULE2`.
    pub experimental: Vec<String>,
}

impl Config {
    /// Reads the directive's value (`skip=A,B;error=true`), as BuildKit's `ParseLintOptions` does.
    pub fn parse(value: &str) -> Result<Config, String> {
        let value = value.trim();
        let mut config = Config::default();
        if value.is_empty() {
            return Ok(config);
        }
        for part in value.splitn(3, ';') {
            let Some((key, v)) = part.split_once('=') else {
                return Err(format!("invalid check option `{part}`"));
            };
            match key.trim() {
                "skip" => {
                    let v = v.trim();
                    if v == "all" {
                        config.skip_all = true;
                    } else {
                        config.skip = v.split(',').map(|r| r.trim().to_string()).collect();
                    }
                }
                "experimental" => {
                    let v = v.trim();
                    if v == "all" {
                        config.experimental_all = true;
                    } else {
                        config.experimental = v.split(',').map(|r| r.trim().to_string()).collect();
                    }
                }
                "error" => {
                    config.error = match v.trim() {
                        "1" | "t" | "T" | "true" | "TRUE" | "True" => true,
                        "0" | "f" | "F" | "false" | "FALSE" | "False" => false,
                        other => {
                            return Err(format!(
                                "failed to parse check option `{part}`: `{other}` is not a boolean"
                            ));
                        }
                    };
                }
                other => return Err(format!("invalid check option `{other}`")),
            }
        }
        Ok(config)
    }

    fn skips(&self, rule: Rule) -> bool {
        if rule.experimental() {
            return !self.enables(rule);
        }
        self.skip_all || self.skip.iter().any(|s| s == rule.name())
    }

    fn enables(&self, rule: Rule) -> bool {
        self.experimental_all || self.experimental.iter().any(|s| s == rule.name())
    }
}

/// Collects findings for one Dockerfile, honouring `# check=skip=`.
#[derive(Clone, Debug)]
pub struct Linter {
    pub config: Config,
    pub file: PathBuf,
    pub checks: Vec<Check>,
    /// A `# check=` comment right above the instruction being checked (see [`Linter::scope`]).
    pub local: Option<Config>,
}

impl Linter {
    pub fn new(config: Config, file: &Path) -> Linter {
        Linter {
            config,
            file: file.to_path_buf(),
            checks: Vec::new(),
            local: None,
        }
    }

    /// BuildKit's `WithMergedConfigFromComments`: the first `# check=…` among the comments right
    /// above an instruction adds its skipped and experimental rules while that instruction (or stage,
    /// for FROM) is checked; one that does not parse is ignored. `scope(&[])` ends it.
    pub fn scope(&mut self, comments: &[String]) {
        self.local = comments
            .iter()
            .find_map(|c| {
                let (name, value) = c.split_once('=')?;
                name.trim().eq_ignore_ascii_case("check").then_some(value)
            })
            .and_then(|v| Config::parse(v.trim().split(' ').next().unwrap_or("")).ok());
    }

    pub fn run(&mut self, rule: Rule, line: usize, message: impl Into<String>) {
        let skipped = match &self.local {
            None => self.config.skips(rule),
            Some(local) if rule.experimental() => {
                !(self.config.enables(rule) || local.enables(rule))
            }
            Some(local) => self.config.skips(rule) || local.skips(rule),
        };
        if skipped {
            return;
        }
        let check = Check {
            rule,
            message: message.into(),
            file: self.file.clone(),
            line,
        };
        if !self.checks.contains(&check) {
            self.checks.push(check);
        }
    }
}

/// `error=true` with findings: BuildKit's "lint violation found for rules: …" (rules sorted).
pub fn violation(config: &Config, checks: &[Check]) -> Option<String> {
    if !config.error || checks.is_empty() {
        return None;
    }
    let mut rules: Vec<Rule> = checks.iter().map(|c| c.rule).collect();
    rules.sort();
    rules.dedup();
    Some(format!(
        "lint violation found for rules: {}",
        rules
            .iter()
            .map(|r| r.name())
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// BuildKit's `suggest.Search`: the option within edit distance 2, none for an exact match.
pub fn did_you_mean<'a>(name: &str, options: &[&'a str]) -> Option<&'a str> {
    if options.contains(&name) {
        return None;
    }
    closest(name, options)
}

/// `SecretsUsedInArgOrEnv`: a name with a secret word (any case) among its `_`-separated words, and no
/// `public` among them (BuildKit's `(?i)(?:_|^)(?:apikey|auth|…|token)(?:_|$)`).
pub fn looks_secret(key: &str) -> bool {
    const DENY: &[&str] = &[
        "apikey",
        "auth",
        "credential",
        "credentials",
        "key",
        "password",
        "pword",
        "passwd",
        "secret",
        "token",
    ];
    let lower = key.to_ascii_lowercase();
    let parts: Vec<&str> = lower.split('_').collect();
    let anywhere = |words: &[&str]| parts.iter().any(|p| words.contains(p));
    anywhere(DENY) && !anywhere(&["public"])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_directive() {
        assert_eq!(
            Config::parse("skip=JSONArgsRecommended, StageNameCasing;error=true").unwrap(),
            Config {
                skip_all: false,
                skip: vec!["JSONArgsRecommended".into(), "StageNameCasing".into()],
                error: true,
                ..Config::default()
            }
        );
        assert!(Config::parse("skip=all").unwrap().skip_all);
        assert!(Config::parse("error=maybe").is_err());
        assert!(Config::parse("nope=1").is_err());
        assert!(Config::parse("skip").is_err());
        assert_eq!(Config::parse("").unwrap(), Config::default());
        let c = Config::parse("skip=all;experimental=CopyIgnoredFile").unwrap();
        assert!(!c.skips(Rule::CopyIgnoredFile) && c.skips(Rule::InvalidDefinitionDescription));
        assert!(c.skips(Rule::UndefinedVar));
        assert!(
            !Config::parse("experimental=all")
                .unwrap()
                .skips(Rule::InvalidDefinitionDescription)
        );
    }

    #[test]
    fn secret_names() {
        for yes in [
            "API_KEY",
            "password",
            "GITHUB_TOKEN",
            "secret_MESSAGE",
            "AUTH",
            "db_password_file",
        ] {
            assert!(looks_secret(yes), "{yes}");
        }
        for no in ["PUBLIC_KEY", "KEYS", "TOKENIZER", "MONKEY", "passwordless"] {
            assert!(!looks_secret(no), "{no}");
        }
    }
}
