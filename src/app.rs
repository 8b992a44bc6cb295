//! The composition root: the one place where the pipeline is wired.
//! cli → frontend → (registry: resolve bases) → executor → validate → export.
//! `commands`: the inspection commands (`hoist parse`, `hoist context`); `validate`: `hoist validate`;
//! `login`: `hoist login`/`logout`; `transfer`: `hoist copy`/`push` and `hoist inspect` (`source` reads
//! an image from a registry or a layout for them and for `validate`); `fetch`: the files ADD downloads,
//! fetched before the executor runs; `prune`: `hoist prune`. Every command that uses the cache
//! directory holds its lock shared for its whole run ([`use_cache`]), so a prune never removes what
//! it uses.

pub mod buildpacks;
pub mod cache_repo;
pub mod commands;
pub mod fetch;
pub mod login;
pub mod prune;
pub mod source;
pub mod transfer;
pub mod validate;

use std::sync::Arc;

use crate::executor::run::RunOptions;
use anyhow::Context as _;

use crate::cache_dir::{Access, CacheDir, CacheLock};
use crate::cli::{BuildRequest, CreationTime, Output};
use crate::export::{Exported, Exporter, registry::RegistryExporter};
use crate::frontend::dockerfile;
use crate::image::{BlobStore, ImageSet, Platform, SerializedImage, SerializedIndex};
use crate::progress::{Event, Reporter};
use crate::registry::{CredentialEnv, RegistryClient, RegistryOptions};
use crate::validate::{ArchitectureError, Report, Verdicts};

/// Builds the requested image and exports it everywhere asked. Returns where it went.
pub async fn build(
    req: &BuildRequest,
    reporter: Arc<dyn Reporter>,
) -> anyhow::Result<Vec<Exported>> {
    let _cache = use_cache(&req.cache_dir, reporter.as_ref())?;
    let blobs = BlobStore::open(CacheDir::new(&req.cache_dir).blobs()).with_context(|| {
        format!(
            "cannot open the cache directory `{}`",
            req.cache_dir.display()
        )
    })?;
    let registry = RegistryClient::new(RegistryOptions {
        insecure: req.registries.tls.insecure.clone(),
        mirrors: req.registries.mirrors.clone(),
        certificates: req.registries.tls.certificates.clone(),
        client_certificates: req.registries.tls.client_certificates.clone(),
        destinations: req.destinations(),
        credentials: CredentialEnv::from_process(),
        proxy: crate::registry::ProxyEnv::from_process(),
    })?;
    if let Some(login) = &req.login {
        registry.login(&login.registry, &login.username, login.password.expose());
    }

    let mut built = Vec::with_capacity(req.platforms.len());
    for (i, platform) in req.platforms.iter().enumerate() {
        let image =
            build_platform(req, platform, i == 0, &blobs, &registry, reporter.clone()).await?;
        built.push(image);
    }
    let index = (built.len() > 1).then(|| SerializedIndex::new(built.clone()));
    let top = match &index {
        Some(index) => index.descriptor.clone(),
        None => built[0].manifest.clone(),
    };

    // Pushes go first: when a push fails, no local output has been written yet, so a failed build
    // leaves nothing behind. Each local output is itself written atomically.
    let mut exporters: Vec<Box<dyn Exporter>> = Vec::new();
    if req.push {
        exporters.push(Box::new(RegistryExporter {
            client: registry.clone(),
            targets: req.names.clone(),
        }));
    }
    for output in &req.outputs {
        exporters.push(match output {
            Output::OciLayout(dir) => {
                Box::new(crate::export::oci_layout::OciLayout::new(dir, &req.names))
            }
            Output::DockerArchive(file) => Box::new(
                crate::export::docker_archive::DockerArchive::new(file, &req.names),
            ),
        });
    }
    let mut exported = Vec::new();
    for exporter in &exporters {
        exported.extend(match &index {
            Some(index) => {
                exporter
                    .export_index(index, &blobs, reporter.as_ref())
                    .await?
            }
            None => {
                exporter
                    .export(&built[0], &blobs, reporter.as_ref())
                    .await?
            }
        });
    }
    if exported.is_empty() {
        exported.push(Exported {
            destination: String::new(),
            descriptor: top.clone(),
            pushed: false,
        });
    }
    if let Some(file) = &req.digest_file {
        std::fs::write(file, top.digest.to_string())
            .with_context(|| format!("cannot write --digest-file `{}`", file.display()))?;
    }
    Ok(exported)
}

