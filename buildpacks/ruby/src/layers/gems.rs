//! The `gems` layer: the installed gems (`BUNDLE_PATH`), kept between builds so `bundle install` only
//! adds what changed, and shipped in the app image with Bundler's environment for launch.

use std::path::{Path, PathBuf};

use libcnb::Buildpack;
use libcnb::build::BuildContext;
use libcnb::data::layer_name;
use libcnb::layer_env::{LayerEnv, ModificationBehavior, Scope};

pub fn create<B: Buildpack>(context: &BuildContext<B>) -> libcnb::Result<PathBuf, B::Error> {
    buildpack_kit::cnb::kept_layer(context, layer_name!("gems"), true)
}

/// Bundler's environment (see `install::env`) for build and launch, written into the layer.
pub fn write_env(gems: &Path, env: &[(&'static str, String)]) -> std::io::Result<()> {
    let mut layer_env = LayerEnv::new();
    for (name, value) in env {
        layer_env.insert(Scope::All, ModificationBehavior::Override, name, value);
    }
    layer_env.write_to_layer_dir(gems)
}
