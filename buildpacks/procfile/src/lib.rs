//! hoist/procfile: the processes of an app's `Procfile` become its launch processes, `web` the default.
//! It is optional after every language buildpack of hoist's default order, and passes only when the
//! Procfile parses and declares at least one process type.
//!
//! `detect` is the pure detection function hoist also calls as a library; `main.rs` holds the libcnb
//! `Buildpack` impl; `error` the buildpack's errors, explained.

pub mod detect;
pub mod error;

/// The buildpack id, as in `buildpack.toml`.
pub const ID: &str = "hoist/procfile";
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
