//! Reading a `--mount` value's fields, as BuildKit's `parseMount` (`instructions/commands_runmount.go`)
//! does when the RUN is dispatched: left to right, every value expanded, each key checked against the
//! type seen so far, then the checks of the whole mount.

use crate::plan::CacheSharing;

use super::super::suggest::closest;
use super::go_values::{csv_fields, go_bool, ram_in_bytes};
use super::{Expand, MountError, MountFields, MountType};

const KEYS: &[&str] = &[
    "type",
    "from",
    "source",
    "src",
    "target",
    "dst",
    "destination",
    "readonly",
    "ro",
    "readwrite",
    "rw",
    "id",
    "sharing",
    "required",
    "size",
    "mode",
    "uid",
    "gid",
    "env",
];

const KEYS_HINT: &str = "keys are `type`, `from`, `source` (`src`), `target` (`dst`, `destination`), \
`readonly` (`ro`), `readwrite` (`rw`), `id`, `sharing`, `required`, `size`, `mode`, `uid`, `gid`, `env`";

/// Reads a value as BuildKit's `parseMount` does at dispatch, `expand` applied to every value.
pub fn parse(value: &str, expand: &Expand<'_>) -> Result<MountFields, MountError> {
    let mut m = MountFields::default();
    for field in csv_fields(value)? {
        let (key, raw) = match field.split_once('=') {
            Some((k, v)) => (k.to_ascii_lowercase(), Some(v)),
            None => (field.to_ascii_lowercase(), None),
        };
        let Some(raw) = raw else {
            match key.as_str() {
                "readonly" | "ro" => m.readonly = Some(true),
                "readwrite" | "rw" => m.readonly = Some(false),
                "required" => {
                    only_for(&m, &key, &[MountType::Secret, MountType::Ssh])?;
                    m.required = true;
                }
                _ => {
                    return Err(MountError::invalid(format!(
                        "field `{field}` is not a `key=value` pair"
                    ))
                    .hint(
                        "only `readonly` (`ro`), `readwrite` (`rw`) and `required` stand alone",
                    ));
                }
            }
            continue;
        };
        let v =
            expand(raw).map_err(|e| MountError::invalid(format!("cannot expand `{raw}`: {e}")))?;
        let boolean = |v: &str| {
            go_bool(v).ok_or_else(|| {
                MountError::invalid(format!("`{key}={v}` is not a boolean"))
                    .hint("write `true` or `false`")
            })
        };
        match key.as_str() {
            "type" => m.kind = mount_type(&v)?,
            "from" => m.from = non_empty(v),
            "source" | "src" => m.source = non_empty(v),
            "target" | "dst" | "destination" => m.target = non_empty(v),
            "readonly" | "ro" => m.readonly = Some(boolean(&v)?),
            "readwrite" | "rw" => m.readonly = Some(!boolean(&v)?),
            "required" => {
                only_for(&m, &key, &[MountType::Secret, MountType::Ssh])?;
                m.required = boolean(&v)?;
            }
            "size" => {
                only_for(&m, &key, &[MountType::Tmpfs])?;
                m.size = Some(ram_in_bytes(&v).ok_or_else(|| {
                    MountError::invalid(format!("`size={v}` is not a size"))
                        .hint("write bytes, or a number with a unit: `64m`, `1.5g`, `512KiB`")
                })?);
            }
            "id" => m.id = non_empty(v),
            "sharing" => m.sharing = Some(sharing(&v)?),
            "mode" => m.mode = Some(number(&key, &v, 8)?),
            "uid" => m.uid = Some(number(&key, &v, 10)?),
            "gid" => m.gid = Some(number(&key, &v, 10)?),
            "env" => m.env = Some(v),
            _ => {
                let mut hint = KEYS_HINT.to_string();
                if let Some(s) = closest(&key, KEYS) {
                    hint = format!("did you mean `{s}`? {hint}");
                }
                return Err(MountError::invalid(format!("unknown key `{key}`")).hint(hint));
            }
        }
    }
    validate(&m)?;
    Ok(m)
}

