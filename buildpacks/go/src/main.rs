//! The libcnb `Buildpack` impl of hoist/go: detection by [`detect::detect`]; a build that compiles the
//! root package into the `app` layer (caches in the `cache` layer) and makes the binary the `web`
//! process.

use buildpack_go::error::GoBuildpackError;
use buildpack_go::{compile, detect, layers, start};
use buildpack_kit::detection::has_file;
use buildpack_kit::{build_command, cnb};
use libcnb::build::{BuildContext, BuildResult, BuildResultBuilder};
use libcnb::data::launch::LaunchBuilder;
use libcnb::detect::{DetectContext, DetectResult};
use libcnb::generic::{GenericMetadata, GenericPlatform};
use libcnb::{Buildpack, buildpack_main};

struct GoBuildpack;

impl Buildpack for GoBuildpack {
    type Platform = GenericPlatform;
    type Metadata = GenericMetadata;
    type Error = GoBuildpackError;

    fn detect(&self, context: DetectContext<Self>) -> libcnb::Result<DetectResult, Self::Error> {
        cnb::detect_result(&detect::detect(&context.app_dir))
    }

    fn build(&self, context: BuildContext<Self>) -> libcnb::Result<BuildResult, Self::Error> {
        let app = &context.app_dir;
        let process =
            start::web_process_of(app, &context.layers_dir).map_err(GoBuildpackError::GoMod)?;
        let cache = layers::cache::create(&context)?;
        let binary = layers::app::create(&context, &process)?;
        let mut command =
            compile::step(&binary, has_file(app, detect::VENDOR_MODULES)).command(app);
        command.envs(compile::env(&cache));
        build_command::run(&mut command).map_err(GoBuildpackError::Command)?;
        let mut launch = LaunchBuilder::new();
        launch.process(cnb::launch_process(&process, true)?);
        BuildResultBuilder::new().launch(launch.build()).build()
    }

    fn on_error(&self, error: libcnb::Error<Self::Error>) {
        cnb::on_error(error);
    }
}

buildpack_main!(GoBuildpack);
