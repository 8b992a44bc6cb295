//! Dockerfile text → AST, following BuildKit's `frontend/dockerfile/parser`: parser directives
//! (`# syntax=`, `# escape=`) before anything else, line continuations with the escape character
//! (comments and blank lines inside a continuation are skipped), case-insensitive keywords, leading
//! `--flag[=value]` words, and heredocs (`<<EOF`, `<<-EOF`, `<<"EOF"`) for RUN, COPY and ADD.
//! The parser knows no semantics: each node is a keyword, its flags and the rest of its line.

use std::path::{Path, PathBuf};

use super::error::{FrontendError, Located};

/// A parsed Dockerfile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ast {
    pub file: PathBuf,
    /// Parser directives in order (`syntax`, `escape`, `check`, ...), names lowercased.
    pub directives: Vec<(String, String)>,
    /// The escape character (`\` unless `# escape=` says otherwise).
    pub escape: char,
    pub nodes: Vec<Node>,
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
    /// The instruction's text as written (continuation lines joined with `\n`).
    pub original: String,
    pub start_line: usize,
    pub end_line: usize,
    pub heredocs: Vec<Heredoc>,
}

/// A heredoc body following an instruction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Heredoc {
    pub name: String,
    pub content: String,
    /// Whether variables in the body are expanded (unquoted delimiter).
    pub expand: bool,
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

const HEREDOC_KEYWORDS: &[&str] = &["RUN", "COPY", "ADD"];

/// Parses Dockerfile text. `file` is only used in messages.
pub fn parse(text: &str, file: &Path) -> Result<Ast, FrontendError> {
    let lines: Vec<&str> = text.lines().collect();
    let mut ast = Ast {
        file: file.to_path_buf(),
        directives: Vec::new(),
        escape: '\\',
        nodes: Vec::new(),
    };
    let mut i = 0;
    // Directives: only at the very top, stop at the first line that is not one.
    while i < lines.len() {
        let Some((name, value)) = directive(lines[i]) else {
            break;
        };
        if ast.directives.iter().any(|(n, _)| *n == name) {
            return Err(FrontendError::syntax(
                Located::new(
                    file,
                    i + 1,
                    lines[i],
                    format!("only one `{name}` parser directive can be used"),
                )
                .hint("remove the repeated directive"),
            ));
        }
        if name == "escape" {
            ast.escape = match value.as_str() {
                "\\" => '\\',
                "`" => '`',
                _ => {
                    return Err(FrontendError::syntax(
                        Located::new(
                            file,
                            i + 1,
                            lines[i],
                            format!("invalid escape token `{value}`"),
                        )
                        .hint("the escape directive accepts only `\\` or `` ` ``"),
                    ));
                }
            };
        }
        ast.directives.push((name, value));
        i += 1;
    }
    let escape = ast.escape;
    while i < lines.len() {
        let trimmed = lines[i].trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            i += 1;
            continue;
        }
        let start = i;
        let mut joined = String::new();
        let mut original = vec![lines[i]];
        let mut current = trimmed.trim_end();
        loop {
            match current.strip_suffix(escape) {
                Some(head) => {
                    joined.push_str(head);
                    // Continuation: skip comment and blank lines.
                    i += 1;
                    while i < lines.len() {
                        let t = lines[i].trim_start();
                        if t.is_empty() || t.starts_with('#') {
                            i += 1;
                        } else {
                            break;
                        }
                    }
                    if i >= lines.len() {
                        break;
                    }
                    original.push(lines[i]);
                    current = lines[i].trim_end();
                }
                None => {
                    joined.push_str(current);
                    break;
                }
            }
        }
        let end = i.min(lines.len() - 1);
        i += 1;
        let mut node = split_node(&joined, start + 1, end + 1, original.join("\n"));
        if HEREDOC_KEYWORDS.contains(&node.keyword.as_str()) {
            for (name, strip_tabs, expand) in heredoc_markers(&node.rest) {
                let mut content = String::new();
                let mut closed = false;
                while i < lines.len() {
                    let line = lines[i];
                    i += 1;
                    let body = if strip_tabs {
                        line.trim_start_matches('\t')
                    } else {
                        line
                    };
                    if body == name {
                        closed = true;
                        break;
                    }
                    content.push_str(body);
                    content.push('\n');
                }
                if !closed {
                    return Err(FrontendError::syntax(
                        node.located(file, format!("unterminated heredoc `{name}`"))
                            .hint(format!("end the heredoc with a line holding only `{name}`")),
                    ));
                }
                node.end_line = i;
                node.heredocs.push(Heredoc {
                    name,
                    content,
                    expand,
                });
            }
        }
        ast.nodes.push(node);
    }
    if ast.nodes.is_empty() {
        return Err(FrontendError::syntax(
            Located::new(
                file,
                1,
                lines.first().copied().unwrap_or(""),
                "file with no instructions",
            )
            .hint("a Dockerfile needs at least a `FROM` instruction"),
        ));
    }
    Ok(ast)
}

