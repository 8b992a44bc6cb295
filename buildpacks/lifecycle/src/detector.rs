//! The detector (CNB platform spec 0.13, "Detector"; buildpack spec 0.10, "Phase #1: Detection"): runs
//! each buildpack's `bin/detect` of each group of the order — pass (0), fail (100), error (anything
//! else) — and chooses the first group whose non-optional buildpacks pass and whose build plan
//! resolves ([`crate::plan`]); writes it to `group.toml` and its plan to `plan.toml`. A buildpack in
//! several groups is detected once.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::descriptor::{Buildpack, Group, Order};
use crate::env::Env;
use crate::error::{self, Error};
use crate::flags::Paths;
use crate::plan::{self, Candidate, DetectPlan, PlanFile, PlanFileEntry, Provider};
use crate::scratch::Scratch;
use crate::target;

/// What one `bin/detect` said.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Pass(DetectPlan),
    Fail,
    /// It exited with this status (or could not run: `None`).
    Error(Option<i32>),
}

/// Runs detection; on success `group.toml` and `plan.toml` are written and the group returned.
pub fn run(paths: &Paths) -> Result<Vec<Buildpack>, Error> {
    let order: Order = error::read_toml(error::DETECT_ERROR, &paths.order)?.ok_or_else(|| {
        Error::new(
            error::DETECT_ERROR,
            format!("the order `{}` does not exist", paths.order.display()),
            "the detector tries the groups of the order (CNB `order.toml`) one after the other",
            "install the builder's order at `/cnb/order.toml`, or pass `-order FILE`",
        )
    })?;
    if !paths.app.is_dir() {
        return Err(Error::new(
            error::DETECT_ERROR,
            format!("the app directory `{}` does not exist", paths.app.display()),
            "buildpacks detect and build the app in it",
            "put the app at `/workspace`, or pass `-app DIR`",
        ));
    }
    println!("===> DETECTING");
    let scratch = Scratch::new("detect", &paths.layers)
        .map_err(|e| Error::io(error::DETECT_ERROR, "create", &std::env::temp_dir(), e))?;
    let mut detector = Detector {
        paths,
        scratch: scratch.path(),
        targets: target::variables(),
        seen: HashMap::new(),
        errored: false,
    };
    for group in &order.order {
        if let Some(chosen) = detector.try_group(group)? {
            return Ok(chosen);
        }
    }
    let (code, why) = match detector.errored {
        true => (
            error::FAILED_DETECT_WITH_ERRORS,
            "no group of the order passed, and some buildpack's detect failed with an error (its output is above)",
        ),
        false => (
            error::FAILED_DETECT,
            "no group of the order passed: each has a required buildpack that did not detect the app, \
             or a build plan that does not resolve",
        ),
    };
    Err(Error::new(
        code,
        format!(
            "no buildpack group passed detection for `{}`",
            paths.app.display()
        ),
        why,
        "add the files a buildpack of the order looks for (each said above what it looked for), \
         or build with a Dockerfile",
    ))
}

struct Detector<'a> {
    paths: &'a Paths,
    scratch: &'a Path,
    targets: Vec<(&'static str, String)>,
    /// Verdicts by `id@version`.
    seen: HashMap<String, (Buildpack, Verdict)>,
    errored: bool,
}

