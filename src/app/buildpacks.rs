//! `hoist build` without a Dockerfile: detection, the build and run images, the lifecycle's two
//! stages on the executor (`frontend::buildpacks::lifecycle`), the labels. What the image then goes
//! through — the checks, the exports — is the same as for a Dockerfile build.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;

use super::cache_repo::BuildpackCache;
use crate::cli::{BuildRequest, BuildpackRequest};
use crate::executor::Execution;
use crate::executor::run::CacheSeeds;
use crate::frontend::buildpacks::detect;
use crate::frontend::buildpacks::images::{self, short_name};
use crate::frontend::buildpacks::labels;
use crate::frontend::buildpacks::lifecycle::{self, Built, LAYERS_DIR};
use crate::frontend::buildpacks::order::Buildpack;
use crate::image::{BlobStore, Image, ImageKey, ImageSet, Layer, Platform, Reference};
use crate::plan::StageId;
use crate::progress::{Event, Reporter};
use crate::registry::RegistryClient;

/// Builds the app in `req.context` with buildpacks for `platform`; returns the image before checks.
pub async fn build(
    req: &BuildRequest,
    options: &BuildpackRequest,
    platform: &Platform,
    blobs: &BlobStore,
    registry: &RegistryClient,
    reporter: Arc<dyn Reporter>,
) -> anyhow::Result<Image> {
    if *platform != Platform::linux_amd64() {
        anyhow::bail!(
            "buildpack builds make linux/amd64 images only, and --platform asks for {platform}\nhint: build other platforms from a Dockerfile"
        );
    }
    let group = group(req, options, reporter.as_ref())?;
    let language = images::language(&group);
    let overrides = match &options.images_config {
        Some(path) => images::load(path).map_err(anyhow::Error::msg)?,
        None => images::Overrides::new(),
    };
    let (default_builder, default_run) = images::choose(language, &overrides);
    let parse = |what: &str, value: String| -> anyhow::Result<Reference> {
        value.parse().map_err(|e| {
            anyhow::anyhow!(
                "the {what} image `{value}` for {} is not a valid reference: {e}\nhint: fix `[{}]` in the buildpack image config",
                language.id(),
                short_name(language)
            )
        })
    };
    let builder = match &options.builder {
        Some(r) => r.clone(),
        None => parse("build", default_builder)?,
    };
    let run_image = match &options.run_image {
        Some(r) => r.clone(),
        None => parse("run", default_run)?,
    };
    let cnb_dir = cnb_dir(options)?;
    reporter.report(Event::Info {
        message: format!(
            "no Dockerfile: building with buildpacks {} on {builder}, running on {run_image}",
            group
                .iter()
                .map(|(b, _)| b.id())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    });

    let input = lifecycle::Input {
        app: req.context.clone(),
        group,
        builder: builder.clone(),
        run_image: run_image.clone(),
        cnb_dir: cnb_dir.clone(),
        env: options.env.clone(),
        cache_key: req
            .names
            .first()
            .map(|n| format!("{}/{}", n.registry(), n.repository()))
            .unwrap_or_else(|| req.context.display().to_string()),
        copy_cache: req.cache_repo.is_some(),
        platform: platform.clone(),
        epoch: req.epoch(),
        created: super::created(req.creation_time),
        compression_level: req.compression_level,
    };
    let mut plan = lifecycle::build_plan(&input);

    let mut images = ImageSet::new();
    for (reference, role) in [(&builder, "build"), (&run_image, "run")] {
        reporter.report(Event::Resolve {
            reference: reference.to_string(),
        });
        let image = registry
            .pull(reference, platform, blobs, reporter.as_ref())
            .await
            .with_context(|| {
                format!(
                    "cannot pull the {role} image `{reference}`\nhint: pass another with --{}, or set it for {} in the buildpack image config",
                    if role == "build" { "builder" } else { "run-image" },
                    short_name(language)
                )
            })?;
        images.insert(ImageKey::new(reference, platform), image);
    }
    let run_base = images
        .get(&run_image, platform)
        .expect("the run image was just pulled");
    let run_layers = run_base.layers().len();
    let run_user = run_base.config().config.user.clone();
    let run_has_port = run_base.config().config.env_var("PORT").is_some();

    let mut run = super::run_options(req, &plan, registry, reporter.clone())?
        .expect("the lifecycle plan runs the creator");
    let cache = req.cache_repo.as_ref().map(|repo| {
        Arc::new(BuildpackCache {
            repo: repo.clone(),
            id: lifecycle::cache_id(&input),
            platform: platform.clone(),
            registry: registry.clone(),
            blobs: blobs.clone(),
            runtime: tokio::runtime::Handle::current(),
            reporter: reporter.clone(),
        })
    });
    run.cache_seeds = cache.clone().map(|c| c as Arc<dyn CacheSeeds>);
    let tap = super::verdict_tap(req);
    let scratch = run.scratch.clone();
    let (image, cache_layer) = {
        let (blobs, reporter) = (blobs.clone(), reporter.clone());
        tokio::task::spawn_blocking(move || -> anyhow::Result<(Image, Option<Layer>)> {
            let result = (|| {
                let mut execution =
                    Execution::new(&images, &blobs, reporter.as_ref(), Some(&run), Some(&tap))
                        .expecting(2);
                execution.build_stage(&plan, StageId(0))?;
                let (stage, fs) = execution
                    .stage(StageId(0))
                    .expect("the build stage was just built");
                let cache_layer = input.copy_cache.then(|| cache_copy(stage)).flatten();
                let metadata = fs.read(&format!("{LAYERS_DIR}/config/metadata.toml"))?;
                let layers = fs.read(&format!("{LAYERS_DIR}/config/launch-layers.toml"))?;
                let built = Built::parse(metadata.as_deref(), layers.as_deref())?;
                let launch_dir = lifecycle::launch_context(&cnb_dir, &built, &scratch)
                    .context("cannot prepare the launcher")?;
                lifecycle::export_stage(
                    &mut plan,
                    &input,
                    &built,
                    &launch_dir,
                    run_user.as_deref(),
                    run_has_port,
                );
                execution.build_stage(&plan, StageId(1))?;
                let image = execution.result(&plan);
                let labels = labels::labels(&image, run_layers, &input.run_image, &built);
                let image = image.with_config(|c| {
                    c.labels.get_or_insert_default().extend(labels);
                });
                Ok((image, cache_layer))
            })();
            crate::executor::sandbox::remove_tree(&run.sandbox, &run.scratch);
            result
        })
        .await
        .context("the build thread panicked")??
    };
    if let (Some(cache), Some(layer)) = (cache, cache_layer) {
        cache.store(layer).await;
    }
    Ok(image)
}

/// The layer of the build stage's last step, the copy of the cache ([`lifecycle::CACHE_COPY`]).
fn cache_copy(stage: &Image) -> Option<Layer> {
    let last = stage.config().history.iter().rfind(|h| !h.empty_layer)?;
    let copies_cache = last
        .created_by
        .as_deref()
        .is_some_and(|c| c.contains(lifecycle::CACHE_COPY));
    copies_cache
        .then(|| stage.layers().last().cloned())
        .flatten()
}

/// The buildpacks to run: `--buildpack` ids, else detection (whose warnings are reported; nothing
/// detected, or Python/PHP without a `web` process, stops the build here, before any download).
fn group(
    req: &BuildRequest,
    options: &BuildpackRequest,
    reporter: &dyn Reporter,
) -> anyhow::Result<Vec<(Buildpack, bool)>> {
    if !options.buildpacks.is_empty() {
        return options
            .buildpacks
            .iter()
            .map(|id| {
                Buildpack::ALL
                    .iter()
                    .find(|b| b.id() == id || short_name(**b) == id)
                    .map(|b| (*b, false))
                    .ok_or_else(|| {
                        let known: Vec<&str> = Buildpack::ALL.iter().map(|b| b.id()).collect();
                        anyhow::anyhow!(
                            "--buildpack `{id}` is not one of hoist's buildpacks\nhint: use one of {}",
                            known.join(", ")
                        )
                    })
            })
            .collect();
    }
    let detected = detect::detect(&req.context).map_err(|e| {
        anyhow::Error::from(e).context(format!(
            "`{}` has no Dockerfile, and no buildpack detected the app",
            req.context.display()
        ))
    })?;
    if let Some(problem) = detected.problem.clone() {
        return Err(anyhow::Error::from(problem));
    }
    for message in &detected.warnings {
        reporter.report(Event::Warning {
            message: message.clone(),
        });
    }
    Ok(detected
        .group
        .iter()
        .map(|m| (m.buildpack, m.optional))
        .collect())
}

/// The lifecycle directory: `--cnb-dir`/`HOIST_CNB_DIR`, else `cnb` beside the executable; it must
/// hold the lifecycle.
fn cnb_dir(options: &BuildpackRequest) -> anyhow::Result<PathBuf> {
    let dir = match &options.cnb_dir {
        Some(dir) => dir.clone(),
        None => std::env::current_exe()
            .context("cannot find hoist's own executable")?
            .parent()
            .map(|p| p.join("cnb"))
            .unwrap_or_else(|| PathBuf::from("cnb")),
    };
    if !dir.join("lifecycle/lifecycle").is_file() {
        anyhow::bail!(
            "the lifecycle directory `{}` has no lifecycle/lifecycle: buildpack builds need hoist's static lifecycle and buildpacks\nhint: run `buildpacks/package.sh {}` in hoist's source tree, or pass --cnb-dir (HOIST_CNB_DIR) where it was built",
            dir.display(),
            dir.display()
        );
    }
    Ok(dir)
}
