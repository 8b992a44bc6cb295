//! Control Plane image links: `//image/NAME:TAG` with `--org ORG` (or `CPLN_ORG`) and
//! `/org/ORG/image/NAME:TAG` name images in the org's registry, which `HOIST_ORG_REGISTRY` points at a
//! loopback registry here; the org is not part of the repository path (`ORG.registry.cpln.io/NAME:TAG`).

use std::process::Command;

use crate::support::{Inspect, Registry, Sandbox, hoist_run, skopeo_inspect};

fn hoist(sandbox: &Sandbox, registry: &Registry, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hoist"));
    cmd.args(args)
        .env("HOIST_CACHE_DIR", sandbox.cache())
        .env("HOIST_ORG_REGISTRY", registry.host())
        .env_remove("CPLN_ORG")
        .current_dir(sandbox.dir.path());
    cmd
}

#[test]
fn links_push_copy_inspect_and_validate_in_the_org_registry() {
    let registry = Registry::start();
    let sandbox = Sandbox::new();
    let context = sandbox.path("ctx");
    std::fs::create_dir_all(&context).unwrap();
    std::fs::write(context.join("app.txt"), "in the org's registry\n").unwrap();
    std::fs::write(context.join("Dockerfile"), "FROM scratch\nCOPY app.txt /\n").unwrap();

    let built = hoist_run(
        hoist(
            &sandbox,
            &registry,
            &[
                "build",
                "--name",
                "//image/app:v1",
                "--org",
                "acme",
                "--push",
            ],
        )
        .arg("--dir")
        .arg(&context),
    )
    .ok();
    let host = registry.host();
    let digest = built.line().rsplit('@').next().unwrap().to_string();
    assert_eq!(built.line(), format!("{host}/app:v1@{digest}"));
    let info = skopeo_inspect(&format!("docker://{host}/app:v1"), Inspect::Info);
    assert_eq!(info["Digest"], digest.as_str());

    // Org to org (one registry here): `/org/ORG/image/` names its own org; a bare name with --org.
    let copied = hoist_run(&mut hoist(
        &sandbox,
        &registry,
        &["copy", "/org/acme/image/app:v1", "app:v2", "--org", "acme"],
    ))
    .ok();
    assert_eq!(copied.line(), format!("{host}/app:v2@{digest}"));
    assert_eq!(
        skopeo_inspect(&format!("docker://{host}/app:v2"), Inspect::Info)["Digest"],
        digest.as_str()
    );

    // CPLN_ORG gives `//image/` links their org, as in the Control Plane CLI.
    let inspected = hoist_run(
        hoist(&sandbox, &registry, &["inspect", "//image/app:v2"]).env("CPLN_ORG", "acme"),
    )
    .ok();
    let described: serde_json::Value = serde_json::from_str(&inspected.stdout).unwrap();
    assert_eq!(described["digest"], digest.as_str());
    assert_eq!(described["image"], format!("{host}/app:v2"));

    let validated = hoist_run(&mut hoist(
        &sandbox,
        &registry,
        &["validate", "//image/app:v1", "--org", "acme"],
    ));
    assert_eq!(validated.code, Some(0), "{}", validated.stderr);

    // Without an org, a link is an error that says what to add.
    let failed = hoist_run(&mut hoist(
        &sandbox,
        &registry,
        &["inspect", "//image/app:v1"],
    ))
    .failed();
    assert!(failed.stderr.contains("--org ORG"), "{}", failed.stderr);
    assert!(failed.stdout.is_empty());
}