impl Detector<'_> {
    fn try_group(
        &mut self,
        group: &crate::descriptor::OrderGroup,
    ) -> Result<Option<Vec<Buildpack>>, Error> {
        let mut passed: Vec<(Buildpack, Candidate)> = Vec::new();
        for entry in &group.group {
            let bp = Buildpack::find(
                &self.paths.buildpacks,
                &entry.id,
                entry.version.as_deref(),
                error::DETECT_ERROR,
            )?;
            match self.detect(&bp)? {
                Verdict::Pass(plan) => passed.push((
                    bp,
                    Candidate {
                        optional: entry.optional,
                        alternatives: plan.alternatives(),
                    },
                )),
                Verdict::Fail | Verdict::Error(_) if entry.optional => {}
                Verdict::Fail | Verdict::Error(_) => return Ok(None),
            }
        }
        let candidates: Vec<Candidate> = passed.iter().map(|(_, c)| c.clone()).collect();
        let Some(resolution) = plan::resolve(&candidates) else {
            if !passed.is_empty() {
                let names: Vec<String> = passed.iter().map(|(bp, _)| bp.name()).collect();
                println!(
                    "group {} : its build plan does not resolve",
                    names.join(", ")
                );
            }
            return Ok(None);
        };
        let chosen: Vec<Buildpack> = resolution
            .members
            .iter()
            .map(|&i| passed[i].0.clone())
            .collect();
        for (i, (bp, _)) in passed.iter().enumerate() {
            if !resolution.members.contains(&i) {
                println!(
                    "skip: {} (optional; its build plan does not resolve in this group)",
                    bp.name()
                );
            }
        }
        let plan = PlanFile {
            entries: resolution
                .entries
                .into_iter()
                .map(|entry| PlanFileEntry {
                    providers: entry
                        .providers
                        .iter()
                        .map(|&i| Provider {
                            id: passed[i].0.id.clone(),
                            version: passed[i].0.version.clone(),
                        })
                        .collect(),
                    requires: entry.requires,
                })
                .collect(),
        };
        let group = Group {
            group: chosen.iter().map(Buildpack::group_entry).collect(),
        };
        error::write_toml(error::DETECT_ERROR, &self.paths.group, &group)?;
        error::write_toml(error::DETECT_ERROR, &self.paths.plan, &plan)?;
        let names: Vec<String> = chosen.iter().map(Buildpack::name).collect();
        println!("group: {}", names.join(", "));
        Ok(Some(chosen))
    }

    /// The verdict of `bp`, detecting it the first time.
    fn detect(&mut self, bp: &Buildpack) -> Result<Verdict, Error> {
        if let Some((_, verdict)) = self.seen.get(&bp.name()) {
            return Ok(verdict.clone());
        }
        let dir = self.scratch.join(crate::descriptor::escape_id(&bp.id));
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::io(error::DETECT_ERROR, "create", &dir, e))?;
        let plan_path = dir.join("plan.toml");
        let mut env = Env::current();
        if !bp.clear_env {
            env.add_platform_env(&self.paths.platform);
        }
        env.set("CNB_BUILDPACK_DIR", &bp.dir);
        env.set("CNB_PLATFORM_DIR", &self.paths.platform);
        env.set("CNB_BUILD_PLAN_PATH", &plan_path);
        for (name, value) in &self.targets {
            env.set(*name, value);
        }
        let program = bp.dir.join("bin").join("detect");
        let output = Command::new(&program)
            .arg(&self.paths.platform)
            .arg(&plan_path)
            .current_dir(&self.paths.app)
            .env_clear()
            .envs(env.vars())
            .stdin(Stdio::null())
            .output();
        let (verdict, log) = match output {
            Err(e) => (
                Verdict::Error(None),
                format!("cannot run `{}`: {e}", program.display()),
            ),
            Ok(output) => {
                let log = format!(
                    "{}{}",
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                );
                let verdict = match output.status.code() {
                    Some(0) => Verdict::Pass(read_plan(&plan_path)?),
                    Some(100) => Verdict::Fail,
                    other => Verdict::Error(other),
                };
                (verdict, log)
            }
        };
        let word = match &verdict {
            Verdict::Pass(_) => "pass".to_owned(),
            Verdict::Fail => "fail".to_owned(),
            Verdict::Error(Some(code)) => format!("error (exit status {code})"),
            Verdict::Error(None) => "error".to_owned(),
        };
        if matches!(verdict, Verdict::Error(_)) {
            self.errored = true;
        }
        println!("{}: {word}", bp.name());
        for line in log.lines().filter(|l| !l.trim().is_empty()) {
            println!("  {line}");
        }
        self.seen.insert(bp.name(), (bp.clone(), verdict.clone()));
        Ok(verdict)
    }
}

fn read_plan(path: &Path) -> Result<DetectPlan, Error> {
    Ok(error::read_toml(error::DETECT_ERROR, path)?.unwrap_or_default())
}
