//! The builder (CNB platform spec 0.13, "Builder"; buildpack spec 0.10, "Phase #3: Build"): restores
//! cache layers ([`crate::cache`]), runs each buildpack's `bin/build <layers> <platform> <plan>` of
//! `group.toml` in order — with the layer paths and `env/` + `env.build/` files of the `build = true`
//! layers of the buildpacks before it, the platform's environment unless `clear-env`, and its
//! Buildpack Plan (the plan entries it provides, less those an earlier provider met: "Unmet
//! Buildpack Plan Entries") — then saves cache layers, leaves only launch layers, and writes
//! `config/metadata.toml` and `config/launch-layers.toml`.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde::Deserialize;

use crate::descriptor::{Buildpack, Group};
use crate::env::{Env, Scope};
use crate::error::{self, Error};
use crate::flags::Paths;
use crate::layers;
use crate::metadata::{BuildpackRef, Launch, LaunchLayer, LaunchLayers, Metadata};
use crate::plan::{BuildpackPlan, PlanFile};
use crate::scratch::Scratch;
use crate::{cache, target};

/// A buildpack's `build.toml`: the plan entries it did not meet.
#[derive(Debug, Default, Deserialize)]
struct BuildToml {
    #[serde(default)]
    unmet: Vec<Unmet>,
}

#[derive(Debug, Deserialize)]
struct Unmet {
    name: String,
}

