//! hoist/ruby: Bundler apps with `Gemfile` and `Gemfile.lock`. Ruby and Bundler come from the build
//! image; the build runs `bundle install` in deployment mode without the development and test groups,
//! into a `gems` layer kept between builds, and the `web` process is `rails server` (Rails) or
//! `rackup` (a `config.ru`), bound to 0.0.0.0:$PORT.
//!
//! `detect` and `start` are pure functions hoist also calls as a library; `install` Bundler's command
//! and environment; `layers` one module per layer; `error` the errors, explained; `main.rs` the libcnb
//! `Buildpack` impl.

pub mod detect;
pub mod error;
pub mod install;
pub mod layers;
pub mod start;

/// The buildpack id, as in `buildpack.toml`.
pub const ID: &str = "hoist/ruby";
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
