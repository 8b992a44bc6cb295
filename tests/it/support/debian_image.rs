//! Real distributions for RUN and buildpack tests, each a [`Recipe`]: Debian 13 (trixie), `minbase`
//! plus some packages, built with `mmdebstrap` from the Debian mirror apt uses here, and wrapped as a
//! one-layer linux/amd64 OCI image. [`debian_layout`]: `python3` and `python3-pip` (so a RUN step can
//! `pip install` from PyPI), tagged `13` (config: `PATH`, `Cmd ["bash"]`). [`buildpack_images`]: a
//! build image (Node.js with npm, Python with venv and pip, and this machine's CA bundle so the
//! package managers reach their registries through its proxy) and a run image (Node.js with npm,
//! Python, busybox). [`lang_images`]: the same pair for Go, Ruby and PHP (Debian's `golang-go`,
//! `ruby` with `ruby-bundler`, `php-cli` with `composer`, busybox; the run image Ruby and busybox).
//! [`java_images`]: the pair for Java (OpenJDK 21 with Maven 3.9 and the Maven plugins Debian
//! packages, Maven told by its global settings to resolve everything from Debian's
//! `/usr/share/maven-repo`; the run image OpenJDK 21's runtime and busybox). A recipe's own
//! [`Hook`]s (a directory made before the packages are installed, a file written after) add to its
//! command line only, so recipes without them keep their cache keys.
//!
//! Cached under `~/.cache/hoist-fixtures/<name>-<hash of recipe>/` (the recipe: the mmdebstrap
//! command line, its `SOURCE_DATE_EPOCH`, the config, the CA bundle's digest when it is copied in, and
//! [`RECIPE_VERSION`]); the first build takes a minute or two on 2 cores (the Go/Ruby/PHP build
//! image about four: 145 MB compressed, Go's toolchain most of it; the Java build image under
//! three: 210 MB, the JDK most of it), later calls only look at the cache.
//!
//! The layer is rewritten from mmdebstrap's tar: same order, paths without `./`, owners, modes and
//! link targets kept, mtimes clamped to 0 by mmdebstrap (`SOURCE_DATE_EPOCH=0`; Debian's Python byte
//! code is hash-checked then, so Python does not rewrite it), everything under `dev/` dropped (device
//! nodes, as in Docker's Debian images: the runtime provides `/dev`). `/etc/hostname` and
//! `/etc/resolv.conf` are left empty (mmdebstrap copies the host's): the RUN sandbox provides them.
//! pip refuses to install into the system Python (PEP 668) unless told `--break-system-packages` or
//! `PIP_BREAK_SYSTEM_PACKAGES=1`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Instant;

use serde_json::json;

use super::oci::{LayoutWriter, PATH_ENV, cached_dir, push_layout, tar_header};
use super::{Registry, Sandbox, require_tool, run_ok};

/// Bump when the recipe changes in a way the mmdebstrap command line does not show.
pub const RECIPE_VERSION: &str = "debian-13 layout v1";

/// The tag of the image in its layout, and in the registry (`library/debian:13`).
pub const DEBIAN_TAG: &str = "13";

/// The packages on top of `minbase`.
pub const PACKAGES: &[&str] = &["python3", "python3-pip"];

/// What one fixture image is made of.
#[derive(Clone, Debug)]
pub struct Recipe {
    /// The cache directory's name and the layer's description.
    pub name: &'static str,
    pub packages: &'static [&'static str],
    /// Extra `Env` entries of the image config (after `PATH`).
    pub env: &'static [&'static str],
    /// Copy this machine's CA bundle ([`super::host_ca_bundle`]) in as the image's.
    pub host_ca: bool,
    /// This image's own mmdebstrap hooks, after the shared ones; empty in most recipes, which adds
    /// nothing to their command line (so their cache keys stay).
    pub hooks: &'static [Hook],
}

