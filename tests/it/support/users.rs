//! Unprivileged test users, for testing the RUN sandbox the way it runs for real: as a user who is not
//! root. `.ci/run` creates them (as root):
//! - [`SUBID_USER`] (`hoist-test`) with subordinate id ranges in `/etc/subuid` and `/etc/subgid`
//!   (mapped with the setuid `newuidmap`/`newgidmap` from Debian's `uidmap`);
//! - [`SINGLE_ID_USER`] (`hoist-single`) without any, for the single-id fallback.
//!
//! The test process runs as root and drops to a user with `setpriv` (no PAM, no login shell): real
//! and effective ids, the user's groups, no capabilities left (`/bin/sh -c 'exec "$@"'` starts the
//! program, so even its path is looked up as the user). The environment is the test's, with
//! `HOME`, `USER` and `LOGNAME` set to the user's and the root-only `XDG_*` dirs removed.

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::{Sandbox, require_tool, sha256_hex};

/// A user with subordinate uid and gid ranges.
pub const SUBID_USER: &str = "hoist-test";

/// A user without subordinate ids: a user namespace can map only their own id.
pub const SINGLE_ID_USER: &str = "hoist-single";

/// A local user the tests can run commands as.
#[derive(Clone, Debug)]
pub struct TestUser {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: PathBuf,
}

/// A `(first id, count)` range from `/etc/subuid` or `/etc/subgid`.
pub type IdRange = (u32, u32);

impl TestUser {
    /// Looks `name` up in the user database. Panics with what to do when the user does not exist or
    /// the tests do not run as root (only root can become another user).
    pub fn get(name: &str) -> TestUser {
        let hint = "hint: run `.ci/run` as root once, which creates the test users";
        let user = nix::unistd::User::from_name(name)
            .unwrap_or_else(|e| panic!("cannot look up user {name}: {e}"))
            .unwrap_or_else(|| panic!("the test user `{name}` does not exist.\n{hint}"));
        assert!(
            nix::unistd::geteuid().is_root(),
            "tests that run commands as `{name}` must run as root (they drop to `{name}` with setpriv)"
        );
        TestUser {
            name: name.to_string(),
            uid: user.uid.as_raw(),
            gid: user.gid.as_raw(),
            home: user.dir,
        }
    }

    /// The user's ranges in `/etc/subuid` (by name or by uid); empty when there are none.
    pub fn subuid_ranges(&self) -> Vec<IdRange> {
        self.ranges(Path::new("/etc/subuid"))
    }

    /// The user's ranges in `/etc/subgid` (by name or by uid); empty when there are none.
    pub fn subgid_ranges(&self) -> Vec<IdRange> {
        self.ranges(Path::new("/etc/subgid"))
    }

    fn ranges(&self, file: &Path) -> Vec<IdRange> {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        text.lines()
            .filter_map(|line| {
                let mut fields = line.trim().split(':');
                let (owner, start, count) = (fields.next()?, fields.next()?, fields.next()?);
                (owner == self.name || owner == self.uid.to_string())
                    .then(|| Some((start.parse().ok()?, count.parse().ok()?)))
                    .flatten()
            })
            .collect()
    }

