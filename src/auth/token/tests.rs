//! Tests of the token verifier. Keys are fixed test keys from
//! `tests/fixtures/keys/` (made with the `openssl` CLI; never used elsewhere).

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;

const SECRET: &str = "unit-test-secret-unit-test-secret-0123456789";
const OTHER_SECRET: &str = "another-unit-test-secret-another-0123456789";

const RSA_A_PEM: &str = include_str!("../../../tests/fixtures/keys/rsa_a.pem");
const RSA_A_PUB_PEM: &str = include_str!("../../../tests/fixtures/keys/rsa_a.pub.pem");
const RSA_A_JWK: &str = include_str!("../../../tests/fixtures/keys/rsa_a.jwk.json");
const RSA_B_PEM: &str = include_str!("../../../tests/fixtures/keys/rsa_b.pem");
const RSA_B_JWK: &str = include_str!("../../../tests/fixtures/keys/rsa_b.jwk.json");
const EC_PEM: &str = include_str!("../../../tests/fixtures/keys/ec_p256.pem");
const EC_JWK: &str = include_str!("../../../tests/fixtures/keys/ec_p256.jwk.json");
const ED_PEM: &str = include_str!("../../../tests/fixtures/keys/ed25519.pem");
const ED_JWK: &str = include_str!("../../../tests/fixtures/keys/ed25519.jwk.json");
const JWKS: &str = include_str!("../../../tests/fixtures/keys/jwks.json");

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn settings() -> AuthSettings {
    AuthSettings::default()
}

fn hs_settings() -> AuthSettings {
    AuthSettings {
        jwt_secret: Some(Secret::new(SECRET)),
        ..AuthSettings::default()
    }
}

fn jwks_settings(location: impl Into<String>) -> AuthSettings {
    AuthSettings {
        jwks: Some(location.into()),
        ..AuthSettings::default()
    }
}

fn claims() -> Claims {
    Claims {
        sub: "user-1".into(),
        exp: now() + 600,
        iat: Some(now()),
        nbf: None,
        iss: Some("kompetanse".into()),
        aud: Some("kompetanse".into()),
        role: Some(Role::Leader),
        service_id: Some(Uuid::now_v7()),
        provider_id: None,
        funder_office_id: None,
        person_id: None,
    }
}

async fn hs_verifier() -> TokenVerifier {
    TokenVerifier::new(&hs_settings(), None).await.unwrap()
}

fn mint(claims: &Claims) -> String {
    mint_hs256(&Secret::new(SECRET), claims)
}

/// Signs any JSON payload with HS256 (for payloads `Claims` cannot express).
fn sign_raw_hs256(secret: &str, header: &serde_json::Value, payload: &[u8]) -> String {
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let signature = jsonwebtoken::crypto::sign(
        message.as_bytes(),
        &EncodingKey::from_secret(secret.as_bytes()),
        Algorithm::HS256,
    )
    .unwrap();
    format!("{message}.{signature}")
}

fn sign_json_hs256(payload: serde_json::Value) -> String {
    sign_raw_hs256(
        SECRET,
        &json!({"alg": "HS256", "typ": "JWT"}),
        payload.to_string().as_bytes(),
    )
}

