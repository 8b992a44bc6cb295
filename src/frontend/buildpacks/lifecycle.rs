//! The CNB lifecycle as a build plan (CNB platform spec 0.13: the `creator` flow, then the exporter).
//!
//! A buildpack build is two stages of an ordinary [`BuildPlan`], built one after the other because the
//! second is planned from what the first wrote:
//!
//! - **`build`**, on the build image: the app is copied to `/workspace` (owned by the build user
//!   1000:1000), the group hoist chose goes to `/layers/order.toml` (given to the detector with
//!   `-order`, so it runs exactly that group and not the builder's whole order), each `--env` value to `/platform/env/NAME`, and one
//!   RUN step runs `/cnb/lifecycle/creator` as 1000:1000 with `/cnb` bound read-only from the
//!   lifecycle directory (the static lifecycle and buildpacks `buildpacks/package.sh` assembles) and
//!   `/cache` a cache mount kept between builds of the same image name (the buildpacks' cache layers).
//!   The creator runs detect and build in the sandbox, saves the cache layers to `/cache`, and leaves
//!   in `/layers` only the launch layers, listed in `/layers/config/launch-layers.toml`, and the
//!   process metadata in `/layers/config/metadata.toml`. With `--cache-repo` a last RUN copies
//!   `/cache` to [`CACHE_COPY`]: its layer is the cache as the registry keeps it, and a runner
//!   without the cache mount starts from it (`app::cache_repo`).
//! - **`export`**, on the run image ([`export_stage`]): one image layer per launch layer (a layer
//!   whose content did not change keeps its digest, so a push skips it), one for the app, one for the
//!   launcher with a `/cnb/process/TYPE` link per process; user, working dir, `PORT`, `CNB_*` and the
//!   default process as entrypoint. The labels `pack inspect` reads come last, from the built layers
//!   ([`super::labels`]).
//!
//! The RUN step is cached like any other (its key covers the app, the lifecycle and buildpack
//! binaries, the order and the env): an unchanged app rebuilds without running anything.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::image::{Platform, Reference};
use crate::plan::{
    Base, BuildContext, BuildPlan, CacheSharing, ConfigChange, ContextFilter, CopySource, CopySpec,
    FsChange, IdSpec, InlineFile, Location, MkdirSpec, MountFrom, Network, Owner, RunMount,
    RunSpec, Stage, StageId, Step,
};

use cnb_lifecycle::metadata::{LaunchLayer, LaunchLayers, Metadata, Process};

use super::order::{self, Buildpack, Entry};

/// The build user's uid and gid (the CNB convention hoist follows; run images without a user get it).
pub const CNB_USER: u32 = 1000;
/// Where the app is built and runs.
pub const APP_DIR: &str = "/workspace";
/// Where the buildpacks' layers are.
pub const LAYERS_DIR: &str = "/layers";
/// The CNB platform API hoist implements.
pub const PLATFORM_API: &str = "0.13";
/// Where the buildpacks' cache layers are kept between builds (a cache mount of the build stage).
pub const CACHE_DIR: &str = "/cache";
/// Where the last step of the build stage copies [`CACHE_DIR`] when [`Input::copy_cache`]: that
/// step's layer is the cache as `--cache-repo` stores it.
pub const CACHE_COPY: &str = "/layers/.cache-copy";
/// The named context holding the lifecycle and the buildpacks (bound at `/cnb` in the build stage).
const CNB_CONTEXT: &str = "cnb";
/// The named context holding the launcher and the process links (copied to `/cnb` in the app image).
const LAUNCH_CONTEXT: &str = "launch";

/// What a buildpack build needs beyond the app.
#[derive(Clone, Debug)]
pub struct Input {
    /// The app directory (the build context).
    pub app: PathBuf,
    /// The buildpacks to run, in order, each with whether it is optional.
    pub group: Vec<(Buildpack, bool)>,
    pub builder: Reference,
    pub run_image: Reference,
    /// The lifecycle directory: `lifecycle/` and `buildpacks/` as `buildpacks/package.sh` lays them out.
    pub cnb_dir: PathBuf,
    /// Build-time environment (`--env`, `--env-file`): `/platform/env`, never in the app image.
    pub env: Vec<(String, String)>,
    /// Names the cache of the buildpacks' cache layers (the image's repository).
    pub cache_key: String,
    /// Copy the cache into the stage after the build ([`CACHE_COPY`]), to be stored in
    /// `--cache-repo`.
    pub copy_cache: bool,
    pub platform: Platform,
    pub epoch: i64,
    pub created: String,
    pub compression_level: u32,
}