/// BuildKit's checks after the fields are read.
fn validate(m: &MountFields) -> Result<(), MountError> {
    if !m.kind.has_file_info() {
        for (key, set) in [
            ("mode", m.mode.is_some()),
            ("uid", m.uid.is_some()),
            ("gid", m.gid.is_some()),
        ] {
            if set {
                return Err(MountError::invalid(format!(
                    "`{key}=` is not allowed for `{}` mounts",
                    m.kind.name()
                ))
                .hint("only `cache` and `secret` mounts take `mode=`, `uid=` and `gid=`"));
            }
        }
    }
    if m.kind == MountType::Secret {
        if m.from.is_some() {
            return Err(MountError::invalid("a secret mount takes no `from=`")
                .hint("secrets come from `hoist build --secret id=ID,src=FILE`"));
        }
        if m.sharing.is_some() {
            return Err(MountError::invalid("a secret mount takes no `sharing=`")
                .hint("`sharing=` is for `type=cache` mounts"));
        }
        if m.source.is_none() && m.target.is_none() && m.id.is_none() {
            return Err(MountError::invalid("a secret mount needs an `id=` (or a `target=`)")
                .hint("write `--mount=type=secret,id=NAME` and build with `--secret id=NAME,src=FILE`"));
        }
        if m.source.is_some() && m.id.is_some() {
            return Err(
                MountError::invalid("a secret mount takes `id=` or `source=`, not both")
                    .hint("both name the secret; keep `id=`"),
            );
        }
        if m.env.as_deref() == Some("") {
            return Err(MountError::invalid("`env=` needs a variable name")
                .hint("write `env=NAME` to get the secret as `$NAME`"));
        }
    }
    if m.sharing.is_some() && m.kind != MountType::Cache {
        return Err(MountError::invalid(format!(
            "`sharing=` is not allowed for `{}` mounts",
            m.kind.name()
        ))
        .hint("`sharing=` is for `type=cache` mounts"));
    }
    Ok(())
}

fn only_for(m: &MountFields, key: &str, types: &[MountType]) -> Result<(), MountError> {
    if types.contains(&m.kind) {
        return Ok(());
    }
    let names: Vec<String> = types
        .iter()
        .map(|t| format!("`type={}`", t.name()))
        .collect();
    Err(MountError::invalid(format!(
        "`{key}` is not allowed for `{}` mounts",
        m.kind.name()
    ))
    .hint(format!(
        "`{key}` is for {} mounts; fields are read in order, so write `type=` before it",
        names.join(" and ")
    )))
}

fn mount_type(v: &str) -> Result<MountType, MountError> {
    let lower = v.to_ascii_lowercase();
    if let Some(t) = MountType::ALL.into_iter().find(|t| t.name() == lower) {
        return Ok(t);
    }
    let names: Vec<&str> = MountType::ALL.iter().map(|t| t.name()).collect();
    let mut hint = "types are `bind` (the default), `cache`, `tmpfs`, `secret`".to_string();
    if let Some(s) = closest(&lower, &names) {
        hint = format!("did you mean `{s}`? {hint}");
    }
    Err(MountError::invalid(format!("unknown mount type `{v}`")).hint(hint))
}

fn sharing(v: &str) -> Result<CacheSharing, MountError> {
    let lower = v.to_ascii_lowercase();
    match lower.as_str() {
        "shared" => Ok(CacheSharing::Shared),
        "private" => Ok(CacheSharing::Private),
        "locked" => Ok(CacheSharing::Locked),
        _ => {
            let mut hint = "use `shared` (the default: concurrent builds use the cache together), \
`private` (a concurrent build gets a cache of its own) or `locked` (a concurrent build waits)"
                .to_string();
            if let Some(s) = closest(&lower, &["shared", "private", "locked"]) {
                hint = format!("did you mean `{s}`? {hint}");
            }
            Err(MountError::invalid(format!("unknown `sharing={v}`")).hint(hint))
        }
    }
}

/// Go's `strconv.ParseUint(v, radix, 32)`: digits only, no sign or prefix.
fn number(key: &str, v: &str, radix: u32) -> Result<u32, MountError> {
    let digits = !v.is_empty() && v.chars().all(|c| c.is_digit(radix));
    digits
        .then(|| u32::from_str_radix(v, radix).ok())
        .flatten()
        .ok_or_else(|| {
            let what = if radix == 8 {
                "an octal mode like `0755`"
            } else {
                "a number like `1000`"
            };
            MountError::invalid(format!("`{key}={v}` is not {what}"))
        })
}

fn non_empty(v: String) -> Option<String> {
    Some(v).filter(|v| !v.is_empty())
}
