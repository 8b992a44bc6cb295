//! The phases' flags, Go-style as the CNB lifecycle takes them (`-app DIR`, `-app=DIR`; `--app` works
//! too), each with the environment variable of CNB platform spec 0.13 ("Inputs") and the platform
//! default documented at the crate's root. A flag wins over its variable, the variable over the default.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::Phase;
use crate::error::{self, Error};

/// Every directory and file a phase reads or writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    pub order: PathBuf,
    pub buildpacks: PathBuf,
    pub app: PathBuf,
    pub layers: PathBuf,
    pub platform: PathBuf,
    pub group: PathBuf,
    pub plan: PathBuf,
    pub cache: PathBuf,
}

/// One flag: its name, its variable, which phases take it.
struct Spec {
    name: &'static str,
    variable: &'static str,
    detector: bool,
    builder: bool,
}

const SPECS: [Spec; 8] = [
    spec("order", "CNB_ORDER_PATH", true, false),
    spec("buildpacks", "CNB_BUILDPACKS_DIR", true, true),
    spec("app", "CNB_APP_DIR", true, true),
    spec("layers", "CNB_LAYERS_DIR", true, true),
    spec("platform", "CNB_PLATFORM_DIR", true, true),
    spec("group", "CNB_GROUP_PATH", true, true),
    spec("plan", "CNB_PLAN_PATH", true, true),
    spec("cache-dir", "CNB_CACHE_DIR", false, true),
];

const fn spec(name: &'static str, variable: &'static str, detector: bool, builder: bool) -> Spec {
    Spec {
        name,
        variable,
        detector,
        builder,
    }
}

impl Spec {
    fn taken_by(&self, phase: Phase) -> bool {
        match phase {
            Phase::Detector => self.detector,
            Phase::Builder => self.builder,
            Phase::Creator => self.detector || self.builder,
            Phase::Launcher => false,
        }
    }
}

/// The flags given, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flags {
    given: Vec<(&'static str, PathBuf)>,
}

impl Flags {
    /// Parses `args` (argv without argv[0] and the phase) for `phase`.
    pub fn parse(phase: Phase, args: &[OsString]) -> Result<Flags, Error> {
        let mut flags = Flags::default();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let text = arg.to_string_lossy();
            let Some(flag) = text.strip_prefix("--").or_else(|| text.strip_prefix('-')) else {
                return Err(bad(phase, format!("unexpected argument `{text}`")));
            };
            let (name, inline) = match flag.split_once('=') {
                Some((name, value)) => (name, Some(OsString::from(value))),
                None => (flag, None),
            };
            let Some(spec) = SPECS.iter().find(|s| s.name == name && s.taken_by(phase)) else {
                return Err(bad(phase, format!("unknown flag `-{name}`")));
            };
            let value = match inline.or_else(|| args.next().cloned()) {
                Some(value) => value,
                None => return Err(bad(phase, format!("`-{name}` needs a value"))),
            };
            flags.given.retain(|(n, _)| *n != spec.name);
            flags.given.push((spec.name, PathBuf::from(value)));
        }
        Ok(flags)
    }

    /// The paths: flags, else the environment, else the platform defaults; made absolute, since
    /// buildpacks run in the app directory.
    pub fn paths(&self) -> Paths {
        let paths = self.paths_with(|name| std::env::var_os(name));
        let absolute = |p: PathBuf| std::path::absolute(&p).unwrap_or(p);
        Paths {
            order: absolute(paths.order),
            buildpacks: absolute(paths.buildpacks),
            app: absolute(paths.app),
            layers: absolute(paths.layers),
            platform: absolute(paths.platform),
            group: absolute(paths.group),
            plan: absolute(paths.plan),
            cache: absolute(paths.cache),
        }
    }

    fn paths_with(&self, var: impl Fn(&str) -> Option<OsString>) -> Paths {
        let get = |name: &str| -> Option<PathBuf> {
            let spec = SPECS.iter().find(|s| s.name == name)?;
            self.given
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.clone())
                .or_else(|| {
                    var(spec.variable)
                        .filter(|v| !v.is_empty())
                        .map(PathBuf::from)
                })
        };
        let layers = get("layers").unwrap_or_else(|| "/layers".into());
        Paths {
            order: get("order").unwrap_or_else(|| "/cnb/order.toml".into()),
            buildpacks: get("buildpacks").unwrap_or_else(|| "/cnb/buildpacks".into()),
            app: get("app").unwrap_or_else(|| "/workspace".into()),
            platform: get("platform").unwrap_or_else(|| "/platform".into()),
            group: get("group").unwrap_or_else(|| layers.join("group.toml")),
            plan: get("plan").unwrap_or_else(|| layers.join("plan.toml")),
            cache: get("cache-dir").unwrap_or_else(|| "/cache".into()),
            layers,
        }
    }
}

fn bad(phase: Phase, what: String) -> Error {
    let names: Vec<String> = SPECS
        .iter()
        .filter(|s| s.taken_by(phase))
        .map(|s| format!("-{} ({})", s.name, s.variable))
        .collect();
    Error::new(
        error::INVALID_ARGS,
        format!("{}: {what}", phase.name()),
        format!("`{}` takes {}", phase.name(), names.join(", ")),
        "pass each flag as `-name VALUE` or `-name=VALUE`",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn defaults_are_the_platform_paths() {
        let paths = Flags::default().paths_with(|_| None);
        assert_eq!(paths.order, PathBuf::from("/cnb/order.toml"));
        assert_eq!(paths.app, PathBuf::from("/workspace"));
        assert_eq!(paths.group, PathBuf::from("/layers/group.toml"));
        assert_eq!(paths.plan, PathBuf::from("/layers/plan.toml"));
        assert_eq!(paths.cache, PathBuf::from("/cache"));
    }

    #[test]
    fn flags_win_over_variables_and_move_the_layers_files() {
        let flags = Flags::parse(
            Phase::Creator,
            &args(&["-layers", "/l", "--app=/a", "-cache-dir", "/c"]),
        )
        .unwrap();
        let paths = flags.paths_with(|name| match name {
            "CNB_APP_DIR" => Some("/env-app".into()),
            "CNB_PLATFORM_DIR" => Some("/env-platform".into()),
            _ => None,
        });
        assert_eq!(paths.app, PathBuf::from("/a"));
        assert_eq!(paths.platform, PathBuf::from("/env-platform"));
        assert_eq!(paths.group, PathBuf::from("/l/group.toml"));
        assert_eq!(paths.cache, PathBuf::from("/c"));
    }

    #[test]
    fn relative_paths_are_made_absolute() {
        let flags =
            Flags::parse(Phase::Detector, &args(&["-buildpacks", "cnb/buildpacks"])).unwrap();
        let paths = flags.paths();
        assert!(paths.buildpacks.is_absolute());
        assert!(paths.buildpacks.ends_with("cnb/buildpacks"));
    }

    #[test]
    fn unknown_flags_and_missing_values_are_errors() {
        let err = Flags::parse(Phase::Detector, &args(&["-cache-dir", "/c"])).unwrap_err();
        assert!(err.what.contains("unknown flag `-cache-dir`"), "{err}");
        let err = Flags::parse(Phase::Builder, &args(&["-app"])).unwrap_err();
        assert!(err.what.contains("needs a value"), "{err}");
        assert_eq!(err.code, error::INVALID_ARGS);
    }
}
