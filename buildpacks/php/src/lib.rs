//! hoist/php: Composer apps with `composer.json` and `composer.lock`. PHP and Composer come from the
//! build image; the build runs `composer install` without dev packages (Composer's download cache in a
//! cache layer). There is no default start command: the app's Procfile must declare `web`, and the
//! build fails with what/why/fix when it does not.
//!
//! `detect` and `start` are pure functions hoist also calls as a library; `install` Composer's
//! command; `layers` one module per layer; `error` the errors, explained; `main.rs` the libcnb
//! `Buildpack` impl.

pub mod detect;
pub mod error;
pub mod install;
pub mod layers;
pub mod start;

/// The buildpack id, as in `buildpack.toml`.
pub const ID: &str = "hoist/php";
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
