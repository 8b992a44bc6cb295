//! The build and run images of a buildpack build: `--builder`/`--run-image` when given, else the
//! language's defaults — the official images the seed platform's builder is made of — which a
//! config file may override per language:
//!
//! ```toml
//! # $XDG_CONFIG_HOME/hoist/buildpacks.toml (~/.config/hoist/buildpacks.toml), or $HOIST_BUILDPACKS_CONFIG
//! [nodejs]
//! builder = "registry.example.com/base/node:22"
//! run-image = "registry.example.com/base/node:22-slim"
//! ```
//!
//! The language is the group's first buildpack other than procfile (a Ruby app with Node.js builds
//! on Ruby's images); a Procfile-only app uses Debian's.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::order::Buildpack;

/// The default `(builder, run image)` of a language buildpack.
pub fn defaults(language: Buildpack) -> (&'static str, &'static str) {
    match language {
        Buildpack::Nodejs => ("node:22-bookworm", "node:22-bookworm-slim"),
        Buildpack::Python => ("python:3.12", "python:3.12-slim"),
        Buildpack::Go => ("golang:1.23", "debian:bookworm-slim"),
        Buildpack::Java => ("maven:3-eclipse-temurin-21", "eclipse-temurin:21-jre"),
        Buildpack::Ruby => ("ruby:3.3", "ruby:3.3-slim"),
        // php:8.3-cli has no Composer; the official composer image is PHP's CLI with it.
        Buildpack::Php => ("composer:2", "php:8.3-cli"),
        Buildpack::Procfile => ("debian:bookworm", "debian:bookworm-slim"),
    }
}

/// `nodejs` for `hoist/nodejs`: the config file's section names.
pub fn short_name(buildpack: Buildpack) -> &'static str {
    let id = buildpack.id();
    id.strip_prefix("hoist/").unwrap_or(id)
}

/// The language whose images a group builds on.
pub fn language(group: &[(Buildpack, bool)]) -> Buildpack {
    group
        .iter()
        .map(|(b, _)| *b)
        .find(|b| *b != Buildpack::Procfile)
        .unwrap_or(Buildpack::Procfile)
}

/// One language's entry in the config file.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Override {
    pub builder: Option<String>,
    pub run_image: Option<String>,
}

/// The config file, by buildpack name (`nodejs`, `python`, …, `procfile`).
pub type Overrides = BTreeMap<String, Override>;

/// Reads the config file; a missing file is no overrides.
pub fn load(path: &Path) -> Result<Overrides, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Overrides::new()),
        Err(e) => return Err(format!("cannot read `{}`: {e}", path.display())),
    };
    let overrides: Overrides = toml::from_str(&text).map_err(|e| {
        format!(
            "`{}` is not a buildpack image config: {e}\nhint: write `[nodejs]` then `builder = \"IMAGE\"` and `run-image = \"IMAGE\"`",
            path.display()
        )
    })?;
    for name in overrides.keys() {
        if !Buildpack::ALL.iter().any(|b| short_name(*b) == name) {
            let known: Vec<&str> = Buildpack::ALL.iter().map(|b| short_name(*b)).collect();
            return Err(format!(
                "`{}`: `[{name}]` is not a buildpack\nhint: the sections are {}",
                path.display(),
                known.join(", ")
            ));
        }
    }
    Ok(overrides)
}

/// `(builder, run image)` for `language`: the config file's values over the defaults.
pub fn choose(language: Buildpack, overrides: &Overrides) -> (String, String) {
    let (builder, run) = defaults(language);
    let entry = overrides
        .get(short_name(language))
        .cloned()
        .unwrap_or_default();
    (
        entry.builder.unwrap_or_else(|| builder.to_string()),
        entry.run_image.unwrap_or_else(|| run.to_string()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_language_skips_procfile_and_the_config_overrides_defaults() {
        let group = [(Buildpack::Ruby, false), (Buildpack::Nodejs, true)];
        assert_eq!(language(&group), Buildpack::Ruby);
        assert_eq!(
            language(&[(Buildpack::Procfile, false)]),
            Buildpack::Procfile
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("buildpacks.toml");
        std::fs::write(&file, "[nodejs]\nrun-image = \"mirror/node:slim\"\n").unwrap();
        let overrides = load(&file).unwrap();
        assert_eq!(
            choose(Buildpack::Nodejs, &overrides),
            (
                "node:22-bookworm".to_string(),
                "mirror/node:slim".to_string()
            )
        );
        std::fs::write(&file, "[rust]\nbuilder = \"x\"\n").unwrap();
        assert!(
            load(&file)
                .unwrap_err()
                .contains("`[rust]` is not a buildpack")
        );
        assert!(load(&dir.path().join("none.toml")).unwrap().is_empty());
    }
}
