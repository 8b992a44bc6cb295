//! `hoist prune`: the cache directory held exclusively (no build runs meanwhile), its entries counted,
//! the plan of what goes (`cache_dir::entries::plan`) listed or carried out. Directories are removed as
//! builds remove their scratch: directly, else through the RUN sandbox's user namespace, where the
//! subordinate ids that own files of unpacked images and cache mounts are mapped.

use std::path::{Path, PathBuf};

use crate::cache_dir::entries::{self, Reason};
use crate::cache_dir::{Access, CacheDir, Entry, Kind, Plan, Policy};
use crate::cli::{ByteSize, PruneRequest, PruneScope};
use crate::executor::sandbox::{Isolation, Sandbox};

#[derive(Debug, thiserror::Error)]
#[error("cannot remove `{path}`: {source}\nhint: {hint}")]
pub struct RemoveError {
    pub path: PathBuf,
    pub source: std::io::Error,
    pub hint: &'static str,
}

/// Prunes the cache as asked; returns the text for stdout (with `--dry-run` the entries that would go,
/// then the summary line). `on_line` gets what goes to stderr: waiting, and each entry removed.
pub fn prune(req: &PruneRequest, on_line: &mut dyn FnMut(&str)) -> anyhow::Result<String> {
    let cache = CacheDir::new(&req.cache_dir);
    if !cache.root().exists() {
        return Ok(format!(
            "nothing to remove: the cache `{}` does not exist\n",
            cache.root().display()
        ));
    }
    let _lock = cache.lock(Access::Exclusive, on_line)?;
    let policy = match req.scope {
        PruneScope::Garbage => Policy::Garbage,
        PruneScope::KeepStorage(size) => Policy::KeepStorage(size.0),
        PruneScope::All => Policy::All,
    };
    let plan = entries::plan(entries::scan(&cache)?, policy);
    let mut out = String::new();
    if req.dry_run {
        for (entry, reason) in &plan.remove {
            out.push_str(&line(&cache, entry, reason));
            out.push('\n');
        }
        out.push_str(&summary(&plan, true));
        return Ok(out);
    }

    let mut remover = Remover::default();
    let mut failed = Vec::new();
    for (entry, reason) in &plan.remove {
        match remover.remove(entry) {
            Ok(()) => on_line(&format!("removed {}", line(&cache, entry, reason))),
            Err(err) => failed.push(err),
        }
    }
    if !failed.is_empty() {
        let all = failed.len();
        let list: Vec<String> = failed.iter().map(|e| format!("  {e}")).collect();
        anyhow::bail!(
            "{} of {} entries of the cache `{}` could not be removed (the others were):\n{}",
            all,
            plan.remove.len(),
            cache.root().display(),
            list.join("\n")
        );
    }
    out.push_str(&summary(&plan, false));
    Ok(out)
}

/// `KIND  SIZE  PATH (why)`, the path relative to the cache.
fn line(cache: &CacheDir, entry: &Entry, reason: &Reason) -> String {
    let path = entry.path.strip_prefix(cache.root()).unwrap_or(&entry.path);
    format!(
        "{:<11} {:>10}  {}  ({reason})",
        entry.kind.label(),
        ByteSize(entry.size).to_string(),
        path.display()
    )
}

/// The one line that tells what went and what is left.
fn summary(plan: &Plan, dry_run: bool) -> String {
    let kept = ByteSize(plan.kept());
    if plan.remove.is_empty() {
        return format!("nothing to remove; the cache takes {kept}\n");
    }
    let mut counts: Vec<(Kind, usize)> = Vec::new();
    for (entry, _) in &plan.remove {
        match counts.iter_mut().find(|(k, _)| *k == entry.kind) {
            Some((_, n)) => *n += 1,
            None => counts.push((entry.kind, 1)),
        }
    }
    counts.sort();
    let kinds: Vec<String> = counts.iter().map(|(k, n)| counted(*k, *n)).collect();
    let (n, freed) = (plan.remove.len(), ByteSize(plan.freed()));
    let entries = if n == 1 { "entry" } else { "entries" };
    if dry_run {
        format!(
            "would remove {n} {entries} ({}), freeing {freed}; the cache would take {kept}\n",
            kinds.join(", ")
        )
    } else {
        format!(
            "removed {n} {entries} ({}), freed {freed}; the cache takes {kept}\n",
            kinds.join(", ")
        )
    }
}