/// The plan of the `build` stage alone; [`export_stage`] appends the second stage once it is built.
pub fn build_plan(input: &Input) -> BuildPlan {
    let mut named_contexts = BTreeMap::new();
    named_contexts.insert(
        CNB_CONTEXT.to_string(),
        BuildContext {
            root: input.cnb_dir.clone(),
            filter: ContextFilter::none(),
        },
    );
    let user = || Owner {
        user: IdSpec::Id(CNB_USER),
        group: Some(IdSpec::Id(CNB_USER)),
    };
    let mut steps = vec![
        step(
            &format!("COPY --chown={CNB_USER}:{CNB_USER} . {APP_DIR}"),
            Some(FsChange::Copy(copy(
                CopySource::Context,
                &["."],
                APP_DIR,
                Some(user()),
            ))),
            vec![],
        ),
        step(
            &format!("mkdir {LAYERS_DIR}"),
            Some(FsChange::Mkdir(MkdirSpec {
                path: LAYERS_DIR.into(),
                owner: Some(user()),
                mode: 0o755,
            })),
            vec![],
        ),
        step(
            "write /layers/order.toml",
            Some(FsChange::Copy(inline(
                vec![InlineFile {
                    name: "order.toml".into(),
                    content: order_toml(&input.group),
                }],
                &format!("{LAYERS_DIR}/order.toml"),
            ))),
            vec![],
        ),
    ];
    if !input.env.is_empty() {
        let files: Vec<InlineFile> = input
            .env
            .iter()
            .map(|(k, v)| InlineFile {
                name: k.clone(),
                content: v.clone(),
            })
            .collect();
        steps.push(step(
            "write /platform/env",
            Some(FsChange::Copy(inline(files, "/platform/env/"))),
            vec![],
        ));
    }
    let home = format!("{LAYERS_DIR}/.home");
    steps.push(step(
        "mkdir /layers/.home",
        Some(FsChange::Mkdir(MkdirSpec {
            path: home.clone(),
            owner: Some(user()),
            mode: 0o755,
        })),
        vec![
            ConfigChange::User(format!("{CNB_USER}:{CNB_USER}")),
            ConfigChange::WorkingDir(APP_DIR.into()),
            ConfigChange::Env(vec![
                ("HOME".into(), home),
                ("CNB_PLATFORM_API".into(), PLATFORM_API.into()),
                ("CNB_USER_ID".into(), CNB_USER.to_string()),
                ("CNB_GROUP_ID".into(), CNB_USER.to_string()),
            ]),
        ],
    ));
    steps.push(step(
        "/cnb/lifecycle/creator",
        Some(FsChange::Run(RunSpec {
            argv: vec![
                "/cnb/lifecycle/creator".into(),
                "-order".into(),
                format!("{LAYERS_DIR}/order.toml"),
            ],
            env: Vec::new(),
            mounts: vec![
                RunMount::Bind {
                    target: "/cnb".into(),
                    from: MountFrom::Named(CNB_CONTEXT.into()),
                    source: "/".into(),
                    readwrite: false,
                },
                cache_mount(input, false),
            ],
            network: Network::Default,
        })),
        vec![],
    ));
    if input.copy_cache {
        steps.push(step(
            &format!("cp -a {CACHE_DIR}/. {CACHE_COPY}"),
            Some(FsChange::Run(RunSpec {
                argv: vec![
                    "cp".into(),
                    "-a".into(),
                    format!("{CACHE_DIR}/."),
                    CACHE_COPY.into(),
                ],
                env: Vec::new(),
                mounts: vec![cache_mount(input, true)],
                network: Network::None,
            })),
            vec![],
        ));
    }
    BuildPlan {
        platform: input.platform.clone(),
        stages: vec![Stage {
            name: "build".into(),
            base: Base::Image(input.builder.clone()),
            platform: input.platform.clone(),
            steps,
        }],
        context: BuildContext {
            root: input.app.clone(),
            filter: ContextFilter::none(),
        },
        named_contexts,
        epoch: input.epoch,
        compression_level: input.compression_level,
        created: input.created.clone(),
    }
}

/// The id of the buildpacks' cache of this image (a cache mount id: kept per machine, and in
/// `--cache-repo` when [`Input::copy_cache`]).
pub fn cache_id(input: &Input) -> String {
    format!("hoist-cnb-cache:{}", input.cache_key)
}

fn cache_mount(input: &Input, readonly: bool) -> RunMount {
    RunMount::Cache {
        target: CACHE_DIR.into(),
        id: cache_id(input),
        sharing: CacheSharing::Locked,
        from: None,
        readonly,
        uid: CNB_USER,
        gid: CNB_USER,
        mode: 0o755,
    }
}

/// `/layers/order.toml`: one group, the buildpacks hoist chose (CNB platform spec, `order.toml`).
pub fn order_toml(group: &[(Buildpack, bool)]) -> String {
    let entries: Vec<Entry> = group
        .iter()
        .map(|&(buildpack, optional)| Entry {
            buildpack,
            optional,
        })
        .collect();
    order::groups_toml(&[&entries])
}