/// Holds the cache directory for a command that uses it, until the lock is dropped (at the command's
/// end): `hoist prune` waits for it, and it waits for a running prune, saying so.
pub fn use_cache(
    cache_dir: &std::path::Path,
    reporter: &dyn Reporter,
) -> anyhow::Result<CacheLock> {
    let lock = CacheDir::new(cache_dir).lock(Access::Shared, &mut |message| {
        reporter.report(Event::Info {
            message: message.to_string(),
        })
    })?;
    Ok(lock)
}

/// Builds the image for one platform: frontend, base images, executor, validation.
async fn build_platform(
    req: &BuildRequest,
    platform: &Platform,
    first: bool,
    blobs: &BlobStore,
    registry: &RegistryClient,
    reporter: Arc<dyn Reporter>,
) -> anyhow::Result<SerializedImage> {
    if let Some(options) = &req.buildpacks {
        let image =
            buildpacks::build(req, options, platform, blobs, registry, reporter.clone()).await?;
        return check(req, image, platform, blobs, reporter).await;
    }
    let input = dockerfile::Input {
        dockerfile: req.dockerfile.clone(),
        context: req.context.clone(),
        build_args: req.build_args.clone(),
        target: req.target.clone(),
        platform: platform.clone(),
        build_platform: Platform::host(),
        labels: req.labels.clone(),
        epoch: req.epoch(),
        created: created(req.creation_time),
        compression_level: req.compression_level,
    };
    let mut dockerfile = dockerfile::load(&input)?;
    if first {
        for message in &dockerfile.warnings {
            reporter.report(Event::Warning {
                message: message.clone(),
            });
        }
        report_checks(reporter.as_ref(), &dockerfile.checks);
    }

    let mut images = ImageSet::new();
    // Base images' ONBUILD triggers can make the build need more stages and images: fetch until
    // none is missing.
    let mut pending = dockerfile.external_images();
    while !pending.is_empty() {
        for key in pending {
            let reference = &key.reference;
            // A stage for another platform than the target's (`FROM --platform`) says which.
            let shown = if key.platform == *platform {
                reference.to_string()
            } else {
                key.to_string()
            };
            reporter.report(Event::Resolve {
                reference: shown.clone(),
            });
            let image = registry
                .pull(reference, &key.platform, blobs, reporter.as_ref())
                .await
                .map_err(|err| match dockerfile.used_at(&key) {
                    Some(at) => anyhow::Error::from(err).context(format!(
                        "{at}: cannot resolve `{shown}`, named here: `{}`",
                        at.text.trim()
                    )),
                    None => err.into(),
                })?;
            images.insert(key, image);
        }
        pending = dockerfile.fire_base_triggers(&images)?;
    }
    let planned = dockerfile.planned(&images)?;
    if first {
        report_checks(reporter.as_ref(), &planned.checks);
    }
    if let Some(violation) = dockerfile.check_violation(&planned.checks) {
        anyhow::bail!(
            "{violation}\nhint: `# check=error=true` in `{}` turns these findings into errors; fix them or name them in `# check=skip=…`",
            req.dockerfile.display()
        );
    }
    let mut plan = planned.plan;
    // ADD's URLs are downloaded now, like the images above: the executor reads local files only.
    let downloads = {
        let tmp = CacheDir::new(&req.cache_dir).tmp();
        std::fs::create_dir_all(&tmp)
            .with_context(|| format!("cannot create {}", tmp.display()))?;
        tempfile::Builder::new()
            .prefix("downloads-")
            .tempdir_in(&tmp)
            .with_context(|| format!("cannot create a download directory in {}", tmp.display()))?
    };
    fetch::fetch_all(&mut plan, downloads.path(), reporter.as_ref()).await?;

    let run = run_options(req, &plan, registry, reporter.clone())?;
    let tap = verdict_tap(req);
    let image = {
        let (blobs, reporter) = (blobs.clone(), reporter.clone());
        tokio::task::spawn_blocking(move || {
            let result = crate::executor::execute_with(
                &plan,
                &images,
                &blobs,
                reporter.as_ref(),
                run.as_ref(),
                Some(&tap),
            );
            if let Some(run) = &run {
                crate::executor::sandbox::remove_tree(&run.sandbox, &run.scratch);
            }
            result
        })
        .await
        .context("the build thread panicked")??
    };
    check(req, image, platform, blobs, reporter).await
}

