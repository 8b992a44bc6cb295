//! The libcnb `Buildpack` impl of hoist/php: detection by [`detect::detect`]; a build that first
//! insists on a Procfile `web` process, then runs `composer install` (cache in the `cache` layer). The
//! processes come from hoist/procfile.

use buildpack_kit::{build_command, cnb, procfile};
use buildpack_php::error::PhpBuildpackError;
use buildpack_php::{detect, install, layers, start};
use libcnb::build::{BuildContext, BuildResult, BuildResultBuilder};
use libcnb::detect::{DetectContext, DetectResult};
use libcnb::generic::{GenericMetadata, GenericPlatform};
use libcnb::{Buildpack, buildpack_main};

struct PhpBuildpack;

impl Buildpack for PhpBuildpack {
    type Platform = GenericPlatform;
    type Metadata = GenericMetadata;
    type Error = PhpBuildpackError;

    fn detect(&self, context: DetectContext<Self>) -> libcnb::Result<DetectResult, Self::Error> {
        cnb::detect_result(&detect::detect(&context.app_dir))
    }

    fn build(&self, context: BuildContext<Self>) -> libcnb::Result<BuildResult, Self::Error> {
        let app = &context.app_dir;
        let procfile = procfile::read(app).map_err(PhpBuildpackError::Procfile)?;
        start::default_process()
            .resolve(procfile.as_ref())
            .map_err(|problem| PhpBuildpackError::NoWebProcess(problem.clone()))?;
        let cache = layers::cache::create(&context)?;
        let mut command = install::step().command(app);
        command.envs(install::env(&cache));
        build_command::run(&mut command).map_err(PhpBuildpackError::Command)?;
        BuildResultBuilder::new().build()
    }

    fn on_error(&self, error: libcnb::Error<Self::Error>) {
        cnb::on_error(error);
    }
}

buildpack_main!(PhpBuildpack);