/// Runs the build phase.
pub fn run(paths: &Paths) -> Result<(), Error> {
    let code = error::BUILD_ERROR;
    let group: Group = error::read_toml(code, &paths.group)?.ok_or_else(|| {
        Error::new(
            code,
            format!("`{}` does not exist", paths.group.display()),
            "the builder builds the group the detector chose",
            "run the detector first (or `creator`, which runs both), or pass `-group FILE`",
        )
    })?;
    let mut plan: PlanFile = error::read_toml(code, &paths.plan)?.unwrap_or_default();
    let group: Vec<Buildpack> = group
        .group
        .iter()
        .map(|g| Buildpack::find(&paths.buildpacks, &g.id, Some(&g.version), code))
        .collect::<Result<_, _>>()?;
    std::fs::create_dir_all(&paths.layers)
        .map_err(|e| Error::io(code, "create", &paths.layers, e))?;

    if paths.cache.is_dir() {
        println!("===> RESTORING");
        let restored = cache::restore(&paths.cache, &paths.layers, &group)
            .map_err(|e| Error::io(code, "restore cache layers from", &paths.cache, e))?;
        for layer in restored {
            println!("restored cache layer `{layer}`");
        }
    }

    println!("===> BUILDING");
    let scratch = Scratch::new("build", &paths.layers)
        .map_err(|e| Error::io(code, "create", &std::env::temp_dir(), e))?;
    let targets = target::variables();
    let mut build_env = Env::current();
    let mut metadata = Metadata::default();
    for bp in &group {
        let bp_layers = bp.layers_dir(&paths.layers);
        std::fs::create_dir_all(&bp_layers)
            .map_err(|e| Error::io(code, "create", &bp_layers, e))?;
        let plan_path = scratch.path().join(format!(
            "{}.plan.toml",
            crate::descriptor::escape_id(&bp.id)
        ));
        let bp_plan = take_entries(&mut plan, bp);
        error::write_toml(code, &plan_path, &bp_plan)?;

        let mut env = build_env.clone();
        if !bp.clear_env {
            env.add_platform_env(&paths.platform);
        }
        env.set("CNB_BUILDPACK_DIR", &bp.dir);
        env.set("CNB_LAYERS_DIR", &bp_layers);
        env.set("CNB_PLATFORM_DIR", &paths.platform);
        env.set("CNB_BP_PLAN_PATH", &plan_path);
        for (name, value) in &targets {
            env.set(*name, value);
        }
        println!("--- {}", bp.name());
        let program = bp.dir.join("bin").join("build");
        let status = Command::new(&program)
            .arg(&bp_layers)
            .arg(&paths.platform)
            .arg(&plan_path)
            .current_dir(&paths.app)
            .env_clear()
            .envs(env.vars())
            .stdin(Stdio::null())
            .status()
            .map_err(|e| {
                Error::new(
                    error::FAILED_BUILD_WITH_ERRORS,
                    format!(
                        "cannot run `{}` of buildpack `{}`: {e}",
                        program.display(),
                        bp.name()
                    ),
                    "each buildpack's `bin/build` must be an executable for this machine",
                    "reinstall the buildpacks with `buildpacks/package.sh`",
                )
            })?;
        if !status.success() {
            return Err(Error::new(
                error::FAILED_BUILD_WITH_ERRORS,
                format!("buildpack `{}` failed to build ({status})", bp.name()),
                "its output above says what went wrong",
                "fix what it reports and build again",
            ));
        }

        let build: BuildToml =
            error::read_toml(code, &bp_layers.join("build.toml"))?.unwrap_or_default();
        requeue_unmet(&mut plan, bp, &bp_plan, &build);
        let launch: Launch =
            error::read_toml(code, &bp_layers.join("launch.toml"))?.unwrap_or_default();
        check_processes(bp, &launch)?;
        metadata.add(
            BuildpackRef {
                id: bp.id.clone(),
                version: bp.version.clone(),
                api: bp.api.clone(),
            },
            launch,
        );
        layers::ignore_untyped(&bp_layers)
            .map_err(|e| Error::io(code, "set aside the untyped layers of", &bp_layers, e))?;
        let build_layers: Vec<PathBuf> = layers::read(&bp_layers)
            .into_iter()
            .filter(|l| l.types.build && l.dir.is_dir())
            .map(|l| l.dir)
            .collect();
        build_env.add_layer_paths(&build_layers, Scope::Build);
        for layer in &build_layers {
            build_env.add_layer_env(layer, Scope::Build);
        }
    }

    println!("===> CACHING");
    match cache::save(&paths.cache, &paths.layers, &group) {
        Ok(saved) => {
            for layer in saved {
                println!("cached layer `{layer}`");
            }
        }
        // The image is fine without a cache; the next build is only slower.
        Err(e) => eprintln!(
            "warning: cannot save the cache layers to `{}`: {e}\nhint: give the builder a writable `-cache-dir`",
            paths.cache.display()
        ),
    }
    let mut launch_layers = LaunchLayers::default();
    for bp in &group {
        let bp_layers = bp.layers_dir(&paths.layers);
        layers::keep_launch_only(&bp_layers)
            .map_err(|e| Error::io(code, "remove the build-only layers of", &bp_layers, e))?;
        for layer in layers::read(&bp_layers)
            .into_iter()
            .filter(|l| l.types.launch)
        {
            if !layer.dir.is_dir() {
                eprintln!(
                    "warning: `{}` is a launch layer without a directory; it is left out (hoist does not reuse layers of a previous image)",
                    layer.toml_path().display()
                );
                continue;
            }
            launch_layers.layers.push(LaunchLayer {
                buildpack: bp.id.clone(),
                name: layer.name.clone(),
                path: layer.dir.to_string_lossy().into_owned(),
            });
        }
    }
    let config = paths.layers.join("config");
    error::write_toml(code, &config.join("metadata.toml"), &metadata)?;
    error::write_toml(code, &config.join("launch-layers.toml"), &launch_layers)?;
    match metadata.default_type() {
        Some(kind) => println!("default process: {kind}"),
        None if metadata.processes.is_empty() => println!("no processes"),
        None => println!(
            "no default process (types: {})",
            metadata.types().join(", ")
        ),
    }
    Ok(())
}

/// The Buildpack Plan of `bp`: every require of every entry it provides.
fn take_entries(plan: &mut PlanFile, bp: &Buildpack) -> BuildpackPlan {
    let entries = plan
        .entries
        .iter()
        .filter(|e| {
            e.providers
                .iter()
                .any(|p| p.id == bp.id && p.version == bp.version)
        })
        .flat_map(|e| e.requires.iter().cloned())
        .collect();
    BuildpackPlan { entries }
}

