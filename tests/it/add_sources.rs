//! ADD from URLs against a real HTTP server on loopback (a thread serving files, no mock client):
//! the download lands as BuildKit's HTTP source writes it (mode 0600, the `Last-Modified` time,
//! named after the URL's path, archives not unpacked), `--checksum` is verified, a git URL is refused
//! with a hint; `ADD --unpack`. And `COPY --link`: the destination's symlinks and directories of the
//! base do not steer where the files go; heredocs beside files in one COPY. (buildah 1.28 knows
//! neither heredocs nor `--unpack`, so these are checked against BuildKit's documented behaviour.)

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;

use crate::support::tools::{layout_manifest, read_blob};
use crate::support::{Sandbox, busybox_world, hoist_run, mirror, sha256_hex};

/// Serves `files` (path → body) over HTTP/1.0 on 127.0.0.1; every file says it was last modified at
/// `Sun, 06 Nov 1994 08:49:37 GMT`. Unknown paths get 404. Returns the base URL.
pub fn serve(files: BTreeMap<String, Vec<u8>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            if reader.read_line(&mut request).is_err() {
                continue;
            }
            // Skip the headers.
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
            }
            let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
            let response = match files.get(&path) {
                Some(body) => {
                    let mut r = format!(
                        "HTTP/1.0 200 OK\r\nContent-Length: {}\r\nLast-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Type: application/octet-stream\r\n\r\n",
                        body.len()
                    )
                    .into_bytes();
                    r.extend_from_slice(body);
                    r
                }
                None => b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec(),
            };
            let _ = stream.write_all(&response);
        }
    });
    base
}

/// A gzip'd tar holding `inner.txt`.
fn tarball() -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut b = tar::Builder::new(gz);
    let mut h = tar::Header::new_gnu();
    h.set_size(5);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    b.append_data(&mut h, "inner.txt", &b"inner"[..]).unwrap();
    b.into_inner().unwrap().finish().unwrap()
}

/// Every file of the image's layers: path → (mode, mtime, content), later layers winning.
fn files(layout: &Path) -> BTreeMap<String, (u32, u64, Vec<u8>)> {
    let manifest = layout_manifest(layout, Some("latest"));
    let mut out = BTreeMap::new();
    for layer in manifest["layers"].as_array().unwrap() {
        let blob = read_blob(layout, layer["digest"].as_str().unwrap());
        let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(&blob[..]));
        for entry in ar.entries().unwrap() {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().to_string_lossy().into_owned();
            let h = entry.header().clone();
            let mut content = Vec::new();
            entry.read_to_end(&mut content).unwrap();
            let kind = if h.entry_type().is_dir() {
                'd'
            } else if h.entry_type().is_symlink() {
                'l'
            } else {
                'f'
            };
            let path = format!("{kind} {}", path.trim_end_matches('/'));
            out.insert(path, (h.mode().unwrap(), h.mtime().unwrap(), content));
        }
    }
    out
}

fn build(sandbox: &Sandbox, context: &Path, extra: &[String]) -> crate::support::HoistRun {
    let out = sandbox.path("out");
    hoist_run(
        sandbox
            .hoist()
            .args(extra)
            .arg("--dir")
            .arg(context)
            .arg("--output")
            .arg(format!("oci:{}", out.display())),
    )
}

#[test]
fn add_downloads_urls_as_buildkit_does() {
    let script = b"#!/bin/sh\necho tool\n".to_vec();
    let tgz = tarball();
    let base = serve(BTreeMap::from([
        ("/files/tool.sh".to_string(), script.clone()),
        ("/files/data.tar.gz".to_string(), tgz.clone()),
    ]));
    let sandbox = Sandbox::new();
    let context = sandbox.path("ctx");
    std::fs::create_dir_all(&context).unwrap();
    let digest = sha256_hex(&script);
    std::fs::write(
        context.join("Dockerfile"),
        format!(
            "FROM scratch\nADD --checksum=sha256:{digest} {base}/files/tool.sh /opt/\nADD {base}/files/data.tar.gz /data/\nADD --chmod=755 {base}/files/tool.sh /bin/renamed\n"
        ),
    )
    .unwrap();
    build(&sandbox, &context, &[]).ok();
    let files = files(&sandbox.path("out"));
    let (mode, mtime, content) = &files["f opt/tool.sh"];
    // BuildKit's HTTP source: mode 0600, the Last-Modified time.
    assert_eq!((*mode, *mtime, content), (0o600, 784_111_777, &script));
    // A remote archive is not unpacked.
    let (_, _, content) = &files["f data/data.tar.gz"];
    assert_eq!(content, &tgz);
    assert!(!files.keys().any(|k| k.contains("inner.txt")), "{files:?}");
    // The destination names the file; --chmod applies.
    let (mode, _, content) = &files["f bin/renamed"];
    assert_eq!((*mode, content), (0o755, &script));
}

