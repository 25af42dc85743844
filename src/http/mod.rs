//! GraphQL over HTTP, GraphiQL, health and readiness.
//!
//! - `POST /graphql`: JSON (`application/json`) or `application/graphql`
//!   bodies. Answers `application/json` (always 200 with the errors in the
//!   body), or `application/graphql-response+json` when the client accepts it
//!   (then a request that could not run at all is a 4xx).
//! - `GET /graphql?query=…`: queries only; a mutation is 405. With
//!   `Accept: text/html` and no query, GraphiQL.
//! - `GET /healthz`: the process is up. `GET /readyz`: the database answers.
//!
//! `/graphql` is guarded: bodies larger than `KOMPETANSE_MAX_BODY_BYTES` are
//! 413, executions longer than `KOMPETANSE_REQUEST_TIMEOUT_SECS` are 503, and
//! a client (token subject, else peer IP) over
//! `KOMPETANSE_RATE_LIMIT_PER_MINUTE` is 429; all with `LIMIT_EXCEEDED`.

pub mod graphiql;
pub mod guards;
pub mod prometheus;

use std::time::Instant;

use crate::db::Pools;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, web};
use async_graphql::parser::types::OperationType;
use serde_json::json;
use tracing::Instrument;
use uuid::Uuid;

use crate::auth::authenticate::Authenticator;
use crate::error::{ApiError, codes};
use crate::graphql::{self, AppSchema};
use crate::idempotency::{self, Claim, WriteScope};

pub use guards::Guards;

/// The media type of the GraphQL-over-HTTP specification.
pub const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

/// Registers the routes of the API.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/graphql")
            .route(web::post().to(graphql_endpoint))
            .route(web::get().to(graphql_endpoint)),
    )
    .route("/graphiql/{file}", web::get().to(graphiql::file))
    .route("/metrics", web::get().to(prometheus::endpoint))
    .route("/healthz", web::get().to(healthz))
    .route("/readyz", web::get().to(readyz));
}

/// How the client wants its response.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Flavour {
    Json,
    GraphqlResponseJson,
}

fn accepts(req: &HttpRequest, media: &str) -> bool {
    req.headers()
        .get_all(header::ACCEPT)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|part| {
            part.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case(media))
        })
}

fn flavour(req: &HttpRequest) -> Flavour {
    if accepts(req, GRAPHQL_RESPONSE_JSON) {
        Flavour::GraphqlResponseJson
    } else {
        Flavour::Json
    }
}

fn json_response(status: StatusCode, flavour: Flavour, body: String) -> HttpResponse {
    let content_type = match flavour {
        Flavour::Json => "application/json",
        Flavour::GraphqlResponseJson => GRAPHQL_RESPONSE_JSON,
    };
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, content_type))
        .body(body)
}

/// A response for a request that never reached the schema.
fn request_error(status: StatusCode, flavour: Flavour, code: &str, message: &str) -> HttpResponse {
    let body = json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    json_response(status, flavour, body.to_string())
}

