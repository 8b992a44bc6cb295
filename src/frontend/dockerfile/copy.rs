//! COPY and ADD → [`CopySpec`]: sources and flags expanded, the destination made absolute against
//! WORKDIR (a trailing `/` kept: it means "into this directory"), heredocs as inline files, and the
//! history text BuildKit writes (`COPY src /dest # buildkit`).

use crate::plan::{Chmod, CopySource, CopySpec, IdSpec, InlineFile, Owner, RemoteFile};

use super::dispatch::{Context, State};
use super::error::FrontendError;
use super::instruction::{CopyArgs, Instruction};
use super::stages::SourceDef;

pub type Expander<'a> = dyn Fn(&str) -> Result<String, FrontendError> + 'a;

pub fn copy_spec(
    ctx: &Context<'_>,
    inst: &Instruction,
    copy: &CopyArgs,
    source: Option<&SourceDef>,
    state: &State,
    x: &Expander<'_>,
    xr: &Expander<'_>,
) -> Result<(CopySpec, String), FrontendError> {
    let file = ctx.file;
    let keyword = if copy.add { "ADD" } else { "COPY" };
    let mut inline = Vec::new();
    for h in &copy.heredocs {
        // BuildKit expands an unquoted heredoc's variables without touching its quotes.
        let body = h.body();
        let content = if h.expand { xr(&body)? } else { body };
        inline.push(InlineFile {
            name: h.name.clone(),
            content,
        });
    }
    let fail = |message: String, hint: &str| {
        FrontendError::instruction(inst.node.located(file, message).hint(hint))
    };
    let mut sources = Vec::new();
    let mut remote = Vec::new();
    let mut written = Vec::new();
    for s in &copy.sources {
        let s = x(s)?;
        written.push(s.clone());
        match (source_kind(&s), copy.add) {
            (SourceKind::Git, false) => {
                return Err(fail(
                    "source can't be a git ref for COPY".into(),
                    "use ADD for a git repository, or clone it in a `RUN` step",
                ));
            }
            (SourceKind::Http, false) => {
                return Err(fail(
                    "source can't be a URL for COPY".into(),
                    "use ADD to download a file, or copy it from the context",
                ));
            }
            (SourceKind::Git, true) => {
                return Err(FrontendError::unsupported(
                    inst.node
                        .located(file, format!("ADD of a git repository is not supported by hoist: `{s}`"))
                        .hint("clone it into the build context before the build, or in a `RUN` step (`RUN git clone …`)"),
                ));
            }
            (SourceKind::Http, true) => remote.push(RemoteFile {
                name: url_file_name(&s),
                url: s,
                checksum: None,
                // BuildKit unpacks a download only when `--unpack=true` asks for it.
                unpack: copy.unpack == Some(true),
                after: sources.len(),
                fetched: None,
            }),
            (SourceKind::Local, _) => sources.push(s),
        }
    }
    if let Some(checksum) = &copy.checksum {
        let checksum = x(checksum)?;
        if copy.sources.len() != 1 {
            return Err(fail(
                "checksum can't be specified for multiple sources".into(),
                "give each downloaded file its own ADD",
            ));
        }
        let Some(file) = remote.first_mut() else {
            return Err(fail(
                "checksum requires HTTP(S) or Git sources".into(),
                "`--checksum` verifies a file ADD downloads from an `http://` or `https://` URL",
            ));
        };
        file.checksum = Some(parse_checksum(&checksum).map_err(|m| {
            fail(
                m,
                "write `--checksum=sha256:<64 hex digits>` (sha384 and sha512 work too)",
            )
        })?);
    }
    let dest_word = x(&copy.dest)?;
    let dest = absolute(&dest_word, &state.workdir);
    if sources.len() + inline.len() + remote.len() > 1 && !dest.ends_with('/') {
        return Err(FrontendError::instruction(inst.node.located(file, format!("when using {keyword} with more than one source file, the destination must be a directory and end with a `/`")).hint(format!("write `{dest_word}/`"))));
    }
    // Heredocs are files of their own (`inline`), beside the sources, whatever `--from` says.
    let source = match source {
        Some(SourceDef::Stage(j)) => CopySource::Stage((ctx.stage_id)(*j)),
        Some(SourceDef::Image(r)) => CopySource::Image(r.clone()),
        None => CopySource::Context,
    };
    // BuildKit's dispatch: octal up to 07777, else a symbolic mode (`mode.Parse`); a value that looks
    // numeric but is not such an octal gets the octal error.
    let chmod = match &copy.chmod {
        None => None,
        Some(c) => {
            let c = x(c)?;
            let hint = "write octal bits (`--chmod=0755`) or symbolic clauses (`--chmod=u+x,go-w`)";
            Some(match u32::from_str_radix(&c, 8) {
                Ok(bits) if bits <= 0o7777 => Chmod::Octal(bits),
                _ if c.starts_with(|ch: char| ch.is_ascii_digit()) => {
                    return Err(fail(
                        format!(
                            "invalid chmod parameter: '{c}'. it should be octal string and between 0 and 07777"
                        ),
                        hint,
                    ));
                }
                _ if !symbolic_mode(&c) => {
                    return Err(fail(format!("invalid chmod parameter: '{c}'"), hint));
                }
                _ => Chmod::Symbolic(c),
            })
        }
    };
    let owner = copy.chown.as_deref().map(x).transpose()?.map(|c| owner(&c));
    // BuildKit places a linked copy (`--link` without `--chmod`) on an empty filesystem, where no
    // `/etc/passwd` names anyone: it refuses user and group names there (numbers and `root` work).
    if copy.link
        && copy.chmod.is_none()
        && let Some(o) = &owner
        && let Some(name) = [Some(&o.user), o.group.as_ref()]
            .into_iter()
            .flatten()
            .find_map(|id| match id {
                IdSpec::Name(n) => Some(n),
                IdSpec::Id(_) => None,
            })
    {
        return Err(fail(
            format!(
                "`--chown` names `{name}`, which `{keyword} --link` can't look up: a linked copy does not see the stage's /etc/passwd and /etc/group"
            ),
            "use numeric ids (`--chown=1000:1000`), or drop `--link`",
        ));
    }
    let excludes = copy
        .excludes
        .iter()
        .map(|e| x(e))
        .collect::<Result<Vec<_>, _>>()?;
    // BuildKit's history names the sources, then each heredoc as `<<NAME`.
    let mut words = written;
    words.extend(inline.iter().map(|f| format!("<<{}", f.name)));
    // BuildKit's order: `--parents`, `--chown=`, `--chmod=` (as written, expanded), sources, dest.
    let mut text = keyword.to_string();
    if copy.parents {
        text.push_str(" --parents");
    }
    if let Some(chown) = &copy.chown {
        text.push_str(&format!(" --chown={}", x(chown)?));
    }
    if let Some(chmod) = &copy.chmod {
        text.push_str(&format!(" --chmod={}", x(chmod)?));
    }
    let text = format!("{text} {} {dest_word} # buildkit", words.join(" "));
    let spec = CopySpec {
        source,
        sources,
        dest,
        owner,
        chmod,
        // ADD unpacks local archives unless `--unpack=false`.
        extract_archives: copy.add && copy.unpack != Some(false),
        excludes,
        parents: copy.parents,
        remote,
        inline,
        // BuildKit links (merges) only copies without `--chmod`.
        link: copy.link && copy.chmod.is_none(),
    };
    Ok((spec, text))
}

