//! Word expansion as BuildKit's shell lexer does it (`frontend/dockerfile/shell/lex.go`): `$VAR`,
//! `${VAR}`, the modifiers `:-` `-` `:+` `+` `:?` `?` `#` `##` `%` `%%` `/` `//`, single and double
//! quotes, and the escape character. Quotes are removed; an unset variable expands to nothing.
//! Applied only where the Dockerfile reference says variables are expanded.

/// A failed expansion; the caller adds the location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpandError(pub String);

/// Looks a variable up (ENV first, then build args in scope).
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Expands one word: variables replaced, quotes and escapes removed.
pub fn word(text: &str, escape: char, lookup: Lookup<'_>) -> Result<String, ExpandError> {
    let chars: Vec<char> = text.chars().collect();
    let mut lexer = Lexer {
        chars,
        pos: 0,
        escape,
        lookup,
    };
    lexer.process(None)
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
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        self.pos += 1;
        c
    }

    /// Processes until `stop` (consumed) or the end.
    fn process(&mut self, stop: Option<char>) -> Result<String, ExpandError> {
        let mut out = String::new();
        while let Some(c) = self.peek() {
            if Some(c) == stop {
                self.pos += 1;
                return Ok(out);
            }
            self.pos += 1;
            match c {
                '\'' => out.push_str(&self.single_quoted()?),
                '"' => out.push_str(&self.double_quoted()?),
                '$' => out.push_str(&self.dollar()?),
                c if c == self.escape => match self.next() {
                    Some(n) => out.push(n),
                    None => out.push(c),
                },
                c => out.push(c),
            }
        }
        if let Some(stop) = stop {
            return Err(ExpandError(format!("missing a closing `{stop}`")));
        }
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
                        "unexpected end of text: missing a closing `'`".into(),
                    ));
                }
            }
        }
    }

    fn double_quoted(&mut self) -> Result<String, ExpandError> {
        let mut out = String::new();
        loop {
            match self.next() {
                Some('"') => return Ok(out),
                Some('$') => out.push_str(&self.dollar()?),
                Some(c) if c == self.escape => match self.next() {
                    Some(n) if n == '"' || n == '$' || n == self.escape => out.push(n),
                    Some(n) => {
                        out.push(c);
                        out.push(n);
                    }
                    None => {
                        return Err(ExpandError(
                            "unexpected end of text: missing a closing `\"`".into(),
                        ));
                    }
                },
                Some(c) => out.push(c),
                None => {
                    return Err(ExpandError(
                        "unexpected end of text: missing a closing `\"`".into(),
                    ));
                }
            }
        }
    }

    fn name(&mut self) -> String {
        let mut name = String::new();
        // Positional parameters are one digit (`$1x` is `$1` then `x`).
        if let Some(c) = self.peek().filter(char::is_ascii_digit) {
            self.pos += 1;
            return c.to_string();
        }
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == '_' {
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
            return Ok((self.lookup)(&name).unwrap_or_default());
        }
        self.pos += 1;
        let name = self.name();
        if name.is_empty() {
            return Err(ExpandError(
                "bad substitution: `${` must be followed by a variable name".into(),
            ));
        }
        let value = (self.lookup)(&name);
        let Some(op) = self.next() else {
            return Err(ExpandError(format!(
                "missing a closing `}}` after `${{{name}`"
            )));
        };
        match op {
            '}' => Ok(value.unwrap_or_default()),
            ':' => {
                let op2 = self.next().unwrap_or('}');
                let word = self.process(Some('}'))?;
                let set = value.as_deref().is_some_and(|v| !v.is_empty());
                modifier(&name, op2, set, value, word)
            }
            '-' | '+' | '?' => {
                let word = self.process(Some('}'))?;
                modifier(&name, op, value.is_some(), value, word)
            }
            '#' | '%' => {
                let longest = self.peek() == Some(op);
                if longest {
                    self.pos += 1;
                }
                let pattern = self.process(Some('}'))?;
                Ok(trim(
                    &value.unwrap_or_default(),
                    &pattern,
                    op == '#',
                    longest,
                ))
            }
            '/' => {
                let all = self.peek() == Some('/');
                if all {
                    self.pos += 1;
                }
                let pattern = self.process(Some('/'))?;
                let replacement = self.process(Some('}'))?;
                Ok(replace(
                    &value.unwrap_or_default(),
                    &pattern,
                    &replacement,
                    all,
                ))
            }
            other => Err(ExpandError(format!(
                "unsupported modifier `{other}` in `${{{name}`"
            ))),
        }
    }
}

