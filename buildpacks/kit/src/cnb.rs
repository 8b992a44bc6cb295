//! The translation of the kit's types into libcnb's (libcnb 0.30, Buildpack API 0.10): a detection into
//! a `DetectResult` with its build plan, processes into `launch.toml` entries, and the one error handler
//! every buildpack's `Buildpack::on_error` calls.

use std::fmt::Debug;

use libcnb::data::build_plan::{BuildPlanBuilder, Require};
use libcnb::data::launch::{self, ProcessBuilder, ProcessType, ProcessTypeError};
use libcnb::detect::{DetectResult, DetectResultBuilder};

use crate::detection::Detection;
use crate::problem::{Explain, Problem};
use crate::process::Process;

/// Where the platform puts the layers (`CNB_LAYERS_DIR`'s default, CNB platform spec 0.13).
pub const PLATFORM_LAYERS_DIR: &str = "/layers";

/// A buildpack's own layers directory: `/layers/<id with `/` as `_`>` (CNB buildpack spec 0.10,
/// "Build"), the `<layers>` argument of its build.
pub fn buildpack_layers_dir(id: &str) -> std::path::PathBuf {
    std::path::Path::new(PLATFORM_LAYERS_DIR).join(id.replace('/', "_"))
}

/// `detect`'s result: pass with the plan, or fail; the reason goes to the detect log.
pub fn detect_result<E>(detection: &Detection) -> libcnb::Result<DetectResult, E> {
    match detection {
        Detection::Pass { found, plan } => {
            println!("detected: {found}");
            let mut builder = BuildPlanBuilder::new();
            for name in &plan.provides {
                builder = builder.provides(name);
            }
            for requirement in &plan.requires {
                let mut require = Require::new(&requirement.name);
                // A map of strings is always a TOML table.
                let _ = require.metadata(&requirement.metadata);
                builder = builder.requires(require);
            }
            DetectResultBuilder::pass()
                .build_plan(builder.build())
                .build()
        }
        Detection::Absent => DetectResultBuilder::fail().build(),
        Detection::Incomplete { missing } => {
            println!("not detected: {missing}");
            DetectResultBuilder::fail().build()
        }
    }
}

/// A `launch.toml` process: `sh -c COMMAND`, so `$PORT` and other variables expand at launch. POSIX
/// `sh`, not `bash`: every run image with a shell has it (busybox and Alpine images have no bash).
pub fn launch_process(
    process: &Process,
    default: bool,
) -> Result<launch::Process, ProcessTypeError> {
    let kind: ProcessType = process.kind.parse()?;
    Ok(ProcessBuilder::new(kind, ["sh", "-c", &process.command])
        .default(default)
        .build())
}

/// The error handler: what/why/fix on stderr, for the buildpack's own errors and libcnb's alike.
pub fn on_error<E: Explain + Debug>(error: libcnb::Error<E>) {
    let problem = match error {
        libcnb::Error::BuildpackError(error) => error.explain(),
        other => Problem::new(
            format!("the buildpack framework failed: {other}"),
            "the platform did not give the buildpack what the CNB buildpack API 0.10 promises \
             (directories, CNB_* variables, readable TOML files)",
            "run the buildpack through hoist or a CNB lifecycle; if it already is, report this as a bug",
        ),
    };
    eprintln!("error: {problem}");
}

/// A cache layer kept from build to build as it is (its contents are a package manager's download
/// cache: stale entries are harmless, and the package manager revalidates them). `launch`: whether the
/// app image gets it too.
pub fn kept_layer<B: libcnb::Buildpack>(
    context: &libcnb::build::BuildContext<B>,
    name: libcnb::data::layer::LayerName,
    launch: bool,
) -> libcnb::Result<std::path::PathBuf, B::Error> {
    use libcnb::data::generic::GenericMetadata;
    use libcnb::layer::{CachedLayerDefinition, InvalidMetadataAction, RestoredLayerAction};
    let layer = context.cached_layer(
        name,
        CachedLayerDefinition {
            build: true,
            launch,
            invalid_metadata_action: &|_| InvalidMetadataAction::DeleteLayer,
            restored_layer_action: &|_: &GenericMetadata, _| RestoredLayerAction::KeepLayer,
        },
    )?;
    Ok(layer.path())
}

/// A layer made fresh on every build (an app's installed dependencies), in the app image when `launch`.
pub fn fresh_layer<B: libcnb::Buildpack>(
    context: &libcnb::build::BuildContext<B>,
    name: libcnb::data::layer::LayerName,
    launch: bool,
) -> libcnb::Result<std::path::PathBuf, B::Error> {
    use libcnb::layer::UncachedLayerDefinition;
    let layer = context.uncached_layer(
        name,
        UncachedLayerDefinition {
            build: true,
            launch,
        },
    )?;
    Ok(layer.path())
}

/// Checks a crate's `buildpack.toml` against the id and version its code reports (to hoist, whose
/// `hoist detect` prints them): API 0.10, the same id, the same version. For each crate's unit tests.
pub fn check_descriptor(manifest_dir: &str, id: &str, version: &str) -> Result<(), String> {
    use libcnb::data::buildpack::BuildpackDescriptor;
    let path = std::path::Path::new(manifest_dir).join("buildpack.toml");
    let descriptor: BuildpackDescriptor =
        libcnb::read_toml_file(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let BuildpackDescriptor::Component(descriptor) = descriptor else {
        return Err(format!("{}: not a component buildpack", path.display()));
    };
    let found = (
        descriptor.api.to_string(),
        descriptor.buildpack.id.to_string(),
        descriptor.buildpack.version.to_string(),
    );
    let wanted = ("0.10".to_owned(), id.to_owned(), version.to_owned());
    if found == wanted {
        Ok(())
    } else {
        Err(format!(
            "{}: (api, id, version) is {found:?}, the code says {wanted:?}",
            path.display()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_dirs_escape_the_id() {
        assert_eq!(
            buildpack_layers_dir("hoist/go"),
            std::path::Path::new("/layers/hoist_go")
        );
    }

    #[test]
    fn launch_processes_run_through_sh() {
        let process = launch_process(&Process::web("node server.js"), true).unwrap();
        assert_eq!(process.command, ["sh", "-c", "node server.js"]);
        assert!(process.default);
        assert_eq!(process.r#type.as_str(), "web");
    }
}
