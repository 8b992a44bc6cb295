//! hoist/python: Python apps with `requirements.txt`, `uv.lock` or `poetry.lock`. Python comes from
//! the build image; the build installs the app's dependencies into a virtualenv layer with pip, uv or
//! poetry (dev dependencies left out, the download cache in a cache layer). There is no default start
//! command: the app's Procfile must declare `web`, and the build fails with what/why/fix when it
//! does not (an image that exits at once is worse than no image).
//!
//! `detect` and `start` are pure functions hoist also calls as a library; `install` the package
//! manager's commands; `layers` one module per layer; `error` the errors, explained; `main.rs` the
//! libcnb `Buildpack` impl.

pub mod detect;
pub mod error;
pub mod install;
pub mod layers;
pub mod start;

/// The buildpack id, as in `buildpack.toml`.
pub const ID: &str = "hoist/python";
/// The buildpack version, as in `buildpack.toml`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[cfg(test)]
mod tests {
    #[test]
    fn buildpack_toml_matches_the_code() {
        buildpack_kit::cnb::check_descriptor(env!("CARGO_MANIFEST_DIR"), super::ID, super::VERSION)
            .unwrap();
    }
}