/// Signs with a fixture private key.
fn sign(alg: Algorithm, kid: Option<&str>, pem: &str, claims: &Claims) -> String {
    let key = match alg {
        Algorithm::RS256 => EncodingKey::from_rsa_pem(pem.as_bytes()),
        Algorithm::ES256 => EncodingKey::from_ec_pem(pem.as_bytes()),
        Algorithm::EdDSA => EncodingKey::from_ed_pem(pem.as_bytes()),
        other => panic!("no fixture for {other:?}"),
    }
    .unwrap();
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

fn jwks_of(jwks: &[&str]) -> String {
    format!("{{\"keys\":[{}]}}", jwks.join(","))
}

/// A JWKS file in a temporary directory.
struct JwksFile {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
}

impl JwksFile {
    fn new(content: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jwks.json");
        std::fs::write(&path, content).unwrap();
        Self { _dir: dir, path }
    }

    fn write(&self, content: &str) {
        std::fs::write(&self.path, content).unwrap();
    }

    fn location(&self) -> String {
        self.path.to_str().unwrap().to_owned()
    }
}

fn fixture_path(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/keys")
        .join(name)
        .to_str()
        .unwrap()
        .to_owned()
}

/// A minimal HTTP/1.1 server on loopback that answers every request with
/// the current status and body, and counts requests.
struct JwksServer {
    url: String,
    response: Arc<Mutex<(u16, String)>>,
    hits: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl JwksServer {
    async fn start(body: &str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
        let response = Arc::new(Mutex::new((200, body.to_owned())));
        let hits = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn({
            let response = response.clone();
            let hits = hits.clone();
            async move {
                while let Ok((mut socket, _)) = listener.accept().await {
                    let response = response.clone();
                    let hits = hits.clone();
                    tokio::spawn(async move {
                        let mut request = Vec::new();
                        let mut buf = [0u8; 1024];
                        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                            match socket.read(&mut buf).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => request.extend_from_slice(&buf[..n]),
                            }
                        }
                        hits.fetch_add(1, Ordering::SeqCst);
                        let (status, body) = response.lock().unwrap().clone();
                        let reply = format!(
                            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n\
                             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        );
                        let _ = socket.write_all(reply.as_bytes()).await;
                        let _ = socket.shutdown().await;
                    });
                }
            }
        });
        Self {
            url,
            response,
            hits,
            task,
        }
    }

    fn serve(&self, status: u16, body: &str) {
        *self.response.lock().unwrap() = (status, body.to_owned());
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

// --- construction -----------------------------------------------------------

#[test]
fn verifier_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<TokenVerifier>();
}

#[tokio::test]
async fn verify_future_is_send() {
    fn assert_send<T: Send>(_: &T) {}
    let verifier = hs_verifier().await;
    let future = verifier.verify("x");
    assert_send(&future);
    assert_eq!(future.await, Err(TokenError::Malformed));
}

#[tokio::test]
async fn new_fails_without_any_key() {
    let err = TokenVerifier::new(&settings(), None).await.unwrap_err();
    assert_eq!(err.setting, "KOMPETANSE_JWT_SECRET");
}

#[tokio::test]
async fn new_refuses_a_short_secret() {
    let short = AuthSettings {
        jwt_secret: Some(Secret::new("too-short")),
        ..settings()
    };
    let err = TokenVerifier::new(&short, None).await.unwrap_err();
    assert_eq!(err.setting, "KOMPETANSE_JWT_SECRET");
    let err = TokenVerifier::new(&settings(), Some(Secret::new("short")))
        .await
        .unwrap_err();
    assert_eq!(err.setting, "KOMPETANSE_JWT_SECRET");
}

#[tokio::test]
async fn new_refuses_an_empty_issuer_or_audience() {
    let no_issuer = AuthSettings {
        jwt_issuer: " ".into(),
        ..hs_settings()
    };
    let err = TokenVerifier::new(&no_issuer, None).await.unwrap_err();
    assert_eq!(err.setting, "KOMPETANSE_JWT_ISSUER");
    let no_audience = AuthSettings {
        jwt_audience: String::new(),
        ..hs_settings()
    };
    let err = TokenVerifier::new(&no_audience, None).await.unwrap_err();
    assert_eq!(err.setting, "KOMPETANSE_JWT_AUDIENCE");
}

#[tokio::test]
async fn new_fails_on_a_missing_jwks_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.json");
    let err = TokenVerifier::new(&jwks_settings(missing.to_str().unwrap()), None)
        .await
        .unwrap_err();
    assert_eq!(err.setting, "KOMPETANSE_JWKS");
}

#[tokio::test]
async fn new_fails_on_an_unparsable_jwks() {
    for content in ["not json", "{}", "{\"keys\": 5}", "[]"] {
        let file = JwksFile::new(content);
        let err = TokenVerifier::new(&jwks_settings(file.location()), None)
            .await
            .unwrap_err();
        assert_eq!(err.setting, "KOMPETANSE_JWKS", "{content}");
    }
}

#[tokio::test]
async fn new_fails_on_a_jwks_without_usable_keys() {
    let oct = json!({"kty": "oct", "kid": "hs", "k": URL_SAFE_NO_PAD.encode(SECRET)}).to_string();
    let enc = RSA_A_JWK.replace("\"sig\"", "\"enc\"");
    let ps = RSA_A_JWK.replace("RS256", "PS256");
    for set in [jwks_of(&[]), jwks_of(&[&oct]), jwks_of(&[&enc, &ps])] {
        let file = JwksFile::new(&set);
        let err = TokenVerifier::new(&jwks_settings(file.location()), None)
            .await
            .unwrap_err();
        assert_eq!(err.setting, "KOMPETANSE_JWKS", "{set}");
    }
}

#[tokio::test]
async fn new_fails_on_an_unreachable_jwks_url() {
    // A port that was free a moment ago: the connection is refused.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    drop(listener);
    let err = TokenVerifier::new(&jwks_settings(url), None)
        .await
        .unwrap_err();
    assert_eq!(err.setting, "KOMPETANSE_JWKS");
}

#[tokio::test]
async fn new_fails_on_a_jwks_url_answering_an_error() {
    let server = JwksServer::start(JWKS).await;
    server.serve(500, "oops");
    let err = TokenVerifier::new(&jwks_settings(server.url.clone()), None)
        .await
        .unwrap_err();
    assert_eq!(err.setting, "KOMPETANSE_JWKS");
    assert!(err.message.contains("500"), "{}", err.message);
}

