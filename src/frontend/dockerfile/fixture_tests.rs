//! Fixture cases: `fixtures/frontend/<case>/` directories, each a Dockerfile with its expected history,
//! plan facts, check findings or error — or a `.dockerignore` with the context files it leaves.

use std::path::{Path, PathBuf};

use crate::image::{ImageKey, Platform};
use crate::plan::{
    Base, BuildPlan, Chmod, ContextFilter, CopySource, CopySpec, FsChange, IdSpec, MountFrom,
    Owner, RunMount, Step,
};

use super::plan_tests::{images, input};
use super::{dockerignore, from_text};

/// Every case directory under `fixtures/frontend`.
///
/// A Dockerfile case has `Dockerfile`, optionally `build-args` (`NAME=VALUE` a line, or `NAME` to take
/// the value from the environment), `target` and `platform` (the build's target platform, default
/// `linux/amd64`; the build machine is always `linux/amd64` here), and expects either `error.txt` (the error, exactly) or
/// `history.txt` (the `created_by` of every step of the result), with, when present, `plan.txt` (images,
/// stages, RUN networks and mounts: [`describe_plan`]), `steps.txt` (each step's filesystem and config
/// change: [`describe_step`]), `checks.txt` (the build checks' findings; none when absent) and
/// `warnings.txt` (hoist's own notes, such as unused build arguments).
///
/// A `.dockerignore` case has `dockerignore` (the file), `files.txt` (paths in a context) and
/// `context.txt` (the paths a build sees). A Dockerfile case may have a `.dockerignore` too (for
/// `CopyIgnoredFile`).
#[test]
fn fixture_cases() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/frontend");
    let mut seen = 0;
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    let mut failures = Vec::new();
    for dir in dirs {
        let result = std::panic::catch_unwind(|| {
            if dir.join("dockerignore").exists() {
                ignore_case(&dir);
            } else {
                dockerfile_case(&dir);
            }
        });
        if result.is_err() {
            failures.push(dir.display().to_string());
        }
        seen += 1;
    }
    assert!(
        failures.is_empty(),
        "failing fixture cases:\n{}",
        failures.join("\n")
    );
    assert!(seen >= 4);
}

fn read(dir: &Path, name: &str) -> Option<String> {
    std::fs::read_to_string(dir.join(name)).ok()
}

fn dockerfile_case(dir: &Path) {
    let text =
        read(dir, "Dockerfile").unwrap_or_else(|| panic!("{}: no Dockerfile", dir.display()));
    let mut input = input();
    if let Some(args) = read(dir, "build-args") {
        input.build_args = args
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| match l.split_once('=') {
                Some((k, v)) => (k.to_string(), Some(v.to_string())),
                None => (l.to_string(), None),
            })
            .collect();
    }
    input.target = read(dir, "target").map(|t| t.trim().to_string());
    if let Some(platform) = read(dir, "platform") {
        input.platform = platform
            .trim()
            .parse::<Platform>()
            .unwrap_or_else(|e| panic!("{}: platform: {e}", dir.display()));
    }
    let result = from_text(&text, &input).and_then(|mut df| {
        if let Some(ignore) = read(dir, ".dockerignore") {
            df.filter = ContextFilter::new(dockerignore::patterns(&ignore)).unwrap();
        }
        let set = images(&mut df)?;
        let planned = df.planned(&set)?;
        let violation = df.check_violation(&planned.checks);
        let mut checks = df.checks.clone();
        checks.extend(planned.checks);
        Ok((
            df.external_images(),
            planned.plan,
            checks,
            df.warnings.clone(),
            violation,
        ))
    });
    let show = dir.display();
    if let Some(expected) = read(dir, "error.txt") {
        let e = match result {
            // `# check=error=true` with findings: the build fails with BuildKit's message.
            Ok((.., Some(violation))) => violation,
            Ok(_) => panic!("{show}: planned, but error.txt expects an error"),
            Err(e) => e.to_string(),
        };
        // Writing a new case: `error.txt` may start as `CONTAINS: <what BuildKit says>`; the full
        // message is written in once it is seen to contain that (`HOIST_FIXTURE_FILL=1`).
        if let Some(part) = expected.strip_prefix("CONTAINS: ") {
            assert!(
                e.contains(part.trim_end()),
                "{show}: `{e}` does not contain `{part}`"
            );
            if std::env::var_os("HOIST_FIXTURE_FILL").is_some() {
                std::fs::write(dir.join("error.txt"), format!("{e}\n")).unwrap();
            }
            return;
        }
        assert_eq!(e, expected.trim_end(), "{show}");
        return;
    }
    let (images, plan, checks, warnings, _) = result.unwrap_or_else(|e| panic!("{show}: {e}"));
    if let Some(expected) = read(dir, "warnings.txt") {
        assert_eq!(warnings.join("\n"), expected.trim_end(), "{show}: warnings");
    }
    let history: Vec<String> = plan
        .stages
        .iter()
        .flat_map(|s| {
            s.steps
                .iter()
                .filter(|st| st.history)
                .map(|st| st.created_by.clone())
        })
        .collect();
    let expected = read(dir, "history.txt").unwrap_or_else(|| panic!("{show}: no history.txt"));
    assert_eq!(history.join("\n"), expected.trim_end(), "{show}: history");
    if let Some(expected) = read(dir, "plan.txt") {
        assert_eq!(
            describe_plan(&images, &plan),
            expected.trim_end(),
            "{show}: plan"
        );
    }
    if let Some(expected) = read(dir, "steps.txt") {
        let described: Vec<String> = plan
            .stages
            .iter()
            .flat_map(|s| s.steps.iter().flat_map(|st| describe_step(&plan, st)))
            .collect();
        assert_eq!(described.join("\n"), expected.trim_end(), "{show}: steps");
    }
    let found: Vec<String> = checks.iter().map(|c| c.to_string()).collect();
    let expected = read(dir, "checks.txt").unwrap_or_default();
    assert_eq!(found.join("\n"), expected.trim_end(), "{show}: checks");
}

