//! Heredoc markers as BuildKit finds them (`parser.go` `heredocsFromLine`, `ParseHeredoc`): the line is
//! split into shell words with quotes and escapes kept; every word that is `[N]<<[-]NAME` opens a
//! heredoc. The name is the word without its quotes; a quoted name (any part of it) switches variable
//! expansion off; `<<-` strips leading tabs from the body and the terminator.

/// A heredoc opened on an instruction line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Marker {
    pub name: String,
    /// `<<-`: leading tabs are removed from every line of the body (and the terminator may have them).
    pub chomp: bool,
    /// No quotes in the name: variables in the body are expanded (COPY/ADD).
    pub expand: bool,
}

/// The heredocs `line` opens, in order.
pub fn markers(line: &str) -> Vec<Marker> {
    raw_words(line).iter().filter_map(|w| parse(w)).collect()
}

/// One word as a heredoc marker (`<<EOF`, `<<-'EOF'`, `2<<EOF`), or `None`.
pub fn parse(word: &str) -> Option<Marker> {
    let after_digits = word.trim_start_matches(|c: char| c.is_ascii_digit());
    let rest = after_digits.strip_prefix("<<")?;
    let (chomp, rest) = match rest.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    if rest.is_empty() || rest.contains('<') {
        return None;
    }
    let name = unquote(rest)?;
    let quotes = |s: &str| s.chars().filter(|c| *c == '\'' || *c == '"').count();
    Some(Marker {
        expand: quotes(&name) == quotes(rest),
        name,
        chomp,
    })
}

/// The body with `<<-`'s leading tabs removed from every line (BuildKit `ChompHeredocContent`).
pub fn chomp(content: &str) -> String {
    content
        .split_inclusive('\n')
        .map(|l| l.trim_start_matches('\t'))
        .collect()
}

/// Shell words with quotes and `\` escapes kept (BuildKit's lexer with raw quotes and escapes); an
/// unterminated quote yields no words, as the lexer's error does.
fn raw_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match quote {
            None if c.is_whitespace() => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            None if c == '\\' => {
                word.push(c);
                if let Some(n) = chars.next() {
                    word.push(n);
                }
            }
            None => {
                if c == '\'' || c == '"' {
                    quote = Some(c);
                }
                word.push(c);
            }
            Some('"') if c == '\\' => {
                word.push(c);
                if let Some(n) = chars.next() {
                    word.push(n);
                }
            }
            Some(q) => {
                if c == q {
                    quote = None;
                }
                word.push(c);
            }
        }
    }
    if quote.is_some() {
        return Vec::new();
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// The one word `text` makes with quotes removed and escapes applied; `None` when it makes none.
fn unquote(text: &str) -> Option<String> {
    let mut out = String::new();
    let mut quote: Option<char> = None;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (None, '\\') => out.push(chars.next()?),
            (None, c) if c.is_whitespace() => return None,
            (None, c) => out.push(c),
            (Some(q), c) if c == q => quote = None,
            (Some('"'), '\\') => match chars.peek() {
                Some('"' | '$' | '\\') => out.push(chars.next()?),
                _ => out.push('\\'),
            },
            (Some(_), c) => out.push(c),
        }
    }
    (quote.is_none() && !out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(name: &str, chomp: bool, expand: bool) -> Marker {
        Marker {
            name: name.into(),
            chomp,
            expand,
        }
    }

    #[test]
    fn markers_as_buildkit_reads_them() {
        assert_eq!(markers("RUN <<EOF"), [m("EOF", false, true)]);
        assert_eq!(markers("COPY <<-\"X\" /f"), [m("X", true, false)]);
        assert_eq!(
            markers("RUN <<'A' cat && 3<<B"),
            [m("A", false, false), m("B", false, true)]
        );
        assert_eq!(markers("RUN <<E\"O\"F"), [m("EOF", false, false)]);
        // Not a word of its own, or quoted: not a heredoc.
        assert!(markers("RUN echo a<<b").is_empty());
        assert!(markers("RUN echo '<<EOF'").is_empty());
        assert!(markers("RUN echo <<").is_empty());
        assert!(markers("RUN <<A<<B").is_empty());
        // Everything up to the next blank belongs to the name.
        assert_eq!(markers("RUN cat <<EOF>out"), [m("EOF>out", false, true)]);
    }

    #[test]
    fn chomp_strips_leading_tabs_per_line() {
        assert_eq!(chomp("\t\ta\n\tb\n c\n"), "a\nb\n c\n");
    }
}
