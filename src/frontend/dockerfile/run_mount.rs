//! `RUN --mount=…` → [`RunMount`], following BuildKit's
//! `frontend/dockerfile/instructions/commands_runmount.go` (reading a value) and
//! `dockerfile2llb/convert_runmount.go` and `convert_secrets.go` (defaults, targets).
//!
//! A value is one CSV record (Go's `encoding/csv`: `,` between fields, a field may be `"quoted"` with `""`
//! for a quote) of `key=value` fields, read left to right. BuildKit reads a value twice, and so does hoist:
//! - while the stage graph is built ([`from_field`]): only `from=`, which may hold no variable ("define an
//!   alias stage instead"): the graph is fixed before any variable has a value;
//! - when the RUN is planned ([`parse`]): every value expanded with the stage's ENV and ARGs, as COPY's
//!   flags are; each key checked against the type seen *so far* (so `size=` and `required` must come after
//!   `type=`, as in BuildKit); then [`resolve`] applies the defaults.
//!
//! Defaults, as BuildKit's: type `bind`; bind and secret mounts read-only, cache and tmpfs writable; a bind
//! reads `/` of the context (or of `from=`); a cache's `id=` is its target as written (`path.Clean`,
//! before WORKDIR applies), its directory 0755 owned by 0:0, and it starts empty unless `from=` seeds it
//! (from `source=` there; without `from=`, `source=` has nothing to read and is ignored); a
//! secret's id is `source=`, else `id=`, else the target's file name; its file is `/run/secrets/<id>`
//! unless only `env=` is asked for, mode 0400, owned by 0:0. Relative targets of bind, cache and tmpfs
//! mounts are joined to WORKDIR; a relative secret target is taken from `/` (BuildKit passes it on without
//! WORKDIR). `readonly` on a tmpfs mount is accepted and has no effect. `type=ssh` is refused.

use std::path::Path;

use crate::plan::{CacheSharing, MountFrom, RunMount};

use super::error::FrontendError;
use super::instruction::Instruction;

mod fields;
mod go_values;
#[cfg(test)]
mod tests;

pub use fields::parse;
use go_values::{base, csv_fields, go_clean};

/// A value of a field, expanded (variables, quotes); the error is the expansion's message.
pub type Expand<'a> = dyn Fn(&str) -> Result<String, String> + 'a;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MountType {
    #[default]
    Bind,
    Cache,
    Tmpfs,
    Secret,
    Ssh,
}

impl MountType {
    const ALL: [MountType; 5] = [
        MountType::Bind,
        MountType::Cache,
        MountType::Tmpfs,
        MountType::Secret,
        MountType::Ssh,
    ];

    pub fn name(self) -> &'static str {
        match self {
            MountType::Bind => "bind",
            MountType::Cache => "cache",
            MountType::Tmpfs => "tmpfs",
            MountType::Secret => "secret",
            MountType::Ssh => "ssh",
        }
    }

    /// Whether `mode=`, `uid=` and `gid=` apply (BuildKit's `fileInfoAllowed`).
    fn has_file_info(self) -> bool {
        match self {
            MountType::Cache | MountType::Secret | MountType::Ssh => true,
            MountType::Bind | MountType::Tmpfs => false,
        }
    }
}

/// A `--mount` value's fields, expanded and checked, before defaults (BuildKit's `instructions.Mount`).
/// Empty values count as not given, as in BuildKit.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MountFields {
    pub kind: MountType,
    pub from: Option<String>,
    pub source: Option<String>,
    pub target: Option<String>,
    /// `None`: the type's default.
    pub readonly: Option<bool>,
    pub id: Option<String>,
    pub sharing: Option<CacheSharing>,
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// tmpfs size in bytes.
    pub size: Option<u64>,
    pub required: bool,
    pub env: Option<String>,
}

/// Why a `--mount` value was refused; the caller adds the location and the value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MountError {
    pub problem: Problem,
    pub message: String,
    pub hint: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Problem {
    /// The value is wrong (BuildKit refuses it too); the message follows the value.
    Invalid,
    /// BuildKit takes it, hoist does not; the message stands alone.
    Unsupported,
}

impl MountError {
    fn invalid(message: impl Into<String>) -> MountError {
        MountError {
            problem: Problem::Invalid,
            message: message.into(),
            hint: None,
        }
    }

    fn hint(mut self, hint: impl Into<String>) -> MountError {
        self.hint = Some(hint.into());
        self
    }
}

/// The raw `from=` of a value, for the stage graph: the last one given, unexpanded. A variable in it is
/// an error, as in BuildKit's parse-time pass.
pub fn from_field(value: &str) -> Result<Option<String>, MountError> {
    let mut from = None;
    for field in csv_fields(value)? {
        let Some((key, v)) = field.split_once('=') else {
            continue;
        };
        if !key.eq_ignore_ascii_case("from") {
            continue;
        }
        if v.find('$').is_some_and(|at| at + 1 < v.len()) {
            return Err(MountError::invalid(format!("`from={v}` cannot hold variables"))
                .hint("`from=` is read before variables have values: define an alias stage (`FROM ${IMAGE} AS src`) and mount `from=src`"));
        }
        from = Some(v.to_string()).filter(|v| !v.is_empty());
    }
    Ok(from)
}

