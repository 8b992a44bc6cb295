//! The cache directory's lock: `CACHE_DIR/lock`, an flock(2) lock. Every command that uses the cache
//! (build, validate, copy, inspect) holds it shared for its whole run; `hoist prune` holds it exclusive,
//! so it never removes what a running build uses and a build never starts in the middle of a prune.
//! The kernel drops the lock when its holder exits, killed or not: a crashed build blocks nothing.
//! (Linux does not queue a waiting exclusive lock before new shared ones: a prune waits until no build
//! runs at all.)

use std::fs::{File, OpenOptions};
use std::path::PathBuf;

use nix::fcntl::{Flock, FlockArg};

use super::CacheDir;

/// How a command holds the cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Using it: any number of commands at once.
    Shared,
    /// Removing from it: alone.
    Exclusive,
}

/// The cache held; released when dropped.
#[derive(Debug)]
pub struct CacheLock {
    _lock: Flock<File>,
    pub access: Access,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "cannot use the cache directory `{path}`: {source}\nhint: make it writable, or choose another one with --cache-dir or HOIST_CACHE_DIR"
    )]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "cannot lock `{path}`: {source}\nhint: the cache directory must be on a filesystem with flock(2) locks (some network filesystems have none); choose another one with --cache-dir or HOIST_CACHE_DIR"
    )]
    Lock {
        path: PathBuf,
        source: nix::errno::Errno,
    },
}

/// Takes the lock of `cache` (creating the directory and the lock file when missing), waiting for the
/// holders that exclude `access`; `on_wait` is told who it waits for before it waits.
pub fn acquire(
    cache: &CacheDir,
    access: Access,
    on_wait: &mut dyn FnMut(&str),
) -> Result<CacheLock, LockError> {
    let path = cache.lock_file();
    // Read-only is enough for flock(2): a lock file another user (root) made does not lock us out.
    let open = || -> std::io::Result<File> {
        match File::open(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(cache.root())?;
                OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create(true)
                    .truncate(false)
                    .open(&path)
            }
            other => other,
        }
    };
    let file = open().map_err(|source| LockError::Open {
        path: cache.root().to_path_buf(),
        source,
    })?;
    let (now, wait) = match access {
        Access::Shared => (FlockArg::LockSharedNonblock, FlockArg::LockShared),
        Access::Exclusive => (FlockArg::LockExclusiveNonblock, FlockArg::LockExclusive),
    };
    let lock = match Flock::lock(file, now) {
        Ok(lock) => lock,
        Err((file, nix::errno::Errno::EWOULDBLOCK)) => {
            on_wait(&match access {
                Access::Shared => format!(
                    "waiting for `hoist prune` to finish with the cache `{}`",
                    cache.root().display()
                ),
                Access::Exclusive => format!(
                    "waiting for the builds and other hoist commands using the cache `{}` to finish (they hold `{}`)",
                    cache.root().display(),
                    path.display()
                ),
            });
            Flock::lock(file, wait).map_err(|(_, source)| LockError::Lock {
                path: path.clone(),
                source,
            })?
        }
        Err((_, source)) => return Err(LockError::Lock { path, source }),
    };
    Ok(CacheLock {
        _lock: lock,
        access,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn try_lock(cache: &CacheDir, arg: FlockArg) -> bool {
        let file = File::open(cache.lock_file()).unwrap();
        Flock::lock(file, arg).is_ok()
    }

    #[test]
    fn shared_holders_exclude_a_prune_and_a_prune_excludes_them() {
        let dir = tempfile::tempdir().unwrap();
        let cache = CacheDir::new(dir.path().join("cache"));
        let mut waits = Vec::new();
        let build = cache
            .lock(Access::Shared, &mut |m| waits.push(m.to_string()))
            .unwrap();
        let other = cache
            .lock(Access::Shared, &mut |m| waits.push(m.to_string()))
            .unwrap();
        assert!(waits.is_empty(), "shared holders do not wait: {waits:?}");
        // A prune cannot have it now (another open file description, as another process would).
        assert!(!try_lock(&cache, FlockArg::LockExclusiveNonblock));
        drop(build);
        assert!(!try_lock(&cache, FlockArg::LockExclusiveNonblock));
        drop(other);
        assert!(try_lock(&cache, FlockArg::LockExclusiveNonblock));

        let prune = cache
            .lock(Access::Exclusive, &mut |m| waits.push(m.to_string()))
            .unwrap();
        assert!(waits.is_empty());
        assert!(!try_lock(&cache, FlockArg::LockSharedNonblock));
        drop(prune);
        assert!(try_lock(&cache, FlockArg::LockSharedNonblock));
    }

    #[test]
    fn a_prune_says_it_waits_then_gets_the_lock_when_the_build_ends() {
        let dir = tempfile::tempdir().unwrap();
        let cache = CacheDir::new(dir.path());
        let build = cache.lock(Access::Shared, &mut |_| {}).unwrap();
        let (told_tx, told_rx) = std::sync::mpsc::channel();
        let prune = {
            let cache = cache.clone();
            std::thread::spawn(move || {
                let lock = cache
                    .lock(Access::Exclusive, &mut |m| {
                        told_tx.send(m.to_string()).unwrap()
                    })
                    .unwrap();
                lock.access
            })
        };
        // The prune says it waits before it waits: no sleep needed to know it is blocked.
        let message = told_rx.recv().unwrap();
        assert!(message.contains("waiting for the builds"), "{message}");
        assert!(message.contains(&cache.root().display().to_string()));
        drop(build);
        assert_eq!(prune.join().unwrap(), Access::Exclusive);
    }

    #[test]
    fn a_build_waits_for_a_prune() {
        let dir = tempfile::tempdir().unwrap();
        let cache = CacheDir::new(dir.path());
        let prune = cache.lock(Access::Exclusive, &mut |_| {}).unwrap();
        let (told_tx, told_rx) = std::sync::mpsc::channel();
        let build = {
            let cache = cache.clone();
            std::thread::spawn(move || {
                cache
                    .lock(Access::Shared, &mut |m| {
                        told_tx.send(m.to_string()).unwrap()
                    })
                    .map(|l| l.access)
            })
        };
        let message = told_rx.recv().unwrap();
        assert!(message.contains("waiting for `hoist prune`"), "{message}");
        drop(prune);
        assert_eq!(build.join().unwrap().unwrap(), Access::Shared);
    }

    #[test]
    fn an_unusable_cache_dir_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, "").unwrap();
        let err = CacheDir::new(file.join("cache"))
            .lock(Access::Shared, &mut |_| {})
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&file.join("cache").display().to_string()),
            "{err}"
        );
        assert!(err.contains("--cache-dir"), "{err}");
    }
}