/// After `bp` built: the entries it met leave the plan; an unmet one goes to the next provider.
fn requeue_unmet(plan: &mut PlanFile, bp: &Buildpack, given: &BuildpackPlan, build: &BuildToml) {
    let given: Vec<&str> = given.entries.iter().map(|r| r.name.as_str()).collect();
    plan.entries.retain_mut(|entry| {
        let mine = entry
            .providers
            .iter()
            .any(|p| p.id == bp.id && p.version == bp.version);
        let name = entry
            .requires
            .first()
            .map(|r| r.name.as_str())
            .unwrap_or_default();
        if !mine || !given.contains(&name) {
            return true;
        }
        if build.unmet.iter().any(|u| u.name == name) {
            entry
                .providers
                .retain(|p| p.id != bp.id || p.version != bp.version);
            !entry.providers.is_empty()
        } else {
            false
        }
    });
}

/// `launch.toml`'s processes: valid types, one default at most, a command.
fn check_processes(bp: &Buildpack, launch: &Launch) -> Result<(), Error> {
    let bad = |what: String| {
        Error::new(
            error::FAILED_BUILD_WITH_ERRORS,
            format!(
                "buildpack `{}` wrote a bad `launch.toml`: {what}",
                bp.name()
            ),
            "process types are letters, digits, `.`, `_` and `-`; each has a command; one is the default at most",
            "this is a bug in the buildpack; report it to its authors",
        )
    };
    let defaults = launch.processes.iter().filter(|p| p.default).count();
    if defaults > 1 {
        return Err(bad(format!("{defaults} processes are `default = true`")));
    }
    for process in &launch.processes {
        let valid = !process.r#type.is_empty()
            && process
                .r#type
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !valid {
            return Err(bad(format!("`{}` is not a process type", process.r#type)));
        }
        if process.command.first().is_none_or(|c| c.is_empty()) {
            return Err(bad(format!(
                "the `{}` process has no command",
                process.r#type
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{PlanFileEntry, Provider, Require};

    fn bp(id: &str) -> Buildpack {
        Buildpack {
            id: id.to_owned(),
            version: "1".to_owned(),
            api: "0.10".to_owned(),
            clear_env: false,
            dir: PathBuf::new(),
        }
    }

    fn entry(name: &str, providers: &[&str]) -> PlanFileEntry {
        PlanFileEntry {
            providers: providers
                .iter()
                .map(|id| Provider {
                    id: (*id).to_owned(),
                    version: "1".to_owned(),
                })
                .collect(),
            requires: vec![Require {
                name: name.to_owned(),
                metadata: toml::Table::new(),
            }],
        }
    }

    #[test]
    fn a_met_entry_leaves_the_plan_and_an_unmet_one_goes_to_the_next_provider() {
        let mut plan = PlanFile {
            entries: vec![entry("node", &["a", "b"]), entry("yarn", &["a", "b"])],
        };
        let given = take_entries(&mut plan, &bp("a"));
        assert_eq!(given.entries.len(), 2);
        let build = BuildToml {
            unmet: vec![Unmet {
                name: "yarn".to_owned(),
            }],
        };
        requeue_unmet(&mut plan, &bp("a"), &given, &build);
        assert_eq!(plan.entries.len(), 1);
        let given = take_entries(&mut plan, &bp("b"));
        assert_eq!(given.entries[0].name, "yarn");
    }

    #[test]
    fn bad_process_types_and_two_defaults_are_refused() {
        let launch: Launch = toml::from_str(
            "[[processes]]\ntype = \"web\"\ncommand = [\"a\"]\ndefault = true\n\
             [[processes]]\ntype = \"w\"\ncommand = [\"b\"]\ndefault = true\n",
        )
        .unwrap();
        let err = check_processes(&bp("a"), &launch).unwrap_err();
        assert!(err.what.contains("2 processes"), "{err}");
        let launch: Launch =
            toml::from_str("[[processes]]\ntype = \"we b\"\ncommand = [\"a\"]\n").unwrap();
        assert!(check_processes(&bp("a"), &launch).is_err());
    }
}
