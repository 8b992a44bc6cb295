//! The local cache between builds (CNB buildpack spec 0.10, "Cached Layers"; platform spec 0.13,
//! "Cache"): a directory laid out like the layers directory — `<cache>/<id with / as _>/<layer>.toml`
//! and `<layer>/`, plus the buildpack's `store.toml`. Before the build, each `cache = true` layer is
//! copied back with its metadata but without `[types]` (the buildpack decides again); after a
//! successful build the cache is made to hold exactly this build's `cache = true` layers.

use std::path::{Path, PathBuf};

use crate::descriptor::Buildpack;
use crate::layers;

/// Restores the cached layers (and `store.toml`) of the group's buildpacks into `layers_dir`;
/// returns what was restored, as `<bp dir>/<layer>`.
pub fn restore(
    cache: &Path,
    layers_dir: &Path,
    group: &[Buildpack],
) -> std::io::Result<Vec<String>> {
    let mut restored = Vec::new();
    for bp in group {
        let from = bp.layers_dir(cache);
        let to = bp.layers_dir(layers_dir);
        for layer in layers::read(&from) {
            if !layer.types.cache || !layer.dir.is_dir() {
                continue;
            }
            std::fs::create_dir_all(&to)?;
            let target = to.join(&layer.name);
            if target.exists() {
                std::fs::remove_dir_all(&target)?;
            }
            copy_tree(&layer.dir, &target)?;
            std::fs::write(
                to.join(format!("{}.toml", layer.name)),
                without_types(&layer.toml_path())?,
            )?;
            restored.push(format!("{}/{}", dir_name(&to), layer.name));
        }
        if from.join("store.toml").is_file() {
            std::fs::create_dir_all(&to)?;
            std::fs::copy(from.join("store.toml"), to.join("store.toml"))?;
        }
    }
    Ok(restored)
}

/// Saves the group's `cache = true` layers (and `store.toml`) from `layers_dir` into `cache`,
/// replacing what was there; everything else in the cache is removed. A layer not for launch is
/// moved (the layers directory is about to lose it anyway), a launch layer copied. Returns what was
/// saved, as `<bp dir>/<layer>`.
pub fn save(cache: &Path, layers_dir: &Path, group: &[Buildpack]) -> std::io::Result<Vec<String>> {
    std::fs::create_dir_all(cache)?;
    let mut saved = Vec::new();
    let mut keep: Vec<PathBuf> = Vec::new();
    for bp in group {
        let from = bp.layers_dir(layers_dir);
        let to = bp.layers_dir(cache);
        keep.push(to.clone());
        let mut kept: Vec<PathBuf> = Vec::new();
        for layer in layers::read(&from) {
            if !layer.types.cache || !layer.dir.is_dir() {
                continue;
            }
            std::fs::create_dir_all(&to)?;
            let staging = to.join(format!(".{}.saving", layer.name));
            if staging.exists() {
                std::fs::remove_dir_all(&staging)?;
            }
            if layer.types.launch || std::fs::rename(&layer.dir, &staging).is_err() {
                copy_tree(&layer.dir, &staging)?;
            }
            let target = to.join(&layer.name);
            if target.exists() {
                std::fs::remove_dir_all(&target)?;
            }
            std::fs::rename(&staging, &target)?;
            std::fs::copy(layer.toml_path(), to.join(format!("{}.toml", layer.name)))?;
            kept.push(target.clone());
            kept.push(to.join(format!("{}.toml", layer.name)));
            saved.push(format!("{}/{}", dir_name(&to), layer.name));
        }
        if from.join("store.toml").is_file() {
            std::fs::create_dir_all(&to)?;
            std::fs::copy(from.join("store.toml"), to.join("store.toml"))?;
            kept.push(to.join("store.toml"));
        }
        remove_all_but(&to, &kept)?;
    }
    remove_all_but(cache, &keep)?;
    Ok(saved)
}

fn dir_name(path: &Path) -> String {
    path.file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned()
}

/// The layer's `.toml` without its `[types]` table.
fn without_types(path: &Path) -> std::io::Result<String> {
    let text = std::fs::read_to_string(path)?;
    let mut table: toml::Table = toml::from_str(&text).unwrap_or_default();
    table.remove("types");
    Ok(toml::to_string(&table).unwrap_or_default())
}

