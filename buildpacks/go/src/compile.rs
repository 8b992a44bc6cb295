//! The build command, as data: `go build` of the root package into the `app` layer, reproducible
//! paths (`-trimpath`), vendored modules when `vendor/modules.txt` exists, the build and module caches
//! in the `cache` layer, and no toolchain download (`GOTOOLCHAIN=local`).

use std::path::Path;

use buildpack_kit::build_command::Step;

pub fn step(binary: &Path, vendored: bool) -> Step {
    let binary = binary.to_string_lossy();
    let mut args = vec!["build", "-trimpath"];
    if vendored {
        args.push("-mod=vendor");
    }
    args.extend(["-o", binary.as_ref(), "."]);
    Step::new("go", &args)
}

pub fn env(cache: &Path) -> Vec<(&'static str, String)> {
    vec![
        (
            "GOCACHE",
            cache.join("build").to_string_lossy().into_owned(),
        ),
        (
            "GOMODCACHE",
            cache.join("mod").to_string_lossy().into_owned(),
        ),
        ("GOTOOLCHAIN", "local".to_owned()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendored_builds_use_the_vendor_directory() {
        let binary = Path::new("/l/app/bin/hello");
        assert_eq!(
            step(binary, false).line(),
            "go build -trimpath -o /l/app/bin/hello ."
        );
        assert_eq!(
            step(binary, true).line(),
            "go build -trimpath -mod=vendor -o /l/app/bin/hello ."
        );
    }

    #[test]
    fn caches_live_in_the_cache_layer_and_no_toolchain_is_fetched() {
        let env = env(Path::new("/l/cache"));
        assert!(env.contains(&("GOMODCACHE", "/l/cache/mod".to_owned())));
        assert!(env.contains(&("GOTOOLCHAIN", "local".to_owned())));
    }
}