/// `# name=value` at the top of the file.
fn directive(line: &str) -> Option<(String, String)> {
    let body = line.trim().strip_prefix('#')?.trim_start();
    let (name, value) = body.split_once('=')?;
    let name = name.trim();
    if name.is_empty()
        || !name.starts_with(|c: char| c.is_ascii_alphabetic())
        || !name.chars().all(|c| c.is_ascii_alphanumeric())
    {
        return None;
    }
    Some((name.to_ascii_lowercase(), value.trim().to_string()))
}

fn split_node(joined: &str, start: usize, end: usize, original: String) -> Node {
    let joined = joined.trim();
    let (keyword, rest) = match joined.find(char::is_whitespace) {
        Some(pos) => (&joined[..pos], joined[pos..].trim_start()),
        None => (joined, ""),
    };
    let after_keyword = rest.to_string();
    let (rest, words) = builder_flags(rest);
    let flags = words
        .into_iter()
        .map(|w| w.strip_prefix("--").map(str::to_string).unwrap_or(w))
        .collect();
    Node {
        keyword: keyword.to_ascii_uppercase(),
        written_keyword: keyword.to_string(),
        after_keyword,
        flags,
        rest: rest.trim().to_string(),
        original,
        start_line: start,
        end_line: end,
        heredocs: Vec::new(),
    }
}

