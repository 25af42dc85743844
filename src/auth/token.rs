//! Bearer tokens: verification and (for development) minting.
//!
//! A token is a JWT. Two kinds of keys are accepted, each only for its own
//! algorithms:
//!
//! - **HS256** with the shared secret (`KOMPETANSE_JWT_SECRET`, or the
//!   development secret of a server that has neither a secret nor a JWKS).
//! - **RS256, ES256 and EdDSA** with the public keys of the identity
//!   provider's JWKS (`KOMPETANSE_JWKS`, a file path or an http(s) URL). The
//!   key is chosen by the header's `kid` (a set with a single usable key also
//!   serves tokens without `kid`), and the token's `alg` must match the key's
//!   type (RSA → RS256, EC P-256 → ES256, OKP Ed25519 → EdDSA) and the key's
//!   own `alg` if it names one. Symmetric (`oct`) and encryption keys of the
//!   set are never used.
//!
//! Every other algorithm, `none` included, is refused. The header's `jku`,
//! `jwk`, `x5u` and `x5c` are ignored: keys come only from the settings.
//!
//! An unknown `kid` makes the verifier load the set again (the file is read
//! again, the URL fetched again with a 5 s timeout), at most once per
//! cooldown (30 s by default), and concurrent requests share that one
//! reload. When a reload fails the previous keys stay in use.
//!
//! # Claims
//!
//! | claim | type | meaning |
//! |---|---|---|
//! | `sub` | string, required, non-empty | the subject (who is asking) |
//! | `exp` | NumericDate, required | expiry (checked with `KOMPETANSE_JWT_LEEWAY`) |
//! | `nbf` | NumericDate, optional | not valid before (checked with the leeway) |
//! | `iat` | NumericDate, optional | issued at (informational) |
//! | `iss` | string, required | must equal `KOMPETANSE_JWT_ISSUER` |
//! | `aud` | string or array of strings, required | must be or contain `KOMPETANSE_JWT_AUDIENCE` |
//! | `role` | `STAFF`, `LEADER`, `PROVIDER`, `FUNDER` or `ADMIN`, optional | the role the token grants |
//! | `service_id` | UUID, optional | the service a `LEADER` leads |
//! | `provider_id` | UUID, optional | the provider a `PROVIDER` acts for |
//! | `funder_office_id` | UUID, optional | the county governor's office a `FUNDER` acts for |
//! | `person_id` | UUID, optional | the person a `STAFF` token belongs to |
//!
//! Other claims are ignored.

use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use entity::enums::Role;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::config::{AuthSettings, ConfigError, Secret};

/// How long to wait between two reloads of the JWKS caused by unknown `kid`s.
pub const DEFAULT_REFRESH_COOLDOWN: Duration = Duration::from_secs(30);

/// Timeout of one JWKS download.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// Longest token looked at; longer ones are refused unread.
const MAX_TOKEN_LEN: usize = 16 * 1024;

/// Largest JWKS document read.
const MAX_JWKS_LEN: usize = 1024 * 1024;

/// Shortest accepted HS256 secret, in bytes.
const MIN_SECRET_LEN: usize = 32;

/// Smallest and largest accepted RSA modulus, in bits.
const MIN_RSA_BITS: usize = 2048;
const MAX_RSA_BITS: usize = 4096;

/// The claims of a kompetanse token (see the module documentation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    #[serde(deserialize_with = "de::numeric_date")]
    pub exp: i64,
    #[serde(
        default,
        deserialize_with = "de::opt_numeric_date",
        skip_serializing_if = "Option::is_none"
    )]
    pub iat: Option<i64>,
    #[serde(
        default,
        deserialize_with = "de::opt_numeric_date",
        skip_serializing_if = "Option::is_none"
    )]
    pub nbf: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// A string or an array of strings in a token; after verification the
    /// configured audience (which the token was checked to name).
    #[serde(
        default,
        deserialize_with = "de::audience",
        skip_serializing_if = "Option::is_none"
    )]
    pub aud: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funder_office_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person_id: Option<Uuid>,
}

/// Why a token was refused. The texts are safe to show to the client: short,
/// without key material or token content.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("malformed token")]
    Malformed,
    #[error("token expired")]
    Expired,
    #[error("token not yet valid")]
    NotYetValid,
    #[error("invalid token signature")]
    BadSignature,
    #[error("token from an unexpected issuer")]
    WrongIssuer,
    #[error("token for another audience")]
    WrongAudience,
    #[error("token signed with an unknown key")]
    UnknownKey,
    #[error("token algorithm not allowed")]
    AlgorithmNotAllowed,
    #[error("token lacks the `{0}` claim")]
    MissingClaim(&'static str),
    #[error("token signing keys unavailable")]
    KeySetUnavailable,
}

