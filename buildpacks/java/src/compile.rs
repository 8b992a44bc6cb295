//! The build tool's command, as data: Maven `package` (through `mvnw` when the project has it) with
//! its repository in the `cache` layer, or `./gradlew build` with `GRADLE_USER_HOME` there; tests are
//! skipped (the app's CI runs them), no daemon is left behind.

use std::path::Path;

use buildpack_kit::build_command::Step;

use crate::detect::BuildTool;

pub fn step(tool: BuildTool, cache: &Path) -> Step {
    match tool {
        BuildTool::Maven { wrapper } => {
            let repository = format!("-Dmaven.repo.local={}", cache.join("repository").display());
            Step::new(
                if wrapper { "./mvnw" } else { "mvn" },
                &[
                    "--batch-mode",
                    "-DskipTests",
                    repository.as_str(),
                    "package",
                ],
            )
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
    fn maven_packages_with_its_repository_in_the_cache() {
        let cache = Path::new("/l/cache");
        assert_eq!(
            step(BuildTool::Maven { wrapper: false }, cache).line(),
            "mvn --batch-mode -DskipTests -Dmaven.repo.local=/l/cache/repository package"
        );
        assert_eq!(
            step(BuildTool::Maven { wrapper: true }, cache).program,
            "./mvnw"
        );
    }

    #[test]
    fn gradle_runs_the_wrapper_with_its_home_in_the_cache() {
        let cache = Path::new("/l/cache");
        assert_eq!(
            step(BuildTool::Gradle, cache).line(),
            "./gradlew build -x test --no-daemon"
        );
        assert_eq!(
            env(BuildTool::Gradle, cache),
            [("GRADLE_USER_HOME", "/l/cache".to_owned())]
        );
    }
}
