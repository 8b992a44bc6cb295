//! Builds without a Dockerfile, end to end: `hoist build` on fixture apps (`fixtures/apps/`:
//! `nodejs-npm-real`, `python-pip-real`, `go-vendored-real`, `ruby-bundler-real`,
//! `php-composer-real`, `java-maven-real`, `procfile-only`, also the lifecycle crate's) detects the
//! language, pulls the build and run images (Debian 13 made with mmdebstrap, pushed to a loopback
//! registry as the official names and reached through `--registry-mirror`), runs the static
//! lifecycle and buildpacks (`buildpacks/package.sh`) in the RUN sandbox with the languages' real
//! tools, and exports onto the run image. Then the image's `web` process is started in the RUN sandbox with `PORT` set and must
//! answer HTTP on that port; skopeo reads the labels `pack inspect` reads.
//!
//! Per language: Node.js — `npm ci` from the npm registry, dev dependencies pruned, `npm start`;
//! Python — `pip` from PyPI, a Procfile `web`; Go — `go build -mod=vendor` with Debian's Go 1.24
//! (`GOTOOLCHAIN=local`, the dependency only vendored: no module proxy), the binary is `web`; Ruby —
//! `bundle install` in deployment mode (Bundler 2.6, an empty lock), a Procfile `web` through
//! `bundler/setup`; PHP — `composer install` (Composer 2.8, PHP 8.4, no packages, the autoloader
//! generated), `php -S` from the Procfile; Java — `mvn package` (Debian's Maven 3.9 and OpenJDK 21)
//! resolving the plugins the app pins from Debian's `/usr/share/maven-repo`, which the build
//! image's global settings make the mirror of every repository (Maven Central is not reachable
//! here), the repository kept in the cache layer and restored for the next build, `java -jar` the
//! jar; a Procfile alone. Gradle is tested to detection only (`fixtures/apps/java-gradle*` in
//! `detect.rs`): its wrapper downloads Gradle.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::support::debian_image::DEBIAN_TAG;
use crate::support::oci::push_layout;
use crate::support::users::{SUBID_USER, TestUser};
use crate::support::{
    Inspect, Registry, Sandbox, buildpack_images, hoist_run, java_images, lang_images, mirror,
    run_ok, skopeo_inspect,
};

/// The lifecycle directory `buildpacks/package.sh` builds (static binaries), once per test run
/// (`HOIST_TEST_CNB_DIR` names another, to try a lifecycle being worked on).
fn cnb_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        if let Some(dir) = std::env::var_os("HOIST_TEST_CNB_DIR") {
            return PathBuf::from(dir);
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let out = root.join("target/cnb-dir");
        run_ok(
            Command::new("bash")
                .arg(root.join("buildpacks/package.sh"))
                .arg(&out)
                .current_dir(root),
        );
        assert!(out.join("lifecycle/lifecycle").is_file());
        out
    })
    .clone()
}

