//! Environments of detect, build and launch (CNB buildpack spec 0.10, "Environment"): the layer path
//! variables ("Layer Paths": a layer's `bin/` on `PATH`, `lib/` on `LD_LIBRARY_PATH` and, at build,
//! `LIBRARY_PATH`, `include/` on `CPATH`, `pkgconfig/` on `PKG_CONFIG_PATH`; later buildpacks first,
//! a buildpack's layers by name), the layers' environment files ("Environment Variable Modification
//! Rules": no suffix and `.override`, `.default`, `.append`, `.prepend`, `.delim`), and the platform's
//! `env/` files ("Provided by the Platform": prepended to the layer path variables, overriding any
//! other variable).

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

/// When an environment is used, which decides the layer paths and environment directories.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope<'a> {
    /// A later buildpack's build: `env/` then `env.build/`.
    Build,
    /// The app's launch, for a process type: `env/`, `env.launch/`, `env.launch/<process>/`.
    Launch { process: Option<&'a str> },
}

/// The layer path variables: a layer's sub-directory, its variable, and whether launch sets it.
const LAYER_PATHS: [(&str, &str, bool); 5] = [
    ("bin", "PATH", true),
    ("lib", "LD_LIBRARY_PATH", true),
    ("lib", "LIBRARY_PATH", false),
    ("include", "CPATH", false),
    ("pkgconfig", "PKG_CONFIG_PATH", false),
];

/// An environment: variables by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Env {
    vars: BTreeMap<OsString, OsString>,
}

impl Env {
    /// This process's environment.
    pub fn current() -> Self {
        Self {
            vars: std::env::vars_os().collect(),
        }
    }

    pub fn get(&self, name: &str) -> Option<&OsStr> {
        self.vars.get(OsStr::new(name)).map(OsString::as_os_str)
    }

    pub fn set(&mut self, name: impl Into<OsString>, value: impl Into<OsString>) {
        self.vars.insert(name.into(), value.into());
    }

    pub fn vars(&self) -> impl Iterator<Item = (&OsString, &OsString)> {
        self.vars.iter()
    }

    /// `value` before the current value, joined by `delim` (just `value` when there is none).
    fn prepend(&mut self, name: &OsStr, value: &[u8], delim: &[u8]) {
        let joined = match self.vars.get(name).filter(|v| !v.is_empty()) {
            Some(old) => [value, delim, old.as_bytes()].concat(),
            None => value.to_vec(),
        };
        self.vars
            .insert(name.to_owned(), OsString::from_vec(joined));
    }

    /// `value` after the current value, joined by `delim`.
    fn append(&mut self, name: &OsStr, value: &[u8], delim: &[u8]) {
        let joined = match self.vars.get(name).filter(|v| !v.is_empty()) {
            Some(old) => [old.as_bytes(), delim, value].concat(),
            None => value.to_vec(),
        };
        self.vars
            .insert(name.to_owned(), OsString::from_vec(joined));
    }

    /// The layer path variables of one buildpack's layers (`layers`, sorted by name), as a block
    /// before the current values.
    pub fn add_layer_paths(&mut self, layers: &[PathBuf], scope: Scope<'_>) {
        for (sub, name, at_launch) in LAYER_PATHS {
            if matches!(scope, Scope::Launch { .. }) && !at_launch {
                continue;
            }
            let dirs: Vec<Vec<u8>> = layers
                .iter()
                .map(|layer| layer.join(sub))
                .filter(|dir| dir.is_dir())
                .map(|dir| dir.into_os_string().into_vec())
                .collect();
            if !dirs.is_empty() {
                self.prepend(OsStr::new(name), &dirs.join(&b':'), b":");
            }
        }
    }

    /// The environment files of one layer for `scope`, in the spec's order.
    pub fn add_layer_env(&mut self, layer: &Path, scope: Scope<'_>) {
        let mut dirs = vec![layer.join("env")];
        match scope {
            Scope::Build => dirs.push(layer.join("env.build")),
            Scope::Launch { process } => {
                dirs.push(layer.join("env.launch"));
                if let Some(process) = process {
                    dirs.push(layer.join("env.launch").join(process));
                }
            }
        }
        for dir in &dirs {
            self.apply_env_dir(dir, &dirs[0]);
        }
    }

