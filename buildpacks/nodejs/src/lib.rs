//! hoist/nodejs: Node.js apps with `package.json` and a lockfile. Node itself comes from the build
//! image; the build installs exactly what the lockfile pins with the package manager it belongs to
//! (`npm ci`, `yarn`, `pnpm`), runs `scripts.build` when there is one, and drops dev dependencies.
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
pub const ID: &str = "hoist/nodejs";
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
