//! Dockerfile text → AST, following BuildKit's `frontend/dockerfile/parser` (`parser.go`,
//! `directives.go`): parser directives (`# syntax=`, `# escape=`, `# check=`) only before anything else,
//! line continuations with the escape character (comment and blank lines inside a continuation are
//! skipped; a blank one is remembered for the `NoEmptyContinuation` check), case-insensitive keywords,
//! leading `--flag[=value]` words, each keyword's line parser (`line`: exec/JSON form, words, ENV pairs),
//! and heredocs (`heredoc`) for RUN, COPY and ADD in shell form, also inside ONBUILD.
//! The parser knows no semantics: each node is a keyword, its flags and its argument nodes.

pub mod heredoc;
pub mod line;

use std::path::{Path, PathBuf};

use super::error::{FrontendError, Located};

pub use line::{builder_flags, split_words};

/// A parsed Dockerfile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ast {
    pub file: PathBuf,
    /// Parser directives in order (`syntax`, `escape`, `check`), names lowercased, with their lines.
    pub directives: Vec<Directive>,
    /// The escape character (`\` unless `# escape=` says otherwise).
    pub escape: char,
    pub nodes: Vec<Node>,
}

/// `# name=value` at the top of the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Directive {
    pub name: String,
    pub value: String,
    pub line: usize,
}

impl Ast {
    /// The value of directive `name` (lowercase), if the file has it.
    pub fn directive(&self, name: &str) -> Option<&str> {
        self.directives
            .iter()
            .find(|d| d.name == name)
            .map(|d| d.value.as_str())
    }
}

/// One instruction as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// The keyword, upper-cased (`COPY`).
    pub keyword: String,
    /// The keyword as written in the file (`copy`, `Copy`).
    pub written_keyword: String,
    /// Everything after the keyword, flags included, continuations joined, trimmed: the text BuildKit's
    /// `extractBuilderFlags` and line parsers start from.
    pub after_keyword: String,
    /// Leading `--name[=value]` words, without the `--`.
    pub flags: Vec<String>,
    /// Everything after keyword and flags, continuations joined, trimmed.
    pub rest: String,
    /// The argument nodes the keyword's line parser made (BuildKit's `Next` chain).
    pub args: line::Args,
    /// For ONBUILD: the instruction it holds.
    pub inner: Option<Box<Inner>>,
    /// The instruction's text as written (continuation lines joined with `\n`).
    pub original: String,
    pub start_line: usize,
    pub end_line: usize,
    pub heredocs: Vec<Heredoc>,
    /// A blank line inside the continuation: the line the instruction's text ends on (BuildKit warns
    /// there: `NoEmptyContinuation`).
    pub empty_continuation: Option<usize>,
    /// The comment lines right above the instruction (text after `#`, trimmed), as BuildKit's
    /// `PrevComment`: a blank line or an empty `#` line between them and the instruction clears them.
    pub comments: Vec<String>,
}

/// The instruction an ONBUILD holds, as its line parser read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inner {
    /// As written.
    pub keyword: String,
    /// With their `--`, quotes removed.
    pub flags: Vec<String>,
    pub args: line::Args,
    /// The text after the keyword (flags included).
    pub after_keyword: String,
}

/// A heredoc body following an instruction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Heredoc {
    pub name: String,
    /// The body as written, lines with their newlines (BuildKit's parser keeps leading tabs; `body`
    /// removes them for `<<-`).
    pub content: String,
    /// `<<-`: leading tabs are stripped from each line.
    pub chomp: bool,
    /// Whether variables in the body are expanded (unquoted delimiter).
    pub expand: bool,
}

impl Heredoc {
    /// The body as the instruction uses it (`<<-` tabs removed).
    pub fn body(&self) -> String {
        if self.chomp {
            heredoc::chomp(&self.content)
        } else {
            self.content.clone()
        }
    }
}

impl Node {
    pub fn located(&self, file: &Path, message: impl Into<String>) -> Located {
        Located::new(file, self.start_line, &self.original, message)
    }

