//! The limits of the HTTP edge that are not CORS: the time and size a
//! request body may take, the execution timeout and the per-client rate
//! limit.

use std::future::Future;
use std::num::NonZeroU32;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::HttpSettings;
use crate::error::codes;

use super::{Flavour, request_error};

/// Keys kept by the rate limiter before idle ones are dropped.
const PRUNE_ABOVE: usize = 10_000;

/// Request timeout and rate limiter, shared by all workers (app data).
pub struct Guards {
    timeout: Duration,
    body_timeout: Duration,
    max_body: usize,
    max_response: usize,
    cache_max_age: u32,
    limiter: Option<DefaultKeyedRateLimiter<String>>,
}

/// Why a request body could not be read.
#[derive(Debug)]
pub(super) enum BodyError {
    /// Longer than the limit (413).
    TooLarge,
    /// Not complete within the body timeout (408; the connection closes).
    Stalled(Duration),
    /// The transfer itself broke (400).
    Broken(String),
}

impl Guards {
    /// Guards from the settings.
    pub fn new(settings: &HttpSettings) -> Self {
        Self {
            body_timeout: Duration::from_secs(settings.body_timeout_secs),
            max_body: usize::try_from(settings.max_body_bytes).unwrap_or(usize::MAX),
            max_response: usize::try_from(settings.max_response_bytes).unwrap_or(usize::MAX),
            cache_max_age: settings.cache_max_age_secs,
            ..Self::with(
                Duration::from_secs(settings.request_timeout_secs),
                settings.rate_limit_per_minute,
            )
        }
    }

    /// Guards with a timeout and a limit per minute (0: no rate limit),
    /// and the default body limits.
    pub fn with(timeout: Duration, per_minute: u32) -> Self {
        let limiter = NonZeroU32::new(per_minute)
            .map(|n| RateLimiter::keyed(Quota::per_minute(n).allow_burst(n)));
        let defaults = HttpSettings::default();
        Self {
            timeout,
            body_timeout: Duration::from_secs(defaults.body_timeout_secs),
            max_body: usize::try_from(defaults.max_body_bytes).unwrap_or(usize::MAX),
            max_response: usize::try_from(defaults.max_response_bytes).unwrap_or(usize::MAX),
            cache_max_age: defaults.cache_max_age_secs,
            limiter,
        }
    }

    /// Reads a request body (decompressed as its `Content-Encoding` says)
    /// within the body timeout and the size limit. A declared length over
    /// the limit is refused before a byte is read; a client that sends its
    /// body too slowly, or stops, is cut off at the deadline however it
    /// trickles.
    pub(super) async fn read_body(
        &self,
        headers: &header::HeaderMap,
        payload: actix_web::web::Payload,
    ) -> Result<actix_web::web::Bytes, BodyError> {
        use futures_util::StreamExt;
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|len| len > self.max_body as u64) {
            return Err(BodyError::TooLarge);
        }
        let mut stream = actix_web::dev::Decompress::from_headers(payload.into_inner(), headers);
        let deadline = tokio::time::Instant::now() + self.body_timeout;
        let mut body = actix_web::web::BytesMut::new();
        loop {
            match tokio::time::timeout_at(deadline, stream.next()).await {
                Err(_) => return Err(BodyError::Stalled(self.body_timeout)),
                Ok(None) => return Ok(body.freeze()),
                Ok(Some(Err(err))) => return Err(BodyError::Broken(err.to_string())),
                Ok(Some(Ok(chunk))) => {
                    if body.len() + chunk.len() > self.max_body {
                        return Err(BodyError::TooLarge);
                    }
                    body.extend_from_slice(&chunk);
                }
            }
        }
    }

    /// Counts a request of the client `key` (`sub:…` or `ip:…`); a client
    /// over its limit gets the 429 (with `Retry-After`) returned here.
    pub(super) fn rate_refusal(&self, key: String, flavour: Flavour) -> Option<HttpResponse> {
        let limiter = self.limiter.as_ref()?;
        if limiter.len() > PRUNE_ABOVE {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        match limiter.check_key(&key) {
            Ok(()) => None,
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                let secs = retry_after_secs(wait);
                let mut response = request_error(
                    StatusCode::TOO_MANY_REQUESTS,
                    flavour,
                    codes::LIMIT_EXCEEDED,
                    &format!("too many requests; retry after {secs} s"),
                );
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs));
                Some(response)
            }
        }
    }

    /// Runs `fut` within the request timeout; `None` past it (answer with
    /// [`timeout_response`]).
    /// The answer to an anonymous GET that succeeded: shareable by
    /// browsers and CDNs for the configured time, with an `ETag` (a hash
    /// of the answer); a request whose `If-None-Match` names it gets 304
    /// without a body.
    pub(super) fn cached(
        &self,
        http: &HttpRequest,
        flavour: Flavour,
        body: String,
    ) -> HttpResponse {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(body.as_bytes());
        let tag: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        let etag = format!("\"{tag}\"");
        let cache_control = if self.cache_max_age == 0 {
            "public, no-cache".to_owned()
        } else {
            format!("public, max-age={}", self.cache_max_age)
        };
        let matches = http
            .headers()
            .get_all(header::IF_NONE_MATCH)
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|t| t.trim().trim_start_matches("W/"))
            .any(|t| t == etag || t == "*");
        let mut answer = if matches {
            HttpResponse::NotModified().finish()
        } else {
            super::json_response(StatusCode::OK, flavour, body)
        };
        let headers = answer.headers_mut();
        if let Ok(value) = HeaderValue::from_str(&etag) {
            headers.insert(header::ETAG, value);
        }
        if let Ok(value) = HeaderValue::from_str(&cache_control) {
            headers.insert(header::CACHE_CONTROL, value);
        }
        headers.insert(
            header::VARY,
            HeaderValue::from_static("Accept, Authorization"),
        );
        answer
    }

    /// Whether an answer of `len` bytes is over the response limit.
    pub(super) fn response_too_large(&self, len: usize) -> bool {
        len > self.max_response
    }

    /// How long a request may run.
    pub(super) fn timeout(&self) -> Duration {
        self.timeout
    }

    pub(super) async fn within_timeout<F: Future>(&self, fut: F) -> Option<F::Output> {
        let output = tokio::time::timeout(self.timeout, fut).await.ok();
        if output.is_none() {
            tracing::warn!(
                timeout_ms = self.timeout.as_millis() as u64,
                "GraphQL execution timed out"
            );
        }
        output
    }
}