async fn graphql_endpoint(
    http: HttpRequest,
    schema: web::Data<AppSchema>,
    pools: web::Data<Pools>,
    auth: web::Data<Authenticator>,
    guards: web::Data<Guards>,
    payload: web::Payload,
) -> HttpResponse {
    let flavour = flavour(&http);
    if http.head().upgrade() {
        // A WebSocket upgrade (what a subscription client sends first) is
        // answered at once instead of waiting for a body that never comes.
        let mut response = request_error(
            StatusCode::BAD_REQUEST,
            flavour,
            codes::BAD_USER_INPUT,
            "this server offers no WebSocket subscriptions; send queries and mutations as \
             HTTP POST or GET to /graphql",
        );
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return response;
    }
    let is_get = http.method() == Method::GET;
    if is_get && http.query_string().is_empty() && accepts(&http, "text/html") {
        return graphiql::page();
    }
    // Authenticate once, at the edge: a bad token is a 401, never anonymous.
    // Token and rate limit come before the body is read, so that a client
    // that stalls its body is counted like any other.
    let authorization = http
        .headers()
        .get(header::AUTHORIZATION)
        .map(HeaderValue::as_bytes);
    let viewer = match auth.viewer(authorization).await {
        Ok(viewer) => viewer,
        Err(err) => return viewer_refusal(&err, flavour),
    };

    // Count the request against its client: the verified subject, else the
    // peer address (never a forwarded-for header, which anyone can send).
    let client = match &viewer.subject {
        Some(subject) => format!("sub:{subject}"),
        None => match http.peer_addr() {
            Some(addr) => format!("ip:{}", addr.ip()),
            None => "ip:unknown".to_owned(),
        },
    };
    if let Some(refusal) = guards.rate_refusal(client, flavour) {
        return refusal;
    }

    if !is_get && !readable_media_type(&http) {
        // GraphQL over HTTP: a POST says what its body is, in a type the
        // server reads.
        return request_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            flavour,
            codes::BAD_USER_INPUT,
            "a POST needs a Content-Type: application/json (or application/graphql, or \
             multipart/form-data)",
        );
    }
    let body = if is_get {
        web::Bytes::new()
    } else {
        match guards.read_body(http.headers(), payload).await {
            Ok(body) => body,
            Err(err) => return guards::body_refusal(&err, flavour),
        }
    };
    let request = match read_request(&http, &body).await {
        Ok(request) => request,
        Err((status, message)) => {
            let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
                codes::LIMIT_EXCEEDED
            } else {
                codes::BAD_USER_INPUT
            };
            return request_error(
                status,
                flavour,
                code,
                &format!("the request could not be read: {message}"),
            );
        }
    };
    let mut request = request;
    match document_id(&http, &body) {
        Ok(Some(id)) => {
            request.extensions.insert(
                graphql::persisted::DOCUMENT_ID.to_owned(),
                async_graphql::Value::String(id),
            );
        }
        Ok(None) => {}
        Err(message) => {
            return request_error(
                StatusCode::BAD_REQUEST,
                flavour,
                codes::BAD_USER_INPUT,
                &message,
            );
        }
    }
    if request.query.trim().is_empty()
        && !request.extensions.contains_key("persistedQuery")
        && !request
            .extensions
            .contains_key(graphql::persisted::DOCUMENT_ID)
    {
        return request_error(
            StatusCode::BAD_REQUEST,
            flavour,
            codes::BAD_USER_INPUT,
            "no GraphQL query in the request",
        );
    }
    let (kind, name) = operation_of(&request);
    let mutates = kind == Some(OperationType::Mutation);
    if is_get && mutates {
        let mut response = request_error(
            StatusCode::METHOD_NOT_ALLOWED,
            flavour,
            codes::BAD_USER_INPUT,
            "mutations are only accepted with POST",
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }

    let anonymous = viewer.subject.is_none();
    let scope = match idempotent(&http, &request, viewer.subject.as_deref(), &pools, &guards).await
    {
        Ok(scope) => scope,
        Err(answer) => return *answer,
    };

    let operation = prometheus::operation_label(name.as_deref());
    // Queries sent as text may read from the replica; mutations and
    // documents sent by hash only (whose kind is not known yet) use the
    // primary.
    let db = pools.for_request(mutates || request.query.trim().is_empty());
    let mut request = graphql::prepare_request(request, db, viewer);
    if is_get {
        // A persisted mutation asked for by GET is refused by the
        // document rules, which see the document once it is known.
        request = request.data(graphql::rules::ViaGet);
    }
    // The operation's name joins the request's span, so that the
    // request's log line names it (a bounded label, never the document).
    tracing::Span::current().record("operation", operation.as_str());
    let graphql_span = tracing::info_span!("graphql", operation = %operation);
    let started = Instant::now();
    let execution = guards.within_timeout(schema.execute(request).instrument(graphql_span.clone()));
    let Some(response) = idempotency::run(scope.clone(), execution).await else {
        let timed_out = [codes::LIMIT_EXCEEDED.to_owned()];
        crate::telemetry::record_operation_errors(&graphql_span, &timed_out);
        prometheus::graphql_operation(operation, &timed_out, started.elapsed());
        return guards::timeout_response(flavour);
    };
    let error_codes: Vec<String> = response
        .errors
        .iter()
        .map(|e| {
            e.extensions
                .as_ref()
                .and_then(|x| x.get("code"))
                .and_then(|v| match v {
                    async_graphql::Value::String(code) => Some(code.clone()),
                    _ => None,
                })
                .unwrap_or_else(|| codes::INTERNAL_SERVER_ERROR.to_owned())
        })
        .collect();
    crate::telemetry::record_operation_errors(&graphql_span, &error_codes);
    prometheus::graphql_operation(operation, &error_codes, started.elapsed());

    // A request refused for load: 503 with `Retry-After`, whatever the
    // flavour, so that clients and proxies back off.
    let retry_after = response.errors.iter().find_map(|e| {
        e.extensions
            .as_ref()
            .and_then(|x| x.get(graphql::errors::RETRY_AFTER))
            .and_then(|v| match v {
                async_graphql::Value::Number(n) => n.as_u64(),
                _ => None,
            })
    });
    let allow = response.errors.iter().find_map(|e| {
        e.extensions
            .as_ref()
            .and_then(|x| x.get(graphql::rules::ALLOW))
            .and_then(|v| match v {
                async_graphql::Value::String(method) => HeaderValue::from_str(method).ok(),
                _ => None,
            })
    });
    let status = if retry_after.is_some() {
        StatusCode::SERVICE_UNAVAILABLE
    } else if allow.is_some() {
        StatusCode::METHOD_NOT_ALLOWED
    } else if flavour == Flavour::GraphqlResponseJson
        && response.data == async_graphql::Value::Null
        && response.is_err()
    {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let body = answer_json(&response).map(|body| {
        if guards.response_too_large(body.len()) {
            tracing::warn!(
                bytes = body.len(),
                "answer over the response limit; replaced"
            );
            json!({ "errors": [{
                "message": "the answer is larger than the server's response limit; ask for \
                            fewer fields, smaller pages or fewer aliases",
                "extensions": { "code": codes::LIMIT_EXCEEDED },
            }] })
            .to_string()
        } else {
            body
        }
    });
    idempotency::settle(&pools.primary, &scope, body.as_deref().ok()).await;
    match body {
        Ok(body) => {
            let shareable = is_get && anonymous && status == StatusCode::OK && !response.is_err();
            if shareable {
                return guards.cached(&http, flavour, body);
            }
            let mut answer = json_response(status, flavour, body);
            let headers = answer.headers_mut();
            headers.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static(if anonymous {
                    "no-store"
                } else {
                    "private, no-store"
                }),
            );
            if let Some(secs) = retry_after {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            if let Some(methods) = allow {
                headers.insert(header::ALLOW, methods);
            }
            answer
        }
        Err(err) => {
            tracing::error!(error = %err, "response serialisation failed");
            request_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                flavour,
                codes::INTERNAL_SERVER_ERROR,
                "internal server error",
            )
        }
    }
}