/// What the creator left: `/layers/config/metadata.toml` and `/layers/config/launch-layers.toml`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Built {
    pub metadata: Metadata,
    /// The launch layers, in group order.
    pub launch_layers: Vec<LaunchLayer>,
    /// The text of `metadata.toml`, copied into the image as is.
    pub metadata_toml: String,
}

/// The creator's output is not what hoist expects.
#[derive(Debug, thiserror::Error)]
#[error(
    "the lifecycle's `{file}` {problem}\nhint: the lifecycle directory (`--cnb-dir`) may be from another hoist version: rebuild it with `buildpacks/package.sh`"
)]
pub struct BuiltError {
    pub file: String,
    pub problem: String,
}

impl Built {
    /// Reads the creator's files, given their contents (`None`: missing).
    pub fn parse(
        metadata: Option<&[u8]>,
        launch_layers: Option<&[u8]>,
    ) -> Result<Built, BuiltError> {
        let read = |file: &str, bytes: Option<&[u8]>| -> Result<String, BuiltError> {
            let bytes = bytes.ok_or_else(|| BuiltError {
                file: file.into(),
                problem: "is missing after the build".into(),
            })?;
            String::from_utf8(bytes.to_vec()).map_err(|_| BuiltError {
                file: file.into(),
                problem: "is not UTF-8".into(),
            })
        };
        let metadata_file = format!("{LAYERS_DIR}/config/metadata.toml");
        let layers_file = format!("{LAYERS_DIR}/config/launch-layers.toml");
        let metadata_toml = read(&metadata_file, metadata)?;
        let metadata: Metadata = toml::from_str(&metadata_toml).map_err(|e| BuiltError {
            file: metadata_file.clone(),
            problem: format!("cannot be read: {e}"),
        })?;
        let layers: LaunchLayers =
            toml::from_str(&read(&layers_file, launch_layers)?).map_err(|e| BuiltError {
                file: layers_file.clone(),
                problem: format!("cannot be read: {e}"),
            })?;
        for layer in &layers.layers {
            let inside = layer
                .path
                .strip_prefix(LAYERS_DIR)
                .is_some_and(|rest| rest.starts_with('/') && !rest.split('/').any(|c| c == ".."));
            if !inside {
                return Err(BuiltError {
                    file: layers_file,
                    problem: format!("names `{}`, which is not under {LAYERS_DIR}", layer.path),
                });
            }
        }
        Ok(Built {
            metadata,
            launch_layers: layers.layers,
            metadata_toml,
        })
    }

