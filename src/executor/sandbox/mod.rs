//! The sandbox: where a RUN step's command executes, and how its filesystem change comes back.
//!
//! hoist never forks inside its async, multi-threaded build process to do namespace work. Each step is a
//! [`StepRequest`] handed to a fresh copy of our own binary (`hoist __sandbox`, see [`child`]):
//!
//! - **rootless** (the default): the child is started in a new user namespace (root inside mapped to the
//!   invoking user, plus the user's `/etc/subuid` and `/etc/subgid` ranges through `newuidmap`/`newgidmap`
//!   when there are any — see [`idmap`]), then makes mount, pid, uts, ipc (and, for `--network=none`, net)
//!   namespaces and runs the command with its root switched into the stage's root filesystem
//!   ([`linux`]). This is what rootless BuildKit and buildah do with runc/crun, without either.
//! - **in-container** (kaniko's mode, for CI jobs where user namespaces are not available): the command
//!   runs directly in the current container's own root filesystem ([`in_container`]).
//!
//! Either way the child unpacks the layers the stage's directory does not have yet, snapshots it, runs
//! the command, snapshots again and writes the difference as a layer into the blob store
//! (`executor::snapshot`, `executor::layer`). It reports a [`StepResult`]; the command's output streams
//! back line by line on its stdout and stderr.

pub mod binfmt;
pub mod child;
pub mod idmap;
pub mod in_container;
pub mod linux;
pub mod user;

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

use crate::image::{Descriptor, Digest};

use idmap::IdMapping;

/// How many lines of a failed command's output the error repeats.
pub const TAIL_LINES: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error(
        "cannot create a user namespace for the RUN sandbox: {0}\nhint: user namespaces may be disabled on this machine (see /proc/sys/user/max_user_namespaces and, on Ubuntu, kernel.apparmor_restrict_unprivileged_userns); inside a CI container without them, use `--sandbox=in-container`"
    )]
    UserNamespace(std::io::Error),
    #[error("cannot start the RUN sandbox (`{exe}` __sandbox): {source}")]
    Spawn {
        exe: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot map user ids into the RUN sandbox: {0}")]
    IdMap(String),
    #[error("the RUN sandbox failed: {0}")]
    Child(String),
    #[error("the RUN sandbox exited without a result ({status}){tail}")]
    NoResult { status: String, tail: String },
}

/// Where RUN executes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Isolation {
    /// New user, mount, pid, uts, ipc namespaces; root switched into the stage's root filesystem.
    Rootless,
    /// Directly in this container's root filesystem (kaniko's mode).
    InContainer,
}

/// How the sandbox is started: our own executable and the isolation it uses.
#[derive(Clone, Debug)]
pub struct Sandbox {
    pub exe: PathBuf,
    pub isolation: Isolation,
    mapping: Option<IdMapping>,
}

impl Sandbox {
    /// A sandbox that runs `exe __sandbox` (normally `std::env::current_exe()`).
    pub fn new(exe: PathBuf, isolation: Isolation) -> Sandbox {
        let mapping = match isolation {
            Isolation::Rootless => Some(IdMapping::for_current_user()),
            Isolation::InContainer => None,
        };
        Sandbox {
            exe,
            isolation,
            mapping,
        }
    }

    /// A note for the user when only one id can be mapped (chown to other ids will fail).
    pub fn mapping_note(&self) -> Option<String> {
        self.mapping.as_ref().and_then(IdMapping::note)
    }

    /// Names the id mapping: what is unpacked on disk under one mapping has other owners under another.
    pub fn mapping_key(&self) -> String {
        match &self.mapping {
            None => "host".into(),
            Some(m) => m.key(),
        }
    }

