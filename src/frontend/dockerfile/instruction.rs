//! Typed instructions: each AST node checked against the Dockerfile reference (flags, argument shapes),
//! as BuildKit's `instructions/parse.go` does. Words are kept unexpanded; `from`, `stages` and
//! `dispatch` expand them in the scope where Docker does.

use std::path::Path;

use crate::plan::Network;

use super::duration::duration;
use super::error::FrontendError;
use super::parser::{Heredoc, Node, heredoc};
use super::suggest::suggest;

mod flags;

use flags::Flags;

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
    /// `ADD --unpack`: `None` when not given (local archives unpack, downloads do not).
    pub unpack: Option<bool>,
    pub heredocs: Vec<Heredoc>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunArgs {
    pub command: CommandLine,
    /// Each `--mount` value as written (CSV, unexpanded); `run_mount` reads them.
    pub mounts: Vec<String>,
    /// `--network` (checked when parsed, as BuildKit does: its value is never expanded).
    pub network: Network,
    /// `--security` (checked when parsed; `stages` refuses `insecure` in the target's stages).
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

/// Converts one node.
pub fn from_node(node: Node, file: &Path) -> Result<Instruction, FrontendError> {
    let err = |message: String| FrontendError::instruction(node.located(file, message));
    let hinted = |message: String, hint: String| {
        FrontendError::instruction(node.located(file, message).hint(hint))
    };
    if !KEYWORDS.contains(&node.keyword.as_str()) {
        let mut located = node.located(
            file,
            format!("unknown instruction: {}", node.written_keyword),
        );
        if let Some(suggestion) = suggest(&node.keyword) {
            located = located.hint(format!("did you mean `{suggestion}`?"));
        }
        return Err(FrontendError::instruction(located));
    }
    let args = node.args.nodes.clone();
    let keyword = node.keyword.as_str();
    let healthcheck_none =
        keyword == "HEALTHCHECK" && args.first().is_some_and(|t| t.eq_ignore_ascii_case("NONE"));
    let flags = if healthcheck_none {
        Flags::none()
    } else {
        Flags::parse(keyword, &node.flags).map_err(|(m, h)| hinted(m, h))?
    };
    let exactly_one = || -> Result<String, FrontendError> {
        match args.as_slice() {
            [one] => Ok(one.clone()),
            _ => Err(err(format!("{keyword} requires exactly one argument"))),
        }
    };
    let at_least_one = || -> Result<(), FrontendError> {
        if args.is_empty() {
            return Err(err(format!("{keyword} requires at least one argument")));
        }
        Ok(())
    };
    let kind = match keyword {
        "FROM" => {
            let (image, name) = match args.as_slice() {
                [image] => (image.clone(), None),
                [image, as_, name] if as_.eq_ignore_ascii_case("as") => {
                    (image.clone(), Some(name.clone()))
                }
                _ => {
                    return Err(hinted(
                        "FROM requires either one or three arguments".into(),
                        "write `FROM <image> [AS <name>]`".into(),
                    ));
                }
            };
            if let Some(name) = &name {
                let lower = name.to_ascii_lowercase();
                let valid = lower.starts_with(|c: char| c.is_ascii_lowercase())
                    && lower
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.-".contains(c));
                if !valid {
                    return Err(hinted(
                        format!(
                            "invalid name for build stage: `{name}`, name can't start with a number or contain symbols"
                        ),
                        "start with a letter; use letters, digits, `_`, `.`, `-`".into(),
                    ));
                }
            }
            Kind::From(FromArgs {
                image,
                name: name.map(|n| n.to_ascii_lowercase()),
                platform: flags.string("platform"),
            })
        }
        "ARG" => {
            at_least_one()?;
            let decls = args
                .iter()
                .map(|w| match w.split_once('=') {
                    Some((n, d)) => ArgDecl {
                        name: n.to_string(),
                        default: Some(d.to_string()),
                    },
                    None => ArgDecl {
                        name: w.clone(),
                        default: None,
                    },
                })
                .collect::<Vec<_>>();
            if decls.iter().any(|d| d.name.is_empty()) {
                return Err(err("ARG names can not be blank".into()));
            }
            Kind::Arg(decls)
        }
        "ENV" | "LABEL" => {
            at_least_one()?;
            let pairs: Vec<(String, String)> = args
                .chunks(3)
                .map(|c| (c[0].clone(), c.get(1).cloned().unwrap_or_default()))
                .collect();
            if pairs.iter().any(|(k, _)| k.is_empty()) {
                return Err(err(format!("{keyword} names can not be blank")));
            }
            if keyword == "ENV" {
                Kind::Env(pairs)
            } else {
                Kind::Label(pairs)
            }
        }
        "WORKDIR" => Kind::Workdir(exactly_one()?),
        "USER" => Kind::User(exactly_one()?),
        "STOPSIGNAL" => Kind::StopSignal(exactly_one()?),
        "MAINTAINER" => Kind::Maintainer(exactly_one()?),
        "ONBUILD" => {
            let Some(inner) = &node.inner else {
                return Err(hinted(
                    "ONBUILD requires at least one argument".into(),
                    "give ONBUILD the instruction to run later: `ONBUILD RUN make`".into(),
                ));
            };
            match inner.keyword.to_ascii_uppercase().as_str() {
                "ONBUILD" => {
                    return Err(err(
                        "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed".into()
                    ));
                }
                t @ ("MAINTAINER" | "FROM") => {
                    return Err(err(format!("{t} isn't allowed as an ONBUILD trigger")));
                }
                _ => {}
            }
            let mut expression = node.after_keyword.clone();
            for h in &node.heredocs {
                expression.push('\n');
                expression.push_str(&h.content);
                expression.push_str(&h.name);
            }
            Kind::OnBuild(expression)
        }
        "EXPOSE" => {
            at_least_one()?;
            let mut ports = args.clone();
            ports.sort();
            Kind::Expose(ports)
        }
        "VOLUME" => {
            at_least_one()?;
            let vols: Vec<String> = args.iter().map(|v| v.trim().to_string()).collect();
            if vols.iter().any(String::is_empty) {
                return Err(err("VOLUME specified can not be an empty string".into()));
            }
            Kind::Volume(vols)
        }
        "ENTRYPOINT" => Kind::Entrypoint(command_line(&node.args)),
        "CMD" => Kind::Cmd(command_line(&node.args)),
        "SHELL" => match (node.args.json, args.is_empty()) {
            (_, true) => return Err(err("SHELL requires at least one argument".into())),
            (true, false) => Kind::Shell(args.clone()),
            (false, false) => {
                return Err(hinted(
                    "SHELL requires the arguments to be in JSON form".into(),
                    "write `SHELL [\"/bin/bash\", \"-c\"]`".into(),
                ));
            }
        },
        "HEALTHCHECK" => {
            at_least_one()?;
            let rest = &args[1..];
            match args[0].to_ascii_uppercase().as_str() {
                "NONE" if rest.is_empty() => Kind::Healthcheck(None),
                "NONE" => return Err(err("HEALTHCHECK NONE takes no arguments".into())),
                "CMD" => {
                    if rest.is_empty() {
                        return Err(err("Missing command after HEALTHCHECK CMD".into()));
                    }
                    let dur = |name: &str| -> Result<Option<i64>, FrontendError> {
                        let Some(v) = flags.string(name).filter(|v| !v.is_empty()) else {
                            return Ok(None);
                        };
                        match duration(&v) {
                            None => Err(hinted(
                                format!("`--{name}={v}` is not a duration"),
                                "write a duration like `30s` or `1m30s`".into(),
                            )),
                            Some(0) => Ok(None),
                            Some(d) if d < 1_000_000 => {
                                Err(err(format!("Interval \"{name}\" cannot be less than 1ms")))
                            }
                            Some(d) => Ok(Some(d)),
                        }
                    };
                    let retries = match flags.string("retries").filter(|v| !v.is_empty()) {
                        None => None,
                        Some(v) => match v.parse::<i32>() {
                            Ok(n) if n < 0 => {
                                return Err(err(format!("--retries cannot be negative ({n})")));
                            }
                            Ok(0) => None,
                            Ok(n) => Some(i64::from(n)),
                            Err(_) => return Err(err(format!("`--retries={v}` is not a number"))),
                        },
                    };
                    let test = if node.args.json {
                        CommandLine::Exec(rest.to_vec())
                    } else {
                        CommandLine::Shell(rest.join(" "))
                    };
                    Kind::Healthcheck(Some(HealthcheckArgs {
                        test,
                        interval: dur("interval")?,
                        timeout: dur("timeout")?,
                        start_period: dur("start-period")?,
                        start_interval: dur("start-interval")?,
                        retries,
                    }))
                }
                other => {
                    return Err(hinted(
                        format!("Unknown type \"{other}\" in HEALTHCHECK (try CMD)"),
                        "write `HEALTHCHECK CMD <command>` or `HEALTHCHECK NONE`".into(),
                    ));
                }
            }
        }
        "COPY" | "ADD" => {
            if args.len() < 2 {
                return Err(err(format!(
                    "{keyword} requires at least two arguments, but only one was provided. Destination could not be determined"
                )));
            }
            let (dest, words) = args
                .split_last()
                .map(|(d, s)| (d.clone(), s.to_vec()))
                .unwrap_or_default();
            if heredoc::parse(&dest).is_some() {
                return Err(err(format!(
                    "{keyword} cannot accept a heredoc as a destination"
                )));
            }
            let mut sources = Vec::new();
            let mut inline = Vec::new();
            for word in words {
                match heredoc::parse(&word) {
                    Some(marker) => {
                        let content = node
                            .heredocs
                            .iter()
                            .find(|h| h.name == marker.name)
                            .map(|h| h.content.clone())
                            .unwrap_or_default();
                        inline.push(Heredoc {
                            name: marker.name,
                            content,
                            chomp: marker.chomp,
                            expand: marker.expand,
                        });
                    }
                    None => sources.push(word),
                }
            }
            Kind::Copy(CopyArgs {
                add: keyword == "ADD",
                sources,
                dest,
                json: node.args.json,
                from: flags.string("from"),
                chown: flags.string("chown").filter(|v| !v.is_empty()),
                chmod: flags.string("chmod").filter(|v| !v.is_empty()),
                link: flags.bool("link"),
                parents: flags.bool("parents"),
                excludes: flags.all("exclude"),
                checksum: flags.string("checksum").filter(|v| !v.is_empty()),
                keep_git_dir: flags.bool("keep-git-dir"),
                unpack: flags.string("unpack").map(|v| v == "true"),
                heredocs: inline,
            })
        }
        "RUN" => {
            let network = match flags.string("network").as_deref() {
                None | Some("default") => Network::Default,
                Some("none") => Network::None,
                Some("host") => Network::Host,
                Some(other) => {
                    return Err(hinted(
                        format!("invalid network mode `--network={other}`"),
                        "use `default`, `none` (only loopback) or `host`".into(),
                    ));
                }
            };
            let security = match flags.string("security").as_deref() {
                None | Some("sandbox") => Security::Sandbox,
                Some("insecure") => Security::Insecure,
                Some(other) => {
                    return Err(hinted(
                        format!("invalid security mode `--security={other}`"),
                        "use `sandbox` (the default) or `insecure`".into(),
                    ));
                }
            };
            Kind::Run(RunArgs {
                command: command_line(&node.args),
                mounts: flags.all("mount"),
                network,
                security,
            })
        }
        other => return Err(err(format!("unknown instruction: {other}"))),
    };
    Ok(Instruction { node, kind })
}

/// Exec form when the arguments were a JSON string array, shell form (the text as written) otherwise.
fn command_line(args: &super::parser::line::Args) -> CommandLine {
    if args.json {
        CommandLine::Exec(args.nodes.clone())
    } else {
        CommandLine::Shell(args.nodes.join(" "))
    }
}

#[cfg(test)]
mod tests;
