//! Detection (CNB buildpack spec 0.10, "Detection"): `pom.xml`, or `build.gradle` /
//! `build.gradle.kts` **with** `gradlew` — hoist runs the project's own Gradle wrapper, never a Gradle
//! of its choosing, so a Gradle build without one is not detected and the reason says how to add it.
//! The plan provides and requires `jvm`, with the build tool and its wrapper.

use std::path::Path;

use buildpack_kit::detection::{first_file, has_file};
use buildpack_kit::{Detection, Plan};

/// What this buildpack looks for, for the message listing every buildpack's.
pub const LOOKS_FOR: &str = "`pom.xml`, or `build.gradle` / `build.gradle.kts` with `gradlew`";

pub const POM: &str = "pom.xml";
pub const GRADLE_BUILDS: [&str; 2] = ["build.gradle", "build.gradle.kts"];
pub const GRADLEW: &str = "gradlew";
pub const MVNW: &str = "mvnw";

/// The build tool and how it is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildTool {
    /// Maven, through the project's `mvnw` when `wrapper`.
    Maven { wrapper: bool },
    /// Gradle, through the project's `gradlew`.
    Gradle,
}

/// The build tool of the app, when detection passes.
pub fn build_tool(app: &Path) -> Option<BuildTool> {
    if has_file(app, POM) {
        Some(BuildTool::Maven {
            wrapper: has_file(app, MVNW),
        })
    } else if first_file(app, &GRADLE_BUILDS).is_some() && has_file(app, GRADLEW) {
        Some(BuildTool::Gradle)
    } else {
        None
    }
}

pub fn detect(app: &Path) -> Detection {
    let gradle = first_file(app, &GRADLE_BUILDS);
    match (build_tool(app), gradle) {
        (Some(BuildTool::Maven { wrapper }), _) => Detection::Pass {
            found: format!(
                "`{POM}` (Maven{})",
                if wrapper { ", with `mvnw`" } else { "" }
            ),
            plan: Plan::provides_and_requires(
                "jvm",
                &[
                    ("build_tool", "maven"),
                    ("wrapper", if wrapper { MVNW } else { "none" }),
                ],
            ),
        },
        (Some(BuildTool::Gradle), build) => Detection::Pass {
            found: format!(
                "`{}` and `{GRADLEW}` (Gradle)",
                build.unwrap_or(GRADLE_BUILDS[0])
            ),
            plan: Plan::provides_and_requires(
                "jvm",
                &[("build_tool", "gradle"), ("wrapper", GRADLEW)],
            ),
        },
        (None, Some(build)) => Detection::Incomplete {
            missing: format!(
                "`{build}` found without `{GRADLEW}`: hoist builds with the project's own Gradle \
                 wrapper; run `gradle wrapper` and commit `gradlew` and `gradle/wrapper/`"
            ),
        },
        (None, None) => Detection::Absent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for file in files {
            std::fs::write(dir.path().join(file), "").unwrap();
        }
        dir
    }

    #[test]
    fn maven_with_and_without_its_wrapper() {
        assert_eq!(
            detect(app(&["pom.xml"]).path()),
            Detection::Pass {
                found: "`pom.xml` (Maven)".into(),
                plan: Plan::provides_and_requires(
                    "jvm",
                    &[("build_tool", "maven"), ("wrapper", "none")]
                )
            }
        );
        assert_eq!(
            build_tool(app(&["pom.xml", "mvnw"]).path()),
            Some(BuildTool::Maven { wrapper: true })
        );
    }

    #[test]
    fn gradle_groovy_and_kotlin_with_gradlew() {
        for build in GRADLE_BUILDS {
            assert_eq!(
                detect(app(&[build, "gradlew"]).path()),
                Detection::Pass {
                    found: format!("`{build}` and `gradlew` (Gradle)"),
                    plan: Plan::provides_and_requires(
                        "jvm",
                        &[("build_tool", "gradle"), ("wrapper", "gradlew")]
                    )
                }
            );
        }
    }

    #[test]
    fn gradle_without_gradlew_is_not_detected_and_says_so() {
        let Detection::Incomplete { missing } = detect(app(&["build.gradle.kts"]).path()) else {
            panic!("gradle without its wrapper must not pass");
        };
        assert!(
            missing.contains("`build.gradle.kts` found without `gradlew`"),
            "{missing}"
        );
        assert_eq!(detect(app(&["gradlew"]).path()), Detection::Absent);
    }

    #[test]
    fn pom_xml_wins_over_gradle() {
        assert_eq!(
            build_tool(app(&["pom.xml", "build.gradle", "gradlew"]).path()),
            Some(BuildTool::Maven { wrapper: false })
        );
    }
}
