//! USER resolution inside the stage's root filesystem, as runc/BuildKit do it (`user.GetExecUser`):
//! `name`, `uid`, `name:group`, `uid:gid`; names looked up in the rootfs' `/etc/passwd` and `/etc/group`,
//! supplementary groups from `/etc/group`, HOME from the passwd entry.

use std::path::Path;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecUser {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
    pub home: String,
}

/// Resolves `spec` against the passwd and group files' contents (either may be missing).
pub fn resolve(spec: &str, passwd: &str, group: &str) -> Result<ExecUser, String> {
    let (user, grp) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let user = if user.is_empty() { "0" } else { user };
    let entries: Vec<Vec<&str>> = passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .filter(|f| f.len() >= 6)
        .collect();
    let entry = entries.iter().find(|f| f[0] == user).or_else(|| {
        user.parse::<u32>()
            .ok()
            .and_then(|id| entries.iter().find(|f| f[2].parse() == Ok(id)))
    });
    let (uid, mut gid, home, name) = match (entry, user.parse::<u32>()) {
        (Some(f), _) => (
            f[2].parse().unwrap_or(0),
            f[3].parse().unwrap_or(0),
            f[5].to_string(),
            f[0].to_string(),
        ),
        (None, Ok(id)) => (id, id, "/".to_string(), String::new()),
        (None, Err(_)) => {
            return Err(format!(
                "unable to find user {user}: no matching entries in passwd file\nhint: create the user in an earlier step (`RUN useradd {user}`) or use a numeric USER"
            ));
        }
    };
    let groups_table: Vec<Vec<&str>> = group
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .filter(|f| f.len() >= 3)
        .collect();
    if let Some(g) = grp {
        gid = match g.parse::<u32>() {
            Ok(id) => id,
            Err(_) => groups_table
                .iter()
                .find(|f| f[0] == g)
                .and_then(|f| f[2].parse().ok())
                .ok_or_else(|| {
                    format!("unable to find group {g}: no matching entries in group file")
                })?,
        };
    }
    let mut groups = vec![gid];
    if grp.is_none() && !name.is_empty() {
        for f in &groups_table {
            let members = f.get(3).copied().unwrap_or_default();
            if members.split(',').any(|m| m == name)
                && let Ok(id) = f[2].parse::<u32>()
                && !groups.contains(&id)
            {
                groups.push(id);
            }
        }
    }
    Ok(ExecUser {
        uid,
        gid,
        groups,
        home: if home.is_empty() { "/".into() } else { home },
    })
}

/// Reads the rootfs' passwd and group files (missing files read as empty) and resolves `spec`.
pub fn resolve_in(rootfs: &Path, spec: &str) -> Result<ExecUser, String> {
    let read = |p: &str| {
        crate::executor::rootfs::resolve_in_root(rootfs, p)
            .ok()
            .and_then(|host| std::fs::read_to_string(host).ok())
            .unwrap_or_default()
    };
    resolve(spec, &read("/etc/passwd"), &read("/etc/group"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n";
    const GROUP: &str = "root:x:0:\napp:x:1000:\nstaff:x:50:app,other\n";

    #[test]
    fn names_ids_and_groups_resolve_as_runc_does() {
        let app = resolve("app", PASSWD, GROUP).unwrap();
        assert_eq!(
            (app.uid, app.gid, app.home.as_str()),
            (1000, 1000, "/home/app")
        );
        assert_eq!(app.groups, vec![1000, 50]);
        let root = resolve("", PASSWD, GROUP).unwrap();
        assert_eq!((root.uid, root.gid, root.home.as_str()), (0, 0, "/root"));
        let numeric = resolve("4242:staff", PASSWD, GROUP).unwrap();
        assert_eq!(
            (numeric.uid, numeric.gid, numeric.groups),
            (4242, 50, vec![50])
        );
        let by_id = resolve("1000", PASSWD, GROUP).unwrap();
        assert_eq!(by_id.home, "/home/app");
    }

    #[test]
    fn unknown_names_are_errors_that_say_what_to_do() {
        let err = resolve("nobody", PASSWD, GROUP).unwrap_err();
        assert!(err.contains("unable to find user nobody"), "{err}");
        assert!(err.contains("hint:"), "{err}");
        assert!(resolve("app:nogroup", PASSWD, GROUP).is_err());
    }
}
