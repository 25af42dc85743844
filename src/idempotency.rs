//! Idempotent requests: a client that sends an `Idempotency-Key` header with
//! a POST and retries it (after a timeout, a dropped connection, an unclear
//! answer) gets the first answer again instead of a second write.
//!
//! Keys belong to the token's subject; requests without a token cannot
//! write, so their key is ignored. The first request with a key claims it
//! (`pending`, owned by its attempt) before it runs:
//!
//! - If the request commits a write, [`mark_committed`] sets the key to
//!   `committed` *inside that write's transaction*, so the key says
//!   `committed` exactly when the write was saved; the answer is stored
//!   afterwards (`done`).
//! - If nothing was committed (the request was refused, failed validation,
//!   or was only a query), the key is released: a retry runs afresh.
//!
//! A later request with the same key and subject:
//!
//! - with another document, operation or variables: refused (422,
//!   CONFLICT); a key names one request;
//! - while the first still runs (until its answer is stored, or its lease
//!   runs out): refused (409, CONFLICT, `Retry-After`);
//! - after the first was answered: the stored answer, unchanged, with
//!   `Idempotent-Replayed: true`, and nothing written again;
//! - after the first committed but lost its answer (the database went away
//!   before the answer was read or stored) and its lease ran out:
//!   WRITE_COMMITTED, never a second write;
//! - after an attempt that never finished (the server died, or the commit's
//!   outcome was unknown) and whose lease ran out: the retry takes the key
//!   over and runs; the database's state says whether the first attempt's
//!   write happened (a committed write leaves the key `committed`).
//!
//! Keys expire [`TTL`] after their first use; [`purge_expired`] deletes them.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::Utc;
use entity::idempotency_key::{self, Column};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter,
    Set,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};

/// The request header that carries the key.
pub const HEADER: &str = "idempotency-key";
/// The answer header of a replayed answer.
pub const REPLAYED: &str = "idempotent-replayed";
/// Longest key (characters).
pub const MAX_KEY: usize = 255;
/// How long a key is remembered after its first use.
pub const TTL: Duration = Duration::from_secs(24 * 60 * 60);
/// Longest answer stored for replay; a longer one leaves the key
/// `committed` (a retry is told WRITE_COMMITTED).
pub const MAX_STORED: usize = 1 << 20;

const PENDING: &str = "pending";
const COMMITTED: &str = "committed";
const DONE: &str = "done";

/// How long an attempt owns its key: past this, a retry may take it over.
/// Longer than any request may run (the request timeout), with a margin.
pub fn lease(request_timeout: Duration) -> Duration {
    request_timeout + Duration::from_secs(5)
}

/// The key of a request, if it sent one: 1 to [`MAX_KEY`] visible ASCII
/// characters. The error is the message for BAD_USER_INPUT.
pub fn key_from(headers: &actix_web::http::header::HeaderMap) -> Result<Option<String>, String> {
    let mut values = headers.get_all(HEADER);
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err("send one Idempotency-Key header, not several".into());
    }
    let bytes = value.as_bytes();
    if bytes.is_empty() || bytes.len() > MAX_KEY || !bytes.iter().all(|b| b.is_ascii_graphic()) {
        return Err(format!(
            "the Idempotency-Key must be 1 to {MAX_KEY} visible ASCII characters \
             (a UUID is a good key)"
        ));
    }
    Ok(Some(String::from_utf8_lossy(bytes).into_owned()))
}