    /// One environment directory; `.delim` files are looked up in it, then in `fallback` (the
    /// layer's `env/`).
    fn apply_env_dir(&mut self, dir: &Path, fallback: &Path) {
        for (file, name, suffix) in env_files(dir) {
            let Ok(value) = std::fs::read(&file) else {
                continue;
            };
            let delim = || {
                let delim_file = format!("{}.delim", name.to_string_lossy());
                std::fs::read(dir.join(&delim_file))
                    .or_else(|_| std::fs::read(fallback.join(&delim_file)))
                    .unwrap_or_default()
            };
            match suffix.as_str() {
                "" | "override" => self.set(name, OsString::from_vec(value)),
                "default" if self.vars.get(&name).is_none_or(|v| v.is_empty()) => {
                    self.set(name, OsString::from_vec(value))
                }
                "default" => {}
                "append" => self.append(&name, &value, &delim()),
                "prepend" => self.prepend(&name, &value, &delim()),
                // `.delim` only shapes the others; an unknown suffix is not a variable.
                _ => {}
            }
        }
    }

    /// The platform's `<platform>/env/` files: prepended to the layer path variables (with `:`),
    /// overriding every other variable. The file name is the variable's whole name.
    pub fn add_platform_env(&mut self, platform: &Path) {
        let Ok(entries) = std::fs::read_dir(platform.join("env")) else {
            return;
        };
        let mut files: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        for file in files {
            let (Some(name), Ok(value)) = (file.file_name(), std::fs::read(&file)) else {
                continue;
            };
            if LAYER_PATHS
                .iter()
                .any(|(_, var, _)| OsStr::new(var) == name)
            {
                self.prepend(name, &value, b":");
            } else {
                self.set(name, OsString::from_vec(value));
            }
        }
    }
}

/// The files of an environment directory, sorted: (path, variable name, suffix after the first `.`).
fn env_files(dir: &Path) -> Vec<(PathBuf, OsString, String)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<(PathBuf, OsString, String)> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter_map(|p| {
            let file_name = p.file_name()?.as_bytes().to_vec();
            if file_name.starts_with(b".") {
                return None;
            }
            let (name, suffix) = match file_name.iter().position(|&b| b == b'.') {
                Some(dot) => (
                    file_name[..dot].to_vec(),
                    String::from_utf8_lossy(&file_name[dot + 1..]).into_owned(),
                ),
                None => (file_name, String::new()),
            };
            Some((p, OsString::from_vec(name), suffix))
        })
        .collect();
    files.sort();
    files
}