#[test]
fn add_checksum_mismatch_names_url_and_digests() {
    let base = serve(BTreeMap::from([("/f".to_string(), b"actual".to_vec())]));
    let sandbox = Sandbox::new();
    let context = sandbox.path("ctx");
    std::fs::create_dir_all(&context).unwrap();
    let wrong = "0".repeat(64);
    std::fs::write(
        context.join("Dockerfile"),
        format!("FROM scratch\nADD --checksum=sha256:{wrong} {base}/f /f\n"),
    )
    .unwrap();
    let run = build(&sandbox, &context, &[]).failed();
    let actual = sha256_hex(b"actual");
    assert!(
        run.stderr.contains(&format!(
            "digest mismatch for {base}/f: sha256:{actual} (expected: sha256:{wrong})"
        )),
        "{}",
        run.stderr
    );
    assert!(!sandbox.path("out").exists(), "nothing written on failure");

    // A missing file: the status is named.
    std::fs::write(
        context.join("Dockerfile"),
        format!("FROM scratch\nADD {base}/nope /f\n"),
    )
    .unwrap();
    let run = build(&sandbox, &context, &[]).failed();
    assert!(run.stderr.contains("404"), "{}", run.stderr);
}

#[test]
fn add_of_a_git_repository_is_refused_with_a_hint() {
    let sandbox = Sandbox::new();
    let context = sandbox.path("ctx");
    std::fs::create_dir_all(&context).unwrap();
    std::fs::write(
        context.join("Dockerfile"),
        "FROM scratch\nADD https://github.com/moby/buildkit.git#v0.12 /src\n",
    )
    .unwrap();
    let run = build(&sandbox, &context, &[]).failed();
    assert!(
        run.stderr
            .contains("ADD of a git repository is not supported by hoist")
            && run.stderr.contains("hint: clone it"),
        "{}",
        run.stderr
    );
}

#[test]
fn copy_link_ignores_the_destination_of_the_base() {
    // The base has /link -> /real (a symlink) and /owned (a directory of uid 1000): a linked copy
    // neither follows the symlink nor keeps the directory's owner; a plain copy does both.
    let (registry, sandbox) = busybox_world();
    let context = sandbox.path("ctx");
    std::fs::create_dir_all(&context).unwrap();
    std::fs::write(context.join("f.txt"), "f").unwrap();
    std::fs::write(
        context.join("Dockerfile"),
        "FROM busybox AS base\nRUN mkdir /real /owned && ln -s /real /link && chown 1000:1000 /owned\n\
         FROM base AS plain\nCOPY f.txt /link/\nCOPY f.txt /owned/\n\
         FROM base\nCOPY --link f.txt /link/\nCOPY --link f.txt /owned/\n",
    )
    .unwrap();
    build(&sandbox, &context, &mirror(&registry)).ok();
    let tree = crate::support::layout_tree(&sandbox.path("out"), "latest", &sandbox.path("work"));
    assert_eq!(
        tree["link"].kind, "dir",
        "the symlink is replaced by a directory"
    );
    assert!(tree.contains_key("link/f.txt") && !tree.contains_key("real/f.txt"));
    assert_eq!((tree["owned"].uid, tree["owned"].mode), (0, 0o755));
    assert!(tree.contains_key("owned/f.txt"));

    let out = sandbox.path("plain-out");
    hoist_run(
        sandbox
            .hoist()
            .args(mirror(&registry))
            .args(["--target", "plain", "--dir"])
            .arg(&context)
            .arg("--output")
            .arg(format!("oci:{}", out.display())),
    )
    .ok();
    let tree = crate::support::layout_tree(&out, "latest", &sandbox.path("work-plain"));
    assert_eq!(tree["link"].kind, "symlink");
    assert!(tree.contains_key("real/f.txt"));
    assert_eq!(tree["owned"].uid, 1000);
}

