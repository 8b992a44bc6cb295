//! The libcnb `Buildpack` impl of hoist/java: detection by [`detect::detect`]; a build that packages
//! the app with Maven or the Gradle wrapper (repository in the `cache` layer) and, unless the Procfile
//! declares `web`, makes `java -jar` the single runnable jar the `web` process.

use buildpack_java::error::JavaBuildpackError;
use buildpack_java::{compile, detect, layers, start};
use buildpack_kit::{build_command, cnb, procfile};
use libcnb::build::{BuildContext, BuildResult, BuildResultBuilder};
use libcnb::data::launch::LaunchBuilder;
use libcnb::detect::{DetectContext, DetectResult};
use libcnb::generic::{GenericMetadata, GenericPlatform};
use libcnb::{Buildpack, buildpack_main};

struct JavaBuildpack;

impl Buildpack for JavaBuildpack {
    type Platform = GenericPlatform;
    type Metadata = GenericMetadata;
    type Error = JavaBuildpackError;

    fn detect(&self, context: DetectContext<Self>) -> libcnb::Result<DetectResult, Self::Error> {
        cnb::detect_result(&detect::detect(&context.app_dir))
    }

    fn build(&self, context: BuildContext<Self>) -> libcnb::Result<BuildResult, Self::Error> {
        let app = &context.app_dir;
        let tool = detect::build_tool(app).ok_or(JavaBuildpackError::NoBuildTool)?;
        let procfile = procfile::read(app).map_err(JavaBuildpackError::Procfile)?;
        let cache = layers::cache::create(&context)?;
        let own_timestamp = compile::pom_sets_output_timestamp(app);
        let mut command = compile::step(tool, &cache, own_timestamp).command(app);
        command.envs(compile::env(tool, &cache));
        let before = start::jar_times(app);
        build_command::run(&mut command).map_err(JavaBuildpackError::Command)?;

        let mut launch = LaunchBuilder::new();
        if procfile.as_ref().and_then(|p| p.web()).is_none() {
            let jars = start::built_jars(app, &before);
            let jar = start::runnable_jar(&jars).map_err(JavaBuildpackError::Jar)?;
            launch.process(cnb::launch_process(&start::process(jar), true)?);
        }
        BuildResultBuilder::new().launch(launch.build()).build()
    }

    fn on_error(&self, error: libcnb::Error<Self::Error>) {
        cnb::on_error(error);
    }
}

buildpack_main!(JavaBuildpack);