fn ignore_case(dir: &Path) {
    let show = dir.display();
    let patterns = dockerignore::patterns(&read(dir, "dockerignore").unwrap_or_default());
    let filter = ContextFilter::new(patterns).unwrap_or_else(|e| panic!("{show}: {e}"));
    let files = read(dir, "files.txt").unwrap_or_else(|| panic!("{show}: no files.txt"));
    let visible: Vec<&str> = files
        .lines()
        .filter(|f| !f.is_empty() && !filter.is_excluded(f))
        .collect();
    let expected = read(dir, "context.txt").unwrap_or_default();
    assert_eq!(
        visible.join("\n"),
        expected.trim_end(),
        "{show}: visible files"
    );
}

/// One line per step that changes the filesystem or the config: `LINE: ...`.
fn describe_step(plan: &BuildPlan, step: &Step) -> Vec<String> {
    let line = step.location.line;
    let mut out = Vec::new();
    match &step.fs {
        None => {}
        Some(FsChange::Run(run)) => {
            let env: Vec<String> = run.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
            out.push(format!(
                "{line}: RUN {:?} env=[{}]",
                run.argv,
                env.join(" ")
            ));
        }
        Some(FsChange::Mkdir(m)) => out.push(format!(
            "{line}: MKDIR {} {:o}{}",
            m.path,
            m.mode,
            m.owner.as_ref().map(owner).unwrap_or_default()
        )),
        Some(FsChange::Copy(c)) => out.push(format!("{line}: {}", describe_copy(plan, c))),
    }
    for change in &step.config {
        out.push(format!("{line}: {change:?}"));
    }
    out
}

fn owner(o: &Owner) -> String {
    let id = |i: &IdSpec| match i {
        IdSpec::Id(n) => n.to_string(),
        IdSpec::Name(s) => s.clone(),
    };
    match &o.group {
        Some(g) => format!(" owner={}:{}", id(&o.user), id(g)),
        None => format!(" owner={}", id(&o.user)),
    }
}

