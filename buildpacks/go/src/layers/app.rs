//! The `app` layer: the compiled binary in `bin/`, made fresh on every build and shipped in the app
//! image (its `bin/` is on PATH at launch).

use std::path::PathBuf;

use buildpack_kit::Process;
use libcnb::Buildpack;
use libcnb::build::BuildContext;
use libcnb::data::layer_name;

use crate::error::GoBuildpackError;

/// Creates the layer and its `bin/`; the path of the binary the `web` process runs.
pub fn create<B: Buildpack<Error = GoBuildpackError>>(
    context: &BuildContext<B>,
    web: &Process,
) -> libcnb::Result<PathBuf, GoBuildpackError> {
    let layer = buildpack_kit::cnb::fresh_layer(context, layer_name!("app"), true)?;
    let binary = PathBuf::from(&web.command);
    debug_assert!(
        binary.starts_with(&layer),
        "{} is outside {}",
        binary.display(),
        layer.display()
    );
    std::fs::create_dir_all(layer.join("bin")).map_err(GoBuildpackError::AppLayer)?;
    Ok(binary)
}