#[tokio::test]
async fn debug_output_hides_the_secret() {
    let verifier = hs_verifier().await;
    let text = format!("{verifier:?}");
    assert!(!text.contains(SECRET), "{text}");
    assert!(text.contains("hs256: true"), "{text}");
}

// --- HS256 ------------------------------------------------------------------

#[tokio::test]
async fn hs256_round_trip() {
    let verifier = hs_verifier().await;
    let claims = claims();
    let token = mint(&claims);
    assert_eq!(verifier.verify(&token).await, Ok(claims));
    assert_eq!(verifier.hs256_secret(), Some(&Secret::new(SECRET)));
}

#[tokio::test]
async fn hs256_round_trip_of_every_role_and_scope() {
    let verifier = hs_verifier().await;
    for role in Role::ALL {
        let claims = Claims {
            role: Some(*role),
            nbf: Some(now() - 5),
            provider_id: Some(Uuid::now_v7()),
            funder_office_id: Some(Uuid::now_v7()),
            person_id: Some(Uuid::now_v7()),
            ..claims()
        };
        assert_eq!(verifier.verify(&mint(&claims)).await, Ok(claims));
    }
}

#[tokio::test]
async fn dev_secret_is_used_when_nothing_else_is_configured() {
    let verifier = TokenVerifier::new(&settings(), Some(Secret::new(OTHER_SECRET)))
        .await
        .unwrap();
    assert_eq!(verifier.hs256_secret(), Some(&Secret::new(OTHER_SECRET)));
    let token = mint_hs256(&Secret::new(OTHER_SECRET), &claims());
    assert!(verifier.verify(&token).await.is_ok());
}

#[tokio::test]
async fn configured_secret_wins_over_the_dev_secret() {
    let verifier = TokenVerifier::new(&hs_settings(), Some(Secret::new(OTHER_SECRET)))
        .await
        .unwrap();
    assert_eq!(verifier.hs256_secret(), Some(&Secret::new(SECRET)));
    let token = mint_hs256(&Secret::new(OTHER_SECRET), &claims());
    assert_eq!(verifier.verify(&token).await, Err(TokenError::BadSignature));
}

#[tokio::test]
async fn dev_secret_is_ignored_when_a_jwks_is_configured() {
    let verifier = TokenVerifier::new(
        &jwks_settings(fixture_path("jwks.json")),
        Some(Secret::new(OTHER_SECRET)),
    )
    .await
    .unwrap();
    assert_eq!(verifier.hs256_secret(), None);
    let token = mint_hs256(&Secret::new(OTHER_SECRET), &claims());
    assert_eq!(
        verifier.verify(&token).await,
        Err(TokenError::AlgorithmNotAllowed)
    );
}

#[tokio::test]
async fn wrong_signature_is_refused() {
    let verifier = hs_verifier().await;
    let token = mint_hs256(&Secret::new(OTHER_SECRET), &claims());
    assert_eq!(verifier.verify(&token).await, Err(TokenError::BadSignature));

    // A payload swapped under a valid signature.
    let good = mint(&claims());
    let admin = mint(&Claims {
        role: Some(Role::Admin),
        ..claims()
    });
    let mut parts: Vec<&str> = good.split('.').collect();
    parts[1] = admin.split('.').nth(1).unwrap();
    assert_eq!(
        verifier.verify(&parts.join(".")).await,
        Err(TokenError::BadSignature)
    );
}

#[tokio::test]
async fn expired_beyond_the_leeway_is_refused() {
    let verifier = hs_verifier().await;
    let token = mint(&Claims {
        exp: now() - 120,
        ..claims()
    });
    assert_eq!(verifier.verify(&token).await, Err(TokenError::Expired));
}

#[tokio::test]
async fn expired_within_the_leeway_is_accepted() {
    let verifier = hs_verifier().await;
    let claims = Claims {
        exp: now() - 10,
        ..claims()
    };
    assert_eq!(verifier.verify(&mint(&claims)).await, Ok(claims));
}

#[tokio::test]
async fn leeway_comes_from_the_settings() {
    let strict = AuthSettings {
        jwt_leeway: 0,
        ..hs_settings()
    };
    let verifier = TokenVerifier::new(&strict, None).await.unwrap();
    let token = mint(&Claims {
        exp: now() - 10,
        ..claims()
    });
    assert_eq!(verifier.verify(&token).await, Err(TokenError::Expired));
}

#[tokio::test]
async fn not_yet_valid_is_refused() {
    let verifier = hs_verifier().await;
    let token = mint(&Claims {
        nbf: Some(now() + 300),
        ..claims()
    });
    assert_eq!(verifier.verify(&token).await, Err(TokenError::NotYetValid));

    let claims = Claims {
        nbf: Some(now() + 10),
        ..claims()
    };
    assert_eq!(verifier.verify(&mint(&claims)).await, Ok(claims));
}