/// Every layer the build writes is read for the architecture check while it is written.
pub(crate) fn verdict_tap(req: &BuildRequest) -> crate::image::tap::TapFactory {
    let verdicts = Verdicts::new(CacheDir::new(&req.cache_dir).verdicts());
    Arc::new(move || verdicts.tap())
}

/// The checks every built image passes before it is exported: structure, then architecture.
async fn check(
    req: &BuildRequest,
    image: crate::image::Image,
    platform: &Platform,
    blobs: &BlobStore,
    reporter: Arc<dyn Reporter>,
) -> anyhow::Result<SerializedImage> {
    let serialized = image.serialize();
    crate::validate::image(&serialized, blobs, platform)?;
    // Streams every layer the verdict cache does not know once: blocking work, off the runtime's
    // threads.
    let report = {
        let (serialized, blobs, platform) = (serialized.clone(), blobs.clone(), platform.clone());
        let verdicts = Verdicts::new(CacheDir::new(&req.cache_dir).verdicts());
        tokio::task::spawn_blocking(move || {
            crate::validate::architecture(&serialized, &blobs, &platform, Some(&verdicts))
        })
        .await
        .context("the validation thread panicked")?
        .map_err(ArchitectureError::from)?
    };
    reporter.report(checked(&report));
    if !report.findings.is_empty() {
        if !req.allow_arch_mismatch {
            return Err(ArchitectureError::Mismatch {
                platform: platform.clone(),
                findings: report.findings,
            }
            .into());
        }
        for finding in report.findings {
            reporter.report(Event::Warning {
                message: format!("{finding}\n    exported anyway: `--allow-arch-mismatch`"),
            });
        }
    }

    Ok(serialized)
}

/// The progress event that tells what the architecture check read.
pub fn checked(report: &Report) -> Event {
    Event::Checked {
        files: report.files,
        binaries: report.binaries,
        layers: report.layers,
        scanned: report.scanned,
        cached: report.cached,
        skipped: report.skipped,
    }
}

/// Reports the Dockerfile's build-check findings (BuildKit's lint rules).
fn report_checks(reporter: &dyn Reporter, checks: &[dockerfile::lint::Check]) {
    for check in checks {
        reporter.report(Event::Check {
            rule: check.rule.name().to_string(),
            message: check.message.clone(),
            location: check.location(),
        });
    }
}

/// The `created` timestamp: the epoch as RFC 3339, or now.
pub(crate) fn created(time: CreationTime) -> String {
    let secs = match time {
        CreationTime::Epoch(e) => e,
        CreationTime::Now => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0),
    };
    rfc3339(secs)
}

/// Formats seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ` (civil-from-days, proleptic Gregorian).
pub fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (h, m, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{d:02}T{h:02}:{m:02}:{s:02}Z")
}

