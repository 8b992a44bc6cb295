//! The build tool's command, as data: Maven `package` (through `mvnw` when the project has it) with
//! its repository in the `cache` layer, or `./gradlew build` with `GRADLE_USER_HOME` there; tests are
//! skipped (the app's CI runs them), no daemon is left behind. Maven's jars are reproducible
//! (Maven's `project.build.outputTimestamp`: fixed entry times and order) unless the pom chooses
//! its own timestamp.

use std::path::Path;

use buildpack_kit::build_command::Step;

use crate::detect::BuildTool;

/// The jar entries' time when the pom sets none: the zip format's earliest, so the same sources
/// make the same jar on any machine, on any day.
pub const OUTPUT_TIMESTAMP: &str = "1980-01-01T00:00:02Z";

/// Whether the pom in `app` chooses its own `project.build.outputTimestamp`.
pub fn pom_sets_output_timestamp(app: &Path) -> bool {
    std::fs::read_to_string(app.join(crate::detect::POM))
        .is_ok_and(|pom| pom.contains("project.build.outputTimestamp"))
}

/// The build command; `own_timestamp` when the pom sets its output timestamp (Maven).
pub fn step(tool: BuildTool, cache: &Path, own_timestamp: bool) -> Step {
    match tool {
        BuildTool::Maven { wrapper } => {
            let repository = format!("-Dmaven.repo.local={}", cache.join("repository").display());
            let timestamp = format!("-Dproject.build.outputTimestamp={OUTPUT_TIMESTAMP}");
            let mut args = vec!["--batch-mode", "-DskipTests", repository.as_str()];
            if !own_timestamp {
                args.push(timestamp.as_str());
            }
            args.push("package");
            Step::new(if wrapper { "./mvnw" } else { "mvn" }, &args)
        }
        BuildTool::Gradle => Step::new("./gradlew", &["build", "-x", "test", "--no-daemon"]),
    }
}

pub fn env(tool: BuildTool, cache: &Path) -> Vec<(&'static str, String)> {
    match tool {
        BuildTool::Maven { .. } => Vec::new(),
        BuildTool::Gradle => vec![("GRADLE_USER_HOME", cache.to_string_lossy().into_owned())],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maven_packages_with_its_repository_in_the_cache_and_a_fixed_timestamp() {
        let cache = Path::new("/l/cache");
        assert_eq!(
            step(BuildTool::Maven { wrapper: false }, cache, false).line(),
            "mvn --batch-mode -DskipTests -Dmaven.repo.local=/l/cache/repository \
             -Dproject.build.outputTimestamp=1980-01-01T00:00:02Z package"
        );
        assert_eq!(
            step(BuildTool::Maven { wrapper: false }, cache, true).line(),
            "mvn --batch-mode -DskipTests -Dmaven.repo.local=/l/cache/repository package"
        );
        assert_eq!(
            step(BuildTool::Maven { wrapper: true }, cache, false).program,
            "./mvnw"
        );
    }

    #[test]
    fn a_pom_may_choose_its_own_output_timestamp() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pom.xml"), "<project/>").unwrap();
        assert!(!pom_sets_output_timestamp(dir.path()));
        std::fs::write(
            dir.path().join("pom.xml"),
            "<properties><project.build.outputTimestamp>2024-01-01T00:00:00Z\
             </project.build.outputTimestamp></properties>",
        )
        .unwrap();
        assert!(pom_sets_output_timestamp(dir.path()));
    }

    #[test]
    fn gradle_runs_the_wrapper_with_its_home_in_the_cache() {
        let cache = Path::new("/l/cache");
        assert_eq!(
            step(BuildTool::Gradle, cache, false).line(),
            "./gradlew build -x test --no-daemon"
        );
        assert_eq!(
            env(BuildTool::Gradle, cache),
            [("GRADLE_USER_HOME", "/l/cache".to_owned())]
        );
    }
}
