//! COPY and ADD → [`CopySpec`]: sources and flags expanded, the destination made absolute against
//! WORKDIR (a trailing `/` kept: it means "into this directory"), heredocs as inline files, and the
//! history text BuildKit writes (`COPY src /dest # buildkit`).

use crate::plan::{Chmod, CopySource, CopySpec, IdSpec, InlineFile, Owner};

use super::convert::SourceDef;
use super::dispatch::{Context, State};
use super::error::FrontendError;
use super::instruction::{CopyArgs, Instruction};

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
    let unsupported = |what: &str| {
        FrontendError::unsupported(
            inst.node
                .located(file, format!("{keyword} {what} is not supported yet"))
                .hint("download or clone in a `RUN` step, or copy the files from the context"),
        )
    };
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
    let mut sources = Vec::new();
    for s in &copy.sources {
        let s = x(s)?;
        if copy.add && (s.contains("://") || s.starts_with("git@")) {
            return Err(unsupported("of a URL or git repository"));
        }
        sources.push(s);
    }
    if copy.checksum.is_some() {
        return Err(unsupported("`--checksum`"));
    }
    if copy.keep_git_dir {
        return Err(unsupported("`--keep-git-dir`"));
    }
    if !inline.is_empty() && !sources.is_empty() {
        return Err(unsupported("mixing heredocs and files"));
    }
    let dest_word = x(&copy.dest)?;
    let dest = absolute(&dest_word, &state.workdir);
    if sources.len() + inline.len() > 1 && !dest.ends_with('/') {
        return Err(FrontendError::instruction(inst.node.located(file, format!("when using {keyword} with more than one source file, the destination must be a directory and end with a `/`")).hint(format!("write `{dest_word}/`"))));
    }
    let source = match (source, inline.is_empty()) {
        (_, false) => CopySource::Inline(inline),
        (Some(SourceDef::Stage(j)), true) => CopySource::Stage((ctx.stage_id)(*j)),
        (Some(SourceDef::Image(r)), true) => CopySource::Image(r.clone()),
        (None, true) => CopySource::Context,
    };
    let chmod = match &copy.chmod {
        None => None,
        Some(c) => {
            let c = x(c)?;
            Some(match u32::from_str_radix(&c, 8) {
                Ok(bits) if bits <= 0o7777 => Chmod::Octal(bits),
                _ => Chmod::Symbolic(c),
            })
        }
    };
    let owner = copy.chown.as_deref().map(x).transpose()?.map(|c| owner(&c));
    let excludes = copy
        .excludes
        .iter()
        .map(|e| x(e))
        .collect::<Result<Vec<_>, _>>()?;
    let words: Vec<String> = if let CopySource::Inline(files) = &source {
        files.iter().map(|f| format!("<<{}", f.name)).collect()
    } else {
        sources.clone()
    };
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
        extract_archives: copy.add,
        excludes,
        parents: copy.parents,
    };
    Ok((spec, text))
}

/// `user[:group]`, each numeric or a name.
pub fn owner(text: &str) -> Owner {
    let id = |s: &str| {
        s.parse::<u32>()
            .map(IdSpec::Id)
            .unwrap_or_else(|_| IdSpec::Name(s.to_string()))
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
