//! Ownership and permissions of copied files: `--chown` names resolved through the stage's `/etc/passwd`
//! and `/etc/group` (passwd(5), group(5)), and `--chmod` octal or symbolic modes (chmod(1) syntax).

use crate::plan::{Chmod, IdSpec, Owner};

use super::stage_fs::{FsError, StageFs};

#[derive(Debug, thiserror::Error)]
pub enum OwnershipError {
    #[error(
        "unknown user `{0}`: it is not in the stage's `/etc/passwd`\nhint: create the user in an earlier step, or use a numeric id (`--chown=1000:1000`)"
    )]
    UnknownUser(String),
    #[error(
        "unknown group `{0}`: it is not in the stage's `/etc/group`\nhint: create the group in an earlier step, or use a numeric id"
    )]
    UnknownGroup(String),
    #[error(
        "invalid `--chmod` value `{0}`\nhint: use octal bits (`0755`) or symbolic clauses such as `u+x,go-w` or `a=rX`"
    )]
    InvalidChmod(String),
    #[error(transparent)]
    Fs(#[from] FsError),
}

/// The uid and gid `owner` names in `fs` (`0:0` when no owner is given).
pub fn resolve_owner(
    owner: Option<&Owner>,
    fs: &mut StageFs,
) -> Result<(u32, u32), OwnershipError> {
    let Some(owner) = owner else {
        return Ok((0, 0));
    };
    let (uid, primary) = match &owner.user {
        IdSpec::Id(id) => (*id, None),
        IdSpec::Name(name) => {
            let passwd = fs.read("/etc/passwd")?.unwrap_or_default();
            let fields =
                lookup(&passwd, name).ok_or_else(|| OwnershipError::UnknownUser(name.clone()))?;
            let uid = fields.get(2).and_then(|s| s.parse().ok());
            let gid = fields.get(3).and_then(|s| s.parse().ok());
            (
                uid.ok_or_else(|| OwnershipError::UnknownUser(name.clone()))?,
                gid,
            )
        }
    };
    let gid = match &owner.group {
        Some(IdSpec::Id(id)) => *id,
        Some(IdSpec::Name(name)) => {
            let group = fs.read("/etc/group")?.unwrap_or_default();
            lookup(&group, name)
                .and_then(|f| f.get(2).and_then(|s| s.parse().ok()))
                .ok_or_else(|| OwnershipError::UnknownGroup(name.clone()))?
        }
        // A user alone: its primary group when named, else the same number (as Docker does).
        None => primary.unwrap_or(uid),
    };
    Ok((uid, gid))
}

fn lookup(db: &[u8], name: &str) -> Option<Vec<String>> {
    String::from_utf8_lossy(db)
        .lines()
        .map(|l| l.split(':').map(str::to_string).collect::<Vec<_>>())
        .find(|f| f.first().map(String::as_str) == Some(name))
}

/// The mode `chmod` gives a file or directory whose own mode is `mode`.
pub fn apply_chmod(chmod: Option<&Chmod>, mode: u32, is_dir: bool) -> Result<u32, OwnershipError> {
    match chmod {
        None => Ok(mode & 0o7777),
        Some(Chmod::Octal(bits)) => Ok(bits & 0o7777),
        Some(Chmod::Symbolic(expr)) => symbolic(expr, mode & 0o7777, is_dir)
            .ok_or_else(|| OwnershipError::InvalidChmod(expr.clone())),
    }
}

/// chmod(1)'s symbolic mode: clauses `[ugoa]*([-+=]([rwxXst]*|[ugo]))+` separated by commas; `X` is
/// `x` for a directory or a file already executable by someone; `u`, `g`, `o` after the operator copy
/// that class's bits.
fn symbolic(expr: &str, mut mode: u32, is_dir: bool) -> Option<u32> {
    for clause in expr.split(',') {
        let op_at = clause.find(['+', '-', '='])?;
        let (who, mut rest) = clause.split_at(op_at);
        let mut who_mask = 0;
        for c in who.chars() {
            who_mask |= match c {
                'u' => 0o4700,
                'g' => 0o2070,
                'o' => 0o1007,
                'a' => 0o7777,
                _ => return None,
            };
        }
        if who_mask == 0 {
            who_mask = 0o7777;
        }
        while let Some(op) = rest.chars().next() {
            let perms_end = rest[1..]
                .find(['+', '-', '='])
                .map_or(rest.len(), |i| i + 1);
            let perms = &rest[1..perms_end];
            rest = &rest[perms_end..];
            let copied = match perms {
                "u" => Some((mode >> 6) & 7),
                "g" => Some((mode >> 3) & 7),
                "o" => Some(mode & 7),
                _ => None,
            };
            let mut bits = match copied {
                Some(class) => class * 0o111,
                None => 0,
            };
            if copied.is_none() {
                for c in perms.chars() {
                    bits |= match c {
                        'r' => 0o444,
                        'w' => 0o222,
                        'x' => 0o111,
                        'X' if is_dir || mode & 0o111 != 0 => 0o111,
                        'X' => 0,
                        's' => 0o6000,
                        't' => 0o1000,
                        _ => return None,
                    };
                }
            }
            let bits = bits & who_mask;
            mode = match op {
                '+' => mode | bits,
                '-' => mode & !bits,
                '=' => (mode & !(who_mask & 0o777)) | bits,
                _ => return None,
            };
        }
    }
    Some(mode)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbolic_modes() {
        let s = |e: &str, m, d| apply_chmod(Some(&Chmod::Symbolic(e.into())), m, d).unwrap();
        assert_eq!(s("u+x", 0o644, false), 0o744);
        assert_eq!(s("go-w", 0o666, false), 0o644);
        assert_eq!(s("a=r", 0o755, false), 0o444);
        assert_eq!(s("a=rX", 0o700, true), 0o555);
        assert_eq!(s("a=rX", 0o600, false), 0o444);
        assert_eq!(s("+x", 0o600, false), 0o711);
        assert!(apply_chmod(Some(&Chmod::Symbolic("q+x".into())), 0, false).is_err());
        // Several operators in a clause, and a class's bits copied.
        assert_eq!(s("u+x-w", 0o644, false), 0o544);
        assert_eq!(s("go=u", 0o640, false), 0o666);
        assert_eq!(s("u=rwx,g=rx,o=", 0o777, false), 0o750);
        assert!(apply_chmod(Some(&Chmod::Symbolic("u".into())), 0, false).is_err());
    }
}
