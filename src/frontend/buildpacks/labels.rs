//! The labels a CNB exporter puts on the app image, which `pack inspect` and platforms read (CNB
//! platform spec 0.13, "Labels"): `io.buildpacks.lifecycle.metadata` (the layers by diff ID: app,
//! config, launcher, each buildpack's launch layers, the run image's top layer),
//! `io.buildpacks.build.metadata` (buildpacks, processes, launcher) and
//! `io.buildpacks.project.metadata`.

use serde_json::{Value, json};

use super::lifecycle::Built;
use crate::image::{Image, Reference};

/// The labels for `image`, the export stage's result, whose first `run_layers` layers are the run
/// image's and the rest are, in order, the launch layers of `built`, the app, the config and the
/// launcher. A layer count that does not add up leaves the layer digests out rather than misname them.
pub fn labels(
    image: &Image,
    run_layers: usize,
    run_image: &Reference,
    built: &Built,
) -> Vec<(String, String)> {
    let ours: Vec<String> = image.layers()[run_layers.min(image.layers().len())..]
        .iter()
        .map(|l| l.diff_id.to_string())
        .collect();
    let expected = built.launch_layers.len() + 3;
    let sha = |i: usize| -> Value {
        if ours.len() == expected {
            json!({ "sha": ours[i] })
        } else {
            json!({})
        }
    };
    let n = built.launch_layers.len();
    let buildpacks: Vec<Value> = built
        .metadata
        .buildpacks
        .iter()
        .map(|bp| {
            let layers: serde_json::Map<String, Value> = built
                .launch_layers
                .iter()
                .enumerate()
                .filter(|(_, l)| l.buildpack == bp.id)
                .map(|(i, l)| {
                    let mut entry = sha(i);
                    entry["launch"] = json!(true);
                    (l.name.clone(), entry)
                })
                .collect();
            json!({ "key": bp.id, "version": bp.version, "layers": layers })
        })
        .collect();
    let top_layer = run_layers
        .checked_sub(1)
        .and_then(|i| image.layers().get(i))
        .map(|l| l.diff_id.to_string())
        .unwrap_or_default();
    let lifecycle = json!({
        "app": [sha(n)],
        "config": sha(n + 1),
        "launcher": sha(n + 2),
        "buildpacks": buildpacks,
        "runImage": { "topLayer": top_layer, "reference": run_image.to_string(), "image": run_image.to_string() },
        "stack": { "runImage": { "image": run_image.to_string() } },
    });
    let processes: Vec<Value> = built
        .metadata
        .processes
        .iter()
        .map(|p| {
            json!({
                "type": p.r#type,
                "command": p.command,
                "args": p.args,
                "direct": p.direct,
                "buildpackID": p.buildpack_id,
            })
        })
        .collect();
    let build = json!({
        "bom": null,
        "buildpacks": built.metadata.buildpacks.iter().map(|bp| json!({"id": bp.id, "version": bp.version})).collect::<Vec<_>>(),
        "launcher": { "version": env!("CARGO_PKG_VERSION"), "source": { "git": { "repository": "hoist" } } },
        "processes": processes,
    });
    vec![
        (
            "io.buildpacks.lifecycle.metadata".into(),
            lifecycle.to_string(),
        ),
        ("io.buildpacks.build.metadata".into(), build.to_string()),
        ("io.buildpacks.project.metadata".into(), "{}".into()),
    ]
}
