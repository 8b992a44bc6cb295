//! `hoist validate`: an image made by anything, read from a registry or an OCI layout into the blob
//! cache (digests checked), then every check the build runs on its own images — structure, ELF binaries
//! against the platform, the entrypoint's interpreter — plus whether the entrypoint exists and is
//! executable. The report is text (one finding per entry, then a summary) or one JSON document, for
//! stdout; the binary prints it and exits 0 when there is no finding, 1 otherwise.

use std::sync::Arc;

use anyhow::Context as _;
use serde_json::json;

use crate::cli::ValidateRequest;
use crate::image::{BlobStore, SerializedImage};
use crate::progress::Reporter;
use crate::validate::{Kind, Report, Verdicts};

/// What `hoist validate` found: the text for stdout, and whether the image passed.
#[derive(Clone, Debug)]
pub struct Validated {
    pub text: String,
    pub ok: bool,
}

/// Reads the requested image and checks it.
pub async fn validate(
    req: &ValidateRequest,
    reporter: Arc<dyn Reporter>,
) -> anyhow::Result<Validated> {
    let _cache = super::use_cache(&req.cache_dir, reporter.as_ref())?;
    let cache = crate::cache_dir::CacheDir::new(&req.cache_dir);
    let blobs = BlobStore::open(cache.blobs()).with_context(|| {
        format!(
            "cannot open the cache directory `{}`",
            req.cache_dir.display()
        )
    })?;
    let image = read(req, &blobs, reporter.as_ref())
        .await
        .with_context(|| format!("cannot read the image `{}` to validate it", req.image))?;
    let report = {
        let (image, blobs, platform) = (image.clone(), blobs.clone(), req.platform.clone());
        let verdicts = Verdicts::new(cache.verdicts());
        tokio::task::spawn_blocking(move || {
            crate::validate::existing(&image, &blobs, &platform, Some(&verdicts))
        })
        .await
        .context("the validation thread panicked")?
    };
    reporter.report(super::checked(&report));
    let ok = report.findings.is_empty();
    let text = if req.json {
        serde_json::to_string_pretty(&document(req, &image, &report))? + "\n"
    } else {
        lines(req, &report)
    };
    Ok(Validated { text, ok })
}

/// The image as published, its blobs in `blobs`.
async fn read(
    req: &ValidateRequest,
    blobs: &BlobStore,
    reporter: &dyn Reporter,
) -> anyhow::Result<SerializedImage> {
    super::source::read(&req.image, &req.platform, &req.registries, blobs, reporter).await
}

/// The JSON document of `hoist validate --json`.
fn document(req: &ValidateRequest, image: &SerializedImage, report: &Report) -> serde_json::Value {
    json!({
        "image": req.image.to_string(),
        "digest": image.manifest.digest.to_string(),
        "platform": req.platform.to_string(),
        "findings": report.findings,
        "files": report.files,
        "binaries": report.binaries,
        "layers": {
            "total": report.layers,
            "read": report.scanned,
            "cached": report.cached,
            "skipped": report.skipped,
        },
        "ok": report.findings.is_empty(),
    })
}

/// One entry per finding (what and why, the layer that added the file, the fix), then the summary.
fn lines(req: &ValidateRequest, report: &Report) -> String {
    let mut out = String::new();
    for f in &report.findings {
        out.push_str(&format!("{}: {f}\n    fix: {}\n", label(f.kind), f.hint));
    }
    let checked = format!(
        "{} checked ({}, {}) in `{}` for {}",
        count(report.files, "file", "files"),
        count(report.binaries, "ELF binary", "ELF binaries"),
        count(report.layers, "layer", "layers"),
        req.image,
        req.platform
    );
    match report.findings.len() {
        0 => out.push_str(&format!("ok: {checked}\n")),
        n => out.push_str(&format!("{}; {checked}\n", count(n, "finding", "findings"))),
    }
    if report.skipped > 0 {
        out.push_str(&format!(
            "note: {} zstd layers were not checked (hoist does not read zstd)\n",
            report.skipped
        ));
    }
    out
}

fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn label(kind: Kind) -> &'static str {
    match kind {
        Kind::Structure => "invalid image",
        Kind::ForeignBinary => "wrong architecture",
        Kind::MissingInterpreter => "missing interpreter",
        Kind::MissingLoader => "missing loader",
        Kind::EntrypointNotFound => "entrypoint not found",
        Kind::EntrypointNotExecutable => "entrypoint not executable",
    }
}