/// BuildKit's `extractBuilderFlags`: leading `--` words (quotes removed, `\` escapes the next character)
/// and the rest of the line. A bare `--` ends the flags. Each flag keeps its leading `--`.
pub fn builder_flags(line: &str) -> (&str, Vec<String>) {
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    let mut flags = Vec::new();
    let mut i = 0;
    loop {
        while i < chars.len() && chars[i].1.is_whitespace() {
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
                None if c.is_whitespace() => {
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

/// Heredoc markers in a line: (delimiter, strip leading tabs, expand variables).
pub fn heredoc_markers(rest: &str) -> Vec<(String, bool, bool)> {
    let mut out = Vec::new();
    let mut s = rest;
    while let Some(pos) = s.find("<<") {
        s = &s[pos + 2..];
        let strip = s.starts_with('-');
        if strip {
            s = &s[1..];
        }
        let (quote, body) = match s.chars().next() {
            Some(q @ ('"' | '\'')) => (Some(q), &s[1..]),
            _ => (None, s),
        };
        let len = body
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(body.len());
        if len == 0 {
            continue;
        }
        let name = &body[..len];
        let after = &body[len..];
        match quote {
            Some(q) if !after.starts_with(q) => continue,
            Some(_) => s = &after[1..],
            None => s = after,
        }
        out.push((name.to_string(), strip, quote.is_none()));
    }
    out
}

/// Splits text into words at unquoted whitespace, keeping quotes and escapes (BuildKit `parseWords`);
/// the expander removes them later.
pub fn split_words(text: &str, escape: char) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match quote {
            None if c.is_whitespace() => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            None => {
                word.push(c);
                if c == escape {
                    if let Some(n) = chars.next() {
                        word.push(n);
                    }
                } else if c == '"' || c == '\'' {
                    quote = Some(c);
                }
            }
            Some(q) => {
                word.push(c);
                if c == escape && q == '"' {
                    if let Some(n) = chars.next() {
                        word.push(n);
                    }
                } else if c == q {
                    quote = None;
                }
            }
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// A JSON array of strings (exec form), or `None` when `rest` is not one (BuildKit then falls back to
/// the shell form).
pub fn json_array(rest: &str) -> Option<Vec<String>> {
    if !rest.starts_with('[') {
        return None;
    }
    serde_json::from_str::<Vec<String>>(rest).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Ast {
        parse(text, Path::new("Dockerfile")).unwrap()
    }

    #[test]
    fn keywords_are_case_insensitive_and_lines_kept() {
        let ast = p("from alpine\n\nrun echo hi\n");
        assert_eq!(ast.nodes[0].keyword, "FROM");
        assert_eq!(ast.nodes[1].keyword, "RUN");
        assert_eq!(ast.nodes[1].rest, "echo hi");
        assert_eq!((ast.nodes[1].start_line, ast.nodes[1].end_line), (3, 3));
    }

    #[test]
    fn continuation_skips_comments_and_blank_lines() {
        let ast = p("FROM a\nRUN echo a \\\n# comment\n\n  && echo b\nCMD x\n");
        assert_eq!(ast.nodes[1].rest, "echo a   && echo b");
        assert_eq!((ast.nodes[1].start_line, ast.nodes[1].end_line), (2, 5));
        assert_eq!(ast.nodes[2].start_line, 6);
    }

    #[test]
    fn directives_only_at_top() {
        let ast = p("# syntax=docker/dockerfile:1\n# escape=`\nFROM a\nRUN a `\n b\n");
        assert_eq!(ast.escape, '`');
        assert_eq!(
            ast.directives[0],
            ("syntax".into(), "docker/dockerfile:1".into())
        );
        assert_eq!(ast.nodes[1].rest, "a  b");
        let ast = p("FROM a\n# escape=`\nRUN a \\\n b\n");
        assert_eq!(ast.escape, '\\');
        assert_eq!(ast.nodes.len(), 2);
        let ast = p("# comment\n# escape=`\nFROM a\n");
        assert_eq!(ast.escape, '\\');
    }

    #[test]
    fn bad_escape_and_duplicate_directive_fail() {
        assert!(parse("# escape=x\nFROM a", Path::new("D")).is_err());
        assert!(parse("# syntax=a\n# syntax=b\nFROM a", Path::new("D")).is_err());
    }

    #[test]
    fn empty_file_is_an_error() {
        let e = parse("# only a comment\n\n", Path::new("Dockerfile")).unwrap_err();
        assert!(e.to_string().contains("file with no instructions"), "{e}");
        assert!(parse("", Path::new("Dockerfile")).is_err());
    }

    #[test]
    fn flags_are_extracted() {
        let ast = p("FROM a\nCOPY --from=build --link  src dst\n");
        assert_eq!(ast.nodes[1].flags, vec!["from=build", "link"]);
        assert_eq!(ast.nodes[1].rest, "src dst");
        // BuildKit's `extractBuilderFlags`: quotes removed, quoted spaces kept, `--` ends the flags.
        let ast = p("FROM a\nRUN --mount=\"type=bind,target=/a b\" --network='none' -- --x y\n");
        assert_eq!(
            ast.nodes[1].flags,
            vec!["mount=type=bind,target=/a b", "network=none"]
        );
        assert_eq!(ast.nodes[1].rest, "--x y");
    }

    #[test]
    fn heredocs_are_read() {
        let ast = p("FROM a\nRUN <<EOF\necho hi\nEOF\nCOPY <<-\"X\" /f\n\tline $A\n\tX\nCMD y\n");
        assert_eq!(ast.nodes[1].heredocs[0].content, "echo hi\n");
        assert_eq!(ast.nodes[1].end_line, 4);
        let h = &ast.nodes[2].heredocs[0];
        assert_eq!(
            (h.name.as_str(), h.content.as_str(), h.expand),
            ("X", "line $A\n", false)
        );
        assert_eq!(ast.nodes[3].keyword, "CMD");
        assert!(parse("FROM a\nRUN <<EOF\necho", Path::new("D")).is_err());
    }

    #[test]
    fn words_keep_quotes() {
        assert_eq!(
            split_words(r#"a="b c" d 'e f' g\ h"#, '\\'),
            vec![r#"a="b c""#, "d", "'e f'", r"g\ h"]
        );
    }

    #[test]
    fn json_array_or_shell_fallback() {
        assert_eq!(
            json_array(r#"["a", "b"]"#),
            Some(vec!["a".into(), "b".into()])
        );
        assert_eq!(json_array(r#"[1, 2]"#), None);
        assert_eq!(json_array("[not json"), None);
        assert_eq!(json_array("echo"), None);
    }
}
