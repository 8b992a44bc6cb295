//! Bad input: every mistake exits non-zero with an `error:` naming the Dockerfile line, the file, the
//! stage, the reference or the registry, and leaves no output behind.

use std::net::TcpListener;

use crate::support::{HoistRun, Sandbox, busybox_world, hoist_run, mirror};

/// Runs hoist on `case` with `--output oci:DIR` plus `extra`; asserts it failed and left no DIR.
fn fails(sandbox: &Sandbox, case: &str, extra: &[String]) -> HoistRun {
    let context = sandbox.context(case);
    let out = sandbox.path("oci");
    let run = hoist_run(
        sandbox
            .hoist()
            .args(extra)
            .arg("--dir")
            .arg(&context)
            .arg("--output")
            .arg(format!("oci:{}", out.display())),
    )
    .failed();
    assert!(
        !out.exists(),
        "{case}: a failed build left {} behind",
        out.display()
    );
    assert!(
        run.stdout.is_empty(),
        "{case}: stdout must stay empty: {}",
        run.stdout
    );
    run
}

fn assert_mentions(run: &HoistRun, needles: &[&str]) {
    for needle in needles {
        assert!(
            run.stderr.contains(needle),
            "stderr should mention {needle:?}:\n{}",
            run.stderr
        );
    }
}

#[test]
fn missing_context_file_names_line_and_file() {
    let (registry, sandbox) = busybox_world();
    let run = fails(&sandbox, "missing_file", &mirror(&registry));
    assert_mentions(&run, &["Dockerfile:3", "nope.txt"]);
}

#[test]
fn unknown_from_stage_is_named() {
    let (registry, sandbox) = busybox_world();
    let run = fails(&sandbox, "unknown_from", &mirror(&registry));
    assert_mentions(&run, &["Dockerfile:5", "nosuch"]);
}

#[test]
fn unknown_instruction_suggests_the_right_one() {
    let sandbox = Sandbox::new();
    let run = fails(&sandbox, "syntax_error", &[]);
    assert_mentions(&run, &["Dockerfile:2", "COPYY", "did you mean"]);
    assert!(run.stderr.contains("COPY"), "{}", run.stderr);
}

#[test]
fn invalid_name_is_rejected() {
    let sandbox = Sandbox::new();
    let run = fails(&sandbox, "scratch", &["--name".into(), "Bad/Name".into()]);
    assert_mentions(&run, &["Bad/Name"]);
}

#[test]
fn unreachable_registry_is_named() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let sandbox = Sandbox::new();
    let name = format!("127.0.0.1:{port}/app:v1");
    let run = fails(
        &sandbox,
        "scratch",
        &["--name".into(), name, "--push".into()],
    );
    assert_mentions(&run, &[&format!("127.0.0.1:{port}")]);
}
