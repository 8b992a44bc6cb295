//! RS256 JSON Web Tokens (RFC 7515, 7519) as distribution's token auth verifies them: the signing key's
//! certificate in the `x5c` header, chained to the registry's `rootcertbundle`. Signed by
//! `openssl dgst -sha256 -sign`, so the test support needs no crypto crate.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;

/// What signs: openssl, the private key, and the certificate (base64 DER) for `x5c`.
#[derive(Default)]
pub struct Signer {
    pub openssl: PathBuf,
    pub key: PathBuf,
    pub certificate_der: String,
}

/// `header.claims.signature`, RS256, with the issuer's certificate in `x5c`.
pub fn sign(signer: &Signer, claims: &serde_json::Value) -> String {
    let b64 = |data: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data);
    let header = serde_json::json!({
        "typ": "JWT",
        "alg": "RS256",
        "x5c": [signer.certificate_der],
    });
    let signing_input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let signature = openssl_sign(&signer.openssl, &signer.key, signing_input.as_bytes());
    format!("{signing_input}.{}", b64(&signature))
}

fn openssl_sign(openssl: &Path, key: &Path, data: &[u8]) -> Vec<u8> {
    let mut child = Command::new(openssl)
        .args(["dgst", "-sha256", "-sign"])
        .arg(key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("openssl dgst");
    child.stdin.take().unwrap().write_all(data).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "openssl dgst -sign failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ` (civil-from-days, proleptic Gregorian).
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

#[test]
fn rfc3339_dates() {
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
}
