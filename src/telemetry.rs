//! Logging and distributed tracing.
//!
//! **Logs**: `tracing` to standard error, filtered by `RUST_LOG` (default
//! `info`), as human-readable lines (coloured on a terminal) or as JSON
//! objects, one per line, with the request span's id, method and path.
//! Tokens, subjects and personal data are never logged: requests are logged
//! by id, route and status only.
//!
//! **Traces** (OpenTelemetry), when `KOMPETANSE_OTLP_ENDPOINT` is set: the
//! request, its GraphQL operation and its database statements become spans,
//! continuing the caller's W3C trace context (`traceparent`, `tracestate`),
//! and are sent in batches to an OTLP/HTTP collector. Every answer carries
//! the `traceparent` of its request's span.
//!
//! How one process serves several applications (the tests start many, each
//! with its own settings) while `tracing`'s subscriber is global: one
//! [`tracing_opentelemetry`] layer is installed once, with a tracer that
//! routes. An application with an exporter puts its own tracer into the
//! OpenTelemetry context of each request span it starts (`Route`); every
//! span below inherits that context, and the routing tracer builds each span
//! with the tracer it finds there. Spans without a route (an application
//! without export, background work) are not recorded.
//!
//! What leaves the process is decided by an allow-list of attributes
//! ([`EXPORTED_ATTRIBUTES`]): method, route and status of the request, name
//! and type of the operation, kind of database statement. Never query
//! strings, bodies, variables, statements, error messages or log events.

use std::borrow::Cow;
use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use actix_web::http::header::{HeaderMap, HeaderValue};
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{
    SpanBuilder, SpanContext, SpanKind, Status, TraceContextExt, TracerProvider as _,
};
use opentelemetry::{Context, InstrumentationScope, KeyValue};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor;
use opentelemetry_sdk::trace::{
    Sampler, SdkTracer, SdkTracerProvider, SpanData, SpanEvents, SpanProcessor,
};
use opentelemetry_sdk::{Resource, runtime};
use tracing::Subscriber;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::{Context as LayerContext, Filter, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::{LogFormat, Otlp, OtlpProtocol};

/// Whether the export layer is part of the global subscriber.
static EXPORT_LAYER: AtomicBool = AtomicBool::new(false);

/// Applications of this process that export spans. While there are none,
/// the export layer looks at no span at all.
static EXPORTING: AtomicUsize = AtomicUsize::new(0);

/// Installs the global subscriber once (later calls do nothing): the log
/// lines, and with `export` the layer that turns spans into OpenTelemetry
/// spans (only when an OTLP endpoint is configured, so that a server
/// without one pays nothing for it).
pub fn init(format: LogFormat, export: bool) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false);
    let registry = tracing_subscriber::registry();
    let installed = match format {
        LogFormat::Text => registry
            .with(
                fmt.with_ansi(std::io::stderr().is_terminal())
                    .with_filter(filter),
            )
            .with(export.then(export_layer))
            .try_init(),
        LogFormat::Json => registry
            .with(
                fmt.json()
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_filter(filter),
            )
            .with(export.then(export_layer))
            .try_init(),
    };
    if installed.is_ok() && export {
        EXPORT_LAYER.store(true, Ordering::SeqCst);
    }
}

/// Makes sure the export layer is in the global subscriber: installs a
/// subscriber of that layer alone when the process has none yet (tests,
/// embedding). `false` when another subscriber is installed without it.
fn ensure_export_layer() -> bool {
    static INSTALLED_HERE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if EXPORT_LAYER.load(Ordering::SeqCst) {
        return true;
    }
    *INSTALLED_HERE.get_or_init(|| {
        let subscriber = tracing_subscriber::registry().with(export_layer());
        let installed = tracing::subscriber::set_global_default(subscriber).is_ok();
        if installed {
            EXPORT_LAYER.store(true, Ordering::SeqCst);
        }
        installed
    })
}

