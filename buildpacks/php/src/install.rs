//! Composer's command, as data: `composer install` from the lock, without dev packages, with an
//! optimised autoloader; its download cache in the `cache` layer.

use std::path::Path;

use buildpack_kit::build_command::Step;

pub fn step() -> Step {
    Step::new(
        "composer",
        &[
            "install",
            "--no-dev",
            "--no-interaction",
            "--prefer-dist",
            "--optimize-autoloader",
        ],
    )
}

pub fn env(cache: &Path) -> Vec<(&'static str, String)> {
    vec![("COMPOSER_CACHE_DIR", cache.to_string_lossy().into_owned())]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composer_installs_without_dev_packages() {
        assert_eq!(
            step().line(),
            "composer install --no-dev --no-interaction --prefer-dist --optimize-autoloader"
        );
        assert_eq!(
            env(Path::new("/c")),
            [("COMPOSER_CACHE_DIR", "/c".to_owned())]
        );
    }
}
