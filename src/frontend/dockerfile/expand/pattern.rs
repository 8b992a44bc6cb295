//! The patterns of `${VAR#p}`, `${VAR%p}` and `${VAR/p/r}` as BuildKit's lexer reads them
//! (`convertShellPatternToRegex`, `trimPrefix`, `trimSuffix`): `*`, `?` and a few escapes, no brackets.

use super::ExpandError;

/// A shell pattern token: a literal character, `?` (one character) or `*` (any run).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tok {
    Lit(char),
    One,
    Any,
}

/// BuildKit's `convertShellPatternToRegex`: `*`, `?`, and `\` escaping `*`, `?` or `\` (dropped before
/// `}` and `/`); any other escape is an error; everything else is literal.
fn pattern(text: &str) -> Result<Vec<Tok>, ExpandError> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' => out.push(Tok::Any),
            '?' => out.push(Tok::One),
            '\\' => match chars.next() {
                Some(n @ ('*' | '?' | '\\' | '}' | '/')) => out.push(Tok::Lit(n)),
                Some(n) => {
                    return Err(ExpandError(format!(
                        "invalid pattern ({text}) in substitution: invalid escape '\\{n}'"
                    )));
                }
                None => out.push(Tok::Lit('\\')),
            },
            c => out.push(Tok::Lit(c)),
        }
    }
    Ok(out)
}

/// Whether `toks` matches all of `s`.
fn matches(toks: &[Tok], s: &[char]) -> bool {
    match toks.split_first() {
        None => s.is_empty(),
        Some((Tok::Any, rest)) => (0..=s.len()).any(|i| matches(rest, &s[i..])),
        Some((Tok::One, rest)) => !s.is_empty() && matches(rest, &s[1..]),
        Some((Tok::Lit(c), rest)) => s.first() == Some(c) && matches(rest, &s[1..]),
    }
}

/// `${v#p}` / `${v##p}` (prefix) and `${v%p}` / `${v%%p}` (suffix).
pub fn trim(
    value: &str,
    pattern_text: &str,
    prefix: bool,
    longest: bool,
) -> Result<String, ExpandError> {
    let toks = pattern(pattern_text)?;
    let chars: Vec<char> = value.chars().collect();
    let n = chars.len();
    let mut cuts: Vec<usize> = (0..=n).collect();
    if prefix == longest {
        cuts.reverse();
    }
    for cut in cuts {
        let (part, keep) = if prefix {
            (&chars[..cut], &chars[cut..])
        } else {
            (&chars[cut..], &chars[..cut])
        };
        if matches(&toks, part) {
            return Ok(keep.iter().collect());
        }
    }
    Ok(value.to_string())
}

/// `${v/p/r}` (the leftmost match, longest) and `${v//p/r}` (every match, left to right).
pub fn replace(
    value: &str,
    pattern_text: &str,
    replacement: &str,
    all: bool,
) -> Result<String, ExpandError> {
    let toks = pattern(pattern_text)?;
    let chars: Vec<char> = value.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    let mut replaced = false;
    // Go's regexp: an empty match right after the previous match is ignored.
    let mut last_end: Option<usize> = None;
    while i <= chars.len() {
        if !replaced || all {
            let found = (i..=chars.len())
                .rev()
                .find(|&end| matches(&toks, &chars[i..end]))
                .filter(|&end| end > i || last_end != Some(i));
            if let Some(end) = found {
                out.push_str(replacement);
                replaced = true;
                last_end = Some(end);
                if end > i {
                    i = end;
                    continue;
                }
            }
        }
        if let Some(c) = chars.get(i) {
            out.push(*c);
        }
        i += 1;
    }
    Ok(out)
}