/// Verifies bearer tokens. `Send + Sync`; share it behind an `Arc`.
pub struct TokenVerifier {
    hs: Option<HsKey>,
    jwks: Option<Jwks>,
    audience: String,
    /// Issuer, audience, leeway and required claims; the algorithm is set
    /// per token.
    validation: Validation,
}

struct HsKey {
    secret: Secret,
    key: DecodingKey,
}

impl fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenVerifier")
            .field("hs256", &self.hs.is_some())
            .field("jwks", &self.jwks.as_ref().map(|j| j.source.to_string()))
            .field("issuer", &self.validation.iss)
            .field("audience", &self.audience)
            .field("leeway", &self.validation.leeway)
            .finish()
    }
}

impl TokenVerifier {
    /// From the settings. `dev_secret` is used as the HS256 secret when the
    /// settings have neither a secret nor a JWKS.
    ///
    /// Fails (naming `KOMPETANSE_JWT_SECRET` or `KOMPETANSE_JWKS`) when no
    /// key is configured, when the secret is shorter than 32 bytes, or when
    /// the JWKS cannot be loaded or holds no usable signing key.
    pub async fn new(
        settings: &AuthSettings,
        dev_secret: Option<Secret>,
    ) -> Result<Self, ConfigError> {
        for (setting, value) in [
            ("KOMPETANSE_JWT_ISSUER", &settings.jwt_issuer),
            ("KOMPETANSE_JWT_AUDIENCE", &settings.jwt_audience),
        ] {
            if value.trim().is_empty() {
                return Err(ConfigError {
                    setting,
                    message: "must not be empty".into(),
                });
            }
        }
        let jwks_location = settings
            .jwks
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let secret = match (&settings.jwt_secret, jwks_location) {
            (Some(secret), _) => Some(secret.clone()),
            (None, None) => dev_secret,
            (None, Some(_)) => None,
        };
        if let Some(secret) = &secret
            && secret.expose().len() < MIN_SECRET_LEN
        {
            return Err(ConfigError {
                setting: "KOMPETANSE_JWT_SECRET",
                message: format!("a secret must be at least {MIN_SECRET_LEN} bytes long"),
            });
        }
        let jwks = match jwks_location {
            Some(location) => Some(Jwks::load(location).await?),
            None => None,
        };
        if secret.is_none() && jwks.is_none() {
            return Err(ConfigError {
                setting: "KOMPETANSE_JWT_SECRET",
                message: "no key to verify tokens with: set KOMPETANSE_JWT_SECRET (HS256) \
                          or KOMPETANSE_JWKS (RS256, ES256, EdDSA)"
                    .into(),
            });
        }

        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = settings.jwt_leeway;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = true;
        validation.set_issuer(&[&settings.jwt_issuer]);
        validation.set_audience(&[&settings.jwt_audience]);
        // `exp`, `iss` and `aud` are required, but checked in `claims_from`:
        // the library would call an ill-typed claim missing.
        validation.set_required_spec_claims::<&str>(&[]);

        Ok(Self {
            hs: secret.map(|secret| HsKey {
                key: DecodingKey::from_secret(secret.expose().as_bytes()),
                secret,
            }),
            jwks,
            audience: settings.jwt_audience.clone(),
            validation,
        })
    }

    /// Sets the shortest time between two JWKS reloads caused by unknown
    /// `kid`s (default [`DEFAULT_REFRESH_COOLDOWN`]).
    pub fn with_refresh_cooldown(mut self, cooldown: Duration) -> Self {
        if let Some(jwks) = &mut self.jwks {
            jwks.cooldown = cooldown;
        }
        self
    }

