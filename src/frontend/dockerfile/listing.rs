//! The parse listing: each parsed instruction as BuildKit's parser shapes it (`frontend/dockerfile/parser`
//! `Node`: flags from `extractBuilderFlags`, arguments as the `Next` chain the per-keyword line parsers of
//! `line_parsers.go` build). `hoist parse` shows it; nothing here prints.

use std::path::Path;

use serde::Serialize;

use super::error::{FrontendError, Located};
use super::parser::{self, Ast, Node};

/// What is wrong with an instruction's arguments, and what to do: message, hint.
type Problem = (String, String);

/// One instruction as BuildKit's parser produces it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Listed {
    /// The keyword as written (original case).
    pub keyword: String,
    /// `--name[=value]` words, quotes removed.
    pub flags: Vec<String>,
    /// The argument nodes (BuildKit's `Next` chain).
    pub args: Vec<String>,
    /// Whether the arguments were a JSON (exec-form) array.
    pub json: bool,
    pub heredocs: Vec<ListedHeredoc>,
    pub start_line: usize,
    pub end_line: usize,
    /// For `ONBUILD`, the instruction it holds.
    pub onbuild: Option<Box<Listed>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ListedHeredoc {
    pub name: String,
    pub content: String,
}

/// The whole file, as `hoist parse --json` writes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Listing {
    pub instructions: Vec<Listed>,
}

/// Parses `text` and lists its instructions; errors name `file:line`.
pub fn list(text: &str, file: &Path) -> Result<Listing, FrontendError> {
    let ast = parser::parse(text, file)?;
    let instructions = ast
        .nodes
        .iter()
        .map(|node| {
            let mut out = listed(&ast, node, &node.written_keyword, &node.after_keyword)?;
            out.heredocs = node
                .heredocs
                .iter()
                .map(|h| ListedHeredoc {
                    name: h.name.clone(),
                    content: h.content.clone(),
                })
                .collect();
            Ok(out)
        })
        .collect::<Result<_, _>>()?;
    Ok(Listing { instructions })
}

fn listed(ast: &Ast, node: &Node, keyword: &str, line: &str) -> Result<Listed, FrontendError> {
    let fail = |(message, hint): Problem| {
        FrontendError::syntax(
            Located::new(&ast.file, node.start_line, &node.original, message).hint(hint),
        )
    };
    let (rest, flags) = parser::builder_flags(line);
    let mut out = Listed {
        keyword: keyword.to_string(),
        flags,
        args: Vec::new(),
        json: false,
        heredocs: Vec::new(),
        start_line: node.start_line,
        end_line: node.end_line,
        onbuild: None,
    };
    let upper = keyword.to_ascii_uppercase();
    match upper.as_str() {
        "ADD" | "COPY" | "VOLUME" => {
            (out.args, out.json) = maybe_json_list(rest).map_err(fail)?;
        }
        "CMD" | "ENTRYPOINT" | "RUN" | "SHELL" => {
            (out.args, out.json) = maybe_json(rest).map_err(fail)?;
        }
        "ENV" | "LABEL" => out.args = name_val(rest, &upper, ast.escape).map_err(fail)?,
        "ARG" => out.args = parser::split_words(rest, ast.escape),
        "EXPOSE" | "FROM" => out.args = whitespace_delimited(rest),
        "HEALTHCHECK" => {
            if let Some(typ) = rest.split_whitespace().next() {
                let (cmd, json) = maybe_json(rest[typ.len()..].trim_start()).map_err(fail)?;
                out.args = std::iter::once(typ.to_string()).chain(cmd).collect();
                out.json = json;
            }
        }
        "ONBUILD" => {
            let rest = rest.trim();
            if rest.is_empty() {
                return Err(fail((
                    "ONBUILD requires at least one argument".into(),
                    "give ONBUILD the instruction to run later: `ONBUILD RUN make`".into(),
                )));
            }
            let (inner_keyword, inner_line) = match rest.find(char::is_whitespace) {
                Some(pos) => (&rest[..pos], rest[pos..].trim_start()),
                None => (rest, ""),
            };
            let inner = listed(ast, node, inner_keyword, inner_line)?;
            out.onbuild = Some(Box::new(inner));
        }
        "MAINTAINER" | "STOPSIGNAL" | "USER" | "WORKDIR" => {
            if !rest.is_empty() {
                out.args = vec![rest.to_string()];
            }
        }
        // BuildKit's `parseIgnore`: an unknown keyword parses, with one empty node; the instruction
        // layer rejects it later.
        _ => out.args = vec![String::new()],
    }
    Ok(out)
}

/// BuildKit's `parseJSON`: `Ok(None)` when the text is not a JSON array at all, an error when it is an
/// array holding something other than strings.
fn json(rest: &str) -> Result<Option<Vec<String>>, Problem> {
    if !rest.trim_start().starts_with('[') {
        return Ok(None);
    }
    match serde_json::from_str::<Vec<serde_json::Value>>(rest) {
        Err(_) => Ok(None),
        Ok(values) => values
            .into_iter()
            .map(|v| match v {
                serde_json::Value::String(s) => Ok(s),
                _ => Err((
                    "when using JSON array syntax, arrays must be comprised of strings only".into(),
                    "quote every element: `[\"sleep\", \"1\"]`".into(),
                )),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
    }
}

/// `parseMaybeJSON`: the exec-form array, or the whole text as one node.
fn maybe_json(rest: &str) -> Result<(Vec<String>, bool), Problem> {
    if rest.is_empty() {
        return Ok((Vec::new(), false));
    }
    Ok(match json(rest)? {
        Some(list) => (list, true),
        None => (vec![rest.to_string()], false),
    })
}

/// `parseMaybeJSONToList`: the array, or whitespace-separated words.
fn maybe_json_list(rest: &str) -> Result<(Vec<String>, bool), Problem> {
    Ok(match json(rest)? {
        Some(list) => (list, true),
        None => (whitespace_delimited(rest), false),
    })
}

fn whitespace_delimited(rest: &str) -> Vec<String> {
    if rest.is_empty() {
        return Vec::new();
    }
    rest.split_whitespace().map(String::from).collect()
}

/// `parseNameVal` (ENV, LABEL): `key value` (old form: key, value, empty separator) or `k=v ...`
/// (key, value, `=` per pair); words keep their quotes.
fn name_val(rest: &str, keyword: &str, escape: char) -> Result<Vec<String>, Problem> {
    let words = parser::split_words(rest, escape);
    let Some(first) = words.first() else {
        return Ok(Vec::new());
    };
    if !first.contains('=') {
        let Some((key, value)) = rest.split_once(char::is_whitespace) else {
            return Err((
                format!("{keyword} must have two arguments"),
                format!("write `{keyword} name=value` (or the old `{keyword} name value`)"),
            ));
        };
        let value = value.trim_start_matches(char::is_whitespace);
        return Ok(vec![key.to_string(), value.to_string(), String::new()]);
    }
    let mut out = Vec::new();
    for word in &words {
        let Some((key, value)) = word.split_once('=') else {
            return Err((
                format!("Syntax error - can't find = in `{word}`. Must be of the form: name=value"),
                "quote values holding spaces: `name=\"a b\"`".into(),
            ));
        };
        out.extend([key.to_string(), value.to_string(), "=".to_string()]);
    }
    Ok(out)
}

#[cfg(test)]
#[path = "listing_tests.rs"]
mod tests;