    /// The process the image starts: `web` when there is one, else the one marked default, else
    /// the first.
    pub fn default_process(&self) -> Option<&Process> {
        let processes = &self.metadata.processes;
        processes
            .iter()
            .find(|p| p.r#type == "web")
            .or_else(|| processes.iter().find(|p| p.default))
            .or_else(|| processes.first())
    }
}

/// The directory holding `/cnb` of the app image: the launcher and a link per process type. Made
/// on the host (under `scratch`) and read as a named context.
pub fn launch_context(cnb_dir: &Path, built: &Built, scratch: &Path) -> std::io::Result<PathBuf> {
    let root = scratch.join("launch");
    let lifecycle = root.join("cnb/lifecycle");
    let process = root.join("cnb/process");
    std::fs::create_dir_all(&lifecycle)?;
    std::fs::create_dir_all(&process)?;
    std::fs::copy(
        cnb_dir.join("lifecycle/lifecycle"),
        lifecycle.join("launcher"),
    )?;
    for p in &built.metadata.processes {
        std::os::unix::fs::symlink("/cnb/lifecycle/launcher", process.join(&p.r#type))?;
    }
    Ok(root)
}

/// Appends the `export` stage to `plan` (whose first stage is the built `build` stage): the run
/// image, the launch layers, the app, `/cnb` from `launch_dir` ([`launch_context`]), and the config.
/// `run_user` is the run image's configured user, if it has one.
pub fn export_stage(
    plan: &mut BuildPlan,
    input: &Input,
    built: &Built,
    launch_dir: &Path,
    run_user: Option<&str>,
    run_has_port: bool,
) {
    plan.named_contexts.insert(
        LAUNCH_CONTEXT.to_string(),
        BuildContext {
            root: launch_dir.to_owned(),
            filter: ContextFilter::none(),
        },
    );
    let build = CopySource::Stage(StageId(0));
    let mut steps: Vec<Step> = built
        .launch_layers
        .iter()
        .map(|layer| {
            step(
                &format!("layer {}:{}", layer.buildpack, layer.name),
                Some(FsChange::Copy(copy(
                    build.clone(),
                    &[&layer.path],
                    &layer.path,
                    None,
                ))),
                vec![],
            )
        })
        .collect();
    steps.push(step(
        "app",
        Some(FsChange::Copy(copy(
            build.clone(),
            &[APP_DIR],
            APP_DIR,
            None,
        ))),
        vec![],
    ));
    let metadata = format!("{LAYERS_DIR}/config/metadata.toml");
    steps.push(step(
        "config",
        Some(FsChange::Copy(copy(build, &[&metadata], &metadata, None))),
        vec![],
    ));
    let mut env = vec![
        ("CNB_APP_DIR".to_string(), APP_DIR.to_string()),
        ("CNB_LAYERS_DIR".to_string(), LAYERS_DIR.to_string()),
        ("CNB_PLATFORM_API".to_string(), PLATFORM_API.to_string()),
    ];
    if !run_has_port {
        env.push(("PORT".into(), "8080".into()));
    }
    let user = match run_user {
        Some(user) if !user.is_empty() => user.to_string(),
        // A user without a passwd entry has `/` as HOME, where it cannot write (npm keeps its logs
        // there): the app directory, which it owns, serves.
        _ => {
            env.push(("HOME".into(), APP_DIR.into()));
            format!("{CNB_USER}:{CNB_USER}")
        }
    };
    let entrypoint = match built.default_process() {
        Some(p) => vec![format!("/cnb/process/{}", p.r#type)],
        None => vec!["/cnb/lifecycle/launcher".to_string()],
    };
    steps.push(step(
        "launcher",
        Some(FsChange::Copy(CopySpec {
            source: CopySource::Named(LAUNCH_CONTEXT.into()),
            ..copy(CopySource::Context, &["cnb"], "/cnb", None)
        })),
        vec![
            ConfigChange::Env(env),
            ConfigChange::User(user),
            ConfigChange::WorkingDir(APP_DIR.into()),
            ConfigChange::Entrypoint(Some(entrypoint)),
            ConfigChange::Cmd(None),
        ],
    ));
    plan.stages.push(Stage {
        name: "export".into(),
        base: Base::Image(input.run_image.clone()),
        platform: input.platform.clone(),
        steps,
    });
}

/// Files written from text (as a COPY heredoc is).
fn inline(files: Vec<InlineFile>, dest: &str) -> CopySpec {
    CopySpec {
        inline: files,
        ..copy(CopySource::Context, &[], dest, None)
    }
}

fn copy(source: CopySource, sources: &[&str], dest: &str, owner: Option<Owner>) -> CopySpec {
    CopySpec {
        source,
        inline: Vec::new(),
        sources: sources.iter().map(|s| s.to_string()).collect(),
        dest: dest.to_string(),
        owner,
        chmod: None,
        extract_archives: false,
        excludes: Vec::new(),
        parents: false,
        remote: Vec::new(),
        link: false,
    }
}

fn step(text: &str, fs: Option<FsChange>, config: Vec<ConfigChange>) -> Step {
    Step {
        created_by: format!("{text} # hoist buildpacks"),
        history: true,
        location: Location {
            file: PathBuf::from("buildpack build"),
            line: 0,
            end_line: 0,
            text: text.to_string(),
        },
        fs,
        config,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_order_is_one_group_in_cnb_format() {
        let text = order_toml(&[(Buildpack::Nodejs, false), (Buildpack::Procfile, true)]);
        let value: toml::Value = toml::from_str(&text).unwrap();
        let group = value["order"][0]["group"].as_array().unwrap();
        assert_eq!(group.len(), 2);
        assert_eq!(group[0]["id"].as_str(), Some("hoist/nodejs"));
        assert_eq!(group[1]["optional"].as_bool(), Some(true));
    }

    #[test]
    fn the_creators_files_are_read_and_checked() {
        let metadata = br#"
[[buildpacks]]
id = "hoist/nodejs"
version = "0.1.0"
api = "0.10"

[[processes]]
type = "worker"
command = ["bash", "-c", "node worker.js"]
default = true
buildpack-id = "hoist/nodejs"

[[processes]]
type = "web"
command = ["bash", "-c", "npm start"]
buildpack-id = "hoist/nodejs"
"#;
        let layers = br#"
[[layers]]
buildpack = "hoist/nodejs"
name = "deps"
path = "/layers/hoist_nodejs/deps"
"#;
        let built = Built::parse(Some(metadata), Some(layers)).unwrap();
        assert_eq!(built.default_process().unwrap().r#type, "web");
        assert_eq!(built.launch_layers[0].name, "deps");

        let outside = br#"
[[layers]]
buildpack = "x"
name = "y"
path = "/layers/../etc"
"#;
        let err = Built::parse(Some(metadata), Some(outside)).unwrap_err();
        assert!(err.to_string().contains("not under /layers"), "{err}");
        let err = Built::parse(None, Some(layers)).unwrap_err();
        assert!(
            err.to_string().contains("metadata.toml` is missing"),
            "{err}"
        );
    }
}