    /// Verifies the signature, `exp` and `nbf` (with the configured leeway),
    /// `iss` and `aud` (exact match to the settings) and that `sub` is not
    /// empty.
    pub async fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let header = peek_header(token)?;
        match header.alg {
            Algorithm::HS256 => {
                let hs = self.hs.as_ref().ok_or(TokenError::AlgorithmNotAllowed)?;
                self.decode(token, &hs.key, Algorithm::HS256)
            }
            alg => {
                let jwks = self.jwks.as_ref().ok_or(TokenError::AlgorithmNotAllowed)?;
                let key = jwks.key_for(header.kid.as_deref(), alg).await?;
                self.decode(token, &key, alg)
            }
        }
    }

    /// The HS256 secret this verifier accepts, if any.
    pub fn hs256_secret(&self) -> Option<&Secret> {
        self.hs.as_ref().map(|hs| &hs.secret)
    }

    fn decode(&self, token: &str, key: &DecodingKey, alg: Algorithm) -> Result<Claims, TokenError> {
        let mut validation = self.validation.clone();
        validation.algorithms = vec![alg];
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, key, &validation)
            .map_err(|e| map_jwt_error(e.kind()))?;
        let mut claims = claims_from(data.claims)?;
        // The library checked that `aud` is, or contains, the audience.
        claims.aud = Some(self.audience.clone());
        Ok(claims)
    }
}

/// Signs claims with HS256 (for `kompetanse token` and tests).
pub fn mint_hs256(secret: &Secret, claims: &Claims) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.expose().as_bytes()),
    )
    .expect("HS256 signing of serialisable claims does not fail")
}

/// What the verifier needs from a token's header, read before any key is
/// chosen.
struct PeekedHeader {
    alg: Algorithm,
    kid: Option<String>,
}

fn peek_header(token: &str) -> Result<PeekedHeader, TokenError> {
    if token.is_empty() || token.len() > MAX_TOKEN_LEN {
        return Err(TokenError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| TokenError::Malformed)?;
    let header: Map<String, Value> =
        serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)?;
    // No header extension is understood, so none may be critical (RFC 7515).
    if header.contains_key("crit") {
        return Err(TokenError::Malformed);
    }
    let alg = match header.get("alg").and_then(Value::as_str) {
        Some("HS256") => Algorithm::HS256,
        Some("RS256") => Algorithm::RS256,
        Some("ES256") => Algorithm::ES256,
        Some("EdDSA") => Algorithm::EdDSA,
        Some(_) => return Err(TokenError::AlgorithmNotAllowed),
        None => return Err(TokenError::Malformed),
    };
    let kid = match header.get("kid") {
        None | Some(Value::Null) => None,
        Some(Value::String(kid)) => Some(kid.clone()),
        Some(_) => return Err(TokenError::Malformed),
    };
    Ok(PeekedHeader { alg, kid })
}

fn map_jwt_error(kind: &ErrorKind) -> TokenError {
    match kind {
        ErrorKind::InvalidSignature
        | ErrorKind::InvalidRsaKey(_)
        | ErrorKind::InvalidEcdsaKey
        | ErrorKind::InvalidEddsaKey => TokenError::BadSignature,
        ErrorKind::ExpiredSignature => TokenError::Expired,
        ErrorKind::ImmatureSignature => TokenError::NotYetValid,
        ErrorKind::InvalidIssuer => TokenError::WrongIssuer,
        ErrorKind::InvalidAudience => TokenError::WrongAudience,
        ErrorKind::MissingRequiredClaim(claim) => match claim.as_str() {
            "exp" => TokenError::MissingClaim("exp"),
            "iss" => TokenError::MissingClaim("iss"),
            "aud" => TokenError::MissingClaim("aud"),
            "sub" => TokenError::MissingClaim("sub"),
            "nbf" => TokenError::MissingClaim("nbf"),
            _ => TokenError::Malformed,
        },
        ErrorKind::InvalidAlgorithm
        | ErrorKind::InvalidAlgorithmName
        | ErrorKind::UnsupportedAlgorithm
        | ErrorKind::MissingAlgorithm
        | ErrorKind::InvalidKeyFormat => TokenError::AlgorithmNotAllowed,
        _ => TokenError::Malformed,
    }
}

/// The typed claims of a payload whose signature, times, issuer and
/// audience the library has checked (as far as they are present).
/// The longest subject a token may name (characters).
pub const MAX_SUBJECT: usize = 255;

fn claims_from(payload: Map<String, Value>) -> Result<Claims, TokenError> {
    for claim in ["exp", "iss", "aud", "sub"] {
        if matches!(payload.get(claim), None | Some(Value::Null)) {
            return Err(TokenError::MissingClaim(claim));
        }
    }
    match &payload["sub"] {
        Value::String(sub) if sub.trim().is_empty() => return Err(TokenError::MissingClaim("sub")),
        // The subject is stored and looked up: no control characters (a
        // NUL cannot be stored) and a bounded length.
        Value::String(sub)
            if sub.chars().count() > MAX_SUBJECT || sub.chars().any(char::is_control) =>
        {
            return Err(TokenError::Malformed);
        }
        Value::String(_) => {}
        _ => return Err(TokenError::Malformed),
    }
    serde_json::from_value(Value::Object(payload)).map_err(|_| TokenError::Malformed)
}

