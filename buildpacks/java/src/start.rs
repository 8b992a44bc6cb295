//! The default `web` process: `java -jar` the single runnable jar the build leaves in `target/`
//! (Maven) or `build/libs/` (Gradle). Known only after the build; jars that are not the app (sources,
//! javadoc, tests, Gradle's `-plain` jar, maven-shade's `original-` jar) do not count, and neither
//! do jars the build did not write (an app copied with an old `target/` from a developer's build).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::SystemTime;

use buildpack_kit::{DefaultProcess, Explain, Problem, Process};

/// Where builds leave their jars, relative to the app.
pub const JAR_DIRS: [&str; 2] = ["target", "build/libs"];

/// No jar, or more than one, that could be the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JarError {
    None,
    Several(Vec<String>),
}

impl Explain for JarError {
    fn explain(&self) -> Problem {
        let fix_procfile = "or add a `Procfile` with `web: java -jar PATH/TO/app.jar`";
        match self {
            JarError::None => Problem::new(
                "the build left no runnable jar in `target/` or `build/libs/`",
                "the default `web` process is `java -jar` the app's jar",
                format!(
                    "package the app as one executable jar (Spring Boot's plugin, maven-shade), {fix_procfile}"
                ),
            ),
            JarError::Several(jars) => Problem::new(
                format!(
                    "the build left several jars that could be the app: {}",
                    jars.iter()
                        .map(|j| format!("`{j}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                "the default `web` process runs exactly one",
                format!("make the build leave one, {fix_procfile}"),
            ),
        }
    }
}

/// Whether a jar's file name can be the app's runnable jar.
fn is_candidate(name: &str) -> bool {
    name.ends_with(".jar")
        && !name.starts_with("original-")
        && ![
            "-sources.jar",
            "-javadoc.jar",
            "-tests.jar",
            "-test.jar",
            "-plain.jar",
        ]
        .iter()
        .any(|suffix| name.ends_with(suffix))
}

/// The one runnable jar among `jars` (paths relative to the app).
pub fn runnable_jar(jars: &[String]) -> Result<&str, JarError> {
    let candidates: Vec<&String> = jars
        .iter()
        .filter(|path| is_candidate(path.rsplit('/').next().unwrap_or(path)))
        .collect();
    match candidates.as_slice() {
        [] => Err(JarError::None),
        [one] => Ok(one.as_str()),
        several => Err(JarError::Several(
            several.iter().map(|s| (*s).clone()).collect(),
        )),
    }
}

/// The jars in [`JAR_DIRS`], relative to the app, sorted.
pub fn jars(app: &Path) -> Vec<String> {
    let mut out: Vec<String> = JAR_DIRS
        .iter()
        .flat_map(|dir| {
            std::fs::read_dir(app.join(dir))
                .into_iter()
                .flatten()
                .flatten()
                .filter(|entry| entry.path().is_file())
                .map(move |entry| format!("{dir}/{}", entry.file_name().to_string_lossy()))
        })
        .filter(|path| path.ends_with(".jar"))
        .collect();
    out.sort();
    out
}

/// The jars in [`JAR_DIRS`] with their modification times, taken before the build.
pub fn jar_times(app: &Path) -> BTreeMap<String, Option<SystemTime>> {
    jars(app)
        .into_iter()
        .map(|jar| {
            let modified = std::fs::metadata(app.join(&jar)).and_then(|m| m.modified());
            (jar, modified.ok())
        })
        .collect()
}

/// The jars the build wrote: new, or changed since `before` ([`jar_times`]). When it wrote none
/// (an up-to-date jar the build tool left alone), every jar.
pub fn built_jars(app: &Path, before: &BTreeMap<String, Option<SystemTime>>) -> Vec<String> {
    let now = jar_times(app);
    let written: Vec<String> = now
        .iter()
        .filter(|(jar, modified)| before.get(*jar) != Some(modified))
        .map(|(jar, _)| jar.clone())
        .collect();
    if written.is_empty() {
        now.into_keys().collect()
    } else {
        written
    }
}

pub fn process(jar: &str) -> Process {
    Process::web(format!("java -jar {}", shell_word(jar)))
}

/// `word` as one `sh` word: as is when it holds nothing the shell treats specially, else quoted.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:@%,".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// Before the build, the rule: the jar does not exist yet.
pub fn default_process() -> DefaultProcess {
    DefaultProcess::AfterBuild {
        rule: "`java -jar` the single runnable jar the build leaves in `target/` or `build/libs/`"
            .to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(paths: &[&str]) -> Vec<String> {
        paths.iter().map(|p| (*p).to_owned()).collect()
    }

    #[test]
    fn the_one_runnable_jar_is_run() {
        let jars = owned(&[
            "target/app-1.0-sources.jar",
            "target/app-1.0.jar",
            "target/original-app-1.0.jar",
        ]);
        assert_eq!(runnable_jar(&jars), Ok("target/app-1.0.jar"));
        assert_eq!(
            process("target/app-1.0.jar"),
            Process::web("java -jar target/app-1.0.jar")
        );
        let gradle = owned(&[
            "build/libs/demo-0.0.1-SNAPSHOT-plain.jar",
            "build/libs/demo-0.0.1-SNAPSHOT.jar",
        ]);
        assert_eq!(
            runnable_jar(&gradle),
            Ok("build/libs/demo-0.0.1-SNAPSHOT.jar")
        );
    }

    #[test]
    fn no_jar_or_several_are_explained() {
        assert_eq!(
            runnable_jar(&owned(&["target/x-javadoc.jar"])),
            Err(JarError::None)
        );
        let err = runnable_jar(&owned(&["target/a.jar", "target/b.jar"])).unwrap_err();
        assert_eq!(
            err,
            JarError::Several(owned(&["target/a.jar", "target/b.jar"]))
        );
        assert!(
            err.explain()
                .what
                .contains("`target/a.jar`, `target/b.jar`")
        );
    }

    #[test]
    fn jars_are_listed_from_both_build_directories() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("target")).unwrap();
        std::fs::create_dir_all(dir.path().join("build/libs")).unwrap();
        std::fs::write(dir.path().join("target/app.jar"), "").unwrap();
        std::fs::write(dir.path().join("target/notes.txt"), "").unwrap();
        std::fs::write(dir.path().join("build/libs/lib.jar"), "").unwrap();
        assert_eq!(jars(dir.path()), ["build/libs/lib.jar", "target/app.jar"]);
    }

    #[test]
    fn a_jar_path_the_shell_would_split_is_quoted() {
        assert_eq!(
            process("build/libs/my app's.jar").command,
            "java -jar 'build/libs/my app'\\''s.jar'"
        );
    }

    #[test]
    fn only_jars_the_build_wrote_count() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("target")).unwrap();
        let old = dir.path().join("target/app-1.0.jar");
        std::fs::write(&old, "old").unwrap();
        let before = jar_times(dir.path());
        assert_eq!(built_jars(dir.path(), &before), ["target/app-1.0.jar"]);
        std::fs::write(dir.path().join("target/app-1.1.jar"), "new").unwrap();
        assert_eq!(built_jars(dir.path(), &before), ["target/app-1.1.jar"]);
        // Rewritten in place (a time the filesystem can tell from the old one).
        let file = std::fs::File::options().write(true).open(&old).unwrap();
        file.set_modified(SystemTime::UNIX_EPOCH).unwrap();
        assert_eq!(
            built_jars(dir.path(), &before),
            ["target/app-1.0.jar", "target/app-1.1.jar"]
        );
    }

    #[test]
    fn before_the_build_the_process_is_a_rule() {
        assert!(matches!(
            default_process(),
            DefaultProcess::AfterBuild { .. }
        ));
    }
}
