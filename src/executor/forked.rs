//! Test support: work done in a forked child, for tests that need namespaces of their own (a user
//! namespace mapping only root, a private mount namespace) without touching the test process.

use nix::sched::{CloneFlags, unshare};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, fork};

/// Runs `work` in a forked child and returns what it returned, or panics with its error.
pub fn in_child(work: impl FnOnce() -> Result<String, String>) -> String {
    let (read, write) = std::io::pipe().expect("a pipe to the child");
    // SAFETY: the child only runs `work` (system calls, file writes, allocation: glibc makes malloc
    // usable after fork) and leaves with `_exit`, never returning into the test harness.
    match unsafe { fork() }.expect("fork") {
        ForkResult::Child => {
            drop(read);
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work))
                .unwrap_or_else(|_| Err("the child panicked".to_string()));
            let (code, text) = match result {
                Ok(text) => (0, text),
                Err(text) => (1, text),
            };
            let mut write = write;
            let code = if std::io::Write::write_all(&mut write, text.as_bytes()).is_ok() {
                code
            } else {
                2
            };
            // SAFETY: ends the forked child without running the parent's exit handlers.
            unsafe { libc::_exit(code) }
        }
        ForkResult::Parent { child } => {
            drop(write);
            let mut text = String::new();
            std::io::Read::read_to_string(&mut { read }, &mut text).expect("the child's answer");
            let status = waitpid(child, None).expect("wait for the child");
            assert_eq!(status, WaitStatus::Exited(child, 0), "child failed: {text}");
            text
        }
    }
}

/// In the child: a new user namespace (plus `more`) where only root is mapped, to the caller's ids.
pub fn enter_user_namespace(more: CloneFlags) -> Result<(), String> {
    let uid = nix::unistd::geteuid();
    let gid = nix::unistd::getegid();
    unshare(CloneFlags::CLONE_NEWUSER | more).map_err(|e| format!("unshare: {e}"))?;
    for (file, text) in [
        ("setgroups", "deny".to_string()),
        ("uid_map", format!("0 {uid} 1")),
        ("gid_map", format!("0 {gid} 1")),
    ] {
        std::fs::write(format!("/proc/self/{file}"), text).map_err(|e| format!("{file}: {e}"))?;
    }
    Ok(())
}