fn modifier(
    name: &str,
    op: char,
    set: bool,
    value: Option<String>,
    word: String,
) -> Result<String, ExpandError> {
    match op {
        '-' => Ok(if set { value.unwrap_or_default() } else { word }),
        '+' => Ok(if set { word } else { String::new() }),
        '?' if set => Ok(value.unwrap_or_default()),
        '?' if word.is_empty() => Err(ExpandError(format!("`{name}` is not set"))),
        '?' => Err(ExpandError(format!("`{name}`: {word}"))),
        other => Err(ExpandError(format!(
            "unsupported modifier `:{other}` in `${{{name}`"
        ))),
    }
}

fn glob(pattern: &str) -> Option<glob::Pattern> {
    glob::Pattern::new(pattern).ok()
}

/// `${v#p}` / `${v##p}` (prefix) and `${v%p}` / `${v%%p}` (suffix).
fn trim(value: &str, pattern: &str, prefix: bool, longest: bool) -> String {
    let Some(pat) = glob(pattern) else {
        return value.to_string();
    };
    let cuts: Vec<usize> = value
        .char_indices()
        .map(|(i, _)| i)
        .chain([value.len()])
        .collect();
    let mut candidates: Vec<usize> = cuts;
    if prefix == longest {
        candidates.reverse();
    }
    for cut in candidates {
        let (part, keep) = if prefix {
            (&value[..cut], &value[cut..])
        } else {
            (&value[cut..], &value[..cut])
        };
        if pat.matches(part) {
            return keep.to_string();
        }
    }
    value.to_string()
}

/// `${v/p/r}` (first match, longest) and `${v//p/r}` (every match).
fn replace(value: &str, pattern: &str, replacement: &str, all: bool) -> String {
    let Some(pat) = glob(pattern) else {
        return value.to_string();
    };
    if pattern.is_empty() {
        return value.to_string();
    }
    let mut out = String::new();
    let mut rest = value;
    'outer: while !rest.is_empty() {
        let ends: Vec<usize> = rest
            .char_indices()
            .map(|(i, _)| i)
            .skip(1)
            .chain([rest.len()])
            .collect();
        for &end in ends.iter().rev() {
            if pat.matches(&rest[..end]) {
                out.push_str(replacement);
                rest = &rest[end..];
                if !all {
                    break 'outer;
                }
                continue 'outer;
            }
        }
        let c = rest.chars().next().unwrap_or_default();
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(text: &str) -> Result<String, ExpandError> {
        let lookup = |k: &str| match k {
            "A" => Some("apple".to_string()),
            "EMPTY" => Some(String::new()),
            "P" => Some("/usr/local/bin/tool.tar.gz".to_string()),
            _ => None,
        };
        word(text, '\\', &lookup)
    }

    #[test]
    fn expansion_table() {
        let cases = [
            ("$A", "apple"),
            ("${A}", "apple"),
            ("x${A}y", "xappley"),
            ("$UNSET", ""),
            ("${UNSET:-def}", "def"),
            ("${EMPTY:-def}", "def"),
            ("${EMPTY-def}", ""),
            ("${UNSET-def}", "def"),
            ("${A:-def}", "apple"),
            ("${A:+alt}", "alt"),
            ("${EMPTY:+alt}", ""),
            ("${EMPTY+alt}", "alt"),
            ("${UNSET+alt}", ""),
            ("${P#*/}", "usr/local/bin/tool.tar.gz"),
            ("${P##*/}", "tool.tar.gz"),
            ("${P%.*}", "/usr/local/bin/tool.tar"),
            ("${P%%.*}", "/usr/local/bin/tool"),
            ("${A/p/P}", "aPple"),
            ("${A//p/P}", "aPPle"),
            ("${UNSET:-$A}", "apple"),
            ("'$A'", "$A"),
            ("\"$A b\"", "apple b"),
            ("\\$A", "$A"),
            ("\"\\$A\"", "$A"),
            ("\"a\\b\"", "a\\b"),
            ("a$", "a$"),
            ("$1x", "x"),
            ("it's", ""),
        ];
        for (input, want) in cases {
            if input == "it's" {
                assert!(ex(input).is_err());
                continue;
            }
            assert_eq!(ex(input).unwrap(), want, "input {input}");
        }
    }

    #[test]
    fn required_variables_fail_with_message() {
        assert_eq!(ex("${UNSET:?need it}").unwrap_err().0, "`UNSET`: need it");
        assert_eq!(ex("${EMPTY:?}").unwrap_err().0, "`EMPTY` is not set");
        assert_eq!(ex("${EMPTY?x}").unwrap(), "");
        assert_eq!(ex("${A:?x}").unwrap(), "apple");
    }

    #[test]
    fn unterminated_braces_fail() {
        assert!(ex("${A").is_err());
        assert!(ex("${A:-x").is_err());
        assert!(ex("${}").is_err());
    }

    #[test]
    fn backtick_escape() {
        let lookup = |_: &str| Some("v".to_string());
        assert_eq!(word("`$X$X", '`', &lookup).unwrap(), "$Xv");
        assert_eq!(word("C:\\dir", '`', &lookup).unwrap(), "C:\\dir");
    }
}