/// The plan's mount: defaults applied, targets made absolute against `workdir`. `from` is the resolved
/// `from=` (a stage or an image), `None` when none was given.
pub fn resolve(
    m: MountFields,
    from: Option<MountFrom>,
    workdir: &str,
) -> Result<RunMount, MountError> {
    let rooted =
        |p: Option<String>| format!("/{}", crate::plan::context::clean(&p.unwrap_or_default()));
    match m.kind {
        MountType::Ssh => Err(ssh_unsupported()),
        MountType::Secret => {
            let id = m
                .source
                .or(m.id)
                .or_else(|| m.target.as_deref().map(base))
                .unwrap_or_default();
            let target = match (&m.target, &m.env) {
                (Some(t), _) => Some(rooted(Some(t.clone()))),
                (None, Some(_)) => None,
                (None, None) => Some(format!("/run/secrets/{}", base(&id))),
            };
            Ok(RunMount::Secret {
                id,
                target,
                env: m.env,
                required: m.required,
                uid: m.uid.unwrap_or(0),
                gid: m.gid.unwrap_or(0),
                mode: m.mode.unwrap_or(0o400),
            })
        }
        MountType::Bind => Ok(RunMount::Bind {
            target: target(m.target.as_deref(), workdir)?,
            from: from.unwrap_or(MountFrom::Context),
            source: rooted(m.source),
            readwrite: !m.readonly.unwrap_or(true),
        }),
        MountType::Cache => Ok(RunMount::Cache {
            target: target(m.target.as_deref(), workdir)?,
            id: m
                .id
                .unwrap_or_else(|| go_clean(m.target.as_deref().unwrap_or_default())),
            sharing: m.sharing.unwrap_or_default(),
            from: from.map(|f| (f, rooted(m.source))),
            readonly: m.readonly.unwrap_or(false),
            uid: m.uid.unwrap_or(0),
            gid: m.gid.unwrap_or(0),
            mode: m.mode.unwrap_or(0o755),
        }),
        MountType::Tmpfs => Ok(RunMount::Tmpfs {
            target: target(m.target.as_deref(), workdir)?,
            size: m.size.filter(|s| *s > 0),
        }),
    }
}

/// A bind, cache or tmpfs target: absolute, or joined to WORKDIR; never `/` itself.
fn target(written: Option<&str>, workdir: &str) -> Result<String, MountError> {
    let joined = match written {
        Some(t) if t.starts_with('/') => t.to_string(),
        Some(t) => format!("{workdir}/{t}"),
        None => workdir.to_string(),
    };
    let target = format!("/{}", crate::plan::context::clean(&joined));
    if target != "/" {
        return Ok(target);
    }
    Err(match written {
        None => MountError::invalid("the mount has no `target=`")
            .hint("add where to mount it: `target=/path`"),
        Some(t) => MountError::invalid(format!("cannot mount over `/` (`target={t}`)"))
            .hint("mount at a directory below `/`"),
    })
}

/// A refused value as a frontend error at the RUN's line: the value, what is wrong with it, the hint.
pub fn located(e: MountError, value: &str, inst: &Instruction, file: &Path) -> FrontendError {
    let (message, make): (String, fn(_) -> FrontendError) = match e.problem {
        Problem::Invalid => (
            format!("`--mount={value}`: {}", e.message),
            FrontendError::instruction,
        ),
        Problem::Unsupported => (e.message, FrontendError::unsupported),
    };
    let mut l = inst.node.located(file, message);
    if let Some(hint) = e.hint {
        l = l.hint(hint);
    }
    make(l)
}

/// Checks a value before any image is pulled: its CSV and, when no variable is in it (values with
/// variables are known only when the RUN is planned), every field; `type=ssh` is refused here too.
pub fn check(value: &str, expand: &Expand<'_>) -> Result<(), MountError> {
    if value.contains('$') {
        return csv_fields(value).map(drop);
    }
    match parse(value, expand)?.kind {
        MountType::Ssh => Err(ssh_unsupported()),
        MountType::Bind | MountType::Cache | MountType::Tmpfs | MountType::Secret => Ok(()),
    }
}

fn ssh_unsupported() -> MountError {
    MountError {
        problem: Problem::Unsupported,
        message: "RUN --mount=type=ssh is not supported by hoist: it would forward the SSH agent of the \
machine running the build into the step, and hoist does not pass an agent or SSH keys into builds"
            .into(),
        hint: Some(
            "fetch private repositories before the build (into the context), or mount a deploy key as a \
secret: `RUN --mount=type=secret,id=deploy_key,target=/root/.ssh/id_ed25519 git clone …` with \
`hoist build --secret id=deploy_key,src=KEYFILE`"
                .into(),
        ),
    }
}
