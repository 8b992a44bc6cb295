//! The libcnb `Buildpack` impl of hoist/python: detection by [`detect::detect`]; a build that first
//! insists on a Procfile `web` process, then installs the dependencies into the `venv` layer with the
//! app's package manager (downloads in the `cache` layer). The processes come from hoist/procfile.

use buildpack_kit::{build_command, cnb, procfile};
use buildpack_python::error::PythonBuildpackError;
use buildpack_python::{detect, install, layers, start};
use libcnb::build::{BuildContext, BuildResult, BuildResultBuilder};
use libcnb::detect::{DetectContext, DetectResult};
use libcnb::generic::{GenericMetadata, GenericPlatform};
use libcnb::{Buildpack, buildpack_main};

struct PythonBuildpack;

impl Buildpack for PythonBuildpack {
    type Platform = GenericPlatform;
    type Metadata = GenericMetadata;
    type Error = PythonBuildpackError;

    fn detect(&self, context: DetectContext<Self>) -> libcnb::Result<DetectResult, Self::Error> {
        cnb::detect_result(&detect::detect(&context.app_dir))
    }

    fn build(&self, context: BuildContext<Self>) -> libcnb::Result<BuildResult, Self::Error> {
        let app = &context.app_dir;
        let procfile = procfile::read(app).map_err(PythonBuildpackError::Procfile)?;
        start::default_process()
            .resolve(procfile.as_ref())
            .map_err(|problem| PythonBuildpackError::NoWebProcess(problem.clone()))?;
        let (_, manager) =
            detect::package_manager(app).ok_or(PythonBuildpackError::NothingToInstall)?;

        let cache = layers::cache::create(&context)?;
        let venv = layers::venv::create(&context)?;
        for step in install::steps(manager, &venv) {
            let mut command = step.command(app);
            command.envs(install::env(manager, &venv, &cache));
            build_command::run(&mut command).map_err(PythonBuildpackError::Command)?;
        }
        layers::venv::write_env(&venv).map_err(PythonBuildpackError::LayerEnv)?;
        BuildResultBuilder::new().build()
    }

    fn on_error(&self, error: libcnb::Error<Self::Error>) {
        cnb::on_error(error);
    }
}

buildpack_main!(PythonBuildpack);
