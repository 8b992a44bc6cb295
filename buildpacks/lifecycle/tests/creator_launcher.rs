//! The lifecycle as hoist runs it, on real apps with real tools: `buildpacks/package.sh` builds the
//! static lifecycle and buildpacks (what ships), `creator` detects and builds a fixture app copied to a
//! temporary directory with the default order (`buildpacks/order.toml`) — `npm ci` and `pip install`
//! reach their registries for real — and the `web` process, started through a `process/web` link to
//! the launcher with `PORT` set, must answer HTTP. Every path is given by flag or variable.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The packaged `/cnb`, built once per test run.
fn cnb() -> &'static Path {
    static CNB: OnceLock<PathBuf> = OnceLock::new();
    CNB.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cnb");
        let status = Command::new(root.join("buildpacks/package.sh"))
            .arg(&out)
            .stdout(Stdio::null())
            .status()
            .expect("run buildpacks/package.sh");
        assert!(status.success(), "buildpacks/package.sh failed: {status}");
        out
    })
}

/// A build's directories, in one temporary directory.
struct Build {
    root: tempfile::TempDir,
}

impl Build {
    /// A copy of `fixtures/apps/<name>` to build.
    fn of(name: &str) -> Self {
        let root = tempfile::tempdir().unwrap();
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/apps")
            .join(name);
        copy_dir(&fixture, &root.path().join("workspace"));
        for dir in ["layers", "platform/env", "cache"] {
            std::fs::create_dir_all(root.path().join(dir)).unwrap();
        }
        Build { root }
    }

    fn path(&self, sub: &str) -> PathBuf {
        self.root.path().join(sub)
    }

