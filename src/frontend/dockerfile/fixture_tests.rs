//! Fixture cases: `fixtures/frontend/<case>/` directories, each a Dockerfile with its expected history,
//! plan facts or error.

use std::path::PathBuf;

use crate::image::Reference;
use crate::plan::{Base, BuildPlan, FsChange, MountFrom, RunMount};

use super::from_text;
use super::plan_tests::{images, input};

/// `fixtures/frontend/<case>/Dockerfile`: `error.txt` holds the expected error; otherwise `history.txt`
/// holds the expected `created_by` of every step of the result and `plan.txt` (when present) the
/// registry images to pull, the planned stages and every RUN's network and mounts ([`describe_plan`]).
#[test]
fn fixture_cases() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/frontend");
    let mut seen = 0;
    for entry in std::fs::read_dir(&root).unwrap() {
        let dir = entry.unwrap().path();
        let text = std::fs::read_to_string(dir.join("Dockerfile")).unwrap();
        let result = from_text(&text, &input()).and_then(|df| {
            let plan = df.plan(&images(&df))?;
            Ok((df.external_images(), plan))
        });
        if let Ok(expected) = std::fs::read_to_string(dir.join("error.txt")) {
            let e = result.unwrap_err().to_string();
            assert_eq!(e, expected.trim_end(), "{}", dir.display());
        } else {
            let (images, plan) = result.unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
            let history: Vec<String> = plan
                .stages
                .iter()
                .flat_map(|s| s.steps.iter().map(|st| st.created_by.clone()))
                .collect();
            let expected = std::fs::read_to_string(dir.join("history.txt")).unwrap();
            assert_eq!(history.join("\n"), expected.trim_end(), "{}", dir.display());
            if let Ok(expected) = std::fs::read_to_string(dir.join("plan.txt")) {
                let described = describe_plan(&images, &plan);
                assert_eq!(described, expected.trim_end(), "{}", dir.display());
            }
        }
        seen += 1;
    }
    assert!(seen >= 4);
}

/// The parts of a plan the fixtures pin, one fact a line: `images: …`, then per stage
/// `stage NAME from BASE`, and per RUN step `  LINE: RUN network=…` and one line per mount.
fn describe_plan(images: &[Reference], plan: &BuildPlan) -> String {
    let source = |f: &MountFrom| match f {
        MountFrom::Context => "context".to_string(),
        MountFrom::Stage(id) => format!("stage {}", plan.stages[id.0].name),
        MountFrom::Image(r) => format!("image {r}"),
    };
    let mut out = vec![format!(
        "images: {}",
        images
            .iter()
            .map(|r| r.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )];
    for stage in &plan.stages {
        let base = match &stage.base {
            Base::Scratch => "scratch".to_string(),
            Base::Image(r) => r.to_string(),
            Base::Stage(id) => format!("stage {}", plan.stages[id.0].name),
        };
        out.push(format!("stage {} from {base}", stage.name));
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