    pub fn location(&self, file: &Path) -> crate::plan::Location {
        crate::plan::Location {
            file: file.to_path_buf(),
            line: self.start_line,
            end_line: self.end_line,
            text: self.original.clone(),
        }
    }
}

/// Directive names BuildKit knows; any other `# name=value` ends the directives (it is a comment).
const DIRECTIVES: &[&str] = &["syntax", "escape", "check"];

/// The line without its line ending (BuildKit `trimNewline`).
fn trim_newline(line: &str) -> &str {
    line.trim_end_matches(['\r', '\n'])
}

fn is_comment(line: &str) -> bool {
    trim_newline(line).trim_start().starts_with('#')
}

/// Parses Dockerfile text. `file` is only used in messages.
pub fn parse(text: &str, file: &Path) -> Result<Ast, FrontendError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut ast = Ast {
        file: file.to_path_buf(),
        directives: Vec::new(),
        escape: '\\',
        nodes: Vec::new(),
    };
    // Directives: only at the very top; the first line that is not one ends them.
    let mut i = 0;
    while i < lines.len() {
        let shown = trim_newline(lines[i]);
        let Some((name, value)) = directive(shown) else {
            break;
        };
        let fail = |message: String, hint: &str| {
            Err(FrontendError::syntax(
                Located::new(file, i + 1, shown, message).hint(hint),
            ))
        };
        if ast.directives.iter().any(|d| d.name == name) {
            return fail(
                format!("only one `{name}` parser directive can be used"),
                "remove the repeated directive",
            );
        }
        if name == "escape" {
            ast.escape = match value.as_str() {
                "\\" => '\\',
                "`" => '`',
                _ => {
                    return fail(
                        format!("invalid escape token `{value}` does not match ` or \\"),
                        "the escape directive accepts only `\\` or `` ` ``",
                    );
                }
            };
        }
        ast.directives.push(Directive {
            name,
            value,
            line: i + 1,
        });
        i += 1;
    }
    let mut i = 0;
    let mut comments: Vec<String> = Vec::new();
    while i < lines.len() {
        let first = trim_newline(lines[i]).trim_start();
        if let Some(text) = first.strip_prefix('#') {
            match text.trim() {
                "" => comments.clear(),
                text => comments.push(text.to_string()),
            }
        }
        let first = if is_comment(first) { "" } else { first };
        i += 1;
        let start = i;
        let (mut joined, mut more) = continuation(first, ast.escape);
        if !more && joined.is_empty() {
            if first.is_empty() && !is_comment(lines[i - 1]) {
                comments.clear();
            }
            continue;
        }
        let mut original = vec![trim_newline(lines[start - 1])];
        let mut empty_continuation = false;
        while more && i < lines.len() {
            let raw = lines[i];
            i += 1;
            if is_comment(raw) {
                continue;
            }
            if trim_newline(raw).trim_start().is_empty() {
                empty_continuation = true;
                continue;
            }
            original.push(trim_newline(raw));
            let (part, again) = continuation(trim_newline(raw), ast.escape);
            joined.push_str(&part);
            more = again;
        }
        let fail = |l: Located| FrontendError::syntax(l);
        let (keyword, flags, rest) = line::split_command(&joined);
        let after_keyword = joined
            .trim_matches(line::is_space)
            .get(keyword.len()..)
            .unwrap_or("")
            .trim_matches(line::is_space)
            .to_string();
        let original = original.join("\n");
        let located = |message: String, hint: String| {
            Located::new(file, start, &original, message).hint(hint)
        };
        let (args, inner) = if keyword.eq_ignore_ascii_case("ONBUILD") {
            let (ik, iflags, irest) = line::split_command(rest);
            if ik.is_empty() {
                (line::Args::default(), None)
            } else {
                let iargs = line::args(ik, irest, ast.escape)
                    .map_err(|e| fail(located(e.message, e.hint)))?;
                let after = rest.trim_matches(line::is_space)[ik.len()..]
                    .trim_matches(line::is_space)
                    .to_string();
                let inner = Inner {
                    keyword: ik.to_string(),
                    flags: iflags,
                    args: iargs,
                    after_keyword: after,
                };
                (line::Args::default(), Some(Box::new(inner)))
            }
        } else {
            let args = line::args(keyword, rest, ast.escape)
                .map_err(|e| fail(located(e.message, e.hint)))?;
            (args, None)
        };
        let mut node = Node {
            keyword: keyword.to_ascii_uppercase(),
            written_keyword: keyword.to_string(),
            after_keyword,
            flags: flags
                .into_iter()
                .map(|w| w.strip_prefix("--").map(str::to_string).unwrap_or(w))
                .collect(),
            rest: rest.to_string(),
            args,
            inner,
            original,
            start_line: start,
            end_line: i,
            heredocs: Vec::new(),
            empty_continuation: empty_continuation.then_some(i),
            comments: std::mem::take(&mut comments),
        };
        if can_contain_heredoc(&node) && joined.contains("<<") {
            for marker in heredoc::markers(&joined) {
                let mut content = String::new();
                let mut closed = false;
                while i < lines.len() {
                    let raw = lines[i];
                    i += 1;
                    let candidate = trim_newline(raw);
                    let candidate = if marker.chomp {
                        candidate.trim_start_matches('\t')
                    } else {
                        candidate
                    };
                    if candidate == marker.name {
                        closed = true;
                        break;
                    }
                    content.push_str(raw);
                }
                if !closed {
                    return Err(FrontendError::syntax(
                        node.located(file, format!("unterminated heredoc `{}`", marker.name))
                            .hint(format!(
                                "end the heredoc with a line holding only `{}`",
                                marker.name
                            )),
                    ));
                }
                node.heredocs.push(Heredoc {
                    name: marker.name,
                    content,
                    chomp: marker.chomp,
                    expand: marker.expand,
                });
            }
            node.end_line = i;
        }
        ast.nodes.push(node);
    }
    if ast.nodes.is_empty() {
        return Err(FrontendError::syntax(
            Located::new(
                file,
                lines.len().max(1),
                lines.last().map_or("", |l| trim_newline(l)),
                "file with no instructions",
            )
            .hint("a Dockerfile needs at least a `FROM` instruction"),
        ));
    }
    Ok(ast)
}

