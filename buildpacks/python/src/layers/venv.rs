//! The `venv` layer: the virtualenv holding the app's dependencies, made fresh on every build and
//! shipped in the app image. Its `bin/` is on PATH at launch (CNB puts every launch layer's `bin/`
//! there), and `VIRTUAL_ENV` points at it.

use std::path::PathBuf;

use libcnb::Buildpack;
use libcnb::build::BuildContext;
use libcnb::data::layer_name;
use libcnb::layer_env::{LayerEnv, ModificationBehavior, Scope};

pub fn create<B: Buildpack>(context: &BuildContext<B>) -> libcnb::Result<PathBuf, B::Error> {
    buildpack_kit::cnb::fresh_layer(context, layer_name!("venv"), true)
}

/// `VIRTUAL_ENV` for launch, written into the layer once it is built.
pub fn write_env(venv: &std::path::Path) -> std::io::Result<()> {
    LayerEnv::new()
        .chainable_insert(
            Scope::All,
            ModificationBehavior::Override,
            "VIRTUAL_ENV",
            venv,
        )
        .write_to_layer_dir(venv)
}
