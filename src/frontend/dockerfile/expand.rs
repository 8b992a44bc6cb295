//! Word expansion as BuildKit's shell lexer does it (`frontend/dockerfile/shell/lex.go`): `$VAR`,
//! `${VAR}`, the modifiers `:-` `-` `:+` `+` `:?` `?` `#` `##` `%` `%%` `/` `//`, single and double
//! quotes, and the escape character. Quotes are removed; an unset variable expands to nothing.
//! Patterns know `*` and `?` (no bracket expressions); positional names are all their digits (`$12`);
//! special parameters (`$@ $* $# $? $- $$ $! $0`) are variables that are never set.
//! Applied only where the Dockerfile reference says variables are expanded.

use std::collections::BTreeSet;

mod pattern;

use pattern::{replace, trim};

/// A failed expansion; the caller adds the location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpandError(pub String);

/// Looks a variable up (ENV first, then build args in scope).
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Expands one word: variables replaced, quotes and escapes removed.
pub fn word(text: &str, escape: char, lookup: Lookup<'_>) -> Result<String, ExpandError> {
    word_with_unmatched(text, escape, lookup).map(|(w, _)| w)
}

/// Expands one word and names the variables it referred to that are not set (BuildKit's
/// `ProcessWord` unmatched set, which the `UndefinedVar` check reads).
pub fn word_with_unmatched(
    text: &str,
    escape: char,
    lookup: Lookup<'_>,
) -> Result<(String, BTreeSet<String>), ExpandError> {
    let mut lexer = Lexer::new(text, escape, lookup, true);
    let out = lexer.process(None)?;
    Ok((out, lexer.unmatched))
}

/// Expands variables only, leaving quotes as they are (BuildKit's `SkipProcessQuotes` lexer with `\` as
/// the escape, used for the bodies of COPY/ADD heredocs).
pub fn raw(text: &str, lookup: Lookup<'_>) -> Result<(String, BTreeSet<String>), ExpandError> {
    let mut lexer = Lexer::new(text, '\\', lookup, false);
    let out = lexer.process(None)?;
    Ok((out, lexer.unmatched))
}

/// Expands one word and names the variables it found set and those it found unset (BuildKit's
/// `ProcessWordWithMatches`).
pub fn word_with_matches(
    text: &str,
    escape: char,
    lookup: Lookup<'_>,
) -> Result<(String, BTreeSet<String>, BTreeSet<String>), ExpandError> {
    let mut lexer = Lexer::new(text, escape, lookup, true);
    let out = lexer.process(None)?;
    Ok((out, lexer.matched, lexer.unmatched))
}

/// Expands `text` and splits the result into words as BuildKit's `ProcessWords` does: at unquoted blanks
/// written in the text or produced by a variable; quoted and escaped blanks stay in their word.
pub fn fields(text: &str, escape: char, lookup: Lookup<'_>) -> Result<Vec<String>, ExpandError> {
    let mut lexer = Lexer::new(text, escape, lookup, true);
    lexer.fields = Some(Fields::default());
    lexer.process(None)?;
    Ok(lexer.fields.take().map(Fields::finish).unwrap_or_default())
}

/// Words being split (BuildKit's `wordsStruct`).
#[derive(Default)]
struct Fields {
    words: Vec<String>,
    word: String,
}

impl Fields {
    /// A character that splits words when it is a blank.
    fn split(&mut self, c: char) {
        if c.is_whitespace() {
            if !self.word.is_empty() {
                self.words.push(std::mem::take(&mut self.word));
            }
        } else {
            self.word.push(c);
        }
    }

    fn finish(mut self) -> Vec<String> {
        if !self.word.is_empty() {
            self.words.push(self.word);
        }
        self.words
    }
}

/// Expands every word.
pub fn words(
    items: &[String],
    escape: char,
    lookup: Lookup<'_>,
) -> Result<Vec<String>, ExpandError> {
    items.iter().map(|w| word(w, escape, lookup)).collect()
}

