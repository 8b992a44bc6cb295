//! Layers as the build leaves them (CNB buildpack spec 0.10, "Layer Types" and "Layer Content
//! Metadata (TOML)"): a `<layer>.toml` beside each `<layer>/` directory, whose `[types]` say whether
//! the layer is for launch, for later buildpacks' builds, and cached. Layers without types are
//! ignored (renamed `<layer>.ignore` after their buildpack's build); what is not for launch is removed
//! once the build is over, so the layers directory holds what the app image needs.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// A layer's `[types]`; all false when unset.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct Types {
    #[serde(default)]
    pub launch: bool,
    #[serde(default)]
    pub build: bool,
    #[serde(default)]
    pub cache: bool,
}

#[derive(Deserialize)]
struct LayerToml {
    #[serde(default)]
    types: Types,
}

/// One layer of a buildpack: its name, directory (which may be missing) and types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    pub name: String,
    pub dir: PathBuf,
    pub types: Types,
}

impl Layer {
    pub fn toml_path(&self) -> PathBuf {
        self.dir.with_file_name(format!("{}.toml", self.name))
    }
}

/// Files of a buildpack's layers directory that are not layers.
const NOT_LAYERS: [&str; 3] = ["launch", "build", "store"];

/// The layers of one buildpack's layers directory, by name: every `<layer>.toml` (a malformed one
/// counts as no types).
pub fn read(bp_layers: &Path) -> Vec<Layer> {
    let Ok(entries) = std::fs::read_dir(bp_layers) else {
        return Vec::new();
    };
    let mut layers: Vec<Layer> = entries
        .flatten()
        .filter_map(|entry| {
            let file_name = entry.file_name().to_string_lossy().into_owned();
            let name = file_name.strip_suffix(".toml")?;
            if NOT_LAYERS.contains(&name) || !entry.file_type().ok()?.is_file() {
                return None;
            }
            let types = std::fs::read_to_string(entry.path())
                .ok()
                .and_then(|text| toml::from_str::<LayerToml>(&text).ok())
                .map(|t| t.types)
                .unwrap_or_default();
            Some(Layer {
                name: name.to_owned(),
                dir: bp_layers.join(name),
                types,
            })
        })
        .collect();
    layers.sort_by(|a, b| a.name.cmp(&b.name));
    layers
}

/// After a buildpack's build: renames the directory of each layer without types to
/// `<layer>.ignore`, so later buildpacks cannot depend on it (buildpack spec, "Ignored Layers").
pub fn ignore_untyped(bp_layers: &Path) -> std::io::Result<()> {
    let typed: Vec<String> = read(bp_layers)
        .into_iter()
        .filter(|l| l.types != Types::default())
        .map(|l| l.name)
        .collect();
    for dir in crate::env::layer_dirs(bp_layers) {
        let name = dir
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        if !typed.contains(&name) {
            let ignored = bp_layers.join(format!("{name}.ignore"));
            if ignored.exists() {
                std::fs::remove_dir_all(&ignored)?;
            }
            std::fs::rename(&dir, ignored)?;
        }
    }
    Ok(())
}

/// Once the build is over: removes every directory of a buildpack's layers directory that is not a
/// `launch = true` layer (the `.toml` files stay).
pub fn keep_launch_only(bp_layers: &Path) -> std::io::Result<()> {
    let launch: Vec<String> = read(bp_layers)
        .into_iter()
        .filter(|l| l.types.launch)
        .map(|l| l.name)
        .collect();
    let Ok(entries) = std::fs::read_dir(bp_layers) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.file_type()?.is_dir() && !launch.contains(&name) {
            std::fs::remove_dir_all(entry.path())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(root: &Path, name: &str, toml: Option<&str>) {
        std::fs::create_dir_all(root.join(name).join("bin")).unwrap();
        if let Some(toml) = toml {
            std::fs::write(root.join(format!("{name}.toml")), toml).unwrap();
        }
    }

    #[test]
    fn reads_types_and_skips_the_buildpack_files() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        layer(r, "deps", Some("[types]\nlaunch = true\ncache = true\n"));
        layer(r, "tmp", Some("[metadata]\nx = 1\n"));
        std::fs::write(r.join("launch.toml"), "").unwrap();
        std::fs::write(r.join("store.toml"), "").unwrap();
        let layers = read(r);
        let names: Vec<&str> = layers.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["deps", "tmp"]);
        assert!(layers[0].types.launch && layers[0].types.cache && !layers[0].types.build);
        assert_eq!(layers[1].types, Types::default());
        assert_eq!(layers[0].toml_path(), r.join("deps.toml"));
    }

    #[test]
    fn untyped_layers_are_ignored_and_only_launch_layers_stay() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        layer(r, "app", Some("[types]\nlaunch = true\n"));
        layer(r, "cache", Some("[types]\ncache = true\nbuild = true\n"));
        layer(r, "scratch", Some("[types]\n"));
        layer(r, "stray", None);
        ignore_untyped(r).unwrap();
        assert!(r.join("scratch.ignore").is_dir() && r.join("stray.ignore").is_dir());
        assert!(r.join("cache").is_dir());
        keep_launch_only(r).unwrap();
        let mut left: Vec<String> = std::fs::read_dir(r)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["app", "app.toml", "cache.toml", "scratch.toml"]);
    }
}
