//! Reading Go sources the way the go command does for what detection needs: the `module` path of
//! `go.mod` (Go modules reference, "go.mod files"), the package clause of a `.go` file (Go spec,
//! "Package clause"), and the binary name `go build` gives a main package.

/// The module path declared by `go.mod`'s `module` directive.
pub fn module_path(go_mod: &str) -> Option<String> {
    go_mod.lines().find_map(|line| {
        let line = line.split("//").next().unwrap_or("").trim();
        let rest = line.strip_prefix("module")?;
        if !rest.starts_with([' ', '\t', '"']) {
            return None;
        }
        let path = rest.trim().trim_matches(|c| c == '"' || c == '`');
        (!path.is_empty()).then(|| path.to_owned())
    })
}

/// The package name of a Go source file: the identifier after `package`, once comments (line and
/// block) and blank space are skipped.
pub fn package_name(source: &str) -> Option<&str> {
    let mut rest = source;
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix("//") {
            rest = after.split_once('\n').map_or("", |(_, next)| next);
        } else if let Some(after) = rest.strip_prefix("/*") {
            rest = after.split_once("*/")?.1;
        } else {
            break;
        }
    }
    let after = rest.strip_prefix("package")?;
    if !after.starts_with(|c: char| c.is_whitespace() || c == '/') {
        return None;
    }
    let mut after = after.trim_start();
    if let Some(comment) = after.strip_prefix("/*") {
        after = comment.split_once("*/")?.1.trim_start();
    }
    let end = after
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(after.len());
    (end > 0).then(|| &after[..end])
}

/// The name `go build` gives the binary of a main package at `module_path`: its last element, or the
/// one before when the last is a major-version suffix (`example.com/app/v2` → `app`).
pub fn binary_name(module_path: &str) -> &str {
    let mut elements = module_path.rsplit('/');
    let last = elements.next().unwrap_or(module_path);
    let is_major =
        last.len() > 1 && last.starts_with('v') && last[1..].chars().all(|c| c.is_ascii_digit());
    match (is_major, elements.next()) {
        (true, Some(previous)) => previous,
        _ => last,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_paths_bare_quoted_and_commented() {
        assert_eq!(
            module_path("module example.com/hello\n\ngo 1.22\n").as_deref(),
            Some("example.com/hello")
        );
        assert_eq!(
            module_path("// hi\nmodule \"example.com/q\" // note\n").as_deref(),
            Some("example.com/q")
        );
        assert_eq!(module_path("modules x\n"), None);
        assert_eq!(module_path("go 1.22\n"), None);
    }

    #[test]
    fn package_clauses_after_comments_and_build_tags() {
        assert_eq!(package_name("package main\n"), Some("main"));
        assert_eq!(
            package_name(
                "//go:build linux\n\n// Package doc.\n/* block\n package lib */\npackage main // x\n"
            ),
            Some("main")
        );
        assert_eq!(package_name("package\tserver\n"), Some("server"));
        assert_eq!(package_name("packagemain\n"), None);
        assert_eq!(package_name("/* unterminated"), None);
        assert_eq!(package_name("func main() {}\n"), None);
    }

    #[test]
    fn binary_names_skip_major_version_suffixes() {
        assert_eq!(binary_name("example.com/hello"), "hello");
        assert_eq!(binary_name("example.com/app/v2"), "app");
        assert_eq!(binary_name("hello"), "hello");
        assert_eq!(binary_name("v2"), "v2");
    }
}