#[test]
fn add_unpack_flag_as_buildkit_does() {
    // `--unpack=true` extracts a downloaded archive; `--unpack=false` keeps a local one as a file
    // (Dockerfile 1.17). Without the flag each keeps its default (checked above).
    let tgz = tarball();
    let base = serve(BTreeMap::from([(
        "/files/data.tar.gz".to_string(),
        tgz.clone(),
    )]));
    let sandbox = Sandbox::new();
    let context = sandbox.path("ctx");
    std::fs::create_dir_all(&context).unwrap();
    std::fs::write(context.join("local.tar.gz"), &tgz).unwrap();
    std::fs::write(
        context.join("Dockerfile"),
        format!(
            "FROM scratch\nADD --unpack=true {base}/files/data.tar.gz /remote/\nADD --unpack=false local.tar.gz /local/\n"
        ),
    )
    .unwrap();
    build(&sandbox, &context, &[]).ok();
    let files = files(&sandbox.path("out"));
    assert_eq!(files["f remote/inner.txt"].2, b"inner");
    assert!(!files.contains_key("f remote/data.tar.gz"), "{files:?}");
    assert_eq!(files["f local/local.tar.gz"].2, tgz);
    assert!(!files.contains_key("f local/inner.txt"), "{files:?}");
}

#[test]
fn copy_heredocs_beside_files_as_buildkit_does() {
    // One COPY with a context file and two heredocs: one layer, the heredocs named by their
    // delimiters, mode 0644 (with --chmod applied to all), the history naming the sources then
    // `<<NAME`. And `--chown=root` needs no /etc/passwd (scratch has none), as in BuildKit.
    let sandbox = Sandbox::new();
    let context = sandbox.path("ctx");
    std::fs::create_dir_all(&context).unwrap();
    std::fs::write(context.join("f.txt"), "file\n").unwrap();
    std::fs::write(
        context.join("Dockerfile"),
        "FROM scratch\nARG WHO=world\nCOPY f.txt <<hello <<'raw' /etc/\nhello $WHO\nhello\nkeep $WHO\nraw\n\
         COPY --chown=root:root --chmod=640 <<motd f.txt /srv/\nday\nmotd\n",
    )
    .unwrap();
    build(&sandbox, &context, &[]).ok();
    let out = sandbox.path("out");
    let manifest = layout_manifest(&out, Some("latest"));
    assert_eq!(manifest["layers"].as_array().unwrap().len(), 2);
    let files = files(&out);
    assert_eq!(files["f etc/f.txt"].2, b"file\n");
    assert_eq!(files["f etc/hello"].2, b"hello world\n");
    assert_eq!(files["f etc/raw"].2, b"keep $WHO\n");
    assert_eq!(files["f etc/hello"].0, 0o644);
    assert_eq!(files["f srv/motd"].0, 0o640);
    assert_eq!(files["f srv/f.txt"].0, 0o640);
    let config = crate::support::skopeo_inspect(
        &format!("oci:{}:latest", out.display()),
        crate::support::Inspect::Config,
    );
    let history: Vec<&str> = config["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|h| h["created_by"].as_str())
        .collect();
    assert!(
        history.contains(&"COPY f.txt <<hello <<raw /etc/ # buildkit")
            && history
                .contains(&"COPY --chown=root:root --chmod=640 f.txt <<motd /srv/ # buildkit"),
        "{history:?}"
    );
}

#[test]
fn add_copies_urls_and_files_in_the_order_written() {
    // BuildKit copies an ADD's sources in the order written: where a download and a context file
    // land on the same path, the later one wins.
    let base = serve(BTreeMap::from([(
        "/files/same.txt".to_string(),
        b"remote\n".to_vec(),
    )]));
    let sandbox = Sandbox::new();
    let context = sandbox.path("ctx");
    std::fs::create_dir_all(&context).unwrap();
    std::fs::write(context.join("same.txt"), "local\n").unwrap();
    std::fs::write(
        context.join("Dockerfile"),
        format!(
            "FROM scratch\nADD {base}/files/same.txt same.txt /a/\nADD same.txt {base}/files/same.txt /b/\n"
        ),
    )
    .unwrap();
    build(&sandbox, &context, &[]).ok();
    let files = files(&sandbox.path("out"));
    assert_eq!(files["f a/same.txt"].2, b"local\n");
    assert_eq!(files["f b/same.txt"].2, b"remote\n");
}