/// The layer that turns spans into OpenTelemetry spans, routed per
/// application (see the module's documentation).
fn export_layer<S>() -> impl Layer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    tracing_opentelemetry::layer()
        .with_tracer(RoutingTracer)
        .with_location(false)
        .with_threads(false)
        .with_target(false)
        .with_level(false)
        .with_tracked_inactivity(false)
        .with_error_fields_to_exceptions(false)
        .with_error_records_to_exceptions(false)
        .with_error_events_to_exceptions(false)
        .with_error_events_to_status(false)
        .with_filter(ExportedSpans)
}

/// Which spans the export layer sees: the server's own (request, GraphQL
/// operation) and sea-orm's statements, at `info` and above, never log
/// events; and none at all while no application exports.
struct ExportedSpans;

impl ExportedSpans {
    fn wanted(meta: &tracing::Metadata<'_>) -> bool {
        meta.is_span()
            && *meta.level() <= tracing::Level::INFO
            && (meta.target().starts_with("kompetanse") || meta.target().starts_with("sea_orm"))
    }
}

impl<S> Filter<S> for ExportedSpans {
    fn enabled(&self, meta: &tracing::Metadata<'_>, _: &LayerContext<'_, S>) -> bool {
        EXPORTING.load(Ordering::Relaxed) > 0 && Self::wanted(meta)
    }

    fn callsite_enabled(
        &self,
        meta: &'static tracing::Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        if Self::wanted(meta) {
            tracing::subscriber::Interest::sometimes()
        } else {
            tracing::subscriber::Interest::never()
        }
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::INFO)
    }
}

/// The OpenTelemetry context value that names the tracer of the
/// application a span belongs to.
#[derive(Clone, Debug)]
struct Route(SdkTracer);

/// Builds each span with the tracer of its application (the [`Route`] in
/// its parent context), or not at all.
#[derive(Clone, Copy, Debug)]
struct RoutingTracer;

impl opentelemetry::trace::Tracer for RoutingTracer {
    type Span = RoutedSpan;

    fn build_with_context(&self, mut builder: SpanBuilder, parent_cx: &Context) -> RoutedSpan {
        let Some(Route(tracer)) = parent_cx.get::<Route>() else {
            return RoutedSpan(None);
        };
        let parent = parent_cx.span();
        let parent = parent.span_context();
        if !parent.is_valid() || parent.is_remote() {
            // The server's entry point into the trace: the request.
            builder.span_kind = Some(SpanKind::Server);
        }
        RoutedSpan(Some(tracer.build_with_context(builder, parent_cx)))
    }
}

/// A span of an application that exports, or nothing.
#[derive(Debug)]
struct RoutedSpan(Option<opentelemetry_sdk::trace::Span>);

static NO_SPAN: SpanContext = SpanContext::NONE;

impl opentelemetry::trace::Span for RoutedSpan {
    fn add_event_with_timestamp<T>(
        &mut self,
        name: T,
        timestamp: SystemTime,
        attributes: Vec<KeyValue>,
    ) where
        T: Into<Cow<'static, str>>,
    {
        if let Some(span) = &mut self.0 {
            span.add_event_with_timestamp(name, timestamp, attributes);
        }
    }

    fn span_context(&self) -> &SpanContext {
        self.0.as_ref().map_or(&NO_SPAN, |span| span.span_context())
    }

    fn is_recording(&self) -> bool {
        self.0.as_ref().is_some_and(|span| span.is_recording())
    }

    fn set_attribute(&mut self, attribute: KeyValue) {
        if let Some(span) = &mut self.0 {
            span.set_attribute(attribute);
        }
    }

    fn set_status(&mut self, status: Status) {
        if let Some(span) = &mut self.0 {
            span.set_status(status);
        }
    }

    fn update_name<T>(&mut self, new_name: T)
    where
        T: Into<Cow<'static, str>>,
    {
        if let Some(span) = &mut self.0 {
            span.update_name(new_name);
        }
    }

