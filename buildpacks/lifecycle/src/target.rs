//! The build's target (CNB platform spec 0.13, "Target Data"; buildpack spec 0.10, "Provided by the
//! Lifecycle": `CNB_TARGET_OS`, `CNB_TARGET_ARCH`, `CNB_TARGET_ARCH_VARIANT`,
//! `CNB_TARGET_DISTRO_NAME`, `CNB_TARGET_DISTRO_VERSION`): the platform's values when it set them,
//! else this machine's — the architecture the lifecycle was built for, the distribution from
//! `/etc/os-release` (`ID`, `VERSION_ID`) of the build image it runs in. libcnb needs all four of
//! OS, arch, distro name and version, so they are always set (empty when unknown).

use std::path::Path;

/// The target variables, in the order above.
pub fn variables() -> Vec<(&'static str, String)> {
    let os_release = ["/etc/os-release", "/usr/lib/os-release"]
        .iter()
        .find_map(|p| std::fs::read_to_string(Path::new(p)).ok())
        .unwrap_or_default();
    from(&os_release, std::env::consts::ARCH, |name| {
        std::env::var(name).ok()
    })
}

fn from(
    os_release: &str,
    rust_arch: &str,
    platform: impl Fn(&str) -> Option<String>,
) -> Vec<(&'static str, String)> {
    let field = |key: &str| {
        os_release.lines().find_map(|line| {
            let value = line.trim().strip_prefix(key)?.strip_prefix('=')?;
            Some(value.trim().trim_matches('"').trim_matches('\'').to_owned())
        })
    };
    let arch = match rust_arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    };
    let version = field("VERSION_ID").or_else(|| field("VERSION_CODENAME"));
    let ours = [
        ("CNB_TARGET_OS", Some("linux".to_owned())),
        ("CNB_TARGET_ARCH", Some(arch.to_owned())),
        ("CNB_TARGET_ARCH_VARIANT", None),
        (
            "CNB_TARGET_DISTRO_NAME",
            Some(field("ID").unwrap_or_default()),
        ),
        (
            "CNB_TARGET_DISTRO_VERSION",
            Some(version.unwrap_or_default()),
        ),
    ];
    ours.into_iter()
        .filter_map(|(name, value)| platform(name).or(value).map(|v| (name, v)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_on_amd64() {
        let vars = from(
            "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nVERSION_ID=\"12\"\nID=debian\n",
            "x86_64",
            |_| None,
        );
        assert_eq!(
            vars,
            [
                ("CNB_TARGET_OS", "linux".to_owned()),
                ("CNB_TARGET_ARCH", "amd64".to_owned()),
                ("CNB_TARGET_DISTRO_NAME", "debian".to_owned()),
                ("CNB_TARGET_DISTRO_VERSION", "12".to_owned()),
            ]
        );
    }

    #[test]
    fn a_testing_release_without_version_id_uses_its_codename_and_the_platform_wins() {
        let vars = from("ID=debian\nVERSION_CODENAME=trixie\n", "aarch64", |name| {
            (name == "CNB_TARGET_ARCH_VARIANT").then(|| "v8".to_owned())
        });
        assert!(vars.contains(&("CNB_TARGET_DISTRO_VERSION", "trixie".to_owned())));
        assert!(vars.contains(&("CNB_TARGET_ARCH", "arm64".to_owned())));
        assert!(vars.contains(&("CNB_TARGET_ARCH_VARIANT", "v8".to_owned())));
        let none = from("", "x86_64", |_| None);
        assert!(none.contains(&("CNB_TARGET_DISTRO_NAME", String::new())));
    }
}