/// Lenient readers for claims whose JSON form varies between issuers.
mod de {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer};

    fn to_seconds(n: &serde_json::Number) -> Option<i64> {
        n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && f.abs() < 9.0e15)
                .map(|f| f.round() as i64)
        })
    }

    /// A NumericDate: seconds since the epoch, an integer or a fraction.
    pub fn numeric_date<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        let n = serde_json::Number::deserialize(d)?;
        to_seconds(&n).ok_or_else(|| D::Error::custom("not a NumericDate"))
    }

    /// An optional NumericDate.
    pub fn opt_numeric_date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        Option::<serde_json::Number>::deserialize(d)?
            .map(|n| to_seconds(&n).ok_or_else(|| D::Error::custom("not a NumericDate")))
            .transpose()
    }

    /// `aud`: a string, or an array of strings (of which the first is kept).
    pub fn audience<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Audience {
            One(String),
            Many(Vec<String>),
        }
        Ok(match Option::<Audience>::deserialize(d)? {
            None => None,
            Some(Audience::One(aud)) => Some(aud),
            Some(Audience::Many(auds)) => auds.into_iter().next(),
        })
    }
}

// ---------------------------------------------------------------------------
// JWKS
// ---------------------------------------------------------------------------

/// The identity provider's keys, reloaded on unknown `kid`s.
struct Jwks {
    source: JwksSource,
    state: RwLock<Snapshot>,
    /// When the last reload started; held during a reload so that
    /// concurrent requests share it.
    last_reload: tokio::sync::Mutex<Option<Instant>>,
    cooldown: Duration,
}

#[derive(Clone)]
struct Snapshot {
    /// Counts reload attempts, so that a request that waited for another's
    /// reload does not reload again.
    generation: u64,
    keys: Arc<KeySet>,
}

impl Jwks {
    async fn load(location: &str) -> Result<Self, ConfigError> {
        let source = JwksSource::parse(location)?;
        let keys = source.fetch().await.map_err(|e| ConfigError {
            setting: "KOMPETANSE_JWKS",
            message: format!("cannot load the key set from {source}: {e}"),
        })?;
        if keys.is_empty() {
            return Err(ConfigError {
                setting: "KOMPETANSE_JWKS",
                message: format!(
                    "the key set from {source} holds no usable signing key \
                     (RSA of 2048 to 4096 bits for RS256, EC P-256 for ES256, OKP Ed25519 for EdDSA)"
                ),
            });
        }
        tracing::info!(jwks = %source, keys = keys.len(), "token signing keys loaded");
        Ok(Self {
            source,
            state: RwLock::new(Snapshot {
                generation: 0,
                keys: Arc::new(keys),
            }),
            last_reload: tokio::sync::Mutex::new(None),
            cooldown: DEFAULT_REFRESH_COOLDOWN,
        })
    }

    fn snapshot(&self) -> Snapshot {
        self.state
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The key for a token's `kid` and `alg`, reloading the set once if the
    /// `kid` is unknown.
    async fn key_for(&self, kid: Option<&str>, alg: Algorithm) -> Result<DecodingKey, TokenError> {
        let seen = self.snapshot();
        match seen.keys.lookup(kid, alg) {
            Lookup::Found(key) => return Ok(key.clone()),
            Lookup::WrongAlgorithm => return Err(TokenError::AlgorithmNotAllowed),
            Lookup::NotFound if kid.is_none() => return Err(seen.keys.not_found()),
            Lookup::NotFound => {}
        }
        let keys = self.reload(seen.generation).await;
        match keys.lookup(kid, alg) {
            Lookup::Found(key) => Ok(key.clone()),
            Lookup::WrongAlgorithm => Err(TokenError::AlgorithmNotAllowed),
            Lookup::NotFound => Err(keys.not_found()),
        }
    }

    /// Loads the set again unless another request did since generation
    /// `seen` or the cooldown has not passed; returns the current keys.
    async fn reload(&self, seen: u64) -> Arc<KeySet> {
        let mut last_reload = self.last_reload.lock().await;
        let current = self.snapshot();
        if current.generation != seen {
            return current.keys;
        }
        if let Some(at) = *last_reload
            && at.elapsed() < self.cooldown
        {
            return current.keys;
        }
        *last_reload = Some(Instant::now());
        let fetched = self.source.fetch().await;

        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        state.generation += 1;
        match fetched {
            Ok(keys) if !keys.is_empty() => {
                tracing::info!(jwks = %self.source, keys = keys.len(), "token signing keys reloaded");
                state.keys = Arc::new(keys);
            }
            Ok(_) => tracing::warn!(
                jwks = %self.source,
                "reloaded key set holds no usable signing key; keeping the previous keys"
            ),
            Err(e) => tracing::warn!(
                jwks = %self.source,
                error = %e,
                "cannot reload the token signing keys; keeping the previous keys"
            ),
        }
        state.keys.clone()
    }
}

/// Where the key set comes from.
enum JwksSource {
    File(PathBuf),
    Url {
        url: String,
        client: reqwest::Client,
    },
}

impl fmt::Display for JwksSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(path) => write!(f, "{}", path.display()),
            Self::Url { url, .. } => f.write_str(url),
        }
    }
}