    fn add_link(&mut self, span_context: SpanContext, attributes: Vec<KeyValue>) {
        if let Some(span) = &mut self.0 {
            span.add_link(span_context, attributes);
        }
    }

    fn end_with_timestamp(&mut self, timestamp: SystemTime) {
        if let Some(span) = &mut self.0 {
            span.end_with_timestamp(timestamp);
        }
    }
}

/// The only span attributes that are exported; everything else a span
/// carries (log fields such as the path, sea-orm's error messages) stays in
/// the process.
pub const EXPORTED_ATTRIBUTES: &[&str] = &[
    "http.request.method",
    "http.route",
    "http.response.status_code",
    "error.type",
    "kompetanse.request_id",
    "graphql.operation.name",
    "graphql.operation.type",
    "db.system",
    "db.system.name",
    "db.operation",
    "db.operation.name",
];

/// Keeps only [`EXPORTED_ATTRIBUTES`] of a finished span, drops its
/// events and any status message, and hands it to the batch processor.
#[derive(Debug)]
struct Scrubbed(Arc<BatchSpanProcessor<runtime::Tokio>>);

impl SpanProcessor for Scrubbed {
    fn on_start(&self, span: &mut opentelemetry_sdk::trace::Span, cx: &Context) {
        self.0.on_start(span, cx);
    }

    fn on_end(&self, mut span: SpanData) {
        span.attributes
            .retain(|kv| EXPORTED_ATTRIBUTES.contains(&kv.key.as_str()));
        span.events = SpanEvents::default();
        if let Status::Error { .. } = span.status {
            span.status = Status::error("");
        }
        self.0.on_end(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        // The batch processor waits for its task, which runs on a tokio
        // runtime: waiting on a thread of that runtime could wait forever.
        // There the shutdown (a drop of the last reference) goes on
        // elsewhere; `Tracing::shutdown` waits for it from a thread of its own.
        if tokio::runtime::Handle::try_current().is_ok() {
            let inner = self.0.clone();
            std::thread::Builder::new()
                .name("otel-shutdown".into())
                .spawn(move || inner.shutdown_with_timeout(timeout))
                .map(|_| ())
                .map_err(|e| OTelSdkError::InternalFailure(e.to_string()))
        } else {
            self.0.shutdown_with_timeout(timeout)
        }
    }

    fn set_resource(&mut self, resource: &Resource) {
        if let Some(inner) = Arc::get_mut(&mut self.0) {
            inner.set_resource(resource);
        }
    }
}

/// How long an export may take.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// The collector's answers are read up to this size.
const MAX_COLLECTOR_ANSWER: usize = 64 * 1024;

/// The HTTP client of the exporter: the server's own reqwest (rustls),
/// which reports failed exports in the log, at most once a minute.
#[derive(Debug, Clone)]
struct ExportClient {
    client: reqwest::Client,
    last_warning: Arc<std::sync::Mutex<Option<Instant>>>,
}

impl ExportClient {
    fn warn(&self, what: &str) {
        let Ok(mut last) = self.last_warning.lock() else {
            return;
        };
        if last.is_none_or(|at| at.elapsed() >= Duration::from_secs(60)) {
            *last = Some(Instant::now());
            tracing::warn!(problem = %what, "exporting spans failed (said at most once a minute)");
        }
    }