#[tokio::test]
async fn wrong_issuer_is_refused() {
    let verifier = hs_verifier().await;
    let token = mint(&Claims {
        iss: Some("someone-else".into()),
        ..claims()
    });
    assert_eq!(verifier.verify(&token).await, Err(TokenError::WrongIssuer));
    let token = mint(&Claims {
        iss: None,
        ..claims()
    });
    assert_eq!(
        verifier.verify(&token).await,
        Err(TokenError::MissingClaim("iss"))
    );
}

#[tokio::test]
async fn wrong_audience_is_refused() {
    let verifier = hs_verifier().await;
    let token = mint(&Claims {
        aud: Some("another-api".into()),
        ..claims()
    });
    assert_eq!(
        verifier.verify(&token).await,
        Err(TokenError::WrongAudience)
    );
    let token = mint(&Claims {
        aud: None,
        ..claims()
    });
    assert_eq!(
        verifier.verify(&token).await,
        Err(TokenError::MissingClaim("aud"))
    );
    let token = sign_json_hs256(json!({
        "sub": "user-1", "exp": now() + 600, "iss": "kompetanse", "aud": ["a", "b"],
    }));
    assert_eq!(
        verifier.verify(&token).await,
        Err(TokenError::WrongAudience)
    );
}

#[tokio::test]
async fn audience_array_naming_us_is_accepted() {
    let verifier = hs_verifier().await;
    let exp = now() + 600;
    let token = sign_json_hs256(json!({
        "sub": "user-1", "exp": exp, "iss": "kompetanse",
        "aud": ["account", "kompetanse"], "role": "ADMIN", "extra": {"ignored": true},
    }));
    let claims = verifier.verify(&token).await.unwrap();
    assert_eq!(claims.aud.as_deref(), Some("kompetanse"));
    assert_eq!(claims.role, Some(Role::Admin));
    assert_eq!(claims.exp, exp);
}

#[tokio::test]
async fn fractional_dates_are_accepted() {
    let verifier = hs_verifier().await;
    let exp = now() + 600;
    let token = sign_json_hs256(json!({
        "sub": "user-1", "exp": exp as f64 + 0.25, "iat": 1.0e9,
        "iss": "kompetanse", "aud": "kompetanse",
    }));
    let claims = verifier.verify(&token).await.unwrap();
    assert_eq!(claims.exp, exp);
    assert_eq!(claims.iat, Some(1_000_000_000));
}

#[tokio::test]
async fn empty_or_missing_subject_is_refused() {
    let verifier = hs_verifier().await;
    for sub in ["", "   "] {
        let token = mint(&Claims {
            sub: sub.into(),
            ..claims()
        });
        assert_eq!(
            verifier.verify(&token).await,
            Err(TokenError::MissingClaim("sub"))
        );
    }
    let token = sign_json_hs256(json!({
        "exp": now() + 600, "iss": "kompetanse", "aud": "kompetanse",
    }));
    assert_eq!(
        verifier.verify(&token).await,
        Err(TokenError::MissingClaim("sub"))
    );
    let token = sign_json_hs256(json!({
        "sub": 42, "exp": now() + 600, "iss": "kompetanse", "aud": "kompetanse",
    }));
    assert_eq!(verifier.verify(&token).await, Err(TokenError::Malformed));
}

#[tokio::test]
async fn missing_expiry_is_refused() {
    let verifier = hs_verifier().await;
    let token = sign_json_hs256(json!({
        "sub": "user-1", "iss": "kompetanse", "aud": "kompetanse",
    }));
    assert_eq!(
        verifier.verify(&token).await,
        Err(TokenError::MissingClaim("exp"))
    );
}

#[tokio::test]
async fn ill_typed_claims_are_malformed() {
    let verifier = hs_verifier().await;
    let base = || {
        json!({
            "sub": "user-1", "exp": now() + 600, "iss": "kompetanse", "aud": "kompetanse",
        })
    };
    for (claim, value) in [
        ("role", json!("EMPEROR")),
        ("service_id", json!("not-a-uuid")),
        ("exp", json!("tomorrow")),
        ("nbf", json!({})),
    ] {
        let mut payload = base();
        payload[claim] = value;
        assert_eq!(
            verifier.verify(&sign_json_hs256(payload)).await,
            Err(TokenError::Malformed),
            "{claim}"
        );
    }
}

// --- algorithms -------------------------------------------------------------