/// The fingerprint of a request: SHA-256 of its document, operation name,
/// variables and persisted-query hash, each length-prefixed.
pub fn request_hash(request: &async_graphql::Request) -> String {
    let mut hash = Sha256::new();
    let mut part = |bytes: &[u8]| {
        hash.update((bytes.len() as u64).to_be_bytes());
        hash.update(bytes);
    };
    part(request.query.as_bytes());
    part(request.operation_name.as_deref().unwrap_or("").as_bytes());
    // Through serde_json's map, whose keys are sorted: the same variables
    // in another order are the same request.
    let variables = serde_json::to_value(&request.variables)
        .map(|v| v.to_string())
        .unwrap_or_default();
    part(variables.as_bytes());
    let persisted = request
        .extensions
        .get("persistedQuery")
        .and_then(|v| serde_json::to_value(v).ok())
        .map(|v| v.to_string())
        .unwrap_or_default();
    part(persisted.as_bytes());
    hex(&hash.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What a request's key allows.
pub enum Claim {
    /// The request runs under this scope.
    Run(Arc<WriteScope>),
    /// The first answer, to send again (JSON text).
    Replay(String),
    /// The key was used with another request.
    Mismatch,
    /// The first attempt still runs; come back after this many seconds.
    InProgress { retry_after: u64 },
    /// The first attempt's write was saved but its answer lost.
    CommittedUnanswered,
}

/// The write state of one request, shared by the request's task (a task
/// local, see [`run`]) and the HTTP layer.
#[derive(Debug, Default)]
pub struct WriteScope {
    key: Option<HeldKey>,
    committed: AtomicBool,
    unknown: AtomicBool,
}

#[derive(Debug, Clone)]
struct HeldKey {
    subject: String,
    key: String,
    attempt: Uuid,
}

impl WriteScope {
    /// A scope without a key: the request's writes are only tracked, so
    /// that errors after a commit say so.
    pub fn unkeyed() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Whether a write of this request has committed.
    pub fn committed(&self) -> bool {
        self.committed.load(Ordering::SeqCst)
    }
}

tokio::task_local! {
    static SCOPE: Arc<WriteScope>;
}

/// Runs a request's execution with its write scope.
pub async fn run<F: Future>(scope: Arc<WriteScope>, future: F) -> F::Output {
    SCOPE.scope(scope, future).await
}

/// Whether a write of the running request has committed (false outside a
/// request).
pub fn committed() -> bool {
    SCOPE.try_with(|s| s.committed()).unwrap_or(false)
}

/// Inside a write's transaction, just before its commit: marks the
/// request's key `committed`, so that the key's state commits with the
/// write. A key that another attempt took over (this attempt outlived its
/// lease) stops the write: CONFLICT, and the transaction rolls back.
pub async fn mark_committed(txn: &impl ConnectionTrait) -> ApiResult<()> {
    let Some(held) = SCOPE.try_with(|s| s.key.clone()).ok().flatten() else {
        return Ok(());
    };
    let updated = idempotency_key::Entity::update_many()
        .col_expr(Column::State, Expr::value(COMMITTED))
        .filter(Column::Subject.eq(held.subject.as_str()))
        .filter(Column::Key.eq(held.key.as_str()))
        .filter(Column::Attempt.eq(held.attempt))
        .exec(txn)
        .await?;
    if updated.rows_affected == 0 {
        return Err(ApiError::Conflict(
            "another attempt with this Idempotency-Key took it over; nothing was written".into(),
        ));
    }
    Ok(())
}

/// After a commit returned: the request has written.
pub fn note_committed() {
    let _ = SCOPE.try_with(|s| s.committed.store(true, Ordering::SeqCst));
}

/// After a commit failed on the way: whether it was saved is unknown.
pub fn note_unknown() {
    let _ = SCOPE.try_with(|s| s.unknown.store(true, Ordering::SeqCst));
}

/// Claims `key` of `subject` for a request with fingerprint `hash`.
pub async fn claim(
    db: &DatabaseConnection,
    subject: &str,
    key: &str,
    hash: &str,
    lease: Duration,
) -> ApiResult<Claim> {
    let lease = chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::seconds(60));
    let ttl = chrono::Duration::from_std(TTL).unwrap_or(chrono::Duration::days(1));
    // A few rounds at most: each lost race means another request changed
    // the row in between, and the next round reads what it did.
    for _ in 0..4 {
        let now = Utc::now();
        let attempt = Uuid::now_v7();
        let held = || {
            Arc::new(WriteScope {
                key: Some(HeldKey {
                    subject: subject.to_owned(),
                    key: key.to_owned(),
                    attempt,
                }),
                ..WriteScope::default()
            })
        };
        let insert = idempotency_key::Entity::insert(idempotency_key::ActiveModel {
            subject: Set(subject.to_owned()),
            key: Set(key.to_owned()),
            request_hash: Set(hash.to_owned()),
            attempt: Set(attempt),
            state: Set(PENDING.to_owned()),
            response: Set(None),
            created_at: Set(now),
            claimed_at: Set(now),
        })
        .exec_without_returning(db)
        .await;
        match insert {
            Ok(_) => return Ok(Claim::Run(held())),
            Err(err) if is_unique_violation(&err) => {}
            Err(err) => return Err(err.into()),
        }
        let Some(row) = idempotency_key::Entity::find_by_id((subject.to_owned(), key.to_owned()))
            .one(db)
            .await?
        else {
            continue; // released in between: claim again
        };
        if row.created_at + ttl < now {
            // Expired: forget it and claim afresh.
            idempotency_key::Entity::delete_many()
                .filter(Column::Subject.eq(subject))
                .filter(Column::Key.eq(key))
                .filter(Column::Attempt.eq(row.attempt))
                .exec(db)
                .await?;
            continue;
        }
        if row.request_hash != hash {
            return Ok(Claim::Mismatch);
        }
        if row.state == DONE
            && let Some(response) = row.response
        {
            return Ok(Claim::Replay(response));
        }
        // Pending, or committed with its answer not stored yet: while the
        // attempt may still run, the retry waits for it.
        let free_at = row.claimed_at + lease;
        if free_at > now {
            let wait = (free_at - now).num_seconds().max(1);
            return Ok(Claim::InProgress {
                retry_after: u64::try_from(wait).unwrap_or(1),
            });
        }
        if row.state != PENDING {
            return Ok(Claim::CommittedUnanswered);
        }
        // The attempt outlived its lease without committing: take over.
        let taken = idempotency_key::Entity::update_many()
            .col_expr(Column::Attempt, Expr::value(attempt))
            .col_expr(Column::ClaimedAt, Expr::value(now))
            .filter(Column::Subject.eq(subject))
            .filter(Column::Key.eq(key))
            .filter(Column::Attempt.eq(row.attempt))
            .filter(Column::State.eq(PENDING))
            .exec(db)
            .await?;
        if taken.rows_affected == 1 {
            return Ok(Claim::Run(held()));
        }
    }
    Err(ApiError::Conflict(
        "the Idempotency-Key is being used by other requests at this moment; retry".into(),
    ))
}

/// After the request ran: stores the answer of a request that wrote, or
/// releases the key of one that did not. A key whose commit had an unknown
/// outcome, or whose request was cut off, stays `pending` until its lease
/// runs out. Failures are logged: the answer goes out either way.
pub async fn settle(db: &DatabaseConnection, scope: &WriteScope, answer: Option<&str>) {
    let Some(held) = &scope.key else {
        return;
    };
    let mine = || {
        Condition::all()
            .add(Column::Subject.eq(held.subject.as_str()))
            .add(Column::Key.eq(held.key.as_str()))
            .add(Column::Attempt.eq(held.attempt))
    };
    let result = if scope.committed() {
        let Some(answer) = answer.filter(|a| a.len() <= MAX_STORED) else {
            return;
        };
        idempotency_key::Entity::update_many()
            .col_expr(Column::State, Expr::value(DONE))
            .col_expr(Column::Response, Expr::value(answer))
            .filter(mine())
            .exec(db)
            .await
            .map(|_| ())
    } else if scope.unknown.load(Ordering::SeqCst) || answer.is_none() {
        return;
    } else {
        idempotency_key::Entity::delete_many()
            .filter(mine())
            .filter(Column::State.eq(PENDING))
            .exec(db)
            .await
            .map(|_| ())
    };
    if let Err(err) = result {
        tracing::warn!(error = %err, "settling an idempotency key failed");
    }
}

/// Deletes the keys older than [`TTL`]; returns how many.
pub async fn purge_expired(db: &DatabaseConnection) -> Result<u64, DbErr> {
    let ttl = chrono::Duration::from_std(TTL).unwrap_or(chrono::Duration::days(1));
    let deleted = idempotency_key::Entity::delete_many()
        .filter(Column::CreatedAt.lt(Utc::now() - ttl))
        .exec(db)
        .await?;
    Ok(deleted.rows_affected)
}

fn is_unique_violation(err: &DbErr) -> bool {
    matches!(
        err.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
    use proptest::prelude::*;

    use super::*;

    fn headers(values: &[&[u8]]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(
                HeaderName::from_static(HEADER),
                HeaderValue::from_bytes(v).expect("header value"),
            );
        }
        map
    }

    #[test]
    fn keys_are_visible_ascii_of_bounded_length() {
        assert_eq!(key_from(&headers(&[])), Ok(None));
        assert_eq!(
            key_from(&headers(&[b"0190f3a2-7c1e-7000-8000-000000000001"])),
            Ok(Some("0190f3a2-7c1e-7000-8000-000000000001".into()))
        );
        assert!(key_from(&headers(&[b""])).is_err());
        assert!(key_from(&headers(&[b"a b"])).is_err());
        assert!(key_from(&headers(&[b"\xc3\xa6"])).is_err());
        assert!(key_from(&headers(&[&[b'k'; MAX_KEY + 1]])).is_err());
        assert!(key_from(&headers(&[&[b'k'; MAX_KEY]])).is_ok());
        assert!(key_from(&headers(&[b"one", b"two"])).is_err());
    }

    #[test]
    fn the_fingerprint_tells_requests_apart_but_not_variable_order() {
        let request = |query: &str, vars: serde_json::Value| {
            async_graphql::Request::new(query).variables(async_graphql::Variables::from_json(vars))
        };
        let a = request("mutation { a }", serde_json::json!({"x": 1, "y": 2}));
        let b = request("mutation { a }", serde_json::json!({"y": 2, "x": 1}));
        let c = request("mutation { a }", serde_json::json!({"x": 1, "y": 3}));
        let d = request("mutation { b }", serde_json::json!({"x": 1, "y": 2}));
        assert_eq!(request_hash(&a), request_hash(&b));
        assert_ne!(request_hash(&a), request_hash(&c));
        assert_ne!(request_hash(&a), request_hash(&d));
        let named =
            request("mutation { a }", serde_json::json!({"x": 1, "y": 2})).operation_name("A");
        assert_ne!(request_hash(&a), request_hash(&named));
        assert_eq!(request_hash(&a).len(), 64);
    }

    proptest! {
        #[test]
        fn prop_any_header_bytes_give_a_key_or_an_error(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(value) = HeaderValue::from_bytes(&bytes) {
                let mut map = HeaderMap::new();
                map.insert(HeaderName::from_static(HEADER), value);
                match key_from(&map) {
                    Ok(Some(key)) => prop_assert!(key.len() <= MAX_KEY && !key.is_empty()),
                    Ok(None) => prop_assert!(false, "a header was sent"),
                    Err(_) => {}
                }
            }
        }
    }
}