fn counted(kind: Kind, n: usize) -> String {
    let (one, many) = match kind {
        Kind::Blob => ("blob", "blobs"),
        Kind::Step => ("step result", "step results"),
        Kind::Verdict => ("verdict", "verdicts"),
        Kind::Rootfs => ("unpacked base", "unpacked bases"),
        Kind::CacheMount => ("cache mount", "cache mounts"),
        Kind::Scratch => ("scratch dir", "scratch dirs"),
        Kind::Partial => ("partial write", "partial writes"),
    };
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Removes entries; directories whose files belong to subordinate ids through the user namespace.
#[derive(Default)]
struct Remover {
    /// Made on first need: the RUN sandbox, for `Request::Remove`.
    sandbox: Option<Option<Sandbox>>,
}

impl Remover {
    fn remove(&mut self, entry: &Entry) -> Result<(), RemoveError> {
        let error = |path: &Path, source, hint| RemoveError {
            path: path.to_path_buf(),
            source,
            hint,
        };
        if !entry.kind.is_tree() {
            return remove_file(&entry.path).map_err(|e| {
                error(
                    &entry.path,
                    e,
                    "check the permissions of the cache directory, or prune as the user whose builds filled it",
                )
            });
        }
        // An unpacked base or a cache mount is set aside first: a build never sees one half removed,
        // and a removal that fails leaves a name the next prune knows as garbage.
        let path = match entry.kind {
            Kind::Rootfs | Kind::CacheMount => {
                let name = entry.path.file_name().unwrap_or_default().to_string_lossy();
                let aside = entry.path.with_file_name(format!(".pruning-{name}"));
                std::fs::rename(&entry.path, &aside).map_err(|e| {
                    error(
                        &entry.path,
                        e,
                        "check the permissions of the directory it is in, or prune as the user whose builds filled it",
                    )
                })?;
                aside
            }
            Kind::Scratch | Kind::Partial | Kind::Blob | Kind::Step | Kind::Verdict => {
                entry.path.clone()
            }
        };
        self.remove_tree(&path).map_err(|e| {
            error(
                &path,
                e,
                "some of its files belong to ids this user cannot reach, even through the user namespace (/etc/subuid, /etc/subgid); remove it as root",
            )
        })?;
        if let Some(lock) = &entry.lock {
            remove_file(lock).map_err(|e| {
                error(
                    lock,
                    e,
                    "check the permissions of the cache directory's `mounts/`",
                )
            })?;
        }
        Ok(())
    }

    /// Removes a tree directly; what remains (files of subordinate ids, directories without write
    /// permission owned by them) through the sandbox.
    fn remove_tree(&mut self, path: &Path) -> std::io::Result<()> {
        let Err(direct) = crate::executor::rootfs::remove_tree(path) else {
            return Ok(());
        };
        let sandbox = self.sandbox.get_or_insert_with(|| {
            let exe = std::env::current_exe().ok()?;
            Some(Sandbox::new(exe, Isolation::Rootless))
        });
        if let Some(sandbox) = sandbox {
            crate::executor::sandbox::remove_tree(sandbox, path);
        }
        match path.symlink_metadata() {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            _ => Err(direct),
        }
    }
}

fn remove_file(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(cache: &Path, scope: PruneScope, dry_run: bool) -> PruneRequest {
        PruneRequest {
            cache_dir: cache.to_path_buf(),
            scope,
            dry_run,
        }
    }

    #[test]
    fn dry_run_lists_and_removes_nothing_then_prune_removes_garbage_only() {
        let dir = tempfile::tempdir().unwrap();
        let cache = CacheDir::new(dir.path());
        let store = crate::image::BlobStore::open(cache.blobs()).unwrap();
        let layer = store.put(b"layer").unwrap();
        std::fs::create_dir_all(cache.tmp().join("build-1/stage-0/upper")).unwrap();
        std::fs::create_dir_all(cache.rootfs().join("aa/etc")).unwrap();

        let mut lines = Vec::new();
        let text = prune(&request(dir.path(), PruneScope::Garbage, true), &mut |l| {
            lines.push(l.to_string())
        })
        .unwrap();
        assert!(
            text.contains("scratch") && text.contains("tmp/build-1"),
            "{text}"
        );
        assert!(
            text.lines()
                .last()
                .unwrap()
                .starts_with("would remove 1 entry (1 scratch dir)"),
            "{text}"
        );
        assert!(cache.tmp().join("build-1").exists());

        let text = prune(&request(dir.path(), PruneScope::Garbage, false), &mut |l| {
            lines.push(l.to_string())
        })
        .unwrap();
        assert!(
            text.starts_with("removed 1 entry (1 scratch dir), freed "),
            "{text}"
        );
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(
            lines.iter().any(|l| l.starts_with("removed scratch")),
            "{lines:?}"
        );
        assert!(!cache.tmp().join("build-1").exists());
        assert!(store.contains(&layer) && cache.rootfs().join("aa").is_dir());

        let text = prune(&request(dir.path(), PruneScope::All, false), &mut |_| {}).unwrap();
        assert!(
            text.contains("1 blob") && text.contains("1 unpacked base"),
            "{text}"
        );
        assert!(text.trim_end().ends_with("the cache takes 0 B"), "{text}");
        assert!(!store.contains(&layer) && !cache.rootfs().join("aa").exists());
        assert!(cache.lock_file().exists(), "the lock stays");
        assert_eq!(std::fs::read_dir(cache.rootfs()).unwrap().count(), 0);

        let text = prune(&request(dir.path(), PruneScope::All, false), &mut |_| {}).unwrap();
        assert_eq!(text, "nothing to remove; the cache takes 0 B\n");
    }

    #[test]
    fn a_missing_cache_is_not_created() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("none");
        let text = prune(&request(&missing, PruneScope::All, false), &mut |_| {}).unwrap();
        assert!(text.starts_with("nothing to remove"), "{text}");
        assert!(!missing.exists());
    }
}