#[tokio::test]
async fn alg_none_is_refused() {
    let verifier = hs_verifier().await;
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims()).unwrap());
    for token in [
        format!("{header}.{payload}."),
        format!("{header}.{payload}.{}", URL_SAFE_NO_PAD.encode("sig")),
    ] {
        assert_eq!(
            verifier.verify(&token).await,
            Err(TokenError::AlgorithmNotAllowed)
        );
    }
    for alg in ["None", "NONE", "HS512", "HS384", "RS512", "PS256", "ES384"] {
        let header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"{alg}"}}"#));
        assert_eq!(
            verifier.verify(&format!("{header}.{payload}.c2ln")).await,
            Err(TokenError::AlgorithmNotAllowed),
            "{alg}"
        );
    }
}

#[tokio::test]
async fn asymmetric_tokens_need_a_jwks() {
    let verifier = hs_verifier().await;
    let token = sign(Algorithm::ES256, Some("ec-1"), EC_PEM, &claims());
    assert_eq!(
        verifier.verify(&token).await,
        Err(TokenError::AlgorithmNotAllowed)
    );
}

#[tokio::test]
async fn hs_rs_algorithm_swap_is_refused() {
    let settings = AuthSettings {
        jwt_secret: Some(Secret::new(SECRET)),
        jwks: Some(fixture_path("jwks.json")),
        ..AuthSettings::default()
    };
    let both = TokenVerifier::new(&settings, None).await.unwrap();
    let jwks_only = TokenVerifier::new(&jwks_settings(fixture_path("jwks.json")), None)
        .await
        .unwrap();
    // The RSA public key as PEM text and as DER, each used as an HMAC secret.
    let der = STANDARD
        .decode(
            RSA_A_PUB_PEM
                .lines()
                .filter(|l| !l.starts_with("-----"))
                .collect::<String>(),
        )
        .unwrap();
    for secret in [RSA_A_PUB_PEM.as_bytes(), &der] {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("rsa-a".into());
        let token =
            jsonwebtoken::encode(&header, &claims(), &EncodingKey::from_secret(secret)).unwrap();
        assert_eq!(both.verify(&token).await, Err(TokenError::BadSignature));
        assert_eq!(
            jwks_only.verify(&token).await,
            Err(TokenError::AlgorithmNotAllowed)
        );
    }
}

#[tokio::test]
async fn oct_keys_in_the_jwks_are_never_used() {
    let oct = json!({"kty": "oct", "kid": "hs", "k": URL_SAFE_NO_PAD.encode(SECRET)}).to_string();
    let file = JwksFile::new(&jwks_of(&[&oct, RSA_A_JWK]));
    let verifier = TokenVerifier::new(&jwks_settings(file.location()), None)
        .await
        .unwrap();
    let token = sign_raw_hs256(
        SECRET,
        &json!({"alg": "HS256", "kid": "hs"}),
        serde_json::to_vec(&claims()).unwrap().as_slice(),
    );
    assert_eq!(
        verifier.verify(&token).await,
        Err(TokenError::AlgorithmNotAllowed)
    );
}

