//! BuildKit's line parsers (`frontend/dockerfile/parser/line_parsers.go`, `split_command.go`): the
//! builder flags at the start of an instruction, then the argument nodes each keyword's parser builds —
//! a JSON string array (exec form), the whole text as one node, whitespace-separated words, quoted
//! words, or ENV/LABEL `key value separator` triples. Both the build and `hoist parse` read these, so
//! they accept and reject the same lines.

/// The argument nodes of one instruction, as BuildKit's parser chains them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Args {
    pub nodes: Vec<String>,
    /// The nodes came from a JSON array (BuildKit's `json` attribute).
    pub json: bool,
}

/// Why a line does not parse: the message, and what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineError {
    pub message: String,
    pub hint: String,
}

impl LineError {
    fn new(message: impl Into<String>, hint: impl Into<String>) -> LineError {
        LineError {
            message: message.into(),
            hint: hint.into(),
        }
    }
}

/// Which line parser a keyword uses (BuildKit's dispatch table in `parser.go`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// `parseMaybeJSON`: CMD, ENTRYPOINT, RUN, SHELL.
    MaybeJson,
    /// `parseMaybeJSONToList`: ADD, COPY, VOLUME.
    MaybeJsonList,
    /// `parseNameVal`: ENV, LABEL.
    NameVal,
    /// `parseNameOrNameVal`: ARG.
    Words,
    /// `parseStringsWhitespaceDelimited`: EXPOSE, FROM.
    Whitespace,
    /// `parseString`: MAINTAINER, STOPSIGNAL, USER, WORKDIR.
    String,
    /// `parseHealthConfig`: HEALTHCHECK.
    Health,
    /// `parseSubCommand`: ONBUILD.
    SubCommand,
    /// `parseIgnore`: an unknown keyword (one empty node; the instruction layer rejects it).
    Ignore,
}

/// The line parser of `keyword` (any case).
pub fn shape(keyword: &str) -> Shape {
    match keyword.to_ascii_uppercase().as_str() {
        "CMD" | "ENTRYPOINT" | "RUN" | "SHELL" => Shape::MaybeJson,
        "ADD" | "COPY" | "VOLUME" => Shape::MaybeJsonList,
        "ENV" | "LABEL" => Shape::NameVal,
        "ARG" => Shape::Words,
        "EXPOSE" | "FROM" => Shape::Whitespace,
        "MAINTAINER" | "STOPSIGNAL" | "USER" | "WORKDIR" => Shape::String,
        "HEALTHCHECK" => Shape::Health,
        "ONBUILD" => Shape::SubCommand,
        _ => Shape::Ignore,
    }
}

/// The argument nodes of `rest` (the text after the keyword and its flags, trimmed) for `keyword`.
/// ONBUILD is handled by the caller (its argument is an instruction).
pub fn args(keyword: &str, rest: &str, escape: char) -> Result<Args, LineError> {
    let upper = keyword.to_ascii_uppercase();
    Ok(match shape(keyword) {
        Shape::MaybeJson => maybe_json(rest)?,
        Shape::MaybeJsonList => maybe_json_list(rest)?,
        Shape::NameVal => Args {
            nodes: name_val(rest, &upper, escape)?,
            json: false,
        },
        Shape::Words => Args {
            nodes: split_words(rest, escape),
            json: false,
        },
        Shape::Whitespace => Args {
            nodes: whitespace_delimited(rest),
            json: false,
        },
        Shape::String => Args {
            nodes: if rest.is_empty() {
                Vec::new()
            } else {
                vec![rest.to_string()]
            },
            json: false,
        },
        Shape::Health => {
            let Some(typ) = rest.split(is_space).next().filter(|t| !t.is_empty()) else {
                return Ok(Args::default());
            };
            let cmd = maybe_json(rest[typ.len()..].trim_start_matches(is_space))?;
            Args {
                nodes: std::iter::once(typ.to_string()).chain(cmd.nodes).collect(),
                json: cmd.json,
            }
        }
        Shape::SubCommand => Args::default(),
        Shape::Ignore => Args {
            nodes: vec![String::new()],
            json: false,
        },
    })
}