/// One cache directory for the builds of these tests, as one machine would have: the build image
/// is unpacked once, not once per test. Each app is built by its own test, so no test sees another's
/// step results. It is `$TMPDIR/hoist-it-buildpacks-PID`, removed by a later run once this process
/// is gone (a static is never dropped).
fn shared_cache() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let tmp = std::env::temp_dir();
        for entry in std::fs::read_dir(&tmp).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(pid) = name.strip_prefix("hoist-it-buildpacks-")
                && !Path::new("/proc").join(pid).exists()
            {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        let dir = tmp.join(format!("hoist-it-buildpacks-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    })
    .clone()
}

/// A registry holding the fixture build and run images under the names hoist's defaults use.
fn world() -> Registry {
    let registry = Registry::start();
    let (build, run) = buildpack_images();
    for (repository, tag) in [
        ("library/node", "22-bookworm"),
        ("library/python", "3.12"),
        ("library/debian", "bookworm"),
    ] {
        push_layout(&registry, &build, DEBIAN_TAG, repository, tag);
    }
    for (repository, tag) in [
        ("library/node", "22-bookworm-slim"),
        ("library/python", "3.12-slim"),
        ("library/debian", "bookworm-slim"),
    ] {
        push_layout(&registry, &run, DEBIAN_TAG, repository, tag);
    }
    registry
}

/// A registry holding the Go, Ruby and PHP fixture images under hoist's default names: the
/// languages' build image as `golang:1.23`, `ruby:3.3` and `composer:2` (and as PHP's run image
/// `php:8.3-cli`),
/// Ruby's run image as `ruby:3.3-slim`, and [`world`]'s run image as `debian:bookworm-slim` (Go's).
fn lang_world() -> Registry {
    let registry = Registry::start();
    let (build, run) = lang_images();
    for (repository, tag) in [
        ("library/golang", "1.23"),
        ("library/ruby", "3.3"),
        ("library/composer", "2"),
        ("library/php", "8.3-cli"),
    ] {
        push_layout(&registry, &build, DEBIAN_TAG, repository, tag);
    }
    push_layout(&registry, &run, DEBIAN_TAG, "library/ruby", "3.3-slim");
    let (_, debian_run) = buildpack_images();
    push_layout(
        &registry,
        &debian_run,
        DEBIAN_TAG,
        "library/debian",
        "bookworm-slim",
    );
    registry
}

/// A registry holding the Java fixture images under hoist's default names: the build image (Maven
/// resolving from Debian's Maven repository) as `maven:3-eclipse-temurin-21`, the run image (the
/// JRE) as `eclipse-temurin:21-jre`.
fn java_world() -> Registry {
    let registry = Registry::start();
    let (build, run) = java_images();
    push_layout(
        &registry,
        &build,
        DEBIAN_TAG,
        "library/maven",
        "3-eclipse-temurin-21",
    );
    push_layout(
        &registry,
        &run,
        DEBIAN_TAG,
        "library/eclipse-temurin",
        "21-jre",
    );
    registry
}

/// `hoist build` of `fixtures/apps/<app>` (copied, so nothing is written into the source tree),
/// pushed as `HOST/<app>:v1`. Returns what was pushed (`HOST/<app>:v1@sha256:…`) and hoist's stderr.
fn build_app(
    registry: &Registry,
    sandbox: &Sandbox,
    app: &str,
    extra: &[&str],
) -> (String, String) {
    copy_app(sandbox, app);
    build_copied_app(registry, sandbox, app, extra)
}

/// `fixtures/apps/<app>` copied to the sandbox's `<app>`; returns the copy.
fn copy_app(sandbox: &Sandbox, app: &str) -> PathBuf {
    let dir = sandbox.path(app);
    crate::support::copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/apps")
            .join(app),
        &dir,
    );
    dir
}

/// [`build_app`] of the copy as it is now (changed by the test after an earlier build).
fn build_copied_app(
    registry: &Registry,
    sandbox: &Sandbox,
    app: &str,
    extra: &[&str],
) -> (String, String) {
    let dir = sandbox.path(app);
    let name = format!("{}/{app}:v1", registry.host());
    let run = hoist_run(
        sandbox
            .hoist_with_cache(&shared_cache())
            .args(mirror(registry))
            .args(["--name", &name, "--push", "--dir"])
            .arg(&dir)
            .arg("--cnb-dir")
            .arg(cnb_dir())
            .args(extra),
    )
    .ok();
    assert!(
        run.line().starts_with(&format!("{name}@sha256:")),
        "{}",
        run.stdout
    );
    (run.line().to_owned(), run.stderr)
}

/// Starts the image's `web` process in the RUN sandbox (no network but loopback, `PORT` set) and
/// fetches `/` with `client` (a command run in the image); returns what the server answered.
fn answer(registry: &Registry, sandbox: &Sandbox, image: &str, port: u16, client: &str) -> String {
    said(&probe(registry, sandbox, image, port, client, ""), "ANSWER")
}

/// What the probe printed as `KEY: value` (`[STAGE] KEY: value` in hoist's progress output, not the
/// step's own text, which holds the words too); panics with the whole output when it printed nothing.
fn said(output: &str, key: &str) -> String {
    output
        .lines()
        .find_map(|l| {
            l.split_once(&format!("] {key}: "))
                .map(|(_, a)| a.trim().to_string())
        })
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| panic!("the probe printed no {key}:\n{output}"))
}