#[tokio::test]
async fn garbage_is_malformed() {
    let verifier = hs_verifier().await;
    let good = mint(&claims());
    let payload = good.split('.').nth(1).unwrap();
    let signature = good.split('.').nth(2).unwrap();
    let long = format!("{good}{}", "A".repeat(MAX_TOKEN_LEN));
    let garbage = [
        String::new(),
        "abc".into(),
        "a.b".into(),
        "a.b.c".into(),
        "..".into(),
        "a.b.c.d".into(),
        format!("{good}.{signature}"),
        "%%%.%%%.%%%".into(),
        "Bearer x.y.z".into(),
        format!("{}.{payload}.{signature}", URL_SAFE_NO_PAD.encode("[1,2]")),
        format!("{}.{payload}.{signature}", URL_SAFE_NO_PAD.encode("{}")),
        format!(
            "{}.{payload}.{signature}",
            URL_SAFE_NO_PAD.encode(r#"{"alg":5}"#)
        ),
        format!(
            "{}.{payload}.{signature}",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","kid":7}"#)
        ),
        format!(
            "{}.{payload}.{signature}",
            STANDARD.encode(r#"{"alg":"HS256", "x":1}"#) // padded base64
        ),
        format!("{}.{payload}.!!!", good.split('.').next().unwrap()),
        long,
        // Properly signed, but the payload is not a JSON object.
        sign_raw_hs256(SECRET, &json!({"alg": "HS256"}), b"not json"),
        sign_raw_hs256(SECRET, &json!({"alg": "HS256"}), b"[1,2,3]"),
        // A critical header extension nobody here understands.
        sign_raw_hs256(
            SECRET,
            &json!({"alg": "HS256", "crit": ["b64"], "b64": false}),
            serde_json::to_vec(&claims()).unwrap().as_slice(),
        ),
    ];
    for token in garbage {
        assert_eq!(
            verifier.verify(&token).await,
            Err(TokenError::Malformed),
            "{token:.80}"
        );
    }
}

#[test]
fn error_texts_are_short_and_distinct() {
    let all = [
        TokenError::Malformed,
        TokenError::Expired,
        TokenError::NotYetValid,
        TokenError::BadSignature,
        TokenError::WrongIssuer,
        TokenError::WrongAudience,
        TokenError::UnknownKey,
        TokenError::AlgorithmNotAllowed,
        TokenError::MissingClaim("sub"),
        TokenError::KeySetUnavailable,
    ];
    let texts: std::collections::HashSet<String> = all.iter().map(|e| e.to_string()).collect();
    assert_eq!(texts.len(), all.len());
    assert!(texts.iter().all(|t| !t.is_empty() && t.len() < 40));
    assert_eq!(
        TokenError::MissingClaim("sub").to_string(),
        "token lacks the `sub` claim"
    );
}

#[test]
fn minted_claims_use_the_documented_names() {
    let id = Uuid::nil();
    let claims = Claims {
        sub: "s".into(),
        exp: 2,
        iat: Some(1),
        nbf: Some(1),
        iss: Some("i".into()),
        aud: Some("a".into()),
        role: Some(Role::Funder),
        service_id: Some(id),
        provider_id: Some(id),
        funder_office_id: Some(id),
        person_id: Some(id),
    };
    let value = serde_json::to_value(&claims).unwrap();
    let names: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = vec![
        "aud",
        "exp",
        "funder_office_id",
        "iat",
        "iss",
        "nbf",
        "person_id",
        "provider_id",
        "role",
        "service_id",
        "sub",
    ];
    expected.sort_unstable();
    assert_eq!(names, expected);
    assert_eq!(value["role"], "FUNDER");
    assert_eq!(value["aud"], "a");
    let minimal = Claims {
        iat: None,
        nbf: None,
        iss: None,
        aud: None,
        role: None,
        service_id: None,
        provider_id: None,
        funder_office_id: None,
        person_id: None,
        ..claims
    };
    assert_eq!(
        serde_json::to_value(&minimal).unwrap(),
        json!({"sub": "s", "exp": 2})
    );
}

// --- JWKS -------------------------------------------------------------------

#[tokio::test]
async fn rs256_es256_and_eddsa_verify_through_a_jwks_file() {
    let verifier = TokenVerifier::new(&jwks_settings(fixture_path("jwks.json")), None)
        .await
        .unwrap();
    assert_eq!(verifier.hs256_secret(), None);
    for (alg, kid, pem) in [
        (Algorithm::RS256, "rsa-a", RSA_A_PEM),
        (Algorithm::ES256, "ec-1", EC_PEM),
        (Algorithm::EdDSA, "ed-1", ED_PEM),
    ] {
        let claims = claims();
        let token = sign(alg, Some(kid), pem, &claims);
        assert_eq!(verifier.verify(&token).await, Ok(claims), "{alg:?}");
        // The same claims under another issuer still fail on the claim.
        let token = sign(
            alg,
            Some(kid),
            pem,
            &Claims {
                iss: Some("x".into()),
                ..self::claims()
            },
        );
        assert_eq!(
            verifier.verify(&token).await,
            Err(TokenError::WrongIssuer),
            "{alg:?}"
        );
    }
}

#[tokio::test]
async fn jwks_from_a_file_url_is_read() {
    let location = format!("file://{}", fixture_path("jwks.json"));
    let verifier = TokenVerifier::new(&jwks_settings(location), None)
        .await
        .unwrap();
    let token = sign(Algorithm::EdDSA, Some("ed-1"), ED_PEM, &claims());
    assert!(verifier.verify(&token).await.is_ok());
}

#[tokio::test]
async fn key_type_must_match_the_algorithm() {
    let verifier = TokenVerifier::new(&jwks_settings(fixture_path("jwks.json")), None)
        .await
        .unwrap();
    // Signed with the EC key, but naming the RSA key, and the other way round.
    let token = sign(Algorithm::ES256, Some("rsa-a"), EC_PEM, &claims());
    assert_eq!(
        verifier.verify(&token).await,
        Err(TokenError::AlgorithmNotAllowed)
    );
    let token = sign(Algorithm::RS256, Some("ed-1"), RSA_A_PEM, &claims());
    assert_eq!(
        verifier.verify(&token).await,
        Err(TokenError::AlgorithmNotAllowed)
    );
    // The right type, the wrong key.
    let token = sign(Algorithm::RS256, Some("rsa-a"), RSA_B_PEM, &claims());
    assert_eq!(verifier.verify(&token).await, Err(TokenError::BadSignature));
}

#[tokio::test]
async fn a_missing_kid_needs_a_single_key_set() {
    let verifier = TokenVerifier::new(&jwks_settings(fixture_path("jwks.json")), None)
        .await
        .unwrap();
    let token = sign(Algorithm::ES256, None, EC_PEM, &claims());
    assert_eq!(verifier.verify(&token).await, Err(TokenError::UnknownKey));

    let single = JwksFile::new(&jwks_of(&[EC_JWK]));
    let verifier = TokenVerifier::new(&jwks_settings(single.location()), None)
        .await
        .unwrap();
    assert!(verifier.verify(&token).await.is_ok());
    let token = sign(Algorithm::EdDSA, None, ED_PEM, &claims());
    assert_eq!(
        verifier.verify(&token).await,
        Err(TokenError::AlgorithmNotAllowed)
    );

    let single = JwksFile::new(&jwks_of(&[ED_JWK]));
    let verifier = TokenVerifier::new(&jwks_settings(single.location()), None)
        .await
        .unwrap();
    assert!(verifier.verify(&token).await.is_ok());
}

#[tokio::test]
async fn jwks_file_rotation_is_picked_up_on_an_unknown_kid() {
    let file = JwksFile::new(&jwks_of(&[RSA_A_JWK]));
    let verifier = TokenVerifier::new(&jwks_settings(file.location()), None)
        .await
        .unwrap()
        .with_refresh_cooldown(Duration::ZERO);
    let token_a = sign(Algorithm::RS256, Some("rsa-a"), RSA_A_PEM, &claims());
    let token_b = sign(Algorithm::RS256, Some("rsa-b"), RSA_B_PEM, &claims());
    assert!(verifier.verify(&token_a).await.is_ok());
    assert_eq!(verifier.verify(&token_b).await, Err(TokenError::UnknownKey));

    file.write(&jwks_of(&[RSA_A_JWK, RSA_B_JWK]));
    assert!(verifier.verify(&token_b).await.is_ok());
    assert!(verifier.verify(&token_a).await.is_ok());

    // Key A retired: its tokens are refused once the set has been reloaded.
    file.write(&jwks_of(&[RSA_B_JWK]));
    let token_c = sign(Algorithm::EdDSA, Some("ed-1"), ED_PEM, &claims());
    assert_eq!(verifier.verify(&token_c).await, Err(TokenError::UnknownKey));
    assert_eq!(verifier.verify(&token_a).await, Err(TokenError::UnknownKey));
    assert!(verifier.verify(&token_b).await.is_ok());
}

#[tokio::test]
async fn the_cooldown_limits_reloads() {
    let file = JwksFile::new(&jwks_of(&[RSA_A_JWK]));
    let verifier = TokenVerifier::new(&jwks_settings(file.location()), None)
        .await
        .unwrap()
        .with_refresh_cooldown(Duration::from_secs(3600));
    let token_b = sign(Algorithm::RS256, Some("rsa-b"), RSA_B_PEM, &claims());
    // The first unknown kid reloads (the file still has only A) ...
    assert_eq!(verifier.verify(&token_b).await, Err(TokenError::UnknownKey));
    // ... and within the cooldown the rewritten file is not read again.
    file.write(&jwks_of(&[RSA_A_JWK, RSA_B_JWK]));
    assert_eq!(verifier.verify(&token_b).await, Err(TokenError::UnknownKey));
}

#[tokio::test]
async fn the_default_cooldown_is_thirty_seconds() {
    let verifier = TokenVerifier::new(&jwks_settings(fixture_path("jwks.json")), None)
        .await
        .unwrap();
    assert_eq!(
        verifier.jwks.as_ref().unwrap().cooldown,
        Duration::from_secs(30)
    );
}

#[tokio::test]
async fn a_failed_reload_keeps_the_old_keys() {
    let file = JwksFile::new(&jwks_of(&[RSA_A_JWK]));
    let verifier = TokenVerifier::new(&jwks_settings(file.location()), None)
        .await
        .unwrap()
        .with_refresh_cooldown(Duration::ZERO);
    let token_a = sign(Algorithm::RS256, Some("rsa-a"), RSA_A_PEM, &claims());
    let token_b = sign(Algorithm::RS256, Some("rsa-b"), RSA_B_PEM, &claims());
    for broken in ["garbage", "{\"keys\":[]}"] {
        file.write(broken);
        assert_eq!(verifier.verify(&token_b).await, Err(TokenError::UnknownKey));
        assert!(verifier.verify(&token_a).await.is_ok());
    }
    std::fs::remove_file(&file.path).unwrap();
    assert_eq!(verifier.verify(&token_b).await, Err(TokenError::UnknownKey));
    assert!(verifier.verify(&token_a).await.is_ok());
}

#[tokio::test]
async fn jwks_url_rotation_and_fetch_count() {
    let server = JwksServer::start(&jwks_of(&[RSA_A_JWK])).await;
    let verifier = TokenVerifier::new(&jwks_settings(server.url.clone()), None)
        .await
        .unwrap()
        .with_refresh_cooldown(Duration::ZERO);
    assert_eq!(server.hits(), 1);
    let token_a = sign(Algorithm::RS256, Some("rsa-a"), RSA_A_PEM, &claims());
    let token_b = sign(Algorithm::RS256, Some("rsa-b"), RSA_B_PEM, &claims());

    // Known keys are served from memory.
    assert!(verifier.verify(&token_a).await.is_ok());
    assert!(verifier.verify(&token_a).await.is_ok());
    assert_eq!(server.hits(), 1);

    // An unknown kid fetches the set again.
    assert_eq!(verifier.verify(&token_b).await, Err(TokenError::UnknownKey));
    assert_eq!(server.hits(), 2);

    server.serve(200, &jwks_of(&[RSA_A_JWK, RSA_B_JWK]));
    assert!(verifier.verify(&token_b).await.is_ok());
    assert_eq!(server.hits(), 3);
    assert!(verifier.verify(&token_b).await.is_ok());
    assert_eq!(server.hits(), 3);

    // The provider fails: the keys in hand stay usable.
    server.serve(503, "down");
    let token_c = sign(Algorithm::ES256, Some("ec-1"), EC_PEM, &claims());
    assert_eq!(verifier.verify(&token_c).await, Err(TokenError::UnknownKey));
    assert_eq!(server.hits(), 4);
    assert!(verifier.verify(&token_a).await.is_ok());
    assert!(verifier.verify(&token_b).await.is_ok());
}

#[tokio::test]
async fn jwks_url_reloads_respect_the_cooldown() {
    let server = JwksServer::start(&jwks_of(&[RSA_A_JWK])).await;
    let verifier = TokenVerifier::new(&jwks_settings(server.url.clone()), None)
        .await
        .unwrap();
    let junk: Vec<String> = (0..5)
        .map(|i| {
            sign_raw_hs256(
                SECRET,
                &json!({"alg": "RS256", "kid": format!("junk-{i}")}),
                b"{}",
            )
        })
        .collect();
    for token in &junk {
        assert_eq!(verifier.verify(token).await, Err(TokenError::UnknownKey));
    }
    // One reload for all the junk kids, within the default cooldown.
    assert_eq!(server.hits(), 2);

    let token_b = sign(Algorithm::RS256, Some("rsa-b"), RSA_B_PEM, &claims());
    server.serve(200, &jwks_of(&[RSA_A_JWK, RSA_B_JWK]));
    assert_eq!(verifier.verify(&token_b).await, Err(TokenError::UnknownKey));
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn concurrent_unknown_kids_share_one_fetch() {
    let server = JwksServer::start(&jwks_of(&[RSA_A_JWK])).await;
    let verifier = Arc::new(
        TokenVerifier::new(&jwks_settings(server.url.clone()), None)
            .await
            .unwrap()
            .with_refresh_cooldown(Duration::ZERO),
    );
    server.serve(200, &jwks_of(&[RSA_A_JWK, RSA_B_JWK]));
    let token_b = sign(Algorithm::RS256, Some("rsa-b"), RSA_B_PEM, &claims());
    let results = futures_util::future::join_all((0..20).map(|_| verifier.verify(&token_b))).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(server.hits(), 2);
}

/// Claims values a property test picks from: the right types, wrong
/// types, edge numbers and hostile text.
fn claim_value() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
    use proptest::prelude::*;
    prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        Just(json!(now() + 600)),
        Just(json!("kompetanse")),
        Just(json!(["kompetanse", "other"])),
        Just(json!("ADMIN")),
        Just(json!(Uuid::now_v7())),
        "\\PC{0,40}".prop_map(serde_json::Value::from),
        ".{0,300}".prop_map(serde_json::Value::from),
    ]
}

proptest::proptest! {
    /// Any text as a token, and any validly signed payload: refused with a
    /// token error, or claims with a usable subject. Never a panic.
    #[test]
    fn prop_any_token_is_refused_or_sound(
        text in "\\PC{0,200}|[A-Za-z0-9_.-]{0,200}",
        claims in proptest::collection::btree_map(
            proptest::sample::select(vec![
                "sub", "exp", "nbf", "iat", "iss", "aud", "role", "service_id",
                "provider_id", "funder_office_id", "person_id", "x",
            ]),
            claim_value(),
            0..12,
        ),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let verifier = runtime.block_on(hs_verifier());
        let _ = runtime.block_on(verifier.verify(&text));
        let payload = serde_json::Value::Object(
            claims.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        );
        if let Ok(claims) = runtime.block_on(verifier.verify(&sign_json_hs256(payload))) {
            proptest::prop_assert!(!claims.sub.trim().is_empty());
            proptest::prop_assert!(!claims.sub.chars().any(char::is_control));
            proptest::prop_assert!(claims.sub.chars().count() <= MAX_SUBJECT);
        }
    }
}
