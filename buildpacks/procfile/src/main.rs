//! The libcnb `Buildpack` impl of hoist/procfile: detection by [`detect::detect`], and a build that
//! turns the Procfile into launch processes (`web` is the default process).

use buildpack_kit::{cnb, procfile};
use buildpack_procfile::detect;
use buildpack_procfile::error::ProcfileBuildpackError;
use libcnb::build::{BuildContext, BuildResult, BuildResultBuilder};
use libcnb::data::launch::LaunchBuilder;
use libcnb::detect::{DetectContext, DetectResult};
use libcnb::generic::{GenericMetadata, GenericPlatform};
use libcnb::{Buildpack, buildpack_main};

struct ProcfileBuildpack;

impl Buildpack for ProcfileBuildpack {
    type Platform = GenericPlatform;
    type Metadata = GenericMetadata;
    type Error = ProcfileBuildpackError;

    fn detect(&self, context: DetectContext<Self>) -> libcnb::Result<DetectResult, Self::Error> {
        cnb::detect_result(&detect::detect(&context.app_dir))
    }

    fn build(&self, context: BuildContext<Self>) -> libcnb::Result<BuildResult, Self::Error> {
        let procfile = procfile::read(&context.app_dir)
            .map_err(ProcfileBuildpackError::Procfile)?
            .ok_or(ProcfileBuildpackError::Missing)?;
        let mut launch = LaunchBuilder::new();
        for (kind, command) in &procfile.processes {
            let process = buildpack_kit::Process {
                kind: kind.clone(),
                command: command.clone(),
                runs: None,
            };
            println!("process `{kind}`: {command}");
            launch.process(cnb::launch_process(&process, kind == "web")?);
        }
        BuildResultBuilder::new().launch(launch.build()).build()
    }

    fn on_error(&self, error: libcnb::Error<Self::Error>) {
        cnb::on_error(error);
    }
}

buildpack_main!(ProcfileBuildpack);