/// The probe build of [`answer`], with `extra` shell commands run after; returns hoist's stderr.
fn probe(
    registry: &Registry,
    sandbox: &Sandbox,
    image: &str,
    port: u16,
    client: &str,
    extra: &str,
) -> String {
    let context = sandbox.path("probe");
    std::fs::create_dir_all(&context).unwrap();
    std::fs::write(
        context.join("Dockerfile"),
        format!(
            "FROM {image}\n\
             ENV PORT={port}\n\
             RUN --network=none /cnb/process/web > /tmp/server.log 2>&1 & \
                 for i in $(seq 1 100); do {client} > /tmp/answer 2>/dev/null && break; sleep 0.2; done; \
                 kill %1; echo \"ANSWER: $(cat /tmp/answer)\"; cat /tmp/server.log; {extra}\n"
        ),
    )
    .unwrap();
    hoist_run(
        sandbox
            .hoist_with_cache(&shared_cache())
            .args(mirror(registry))
            .arg("--no-cache")
            .arg("--dir")
            .arg(&context),
    )
    .ok()
    .stderr
}

const NODE_CLIENT: &str = "node -e 'require(\"http\").get(\"http://127.0.0.1:\"+process.env.PORT, r => { let b=\"\"; r.on(\"data\", d => b+=d); r.on(\"end\", () => { process.stdout.write(b); process.exit(r.statusCode === 200 ? 0 : 1) }) }).on(\"error\", () => process.exit(1))'";

const PYTHON_CLIENT: &str = "python3 -c 'import os,urllib.request; print(urllib.request.urlopen(\"http://127.0.0.1:\"+os.environ[\"PORT\"]).read().decode().strip())'";

/// busybox's `wget`, in every run image of these tests.
const WGET_CLIENT: &str = "busybox wget -qO- http://127.0.0.1:$PORT/";

/// `image` for skopeo's `docker://` (`NAME:TAG@DIGEST` as `NAME@DIGEST`: it takes one or the other).
fn docker(image: &str) -> String {
    match image.split_once('@') {
        Some((tagged, digest)) => {
            let name = tagged.rsplit_once(':').map_or(tagged, |(name, _)| name);
            format!("docker://{name}@{digest}")
        }
        None => format!("docker://{image}"),
    }
}

fn labels(image: &str) -> serde_json::Value {
    skopeo_inspect(&docker(image), Inspect::Info)["Labels"].clone()
}

#[test]
fn fixture_build_image_trusts_this_machines_ca_and_run_image_is_separate() {
    let (build, run) = buildpack_images();
    assert_ne!(build, run);
    let config = skopeo_inspect(
        &format!("oci:{}:{DEBIAN_TAG}", build.display()),
        Inspect::Config,
    );
    assert!(
        config.to_string().contains("NODE_EXTRA_CA_CERTS"),
        "{config}"
    );
}