/// Whether a POST's `Content-Type` is one the server reads: JSON, a bare
/// GraphQL document, or a multipart upload.
fn readable_media_type(http: &HttpRequest) -> bool {
    let Some(value) = http
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or("").trim();
    [
        "application/json",
        "application/graphql",
        "multipart/form-data",
    ]
    .iter()
    .any(|m| essence.eq_ignore_ascii_case(m))
}

/// The answer as JSON text. A request that failed before it ran (it did
/// not parse or validate, or a rule refused it: every error without a
/// path, and no data) has no `data` entry, as the GraphQL specification
/// asks; `data: null` stays for an execution whose root was nulled.
fn answer_json(response: &async_graphql::Response) -> serde_json::Result<String> {
    let before_execution = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    if !before_execution {
        return serde_json::to_string(response);
    }
    let mut value = serde_json::to_value(response)?;
    if let Some(map) = value.as_object_mut() {
        map.remove("data");
    }
    serde_json::to_string(&value)
}

/// The write scope of a request: with its `Idempotency-Key` claimed when
/// a viewer with a subject sends one with a POST (see
/// [`crate::idempotency`]), else without a key. `Err` is the answer to send
/// instead of running the request: a bad key, a replay, a key in use.
async fn idempotent(
    http: &HttpRequest,
    request: &async_graphql::Request,
    subject: Option<&str>,
    pools: &Pools,
    guards: &Guards,
) -> Result<std::sync::Arc<WriteScope>, Box<HttpResponse>> {
    let flavour = flavour(http);
    let key = idempotency::key_from(http.headers()).map_err(|message| {
        let body = json!({ "errors": [{ "message": message,
            "extensions": { "code": codes::BAD_USER_INPUT, "field": "Idempotency-Key" } }] });
        Box::new(json_response(
            StatusCode::BAD_REQUEST,
            flavour,
            body.to_string(),
        ))
    })?;
    // Without a token nothing can be written, so a key has nothing to
    // protect; a GET never writes.
    let (Some(key), Some(subject)) = (key, subject) else {
        return Ok(WriteScope::unkeyed());
    };
    if http.method() == Method::GET {
        return Ok(WriteScope::unkeyed());
    }
    let hash = idempotency::request_hash(request);
    let lease = idempotency::lease(guards.timeout());
    let claim = idempotency::claim(&pools.primary, subject, &key, &hash, lease).await;
    let refusal =
        |status, code, message: &str| Err(Box::new(request_error(status, flavour, code, message)));
    match claim {
        Ok(Claim::Run(scope)) => Ok(scope),
        Ok(Claim::Replay(body)) => {
            let mut answer = json_response(StatusCode::OK, flavour, body);
            answer.headers_mut().insert(
                header::HeaderName::from_static(idempotency::REPLAYED),
                HeaderValue::from_static("true"),
            );
            Err(Box::new(answer))
        }
        Ok(Claim::Mismatch) => refusal(
            StatusCode::UNPROCESSABLE_ENTITY,
            codes::CONFLICT,
            "this Idempotency-Key was first used with another request (document, operation \
             or variables); a new request needs a new key",
        ),
        Ok(Claim::InProgress { retry_after }) => {
            let mut answer = request_error(
                StatusCode::CONFLICT,
                flavour,
                codes::CONFLICT,
                "a request with this Idempotency-Key is still running; retry after it ends",
            );
            answer
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            Err(Box::new(answer))
        }
        Ok(Claim::CommittedUnanswered) => refusal(
            StatusCode::OK,
            codes::WRITE_COMMITTED,
            "the request with this Idempotency-Key was saved, but its answer was lost; read \
             the data to see the result instead of writing again",
        ),
        Err(ApiError::ServiceUnavailable(cause)) => {
            tracing::warn!(error = %cause, "claiming an idempotency key failed");
            let mut answer = request_error(
                StatusCode::SERVICE_UNAVAILABLE,
                flavour,
                codes::SERVICE_UNAVAILABLE,
                "the database is unavailable; nothing was written; try again shortly",
            );
            answer
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            Err(Box::new(answer))
        }
        Err(ApiError::Conflict(message)) => {
            refusal(StatusCode::CONFLICT, codes::CONFLICT, &message)
        }
        Err(err) => {
            tracing::error!(error = %err, "claiming an idempotency key failed");
            refusal(
                StatusCode::INTERNAL_SERVER_ERROR,
                codes::INTERNAL_SERVER_ERROR,
                "internal server error",
            )
        }
    }
}

