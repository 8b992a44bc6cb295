//! In-container mode (kaniko's): RUN executes directly in the current container's root filesystem.
//!
//! For CI jobs whose container has no user namespaces. The base image is unpacked over `/`, the command
//! runs with the step's user, environment and working directory, and the snapshot leaves out what is
//! not the image: pseudo-filesystems, every other mount point of this container (the context, secrets,
//! service-account tokens under /var/run), hoist's own cache and binary. Refused outside a container
//! unless forced, since it rewrites `/`.

use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, Stdio};

use super::Process;
use super::user::ExecUser;

/// Why we believe we are inside a container, or `None`.
pub fn detect() -> Option<String> {
    for marker in ["/.dockerenv", "/run/.containerenv"] {
        if Path::new(marker).exists() {
            return Some(format!("{marker} exists"));
        }
    }
    if let Ok(kind) = std::env::var("container")
        && !kind.is_empty()
    {
        return Some(format!("$container is `{kind}`"));
    }
    if Path::new("/var/run/secrets/kubernetes.io").exists() {
        return Some("a Kubernetes service account is mounted".into());
    }
    let cgroup = std::fs::read_to_string("/proc/1/cgroup").unwrap_or_default();
    ["docker", "kubepods", "containerd", "libpod", "lxc"]
        .iter()
        .find(|k| cgroup.contains(*k))
        .map(|k| format!("/proc/1/cgroup names {k}"))
}

/// Paths the snapshot never looks at: pseudo-filesystems and every mount point below `/`
/// (`/proc/self/mountinfo`), plus `extra` (the cache dir, hoist's binary, the context).
pub fn excludes(extra: &[&Path]) -> Vec<String> {
    let mut out: Vec<String> = [
        "/proc",
        "/sys",
        "/dev",
        "/etc/mtab",
        "/var/run/secrets",
        "/run/secrets",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    for line in mountinfo.lines() {
        if let Some(point) = line.split(' ').nth(4)
            && point != "/"
        {
            out.push(unescape(point));
        }
    }
    out.extend(extra.iter().map(|p| p.to_string_lossy().into_owned()));
    out.sort();
    out.dedup();
    out
}

/// mountinfo escapes space, tab, newline and backslash as octal.
fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            let code: String = chars.by_ref().take(3).collect();
            if let Ok(n) = u8::from_str_radix(&code, 8) {
                out.push(n as char);
                continue;
            }
            out.push(c);
            out.push_str(&code);
        } else {
            out.push(c);
        }
    }
    out
}

/// Runs the command in the current root filesystem.
pub fn run(process: &Process, user: &ExecUser, env: &[String]) -> Result<i32, String> {
    let Some((program, args)) = process.argv.split_first() else {
        return Err("RUN has an empty command".into());
    };
    let mut command = Command::new(program);
    command
        .args(args)
        .env_clear()
        .stdin(Stdio::null())
        .current_dir(&process.cwd);
    for kv in env {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        command.env(k, v);
    }
    if user.uid != 0 || user.gid != 0 {
        let user = user.clone();
        // SAFETY: the sandbox child is single-threaded; only id-switching system calls.
        unsafe {
            command.pre_exec(move || {
                let groups: Vec<nix::unistd::Gid> = user
                    .groups
                    .iter()
                    .map(|g| nix::unistd::Gid::from_raw(*g))
                    .collect();
                nix::unistd::setgroups(&groups)?;
                let gid = nix::unistd::Gid::from_raw(user.gid);
                let uid = nix::unistd::Uid::from_raw(user.uid);
                nix::unistd::setresgid(gid, gid, gid)?;
                nix::unistd::setresuid(uid, uid, uid)?;
                Ok(())
            });
        }
    }
    let status = command
        .status()
        .map_err(|e| format!("cannot start `{program}`: {e}"))?;
    Ok(status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_escapes_are_undone() {
        assert_eq!(unescape("/mnt/a\\040b"), "/mnt/a b");
        assert_eq!(unescape("/plain"), "/plain");
    }
}