/// The RUN sandbox for this build, when the plan runs anything.
pub(crate) fn run_options(
    req: &BuildRequest,
    plan: &crate::plan::BuildPlan,
    registry: &RegistryClient,
    reporter: Arc<dyn Reporter>,
) -> anyhow::Result<Option<RunOptions>> {
    use crate::cli::{Sandbox as SandboxChoice, SecretFrom};
    use crate::executor::cache::{Caches, LocalCache, StepCache};
    use crate::executor::run::SecretSource;
    use crate::executor::sandbox::{Isolation, Sandbox, in_container};
    let runs = plan
        .stages
        .iter()
        .flat_map(|s| &s.steps)
        .any(|s| matches!(s.fs, Some(crate::plan::FsChange::Run(_))));
    if !runs {
        return Ok(None);
    }
    // Each stage's RUN steps execute as its own platform: a stage for this machine's platform
    // (`FROM --platform=$BUILDPLATFORM`) needs no emulator, even when the target is foreign.
    for stage in &plan.stages {
        let first_run = stage
            .steps
            .iter()
            .find(|s| matches!(s.fs, Some(crate::plan::FsChange::Run(_))));
        if let Some(step) = first_run {
            crate::executor::sandbox::binfmt::check(&stage.platform).map_err(|e| {
                anyhow::anyhow!(
                    "{}: stage `{}` is built for {}: {e}",
                    step.location,
                    stage.name,
                    stage.platform
                )
            })?;
        }
    }
    let exe = std::env::current_exe()
        .context("cannot find hoist's own executable for the RUN sandbox")?;
    let isolation = match req.sandbox {
        SandboxChoice::Auto | SandboxChoice::Rootless => Isolation::Rootless,
        SandboxChoice::InContainer => {
            if in_container::detect().is_none() && !req.force_in_container {
                anyhow::bail!(
                    "--sandbox=in-container runs RUN steps directly in this machine's root filesystem, and this does not look like a container (no /.dockerenv, /run/.containerenv, $container or container cgroup)\nhint: use the default rootless sandbox here, or add --force-in-container if this really is a throwaway container"
                );
            }
            let run_stages = plan
                .stages
                .iter()
                .filter(|s| {
                    s.steps
                        .iter()
                        .any(|st| matches!(st.fs, Some(crate::plan::FsChange::Run(_))))
                })
                .count();
            if run_stages > 1 {
                anyhow::bail!(
                    "--sandbox=in-container can RUN in one stage only: every stage would share this container's root filesystem, and {run_stages} stages have RUN steps\nhint: use the default rootless sandbox, or build the stages in separate jobs"
                );
            }
            Isolation::InContainer
        }
    };
    let cache = CacheDir::new(&req.cache_dir);
    let tmp = cache.tmp();
    std::fs::create_dir_all(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    let scratch = tempfile::Builder::new()
        .prefix("build-")
        .tempdir_in(&tmp)
        .with_context(|| format!("cannot create a scratch directory in {}", tmp.display()))?
        .keep();
    let sandbox = Sandbox::new(exe.clone(), isolation);
    if let Some(note) = sandbox.mapping_note() {
        reporter.report(Event::Warning { message: note });
    }
    let mut caches: Vec<Box<dyn StepCache>> = vec![Box::new(LocalCache::new(cache.steps()))];
    if let Some(repo) = &req.cache_repo {
        caches.push(Box::new(cache_repo::RegistryCache {
            repo: repo.clone(),
            registry: registry.clone(),
            runtime: tokio::runtime::Handle::current(),
            reporter,
        }));
    }
    let exclude = match isolation {
        Isolation::Rootless => Vec::new(),
        Isolation::InContainer => {
            let exe_dir = exe.parent().unwrap_or(&exe).to_path_buf();
            in_container::excludes(&[&req.cache_dir, &exe_dir, &req.context])
        }
    };
    Ok(Some(RunOptions {
        cache: Some(Arc::new(Caches(caches))),
        use_cache: !req.no_cache,
        sandbox,
        scratch,
        cache_mounts: cache.mounts(),
        rootfs_cache: cache.rootfs(),
        verdicts: Some(cache.verdicts()),
        secrets: req
            .secrets
            .iter()
            .map(|s| {
                let source = match &s.source {
                    SecretFrom::File(p) => SecretSource::File(p.clone()),
                    SecretFrom::Env(v) => SecretSource::Env(v.clone()),
                };
                (s.id.clone(), source)
            })
            .collect(),
        exclude,
        cache_seeds: None,
    }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc3339_formats() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(super::rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }
}