    /// Runs one request; `on_line` receives every line the command prints (stdout and stderr).
    pub fn run(
        &self,
        request: &Request,
        on_line: &mut dyn FnMut(&str),
    ) -> Result<(StepResult, VecDeque<String>), SandboxError> {
        let mut command = Command::new(&self.exe);
        command
            .arg("__sandbox")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if self.mapping.is_some() {
            command.arg(USERNS_ARG);
        }
        let mut child = command.spawn().map_err(|source| SandboxError::Spawn {
            exe: self.exe.clone(),
            source,
        })?;
        let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
        if let Some(mapping) = &self.mapping {
            // The child unshares its user namespace first thing and says so; then its maps are written.
            let mut line = String::new();
            let _ = stdout.read_line(&mut line);
            let mapped = match line.trim_end().strip_prefix(READY) {
                Some("") => mapping.apply(child.id()).map_err(SandboxError::IdMap),
                Some(error) => Err(SandboxError::UserNamespace(std::io::Error::other(
                    error.trim().to_string(),
                ))),
                None => Err(SandboxError::Child(format!(
                    "the sandbox did not start: {}",
                    line.trim()
                ))),
            };
            if let Err(e) = mapped {
                let _ = child.kill();
                let _ = child.wait();
                return Err(e);
            }
        }
        let json = serde_json::to_vec(request).expect("requests serialize");
        let mut stdin = child.stdin.take().expect("piped");
        // The child blocks on its stdin until the id maps are written: this write releases it.
        let written = stdin.write_all(&json);
        drop(stdin);
        let stderr = child.stderr.take().expect("piped");
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let tx2 = tx.clone();
        let pump = |stream: Box<dyn std::io::Read + Send>, tx: std::sync::mpsc::Sender<String>| {
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream);
                let mut buf = Vec::new();
                while reader.read_until(b'\n', &mut buf).unwrap_or(0) > 0 {
                    let line = String::from_utf8_lossy(&buf);
                    let line = line.trim_end_matches(['\n', '\r']).to_string();
                    if tx.send(line).is_err() {
                        break;
                    }
                    buf.clear();
                }
            })
        };
        let a = pump(Box::new(stdout), tx);
        let b = pump(Box::new(stderr), tx2);
        let mut tail = VecDeque::with_capacity(TAIL_LINES);
        let mut result_line = None;
        for line in rx {
            if let Some(json) = line.strip_prefix(RESULT_PREFIX) {
                result_line = Some(json.to_string());
                continue;
            }
            if tail.len() == TAIL_LINES {
                tail.pop_front();
            }
            tail.push_back(line.clone());
            on_line(&line);
        }
        let _ = a.join();
        let _ = b.join();
        let status = child.wait().map_err(|source| SandboxError::Spawn {
            exe: self.exe.clone(),
            source,
        })?;
        let result: Option<StepResult> = result_line.and_then(|j| serde_json::from_str(&j).ok());
        match result {
            Some(result) => Ok((result, tail)),
            None => {
                let tail_text = if tail.is_empty() {
                    String::new()
                } else {
                    let lines: Vec<&str> = tail.iter().map(String::as_str).collect();
                    format!("\n  {}", lines.join("\n  "))
                };
                let status = match written {
                    Err(e) => format!("{status}; the request could not be sent: {e}"),
                    Ok(()) => status.to_string(),
                };
                Err(SandboxError::NoResult {
                    status,
                    tail: tail_text,
                })
            }
        }
    }
}

/// The argument that tells the child to make its user namespace first (`hoist __sandbox --userns`).
pub const USERNS_ARG: &str = "--userns";

/// The child's first stdout line with [`USERNS_ARG`]: this prefix alone once unshared, or followed by
/// the error.
pub const READY: &str = "\u{1}hoist-sandbox-ready";

/// The child prints its [`StepResult`] as one line on stderr with this prefix, after the command is done.
pub const RESULT_PREFIX: &str = "\u{1}hoist-sandbox-result ";

/// What the sandbox child is asked to do.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Request {
    /// Run one step and write its layer.
    Run(Box<StepRequest>),
    /// Remove a directory tree the sandbox wrote (its files may belong to mapped ids).
    Remove(PathBuf),
}