/// The answer when the viewer could not be made from the token: 401 for a
/// bad token; 503 (with `Retry-After`) when the database that checks the
/// token's scope cannot be reached, so that a client keeps its token; 500
/// for anything else.
fn viewer_refusal(err: &ApiError, flavour: Flavour) -> HttpResponse {
    let (status, header) = match err {
        ApiError::Unauthenticated(_) => (
            StatusCode::UNAUTHORIZED,
            (
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            ),
        ),
        ApiError::ServiceUnavailable(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            (header::RETRY_AFTER, HeaderValue::from_static("1")),
        ),
        other => {
            if let ApiError::Internal(cause) = other {
                tracing::error!(error = %cause, "checking the token failed");
            }
            return request_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                flavour,
                codes::INTERNAL_SERVER_ERROR,
                "internal server error",
            );
        }
    };
    let mut response = request_error(status, flavour, err.code(), &err.to_string());
    response.headers_mut().insert(header.0, header.1);
    response
}

/// Reads the GraphQL request from the query string (GET) or the body
/// (POST: JSON, `application/graphql` or multipart), which
/// [`Guards::read_body`] has read within its time and size limits.
async fn read_request(
    http: &HttpRequest,
    body: &web::Bytes,
) -> Result<async_graphql::Request, (StatusCode, String)> {
    let batch = if http.method() == Method::GET {
        async_graphql::http::parse_query_string(http.query_string())
            .map(async_graphql::BatchRequest::Single)
    } else {
        let content_type = http
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        async_graphql::http::receive_batch_body(
            content_type,
            body.as_ref(),
            async_graphql::http::MultipartOptions::default(),
        )
        .await
    };
    batch.and_then(|b| b.into_single()).map_err(|err| {
        let status = if matches!(err, async_graphql::ParseRequestError::PayloadTooLarge) {
            StatusCode::PAYLOAD_TOO_LARGE
        } else {
            StatusCode::BAD_REQUEST
        };
        (status, err.to_string())
    })
}

