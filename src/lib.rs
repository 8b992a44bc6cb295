//! hoist: build container images from a Dockerfile or buildpacks, without a daemon, and push them.
//!
//! The pipeline, one module per stage, each boundary carrying one type:
//!
//! ```text
//! cli ─► app ─► frontend ─► plan ─► executor ─► image ─► validate ─► export
//!        (BuildRequest)  (BuildPlan)       (Image + BlobStore)    (Descriptor)
//! ```
//!
//! `cli` turns raw arguments into a validated request; `app` is the one place that wires the stages
//! together; a `frontend` reads a Dockerfile into a [`plan::BuildPlan`]; the `executor` turns the plan into
//! an [`image::Image`] whose layers sit in a [`image::BlobStore`]; `validate` checks the image before it
//! leaves; `export` writes it to a registry, an OCI layout or a docker archive. `registry` is the
//! transport used to pull bases and push results. `progress` carries events; `output` prints them.
//! `cache_dir` is the cache directory every command shares: its layout, its lock, and what `hoist prune`
//! counts in it.

pub mod app;
pub mod cache_dir;
pub mod cli;
pub mod executor;
pub mod export;
pub mod frontend;
pub mod image;
pub mod output;
pub mod plan;
pub mod progress;
pub mod registry;
pub mod validate;
