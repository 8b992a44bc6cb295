//! Planning tests for RUN's flags: `--mount` values in the plan, `from=` in the stage graph, where
//! errors surface, `--network` and `--security`.

use crate::plan::{CacheSharing, FsChange, MountFrom, RunMount, StageId};

use super::from_text;
use super::plan_tests::{err, input, plan, steps};

fn mounts(text: &str) -> Vec<crate::plan::RunMount> {
    let steps = steps(text);
    let Some(FsChange::Run(run)) = &steps.last().unwrap().fs else {
        panic!("the last step is a RUN")
    };
    run.mounts.clone()
}

#[test]
fn run_mount_values_see_env_over_arg_and_the_workdir_at_the_time() {
    let m = mounts(
        "FROM alpine\nARG D=arg\nENV D=env\nWORKDIR /w\nRUN --mount=type=cache,target=c/$D,id=${D}-x make\n",
    );
    assert_eq!(
        m,
        vec![RunMount::Cache {
            target: "/w/c/env".into(),
            id: "env-x".into(),
            sharing: CacheSharing::Shared,
            from: None,
            readonly: false,
            uid: 0,
            gid: 0,
            mode: 0o755,
        }]
    );
}

#[test]
fn run_mount_from_stage_index_and_errors() {
    let p = plan("FROM alpine\nRUN a\nFROM alpine\nRUN --mount=from=0,target=/s ls /s\n");
    assert_eq!(p.stages.len(), 2);
    let Some(FsChange::Run(run)) = &p.stages[1].steps[0].fs else {
        panic!()
    };
    assert!(matches!(
        &run.mounts[0],
        RunMount::Bind {
            from: MountFrom::Stage(StageId(0)),
            ..
        }
    ));
    let e = err("FROM alpine AS a\nRUN --mount=from=b,target=/s ls\nFROM alpine AS b\nFROM a\n");
    assert!(
        e.starts_with(
            "Dockerfile:2: a RUN mount reads stage `b`, which is not defined before this stage"
        ),
        "{e}"
    );
    // Only the target's stages are held to it, as BuildKit dispatches only those.
    let mut only_b = input();
    only_b.target = Some("b".into());
    let text = "FROM alpine AS a\nRUN --mount=from=b,target=/s ls\nFROM alpine AS b\n";
    assert!(from_text(text, &only_b).is_ok());
    // A stage mounting itself is a cycle, as BuildKit reports it.
    let e = err("FROM alpine AS a\nRUN --mount=from=a,target=/s ls\n");
    assert!(e.contains("circular dependency on stage `a`"), "{e}");
    let e = err("FROM alpine\nARG S=x\nRUN --mount=from=$S,target=/s ls\n");
    assert!(
        e.starts_with("Dockerfile:3: `--mount=from=$S,target=/s`: `from=$S` cannot hold variables"),
        "{e}"
    );
    let e = err("FROM alpine\nRUN --mount=from=Not!An/Image,target=/s ls\n");
    assert!(
        e.contains("`--mount` with `from=Not!An/Image` is neither a stage nor an image"),
        "{e}"
    );
}

#[test]
fn run_mount_errors_show_the_value_and_come_before_any_pull() {
    // Checked when the Dockerfile is loaded, before its images are resolved...
    let e = from_text(
        "FROM alpine\nRUN --mount=type=cache,target=/x,mode=rwx make\n",
        &input(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.starts_with(
            "Dockerfile:2: `--mount=type=cache,target=/x,mode=rwx`: `mode=rwx` is not an octal mode"
        ),
        "{e}"
    );
    // ...unless a variable is in it: then when the RUN is planned.
    let text = "FROM alpine\nARG T=volume\nRUN --mount=type=$T,target=/x make\n";
    assert!(from_text(text, &input()).is_ok());
    assert!(err(text).contains("unknown mount type `volume`"));
    // A mount at `/` needs WORKDIR, so it is found when planning.
    let e = err("FROM alpine\nWORKDIR /\nRUN --mount=type=tmpfs make\n");
    assert!(e.contains("the mount has no `target=`"), "{e}");
    assert!(err("FROM alpine\nRUN --mount make\n").contains("flag `--mount` is missing a value"));
}

#[test]
fn stages_the_target_does_not_need_may_use_what_hoist_refuses() {
    let p = plan(
        "FROM alpine AS dev\nRUN --security=insecure --mount=type=ssh x\nFROM alpine\nRUN --network=none y\n",
    );
    assert_eq!(p.stages.len(), 1);
    // A bad value is an error anywhere, as in BuildKit's parser.
    assert!(
        err("FROM alpine AS dev\nRUN --network=lan x\nFROM alpine\n").contains("--network=lan")
    );
}