/// Removes every entry of `dir` that is not in `keep`.
fn remove_all_but(dir: &Path, keep: &[PathBuf]) -> std::io::Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if keep.contains(&path) {
            continue;
        }
        if entry.file_type()?.is_dir() {
            std::fs::remove_dir_all(&path)?;
        } else {
            std::fs::remove_file(&path)?;
        }
    }
    Ok(())
}

/// Copies a directory tree: directories, regular files (with their permissions) and symlinks (as
/// links). Hard links become copies; other file types are skipped.
pub fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    let metadata = std::fs::symlink_metadata(from)?;
    std::fs::create_dir(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copy_tree(&source, &target)?;
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&source)?, &target)?;
        } else if kind.is_file() {
            std::fs::copy(&source, &target)?;
        }
    }
    std::fs::set_permissions(to, metadata.permissions())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn bp(id: &str) -> Buildpack {
        Buildpack {
            id: id.to_owned(),
            version: "1.0.0".to_owned(),
            api: "0.10".to_owned(),
            clear_env: false,
            dir: PathBuf::new(),
        }
    }

    fn layer(root: &Path, name: &str, types: &str) {
        std::fs::create_dir_all(root.join(name)).unwrap();
        std::fs::write(root.join(name).join("file"), name).unwrap();
        std::fs::write(
            root.join(format!("{name}.toml")),
            format!("[types]\n{types}\n[metadata]\nv = \"{name}\"\n"),
        )
        .unwrap();
    }

    #[test]
    fn save_keeps_this_builds_cache_layers_and_restore_brings_them_back_without_types() {
        let (cache, layers_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (c, l) = (cache.path(), layers_dir.path());
        let group = [bp("hoist/nodejs")];
        let bp_layers = l.join("hoist_nodejs");
        layer(&bp_layers, "cache", "cache = true");
        layer(&bp_layers, "deps", "cache = true\nlaunch = true");
        layer(&bp_layers, "tmp", "build = true");
        std::fs::write(bp_layers.join("store.toml"), "[metadata]\nk = 1\n").unwrap();
        // Stale entries: a layer no longer cached, a buildpack no longer in the group.
        layer(&c.join("hoist_nodejs"), "old", "cache = true");
        layer(&c.join("hoist_python"), "venv", "cache = true");

        let saved = save(c, l, &group).unwrap();
        assert_eq!(saved, ["hoist_nodejs/cache", "hoist_nodejs/deps"]);
        assert!(!c.join("hoist_nodejs/old").exists() && !c.join("hoist_python").exists());
        assert!(!c.join("hoist_nodejs/tmp").exists());
        // The launch layer stays for the image; the other one moved.
        assert!(bp_layers.join("deps/file").is_file());
        assert!(c.join("hoist_nodejs/cache/file").is_file());

        let next = tempfile::tempdir().unwrap();
        let restored = restore(c, next.path(), &group).unwrap();
        assert_eq!(restored, ["hoist_nodejs/cache", "hoist_nodejs/deps"]);
        let toml = std::fs::read_to_string(next.path().join("hoist_nodejs/deps.toml")).unwrap();
        assert!(
            !toml.contains("types") && toml.contains("v = \"deps\""),
            "{toml}"
        );
        assert!(next.path().join("hoist_nodejs/store.toml").is_file());
        assert_eq!(
            std::fs::read_to_string(next.path().join("hoist_nodejs/cache/file")).unwrap(),
            "cache"
        );
    }

    #[test]
    fn copy_tree_keeps_modes_and_symlinks() {
        let root = tempfile::tempdir().unwrap();
        let from = root.path().join("from");
        std::fs::create_dir_all(from.join("bin")).unwrap();
        std::fs::write(from.join("bin/tool"), "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(
            from.join("bin/tool"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        std::os::unix::fs::symlink("bin/tool", from.join("link")).unwrap();
        copy_tree(&from, &root.path().join("to")).unwrap();
        let to = root.path().join("to");
        let mode = std::fs::metadata(to.join("bin/tool"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
        assert_eq!(
            std::fs::read_link(to.join("link")).unwrap(),
            Path::new("bin/tool")
        );
    }
}