    async fn send(
        &self,
        request: opentelemetry_http::Request<opentelemetry_http::Bytes>,
    ) -> Result<opentelemetry_http::Response<opentelemetry_http::Bytes>, String> {
        let request = reqwest::Request::try_from(request).map_err(|e| e.to_string())?;
        let mut response = self
            .client
            .execute(request)
            .await
            .map_err(|e| e.without_url().to_string())?;
        let status = response.status();
        let headers = std::mem::take(response.headers_mut());
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
            if body.len() + chunk.len() > MAX_COLLECTOR_ANSWER {
                break;
            }
            body.extend_from_slice(&chunk);
        }
        if !status.is_success() {
            return Err(format!("the collector answered {status}"));
        }
        let mut answer = opentelemetry_http::Response::builder()
            .status(status)
            .body(opentelemetry_http::Bytes::from(body))
            .map_err(|e| e.to_string())?;
        *answer.headers_mut() = headers;
        Ok(answer)
    }
}

#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for ExportClient {
    async fn send_bytes(
        &self,
        request: opentelemetry_http::Request<opentelemetry_http::Bytes>,
    ) -> Result<
        opentelemetry_http::Response<opentelemetry_http::Bytes>,
        opentelemetry_http::HttpError,
    > {
        self.send(request).await.map_err(|problem| {
            self.warn(&problem);
            problem.into()
        })
    }
}

/// Reads W3C trace context from actix's request headers.
struct RequestHeaders<'a>(&'a HeaderMap);

impl Extractor for RequestHeaders<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

/// The tracing of one application: its exporter, or none.
#[derive(Clone, Debug, Default)]
pub struct Tracing(Option<Arc<Exporting>>);

/// An application's exporter: provider (with the batch processor) and the
/// tracer its spans are built with.
#[derive(Debug)]
struct Exporting {
    provider: SdkTracerProvider,
    tracer: SdkTracer,
}