#[test]
fn nodejs_app_is_built_with_npm_ci_and_answers_on_port() {
    let registry = world();
    let sandbox = Sandbox::new();
    let (image, stderr) = build_app(&registry, &sandbox, "nodejs-npm-real", &[]);
    assert!(stderr.contains("hoist/nodejs"), "{stderr}");
    let output = probe(
        &registry,
        &sandbox,
        &image,
        5123,
        NODE_CLIENT,
        "echo \"DEV: $(ls /workspace/node_modules | tr '\\n' ' ')\"",
    );
    assert_eq!(said(&output, "ANSWER"), "hello from node, 2m = 90000 ms");
    assert_eq!(
        said(&output, "DEV"),
        "ms",
        "npm ci installed the dependency, the dev dependency was pruned"
    );

    let labels = labels(&image);
    let build: serde_json::Value =
        serde_json::from_str(labels["io.buildpacks.build.metadata"].as_str().unwrap()).unwrap();
    assert_eq!(build["buildpacks"][0]["id"], "hoist/nodejs", "{build}");
    assert!(
        build["processes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["type"] == "web"),
        "{build}"
    );
    let lifecycle: serde_json::Value =
        serde_json::from_str(labels["io.buildpacks.lifecycle.metadata"].as_str().unwrap()).unwrap();
    assert!(
        lifecycle["app"][0]["sha"]
            .as_str()
            .is_some_and(|s| s.starts_with("sha256:")),
        "{lifecycle}"
    );
    let config = skopeo_inspect(&docker(&image), Inspect::Config);
    assert_eq!(config["config"]["User"], "1000:1000", "{config}");
    assert_eq!(
        config["config"]["Entrypoint"],
        serde_json::json!(["/cnb/process/web"])
    );

    // Unchanged app, second build: every step comes from the cache and the digest stays.
    let (again, stderr) = build_app(&registry, &sandbox, "nodejs-npm-real", &[]);
    assert_eq!(again, image);
    assert!(stderr.contains("CACHED"), "{stderr}");
}

#[test]
fn python_app_is_built_with_pip_and_its_procfile_web_answers() {
    let registry = world();
    let sandbox = Sandbox::new();
    let (image, stderr) = build_app(&registry, &sandbox, "python-pip-real", &[]);
    assert!(stderr.contains("hoist/python"), "{stderr}");
    let answer = answer(&registry, &sandbox, &image, 5124, PYTHON_CLIENT);
    assert_eq!(answer, "hello from python, six 1.17.0");
}

#[test]
fn procfile_only_app_runs_its_web_command() {
    let registry = world();
    let sandbox = Sandbox::new();
    let (image, stderr) = build_app(&registry, &sandbox, "procfile-only", &[]);
    assert!(stderr.contains("hoist/procfile"), "{stderr}");
    let answer = answer(&registry, &sandbox, &image, 5125, PYTHON_CLIENT);
    assert_eq!(
        answer,
        std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("fixtures/apps/procfile-only/public/index.html")
        )
        .unwrap()
        .trim()
    );
}

#[test]
fn go_app_with_a_vendored_module_is_built_offline_and_its_binary_answers() {
    let registry = lang_world();
    let sandbox = Sandbox::new();
    let (image, stderr) = build_app(&registry, &sandbox, "go-vendored-real", &[]);
    assert!(
        stderr.contains("$ go build -trimpath -mod=vendor -o /layers/hoist_go/app/bin/greeter ."),
        "{stderr}"
    );
    assert!(
        stderr.contains("cached layer `hoist_go/cache`"),
        "Go's build cache is kept: {stderr}"
    );
    let answer = answer(&registry, &sandbox, &image, 5126, WGET_CLIENT);
    assert_eq!(answer, "hello from go, greet v1.0.0 from vendor/");

    // Unchanged app, second build: the creator step comes from the cache, the digest stays.
    let (again, stderr) = build_app(&registry, &sandbox, "go-vendored-real", &[]);
    assert_eq!(again, image);
    assert!(stderr.contains("CACHED"), "{stderr}");
}

/// `--cache-repo` keeps the buildpacks' cache layers too: a runner with an empty disk builds an
/// unchanged app from the stored step result without downloading the cache, and a changed app starts
/// from the cache the last build left (restored into the cache mount, owned by the build user: the
/// lifecycle restores it and saves over it).
#[test]
fn cache_repo_keeps_the_buildpacks_cache_for_runners_without_a_disk() {
    let registry = lang_world();
    let sandbox = Sandbox::new();
    let app = copy_app(&sandbox, "go-vendored-real");
    let repo = format!("{}/cache/go", registry.host());
    let runner = |name: &str| {
        hoist_run(
            sandbox
                .hoist_with_cache(&sandbox.path(&format!("cache-{name}")))
                .args(mirror(&registry))
                .args(["--name", &format!("{}/go-app:v1", registry.host())])
                .args(["--cache-repo", &repo, "--dir"])
                .arg(&app)
                .arg("--cnb-dir")
                .arg(cnb_dir()),
        )
        .ok()
        .stderr
    };
    let restored = "restored the buildpacks' cache from";
    let first = runner("a");
    assert!(first.contains("cached layer `hoist_go/cache`"), "{first}");
    assert!(!first.contains(restored), "{first}");

    let unchanged = runner("b");
    assert!(unchanged.contains("CACHED"), "{unchanged}");
    assert!(
        !unchanged.contains(restored),
        "the step result is enough: {unchanged}"
    );

    std::fs::write(app.join("extra.go"), "package main\n\nconst extra = 1\n").unwrap();
    let changed = runner("c");
    assert!(changed.contains(restored), "{changed}");
    assert!(
        changed.contains("restored cache layer `hoist_go/cache`"),
        "the lifecycle found the restored cache: {changed}"
    );
    assert!(
        changed.contains("cached layer `hoist_go/cache`"),
        "{changed}"
    );
}

