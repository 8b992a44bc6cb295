//! Extended attributes carried in layers (OCI image-spec `layer.md` leaves them to the tar format; Docker,
//! containerd and GNU tar write them as PAX `SCHILY.xattr.NAME` records).
//!
//! hoist carries `security.capability` (file capabilities, e.g. `ping`'s `cap_net_raw`) and `user.*`. It
//! leaves out `trusted.*` (needs the host's CAP_SYS_ADMIN), `security.selinux` and the other LSM labels
//! (they belong to the host's policy), ACLs, and `user.overlay.*` (overlayfs bookkeeping, not content).

/// The PAX record prefix: `SCHILY.xattr.user.foo` carries `user.foo`.
pub const PAX_PREFIX: &str = "SCHILY.xattr.";
