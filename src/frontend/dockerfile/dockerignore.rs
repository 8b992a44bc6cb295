//! `.dockerignore`: the context's exclusion patterns, read as moby/patternmatcher's `ignorefile.ReadAll`
//! does. `<Dockerfile>.dockerignore` next to the Dockerfile wins over `<context>/.dockerignore`.

use std::path::{Path, PathBuf};

use crate::plan::ContextFilter;
use crate::plan::context::clean;

use super::error::FrontendError;

/// The ignore file that applies, if any.
pub fn find(dockerfile: &Path, context: &Path) -> Option<PathBuf> {
    let mut specific = dockerfile.as_os_str().to_owned();
    specific.push(".dockerignore");
    let specific = PathBuf::from(specific);
    if specific.is_file() {
        return Some(specific);
    }
    let general = context.join(".dockerignore");
    general.is_file().then_some(general)
}

/// Reads the ignore file for this build (none: nothing excluded).
pub fn load(dockerfile: &Path, context: &Path) -> Result<ContextFilter, FrontendError> {
    let Some(path) = find(dockerfile, context) else {
        return Ok(ContextFilter::none());
    };
    let text = std::fs::read_to_string(&path).map_err(|source| FrontendError::Read {
        path: path.clone(),
        source,
    })?;
    ContextFilter::new(patterns(&text)).map_err(|source| FrontendError::Ignore { path, source })
}

/// The patterns of an ignore file: comments and blank lines dropped, paths cleaned, `!` kept.
pub fn patterns(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (bang, body) = match line.strip_prefix('!') {
            Some(rest) => ("!", rest.trim()),
            None => ("", line),
        };
        let cleaned = clean(body);
        if cleaned.is_empty() && body.trim_matches(['/', '.']).is_empty() {
            // `.` or `/`: the whole context.
            out.push(format!("{bang}**"));
            continue;
        }
        out.push(format!("{bang}{cleaned}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_are_cleaned() {
        let text = "# comment\n\n  node_modules  \n/build\n./dist/\n!dist/keep\n*.log\n";
        assert_eq!(
            patterns(text),
            vec!["node_modules", "build", "dist", "!dist/keep", "*.log"]
        );
    }

    #[test]
    fn dockerfile_specific_file_wins() {
        let dir = tempfile::tempdir().unwrap();
        let df = dir.path().join("app.Dockerfile");
        std::fs::write(&df, "FROM scratch").unwrap();
        std::fs::write(dir.path().join(".dockerignore"), "general").unwrap();
        assert_eq!(
            find(&df, dir.path()),
            Some(dir.path().join(".dockerignore"))
        );
        std::fs::write(dir.path().join("app.Dockerfile.dockerignore"), "specific").unwrap();
        let filter = load(&df, dir.path()).unwrap();
        assert_eq!(filter.patterns(), ["specific"]);
    }

    #[test]
    fn missing_file_excludes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let filter = load(&dir.path().join("Dockerfile"), dir.path()).unwrap();
        assert!(!filter.is_excluded("x"));
    }
}
