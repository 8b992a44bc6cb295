//! The default `web` process, bound to 0.0.0.0:$PORT: `rails server` when the lock has Rails
//! (`railties`), else `rackup` when there is a `config.ru`. Neither: no default, and a Procfile `web`
//! line is required.

use std::path::Path;

use buildpack_kit::{DefaultProcess, Problem, Process};

use crate::detect::GEMFILE_LOCK;

pub const CONFIG_RU: &str = "config.ru";

/// The web server the app gets without a Procfile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    Rails,
    Rack,
}

/// Whether the lock's `specs:` pin the gem `name` (a spec line is the name, a space and `(`).
pub fn locks_gem(lock: &str, name: &str) -> bool {
    lock.lines().any(|line| {
        line.strip_prefix("    ")
            .filter(|rest| !rest.starts_with(' '))
            .and_then(|rest| rest.strip_prefix(name))
            .is_some_and(|rest| rest.starts_with(" ("))
    })
}

pub fn server(lock: &str, has_config_ru: bool) -> Option<Server> {
    if locks_gem(lock, "railties") {
        Some(Server::Rails)
    } else if has_config_ru {
        Some(Server::Rack)
    } else {
        None
    }
}

pub fn process(server: Server) -> Process {
    Process::web(match server {
        Server::Rails => "bundle exec rails server -b 0.0.0.0 -p $PORT",
        Server::Rack => "bundle exec rackup -o 0.0.0.0 -p $PORT",
    })
}

pub fn procfile_required() -> Problem {
    Problem::new(
        "no `web` process for this Ruby app",
        format!(
            "it is neither a Rails app (`railties` in `{GEMFILE_LOCK}`) nor a Rack app (`{CONFIG_RU}`), \
             so there is no default start command, and an image without one would exit as soon as it starts"
        ),
        "add a `Procfile` with a `web:` line that listens on $PORT, e.g. \
         `web: bundle exec ruby app.rb -o 0.0.0.0 -p $PORT`, or a `config.ru`",
    )
}

pub fn default_process(lock: &str, has_config_ru: bool) -> DefaultProcess {
    match server(lock, has_config_ru) {
        Some(server) => DefaultProcess::Command(process(server)),
        None => DefaultProcess::ProcfileRequired(procfile_required()),
    }
}

/// The default process of the app in `app` (an unreadable lock reads as empty: detection has
/// already required it).
pub fn default_process_of(app: &Path) -> DefaultProcess {
    let lock = std::fs::read_to_string(app.join(GEMFILE_LOCK)).unwrap_or_default();
    default_process(&lock, app.join(CONFIG_RU).is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    const RAILS_LOCK: &str = "GEM\n  specs:\n    rails (7.2.1)\n      railties (= 7.2.1)\n    railties (7.2.1)\n      rake (>= 12.2)\n";
    const RACK_LOCK: &str =
        "GEM\n  specs:\n    rack (3.1.8)\n    sinatra (4.0.0)\n      railties-ish (1)\n";

    #[test]
    fn rails_apps_run_rails_server_on_port() {
        assert_eq!(
            default_process(RAILS_LOCK, true),
            DefaultProcess::Command(Process::web("bundle exec rails server -b 0.0.0.0 -p $PORT"))
        );
        assert!(process(Server::Rails).mentions_port());
    }

    #[test]
    fn rack_apps_run_rackup_on_port() {
        assert_eq!(server(RACK_LOCK, true), Some(Server::Rack));
        assert_eq!(
            process(Server::Rack).command,
            "bundle exec rackup -o 0.0.0.0 -p $PORT"
        );
    }

    #[test]
    fn dependency_lines_are_not_specs() {
        let lock = "GEM\n  specs:\n    foo (1)\n      railties (>= 7)\n";
        assert!(!locks_gem(lock, "railties"));
        assert!(locks_gem(RAILS_LOCK, "railties"));
        assert!(!locks_gem(RACK_LOCK, "railties"));
    }

    #[test]
    fn neither_rails_nor_rack_requires_a_procfile() {
        let default = default_process(RACK_LOCK, false);
        assert_eq!(
            default,
            DefaultProcess::ProcfileRequired(procfile_required())
        );
        assert!(procfile_required().fix.contains("$PORT"));
    }
}
