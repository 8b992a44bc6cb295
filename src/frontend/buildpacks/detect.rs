//! Detection of an app without a Dockerfile, as a CNB lifecycle's detect phase would decide it
//! (CNB platform spec 0.13, "Detector"), without running anything: the group of the default order
//! that applies, its build plan, the processes the image will have, warnings about what will not
//! work as the user may expect, and the problem a build of this group would stop on (Python or PHP
//! without a Procfile `web` process). Nothing detected is an error listing what was looked for.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use buildpack_kit::{DefaultProcess, Detection, Explain, Problem, Process, procfile};

use super::order::{self, Buildpack, Member, PlanEntry};
use super::unsupported;

/// What `hoist detect` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detected {
    pub group: Vec<Member>,
    pub plan: Vec<PlanEntry>,
    /// The launch processes, `web` first when a language buildpack sets it; Procfile types override.
    pub processes: Vec<Process>,
    pub warnings: Vec<String>,
    /// Why a build of this group would fail, when it would.
    pub problem: Option<Problem>,
}

/// Why there is no group.
#[derive(Debug)]
pub enum DetectError {
    /// The app directory is not a directory.
    NotADirectory(PathBuf),
    /// No group of the default order applies.
    Nothing(NothingDetected),
}

/// Nothing detected: every buildpack's detection, and the unsupported languages seen.
#[derive(Debug)]
pub struct NothingDetected {
    pub app: PathBuf,
    pub looked: Vec<(Buildpack, Detection)>,
    pub unsupported: Vec<(unsupported::Language, String)>,
}

/// Detect the app in `app` with the default order.
pub fn detect(app: &Path) -> Result<Detected, DetectError> {
    if !app.is_dir() {
        return Err(DetectError::NotADirectory(app.to_owned()));
    }
    let mut seen: HashMap<Buildpack, Detection> = HashMap::new();
    let resolved = order::resolve(order::DEFAULT_ORDER, |buildpack| {
        seen.entry(buildpack)
            .or_insert_with(|| buildpack.detect(app))
            .clone()
    });
    let unsupported = unsupported::found(app);
    let Some(resolved) = resolved else {
        let looked = Buildpack::ALL
            .iter()
            .map(|&b| (b, seen.remove(&b).unwrap_or_else(|| b.detect(app))))
            .collect();
        return Err(DetectError::Nothing(NothingDetected {
            app: app.to_owned(),
            looked,
            unsupported,
        }));
    };

    let mut warnings = Vec::new();
    for entry in &resolved.entries {
        let used = resolved
            .group
            .iter()
            .any(|m| m.buildpack == entry.buildpack);
        if let (false, Some(Detection::Incomplete { missing })) = (used, seen.get(&entry.buildpack))
        {
            warnings.push(format!("{} is not used: {missing}", entry.buildpack.id()));
        }
    }
    let (processes, problem) = processes(app, &resolved.group, &mut warnings);
    for process in &processes {
        warnings.extend(process.port_warning());
    }
    let ids: Vec<&str> = resolved.group.iter().map(|m| m.buildpack.id()).collect();
    for (language, file) in unsupported {
        warnings.push(format!(
            "`{file}`: {} is not in the default builder; only what {} build is in the image",
            language.name(),
            ids.join(" and ")
        ));
    }
    if app.join("Dockerfile").is_file() {
        warnings.push(
            "the app has a `Dockerfile`: `hoist build` builds with it, not with these buildpacks"
                .to_owned(),
        );
    }
    Ok(Detected {
        group: resolved.group,
        plan: resolved.plan,
        processes,
        warnings,
        problem,
    })
}

/// The group's processes as the build would set them: each language buildpack's default `web`
/// (a later buildpack's process replaces an earlier one of the same type, as in a CNB build), then the
/// Procfile's types over them; and the first problem a buildpack's build would stop on.
fn processes(
    app: &Path,
    group: &[Member],
    warnings: &mut Vec<String>,
) -> (Vec<Process>, Option<Problem>) {
    let procfile = match group.iter().any(|m| m.buildpack == Buildpack::Procfile) {
        true => procfile::read(app).ok().flatten(),
        false => None,
    };
    let procfile_web = procfile.as_ref().and_then(|p| p.web()).is_some();
    let mut processes: Vec<Process> = Vec::new();
    let mut problem = None;
    for member in group {
        let default = match default_process(member.buildpack, app) {
            Ok(Some(default)) => default,
            Ok(None) => continue,
            Err(p) => {
                problem.get_or_insert(p);
                continue;
            }
        };
        match (default.resolve(procfile.as_ref()), &default) {
            (Ok(Some(process)), _) => set(&mut processes, process.clone()),
            (Ok(None), DefaultProcess::AfterBuild { rule }) if !procfile_web => warnings.push(format!(
                "{}: the `web` process will be {rule}, known once the build has run; a `Procfile` \
                 `web:` line sets it now",
                member.buildpack.id()
            )),
            (Ok(None), _) => {}
            (Err(p), _) => {
                problem.get_or_insert(p.clone());
            }
        }
    }
    for (kind, command) in procfile.iter().flat_map(|p| p.processes.iter()) {
        set(
            &mut processes,
            Process {
                kind: kind.clone(),
                command: command.clone(),
                runs: None,
            },
        );
    }
    (processes, problem)
}

