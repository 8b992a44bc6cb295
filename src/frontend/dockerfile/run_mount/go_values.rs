//! The Go value syntaxes BuildKit reads `--mount` values with, so that hoist accepts and refuses the
//! same text: one `encoding/csv` record, `strconv.ParseBool`, docker/go-units `RAMInBytes`, and
//! `path.Clean` / `path.Base` for the cache id and the secret id.

use super::MountError;

/// Go's `strconv.ParseBool`.
pub(super) fn go_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// docker/go-units `RAMInBytes`: a decimal number, an optional space, an optional unit `k m g t p`
/// (any case, powers of 1024), an optional `i` and `b` (`64m`, `64MiB`, `1.5 GB`, `512`).
pub(super) fn ram_in_bytes(v: &str) -> Option<u64> {
    let number_end = v
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(v.len());
    let (number, unit) = v.split_at(number_end);
    if !number.starts_with(|c: char| c.is_ascii_digit()) || number.ends_with('.') {
        return None;
    }
    let value: f64 = number.parse().ok()?;
    let unit = unit.strip_prefix(' ').unwrap_or(unit).to_ascii_lowercase();
    let mut rest = unit.as_str();
    let mut multiplier = 1u64;
    if let Some(first) = rest.chars().next()
        && let Some(power) = "kmgtp".find(first)
    {
        multiplier = 1024u64.pow(power as u32 + 1);
        rest = &rest[1..];
    }
    let rest = rest.strip_prefix('i').unwrap_or(rest);
    let rest = rest.strip_prefix('b').unwrap_or(rest);
    rest.is_empty()
        .then_some((value * multiplier as f64) as u64)
}

/// Go's `path.Base`.
pub(super) fn base(p: &str) -> String {
    let trimmed = p.trim_end_matches('/');
    if trimmed.is_empty() {
        return if p.is_empty() { ".".into() } else { "/".into() };
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed).to_string()
}

/// Go's `path.Clean`.
pub(super) fn go_clean(p: &str) -> String {
    let rooted = p.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." if out.last().is_some_and(|l| *l != "..") => {
                out.pop();
            }
            ".." if rooted => {}
            part => out.push(part),
        }
    }
    match (rooted, out.is_empty()) {
        (true, _) => format!("/{}", out.join("/")),
        (false, true) => ".".into(),
        (false, false) => out.join("/"),
    }
}

/// One CSV record as Go's `encoding/csv` reads it with default settings: fields split at `,`; a field
/// that starts with `"` is quoted (`""` inside is a `"`) and must end at a closing quote; a `"` anywhere
/// else is an error.
pub(super) fn csv_fields(line: &str) -> Result<Vec<String>, MountError> {
    let bad = |what: &str| {
        MountError::invalid(format!("not a valid CSV record: {what}")).hint(
            "quote a whole field that holds `,` (`\"target=/a,b\"`) and double every `\"` inside it",
        )
    };
    if line.is_empty() {
        return Err(MountError::invalid("the value is empty")
            .hint("write the mount's fields, e.g. `--mount=type=cache,target=/root/.cache`"));
    }
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    None => return Err(bad("a quoted field is not closed")),
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                }
            }
            match chars.next() {
                None => {
                    fields.push(field);
                    return Ok(fields);
                }
                Some(',') => fields.push(field),
                Some(_) => return Err(bad("text after the closing `\"` of a quoted field")),
            }
        } else {
            loop {
                match chars.next() {
                    None => {
                        fields.push(field);
                        return Ok(fields);
                    }
                    Some(',') => break,
                    Some('"') => return Err(bad("a `\"` inside a field that is not quoted")),
                    Some(c) => field.push(c),
                }
            }
            fields.push(field);
        }
    }
}