struct Lexer<'a> {
    chars: Vec<char>,
    pos: usize,
    escape: char,
    lookup: Lookup<'a>,
    quotes: bool,
    unmatched: BTreeSet<String>,
    matched: BTreeSet<String>,
    /// Top-level word splitting, for [`fields`].
    fields: Option<Fields>,
}

fn is_special(c: char) -> bool {
    matches!(c, '@' | '*' | '#' | '?' | '-' | '$' | '!' | '0')
}

impl<'a> Lexer<'a> {
    fn new(text: &str, escape: char, lookup: Lookup<'a>, quotes: bool) -> Lexer<'a> {
        Lexer {
            chars: text.chars().collect(),
            pos: 0,
            escape,
            lookup,
            quotes,
            unmatched: BTreeSet::new(),
            matched: BTreeSet::new(),
            fields: None,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        self.pos += 1;
        c
    }

    fn get(&mut self, name: &str) -> Option<String> {
        let value = (self.lookup)(name);
        match value {
            None => self.unmatched.insert(name.to_string()),
            Some(_) => self.matched.insert(name.to_string()),
        };
        value
    }

    /// Processes until `stop` (consumed) or the end. `raw_escapes` keeps the escape character (patterns).
    fn process(&mut self, stop: Option<char>) -> Result<String, ExpandError> {
        self.process_with(stop, false)
    }

    fn process_with(
        &mut self,
        stop: Option<char>,
        raw_escapes: bool,
    ) -> Result<String, ExpandError> {
        // Only the outermost level splits words; `${...}` words are processed on their own.
        let mut fields = if stop.is_none() {
            self.fields.take()
        } else {
            None
        };
        let mut out = String::new();
        while let Some(c) = self.peek() {
            if Some(c) == stop {
                self.pos += 1;
                return Ok(out);
            }
            self.pos += 1;
            match c {
                '\'' | '"' if self.quotes => {
                    let quoted = if c == '\'' {
                        self.single_quoted()?
                    } else {
                        self.double_quoted()?
                    };
                    if let Some(f) = fields.as_mut() {
                        f.word.push_str(&quoted);
                    }
                    out.push_str(&quoted);
                }
                '$' => {
                    let value = self.dollar()?;
                    if let Some(f) = fields.as_mut() {
                        value.chars().for_each(|v| f.split(v));
                    }
                    out.push_str(&value);
                }
                c if c == self.escape => {
                    if raw_escapes {
                        out.push(c);
                    }
                    match self.next() {
                        Some(n) => {
                            if let Some(f) = fields.as_mut() {
                                f.word.push(n);
                            }
                            out.push(n);
                        }
                        None => break,
                    }
                }
                c => {
                    if let Some(f) = fields.as_mut() {
                        f.split(c);
                    }
                    out.push(c);
                }
            }
        }
        if let Some(stop) = stop {
            return Err(ExpandError(format!(
                "unexpected end of statement while looking for matching `{stop}`"
            )));
        }
        self.fields = fields;
        Ok(out)
    }

    fn single_quoted(&mut self) -> Result<String, ExpandError> {
        let mut out = String::new();
        loop {
            match self.next() {
                Some('\'') => return Ok(out),
                Some(c) => out.push(c),
                None => {
                    return Err(ExpandError(
                        "unexpected end of statement while looking for matching single-quote"
                            .into(),
                    ));
                }
            }
        }
    }

    fn double_quoted(&mut self) -> Result<String, ExpandError> {
        let unterminated = || {
            ExpandError(
                "unexpected end of statement while looking for matching double-quote".into(),
            )
        };
        let mut out = String::new();
        loop {
            match self.next() {
                Some('"') => return Ok(out),
                Some('$') => out.push_str(&self.dollar()?),
                Some(c) if c == self.escape => match self.peek() {
                    None => return Err(unterminated()),
                    Some(n) if n == '"' || n == '$' || n == self.escape => {
                        self.pos += 1;
                        out.push(n);
                    }
                    Some(_) => out.push(c),
                },
                Some(c) => out.push(c),
                None => return Err(unterminated()),
            }
        }
    }

    fn name(&mut self) -> String {
        let mut name = String::new();
        if self.peek().is_some_and(|c| c.is_ascii_digit()) {
            while let Some(c) = self.peek().filter(char::is_ascii_digit) {
                name.push(c);
                self.pos += 1;
            }
            return name;
        }
        if let Some(c) = self.peek().filter(|c| is_special(*c)) {
            self.pos += 1;
            return c.to_string();
        }
        while let Some(c) = self.peek() {
            if c.is_alphanumeric() || c == '_' {
                name.push(c);
                self.pos += 1;
            } else {
                break;
            }
        }
        name
    }

    fn dollar(&mut self) -> Result<String, ExpandError> {
        if self.peek() != Some('{') {
            let name = self.name();
            if name.is_empty() {
                return Ok("$".into());
            }
            return Ok(self.get(&name).unwrap_or_default());
        }
        self.pos += 1;
        match self.peek() {
            None => return Err(ExpandError("syntax error: missing '}'".into())),
            Some('{' | '}' | ':') => {
                return Err(ExpandError("syntax error: bad substitution".into()));
            }
            Some(_) => {}
        }
        let name = self.name();
        let Some(op) = self.next() else {
            return Err(ExpandError("syntax error: missing '}'".into()));
        };
        match op {
            '}' => Ok(self.get(&name).unwrap_or_default()),
            ':' | '+' | '-' | '?' | '#' | '%' => {
                let colon = op == ':';
                let op = if colon {
                    self.next().unwrap_or('}')
                } else {
                    op
                };
                let shown = if colon {
                    format!(":{op}")
                } else {
                    op.to_string()
                };
                if colon && matches!(op, '#' | '%') {
                    return Err(ExpandError(format!(
                        "unsupported modifier ({shown}) in substitution"
                    )));
                }
                let word = self
                    .process_with(Some('}'), matches!(op, '#' | '%'))
                    .map_err(|_| ExpandError("syntax error: missing '}'".into()))?;
                let value = self.get(&name);
                let unset = value.is_none() || (colon && value.as_deref() == Some(""));
                match op {
                    '-' => Ok(if unset {
                        word
                    } else {
                        value.unwrap_or_default()
                    }),
                    '+' => Ok(if unset { String::new() } else { word }),
                    '?' if value.is_none() => Err(ExpandError(format!(
                        "{name}: {}",
                        if word.is_empty() {
                            "is not allowed to be unset"
                        } else {
                            &word
                        }
                    ))),
                    '?' if unset => Err(ExpandError(format!(
                        "{name}: {}",
                        if word.is_empty() {
                            "is not allowed to be empty"
                        } else {
                            &word
                        }
                    ))),
                    '?' => Ok(value.unwrap_or_default()),
                    '#' | '%' => {
                        let (longest, pattern) = match word.strip_prefix(op) {
                            Some(p) => (true, p.to_string()),
                            None => (false, word),
                        };
                        let value = value.unwrap_or_default();
                        trim(&value, &pattern, op == '#', longest)
                    }
                    _ => Err(ExpandError(format!(
                        "unsupported modifier ({shown}) in substitution"
                    ))),
                }
            }
            '/' => {
                let all = self.peek() == Some('/');
                if all {
                    self.pos += 1;
                }
                let pattern = self
                    .process_with(Some('/'), true)
                    .map_err(|_| ExpandError("syntax error: missing '/' in ${}".into()))?;
                let replacement = self
                    .process_with(Some('}'), true)
                    .map_err(|_| ExpandError("syntax error: missing '}'".into()))?;
                let value = self.get(&name).unwrap_or_default();
                replace(&value, &pattern, &replacement, all)
            }
            other => Err(ExpandError(format!(
                "unsupported modifier ({other}) in substitution"
            ))),
        }
    }
}

#[cfg(test)]
mod tests;