fn describe_copy(plan: &BuildPlan, c: &CopySpec) -> String {
    let source = match &c.source {
        CopySource::Context => "context".to_string(),
        CopySource::Named(name) => format!("context {name}"),
        CopySource::Stage(id) => format!("stage {}", plan.stages[id.0].name),
        CopySource::Image(r) => format!("image {r}"),
    };
    let mut text = format!("COPY {source} {:?} -> {}", c.sources, c.dest);
    if let Some(o) = &c.owner {
        text.push_str(&owner(o));
    }
    match &c.chmod {
        Some(Chmod::Octal(m)) => text.push_str(&format!(" chmod={m:o}")),
        Some(Chmod::Symbolic(s)) => text.push_str(&format!(" chmod={s}")),
        None => {}
    }
    if c.extract_archives {
        text.push_str(" unpack");
    }
    if c.parents {
        text.push_str(" parents");
    }
    if !c.excludes.is_empty() {
        text.push_str(&format!(" exclude={:?}", c.excludes));
    }
    if c.link {
        text.push_str(" link");
    }
    for r in &c.remote {
        text.push_str(&format!(" url={} name={}", r.url, r.name));
        if let Some(sum) = &r.checksum {
            text.push_str(&format!(" checksum={sum}"));
        }
        if r.unpack {
            text.push_str(" unpack-url");
        }
    }
    if !c.inline.is_empty() {
        let files: Vec<String> = c
            .inline
            .iter()
            .map(|f| format!("{}={:?}", f.name, f.content))
            .collect();
        text.push_str(&format!(" inline {}", files.join(" ")));
    }
    text
}

/// The parts of a plan the fixtures pin, one fact a line: `images: …` (each with its platform when it
/// is not the target's), then per stage `stage NAME from BASE` (and `for PLATFORM` when the stage is
/// not built for the target), and per RUN step `  LINE: RUN network=…` and one line per mount.
fn describe_plan(images: &[ImageKey], plan: &BuildPlan) -> String {
    let source = |f: &MountFrom| match f {
        MountFrom::Context => "context".to_string(),
        MountFrom::Named(name) => format!("context {name}"),
        MountFrom::Stage(id) => format!("stage {}", plan.stages[id.0].name),
        MountFrom::Image(r) => format!("image {r}"),
    };
    let mut out = vec![format!(
        "images: {}",
        images
            .iter()
            .map(|key| if key.platform == plan.platform {
                key.reference.to_string()
            } else {
                key.to_string()
            })
            .collect::<Vec<_>>()
            .join(", ")
    )];
    for stage in &plan.stages {
        let base = match &stage.base {
            Base::Scratch => "scratch".to_string(),
            Base::Image(r) => r.to_string(),
            Base::Stage(id) => format!("stage {}", plan.stages[id.0].name),
        };
        if stage.platform == plan.platform {
            out.push(format!("stage {} from {base}", stage.name));
        } else {
            out.push(format!(
                "stage {} from {base} for {}",
                stage.name, stage.platform
            ));
        }
        for step in &stage.steps {
            let Some(FsChange::Run(run)) = &step.fs else {
                continue;
            };
            out.push(format!(
                "  {}: RUN network={:?}",
                step.location.line, run.network
            ));
            for m in &run.mounts {
                out.push(format!("    {}", describe_mount(m, &source)));
            }
        }
    }
    out.join("\n")
}

fn describe_mount(m: &RunMount, source: &dyn Fn(&MountFrom) -> String) -> String {
    let rw = |readonly: bool| if readonly { "ro" } else { "rw" };
    match m {
        RunMount::Bind {
            target,
            from,
            source: path,
            readwrite,
        } => format!(
            "bind {target} <- {}:{path} {}",
            source(from),
            rw(!readwrite)
        ),
        RunMount::Cache {
            target,
            id,
            sharing,
            from,
            readonly,
            uid,
            gid,
            mode,
        } => {
            let seed = from
                .as_ref()
                .map(|(f, p)| format!(" <- {}:{p}", source(f)))
                .unwrap_or_default();
            format!(
                "cache {target} id={id} sharing={sharing:?} {} {uid}:{gid} {mode:o}{seed}",
                rw(*readonly)
            )
        }
        RunMount::Tmpfs { target, size } => format!("tmpfs {target} size={size:?}"),
        RunMount::Script {
            target,
            name,
            content,
        } => format!("script {target}/{name} {content:?}"),
        RunMount::Secret {
            id,
            target,
            env,
            required,
            uid,
            gid,
            mode,
        } => format!(
            "secret id={id} file={} env={} required={required} {uid}:{gid} {mode:o}",
            target.as_deref().unwrap_or("-"),
            env.as_deref().unwrap_or("-")
        ),
    }
}