/// Go's `unicode.IsSpace` for the characters a Dockerfile line can hold.
pub fn is_space(c: char) -> bool {
    c.is_whitespace()
}

/// BuildKit's `splitCommand`: keyword, flags (each with its `--`, quotes removed) and the rest, trimmed.
pub fn split_command(line: &str) -> (&str, Vec<String>, &str) {
    let line = line.trim_matches(is_space);
    let (keyword, after) = match line.find(is_space) {
        Some(pos) => (&line[..pos], line[pos..].trim_start_matches(is_space)),
        None => (line, ""),
    };
    let (rest, flags) = builder_flags(after);
    (keyword, flags, rest.trim_matches(is_space))
}

/// BuildKit's `extractBuilderFlags`: leading `--` words (quotes removed, `\` escapes the next character)
/// and the rest of the line. A bare `--` ends the flags. Each flag keeps its leading `--`.
pub fn builder_flags(line: &str) -> (&str, Vec<String>) {
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    let mut flags = Vec::new();
    let mut i = 0;
    loop {
        while i < chars.len() && is_space(chars[i].1) {
            i += 1;
        }
        if i + 1 >= chars.len() || chars[i].1 != '-' || chars[i + 1].1 != '-' {
            let at = chars.get(i).map_or(line.len(), |c| c.0);
            return (&line[at..], flags);
        }
        let mut word = String::new();
        let mut blank_ok = false;
        let mut quote: Option<char> = None;
        let mut space_at = None;
        while i < chars.len() {
            let (at, c) = chars[i];
            i += 1;
            match quote {
                None if is_space(c) => {
                    space_at = Some(at);
                    break;
                }
                None if c == '\'' || c == '"' => {
                    quote = Some(c);
                    blank_ok = true;
                }
                Some(q) if c == q => quote = None,
                _ if c == '\\' => {
                    if let Some(&(_, n)) = chars.get(i) {
                        word.push(n);
                        i += 1;
                    }
                }
                _ => word.push(c),
            }
        }
        if word == "--" {
            return (&line[space_at.unwrap_or(line.len())..], flags);
        }
        if blank_ok || !word.is_empty() {
            flags.push(word);
        }
    }
}