/// What a COPY/ADD source names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SourceKind {
    Local,
    Http,
    Git,
}

/// BuildKit's `gitutil.ParseGitRef` and `isHTTPSource`, as far as telling them apart goes: SSH-style
/// (`git@host:path`), `git://` and `ssh://` remotes, and HTTP(S) URLs whose path ends in `.git` are git
/// repositories; other `http://` and `https://` URLs are downloads; anything else is a local path.
fn source_kind(src: &str) -> SourceKind {
    let lower = src.to_ascii_lowercase();
    if lower.starts_with("git://")
        || lower.starts_with("ssh://")
        || (src.starts_with("git@") && src.contains(':'))
    {
        return SourceKind::Git;
    }
    if lower.starts_with("http://") || lower.starts_with("https://") {
        let path = src.split(['#', '?']).next().unwrap_or(src);
        if path.ends_with(".git") {
            return SourceKind::Git;
        }
        return SourceKind::Http;
    }
    SourceKind::Local
}

/// The name a downloaded file gets: the last segment of the URL's path, `__unnamed__` when it has none
/// (BuildKit's `path.Base(u.Path)`).
fn url_file_name(url: &str) -> String {
    let after_scheme = url.split_once("://").map_or(url, |(_, r)| r);
    let path = after_scheme
        .split(['?', '#'])
        .next()
        .unwrap_or("")
        .split_once('/')
        .map_or("", |(_, p)| p);
    let base = path.trim_end_matches('/').rsplit('/').next().unwrap_or("");
    if base.is_empty() || base == "." {
        "__unnamed__".to_string()
    } else {
        percent_decode(base)
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(v) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `--checksum`: `ALGO:HEX` with a digest algorithm BuildKit knows.
fn parse_checksum(text: &str) -> Result<String, String> {
    let (algo, hex) = text
        .split_once(':')
        .ok_or_else(|| format!("invalid checksum `{text}`: it has no algorithm"))?;
    let len = match algo {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => {
            return Err(format!(
                "invalid checksum `{text}`: unsupported digest algorithm `{algo}`"
            ));
        }
    };
    if hex.len() != len
        || !hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(format!(
            "invalid checksum `{text}`: a {algo} digest is {len} lower-case hex digits"
        ));
    }
    Ok(text.to_string())
}

/// chmod(1)'s symbolic grammar: comma-separated `[ugoa]*([-+=]([rwxXst]*|[ugo]))+`.
fn symbolic_mode(text: &str) -> bool {
    text.split(',').all(|clause| {
        let rest = clause.trim_start_matches(['u', 'g', 'o', 'a']);
        if rest.is_empty() {
            return false;
        }
        let mut ok = true;
        let mut actions = rest;
        while let Some(op) = actions.chars().next() {
            if !matches!(op, '+' | '-' | '=') {
                return false;
            }
            let end = actions[1..]
                .find(['+', '-', '='])
                .map_or(actions.len(), |i| i + 1);
            let perms = &actions[1..end];
            ok &= matches!(perms, "u" | "g" | "o") || perms.chars().all(|c| "rwxXst".contains(c));
            actions = &actions[end..];
        }
        ok
    })
}

/// `user[:group]`, each numeric or a name; `root` is 0 without a lookup (BuildKit's `llb.WithUser`).
pub fn owner(text: &str) -> Owner {
    let id = |s: &str| match s {
        "root" => IdSpec::Id(0),
        _ => s
            .parse::<u32>()
            .map(IdSpec::Id)
            .unwrap_or_else(|_| IdSpec::Name(s.to_string())),
    };
    match text.split_once(':') {
        Some((u, g)) => Owner {
            user: id(u),
            group: Some(id(g)),
        },
        None => Owner {
            user: id(text),
            group: None,
        },
    }
}

/// `path` made absolute against `workdir`, cleaned; a trailing `/` (or a final `.`) kept as `/`.
pub fn absolute(path: &str, workdir: &str) -> String {
    let dir = path.ends_with('/') || path == "." || path.ends_with("/.");
    let joined = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("{workdir}/{path}")
    };
    let cleaned = format!("/{}", crate::plan::context::clean(&joined));
    if dir && !cleaned.ends_with('/') {
        format!("{cleaned}/")
    } else {
        cleaned
    }
}