impl JwksSource {
    fn parse(location: &str) -> Result<Self, ConfigError> {
        let lower = location.to_ascii_lowercase();
        if !(lower.starts_with("http://") || lower.starts_with("https://")) {
            let path = location.strip_prefix("file://").unwrap_or(location);
            return Ok(Self::File(PathBuf::from(path)));
        }
        let bad = |message: String| ConfigError {
            setting: "KOMPETANSE_JWKS",
            message,
        };
        let url = reqwest::Url::parse(location)
            .map_err(|e| bad(format!("`{location}` is not a valid URL: {e}")))?;
        let host = url
            .host_str()
            .ok_or_else(|| bad(format!("`{location}` has no host")))?
            .trim_start_matches('[')
            .trim_end_matches(']');
        let loopback = host.eq_ignore_ascii_case("localhost")
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        let mut builder = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .connect_timeout(FETCH_TIMEOUT);
        if loopback {
            builder = builder.no_proxy();
        }
        let client = builder
            .build()
            .map_err(|e| bad(format!("cannot create an HTTP client: {}", error_chain(&e))))?;
        Ok(Self::Url {
            url: location.to_owned(),
            client,
        })
    }

    /// Reads and parses the set.
    async fn fetch(&self) -> Result<KeySet, String> {
        let bytes = match self {
            Self::File(path) => {
                let path = path.clone();
                tokio::task::spawn_blocking(move || read_capped(&path))
                    .await
                    .map_err(|e| e.to_string())??
            }
            Self::Url { url, client } => download(client, url).await?,
        };
        KeySet::parse(&bytes)
    }
}

fn read_capped(path: &std::path::Path) -> Result<Vec<u8>, String> {
    use std::io::Read as _;
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    file.take(MAX_JWKS_LEN as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() > MAX_JWKS_LEN {
        return Err("the file is larger than 1 MiB".into());
    }
    Ok(bytes)
}

async fn download(client: &reqwest::Client, url: &str) -> Result<Vec<u8>, String> {
    let mut response = client
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| error_chain(&e))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("HTTP status {status}"));
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| error_chain(&e))? {
        bytes.extend_from_slice(&chunk);
        if bytes.len() > MAX_JWKS_LEN {
            return Err("the response is larger than 1 MiB".into());
        }
    }
    Ok(bytes)
}

/// An error and its causes, on one line.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The usable signing keys of a JWKS.
#[derive(Default)]
struct KeySet {
    keys: Vec<VerifyingKey>,
}

struct VerifyingKey {
    kid: Option<String>,
    alg: Algorithm,
    key: DecodingKey,
}

enum Lookup<'a> {
    Found(&'a DecodingKey),
    /// The `kid` is known, but not for the token's algorithm.
    WrongAlgorithm,
    NotFound,
}

impl KeySet {
    fn len(&self) -> usize {
        self.keys.len()
    }

    fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    fn not_found(&self) -> TokenError {
        if self.is_empty() {
            TokenError::KeySetUnavailable
        } else {
            TokenError::UnknownKey
        }
    }

