//! Progress events: what every stage of the pipeline reports while it works.
//!
//! A leaf module (it depends on nothing in the crate) so that the frontend, executor, registry and
//! exporters can all report through one [`Reporter`] without knowing how it is shown. `output.rs` is the
//! only place that turns events into text: a bar on a terminal, plain lines in CI, JSON lines on request.
//! Events never carry credentials.

use serde::Serialize;

/// Something worth telling the user about, in the order it happens.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A build stage starts (`index` counts from 1 over the stages that will be built).
    Stage {
        index: usize,
        total: usize,
        name: String,
        base: String,
    },
    /// A step of a stage starts.
    Step {
        stage: String,
        index: usize,
        total: usize,
        text: String,
    },
    /// A line of output from a step (RUN output, warnings of a step).
    StepOutput { stage: String, line: String },
    /// A layer has been written.
    Layer {
        digest: String,
        size: u64,
        diff_id: String,
    },
    /// A base image is being resolved.
    Resolve { reference: String },
    /// Bytes of a blob moved (`verb` is `pull` or `push`); `total` when known.
    Blob {
        verb: &'static str,
        digest: String,
        done: u64,
        total: Option<u64>,
    },
    /// A blob needed no transfer (already in the cache or the registry, or was mounted).
    BlobSkipped {
        verb: &'static str,
        digest: String,
        reason: &'static str,
    },
    /// The architecture check of an image is done: `files` regular files and `binaries` ELF binaries
    /// judged over `layers` layers, of which `scanned` were read from their blobs, `cached` came from
    /// the verdict cache and `skipped` could not be read (zstd).
    Checked {
        files: usize,
        binaries: usize,
        layers: usize,
        scanned: usize,
        cached: usize,
        skipped: usize,
    },
    /// A manifest was written somewhere (`destination` is a reference or an output path).
    Exported { destination: String, digest: String },
    /// A warning: something the user should fix, that did not stop the build.
    Warning { message: String },
    /// A build check found something (BuildKit's linter rules: `rule` is its name, `location` is
    /// `file:line`).
    Check {
        rule: String,
        message: String,
        location: String,
    },
    /// A request to a registry failed in a way worth another attempt, which comes after `wait_ms`
    /// (`request` is `METHOD /v2/PATH` without the query, or what restarts, e.g. `upload of DIGEST`).
    Retry {
        host: String,
        request: String,
        reason: String,
        attempt: u32,
        attempts: u32,
        wait_ms: u64,
    },
    /// Free-form information.
    Info { message: String },
}

/// Receives events. Implementations must be cheap and thread-safe: layers are written on many threads.
pub trait Reporter: Send + Sync {
    fn report(&self, event: Event);
}

/// Discards everything (library callers and tests that do not care).
#[derive(Clone, Copy, Debug, Default)]
pub struct Silent;

impl Reporter for Silent {
    fn report(&self, _event: Event) {}
}

/// Records events, for tests.
#[derive(Debug, Default)]
pub struct Recorder(pub std::sync::Mutex<Vec<Event>>);

impl Reporter for Recorder {
    fn report(&self, event: Event) {
        self.0.lock().expect("recorder lock").push(event);
    }
}
