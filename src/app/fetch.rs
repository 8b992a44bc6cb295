//! ADD from URLs: every file the plan downloads is fetched before the build runs, because the executor
//! reads local files only. Each response is streamed into a temporary directory while its digest is
//! computed; `--checksum` must match (BuildKit's "digest mismatch for URL"); the `Last-Modified` time is
//! kept for the file, as BuildKit's HTTP source does (`source/http/source.go`). Redirects are followed,
//! and an error status fails the build.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use anyhow::{Context as _, bail};
use sha2::Digest as _;

use crate::plan::{BuildPlan, Fetched};
use crate::progress::{Event, Reporter};

/// Downloads every URL the plan names (each URL and checksum once) into `dir` and records where.
pub async fn fetch_all(
    plan: &mut BuildPlan,
    dir: &Path,
    reporter: &dyn Reporter,
) -> anyhow::Result<()> {
    let mut done: BTreeMap<(String, Option<String>), Fetched> = BTreeMap::new();
    let mut client: Option<reqwest::Client> = None;
    for file in plan.remote_files_mut() {
        let key = (file.url.clone(), file.checksum.clone());
        if let Some(fetched) = done.get(&key) {
            file.fetched = Some(fetched.clone());
            continue;
        }
        let client = match &client {
            Some(c) => c,
            None => client.insert(
                reqwest::Client::builder()
                    .user_agent(concat!("hoist/", env!("CARGO_PKG_VERSION")))
                    .build()
                    .context("cannot set up the HTTP client for ADD")?,
            ),
        };
        reporter.report(Event::Info {
            message: format!("downloading {}", file.url),
        });
        let path = dir.join(format!("download-{}", done.len()));
        let fetched = fetch(client, &file.url, file.checksum.as_deref(), &path).await?;
        done.insert(key, fetched.clone());
        file.fetched = Some(fetched);
    }
    Ok(())
}

async fn fetch(
    client: &reqwest::Client,
    url: &str,
    checksum: Option<&str>,
    path: &Path,
) -> anyhow::Result<Fetched> {
    let mut response = client
        .get(url)
        .send()
        .await
        .with_context(|| format!("cannot download `{url}` for ADD"))?;
    let status = response.status();
    if !status.is_success() {
        bail!(
            "cannot download `{url}` for ADD: the server answered {status}\nhint: check the URL; ADD needs it to answer 200"
        );
    }
    let mtime = response
        .headers()
        .get(reqwest::header::LAST_MODIFIED)
        .and_then(|v| v.to_str().ok())
        .and_then(http_date)
        .unwrap_or(0);
    let algo = checksum.map_or("sha256", |c| c.split_once(':').map_or("sha256", |(a, _)| a));
    let mut hasher = Hasher::new(algo);
    let mut out = std::fs::File::create(path)
        .with_context(|| format!("cannot store the download of `{url}`"))?;
    while let Some(chunk) = response
        .chunk()
        .await
        .with_context(|| format!("cannot download `{url}` for ADD"))?
    {
        hasher.update(&chunk);
        out.write_all(&chunk)
            .with_context(|| format!("cannot store the download of `{url}`"))?;
    }
    out.flush()?;
    let actual = format!("{algo}:{}", hasher.finish());
    if let Some(expected) = checksum
        && expected != actual
    {
        bail!(
            "digest mismatch for {url}: {actual} (expected: {expected})\nhint: the file at the URL changed, or `--checksum` is wrong; check the file and update `--checksum`"
        );
    }
    Ok(Fetched {
        path: path.to_path_buf(),
        mtime,
    })
}

enum Hasher {
    Sha256(sha2::Sha256),
    Sha384(sha2::Sha384),
    Sha512(sha2::Sha512),
}

impl Hasher {
    fn new(algo: &str) -> Hasher {
        match algo {
            "sha384" => Hasher::Sha384(sha2::Sha384::new()),
            "sha512" => Hasher::Sha512(sha2::Sha512::new()),
            _ => Hasher::Sha256(sha2::Sha256::new()),
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(bytes),
            Hasher::Sha384(h) => h.update(bytes),
            Hasher::Sha512(h) => h.update(bytes),
        }
    }

    fn finish(self) -> String {
        match self {
            Hasher::Sha256(h) => hex::encode(h.finalize()),
            Hasher::Sha384(h) => hex::encode(h.finalize()),
            Hasher::Sha512(h) => hex::encode(h.finalize()),
        }
    }
}

/// An HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`, RFC 9110 IMF-fixdate) in seconds since the epoch.
fn http_date(text: &str) -> Option<u64> {
    let parts: Vec<&str> = text.split_whitespace().collect();
    let [_, day, month, year, time, zone] = parts.as_slice() else {
        return None;
    };
    if *zone != "GMT" {
        return None;
    }
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| m == month)? as i64 + 1;
    let (day, year): (i64, i64) = (day.parse().ok()?, year.parse().ok()?);
    let hms: Vec<i64> = time
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let [h, m, s] = hms.as_slice() else {
        return None;
    };
    // Days from civil (proleptic Gregorian).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + h * 3600 + m * 60 + s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates() {
        assert_eq!(
            http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(
            http_date("Tue, 29 Feb 2000 12:00:00 GMT"),
            Some(951_825_600)
        );
        assert_eq!(http_date("yesterday"), None);
    }
}