/// A recipe's own step of the mmdebstrap run.
#[derive(Clone, Copy, Debug)]
pub enum Hook {
    /// `--essential-hook=COMMAND`: a shell command on the root (`$1`) once the essential packages
    /// are in, before the included ones are installed.
    Essential(&'static str),
    /// A file written (`--customize-hook`) once every package is installed, replacing the package's;
    /// `contents` holds no `'`.
    File {
        path: &'static str,
        contents: &'static str,
    },
}

impl Hook {
    /// mmdebstrap's argument.
    fn arg(&self) -> String {
        match self {
            Hook::Essential(command) => format!("--essential-hook={command}"),
            Hook::File { path, contents } => {
                assert!(!contents.contains('\''), "{path}: the contents hold a `'`");
                format!("--customize-hook=printf '%s' '{contents}' > \"$1{path}\"")
            }
        }
    }
}

/// OpenJDK's packages register `java` and its tools with update-alternatives together with their
/// manual pages (`/usr/share/man/man1/java.1.gz`), whose directory the recipes leave out
/// (`path-exclude=/usr/share/man/*`): without it their `postinst` fails.
const MAN1_FOR_ALTERNATIVES: Hook = Hook::Essential("mkdir -p \"$1/usr/share/man/man1\"");

/// The image of [`debian_layout`].
pub const DEBIAN: Recipe = Recipe {
    name: "debian-13",
    packages: PACKAGES,
    env: &[],
    host_ca: false,
    hooks: &[],
};

/// The build image of the buildpack tests (pushed as `node:22-bookworm`, `python:3.12`, ...).
pub const BUILDPACK_BUILD: Recipe = Recipe {
    name: "cnb-build-13",
    packages: &[
        "nodejs",
        "npm",
        "python3",
        "python3-venv",
        "python3-pip",
        "ca-certificates",
    ],
    env: &[
        "NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt",
        "PIP_CERT=/etc/ssl/certs/ca-certificates.crt",
    ],
    host_ca: true,
    hooks: &[],
};

/// The run image of the buildpack tests (pushed as `node:22-bookworm-slim`, `python:3.12-slim`, ...):
/// like the official slim images, Node.js comes with npm (`npm start` is a Node.js app's default
/// web process); busybox serves the Procfile-only fixture app.
pub const BUILDPACK_RUN: Recipe = Recipe {
    name: "cnb-run-13",
    packages: &["nodejs", "npm", "python3", "busybox"],
    env: &[],
    host_ca: false,
    hooks: &[],
};

/// The cached layouts of the buildpack tests' build and run images, tag [`DEBIAN_TAG`].
pub fn buildpack_images() -> (PathBuf, PathBuf) {
    static LAYOUTS: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    LAYOUTS
        .get_or_init(|| {
            (
                build_or_reuse(&BUILDPACK_BUILD),
                build_or_reuse(&BUILDPACK_RUN),
            )
        })
        .clone()
}

/// The build image of the Go, Ruby and PHP buildpack tests (pushed as `golang:1.23`, `ruby:3.3`,
/// `composer:2`, and as PHP's run image `php:8.3-cli`): Debian's Go (1.24), Ruby with Bundler, PHP with Composer, busybox (`wget` for the
/// probes) and this machine's CA bundle. Composer and Bundler are told where it is.
pub const LANG_BUILD: Recipe = Recipe {
    name: "cnb-lang-build-13",
    packages: &[
        "golang-go",
        "ruby",
        "ruby-bundler",
        "php-cli",
        "composer",
        "ca-certificates",
        "busybox",
    ],
    env: &[
        "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
        "COMPOSER_CAFILE=/etc/ssl/certs/ca-certificates.crt",
    ],
    host_ca: true,
    hooks: &[],
};

/// The run image of the Ruby buildpack tests (pushed as `ruby:3.3-slim`): Ruby and busybox. PHP's
/// run image (`php:8.3-cli`) is the build image, Go's (`debian:bookworm-slim`)
/// is [`BUILDPACK_RUN`].
pub const LANG_RUN: Recipe = Recipe {
    name: "cnb-lang-run-13",
    packages: &["ruby", "busybox"],
    env: &[],
    host_ca: false,
    hooks: &[],
};

/// The cached layouts of [`LANG_BUILD`] and [`LANG_RUN`], tag [`DEBIAN_TAG`].
pub fn lang_images() -> (PathBuf, PathBuf) {
    static LAYOUTS: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    LAYOUTS
        .get_or_init(|| (build_or_reuse(&LANG_BUILD), build_or_reuse(&LANG_RUN)))
        .clone()
}

/// Maven's global settings in [`JAVA_BUILD`] (Debian's `/etc/maven/settings.xml`, which
/// `/usr/share/maven/conf` links to), the way a company image points Maven at its internal mirror:
/// every repository is mirrored by Debian's Maven repository, `/usr/share/maven-repo`, where the
/// `lib*-java` packages put their jars and POMs (Maven Central is out of reach here). That
/// repository has no checksum files, so `central`'s checksum policy (which the mirror takes) is
/// `ignore`: Maven's default, `warn`, prints a stack trace for every file.
pub const MAVEN_SETTINGS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<settings xmlns="http://maven.apache.org/SETTINGS/1.2.0">
  <mirrors>
    <mirror>
      <id>debian</id>
      <name>Debian packages: /usr/share/maven-repo</name>
      <url>file:///usr/share/maven-repo</url>
      <mirrorOf>*</mirrorOf>
    </mirror>
  </mirrors>
  <profiles>
    <profile>
      <id>debian-repository-has-no-checksums</id>
      <repositories>
        <repository>
          <id>central</id>
          <url>https://repo.maven.apache.org/maven2</url>
          <releases><checksumPolicy>ignore</checksumPolicy></releases>
          <snapshots><enabled>false</enabled></snapshots>
        </repository>
      </repositories>
      <pluginRepositories>
        <pluginRepository>
          <id>central</id>
          <url>https://repo.maven.apache.org/maven2</url>
          <releases><checksumPolicy>ignore</checksumPolicy></releases>
          <snapshots><enabled>false</enabled></snapshots>
        </pluginRepository>
      </pluginRepositories>
    </profile>
  </profiles>
  <activeProfiles>
    <activeProfile>debian-repository-has-no-checksums</activeProfile>
  </activeProfiles>
</settings>
"#;

/// The build image of the Java buildpack test (pushed as `maven:3-eclipse-temurin-21`): Debian's
/// OpenJDK 21 and Maven 3.9, the Maven plugins a jar's `package` runs from Debian's packages
/// (resources 3.3.1, compiler 3.13.0, surefire 2.22.3, jar 3.3.0; their dependencies come with
/// them), [`MAVEN_SETTINGS`], and busybox.
pub const JAVA_BUILD: Recipe = Recipe {
    name: "cnb-java-build-13",
    packages: &[
        "openjdk-21-jdk-headless",
        "maven",
        "libmaven-resources-plugin-java",
        "libmaven-compiler-plugin-java",
        "libsurefire-java",
        "libmaven-jar-plugin-java",
        "busybox",
    ],
    env: &[],
    host_ca: false,
    hooks: &[
        MAN1_FOR_ALTERNATIVES,
        Hook::File {
            path: "/etc/maven/settings.xml",
            contents: MAVEN_SETTINGS,
        },
    ],
};

/// The run image of the Java buildpack test (pushed as `eclipse-temurin:21-jre`): Debian's
/// OpenJDK 21 runtime and busybox (`wget` for the probe).
pub const JAVA_RUN: Recipe = Recipe {
    name: "cnb-java-run-13",
    packages: &["openjdk-21-jre-headless", "busybox"],
    env: &[],
    host_ca: false,
    hooks: &[MAN1_FOR_ALTERNATIVES],
};

/// The cached layouts of [`JAVA_BUILD`] and [`JAVA_RUN`], tag [`DEBIAN_TAG`].
pub fn java_images() -> (PathBuf, PathBuf) {
    static LAYOUTS: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    LAYOUTS
        .get_or_init(|| (build_or_reuse(&JAVA_BUILD), build_or_reuse(&JAVA_RUN)))
        .clone()
}

/// Used when no Debian mirror is found in apt's sources.
const DEFAULT_MIRROR: &str = "http://deb.debian.org/debian";

/// The cached OCI layout of the Debian 13 image, tag [`DEBIAN_TAG`]; built once per machine (per
/// recipe). Panics, naming the package, when `mmdebstrap` is missing.
pub fn debian_layout() -> PathBuf {
    static LAYOUT: OnceLock<PathBuf> = OnceLock::new();
    LAYOUT.get_or_init(|| build_or_reuse(&DEBIAN)).clone()
}

/// Pushes the Debian image into `registry` as `library/debian:13` (what `FROM debian:13` resolves to
/// through `--registry-mirror docker.io=HOST`). Returns `HOST/library/debian:13`.
pub fn seed_debian(registry: &Registry) -> String {
    push_layout(
        registry,
        &debian_layout(),
        DEBIAN_TAG,
        "library/debian",
        DEBIAN_TAG,
    )
}

/// A registry seeded with `library/debian:13` and a sandbox, for tests whose Dockerfile says
/// `FROM debian:13`; pass [`super::mirror`] to hoist.
pub fn debian_world() -> (Registry, Sandbox) {
    let registry = Registry::start();
    seed_debian(&registry);
    (registry, Sandbox::new())
}

/// The Debian mirror apt uses here: the first `URIs:` (deb822) or `deb` line URI in
/// `/etc/apt/sources.list{,.d/*}` whose path ends in `/debian`; `HOIST_DEBIAN_MIRROR` overrides it.
pub fn debian_mirror() -> String {
    if let Some(mirror) = std::env::var_os("HOIST_DEBIAN_MIRROR") {
        return mirror.to_string_lossy().into_owned();
    }
    let mut files = vec![PathBuf::from("/etc/apt/sources.list")];
    if let Ok(dir) = std::fs::read_dir("/etc/apt/sources.list.d") {
        let mut more: Vec<PathBuf> = dir.flatten().map(|e| e.path()).collect();
        more.sort();
        files.extend(more);
    }
    let is_debian =
        |uri: &&str| uri.contains("://") && uri.trim_end_matches('/').ends_with("/debian");
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        for line in text.lines().map(str::trim) {
            let uris: Vec<&str> = if let Some(rest) = line.strip_prefix("URIs:") {
                rest.split_whitespace().collect()
            } else if let Some(rest) = line.strip_prefix("deb ") {
                // `deb [options] URI suite components`: skip a bracketed option list.
                let rest = match rest.trim_start().strip_prefix('[') {
                    Some(opts) => opts.split_once(']').map_or("", |(_, r)| r),
                    None => rest,
                };
                rest.split_whitespace().take(1).collect()
            } else {
                Vec::new()
            };
            if let Some(uri) = uris.into_iter().find(is_debian) {
                return uri.trim_end_matches('/').to_string();
            }
        }
    }
    DEFAULT_MIRROR.to_string()
}

