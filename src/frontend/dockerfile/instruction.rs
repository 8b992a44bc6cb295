//! Typed instructions: each AST node checked against the Dockerfile reference (flags, argument shapes),
//! as BuildKit's `instructions/parse.go` does. Words are kept unexpanded; `convert` expands them in
//! the scope where Docker does.

use std::path::Path;

use crate::plan::Network;

use super::duration::duration;
use super::error::FrontendError;
use super::parser::{Heredoc, Node, json_array, split_words};
use super::suggest::suggest;

#[derive(Clone, Debug)]
pub struct Instruction {
    pub node: Node,
    pub kind: Kind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    From(FromArgs),
    Arg(Vec<ArgDecl>),
    Env(Vec<(String, String)>),
    Label(Vec<(String, String)>),
    Workdir(String),
    User(String),
    Expose(Vec<String>),
    Volume(Vec<String>),
    Entrypoint(CommandLine),
    Cmd(CommandLine),
    Shell(Vec<String>),
    StopSignal(String),
    /// `None`: `HEALTHCHECK NONE`.
    Healthcheck(Option<HealthcheckArgs>),
    Copy(CopyArgs),
    Run(RunArgs),
    OnBuild(String),
    Maintainer(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FromArgs {
    pub image: String,
    pub name: Option<String>,
    pub platform: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArgDecl {
    pub name: String,
    /// The default, unexpanded.
    pub default: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommandLine {
    Exec(Vec<String>),
    Shell(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthcheckArgs {
    pub test: CommandLine,
    pub interval: Option<i64>,
    pub timeout: Option<i64>,
    pub start_period: Option<i64>,
    pub start_interval: Option<i64>,
    pub retries: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyArgs {
    /// ADD rather than COPY.
    pub add: bool,
    /// Source words, unexpanded (quotes kept) unless `json`.
    pub sources: Vec<String>,
    pub dest: String,
    /// The arguments were a JSON array (no quote processing needed).
    pub json: bool,
    pub from: Option<String>,
    pub chown: Option<String>,
    pub chmod: Option<String>,
    pub link: bool,
    pub parents: bool,
    pub excludes: Vec<String>,
    pub checksum: Option<String>,
    pub keep_git_dir: bool,
    pub heredocs: Vec<Heredoc>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunArgs {
    pub command: CommandLine,
    /// Each `--mount` value as written (CSV, unexpanded); `run_mount` reads them.
    pub mounts: Vec<String>,
    /// `--network` (checked when parsed, as BuildKit does: its value is never expanded).
    pub network: Network,
    /// `--security` (checked when parsed; `convert` refuses `insecure` in the target's stages).
    pub security: Security,
}

/// `RUN --security`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Security {
    #[default]
    Sandbox,
    Insecure,
}

pub const KEYWORDS: &[&str] = &[
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

/// Flags an instruction accepts.
fn allowed_flags(keyword: &str) -> &'static [&'static str] {
    match keyword {
        "FROM" => &["platform"],
        "COPY" => &["from", "chown", "chmod", "link", "parents", "exclude"],
        "ADD" => &[
            "chown",
            "chmod",
            "link",
            "exclude",
            "checksum",
            "keep-git-dir",
        ],
        "RUN" => &["mount", "network", "security"],
        "HEALTHCHECK" => &[
            "interval",
            "timeout",
            "start-period",
            "start-interval",
            "retries",
        ],
        _ => &[],
    }
}

/// Converts one node.
pub fn from_node(node: Node, file: &Path, escape: char) -> Result<Instruction, FrontendError> {
    let err = |message: String| FrontendError::instruction(node.located(file, message));
    if !KEYWORDS.contains(&node.keyword.as_str()) {
        let written = node
            .original
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_string();
        let mut located = node.located(file, format!("unknown instruction: {written}"));
        if let Some(suggestion) = suggest(&node.keyword) {
            located = located.hint(format!("did you mean `{suggestion}`?"));
        }
        return Err(FrontendError::instruction(located));
    }
    let mut flags: Vec<(String, Option<String>)> = Vec::new();
    for raw in &node.flags {
        let (name, value) = match raw.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (raw.clone(), None),
        };
        if !allowed_flags(&node.keyword).contains(&name.as_str()) {
            let allowed = allowed_flags(&node.keyword);
            let mut l = node.located(
                file,
                format!("unknown flag `--{name}` for {}", node.keyword),
            );
            l = l.hint(if allowed.is_empty() {
                format!("{} takes no flags", node.keyword)
            } else {
                format!(
                    "{} accepts: {}",
                    node.keyword,
                    allowed
                        .iter()
                        .map(|f| format!("`--{f}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            });
            return Err(FrontendError::instruction(l));
        }
        flags.push((name, value));
    }
    let flag = |name: &str| {
        flags
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let value_flag = |name: &str| -> Result<Option<String>, FrontendError> {
        match flag(name) {
            None => Ok(None),
            Some(Some(v)) => Ok(Some(v)),
            Some(None) => Err(err(format!(
                "flag `--{name}` needs a value (`--{name}=...`)"
            ))),
        }
    };
    let bool_flag = |name: &str| -> Result<bool, FrontendError> {
        match flag(name) {
            None => Ok(false),
            Some(None) => Ok(true),
            Some(Some(v)) => match v.as_str() {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(err(format!(
                    "flag `--{name}` expects `true` or `false`, not `{v}`"
                ))),
            },
        }
    };
    let rest = node.rest.as_str();
    let needs_args = |min: usize, words: &[String]| -> Result<(), FrontendError> {
        if words.len() < min {
            return Err(err(format!(
                "{} requires at least {min} argument(s)",
                node.keyword
            )));
        }
        Ok(())
    };
    let kind = match node.keyword.as_str() {
        "FROM" => {
            let words = split_words(rest, escape);
            let (image, name) = match words.as_slice() {
                [image] => (image.clone(), None),
                [image, as_, name] if as_.eq_ignore_ascii_case("as") => (image.clone(), Some(name.clone())),
                _ => return Err(err("FROM requires either one or three arguments: `FROM <image> [AS <name>]`".into())),
            };
            if let Some(name) = &name {
                let valid = name.starts_with(|c: char| c.is_ascii_alphabetic())
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
                if !valid {
                    return Err(err(format!("invalid stage name `{name}`: start with a letter; use letters, digits, `_`, `.`, `-`")));
                }
            }
            Kind::From(FromArgs { image, name: name.map(|n| n.to_ascii_lowercase()), platform: value_flag("platform")? })
        }
        "ARG" => {
            let words = split_words(rest, escape);
            needs_args(1, &words)?;
            let decls = words
                .into_iter()
                .map(|w| match w.split_once('=') {
                    Some((n, d)) => ArgDecl { name: n.to_string(), default: Some(d.to_string()) },
                    None => ArgDecl { name: w, default: None },
                })
                .collect::<Vec<_>>();
            if let Some(bad) = decls.iter().find(|d| d.name.is_empty()) {
                return Err(err(format!("ARG names can not be blank (`={}`)", bad.default.clone().unwrap_or_default())));
            }
            Kind::Arg(decls)
        }
        "ENV" | "LABEL" => {
            let pairs = name_values(rest, escape).map_err(&err)?;
            if node.keyword == "ENV" { Kind::Env(pairs) } else { Kind::Label(pairs) }
        }
        "WORKDIR" | "USER" | "STOPSIGNAL" | "MAINTAINER" | "ONBUILD" => {
            if rest.is_empty() {
                return Err(err(format!("{} requires exactly one argument", node.keyword)));
            }
            let value = rest.to_string();
            match node.keyword.as_str() {
                "WORKDIR" => Kind::Workdir(value),
                "USER" => Kind::User(value),
                "STOPSIGNAL" => Kind::StopSignal(value),
                "MAINTAINER" => Kind::Maintainer(value),
                _ => {
                    let inner = value.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
                    if matches!(inner.as_str(), "ONBUILD" | "FROM" | "MAINTAINER") {
                        return Err(err(format!("{inner} isn't allowed as an ONBUILD trigger")));
                    }
                    Kind::OnBuild(value)
                }
            }
        }
        "EXPOSE" => {
            let words = split_words(rest, escape);
            needs_args(1, &words)?;
            Kind::Expose(words)
        }
        "VOLUME" => {
            let words = json_array(rest).unwrap_or_else(|| split_words(rest, escape));
            needs_args(1, &words)?;
            Kind::Volume(words)
        }
        "ENTRYPOINT" => Kind::Entrypoint(command_line(rest)),
        "CMD" => Kind::Cmd(command_line(rest)),
        "SHELL" => match json_array(rest) {
            Some(words) if !words.is_empty() => Kind::Shell(words),
            _ => return Err(err("SHELL requires the arguments to be in JSON form, like `SHELL [\"/bin/bash\", \"-c\"]`".into())),
        },
        "HEALTHCHECK" => {
            let (first, after) = match rest.find(char::is_whitespace) {
                Some(p) => (&rest[..p], rest[p..].trim_start()),
                None => (rest, ""),
            };
            match first.to_ascii_uppercase().as_str() {
                "NONE" if after.is_empty() && flags.is_empty() => Kind::Healthcheck(None),
                "NONE" => return Err(err("HEALTHCHECK NONE takes no other arguments".into())),
                "CMD" if !after.is_empty() => {
                    let dur = |name: &str| -> Result<Option<i64>, FrontendError> {
                        value_flag(name)?.map(|v| duration(&v).ok_or_else(|| err(format!("`--{name}={v}` is not a duration (like `30s`, `1m30s`)")))).transpose()
                    };
                    let retries = value_flag("retries")?
                        .map(|v| v.parse::<i64>().map_err(|_| err(format!("`--retries={v}` is not a number"))))
                        .transpose()?;
                    Kind::Healthcheck(Some(HealthcheckArgs {
                        test: command_line(after),
                        interval: dur("interval")?,
                        timeout: dur("timeout")?,
                        start_period: dur("start-period")?,
                        start_interval: dur("start-interval")?,
                        retries,
                    }))
                }
                _ => return Err(err("HEALTHCHECK expects `NONE` or `CMD <command>`".into())),
            }
        }
        "COPY" | "ADD" => {
            let (words, json) = match json_array(rest) {
                Some(words) => (words, true),
                None => (split_words(rest, escape), false),
            };
            let min = if node.heredocs.is_empty() { 2 } else { 1 };
            if words.len() < min {
                return Err(err(format!("{} requires at least two arguments, but only one was provided. Destination could not be determined", node.keyword)));
            }
            let (dest, sources) = words.split_last().map(|(d, s)| (d.clone(), s.to_vec())).unwrap_or_default();
            Kind::Copy(CopyArgs {
                add: node.keyword == "ADD",
                sources,
                dest,
                json,
                from: value_flag("from")?,
                chown: value_flag("chown")?,
                chmod: value_flag("chmod")?,
                link: bool_flag("link")?,
                parents: bool_flag("parents")?,
                excludes: flags.iter().filter(|(n, _)| n == "exclude").filter_map(|(_, v)| v.clone()).collect(),
                checksum: value_flag("checksum")?,
                keep_git_dir: bool_flag("keep-git-dir")?,
                heredocs: node.heredocs.clone(),
            })
        }
        "RUN" => {
            if rest.is_empty() {
                return Err(err("RUN requires a command".into()));
            }
            let mut mounts = Vec::new();
            for (name, value) in &flags {
                if name == "mount" {
                    mounts.push(value.clone().ok_or_else(|| err("flag `--mount` needs a value (`--mount=type=...`)".into()))?);
                }
            }
            let network = match value_flag("network")?.as_deref() {
                None | Some("default") => Network::Default,
                Some("none") => Network::None,
                Some("host") => Network::Host,
                Some(other) => {
                    return Err(FrontendError::instruction(
                        node.located(file, format!("invalid network mode `--network={other}`"))
                            .hint("use `default`, `none` (only loopback) or `host`"),
                    ));
                }
            };
            let security = match value_flag("security")?.as_deref() {
                None | Some("sandbox") => Security::Sandbox,
                Some("insecure") => Security::Insecure,
                Some(other) => {
                    return Err(FrontendError::instruction(
                        node.located(file, format!("invalid security mode `--security={other}`"))
                            .hint("use `sandbox` (the default) or `insecure`"),
                    ));
                }
            };
            Kind::Run(RunArgs { command: command_line(rest), mounts, network, security })
        }
        other => return Err(err(format!("unknown instruction: {other}"))),
    };
    Ok(Instruction { node, kind })
}

/// Exec form when `rest` is a JSON string array, shell form otherwise (BuildKit's fallback).
fn command_line(rest: &str) -> CommandLine {
    match json_array(rest) {
        Some(words) => CommandLine::Exec(words),
        None => CommandLine::Shell(rest.to_string()),
    }
}

/// ENV/LABEL arguments: `k=v k2="v 2"`, or the legacy `k v w` (one pair, value = the rest).
fn name_values(rest: &str, escape: char) -> Result<Vec<(String, String)>, String> {
    let words = split_words(rest, escape);
    let Some(first) = words.first() else {
        return Err("requires at least one argument".into());
    };
    if !first.contains('=') {
        let value = rest[first.len()..].trim();
        if value.is_empty() {
            return Err(format!("`{first}` needs a value: write `{first}=value`"));
        }
        return Ok(vec![(first.clone(), value.to_string())]);
    }
    words
        .into_iter()
        .map(|w| match w.split_once('=') {
            Some(("", _)) => Err("names can not be blank".to_string()),
            Some((k, v)) => Ok((k.to_string(), v.to_string())),
            None => Err(format!(
                "syntax error: can't find `=` in `{w}`; every word must be `name=value`"
            )),
        })
        .collect()
}

#[cfg(test)]
mod tests;
