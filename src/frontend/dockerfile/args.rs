//! Build arguments as the Dockerfile reference scopes them: `--build-arg` values override ARG
//! defaults, global ARGs (before the first FROM) feed FROM lines and are visible in a stage only when
//! re-declared there, and the automatic ARGs (`TARGETARCH`, `BUILDPLATFORM`, ..., and `TARGETSTAGE`,
//! the name of the stage being built).

use super::expand;
use super::instruction::ArgDecl;

/// Build arguments: `--build-arg` values, global ARGs, automatic platform ARGs.
#[derive(Clone, Debug, Default)]
pub struct Args {
    pub overrides: Vec<(String, String)>,
    pub meta: Vec<(String, String)>,
    pub automatic: Vec<(String, String)>,
}

pub fn get<'a>(list: &'a [(String, String)], key: &str) -> Option<&'a String> {
    list.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
}

pub fn set(list: &mut Vec<(String, String)>, key: &str, value: String) {
    list.retain(|(k, _)| k != key);
    list.push((key.to_string(), value));
}

impl Args {
    /// `stage` is the target stage's name for `TARGETSTAGE` (`--target` as given, else the last
    /// stage's name, else `default`).
    pub fn new(
        build_args: &[(String, Option<String>)],
        platforms: super::stages::Platforms<'_>,
        stage: &str,
    ) -> Args {
        let overrides = build_args
            .iter()
            .filter_map(|(k, v)| {
                let value = v.clone().or_else(|| std::env::var(k).ok())?;
                Some((k.clone(), value))
            })
            .collect();
        let mut automatic = Vec::new();
        for (prefix, p) in [("TARGET", platforms.target), ("BUILD", platforms.build)] {
            automatic.push((format!("{prefix}PLATFORM"), p.to_string()));
            automatic.push((format!("{prefix}OS"), p.os.clone()));
            automatic.push((format!("{prefix}ARCH"), p.architecture.clone()));
            automatic.push((
                format!("{prefix}VARIANT"),
                p.variant.clone().unwrap_or_default(),
            ));
        }
        automatic.push(("TARGETSTAGE".to_string(), stage.to_string()));
        Args {
            overrides,
            meta: Vec::new(),
            automatic,
        }
    }

    /// The value an `ARG` declaration gets: a `--build-arg`, else its default (expanded by `lookup`),
    /// else (inside a stage) the global ARG or automatic ARG of that name.
    pub fn declare(
        &self,
        decl: &ArgDecl,
        global: bool,
        escape: char,
        lookup: expand::Lookup<'_>,
    ) -> Result<Option<String>, expand::ExpandError> {
        if let Some(v) = get(&self.overrides, &decl.name) {
            return Ok(Some(v.clone()));
        }
        if let Some(default) = &decl.default {
            return expand::word(default, escape, lookup).map(Some);
        }
        if global {
            return Ok(get(&self.automatic, &decl.name).cloned());
        }
        Ok(get(&self.meta, &decl.name)
            .or_else(|| get(&self.automatic, &decl.name))
            .cloned())
    }

    /// Lookup for FROM lines: global ARGs and automatic ARGs.
    pub fn global(&self, key: &str) -> Option<String> {
        get(&self.meta, key)
            .or_else(|| get(&self.automatic, key))
            .cloned()
    }
}