    /// A command running `program` as this user (`setpriv --reuid --regid --init-groups`); add its
    /// arguments, environment and working dir to the returned command as usual.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new(require_tool("setpriv", "util-linux"));
        cmd.arg(format!("--reuid={}", self.uid))
            .arg(format!("--regid={}", self.gid))
            .arg("--init-groups")
            // setpriv keeps its capabilities until its own execve, so it could start a program the
            // user cannot reach; a shell exec'ing it as the user checks the path as the user would.
            .args(["--", "/bin/sh", "-c", "exec \"$@\"", "as-user"])
            .arg(program)
            .env("HOME", &self.home)
            .env("USER", &self.name)
            .env("LOGNAME", &self.name);
        for var in [
            "XDG_RUNTIME_DIR",
            "XDG_CACHE_HOME",
            "XDG_CONFIG_HOME",
            "XDG_DATA_HOME",
            "XDG_STATE_HOME",
        ] {
            cmd.env_remove(var);
        }
        cmd
    }

    /// `cmd` (program, arguments, environment changes, working dir) re-made to run as this user. An
    /// explicit `HOME` etc. in `cmd` wins over the user's.
    pub fn wrap(&self, cmd: &Command) -> Command {
        let mut wrapped = self.command(cmd.get_program());
        wrapped.args(cmd.get_args());
        for (key, value) in cmd.get_envs() {
            match value {
                Some(value) => wrapped.env(key, value),
                None => wrapped.env_remove(key),
            };
        }
        if let Some(dir) = cmd.get_current_dir() {
            wrapped.current_dir(dir);
        }
        wrapped
    }

    /// A scratch [`Sandbox`] owned by this user (the user can create its cache and outputs there; the
    /// test, as root, can read and remove everything).
    pub fn sandbox(&self) -> Sandbox {
        let sandbox = Sandbox::new();
        self.give(sandbox.dir.path());
        sandbox
    }

    /// Hands `path` (not what is under it) to this user.
    pub fn give(&self, path: &Path) {
        std::os::unix::fs::chown(path, Some(self.uid), Some(self.gid))
            .unwrap_or_else(|e| panic!("chown {} to {}: {e}", path.display(), self.name));
    }

    /// `hoist build --progress plain` as this user, with `HOIST_CACHE_DIR` in `sandbox` (see
    /// [`TestUser::sandbox`]) and the hoist binary from [`hoist_binary_for_users`].
    pub fn hoist(&self, sandbox: &Sandbox) -> Command {
        self.wrap(&sandbox.hoist_command(&hoist_binary_for_users(), &sandbox.cache()))
    }
}

/// `cmd` re-made to run as the local user `user` (see [`TestUser::wrap`]).
pub fn as_user(user: &str, cmd: &Command) -> Command {
    TestUser::get(user).wrap(cmd)
}

/// The hoist binary cargo built, at a path every user can execute: the binary itself when every
/// directory above it is world-searchable (as under `/work`), else a hard link or copy in
/// `$TMPDIR/hoist-it-bin-<hash of path, size, mtime>/hoist` (root-owned, mode 0755), made once.
pub fn hoist_binary_for_users() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY
        .get_or_init(|| readable_by_all(Path::new(env!("CARGO_BIN_EXE_hoist"))))
        .clone()
}

/// `binary` when others may execute it where it is, else a world-executable copy of it.
pub fn readable_by_all(binary: &Path) -> PathBuf {
    let mode = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.permissions().mode());
    let searchable = binary
        .ancestors()
        .skip(1)
        .all(|dir| dir.as_os_str().is_empty() || mode(dir) & 0o001 != 0);
    if searchable && mode(binary) & 0o005 == 0o005 {
        return binary.to_path_buf();
    }
    let meta = std::fs::metadata(binary).unwrap();
    let stamp = format!(
        "{}\n{}\n{:?}",
        binary.display(),
        meta.len(),
        meta.modified().unwrap()
    );
    let dir = std::env::temp_dir().join(format!(
        "hoist-it-bin-{}",
        &sha256_hex(stamp.as_bytes())[..16]
    ));
    let copy = dir.join(binary.file_name().unwrap());
    if copy.is_file() {
        return copy;
    }
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    // A hard link when the binary is already world-executable and on the same filesystem (no space
    // used), else a copy; then a rename, so a concurrent test process never runs a half-written one.
    let partial = dir.join(format!(".partial-{}", std::process::id()));
    let _ = std::fs::remove_file(&partial);
    let linked = mode(binary) & 0o005 == 0o005 && std::fs::hard_link(binary, &partial).is_ok();
    if !linked {
        std::fs::copy(binary, &partial).unwrap();
        std::fs::set_permissions(&partial, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::rename(&partial, &copy).unwrap();
    copy
}