/// Replace the process of the same type, or add it.
fn set(processes: &mut Vec<Process>, process: Process) {
    match processes.iter_mut().find(|p| p.kind == process.kind) {
        Some(existing) => *existing = process,
        None => processes.push(process),
    }
}

/// A buildpack's default `web` process for the app (`None`: it sets none).
fn default_process(buildpack: Buildpack, app: &Path) -> Result<Option<DefaultProcess>, Problem> {
    match buildpack {
        Buildpack::Python => Ok(Some(buildpack_python::start::default_process())),
        Buildpack::Ruby => Ok(Some(buildpack_ruby::start::default_process_of(app))),
        Buildpack::Java => Ok(Some(buildpack_java::start::default_process())),
        Buildpack::Go => {
            let layers = buildpack_kit::cnb::buildpack_layers_dir(buildpack_go::ID);
            buildpack_go::start::default_process_of(app, &layers)
                .map(Some)
                .map_err(|e| e.explain())
        }
        Buildpack::Php => Ok(Some(buildpack_php::start::default_process())),
        Buildpack::Nodejs => buildpack_nodejs::start::default_process_of(app)
            .map(Some)
            .map_err(|e| e.explain()),
        Buildpack::Procfile => Ok(None),
    }
}

impl NothingDetected {
    pub fn problem(&self) -> Problem {
        let mut why = String::from("the default builder looked for:");
        for (buildpack, detection) in &self.looked {
            let outcome = match detection {
                Detection::Pass { found, .. } => format!("{found} found"),
                Detection::Absent => "not found".to_owned(),
                Detection::Incomplete { missing } => missing.clone(),
            };
            why.push_str(&format!(
                "\n  {}: {} — {outcome}",
                buildpack.id(),
                buildpack.looks_for()
            ));
        }
        for (language, file) in &self.unsupported {
            why.push_str(&format!(
                "\n  `{file}`: {} is not in the default builder (it has Python, Ruby, Java, Go, PHP and Node.js)",
                language.name()
            ));
        }
        Problem::new(
            format!("no buildpack detected the app in `{}`", self.app.display()),
            why,
            format!(
                "add a `Dockerfile` to `{}` to build the app with it, or the files one of these \
                 buildpacks looks for",
                self.app.display()
            ),
        )
    }
}

impl fmt::Display for DetectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DetectError::NotADirectory(app) => write!(
                f,
                "the app `{}` is not a directory\nhint: pass the app's directory: `hoist detect DIR`",
                app.display()
            ),
            DetectError::Nothing(nothing) => nothing.problem().fmt(f),
        }
    }
}

impl std::error::Error for DetectError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        dir
    }

    #[test]
    fn a_procfile_web_line_overrides_the_default() {
        let dir = app(&[
            ("package.json", r#"{"scripts":{"start":"node a.js"}}"#),
            ("package-lock.json", "{}"),
            (
                "Procfile",
                "worker: node jobs.js\nweb: node web.js --port $PORT\n",
            ),
        ]);
        let detected = detect(dir.path()).unwrap();
        let processes: Vec<(&str, &str)> = detected
            .processes
            .iter()
            .map(|p| (p.kind.as_str(), p.command.as_str()))
            .collect();
        assert_eq!(
            processes,
            [
                ("web", "node web.js --port $PORT"),
                ("worker", "node jobs.js")
            ]
        );
        assert_eq!(detected.warnings, Vec::<String>::new());
        assert_eq!(detected.problem, None);
    }

    #[test]
    fn python_without_a_procfile_web_line_is_a_problem() {
        let dir = app(&[
            ("requirements.txt", "flask\n"),
            ("Procfile", "worker: celery\n"),
        ]);
        let detected = detect(dir.path()).unwrap();
        assert_eq!(detected.group.len(), 2);
        let problem = detected.problem.unwrap();
        assert_eq!(problem.what, "no `web` process for this Python app");
    }

    #[test]
    fn a_procfile_alone_is_built_by_the_procfile_buildpack() {
        let dir = app(&[("Procfile", "web: busybox httpd -f -p $PORT\n")]);
        let detected = detect(dir.path()).unwrap();
        let ids: Vec<&str> = detected.group.iter().map(|m| m.buildpack.id()).collect();
        assert_eq!(ids, ["hoist/procfile"]);
        assert_eq!(
            detected.processes,
            [Process::web("busybox httpd -f -p $PORT")]
        );
        assert_eq!(detected.warnings, Vec::<String>::new());
        assert_eq!(detected.problem, None);
    }

    #[test]
    fn nothing_detected_lists_every_buildpack_and_unsupported_languages() {
        let dir = app(&[("Cargo.toml", "[package]\n"), ("Procfile", "# soon\n")]);
        let Err(DetectError::Nothing(nothing)) = detect(dir.path()) else {
            panic!("nothing must be detected");
        };
        let text = nothing.problem().to_string();
        for buildpack in Buildpack::ALL {
            assert!(text.contains(buildpack.id()), "{text}");
        }
        assert!(
            text.contains("Rust is not in the default builder"),
            "{text}"
        );
        assert!(text.contains("declares no process types"), "{text}");
        assert!(text.contains("add a `Dockerfile`"), "{text}");
    }

    #[test]
    fn a_missing_directory_is_its_own_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        assert!(matches!(
            detect(&missing),
            Err(DetectError::NotADirectory(_))
        ));
    }
}
