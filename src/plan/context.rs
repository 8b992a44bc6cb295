//! The build context filter: which files of the context a build may see.
//!
//! Semantics are those of moby/patternmatcher as used for `.dockerignore`: patterns are matched against
//! slash-separated paths relative to the context root, `**` matches any number of directories, `!`
//! re-includes, and the last matching pattern wins. A pattern matching a parent directory excludes
//! everything below it. A file excluded here is invisible to every step.

/// A compiled list of exclusion patterns.
#[derive(Clone, Debug, Default)]
pub struct ContextFilter {
    patterns: Vec<String>,
    compiled: Vec<Pattern>,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid exclusion pattern `{pattern}`: {reason}")]
pub struct PatternError {
    pub pattern: String,
    pub reason: String,
}

#[derive(Clone, Debug)]
struct Pattern {
    exclusion: bool,
    segments: Vec<Segment>,
}

#[derive(Clone, Debug)]
enum Segment {
    /// `**`: any number of path segments, including none.
    AnyDepth,
    One(glob::Pattern),
}

impl Pattern {
    fn compile(raw: &str) -> Result<Pattern, PatternError> {
        let (exclusion, body) = match raw.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, raw),
        };
        let body = clean(body);
        if body.is_empty() && exclusion {
            return Err(PatternError {
                pattern: raw.to_string(),
                reason: "an exception (`!`) needs a pattern after it".into(),
            });
        }
        let segments = body
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| {
                if s == "**" {
                    return Ok(Segment::AnyDepth);
                }
                glob::Pattern::new(&s.replace("**", "*"))
                    .map(Segment::One)
                    .map_err(|e| PatternError {
                        pattern: raw.to_string(),
                        reason: e.msg.to_string(),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Pattern {
            exclusion,
            segments,
        })
    }

    fn matches(&self, parts: &[&str]) -> bool {
        match_segments(&self.segments, parts)
    }
}

fn match_segments(pattern: &[Segment], parts: &[&str]) -> bool {
    match pattern.split_first() {
        None => parts.is_empty(),
        Some((Segment::AnyDepth, rest)) => {
            (0..=parts.len()).any(|skip| match_segments(rest, &parts[skip..]))
        }
        Some((Segment::One(p), rest)) => match parts.split_first() {
            Some((first, others)) => p.matches(first) && match_segments(rest, others),
            None => false,
        },
    }
}

/// `filepath.Clean` for relative slash paths: drops `.` and empty segments, resolves `..`, drops a
/// leading `/`.
pub fn clean(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            p => out.push(p),
        }
    }
    out.join("/")
}

impl ContextFilter {
    /// Everything is visible.
    pub fn none() -> ContextFilter {
        ContextFilter::default()
    }

    pub fn new(patterns: Vec<String>) -> Result<ContextFilter, PatternError> {
        let compiled = patterns
            .iter()
            .map(|p| Pattern::compile(p))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ContextFilter { patterns, compiled })
    }

    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    /// Whether any pattern is an exception (`!`): then an excluded directory may still hold visible files.
    pub fn has_exceptions(&self) -> bool {
        self.compiled.iter().any(|p| p.exclusion)
    }

    /// Whether `rel_path` (slash-separated, relative to the context root) is excluded.
    pub fn is_excluded(&self, rel_path: &str) -> bool {
        let cleaned = clean(rel_path);
        if cleaned.is_empty() {
            return false;
        }
        let parts: Vec<&str> = cleaned.split('/').collect();
        let mut matched = false;
        for pattern in &self.compiled {
            // An exclusion only matters once excluded, an inclusion only while not excluded.
            if pattern.exclusion != matched {
                continue;
            }
            let hit = (1..=parts.len()).any(|n| pattern.matches(&parts[..n]));
            if hit {
                matched = !pattern.exclusion;
            }
        }
        matched
    }

    /// Whether a walk may skip directory `rel_dir` entirely: it is excluded and no exception could
    /// re-include anything below it.
    pub fn can_skip_dir(&self, rel_dir: &str) -> bool {
        self.is_excluded(rel_dir) && !self.has_exceptions()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(patterns: &[&str]) -> ContextFilter {
        ContextFilter::new(patterns.iter().map(|s| s.to_string()).collect()).unwrap()
    }

    #[test]
    fn pattern_table() {
        let cases: &[(&[&str], &str, bool)] = &[
            (&["*.md"], "README.md", true),
            (&["*.md"], "docs/README.md", false),
            (&["**/*.md"], "docs/README.md", true),
            (&["**/*.md"], "README.md", true),
            (&["docs"], "docs/a/b.txt", true),
            (&["docs/"], "docs/a", true),
            (&["target"], "src/target", false),
            (&["**/target"], "src/target/x", true),
            (&["a?c"], "abc", true),
            (&["a?c"], "a/c", false),
            (&["[a-c]x"], "bx", true),
            (&["[a-c]x"], "dx", false),
            (&["*", "!keep"], "keep", false),
            (&["*", "!keep"], "other", true),
            (&["*", "!keep", "keep"], "keep", true),
            (&["!keep"], "keep", false),
            (
                &["node_modules", "!node_modules/x"],
                "node_modules/x/y",
                false,
            ),
            (&["node_modules", "!node_modules/x"], "node_modules/z", true),
            (&["./build"], "build/out", true),
            (&["/build"], "build", true),
            (&["a/**/b"], "a/b", true),
            (&["a/**/b"], "a/x/y/b", true),
            (&["a/**"], "a/x", true),
            (&[], "anything", false),
        ];
        for (patterns, path, want) in cases {
            assert_eq!(
                filter(patterns).is_excluded(path),
                *want,
                "{patterns:?} {path}"
            );
        }
    }

    #[test]
    fn skip_dir_only_without_exceptions() {
        assert!(filter(&["target"]).can_skip_dir("target"));
        assert!(!filter(&["target", "!target/keep"]).can_skip_dir("target"));
        assert!(!filter(&["target"]).can_skip_dir("src"));
    }

    #[test]
    fn bad_patterns_are_errors() {
        assert!(ContextFilter::new(vec!["[".into()]).is_err());
        assert!(ContextFilter::new(vec!["!".into()]).is_err());
    }

    #[test]
    fn clean_paths() {
        assert_eq!(clean("./a//b/../c/"), "a/c");
        assert_eq!(clean("/x"), "x");
    }
}
