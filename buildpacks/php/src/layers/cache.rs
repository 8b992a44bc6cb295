//! The `cache` layer: Composer's download cache, kept between builds and never in the app image.

use std::path::PathBuf;

use libcnb::Buildpack;
use libcnb::build::BuildContext;
use libcnb::data::layer_name;

pub fn create<B: Buildpack>(context: &BuildContext<B>) -> libcnb::Result<PathBuf, B::Error> {
    buildpack_kit::cnb::kept_layer(context, layer_name!("cache"), false)
}
