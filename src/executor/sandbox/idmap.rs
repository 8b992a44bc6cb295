//! User and group id mappings for the rootless sandbox's user namespace (`user_namespaces(7)`).
//!
//! Root inside is always the invoking user. As real root the whole id space is mapped onto itself. An
//! unprivileged user with ranges in `/etc/subuid` and `/etc/subgid` (`subuid(5)`) gets ids 1..=N mapped onto
//! them through the setuid helpers `newuidmap`/`newgidmap`, so that `chown`, apt's `_apt` user and images
//! with files owned by other users work. Without ranges or helpers only id 0 exists inside: we say so once,
//! and a `chown` to another id fails inside the step.

use std::path::Path;
use std::process::Command;

/// One line of a uid_map/gid_map: `inside outside count`.
type Range = (u32, u32, u32);

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdMapping {
    /// Real root: the identity map over every id.
    Identity,
    /// Root → the user, 1..=count → the subordinate ranges (through newuidmap/newgidmap).
    Subordinate { uids: Vec<Range>, gids: Vec<Range> },
    /// Root → the user; nothing else exists inside.
    Single { uid: u32, gid: u32, why: String },
}

impl IdMapping {
    pub fn for_current_user() -> IdMapping {
        let uid = nix::unistd::geteuid().as_raw();
        let gid = nix::unistd::getegid().as_raw();
        if uid == 0 {
            return IdMapping::Identity;
        }
        let name = nix::unistd::User::from_uid(uid.into())
            .ok()
            .flatten()
            .map(|u| u.name)
            .unwrap_or_default();
        let helpers = ["newuidmap", "newgidmap"]
            .iter()
            .all(|h| find_in_path(h).is_some());
        let subuid = read_ranges(Path::new("/etc/subuid"), &name, uid);
        let subgid = read_ranges(Path::new("/etc/subgid"), &name, uid);
        match (helpers, subuid.is_empty() || subgid.is_empty()) {
            (true, false) => IdMapping::Subordinate {
                uids: stack(uid, &subuid),
                gids: stack(gid, &subgid),
            },
            (false, _) => IdMapping::Single {
                uid,
                gid,
                why: "newuidmap and newgidmap are not installed (Debian/Ubuntu package `uidmap`)"
                    .into(),
            },
            (true, true) => IdMapping::Single {
                uid,
                gid,
                why: format!(
                    "/etc/subuid or /etc/subgid has no range for user `{name}` (uid {uid}); add one with `usermod --add-subuids 100000-165535 --add-subgids 100000-165535 {name}`"
                ),
            },
        }
    }

    /// The mapping in a few words, for cache keys: files unpacked under one mapping have other owners on
    /// disk under another.
    pub fn key(&self) -> String {
        match self {
            IdMapping::Identity => "identity".into(),
            IdMapping::Subordinate { uids, gids } => format!("subordinate {uids:?} {gids:?}"),
            IdMapping::Single { uid, gid, .. } => format!("single {uid}:{gid}"),
        }
    }

    /// What the user should know about this mapping, if anything.
    pub fn note(&self) -> Option<String> {
        match self {
            IdMapping::Single { why, .. } => Some(format!(
                "RUN steps see only user and group 0 (root, mapped to you): {why}. Steps that change file owners or switch to other users will fail."
            )),
            _ => None,
        }
    }

    /// Writes the maps of the (just unshared) user namespace of process `pid`.
    pub fn apply(&self, pid: u32) -> Result<(), String> {
        match self {
            IdMapping::Identity => {
                write_map(pid, "uid_map", &[(0, 0, u32::MAX)])?;
                write_map(pid, "gid_map", &[(0, 0, u32::MAX)])
            }
            IdMapping::Single { uid, gid, .. } => {
                std::fs::write(format!("/proc/{pid}/setgroups"), "deny")
                    .map_err(|e| format!("cannot write /proc/{pid}/setgroups: {e}"))?;
                write_map(pid, "uid_map", &[(0, *uid, 1)])?;
                write_map(pid, "gid_map", &[(0, *gid, 1)])
            }
            IdMapping::Subordinate { uids, gids } => {
                run_helper("newuidmap", pid, uids)?;
                run_helper("newgidmap", pid, gids)
            }
        }
    }
}

fn write_map(pid: u32, file: &str, ranges: &[Range]) -> Result<(), String> {
    let text: String = ranges
        .iter()
        .map(|(i, o, n)| format!("{i} {o} {n}\n"))
        .collect();
    std::fs::write(format!("/proc/{pid}/{file}"), text)
        .map_err(|e| format!("cannot write /proc/{pid}/{file}: {e}"))
}

fn run_helper(helper: &str, pid: u32, ranges: &[Range]) -> Result<(), String> {
    let mut cmd = Command::new(helper);
    cmd.arg(pid.to_string());
    for (i, o, n) in ranges {
        cmd.args([i.to_string(), o.to_string(), n.to_string()]);
    }
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run `{helper}`: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`{helper}` failed ({}): {}\nhint: check that `{helper}` is setuid root and that /etc/subuid and /etc/subgid give your user a range",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Root → `own`, then the subordinate ranges one after another from id 1.
fn stack(own: u32, ranges: &[(u32, u32)]) -> Vec<Range> {
    let mut out = vec![(0, own, 1)];
    let mut next = 1u32;
    for (start, count) in ranges {
        out.push((next, *start, *count));
        next = next.saturating_add(*count);
    }
    out
}

/// `name:start:count` or `uid:start:count` lines of a subuid/subgid file for this user.
fn read_ranges(file: &Path, name: &str, uid: u32) -> Vec<(u32, u32)> {
    let Ok(text) = std::fs::read_to_string(file) else {
        return Vec::new();
    };
    parse_ranges(&text, name, uid)
}

fn parse_ranges(text: &str, name: &str, uid: u32) -> Vec<(u32, u32)> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.trim().split(':');
            let who = parts.next()?;
            let start = parts.next()?.parse().ok()?;
            let count = parts.next()?.parse().ok()?;
            ((!name.is_empty() && who == name) || who == uid.to_string()).then_some((start, count))
        })
        .filter(|(_, count)| *count > 0)
        .take(4)
        .collect()
}

fn find_in_path(program: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_else(|| vec!["/usr/bin".into(), "/bin".into()])
        .into_iter()
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subordinate_ranges_by_name_or_uid_stack_after_root() {
        let text = "alice:100000:65536\n1001:300000:10\nbob:200000:65536\n";
        let alice = parse_ranges(text, "alice", 1001);
        assert_eq!(alice, vec![(100000, 65536), (300000, 10)]);
        assert_eq!(
            stack(1001, &alice),
            vec![(0, 1001, 1), (1, 100000, 65536), (65537, 300000, 10)]
        );
        assert!(parse_ranges(text, "carol", 1002).is_empty());
    }

    #[test]
    fn only_the_single_mapping_has_a_note() {
        let single = IdMapping::Single {
            uid: 1000,
            gid: 1000,
            why: "no range".into(),
        };
        assert!(single.note().unwrap().contains("no range"));
        assert_eq!(IdMapping::Identity.note(), None);
    }
}
