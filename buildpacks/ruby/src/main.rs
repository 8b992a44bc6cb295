//! The libcnb `Buildpack` impl of hoist/ruby: detection by [`detect::detect`]; a build that checks
//! there will be a `web` process, runs `bundle install` into the `gems` layer and sets the default
//! `web` process (rails server or rackup on 0.0.0.0:$PORT).

use buildpack_kit::{build_command, cnb, procfile};
use buildpack_ruby::error::RubyBuildpackError;
use buildpack_ruby::{detect, install, layers, start};
use libcnb::build::{BuildContext, BuildResult, BuildResultBuilder};
use libcnb::data::launch::LaunchBuilder;
use libcnb::detect::{DetectContext, DetectResult};
use libcnb::generic::{GenericMetadata, GenericPlatform};
use libcnb::{Buildpack, buildpack_main};

struct RubyBuildpack;

impl Buildpack for RubyBuildpack {
    type Platform = GenericPlatform;
    type Metadata = GenericMetadata;
    type Error = RubyBuildpackError;

    fn detect(&self, context: DetectContext<Self>) -> libcnb::Result<DetectResult, Self::Error> {
        cnb::detect_result(&detect::detect(&context.app_dir))
    }

    fn build(&self, context: BuildContext<Self>) -> libcnb::Result<BuildResult, Self::Error> {
        let app = &context.app_dir;
        let procfile = procfile::read(app).map_err(RubyBuildpackError::Procfile)?;
        let default = start::default_process_of(app);
        let web = default
            .resolve(procfile.as_ref())
            .map_err(|problem| RubyBuildpackError::NoWebProcess(problem.clone()))?;

        let gems = layers::gems::create(&context)?;
        let env = install::env(&gems);
        let mut command = install::step().command(app);
        command.envs(env.iter().map(|(k, v)| (k, v)));
        build_command::run(&mut command).map_err(RubyBuildpackError::Command)?;
        layers::gems::write_env(&gems, &env).map_err(RubyBuildpackError::LayerEnv)?;

        let mut launch = LaunchBuilder::new();
        if let Some(process) = web {
            launch.process(cnb::launch_process(process, true)?);
        }
        BuildResultBuilder::new().launch(launch.build()).build()
    }

    fn on_error(&self, error: libcnb::Error<Self::Error>) {
        cnb::on_error(error);
    }
}

buildpack_main!(RubyBuildpack);