/// mmdebstrap's arguments, before the output path and the mirror.
fn mmdebstrap_args(recipe: &Recipe) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "--variant=minbase".into(),
        format!("--include={}", recipe.packages.join(",")),
        "--aptopt=Acquire::Languages \"none\"".into(),
    ];
    // Slim like Docker's images: no manuals, docs (but copyrights) or translations.
    for path in [
        "path-exclude=/usr/share/man/*",
        "path-exclude=/usr/share/info/*",
        "path-exclude=/usr/share/locale/*",
        "path-exclude=/usr/share/doc/*",
        "path-include=/usr/share/doc/*/copyright",
    ] {
        args.push(format!("--dpkgopt={path}"));
    }
    args.push(
        "--customize-hook=: > \"$1/etc/hostname\"; : > \"$1/etc/resolv.conf\"; \
         chmod 0644 \"$1/etc/hostname\" \"$1/etc/resolv.conf\""
            .into(),
    );
    if recipe.host_ca {
        args.push(format!(
            "--customize-hook=cp '{}' \"$1/etc/ssl/certs/ca-certificates.crt\"",
            super::host_ca_bundle().display()
        ));
    }
    args.extend(recipe.hooks.iter().map(Hook::arg));
    args.push("trixie".into());
    args
}

fn build_or_reuse(image: &Recipe) -> PathBuf {
    let mmdebstrap = require_tool("mmdebstrap", "mmdebstrap");
    let mirror = debian_mirror();
    let args = mmdebstrap_args(image);
    let mut recipe = format!(
        "{RECIPE_VERSION}\nSOURCE_DATE_EPOCH=0\nmmdebstrap {} OUT.tar {mirror}\n",
        args.join(" ")
    );
    if image.name != DEBIAN.name {
        recipe.push_str(&format!("env {:?}\n", image.env));
    }
    if image.host_ca {
        let ca = std::fs::read(super::host_ca_bundle()).unwrap();
        recipe.push_str(&format!("ca {}\n", super::sha256_hex(&ca)));
    }
    cached_dir(image.name, &recipe, |dir| {
        let started = Instant::now();
        let rootfs_tar = dir.join("rootfs.tar");
        let out = Command::new(&mmdebstrap)
            .args(&args)
            .arg(&rootfs_tar)
            .arg(&mirror)
            .env("SOURCE_DATE_EPOCH", "0")
            .output()
            .unwrap_or_else(|e| panic!("cannot run mmdebstrap: {e}"));
        assert!(
            out.status.success(),
            "mmdebstrap failed ({}); recipe:\n{recipe}\nstderr:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let debootstrapped = started.elapsed();
        write_layout(dir, &rootfs_tar, image);
        std::fs::remove_file(&rootfs_tar).unwrap();
        // A second reader checks the layout before it enters the cache.
        run_ok(
            Command::new(require_tool("skopeo", "skopeo"))
                .arg("inspect")
                .arg(format!("oci:{}:{DEBIAN_TAG}", dir.display())),
        );
        eprintln!(
            "built the {} fixture in {:.1}s (mmdebstrap {:.1}s) at {}",
            image.name,
            started.elapsed().as_secs_f64(),
            debootstrapped.as_secs_f64(),
            dir.display()
        );
    })
}

/// Writes the layout: one layer rewritten from `rootfs_tar`, tag [`DEBIAN_TAG`].
fn write_layout(dir: &Path, rootfs_tar: &Path, image: &Recipe) {
    let mut writer = LayoutWriter::new(dir);
    let layer = writer.stream_layer(
        &format!(
            "hoist test fixture: mmdebstrap --variant=minbase trixie ({})",
            image.packages.join(", ")
        ),
        |out| rewrite_layer(rootfs_tar, out),
    );
    let mut env = vec![PATH_ENV];
    env.extend(image.env);
    writer.image(DEBIAN_TAG, &[layer], json!({ "Env": env, "Cmd": ["bash"] }));
    writer.finish();
}

/// Copies mmdebstrap's tar into `out` as a layer: `./` stripped from paths and hardlink targets,
/// the root entry and everything under `dev/` dropped, headers rebuilt as ustar (GNU long names where
/// needed) with kind, mode, owner, mtime and link target. Extended attributes are not carried.
fn rewrite_layer(rootfs_tar: &Path, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let strip = |p: &str| p.trim_start_matches("./").trim_end_matches('/').to_string();
    let file = std::io::BufReader::new(std::fs::File::open(rootfs_tar)?);
    let mut archive = tar::Archive::new(file);
    let mut layer = tar::Builder::new(out);
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = strip(&entry.path()?.to_string_lossy());
        if path.is_empty() || path.starts_with("dev/") {
            continue;
        }
        let source = entry.header().clone();
        let kind = source.entry_type();
        let mut h = tar_header(kind, source.mode()?, 0);
        h.set_uid(source.uid()?);
        h.set_gid(source.gid()?);
        h.set_mtime(source.mtime()?);
        match kind {
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(entry.size());
                layer.append_data(&mut h, &path, &mut entry)?;
            }
            tar::EntryType::Directory => {
                layer.append_data(&mut h, format!("{path}/"), std::io::empty())?;
            }
            tar::EntryType::Symlink => {
                let target = entry.link_name()?.expect("symlink target");
                layer.append_link(&mut h, &path, target)?;
            }
            tar::EntryType::Link => {
                let target = entry.link_name()?.expect("hardlink target");
                layer.append_link(&mut h, &path, strip(&target.to_string_lossy()))?;
            }
            other => panic!("unexpected {other:?} entry {path} in mmdebstrap's tar"),
        }
    }
    layer.into_inner()?;
    Ok(())
}
