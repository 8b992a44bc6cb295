//! hoist/go: Go modules (`go.mod`) whose root package is `package main`. Go comes from the build image
//! (`GOTOOLCHAIN=local`: no toolchain download); the build runs `go build` on the root package
//! (vendored modules honoured), the build and module caches in a cache layer, and the binary, in the
//! `app` layer, is the `web` process.
//!
//! `detect`, `module` and `start` are pure functions hoist also calls as a library; `compile` the build
//! command; `layers` one module per layer; `error` the errors, explained; `main.rs` the libcnb
//! `Buildpack` impl.

pub mod compile;
pub mod detect;
pub mod error;
pub mod layers;
pub mod module;
pub mod start;

/// The buildpack id, as in `buildpack.toml`.
pub const ID: &str = "hoist/go";
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
