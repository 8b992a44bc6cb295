//! When and how long to wait before a request to a registry is sent again: transient answers (408, 429
//! and 5xx other than 501/505, as the distribution-spec's error codes and RFC 9110 §15 class them) and
//! connection or I/O errors are retried with exponential backoff and full jitter, capped; a
//! `Retry-After` (RFC 9110 §10.2.3: delay-seconds or an HTTP-date) is honoured, capped too. The number
//! of attempts is bounded. [`send`] is the loop for requests that need nothing between attempts
//! (token requests, `GET /v2/` probes); the registry requests with challenges have theirs in
//! `client::send`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::{RequestBuilder, Response, StatusCode, header};

use crate::progress::{Event, Reporter};

/// How often and how long to retry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// The backoff before the second attempt, doubled for each later one (before jitter).
    pub base: Duration,
    /// The longest backoff (before jitter).
    pub cap: Duration,
    /// The longest wait a `Retry-After` can ask for.
    pub retry_after_cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            attempts: 5,
            base: Duration::from_millis(400),
            cap: Duration::from_secs(8),
            retry_after_cap: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The wait after failed attempt `attempt` (1-based): the registry's `Retry-After` when it gave
    /// one (capped), else a uniformly random wait up to `base · 2^(attempt-1)` (capped): "full jitter",
    /// so that parallel uploads failing together do not come back together.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(wait) = retry_after {
            return wait.min(self.retry_after_cap);
        }
        let ceiling = self
            .base
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
            .min(self.cap);
        ceiling.mul_f64(fastrand::f64())
    }
}

/// Sends the request `make` builds (once per attempt), again after a connection error or a transient
/// answer, waiting as `policy` says (a `Retry-After` honoured) and telling `reporter` about each retry
/// of `request` (`METHOD /PATH`, no query) on `host`. Returns the first answer that is not transient —
/// or the last one, transient, when no attempt is left — or the last attempt's connection error, with
/// the number of attempts made. A request that cannot be built is not sent again.
pub async fn send(
    policy: &RetryPolicy,
    reporter: &dyn Reporter,
    host: &str,
    request: &str,
    make: impl Fn() -> RequestBuilder,
) -> (Result<Response, reqwest::Error>, u32) {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let (reason, retry_after) = match make().send().await {
            Ok(resp) if transient(resp.status()) && attempt < policy.attempts => {
                let retry_after = retry_after_of(&resp);
                (format!("it answered {}", resp.status()), retry_after)
            }
            Err(e) if !e.is_builder() && attempt < policy.attempts => {
                (super::auth::without_url(&e), None)
            }
            done => return (done, attempt),
        };
        let wait = policy.delay(attempt, retry_after);
        reporter.report(Event::Retry {
            host: host.to_string(),
            request: request.to_string(),
            reason,
            attempt,
            attempts: policy.attempts,
            wait_ms: wait.as_millis() as u64,
        });
        tokio::time::sleep(wait).await;
    }
}

/// ` (attempt N of N, with backoff)` after a failure that was retried, for the message that gives up;
/// empty after one attempt.
pub fn after_attempts(attempts: u32) -> String {
    if attempts > 1 {
        format!(" (attempt {attempts} of {attempts}, with backoff)")
    } else {
        String::new()
    }
}

/// The `Retry-After` of an answer, as a wait from now.
pub fn retry_after_of(resp: &Response) -> Option<Duration> {
    resp.headers()
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| retry_after(v, SystemTime::now()))
}

/// A status worth another attempt: the registry (or something in front of it) may answer differently
/// soon. 501 and 505 say the request can never work.
pub fn transient(status: StatusCode) -> bool {
    status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || (status.is_server_error()
            && status != StatusCode::NOT_IMPLEMENTED
            && status != StatusCode::HTTP_VERSION_NOT_SUPPORTED)
}

/// A `Retry-After` value as a wait from `now`: delay-seconds, or an HTTP-date (IMF-fixdate, e.g.
/// `Sun, 06 Nov 1994 08:49:37 GMT`; a date in the past means no wait). `None` when unreadable.
pub fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = http_date(value)?;
    let now = now.duration_since(UNIX_EPOCH).ok()?.as_secs();
    Some(Duration::from_secs(at.saturating_sub(now)))
}

/// Seconds since the epoch of an IMF-fixdate (RFC 9110 §5.6.7).
fn http_date(value: &str) -> Option<u64> {
    // "Sun, 06 Nov 1994 08:49:37 GMT"
    let (_, rest) = value.split_once(", ")?;
    let mut parts = rest.split(' ');
    let day: u64 = parts.next()?.parse().ok()?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: i64 = parts.next()?.parse().ok()?;
    let mut clock = parts.next()?.split(':').map(|p| p.parse::<u64>().ok());
    let (h, m, s) = (clock.next()??, clock.next()??, clock.next()??);
    if parts.next()? != "GMT" || parts.next().is_some() || !(1..=31).contains(&day) {
        return None;
    }
    if h > 23 || m > 59 || s > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day as i64);
    u64::try_from(days)
        .ok()
        .map(|d| d * 86_400 + h * 3600 + m * 60 + s)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_statuses() {
        for code in [408, 429, 500, 502, 503, 504, 599] {
            assert!(transient(StatusCode::from_u16(code).unwrap()), "{code}");
        }
        for code in [200, 201, 202, 400, 401, 403, 404, 405, 413, 416, 501, 505] {
            assert!(!transient(StatusCode::from_u16(code).unwrap()), "{code}");
        }
    }

    #[test]
    fn backoff_is_jittered_exponential_and_capped() {
        let policy = RetryPolicy::default();
        for attempt in 1..=10 {
            let ceiling = (policy.base * 2u32.pow(attempt - 1)).min(policy.cap);
            let waits: Vec<Duration> = (0..200).map(|_| policy.delay(attempt, None)).collect();
            assert!(waits.iter().all(|w| *w <= ceiling), "attempt {attempt}");
            // Full jitter: spread over the whole range, not a fixed step.
            assert!(waits.iter().any(|w| *w < ceiling / 2), "attempt {attempt}");
            assert!(waits.iter().any(|w| *w > ceiling / 2), "attempt {attempt}");
        }
        assert!(policy.delay(40, None) <= policy.cap);
    }

    #[test]
    fn giving_up_says_how_often_it_tried_only_after_retries() {
        assert_eq!(after_attempts(1), "");
        assert_eq!(after_attempts(5), " (attempt 5 of 5, with backoff)");
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        let policy = RetryPolicy::default();
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(3))),
            Duration::from_secs(3)
        );
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(3600))),
            policy.retry_after_cap
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = UNIX_EPOCH + Duration::from_secs(784_111_770); // Sun, 06 Nov 1994 08:49:30 GMT
        assert_eq!(retry_after("2", now), Some(Duration::from_secs(2)));
        assert_eq!(retry_after(" 120 ", now), Some(Duration::from_secs(120)));
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            retry_after("Sat, 05 Nov 1994 08:49:37 GMT", now),
            Some(Duration::ZERO),
            "a date in the past: no wait"
        );
        assert_eq!(http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(
            http_date("Tue, 29 Feb 2028 12:00:00 GMT"),
            Some(1_835_438_400)
        );
        for bad in [
            "soon",
            "-1",
            "Sun, 06 Nov 1994 08:49:37 PST",
            "Sun, 32 Nov 1994 08:49:37 GMT",
        ] {
            assert_eq!(retry_after(bad, now), None, "{bad}");
        }
    }
}
