//! Config changes: how each [`ConfigChange`] edits the image's runtime config (OCI image-spec
//! `config.md`, with Docker's conventions: Env replaced in place, labels merged, ONBUILD appended, and the
//! inherited triggers dropped once fired).

use std::collections::BTreeMap;

use crate::image::config::Empty;
use crate::image::{ContainerConfig, ImageConfig};
use crate::plan::ConfigChange;

pub fn apply(change: &ConfigChange, image: &mut ImageConfig) {
    if let ConfigChange::Author(author) = change {
        image.author = Some(author.clone());
        return;
    }
    let c: &mut ContainerConfig = &mut image.config;
    match change {
        ConfigChange::Author(_) => {}
        ConfigChange::Env(vars) => {
            for (k, v) in vars {
                c.set_env(k, v);
            }
        }
        ConfigChange::Labels(labels) => {
            let map = c.labels.get_or_insert_with(BTreeMap::new);
            for (k, v) in labels {
                map.insert(k.clone(), v.clone());
            }
        }
        ConfigChange::WorkingDir(dir) => c.working_dir = Some(dir.clone()),
        ConfigChange::User(user) => c.user = Some(user.clone()),
        ConfigChange::Expose(ports) => {
            let map = c.exposed_ports.get_or_insert_with(BTreeMap::new);
            for p in ports {
                map.insert(p.clone(), Empty {});
            }
        }
        ConfigChange::Volumes(volumes) => {
            let map = c.volumes.get_or_insert_with(BTreeMap::new);
            for v in volumes {
                map.insert(v.clone(), Empty {});
            }
        }
        ConfigChange::Entrypoint(e) => c.entrypoint = e.clone(),
        ConfigChange::Cmd(cmd) => c.cmd = cmd.clone(),
        ConfigChange::Shell(shell) => c.shell = Some(shell.clone()),
        ConfigChange::StopSignal(s) => c.stop_signal = Some(s.clone()),
        ConfigChange::Healthcheck(h) => c.healthcheck = Some(h.clone()),
        ConfigChange::OnBuild(trigger) => c
            .on_build
            .get_or_insert_with(Vec::new)
            .push(trigger.clone()),
        ConfigChange::ClearOnBuild => c.on_build = None,
        ConfigChange::ArgsEscaped(b) => c.args_escaped = Some(*b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_in_place_labels_merge_cmd_clears() {
        let mut ic = ImageConfig::empty(&crate::image::Platform::linux_amd64());
        apply(
            &ConfigChange::Env(vec![("A".into(), "1".into()), ("B".into(), "2".into())]),
            &mut ic,
        );
        apply(&ConfigChange::Env(vec![("A".into(), "3".into())]), &mut ic);
        assert_eq!(ic.config.env.as_deref().unwrap(), ["A=3", "B=2"]);
        apply(
            &ConfigChange::Labels(vec![("x".into(), "1".into())]),
            &mut ic,
        );
        apply(
            &ConfigChange::Labels(vec![("y".into(), "2".into())]),
            &mut ic,
        );
        assert_eq!(ic.config.labels.as_ref().unwrap().len(), 2);
        apply(&ConfigChange::Cmd(Some(vec!["sh".into()])), &mut ic);
        apply(&ConfigChange::Cmd(None), &mut ic);
        assert_eq!(ic.config.cmd, None);
        apply(&ConfigChange::Expose(vec!["80/tcp".into()]), &mut ic);
        assert!(
            ic.config
                .exposed_ports
                .as_ref()
                .unwrap()
                .contains_key("80/tcp")
        );
        apply(&ConfigChange::Author("me".into()), &mut ic);
        assert_eq!(ic.author.as_deref(), Some("me"));
    }
}