/// BuildKit's `parseJSON`: `Ok(None)` when the text is not a JSON array (it then falls back to the shell
/// form or to words), an error when it is an array holding anything but strings.
pub fn json(rest: &str) -> Result<Option<Vec<String>>, LineError> {
    let rest = rest.trim_start_matches(is_space);
    if !rest.starts_with('[') {
        return Ok(None);
    }
    match serde_json::from_str::<Vec<serde_json::Value>>(rest) {
        Err(_) => Ok(None),
        Ok(values) => values
            .into_iter()
            .map(|v| match v {
                serde_json::Value::String(s) => Ok(s),
                _ => Err(LineError::new(
                    "when using JSON array syntax, arrays must be comprised of strings only",
                    "quote every element (`[\"sleep\", \"1\"]`), or write the shell form without brackets",
                )),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
    }
}

/// `parseMaybeJSON`: the exec-form array, or the whole text as one node.
pub fn maybe_json(rest: &str) -> Result<Args, LineError> {
    if rest.is_empty() {
        return Ok(Args::default());
    }
    Ok(match json(rest)? {
        Some(nodes) => Args { nodes, json: true },
        None => Args {
            nodes: vec![rest.to_string()],
            json: false,
        },
    })
}

/// `parseMaybeJSONToList`: the array, or whitespace-separated words.
pub fn maybe_json_list(rest: &str) -> Result<Args, LineError> {
    Ok(match json(rest)? {
        Some(nodes) => Args { nodes, json: true },
        None => Args {
            nodes: whitespace_delimited(rest),
            json: false,
        },
    })
}

/// `parseStringsWhitespaceDelimited`: split at runs of spaces and tabs.
pub fn whitespace_delimited(rest: &str) -> Vec<String> {
    if rest.is_empty() {
        return Vec::new();
    }
    rest.split([' ', '\t', '\u{b}', '\u{c}', '\r'])
        .filter(|w| !w.is_empty())
        .map(String::from)
        .collect()
}

/// `parseNameVal` (ENV, LABEL): `key value` (the old form: key, value, empty separator) or `k=v ...`
/// (key, value, `=` per pair); words keep their quotes.
pub fn name_val(rest: &str, keyword: &str, escape: char) -> Result<Vec<String>, LineError> {
    let words = split_words(rest, escape);
    let Some(first) = words.first() else {
        return Ok(Vec::new());
    };
    if !first.contains('=') {
        let Some((key, value)) = rest.split_once([' ', '\t', '\u{b}', '\u{c}', '\r']) else {
            return Err(LineError::new(
                format!("{keyword} must have two arguments"),
                format!("write `{keyword} name=value` (or the old `{keyword} name value`)"),
            ));
        };
        let value = value.trim_start_matches([' ', '\t', '\u{b}', '\u{c}', '\r']);
        return Ok(vec![key.to_string(), value.to_string(), String::new()]);
    }
    let mut out = Vec::new();
    for word in &words {
        let Some((key, value)) = word.split_once('=') else {
            return Err(LineError::new(
                format!("Syntax error - can't find = in `{word}`. Must be of the form: name=value"),
                "quote values holding spaces: `name=\"a b\"`",
            ));
        };
        out.extend([key.to_string(), value.to_string(), "=".to_string()]);
    }
    Ok(out)
}

/// Splits text into words at unquoted whitespace, keeping quotes and escapes (BuildKit `parseWords`);
/// the expander removes them later. An escape character at the very end is dropped.
pub fn split_words(text: &str, escape: char) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut blank_ok = false;
    let mut quote: Option<char> = None;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            None if is_space(c) => {
                if blank_ok || !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                blank_ok = false;
            }
            None => {
                if c == escape {
                    let Some(n) = chars.next() else {
                        break;
                    };
                    word.push(c);
                    word.push(n);
                    continue;
                }
                if c == '"' || c == '\'' {
                    quote = Some(c);
                    blank_ok = true;
                }
                word.push(c);
            }
            Some(q) => {
                if c == escape && q != '\'' {
                    let Some(n) = chars.next() else {
                        quote = None;
                        continue;
                    };
                    word.push(c);
                    word.push(n);
                    continue;
                }
                if c == q {
                    quote = None;
                }
                word.push(c);
            }
        }
    }
    if blank_ok || !word.is_empty() {
        words.push(word);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_keep_quotes() {
        assert_eq!(
            split_words(r#"a="b c" d 'e f' g\ h"#, '\\'),
            vec![r#"a="b c""#, "d", "'e f'", r"g\ h"]
        );
        assert_eq!(split_words("a\\", '\\'), vec!["a"]);
        assert_eq!(split_words("'' b", '\\'), vec!["''", "b"]);
    }

    #[test]
    fn json_array_or_fallback_or_error() {
        assert_eq!(
            maybe_json(r#"["a", "b"]"#).unwrap(),
            Args {
                nodes: vec!["a".into(), "b".into()],
                json: true
            }
        );
        assert!(maybe_json("[1, 2]").is_err());
        assert!(maybe_json(r#"["a", 1]"#).is_err());
        assert!(maybe_json_list("[true]").is_err());
        assert_eq!(maybe_json("[not json").unwrap().nodes, ["[not json"]);
        // Text after the array: not JSON at all, so the shell form.
        assert!(!maybe_json(r#"["a"] b"#).unwrap().json);
        assert_eq!(maybe_json("").unwrap(), Args::default());
    }

    #[test]
    fn command_split() {
        let (k, f, r) = split_command("  copy  --from=x  --link a b  ");
        assert_eq!(
            (k, f, r),
            ("copy", vec!["--from=x".to_string(), "--link".into()], "a b")
        );
    }
}