/// The layer directories of a buildpack's layers directory, sorted by name (ignored layers, renamed
/// `<layer>.ignore`, left out).
pub fn layer_dirs(bp_layers: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(bp_layers) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .filter(|p| p.extension().is_none_or(|ext| ext != "ignore"))
        .collect();
    dirs.sort();
    dirs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn get(env: &Env, name: &str) -> String {
        env.get(name)
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn suffixes_follow_the_modification_rules() {
        let layer = tempfile::tempdir().unwrap();
        let l = layer.path();
        write(&l.join("env/PLAIN"), "p");
        write(&l.join("env/OVER.override"), "o");
        write(&l.join("env/DEF.default"), "d");
        write(&l.join("env/SET.default"), "ignored");
        write(&l.join("env/APP.append"), "a");
        write(&l.join("env/APP.delim"), ",");
        write(&l.join("env/PRE.prepend"), "/new");
        write(&l.join("env/PRE.delim"), ":");
        write(&l.join("env/NODELIM.append"), "x");
        let mut env = Env::default();
        for (k, v) in [
            ("PLAIN", "old"),
            ("OVER", "old"),
            ("SET", "kept"),
            ("APP", "1"),
            ("PRE", "/old"),
            ("NODELIM", "w"),
        ] {
            env.set(k, v);
        }
        env.add_layer_env(l, Scope::Build);
        assert_eq!(get(&env, "PLAIN"), "p");
        assert_eq!(get(&env, "OVER"), "o");
        assert_eq!(get(&env, "DEF"), "d");
        assert_eq!(get(&env, "SET"), "kept");
        assert_eq!(get(&env, "APP"), "1,a");
        assert_eq!(get(&env, "PRE"), "/new:/old");
        assert_eq!(get(&env, "NODELIM"), "wx");
        assert_eq!(env.get("APP.delim"), None);
    }

    #[test]
    fn build_and_launch_read_their_own_directories_in_order() {
        let layer = tempfile::tempdir().unwrap();
        let l = layer.path();
        write(&l.join("env/V"), "env");
        write(&l.join("env.build/V.override"), "build");
        write(&l.join("env.launch/V.override"), "launch");
        write(&l.join("env.launch/web/V.override"), "web");
        write(&l.join("env.launch/L.append"), "a");
        write(&l.join("env.launch/web/L.append"), "b");
        let mut build = Env::default();
        build.add_layer_env(l, Scope::Build);
        assert_eq!(get(&build, "V"), "build");
        assert_eq!(build.get("L"), None);
        let mut web = Env::default();
        web.add_layer_env(
            l,
            Scope::Launch {
                process: Some("web"),
            },
        );
        assert_eq!(get(&web, "V"), "web");
        assert_eq!(get(&web, "L"), "ab");
        let mut worker = Env::default();
        worker.add_layer_env(
            l,
            Scope::Launch {
                process: Some("worker"),
            },
        );
        assert_eq!(get(&worker, "V"), "launch");
    }

    #[test]
    fn layer_paths_put_later_buildpacks_first_and_a_buildpacks_layers_by_name() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        for dir in ["bp1/a/bin", "bp2/a/bin", "bp2/b/bin", "bp2/b/lib", "bp2/c"] {
            std::fs::create_dir_all(r.join(dir)).unwrap();
        }
        let mut env = Env::default();
        env.set("PATH", "/usr/bin");
        env.add_layer_paths(&layer_dirs(&r.join("bp1")), Scope::Build);
        env.add_layer_paths(&layer_dirs(&r.join("bp2")), Scope::Build);
        let p = |s: &str| r.join(s).to_string_lossy().into_owned();
        assert_eq!(
            get(&env, "PATH"),
            format!(
                "{}:{}:{}:/usr/bin",
                p("bp2/a/bin"),
                p("bp2/b/bin"),
                p("bp1/a/bin")
            )
        );
        assert_eq!(get(&env, "LIBRARY_PATH"), p("bp2/b/lib"));
        let mut launch = Env::default();
        launch.add_layer_paths(&layer_dirs(&r.join("bp2")), Scope::Launch { process: None });
        assert_eq!(get(&launch, "LD_LIBRARY_PATH"), p("bp2/b/lib"));
        assert_eq!(launch.get("LIBRARY_PATH"), None);
    }

    #[test]
    fn platform_env_prepends_paths_and_overrides_the_rest() {
        let platform = tempfile::tempdir().unwrap();
        write(&platform.path().join("env/PATH"), "/opt/bin");
        write(&platform.path().join("env/NODE_ENV"), "staging");
        write(&platform.path().join("env/WITH.dot"), "kept whole");
        let mut env = Env::default();
        env.set("PATH", "/usr/bin");
        env.set("NODE_ENV", "production");
        env.add_platform_env(platform.path());
        assert_eq!(get(&env, "PATH"), "/opt/bin:/usr/bin");
        assert_eq!(get(&env, "NODE_ENV"), "staging");
        assert_eq!(get(&env, "WITH.dot"), "kept whole");
    }

    #[test]
    fn ignored_layers_are_not_layer_dirs() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("b")).unwrap();
        std::fs::create_dir_all(root.path().join("a.ignore")).unwrap();
        std::fs::write(root.path().join("b.toml"), "").unwrap();
        assert_eq!(layer_dirs(root.path()), [root.path().join("b")]);
    }
}