/// BuildKit's `canContainHeredoc`: RUN, COPY and ADD in shell form, directly or inside ONBUILD.
fn can_contain_heredoc(node: &Node) -> bool {
    let (keyword, json) = match &node.inner {
        Some(inner) => (inner.keyword.to_ascii_uppercase(), inner.args.json),
        None => (node.keyword.clone(), node.args.json),
    };
    matches!(keyword.as_str(), "RUN" | "COPY" | "ADD") && !json
}

/// BuildKit's continuation rule: the escape character, then only spaces and tabs, at the end of a line
/// continues it — unless the escape character is itself escaped. Returns the line without it, and
/// whether the instruction goes on.
fn continuation(line: &str, escape: char) -> (String, bool) {
    let body = line.trim_end_matches([' ', '\t']);
    match body.strip_suffix(escape) {
        Some(head) if !head.ends_with(escape) => (head.to_string(), true),
        _ => (line.to_string(), false),
    }
}

/// `# name=value` naming a directive BuildKit knows.
fn directive(line: &str) -> Option<(String, String)> {
    let body = line.trim_start().strip_prefix('#')?.trim_start();
    let (name, value) = body.split_once('=')?;
    let name = name.trim_end();
    let value = value.trim();
    if value.is_empty()
        || !name.starts_with(|c: char| c.is_ascii_alphabetic())
        || !name.chars().all(|c| c.is_ascii_alphanumeric())
    {
        return None;
    }
    let name = name.to_ascii_lowercase();
    DIRECTIVES
        .contains(&name.as_str())
        .then(|| (name, value.to_string()))
}

#[cfg(test)]
mod tests;