    fn lookup(&self, kid: Option<&str>, alg: Algorithm) -> Lookup<'_> {
        let candidates: Vec<&VerifyingKey> = match kid {
            Some(kid) => self
                .keys
                .iter()
                .filter(|k| k.kid.as_deref() == Some(kid))
                .collect(),
            None if self.keys.len() == 1 => self.keys.iter().collect(),
            None => Vec::new(),
        };
        if candidates.is_empty() {
            return Lookup::NotFound;
        }
        match candidates.into_iter().find(|k| k.alg == alg) {
            Some(k) => Lookup::Found(&k.key),
            None => Lookup::WrongAlgorithm,
        }
    }

    /// Parses a JWKS document, keeping the keys this verifier can use.
    fn parse(bytes: &[u8]) -> Result<Self, String> {
        let document: Value =
            serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
        let keys = document
            .get("keys")
            .and_then(Value::as_array)
            .ok_or("not a JWK set (no `keys` array)")?;
        let mut set = Self::default();
        for (index, jwk) in keys.iter().enumerate() {
            match verifying_key(jwk) {
                Ok(key) => set.keys.push(key),
                Err(reason) => tracing::debug!(
                    index,
                    kid = jwk
                        .get("kid")
                        .and_then(serde_json::Value::as_str)
                        .unwrap_or("-"),
                    reason,
                    "JWKS key skipped"
                ),
            }
        }
        Ok(set)
    }
}

/// A usable verification key from one JWK, or why it is skipped.
fn verifying_key(jwk: &Value) -> Result<VerifyingKey, String> {
    let jwk = jwk.as_object().ok_or("not an object")?;
    let text = |name: &str| -> Result<Option<&str>, String> {
        match jwk.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(format!("`{name}` is not a string")),
        }
    };
    let required = |name: &str| -> Result<Vec<u8>, String> {
        let value = text(name)?.ok_or_else(|| format!("no `{name}`"))?;
        URL_SAFE_NO_PAD
            .decode(value.trim_end_matches('='))
            .map_err(|_| format!("`{name}` is not base64url"))
    };
    let kid = text("kid")?.map(str::to_owned);
    if let Some(usage) = text("use")?
        && usage != "sig"
    {
        return Err(format!("a key for `{usage}`, not for signatures"));
    }
    if let Some(ops) = jwk.get("key_ops")
        && !ops
            .as_array()
            .is_some_and(|ops| ops.iter().any(|op| op == "verify"))
    {
        return Err("`key_ops` does not allow `verify`".into());
    }
    let declared = text("alg")?;
    let allow = |accepted: &[&str]| match declared {
        Some(alg) if !accepted.contains(&alg) => Err(format!("algorithm {alg} is not accepted")),
        _ => Ok(()),
    };
    let (alg, key) = match text("kty")? {
        Some("RSA") => {
            allow(&["RS256"])?;
            let n = required("n")?;
            let e = required("e")?;
            let n = strip_leading_zeros(&n);
            let e = strip_leading_zeros(&e);
            let bits = n.first().map_or(0, |first| {
                (n.len() - 1) * 8 + (8 - first.leading_zeros() as usize)
            });
            if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
                return Err(format!(
                    "RSA key of {bits} bits (accepted: {MIN_RSA_BITS} to {MAX_RSA_BITS})"
                ));
            }
            let exponent = if e.len() <= 8 {
                e.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
            } else {
                u64::MAX
            };
            if exponent < 3 || exponent % 2 == 0 || exponent >= 1 << 33 {
                return Err("unusable RSA exponent".into());
            }
            (Algorithm::RS256, DecodingKey::from_rsa_raw_components(n, e))
        }
        Some("EC") => {
            allow(&["ES256"])?;
            if text("crv")? != Some("P-256") {
                return Err("EC key not on curve P-256".into());
            }
            let (x, y) = (required("x")?, required("y")?);
            if x.len() != 32 || y.len() != 32 {
                return Err("EC coordinates are not 32 bytes long".into());
            }
            let mut point = Vec::with_capacity(65);
            point.push(0x04);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            (Algorithm::ES256, DecodingKey::from_ec_der(&point))
        }
        Some("OKP") => {
            allow(&["EdDSA", "Ed25519"])?;
            if text("crv")? != Some("Ed25519") {
                return Err("OKP key not on curve Ed25519".into());
            }
            let x = required("x")?;
            if x.len() != 32 {
                return Err("Ed25519 key is not 32 bytes long".into());
            }
            (Algorithm::EdDSA, DecodingKey::from_ed_der(&x))
        }
        Some(kty) => return Err(format!("key type {kty} is not used")),
        None => return Err("no `kty`".into()),
    };
    // Building a verifier checks that an EC point lies on the curve and
    // that an Ed25519 key decodes.
    jsonwebtoken::crypto::verify("", b"", &key, alg)
        .map_err(|_| "the key does not decode".to_owned())?;
    Ok(VerifyingKey { kid, alg, key })
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

#[cfg(test)]
mod tests;