#[test]
fn ruby_app_is_bundle_installed_and_its_procfile_web_answers() {
    let registry = lang_world();
    let sandbox = Sandbox::new();
    let (image, stderr) = build_app(&registry, &sandbox, "ruby-bundler-real", &[]);
    assert!(stderr.contains("$ bundle install"), "{stderr}");
    assert!(stderr.contains("Bundle complete!"), "{stderr}");
    assert!(
        stderr.contains("Bundled gems are installed into `/layers/hoist_ruby/gems`"),
        "{stderr}"
    );
    let answer = answer(&registry, &sandbox, &image, 5127, WGET_CLIENT);
    assert_eq!(answer, "hello from ruby, bundler bundled");
}

#[test]
fn php_app_is_composer_installed_and_its_procfile_web_answers() {
    let registry = lang_world();
    let sandbox = Sandbox::new();
    let (image, stderr) = build_app(&registry, &sandbox, "php-composer-real", &[]);
    assert!(stderr.contains("$ composer install --no-dev"), "{stderr}");
    assert!(
        stderr.contains("Verifying lock file contents can be installed on current platform."),
        "{stderr}"
    );
    assert!(
        stderr.contains("Generating optimized autoload files"),
        "{stderr}"
    );
    let answer = answer(&registry, &sandbox, &image, 5128, WGET_CLIENT);
    assert_eq!(answer, "hello from php, Greeting autoloaded by composer");
}