    fn creator(&self) -> Output {
        let cnb = cnb();
        let output = Command::new(cnb.join("lifecycle/creator"))
            .arg("-order")
            .arg(cnb.join("order.toml"))
            .arg("-buildpacks")
            .arg(cnb.join("buildpacks"))
            .arg("-app")
            .arg(self.path("workspace"))
            .arg("-layers")
            .arg(self.path("layers"))
            .arg("-platform")
            .arg(self.path("platform"))
            .arg("-cache-dir")
            .arg(self.path("cache"))
            .output()
            .expect("run creator");
        eprintln!(
            "--- creator stdout\n{}--- creator stderr\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    fn built(&self) -> String {
        let output = self.creator();
        assert!(output.status.success(), "creator failed: {}", output.status);
        String::from_utf8(output.stdout).unwrap()
    }

    /// The launcher as the image runs it: `<dir>/process/<kind>` linked to it.
    fn launcher(&self, kind: &str) -> Command {
        let link = self.path("process").join(kind);
        std::fs::create_dir_all(link.parent().unwrap()).unwrap();
        if !link.exists() {
            std::os::unix::fs::symlink(cnb().join("lifecycle/launcher"), &link).unwrap();
        }
        let mut command = Command::new(link);
        command
            .env("CNB_LAYERS_DIR", self.path("layers"))
            .env("CNB_APP_DIR", self.path("workspace"));
        command
    }

    fn read(&self, sub: &str) -> String {
        std::fs::read_to_string(self.path(sub)).unwrap_or_else(|e| panic!("{sub}: {e}"))
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Panics, naming the Debian package, when a tool the build runs is missing (hoist's tests never
/// skip: `.ci/run` installs what they need).
fn require(command: &[&str], package: &str) {
    let ok = Command::new(command[0])
        .args(&command[1..])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "`{}` does not work on this machine: install the Debian package `{package}`",
        command.join(" ")
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A started web process, killed with its process group when dropped.
struct Server(Child);

impl Server {
    fn start(mut command: Command, port: u16) -> Self {
        use std::os::unix::process::CommandExt;
        command.env("PORT", port.to_string()).process_group(0);
        Server(command.spawn().expect("start the web process"))
    }

    /// The body of `GET /`, waiting up to a minute for the server to listen.
    fn get(&mut self, port: u16) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.0.try_wait().unwrap() {
                panic!("the web process exited before answering: {status}");
            }
            if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) {
                stream
                    .write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
                    .unwrap();
                let mut response = String::new();
                stream.read_to_string(&mut response).unwrap();
                return response;
            }
            assert!(Instant::now() < deadline, "nothing listens on port {port}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // The whole group: `npm start` runs node as a child of its own.
        let _ = Command::new("kill")
            .args(["-s", "TERM", "--", &format!("-{}", self.0.id())])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.0.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn node_app_npm_ci_without_dev_dependencies_serves_on_port() {
    require(&["node", "--version"], "nodejs");
    require(&["npm", "--version"], "npm");
    let build = Build::of("nodejs-npm-real");
    let stdout = build.built();
    assert!(stdout.contains("hoist/nodejs@0.1.0: pass"), "{stdout}");
    assert!(stdout.contains("group: hoist/nodejs@0.1.0\n"), "{stdout}");
    assert!(
        build
            .path("workspace/node_modules/ms/package.json")
            .is_file()
    );
    assert!(
        !build.path("workspace/node_modules/is-number").exists(),
        "the dev dependency was shipped"
    );
    // npm's download cache went to the cache, not to the image.
    assert!(!build.path("layers/hoist_nodejs/cache").exists());
    assert!(build.path("cache/hoist_nodejs/cache").is_dir());
    let metadata = build.read("layers/config/metadata.toml");
    assert!(
        metadata.contains("command = [\"sh\", \"-c\", \"npm start\"]"),
        "{metadata}"
    );
    assert!(
        metadata.contains("buildpack-id = \"hoist/nodejs\""),
        "{metadata}"
    );
    let group = build.read("layers/group.toml");
    assert!(
        group.contains("id = \"hoist/nodejs\"") && group.contains("api = \"0.10\""),
        "{group}"
    );

    let port = free_port();
    let mut server = Server::start(build.launcher("web"), port);
    let response = server.get(port);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(
        response.ends_with("hello from node, 2m = 90000 ms\n"),
        "{response}"
    );
    drop(server);

    // A second build starts from the cached npm downloads.
    let stdout = build.built();
    assert!(
        stdout.contains("restored cache layer `hoist_nodejs/cache`"),
        "{stdout}"
    );
}

#[test]
fn python_app_pip_installs_into_a_launch_layer_and_serves_on_port() {
    require(&["python3", "-c", "import ensurepip, venv"], "python3-venv");
    let build = Build::of("python-pip-real");
    let stdout = build.built();
    assert!(
        stdout.contains("group: hoist/python@0.1.0, hoist/procfile@0.1.0\n"),
        "{stdout}"
    );
    let venv = build.path("layers/hoist_python/venv");
    assert!(venv.join("bin/python3").exists());
    assert!(!build.path("layers/hoist_python/cache").exists());
    let launch_layers = build.read("layers/config/launch-layers.toml");
    assert_eq!(
        launch_layers,
        format!(
            "[[layers]]\nbuildpack = \"hoist/python\"\nname = \"venv\"\npath = \"{}\"\n",
            venv.display()
        )
    );
    let metadata = build.read("layers/config/metadata.toml");
    assert!(
        metadata.contains("buildpack-id = \"hoist/procfile\""),
        "{metadata}"
    );

    // A command of the user's runs in the launch environment: the venv first on PATH.
    let output = build
        .launcher("launcher")
        .args([
            "--",
            "python3",
            "-c",
            "import os, six; print(six.__version__, os.environ['VIRTUAL_ENV'])",
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        format!("1.17.0 {}\n", venv.display()),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let port = free_port();
    let mut server = Server::start(build.launcher("web"), port);
    let response = server.get(port);
    assert!(
        response.ends_with("hello from python, six 1.17.0\n"),
        "{response}"
    );
}

#[test]
fn procfile_only_app_is_built_by_the_last_group_and_serves_on_port() {
    require(&["busybox", "true"], "busybox-static");
    let build = Build::of("procfile-only");
    let stdout = build.built();
    assert!(stdout.contains("group: hoist/procfile@0.1.0\n"), "{stdout}");
    let port = free_port();
    let mut server = Server::start(build.launcher("web"), port);
    let response = server.get(port);
    assert!(
        response.ends_with("hello from busybox httpd\n"),
        "{response}"
    );
}

#[test]
fn an_app_nothing_detects_exits_20_and_says_so() {
    let build = Build::of("empty");
    let output = build.creator();
    assert_eq!(output.status.code(), Some(20));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no buildpack group passed detection"),
        "{stderr}"
    );
}

#[test]
fn an_unknown_process_type_is_an_error_naming_the_types() {
    require(&["busybox", "true"], "busybox-static");
    let build = Build::of("procfile-only");
    build.built();
    let output = build.launcher("worker").output().unwrap();
    assert_eq!(output.status.code(), Some(82));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no `worker` process") && stderr.contains("`web`"),
        "{stderr}"
    );
}
