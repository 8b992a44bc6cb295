//! The libcnb `Buildpack` impl of hoist/nodejs: detection by [`detect::detect`]; a build that installs
//! the lockfile's packages with their package manager (its download cache in the `cache` layer), runs
//! `scripts.build`, drops dev dependencies, and sets the `web` process of [`start::default_process`].

use buildpack_kit::{build_command, cnb};
use buildpack_nodejs::error::NodejsBuildpackError;
use buildpack_nodejs::{detect, install, layers, start};
use libcnb::build::{BuildContext, BuildResult, BuildResultBuilder};
use libcnb::data::launch::LaunchBuilder;
use libcnb::detect::{DetectContext, DetectResult};
use libcnb::generic::{GenericMetadata, GenericPlatform};
use libcnb::{Buildpack, buildpack_main};

struct NodejsBuildpack;

impl Buildpack for NodejsBuildpack {
    type Platform = GenericPlatform;
    type Metadata = GenericMetadata;
    type Error = NodejsBuildpackError;

    fn detect(&self, context: DetectContext<Self>) -> libcnb::Result<DetectResult, Self::Error> {
        cnb::detect_result(&detect::detect(&context.app_dir))
    }

    fn build(&self, context: BuildContext<Self>) -> libcnb::Result<BuildResult, Self::Error> {
        let app = &context.app_dir;
        let (_, manager) = detect::lockfile(app).ok_or(NodejsBuildpackError::NoLockfile)?;
        let text = std::fs::read_to_string(app.join(detect::PACKAGE_JSON)).map_err(|e| {
            NodejsBuildpackError::PackageJson(start::PackageJsonError {
                message: e.to_string(),
            })
        })?;
        let process = start::default_process(&text).map_err(NodejsBuildpackError::PackageJson)?;
        let package_json: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();

        let cache = layers::cache::create(&context)?;
        let yarn_berry = app.join(".yarnrc.yml").is_file();
        for step in install::steps(
            manager,
            yarn_berry,
            install::has_build_script(&package_json),
        ) {
            let mut command = step.command(app);
            command.env(install::cache_variable(manager), &cache);
            command.envs(install::quiet_variables(manager).iter().copied());
            build_command::run(&mut command).map_err(NodejsBuildpackError::Command)?;
        }

        let mut launch = LaunchBuilder::new();
        launch.process(cnb::launch_process(&process, true)?);
        BuildResultBuilder::new().launch(launch.build()).build()
    }

    fn on_error(&self, error: libcnb::Error<Self::Error>) {
        cnb::on_error(error);
    }
}

buildpack_main!(NodejsBuildpack);