/// The `documentId` of a persisted-document request: a GET parameter, or
/// a top-level member of a JSON body. `Err` when it is there but not a
/// string.
fn document_id(http: &HttpRequest, body: &[u8]) -> Result<Option<String>, String> {
    const NAME: &str = "documentId";
    if http.method() == Method::GET {
        let params = web::Query::<std::collections::HashMap<String, String>>::from_query(
            http.query_string(),
        )
        .map_err(|e| format!("the query string could not be read: {e}"))?;
        return Ok(params.into_inner().remove(NAME));
    }
    // Only a JSON body that mentions the member is read a second time.
    if !body.windows(NAME.len()).any(|w| w == NAME.as_bytes()) {
        return Ok(None);
    }
    let Ok(serde_json::Value::Object(mut object)) = serde_json::from_slice(body) else {
        return Ok(None);
    };
    match object.remove(NAME) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(id)) => Ok(Some(id)),
        Some(_) => Err("`documentId` must be a string".to_owned()),
    }
}

/// The kind and name of the operation a request runs: the named one, or
/// the document's only one.
fn operation_of(request: &async_graphql::Request) -> (Option<OperationType>, Option<String>) {
    let Ok(doc) = async_graphql::parser::parse_query(&request.query) else {
        return (None, request.operation_name.clone());
    };
    match (&doc.operations, request.operation_name.as_deref()) {
        (async_graphql::parser::types::DocumentOperations::Single(op), name) => {
            (Some(op.node.ty), name.map(str::to_owned))
        }
        (async_graphql::parser::types::DocumentOperations::Multiple(ops), Some(name)) => {
            (ops.get(name).map(|op| op.node.ty), Some(name.to_owned()))
        }
        (async_graphql::parser::types::DocumentOperations::Multiple(ops), None) => {
            match (ops.len(), ops.iter().next()) {
                (1, Some((name, op))) => (Some(op.node.ty), Some(name.to_string())),
                _ => (None, None),
            }
        }
    }
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

async fn readyz(pools: web::Data<Pools>) -> HttpResponse {
    // Both checked at once, each within `READY_TIMEOUT`, so that the
    // answer comes within a second whatever the databases do.
    let (primary, replica) = tokio::join!(crate::db::ping_ready(&pools.primary), async {
        match &pools.replica {
            Some(replica) => Some(crate::db::ping_ready(replica).await),
            None => None,
        }
    });
    let state = |r: &Result<(), sea_orm::DbErr>| if r.is_ok() { "up" } else { "down" };
    for err in [Some(&primary), replica.as_ref()]
        .into_iter()
        .flatten()
        .filter_map(|r| r.as_ref().err())
    {
        tracing::warn!(error = %err, "readiness check failed");
    }
    let mut body = json!({ "database": state(&primary) });
    if let Some(r) = &replica {
        body["replica"] = json!(state(r));
    }
    let ready = primary.is_ok() && replica.as_ref().is_none_or(|r| r.is_ok());
    body["status"] = json!(if ready { "ready" } else { "unavailable" });
    if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// The request header that carries a request id, returned on every response.
pub const REQUEST_ID: &str = "x-request-id";

/// The response header with the request span's W3C trace context.
pub const TRACEPARENT: &str = "traceparent";

/// Gives every request a span with a request id (taken from the client's
/// `x-request-id` when it is sane, else a new one), echoes the id in the
/// response, and logs method, path, status and latency. Never logs headers,
/// query strings or bodies: they may carry tokens or personal data.
///
/// With tracing on, the span continues the caller's trace (`traceparent`,
/// `tracestate`) and the response carries its `traceparent`.
pub async fn trace_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let request_id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map(str::to_owned)
        .unwrap_or_else(|| Uuid::now_v7().to_string());
    let span = tracing::info_span!(
        "request",
        id = %request_id,
        method = %req.method(),
        path = %req.path(),
        operation = tracing::field::Empty
    );
    let route = prometheus::route(req.path());
    let method = req.method().to_string();
    let traces = req
        .app_data::<web::Data<crate::telemetry::Tracing>>()
        .filter(|t| t.is_on())
        .cloned();
    let traceparent = traces.as_ref().and_then(|t| {
        t.start_request(
            &span,
            req.headers(),
            prometheus::method_label(&method),
            route,
            &request_id,
        )
    });
    let started = Instant::now();
    let mut res = next.call(req).instrument(span.clone()).await?;
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        res.headers_mut()
            .insert(header::HeaderName::from_static(REQUEST_ID), value);
    }
    if let Some(value) = traceparent {
        res.headers_mut()
            .insert(header::HeaderName::from_static(TRACEPARENT), value);
    }
    let elapsed = started.elapsed();
    let status = res.status().as_u16();
    prometheus::http_request(route, &method, status, elapsed);
    if let Some(traces) = &traces {
        traces.end_request(&span, status);
    }
    span.in_scope(|| {
        tracing::info!(
            status,
            elapsed_ms = elapsed.as_millis() as u64,
            "request done"
        );
    });
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Any body under any content type is a GraphQL request or a 400
        /// (413 past the size limit), never a panic; whatever is read can
        /// be asked whether it mutates.
        #[test]
        fn prop_any_body_is_a_request_or_a_client_error(
            body in proptest::collection::vec(proptest::num::u8::ANY, 0..300),
            text in "\\PC{0,200}|\\{\"query\": ?\"[{}a-z ()\\\\]{0,60}\"(, ?\"variables\": ?[\\[\\]{}0-9a-z\":,]{0,40})?\\}",
            content_type in proptest::sample::select(vec![
                "", "application/json", "application/graphql", "text/plain",
                "multipart/form-data; boundary=x", "application/json; charset=latin1",
            ]),
        ) {
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let mut http = actix_web::test::TestRequest::post();
            if !content_type.is_empty() {
                http = http.insert_header((header::CONTENT_TYPE, content_type));
            }
            let http = http.to_http_request();
            for bytes in [body, text.into_bytes()] {
                match runtime.block_on(read_request(&http, &web::Bytes::from(bytes))) {
                    Ok(request) => {
                        let _ = operation_of(&request);
                    }
                    Err((status, _)) => proptest::prop_assert!(
                        status == StatusCode::BAD_REQUEST || status == StatusCode::PAYLOAD_TOO_LARGE,
                        "{status}"
                    ),
                }
            }
        }
    }
}
