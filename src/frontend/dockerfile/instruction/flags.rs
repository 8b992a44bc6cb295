//! Instruction flags as BuildKit's `instructions/bflag.go` parses them: the flags each instruction
//! registers (`instructions/parse.go`), an unknown flag named in the error, a repeated flag refused
//! (except the repeatable `--mount` and `--exclude`), booleans `true`/`false` in any case, and a value
//! required where one is expected.

/// The flags an instruction parses, as BuildKit registers them (`instructions/parse.go`); `None`: the
/// instruction never parses its flags, so BuildKit ignores any it is given (ARG, STOPSIGNAL and
/// `HEALTHCHECK NONE`).
fn flag_specs(keyword: &str) -> Option<&'static [(&'static str, FlagType)]> {
    use FlagType::{Bool, Str, Strings};
    Some(match keyword {
        "FROM" => &[("platform", Str)],
        "COPY" => &[
            ("exclude", Strings),
            ("parents", Bool),
            ("chown", Str),
            ("from", Str),
            ("chmod", Str),
            ("link", Bool),
        ],
        "ADD" => &[
            ("exclude", Strings),
            ("chown", Str),
            ("chmod", Str),
            ("link", Bool),
            ("keep-git-dir", Bool),
            ("checksum", Str),
            ("unpack", Bool),
        ],
        "RUN" => &[("mount", Strings), ("network", Str), ("security", Str)],
        "HEALTHCHECK" => &[
            ("interval", Str),
            ("timeout", Str),
            ("start-period", Str),
            ("start-interval", Str),
            ("retries", Str),
        ],
        "ARG" | "STOPSIGNAL" => return None,
        _ => &[],
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FlagType {
    Bool,
    Str,
    Strings,
}

/// Parsed flags: BuildKit's `BFlags.Parse` (unknown flag, repeated flag, missing value and non-boolean
/// value are errors).
pub struct Flags {
    values: Vec<(String, Vec<String>)>,
}

impl Flags {
    pub fn parse(keyword: &str, raw: &[String]) -> Result<Flags, (String, String)> {
        let Some(specs) = flag_specs(keyword) else {
            return Ok(Flags { values: Vec::new() });
        };
        let mut values: Vec<(String, Vec<String>)> = Vec::new();
        for word in raw {
            let (name, value) = match word.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (word.as_str(), None),
            };
            let Some((_, ty)) = specs.iter().find(|(n, _)| *n == name) else {
                let hint = if specs.is_empty() {
                    format!("{keyword} takes no flags")
                } else {
                    format!(
                        "{keyword} accepts: {}",
                        specs
                            .iter()
                            .map(|(f, _)| format!("`--{f}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                };
                return Err((format!("unknown flag `--{name}` for {keyword}"), hint));
            };
            let seen = values.iter().position(|(n, _)| n == name);
            if seen.is_some() && *ty != FlagType::Strings {
                return Err((
                    format!("flag `--{name}` is given more than once"),
                    format!("keep one `--{name}`"),
                ));
            }
            let value = match (ty, value) {
                (FlagType::Bool, None) => "true".to_string(),
                (FlagType::Bool, Some("")) | (FlagType::Str | FlagType::Strings, None) => {
                    return Err((
                        format!("flag `--{name}` is missing a value"),
                        format!("write `--{name}=VALUE`"),
                    ));
                }
                (FlagType::Bool, Some(v)) => match v.to_ascii_lowercase().as_str() {
                    b @ ("true" | "false") => b.to_string(),
                    _ => {
                        return Err((
                            format!("flag `--{name}` expects a boolean value, not `{v}`"),
                            format!("write `--{name}`, `--{name}=true` or `--{name}=false`"),
                        ));
                    }
                },
                (FlagType::Str | FlagType::Strings, Some(v)) => v.to_string(),
            };
            match seen {
                Some(i) => values[i].1.push(value),
                None => values.push((name.to_string(), vec![value])),
            }
        }
        Ok(Flags { values })
    }

    pub fn all(&self, name: &str) -> Vec<String> {
        self.values
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    pub fn string(&self, name: &str) -> Option<String> {
        self.all(name).pop()
    }

    pub fn bool(&self, name: &str) -> bool {
        self.string(name).as_deref() == Some("true")
    }
}

impl Flags {
    /// No flags (instructions that never parse theirs).
    pub fn none() -> Flags {
        Flags { values: Vec::new() }
    }
}
