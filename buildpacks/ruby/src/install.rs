//! Bundler's command and environment, as data: `bundle install` in deployment mode (the lock must
//! match the Gemfile), without the development and test groups, into the `gems` layer.

use std::path::Path;

use buildpack_kit::build_command::Step;

pub fn step() -> Step {
    Step::new("bundle", &["install"])
}

/// The environment of the install, and of the app at launch.
pub fn env(gems: &Path) -> Vec<(&'static str, String)> {
    vec![
        ("BUNDLE_PATH", gems.to_string_lossy().into_owned()),
        ("BUNDLE_WITHOUT", "development:test".to_owned()),
        ("BUNDLE_DEPLOYMENT", "true".to_owned()),
        ("RAILS_ENV", "production".to_owned()),
        ("RACK_ENV", "production".to_owned()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gems_go_to_the_layer_without_dev_and_test_groups() {
        assert_eq!(step().line(), "bundle install");
        let env = env(Path::new("/layers/hoist_ruby/gems"));
        assert!(env.contains(&("BUNDLE_PATH", "/layers/hoist_ruby/gems".to_owned())));
        assert!(env.contains(&("BUNDLE_WITHOUT", "development:test".to_owned())));
        assert!(env.contains(&("BUNDLE_DEPLOYMENT", "true".to_owned())));
    }
}