#[test]
fn java_maven_app_is_packaged_offline_and_its_jar_answers() {
    let registry = java_world();
    let sandbox = Sandbox::new();
    let (image, stderr) = build_app(&registry, &sandbox, "java-maven-real", &[]);
    assert!(
        stderr.contains(
            "$ mvn --batch-mode -DskipTests \
             -Dmaven.repo.local=/layers/hoist_java/cache/repository \
             -Dproject.build.outputTimestamp=1980-01-01T00:00:02Z package"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "Downloaded from debian: file:///usr/share/maven-repo/org/apache/maven/plugins/\
             maven-jar-plugin/3.3.0/maven-jar-plugin-3.3.0.jar"
        ),
        "Maven resolves its plugins through the build image's mirror: {stderr}"
    );
    assert!(
        stderr.contains("Building jar: /workspace/target/greeter-1.0.jar"),
        "{stderr}"
    );
    assert!(
        stderr.contains("cached layer `hoist_java/cache`"),
        "the Maven repository is kept: {stderr}"
    );
    let output = probe(
        &registry,
        &sandbox,
        &image,
        5129,
        WGET_CLIENT,
        "echo \"MAVEN: $(find / -path /proc -prune -o -name 'maven-jar-plugin*' -print 2>/dev/null | wc -l) \
         $(test -e /layers/hoist_java/cache && echo cache || echo no-cache)\"",
    );
    assert_eq!(
        said(&output, "ANSWER"),
        "hello from java, greeter 1.0 from the jar's manifest"
    );
    assert_eq!(
        said(&output, "MAVEN"),
        "0 no-cache",
        "the Maven repository is not in the image"
    );
    let build: serde_json::Value = serde_json::from_str(
        labels(&image)["io.buildpacks.build.metadata"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(build["buildpacks"][0]["id"], "hoist/java", "{build}");

    // Unchanged app, second build: every step comes from the cache, Maven does not run, the
    // digest stays.
    let (again, stderr) = build_app(&registry, &sandbox, "java-maven-real", &[]);
    assert_eq!(again, image);
    assert!(stderr.contains("CACHED"), "{stderr}");
    assert!(!stderr.contains("$ mvn"), "{stderr}");
    // Built again from nothing: Maven runs, and the jar (fixed entry times) and so the image are
    // the same.
    let (rebuilt, stderr) =
        build_copied_app(&registry, &sandbox, "java-maven-real", &["--no-cache"]);
    assert!(stderr.contains("$ mvn"), "{stderr}");
    assert_eq!(rebuilt, image, "a Maven build is reproducible");

    // A new version: Maven runs again on the repository restored from the cache layer, so it
    // downloads nothing, and the new jar is the web process — not the old one a developer's
    // build left in the app's `target/`.
    let target = sandbox.path("java-maven-real/target");
    std::fs::create_dir_all(&target).unwrap();
    std::fs::write(target.join("greeter-1.0.jar"), "a stale jar").unwrap();
    let pom = sandbox.path("java-maven-real/pom.xml");
    let text = std::fs::read_to_string(&pom).unwrap();
    let bumped = text.replacen("<version>1.0</version>", "<version>1.1</version>", 1);
    assert_ne!(bumped, text);
    std::fs::write(&pom, bumped).unwrap();
    let (changed, stderr) = build_copied_app(&registry, &sandbox, "java-maven-real", &[]);
    assert!(
        stderr.contains("restored cache layer `hoist_java/cache`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("Building jar: /workspace/target/greeter-1.1.jar"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("Downloaded from"),
        "the cached repository had every plugin: {stderr}"
    );
    let answer = answer(&registry, &sandbox, &changed, 5130, WGET_CLIENT);
    assert_eq!(
        answer,
        "hello from java, greeter 1.1 from the jar's manifest"
    );
}

#[test]
fn env_values_reach_the_build_but_not_the_image() {
    let registry = world();
    let sandbox = Sandbox::new();
    let secret = "build-time-only-value-4711";
    let (image, _) = build_app(
        &registry,
        &sandbox,
        "procfile-only",
        &[
            "--buildpack",
            "hoist/procfile",
            "--env",
            &format!("HOIST_TEST_VALUE={secret}"),
        ],
    );
    let config = skopeo_inspect(&docker(&image), Inspect::Config);
    assert!(!config.to_string().contains(secret), "{config}");
    let layout = sandbox.path("layout");
    run_ok(
        Command::new("skopeo")
            .args(["copy", "--quiet", "--src-tls-verify=false"])
            .arg(docker(&image))
            .arg(format!("oci:{}:v1", layout.display())),
    );
    let out = crate::support::umoci_unpack(&layout, "v1", &sandbox.path("unpacked"));
    let found = Command::new("grep")
        .args(["-r", "-l", secret])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        found.stdout.is_empty(),
        "the --env value is in the image: {}",
        String::from_utf8_lossy(&found.stdout)
    );
}

#[test]
fn no_lifecycle_directory_is_a_clear_error() {
    let sandbox = Sandbox::new();
    let dir = copy_app(&sandbox, "procfile-only");
    let run = hoist_run(
        sandbox
            .hoist()
            .arg("--dir")
            .arg(&dir)
            .args(["--buildpack", "procfile", "--cnb-dir"])
            .arg(sandbox.path("nowhere")),
    )
    .failed();
    assert!(
        run.stderr.contains("buildpacks/package.sh"),
        "{}",
        run.stderr
    );
}

/// The whole buildpack build as a user who is not root (`hoist-test`, with subordinate ids, as on a
/// developer's machine or in a rootless CI container): the app is copied in and the lifecycle runs as
/// 1000:1000 inside hoist's user namespace, and the image answers as a build by root does.
#[test]
fn go_app_builds_rootless_as_a_user_with_subordinate_ids() {
    let registry = lang_world();
    let user = TestUser::get(SUBID_USER);
    let sandbox = user.sandbox();
    let app = copy_app(&sandbox, "go-vendored-real");
    // A copy the user can surely read (the checkout may be under a private home).
    let cnb = sandbox.path("cnb");
    crate::support::copy_tree(&cnb_dir(), &cnb);
    let name = format!("{}/go-rootless:v1", registry.host());
    let run = hoist_run(
        user.hoist(&sandbox)
            .args(mirror(&registry))
            .args(["--name", &name, "--push", "--dir"])
            .arg(&app)
            .arg("--cnb-dir")
            .arg(&cnb),
    )
    .ok();
    assert!(
        run.stderr
            .contains("$ go build -trimpath -mod=vendor -o /layers/hoist_go/app/bin/greeter ."),
        "{}",
        run.stderr
    );
    let answer = answer(&registry, &Sandbox::new(), &name, 5127, WGET_CLIENT);
    assert_eq!(answer, "hello from go, greet v1.0.0 from vendor/");
}