/// The answer to a request whose body could not be read.
pub(super) fn body_refusal(err: &BodyError, flavour: Flavour) -> HttpResponse {
    match err {
        BodyError::TooLarge => request_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            flavour,
            codes::LIMIT_EXCEEDED,
            "the request could not be read: the body is larger than allowed",
        ),
        BodyError::Stalled(limit) => {
            tracing::warn!(
                limit_s = limit.as_secs(),
                "request body not received in time"
            );
            let mut response = request_error(
                StatusCode::REQUEST_TIMEOUT,
                flavour,
                codes::LIMIT_EXCEEDED,
                &format!(
                    "the request body did not arrive within {} s",
                    limit.as_secs()
                ),
            );
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            response
        }
        BodyError::Broken(message) => request_error(
            StatusCode::BAD_REQUEST,
            flavour,
            codes::BAD_USER_INPUT,
            &format!("the request could not be read: {message}"),
        ),
    }
}

/// The answer to a request whose execution took too long: 503.
pub(super) fn timeout_response(flavour: Flavour) -> HttpResponse {
    request_error(
        StatusCode::SERVICE_UNAVAILABLE,
        flavour,
        codes::LIMIT_EXCEEDED,
        "the request took too long and was cut off",
    )
}

/// Whole seconds to wait, at least one.
fn retry_after_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(response: HttpResponse) -> serde_json::Value {
        let bytes = actix_web::body::to_bytes(response.into_body())
            .await
            .expect("body");
        serde_json::from_slice(&bytes).expect("JSON")
    }

    #[actix_web::test]
    async fn a_slow_execution_is_cut_off() {
        let guards = Guards::with(Duration::from_millis(20), 0);
        assert_eq!(guards.within_timeout(async { 7 }).await, Some(7));
        let slow = guards.within_timeout(std::future::pending::<()>()).await;
        assert_eq!(slow, None);
        let slow = timeout_response(Flavour::Json);
        assert_eq!(slow.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body = body(slow).await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "LIMIT_EXCEEDED");
    }

    #[actix_web::test]
    async fn rate_limit_per_key() {
        let guards = Guards::with(Duration::from_secs(1), 2);
        for _ in 0..2 {
            assert!(guards.rate_refusal("ip:a".into(), Flavour::Json).is_none());
        }
        let refused = guards
            .rate_refusal("ip:a".into(), Flavour::Json)
            .expect("over the limit");
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        let retry: u64 = refused
            .headers()
            .get(header::RETRY_AFTER)
            .expect("Retry-After")
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&retry), "{retry}");
        assert!(guards.rate_refusal("ip:b".into(), Flavour::Json).is_none());
        let off = Guards::with(Duration::from_secs(1), 0);
        for _ in 0..100 {
            assert!(off.rate_refusal("ip:a".into(), Flavour::Json).is_none());
        }
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(19_001)), 20);
        assert_eq!(retry_after_secs(Duration::from_secs(20)), 20);
    }
}
