//! The inspection commands: `hoist parse` (a Dockerfile's instructions as BuildKit's parser reads them),
//! `hoist context` (the build context after `.dockerignore`) and `hoist detect` (the buildpacks that
//! would build an app without a Dockerfile). Each returns the text for stdout; the binary writes it.

use std::path::Path;

use anyhow::Context as _;

use crate::cli::{ContextArgs, DetectArgs, ParseArgs};
use crate::frontend::buildpacks::detect::{self as buildpacks, Detected};
use crate::frontend::buildpacks::report::DetectJson;
use crate::frontend::dockerfile::dockerignore;
use crate::frontend::dockerfile::listing::{self, Listed};

/// `hoist parse`: one `LINE KEYWORD FLAGS ARGS` line per instruction, or the JSON listing.
pub fn parse(args: &ParseArgs) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(&args.dockerfile).with_context(|| {
        format!(
            "cannot read the Dockerfile `{}`\nhint: check the path",
            args.dockerfile.display()
        )
    })?;
    let listing = listing::list(&text, &args.dockerfile)?;
    if args.json {
        return Ok(serde_json::to_string_pretty(&listing)? + "\n");
    }
    let mut out = String::new();
    for instruction in &listing.instructions {
        out.push_str(&format!(
            "{:>4} {}\n",
            instruction.start_line,
            line(instruction)
        ));
    }
    Ok(out)
}

/// `KEYWORD flags args` (JSON-quoted arguments, so spaces and empty nodes stay visible), with the
/// inner instruction of an `ONBUILD` inline and heredoc names after.
fn line(instruction: &Listed) -> String {
    let mut words = vec![instruction.keyword.clone()];
    words.extend(instruction.flags.iter().cloned());
    match &instruction.onbuild {
        Some(inner) => words.push(line(inner)),
        None if instruction.json => words.push(serde_json::json!(instruction.args).to_string()),
        None => words.extend(
            instruction
                .args
                .iter()
                .map(|a| serde_json::Value::from(a.as_str()).to_string()),
        ),
    }
    for heredoc in &instruction.heredocs {
        words.push(format!(
            "(heredoc {}: {} bytes)",
            heredoc.name,
            heredoc.content.len()
        ));
    }
    words.join(" ")
}

/// What `hoist detect` prints.
#[derive(Debug)]
pub struct DetectOutput {
    /// The data: the JSON document, or the text listing.
    pub stdout: String,
    /// Warnings for stderr (text mode; the JSON document carries them).
    pub warnings: Vec<String>,
    /// Why it exits 1: nothing detected, or a build of the group would fail.
    pub error: Option<anyhow::Error>,
}

/// `hoist detect`: the group, plan, processes and warnings; an empty group (JSON) and an error
/// listing what was looked for when nothing is detected.
pub fn detect(args: &DetectArgs) -> DetectOutput {
    let (detected, error) = match buildpacks::detect(&args.dir) {
        Ok(detected) => {
            let error = detected.problem.clone().map(anyhow::Error::from);
            (Some(detected), error)
        }
        Err(error) => (None, Some(anyhow::Error::from(error))),
    };
    let json = detected
        .as_ref()
        .map_or_else(DetectJson::empty, DetectJson::from);
    if args.json {
        let stdout = serde_json::to_string_pretty(&json).unwrap_or_default() + "\n";
        return DetectOutput {
            stdout,
            warnings: Vec::new(),
            error,
        };
    }
    DetectOutput {
        stdout: detected.as_ref().map(detect_text).unwrap_or_default(),
        warnings: json.warnings,
        error,
    }
}

/// The text listing: the group (with what each buildpack found), the plan, the processes.
fn detect_text(detected: &Detected) -> String {
    let mut out = String::from("group:\n");
    for member in &detected.group {
        let optional = if member.optional { " (optional)" } else { "" };
        let (id, version) = (member.buildpack.id(), member.buildpack.version());
        out.push_str(&format!("  {id} {version}{optional}: {}\n", member.found));
    }
    out.push_str("plan:\n");
    for entry in &detected.plan {
        let names = |list: &[crate::frontend::buildpacks::order::Buildpack]| {
            list.iter().map(|b| b.id()).collect::<Vec<_>>().join(", ")
        };
        let metadata: Vec<String> = entry
            .metadata
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        out.push_str(&format!(
            "  {}: provided by {}, required by {} ({})\n",
            entry.name,
            names(&entry.providers),
            names(&entry.requirers),
            metadata.join(" ")
        ));
    }
    if detected.plan.is_empty() {
        out.push_str("  (empty)\n");
    }
    out.push_str("processes:\n");
    if detected.processes.is_empty() {
        out.push_str("  (none)\n");
    }
    for process in &detected.processes {
        out.push_str(&format!("  {}: {}\n", process.kind, process.command));
    }
    out
}

/// `hoist context`: the paths a build sees, relative to DIR, sorted, one a line.
///
/// Listed: regular files and symlinks that `.dockerignore` leaves visible. Not listed: directories,
/// empty or not — `docker build` sends them, but they carry no content of their own and every listed
/// path implies its parents; symlinks are listed, never followed.
pub fn context(args: &ContextArgs) -> anyhow::Result<String> {
    let dockerfile = args
        .dockerfile
        .clone()
        .unwrap_or_else(|| args.dir.join("Dockerfile"));
    let filter = dockerignore::load(&dockerfile, &args.dir)?;
    let paths = visible_files(&args.dir, &filter)?;
    Ok(paths.iter().map(|p| format!("{p}\n")).collect())
}

fn visible_files(dir: &Path, filter: &crate::plan::ContextFilter) -> anyhow::Result<Vec<String>> {
    if !dir.is_dir() {
        anyhow::bail!(
            "the context `{}` is not a directory\nhint: pass the build context with `--dir DIR`",
            dir.display()
        );
    }
    let mut out = Vec::new();
    let mut walk = walkdir::WalkDir::new(dir).follow_links(false).into_iter();
    while let Some(entry) = walk.next() {
        let entry =
            entry.with_context(|| format!("cannot walk the context `{}`", dir.display()))?;
        let rel = entry
            .path()
            .strip_prefix(dir)
            .unwrap_or(entry.path())
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        if rel.is_empty() {
            continue;
        }
        let kind = entry.file_type();
        if kind.is_dir() {
            if filter.can_skip_dir(&rel) {
                walk.skip_current_dir();
            }
            continue;
        }
        if !filter.is_excluded(&rel) {
            out.push(rel);
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_lists_visible_files_and_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("src/deep")).unwrap();
        std::fs::create_dir_all(root.join("empty")).unwrap();
        std::fs::write(root.join("src/deep/a.log"), "").unwrap();
        std::fs::write(root.join("src/keep.log"), "").unwrap();
        std::fs::write(root.join("src/main.rs"), "").unwrap();
        std::os::unix::fs::symlink("src/main.rs", root.join("link")).unwrap();
        std::fs::write(root.join(".dockerignore"), "**/*.log\n!src/keep.log\n").unwrap();
        let filter = dockerignore::load(&root.join("Dockerfile"), root).unwrap();
        assert_eq!(
            visible_files(root, &filter).unwrap(),
            [".dockerignore", "link", "src/keep.log", "src/main.rs"]
        );
    }
}