/// One RUN step, as the sandbox child needs it: no plan or Dockerfile types, only paths and strings.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StepRequest {
    pub isolation: Isolation,
    /// The stage's directory on the host (`/` in-container): its root filesystem is `upper/` there, or
    /// `merged/` when `base` is mounted under it with overlayfs.
    pub rootfs: PathBuf,
    /// The base image, unpacked under the rootfs cache (made on first use).
    pub base: Option<BaseDir>,
    /// Layer blobs to unpack into `rootfs` before the command, in order.
    pub apply: Vec<PathBuf>,
    pub process: Process,
    /// A network namespace of its own, with only loopback.
    pub isolate_network: bool,
    pub mounts: Vec<Mount>,
    /// Host files to bind over the rootfs' `/etc/resolv.conf` and `/etc/hosts`.
    pub resolv_conf: Option<PathBuf>,
    pub hosts: Option<PathBuf>,
    /// Absolute paths (inside the rootfs) never put into a layer.
    pub exclude: Vec<String>,
    pub layer: LayerTarget,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Process {
    pub argv: Vec<String>,
    /// `KEY=VALUE` entries; HOME is added from the user's passwd entry when missing.
    pub env: Vec<String>,
    pub cwd: String,
    /// The stage's USER (`name`, `uid`, `name:group`, `uid:gid`; empty = root), resolved in the rootfs.
    pub user: String,
    pub hostname: String,
}

/// An unpacked base image shared by stages and builds: `dir` holds `layers` once it exists.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BaseDir {
    pub dir: PathBuf,
    pub layers: Vec<PathBuf>,
}

/// A filesystem mounted for the command only.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Mount {
    /// Absolute path inside the rootfs.
    pub target: String,
    pub kind: MountKind,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum MountKind {
    /// A host directory or file (context copy, stage files, cache dir, secret file).
    Bind {
        source: PathBuf,
        readonly: bool,
        /// Create `source` as a directory owned by uid:gid with `mode` inside the namespace if missing
        /// (cache mounts).
        create: Option<(u32, u32, u32)>,
        /// What a newly created `source` starts with.
        seed: Option<Seed>,
    },
    /// A secret: a private copy of its value, given its owner and mode inside the namespace, then
    /// bound read-only.
    Secret {
        source: PathBuf,
        uid: u32,
        gid: u32,
        mode: u32,
    },
    Tmpfs {
        size: Option<u64>,
    },
}

/// What a new cache directory starts with: a copy of `dir`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Seed {
    pub dir: PathBuf,
    /// Give every copied entry the cache directory's uid:gid (a cache restored from `--cache-repo`:
    /// its files were the build user's); otherwise they are root's (a cache mount's `from=`).
    pub chown: bool,
}

/// Where the step's layer goes.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LayerTarget {
    pub blobs: PathBuf,
    pub epoch: i64,
    pub level: u32,
    /// Show the layer to a tap made for this directory (see [`child::main`]).
    pub verdicts: Option<PathBuf>,
}

/// What the child reports.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct StepResult {
    /// The command's exit code (128+N for a signal); `None` when it did not start.
    pub exit_code: Option<i32>,
    /// Why the step could not run (setup failure), already phrased for the user.
    pub error: Option<String>,
    /// The layer written, when the command succeeded and changed something.
    pub layer: Option<(Descriptor, Digest)>,
    /// Things the user should know (device nodes skipped, owners that could not be kept).
    pub notes: Vec<String>,
}

/// The directory the sandbox's scratch files live in for one build, removed at the end.
pub fn remove_tree(sandbox: &Sandbox, path: &Path) {
    if !path.exists() {
        return;
    }
    let _ = sandbox.run(&Request::Remove(path.to_path_buf()), &mut |_| {});
    if path.exists() {
        let _ = crate::executor::rootfs::remove_tree(path);
    }
}