impl Drop for Exporting {
    fn drop(&mut self) {
        EXPORTING.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Why spans cannot be exported.
#[derive(Debug, thiserror::Error)]
#[error("tracing: {0}")]
pub struct TracingError(String);

impl Tracing {
    /// No tracing.
    pub fn off() -> Self {
        Self(None)
    }

    /// Starts exporting to the collector of `otlp`: a batch processor on
    /// the current tokio runtime sends spans every few seconds
    /// (`OTEL_BSP_*` tune it), and at [`Tracing::shutdown`].
    pub fn start(otlp: &Otlp) -> Result<Self, TracingError> {
        let client = reqwest::Client::builder()
            .timeout(EXPORT_TIMEOUT)
            .build()
            .map_err(|e| TracingError(format!("the exporter's HTTP client: {e}")))?;
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_http_client(ExportClient {
                client,
                last_warning: Arc::default(),
            })
            .with_endpoint(otlp.traces_url.clone())
            .with_protocol(match otlp.protocol {
                OtlpProtocol::HttpProtobuf => Protocol::HttpBinary,
                OtlpProtocol::HttpJson => Protocol::HttpJson,
            })
            .with_timeout(EXPORT_TIMEOUT)
            .build()
            .map_err(|e| TracingError(format!("the OTLP exporter: {e}")))?;
        let batches = BatchSpanProcessor::builder(exporter, runtime::Tokio).build();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(Scrubbed(Arc::new(batches)))
            .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
                otlp.sample_ratio,
            ))))
            .with_resource(
                Resource::builder()
                    .with_service_name(otlp.service_name.clone())
                    .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
                    .build(),
            )
            .build();
        let tracer = provider.tracer_with_scope(
            InstrumentationScope::builder("kompetanse")
                .with_version(env!("CARGO_PKG_VERSION"))
                .build(),
        );
        EXPORTING.fetch_add(1, Ordering::SeqCst);
        let tracing = Self(Some(Arc::new(Exporting { provider, tracer })));
        if !ensure_export_layer() {
            tracing::warn!(
                "another tracing subscriber is installed in this process: spans are not exported"
            );
        }
        Ok(tracing)
    }

    /// Whether spans are exported.
    pub fn is_on(&self) -> bool {
        self.0.is_some()
    }

    /// Makes `span` (a request's, before it is entered) the root of this
    /// application's part of a trace: a child of the caller's span when the
    /// request carries a valid `traceparent` (and `tracestate`), else of a
    /// new trace. Returns the `traceparent` header of the span, for the
    /// response; `None` when tracing is off.
    pub fn start_request(
        &self,
        span: &tracing::Span,
        headers: &HeaderMap,
        method: &'static str,
        route: &'static str,
        request_id: &str,
    ) -> Option<HeaderValue> {
        let exporting = self.0.as_ref()?;
        let propagator = TraceContextPropagator::new();
        let parent = propagator
            .extract(&RequestHeaders(headers))
            .with_value(Route(exporting.tracer.clone()));
        span.set_parent(parent).ok()?;
        span.set_attribute("http.request.method", method);
        span.set_attribute("http.route", route);
        span.set_attribute("kompetanse.request_id", request_id.to_owned());
        let cx = span.context();
        cx.span().update_name(format!("{method} {route}"));
        let mut fields = std::collections::HashMap::new();
        propagator.inject_context(&cx, &mut fields);
        fields
            .get("traceparent")
            .and_then(|v| HeaderValue::from_str(v).ok())
    }

    /// Records the answer's status on the request's span (5xx is an error).
    pub fn end_request(&self, span: &tracing::Span, status: u16) {
        if self.0.is_none() {
            return;
        }
        span.set_attribute("http.response.status_code", i64::from(status));
        if status >= 500 {
            span.set_attribute("error.type", status.to_string());
            span.set_status(Status::error(""));
        }
    }

    /// Sends the spans still waiting and stops the exporter (on graceful
    /// shutdown); waits at most `EXPORT_TIMEOUT` plus a little.
    pub async fn shutdown(&self) {
        let Some(exporting) = &self.0 else {
            return;
        };
        let provider = exporting.provider.clone();
        let (done, finished) = tokio::sync::oneshot::channel();
        // A thread of its own: the batch processor's task needs this
        // runtime to run while the shutdown waits for it.
        let started = std::thread::Builder::new()
            .name("otel-flush".into())
            .spawn(move || {
                let _ = done.send(provider.shutdown_with_timeout(EXPORT_TIMEOUT));
            });
        if started.is_err() {
            return;
        }
        match tokio::time::timeout(EXPORT_TIMEOUT + Duration::from_secs(2), finished).await {
            Ok(Ok(Ok(()))) => tracing::debug!("spans exported; exporter stopped"),
            Ok(Ok(Err(err))) => tracing::warn!(error = %err, "exporting the last spans failed"),
            _ => tracing::warn!("exporting the last spans took too long; some are lost"),
        }
    }
}

/// Names the GraphQL operation's span (`query Catalogue`) and records the
/// operation's name and type; the document and its variables never.
pub fn record_operation(span: &tracing::Span, kind: &str, name: Option<&str>) {
    let cx = span.context();
    let otel = cx.span();
    if !otel.is_recording() {
        return;
    }
    otel.set_attribute(KeyValue::new("graphql.operation.type", kind.to_owned()));
    match name {
        Some(name) => {
            otel.set_attribute(KeyValue::new("graphql.operation.name", name.to_owned()));
            otel.update_name(format!("{kind} {name}"));
        }
        None => otel.update_name(kind.to_owned()),
    }
}

/// Records the error codes of a GraphQL answer on the operation's span: the
/// first as `error.type`, and a server-side failure as the span's status.
pub fn record_operation_errors(span: &tracing::Span, codes: &[String]) {
    let Some(first) = codes.first() else {
        return;
    };
    let cx = span.context();
    let otel = cx.span();
    if !otel.is_recording() {
        return;
    }
    otel.set_attribute(KeyValue::new("error.type", first.clone()));
    if codes.iter().any(|c| {
        matches!(
            c.as_str(),
            crate::error::codes::INTERNAL_SERVER_ERROR | crate::error::codes::SERVICE_UNAVAILABLE
        )
    }) {
        otel.set_status(Status::error(""));
    }
}
