//! hoist/java: Maven apps (`pom.xml`, through `mvnw` when the project has it) and Gradle apps with
//! their wrapper (`build.gradle` or `build.gradle.kts`, and `gradlew`). The JDK and Maven come from the
//! build image; the build packages the app (tests skipped; the Maven repository or Gradle home in a
//! cache layer), and the `web` process is `java -jar` the single runnable jar it leaves.
//!
//! `detect` and `start` are pure functions hoist also calls as a library; `compile` the build tool's
//! commands; `layers` one module per layer; `error` the errors, explained; `main.rs` the libcnb
//! `Buildpack` impl.

pub mod compile;
pub mod detect;
pub mod error;
pub mod layers;
pub mod start;

/// The buildpack id, as in `buildpack.toml`.
pub const ID: &str = "hoist/java";
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
