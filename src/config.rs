//! Typed settings, read once at start from flags and `KOMPETANSE_*` variables.
//!
//! Every setting is a flag with an environment variable of the same name;
//! bad values stop the program at start with a message that names the
//! setting.

use std::net::SocketAddr;

use clap::{Args, Parser, Subcommand};

/// The default SQLite database: a file in the working directory, created on
/// first start.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://kompetanse.db?mode=rwc";

/// kompetanse: the GraphQL register of competence-development programmes for
/// Norwegian municipal services.
#[derive(Debug, Parser)]
#[command(name = "kompetanse", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub settings: Settings,
}

impl Cli {
    /// The command line. Every setting is accepted everywhere (before or
    /// after the command, or from the environment), but each command's
    /// `--help` shows only the settings it uses; `kompetanse --help` and
    /// `kompetanse serve --help` show all of them.
    pub fn command() -> clap::Command {
        let cmd = <Self as clap::CommandFactory>::command();
        let settings: Vec<clap::Arg> = cmd
            .get_arguments()
            .filter(|a| a.is_global_set())
            .cloned()
            .collect();
        let commands: Vec<String> = cmd
            .get_subcommands()
            .map(|c| c.get_name().to_owned())
            .collect();
        commands.iter().fold(cmd, |cmd, name| {
            let shown: &[&str] = match name.as_str() {
                "serve" => return cmd,
                "token" => &["database_url", "log_format", "jwt_secret"],
                "schema" => &[],
                _ => &["database_url", "log_format"],
            };
            cmd.mut_subcommand(name, |sub| {
                // A hidden copy of the same setting: global settings are not
                // propagated where the command has one of its own.
                settings
                    .iter()
                    .filter(|a| !shown.contains(&a.get_id().as_str()))
                    .fold(sub, |sub, a| sub.arg(a.clone().hide(true)))
            })
        })
    }

    /// Parses the process's arguments (and the environment); exits with
    /// clap's message on bad input, or after printing help or the version.
    /// The standard `OTEL_EXPORTER_OTLP_ENDPOINT` and
    /// `OTEL_EXPORTER_OTLP_PROTOCOL` are read here too, as fallbacks of
    /// `KOMPETANSE_OTLP_ENDPOINT` and `KOMPETANSE_OTLP_PROTOCOL`.
    pub fn parse_args() -> Self {
        let matches = Self::command().get_matches();
        let mut cli =
            <Self as clap::FromArgMatches>::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
        cli.settings
            .tracing
            .read_standard_env(|name| std::env::var(name).ok());
        cli
    }
}

/// What to do. Without a command the server starts (`serve`).
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Migrate the database, fill it on first start, and serve the API.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate {
        /// Revert all migrations instead (drops every table of the register).
        #[arg(long)]
        reset: bool,
    },
    /// Migrate, then load the reference data and the demo data if the
    /// database is empty; with `--synthetic SCALE`, load a synthetic
    /// national dataset for load tests instead.
    Seed {
        /// Load a synthetic national dataset of this size (1 ≈ 250 services,
        /// 6 000 persons, 150 000 attendance rows; 10 = ten times that;
        /// decimals such as 0.05 make a small one). Loads the reference data
        /// first when it is missing; refused when data for the same seed is
        /// already there.
        #[arg(long, value_name = "SCALE")]
        synthetic: Option<f64>,
        /// The seed of the synthetic data: the same seed and scale give the
        /// same rows and ids.
        #[arg(long, value_name = "N", default_value_t = 2026, requires = "synthetic")]
        seed: u64,
    },
    /// Print the GraphQL schema (SDL) to standard output.
    Schema,
    /// Benchmarks that print their figures.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Print a signed development token for a role and scope (the token
    /// is the last line of the output).
    Token(TokenArgs),
    /// Write everything the register holds about one person as JSON (the
    /// right of access): the answer of the `personalData` query.
    ExportPerson {
        /// The person: a global id or a UUID.
        #[arg(long)]
        person: String,
        /// The file to write; standard output when left out.
        #[arg(long, value_name = "FILE")]
        output: Option<std::path::PathBuf>,
    },
    /// Erase the personal data of persons whose runs all ended more than
    /// the retention period ago (as `erasePerson` does), in batches; safe
    /// to run while the server serves, and to run again.
    Retention {
        /// Years personal data is kept after the runs a person took part
        /// in ended.
        #[arg(long, env = "KOMPETANSE_RETENTION_YEARS", default_value_t = 5,
              value_parser = clap::value_parser!(u32).range(1..=100))]
        years: u32,
        /// Only count who is due; erase nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// The benchmarks of `kompetanse bench`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum BenchCommand {
    /// Time the statistics queries (participationStats, coverage,
    /// grantTotals) on a synthetic national dataset, loading it first when
    /// it is missing.
    Stats {
        /// The size of the synthetic dataset (see `seed --synthetic`).
        #[arg(long, default_value_t = 10.0)]
        scale: f64,
        /// Its seed.
        #[arg(long, default_value_t = 2026)]
        seed: u64,
        /// Measured runs of each query (after one warm-up run).
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        repeat: u32,
    },
}

/// The role of a development token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RoleArg {
    Staff,
    Leader,
    Provider,
    Funder,
    Admin,
}

/// Arguments of `kompetanse token`.
#[derive(Debug, Clone, Args)]
pub struct TokenArgs {
    /// The role the token acts in.
    #[arg(long, value_enum)]
    pub role: RoleArg,
    /// The service a leader leads: id, slug or name.
    #[arg(long)]
    pub service: Option<String>,
    /// The provider: id, slug, short name, name or organisation number.
    #[arg(long)]
    pub provider: Option<String>,
    /// The funder office: id, name or organisation number.
    #[arg(long)]
    pub office: Option<String>,
    /// The staff member: id or e-mail.
    #[arg(long)]
    pub person: Option<String>,
    /// How long the token is valid: 90s, 30m, 8h, 7d.
    #[arg(long, default_value = "8h")]
    pub ttl: String,
    /// The token's subject (`sub`); by default made from role and scope.
    #[arg(long)]
    pub subject: Option<String>,
}

/// Settings shared by all commands.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Database URL: `sqlite://FILE?mode=rwc` (default, embedded) or
    /// `postgres://user@host:port/db` (production).
    #[arg(long, env = "KOMPETANSE_DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true)]
    pub database_url: String,

    /// A PostgreSQL read replica for queries (`postgres://…`); mutations
    /// and persisted documents sent by hash use the primary.
    #[arg(long, env = "KOMPETANSE_READ_DATABASE_URL", global = true)]
    pub read_database_url: Option<String>,

    /// Log lines as human-readable text or as JSON objects (one per line,
    /// for log collectors).
    #[arg(long, env = "KOMPETANSE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,

    /// Address to listen on (`127.0.0.1:0` picks a free port).
    #[arg(
        long,
        env = "KOMPETANSE_BIND",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub bind: SocketAddr,

    /// Most connections in the database pool.
    #[arg(long, env = "KOMPETANSE_DB_MAX_CONNECTIONS", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000), global = true)]
    pub db_max_connections: u32,

    /// Do not fill an empty database with reference and demo data on start.
    #[arg(long, env = "KOMPETANSE_NO_SEED", global = true)]
    pub no_seed: bool,

    #[command(flatten)]
    pub limits: Limits,

    #[command(flatten)]
    pub auth: AuthSettings,

    #[command(flatten)]
    pub http: HttpSettings,

    #[command(flatten)]
    pub tracing: TracingSettings,
}

/// The request headers browsers may send by default (CORS).
pub const DEFAULT_CORS_ALLOW_HEADERS: &str = "content-type,authorization,x-request-id,\
idempotency-key,traceparent,tracestate,baggage,sentry-trace,apollographql-client-name,\
apollographql-client-version,apollo-require-preflight,x-apollo-operation-name";

/// What the HTTP edge allows: browsers, body size, time, request rate,
/// introspection.
#[derive(Debug, Clone, Args)]
pub struct HttpSettings {
    /// Browser origins allowed to call the API (CORS), comma-separated,
    /// exact (`https://app.example.no`). None: no CORS headers, so browsers
    /// on other origins are refused.
    #[arg(
        long,
        env = "KOMPETANSE_CORS_ORIGINS",
        value_delimiter = ',',
        global = true
    )]
    pub cors_origins: Vec<String>,

    /// Request headers a browser on an allowed origin may send (CORS
    /// preflight), comma-separated, case-insensitive. The default names
    /// the API's own headers and those common clients add: W3C trace
    /// context, Sentry, Apollo Client.
    #[arg(
        long,
        env = "KOMPETANSE_CORS_ALLOW_HEADERS",
        value_delimiter = ',',
        default_value = DEFAULT_CORS_ALLOW_HEADERS,
        global = true
    )]
    pub cors_allow_headers: Vec<String>,

    /// Largest request body in bytes; a larger one is refused with 413.
    #[arg(long, env = "KOMPETANSE_MAX_BODY_BYTES", default_value_t = 1_048_576, value_parser = clap::value_parser!(u64).range(1024..=1_073_741_824), global = true)]
    pub max_body_bytes: u64,

    /// How long browsers and CDNs may reuse the answer to an anonymous GET
    /// query, in seconds (`Cache-Control: public, max-age=…`; 0: they must
    /// revalidate with the `ETag` each time). Answers to signed-in
    /// requests are never stored.
    #[arg(long, env = "KOMPETANSE_CACHE_MAX_AGE_SECS", default_value_t = 60, value_parser = clap::value_parser!(u32).range(0..=86_400), global = true)]
    pub cache_max_age_secs: u32,

    /// Largest GraphQL answer in bytes; a larger one is replaced by a
    /// LIMIT_EXCEEDED error (page, row and cost limits keep legal answers
    /// well below it).
    #[arg(long, env = "KOMPETANSE_MAX_RESPONSE_BYTES", default_value_t = 16_777_216, value_parser = clap::value_parser!(u64).range(65_536..=1_073_741_824), global = true)]
    pub max_response_bytes: u64,

    /// Longest a client may take to send a request body, in seconds, from
    /// the end of its head; a slower one is answered 408 and its
    /// connection closed, so that stalled uploads hold no socket for long.
    #[arg(long, env = "KOMPETANSE_BODY_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600), global = true)]
    pub body_timeout_secs: u64,

    /// Longest a GraphQL execution may run, in seconds; a longer one is cut
    /// off with 503. On PostgreSQL also each statement's limit
    /// (`statement_timeout`) on the server's connections.
    #[arg(long, env = "KOMPETANSE_REQUEST_TIMEOUT_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600), global = true)]
    pub request_timeout_secs: u64,

    /// GraphQL requests a client (token subject, else IP address) may make
    /// per minute, with a burst of the same size; 0 turns the limit off.
    #[arg(long, env = "KOMPETANSE_RATE_LIMIT_PER_MINUTE", default_value_t = 600, value_parser = clap::value_parser!(u32).range(0..=1_000_000), global = true)]
    pub rate_limit_per_minute: u32,

    /// Whether the schema answers introspection (`__schema`, `__type`).
    #[arg(long, env = "KOMPETANSE_INTROSPECTION", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub introspection: bool,

    /// How many query texts automatic persisted queries (APQ) remember;
    /// 0 turns APQ off.
    #[arg(long, env = "KOMPETANSE_APQ_CACHE_SIZE", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(0..=1_000_000), global = true)]
    pub apq_cache_size: u32,

    /// Allow-list mode: a `.graphql` file, or a folder of them, holding the
    /// only documents the server runs (by text or SHA-256 hash).
    #[arg(long, env = "KOMPETANSE_ALLOW_LIST", global = true)]
    pub allow_list: Option<std::path::PathBuf>,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            cors_origins: Vec::new(),
            cors_allow_headers: DEFAULT_CORS_ALLOW_HEADERS
                .split(',')
                .map(str::to_owned)
                .collect(),
            max_body_bytes: 1_048_576,
            max_response_bytes: 16_777_216,
            cache_max_age_secs: 60,
            body_timeout_secs: 10,
            request_timeout_secs: 30,
            rate_limit_per_minute: 600,
            introspection: true,
            apq_cache_size: 1000,
            allow_list: None,
        }
    }
}

impl HttpSettings {
    /// The allowed CORS origins, trimmed, without empty entries.
    pub fn origins(&self) -> Vec<&str> {
        self.cors_origins
            .iter()
            .map(|o| o.trim())
            .filter(|o| !o.is_empty())
            .collect()
    }

    /// The request headers browsers may send, lower-cased, without blanks.
    pub fn allow_headers(&self) -> Vec<String> {
        self.cors_allow_headers
            .iter()
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .collect()
    }

    fn validate(&self) -> Result<(), ConfigError> {
        for name in self.allow_headers() {
            if actix_web::http::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                return Err(ConfigError {
                    setting: "KOMPETANSE_CORS_ALLOW_HEADERS",
                    message: format!("{name:?} is not a header name"),
                });
            }
        }
        for origin in self.origins() {
            if !is_origin(origin) {
                return Err(ConfigError {
                    setting: "KOMPETANSE_CORS_ORIGINS",
                    message: format!(
                        "{origin:?} is not an origin like https://app.example.no (scheme and host, optional port, no path)"
                    ),
                });
            }
        }
        Ok(())
    }
}

/// Whether `s` is an exact web origin: `http(s)://host[:port]`.
fn is_origin(s: &str) -> bool {
    let Some(rest) = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
    else {
        return false;
    };
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) if !rest.ends_with(']') => (host, Some(port)),
        _ => (rest, None),
    };
    !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'[' | b']' | b':'))
        && port.is_none_or(|p| !p.is_empty() && p.parse::<u16>().is_ok())
}

/// How bearer tokens are verified.
///
/// With neither a secret nor a JWKS, a server on SQLite creates a
/// development secret on first start and keeps it beside the database
/// file (`<database>.secret`), so that `kompetanse token` can mint tokens it
/// accepts; a server on PostgreSQL refuses to start.
#[derive(Debug, Clone, Args)]
pub struct AuthSettings {
    /// Shared secret for HS256 tokens (at least 32 bytes).
    #[arg(
        long,
        env = "KOMPETANSE_JWT_SECRET",
        global = true,
        hide_env_values = true
    )]
    pub jwt_secret: Option<Secret>,

    /// JWKS with the identity provider's public keys (RS256, ES256,
    /// EdDSA): a file path or an http(s) URL. Keys are chosen by `kid`;
    /// an unknown `kid` makes the server fetch the set again.
    #[arg(long, env = "KOMPETANSE_JWKS", global = true)]
    pub jwks: Option<String>,

    /// Required `iss` claim.
    #[arg(
        long,
        env = "KOMPETANSE_JWT_ISSUER",
        default_value = "kompetanse",
        global = true
    )]
    pub jwt_issuer: String,

    /// Required `aud` claim.
    #[arg(
        long,
        env = "KOMPETANSE_JWT_AUDIENCE",
        default_value = "kompetanse",
        global = true
    )]
    pub jwt_audience: String,

    /// Clock leeway in seconds for `exp` and `nbf`.
    #[arg(long, env = "KOMPETANSE_JWT_LEEWAY", default_value_t = 30, value_parser = clap::value_parser!(u64).range(0..=300), global = true)]
    pub jwt_leeway: u64,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            jwt_secret: None,
            jwks: None,
            jwt_issuer: "kompetanse".into(),
            jwt_audience: "kompetanse".into(),
            jwt_leeway: 30,
        }
    }
}

/// A secret setting: never printed, never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl std::str::FromStr for Secret {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() < 32 {
            Err("a secret must be at least 32 bytes long".into())
        } else {
            Ok(Self(s.to_owned()))
        }
    }
}

/// Limits that protect the server from abusive queries.
#[derive(Debug, Clone, Args)]
pub struct Limits {
    /// Deepest allowed selection nesting.
    #[arg(long, env = "KOMPETANSE_MAX_DEPTH", default_value_t = 12, value_parser = clap::value_parser!(u32).range(2..=100), global = true)]
    pub max_depth: u32,

    /// The cost budget of one document: each field counts 1, a list field
    /// its page size times its selection, statistics by their dimensions
    /// and measures (see the README's cost model). Over it:
    /// LIMIT_EXCEEDED with the cost and the limit.
    #[arg(long, env = "KOMPETANSE_MAX_COMPLEXITY", default_value_t = 20_000, value_parser = clap::value_parser!(u32).range(10..=10_000_000), global = true)]
    pub max_complexity: u32,

    /// Largest page a connection returns (`first`/`last`).
    #[arg(long, env = "KOMPETANSE_MAX_PAGE_SIZE", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=1000), global = true)]
    pub max_page_size: u32,

    /// Page size when neither `first` nor `last` is given.
    #[arg(long, env = "KOMPETANSE_DEFAULT_PAGE_SIZE", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=1000), global = true)]
    pub default_page_size: u32,

    /// Heavy fields (statistics, coverage, grant totals) the server runs
    /// at once, over all requests; more wait their turn.
    #[arg(long, env = "KOMPETANSE_HEAVY_CONCURRENCY", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=1000), global = true)]
    pub heavy_concurrency: u32,

    /// Heavy fields that may wait for their turn; one more is refused at
    /// once with 503 and `Retry-After`.
    #[arg(long, env = "KOMPETANSE_HEAVY_QUEUE", default_value_t = 32, value_parser = clap::value_parser!(u32).range(0..=100_000), global = true)]
    pub heavy_queue: u32,

    /// Rows of statistics and grant totals one request may receive in
    /// all, over its aliases (each answer holds at most 10 000).
    #[arg(long, env = "KOMPETANSE_MAX_STATS_ROWS_PER_REQUEST", default_value_t = 20_000, value_parser = clap::value_parser!(u32).range(1..=1_000_000), global = true)]
    pub max_stats_rows_per_request: u32,

    /// Most aliased fields in one document.
    #[arg(long, env = "KOMPETANSE_MAX_ALIASES", default_value_t = 30, value_parser = clap::value_parser!(u32).range(0..=10_000), global = true)]
    pub max_aliases: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 12,
            max_complexity: 20_000,
            max_page_size: 100,
            default_page_size: 20,
            max_aliases: 30,
            heavy_concurrency: 2,
            heavy_queue: 32,
            max_stats_rows_per_request: 20_000,
        }
    }
}

/// Distributed tracing: where spans are exported (OpenTelemetry, OTLP over
/// HTTP), under which service name, and how many traces are kept.
///
/// Without an endpoint nothing is exported and the tracing layer is not
/// installed. The standard `OTEL_EXPORTER_OTLP_ENDPOINT` and
/// `OTEL_EXPORTER_OTLP_PROTOCOL` are read when ours are unset (see
/// [`Cli::parse_args`]).
#[derive(Debug, Clone, Args)]
pub struct TracingSettings {
    /// Export traces to this OpenTelemetry collector (OTLP over HTTP): its
    /// base URL, such as `http://localhost:4318` (`/v1/traces` is added),
    /// or the full URL of its traces endpoint. Unset: no tracing.
    #[arg(long, env = "KOMPETANSE_OTLP_ENDPOINT", global = true)]
    pub otlp_endpoint: Option<String>,

    /// How spans are sent: `http/protobuf` (default) or `http/json`.
    #[arg(long, env = "KOMPETANSE_OTLP_PROTOCOL", global = true)]
    pub otlp_protocol: Option<OtlpProtocol>,

    /// The service name of exported spans (`service.name`).
    #[arg(
        long,
        env = "OTEL_SERVICE_NAME",
        default_value = "kompetanse",
        global = true
    )]
    pub service_name: String,

    /// The share of new traces that are recorded and exported, 0.0 to 1.0;
    /// a request that continues a caller's trace follows the caller's
    /// decision.
    #[arg(long, env = "KOMPETANSE_TRACE_SAMPLE_RATIO", default_value_t = 1.0, value_parser = parse_ratio, global = true)]
    pub trace_sample_ratio: f64,

    /// `OTEL_EXPORTER_OTLP_ENDPOINT` and `OTEL_EXPORTER_OTLP_PROTOCOL`, as
    /// read at start (never from the environment of tests).
    #[arg(skip)]
    pub standard: StandardOtlpEnv,
}

/// The standard OpenTelemetry variables read when ours are unset.
#[derive(Debug, Clone, Default)]
pub struct StandardOtlpEnv {
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub endpoint: Option<String>,
    /// `OTEL_EXPORTER_OTLP_PROTOCOL`.
    pub protocol: Option<String>,
}

impl Default for TracingSettings {
    fn default() -> Self {
        Self {
            otlp_endpoint: None,
            otlp_protocol: None,
            service_name: "kompetanse".into(),
            trace_sample_ratio: 1.0,
            standard: StandardOtlpEnv::default(),
        }
    }
}

/// The OTLP encodings over HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OtlpProtocol {
    /// Binary protobuf (`http/protobuf`), what collectors expect by default.
    #[default]
    HttpProtobuf,
    /// JSON (`http/json`).
    HttpJson,
}

impl std::str::FromStr for OtlpProtocol {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "http/protobuf" => Ok(Self::HttpProtobuf),
            "http/json" => Ok(Self::HttpJson),
            "grpc" => Err(
                "grpc is not supported; use http/protobuf (a collector's port 4318) \
                           or http/json"
                    .into(),
            ),
            other => Err(format!("{other:?} is not http/protobuf or http/json")),
        }
    }
}

fn parse_ratio(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
        _ => Err(format!("{s:?} is not a number from 0.0 to 1.0")),
    }
}

/// Where and how spans are exported, resolved from [`TracingSettings`].
#[derive(Debug, Clone, PartialEq)]
pub struct Otlp {
    /// The full URL spans are POSTed to (`…/v1/traces`).
    pub traces_url: String,
    /// The encoding.
    pub protocol: OtlpProtocol,
    /// `service.name`.
    pub service_name: String,
    /// The share of new traces kept.
    pub sample_ratio: f64,
}

impl TracingSettings {
    /// Fills the standard variables from the environment (`var` reads one).
    pub fn read_standard_env(&mut self, var: impl Fn(&str) -> Option<String>) {
        let read = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        self.standard = StandardOtlpEnv {
            endpoint: read("OTEL_EXPORTER_OTLP_ENDPOINT"),
            protocol: read("OTEL_EXPORTER_OTLP_PROTOCOL"),
        };
    }

    /// The export, if an endpoint is configured; an error names the setting
    /// that is wrong.
    pub fn otlp(&self) -> Result<Option<Otlp>, ConfigError> {
        let (setting, endpoint) = match (&self.otlp_endpoint, &self.standard.endpoint) {
            (Some(ours), _) => ("KOMPETANSE_OTLP_ENDPOINT", ours.trim()),
            (None, Some(standard)) => ("OTEL_EXPORTER_OTLP_ENDPOINT", standard.trim()),
            (None, None) => return Ok(None),
        };
        if endpoint.is_empty() {
            return Ok(None);
        }
        let protocol = match (self.otlp_protocol, &self.standard.protocol) {
            (Some(protocol), _) => protocol,
            (None, Some(standard)) => standard.parse().map_err(|message| ConfigError {
                setting: "OTEL_EXPORTER_OTLP_PROTOCOL",
                message,
            })?,
            (None, None) => OtlpProtocol::default(),
        };
        let traces_url = traces_url(endpoint).ok_or_else(|| ConfigError {
            setting,
            message: if endpoint.contains('@') {
                // Never repeat what may be a password.
                "a user or password in the URL is not accepted; send credentials as headers \
                 (OTEL_EXPORTER_OTLP_HEADERS)"
                    .into()
            } else {
                format!(
                    "{endpoint:?} is not an http(s) URL like http://localhost:4318 (no query or fragment)"
                )
            },
        })?;
        if self.service_name.trim().is_empty() {
            return Err(ConfigError {
                setting: "OTEL_SERVICE_NAME",
                message: "the service name is empty".into(),
            });
        }
        Ok(Some(Otlp {
            traces_url,
            protocol,
            service_name: self.service_name.trim().to_owned(),
            sample_ratio: self.trace_sample_ratio,
        }))
    }
}

/// The traces URL of an OTLP/HTTP endpoint: a base URL gets `/v1/traces`,
/// a URL that already ends so is kept. `None` if it is not a plain
/// http(s) URL.
fn traces_url(endpoint: &str) -> Option<String> {
    let scheme_end = endpoint.find("://")? + 3;
    let rest = &endpoint[scheme_end..];
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let origin_ok = is_origin(&format!("{}{authority}", &endpoint[..scheme_end]));
    let path_ok = path
        .bytes()
        .all(|b| b.is_ascii_graphic() && !matches!(b, b'?' | b'#' | b'@'));
    if !origin_ok || !path_ok || endpoint.parse::<actix_web::http::Uri>().is_err() {
        return None;
    }
    let base = endpoint.trim_end_matches('/');
    Some(if base.ends_with("/v1/traces") {
        base.to_owned()
    } else {
        format!("{base}/v1/traces")
    })
}

/// The form of log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines (coloured on a terminal).
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// A configuration error, reported at start.
#[derive(Debug, thiserror::Error)]
#[error("invalid setting {setting}: {message}")]
pub struct ConfigError {
    pub setting: &'static str,
    pub message: String,
}

/// The database engines the register runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Settings {
    /// Settings for tests and embedding: the given database, a free port.
    pub fn for_database(database_url: impl Into<String>) -> Self {
        Self {
            database_url: database_url.into(),
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            db_max_connections: 5,
            no_seed: false,
            read_database_url: None,
            log_format: LogFormat::Text,
            limits: Limits::default(),
            auth: AuthSettings::default(),
            http: HttpSettings::default(),
            tracing: TracingSettings::default(),
        }
    }

    /// Checks what clap cannot: the database URL's engine and the limits'
    /// relation to each other.
    pub fn validate(&self) -> Result<Engine, ConfigError> {
        if self.limits.default_page_size > self.limits.max_page_size {
            return Err(ConfigError {
                setting: "KOMPETANSE_DEFAULT_PAGE_SIZE",
                message: format!(
                    "{} is larger than KOMPETANSE_MAX_PAGE_SIZE ({})",
                    self.limits.default_page_size, self.limits.max_page_size
                ),
            });
        }
        self.http.validate()?;
        self.tracing.otlp()?;
        let engine = self.engine()?;
        if let Some(read) = &self.read_database_url {
            let read = read.trim();
            let same = match engine {
                Engine::Sqlite => read.starts_with("sqlite:"),
                Engine::Postgres => {
                    read.starts_with("postgres://") || read.starts_with("postgresql://")
                }
            };
            if !same {
                return Err(ConfigError {
                    setting: "KOMPETANSE_READ_DATABASE_URL",
                    message: "the read replica must be a database of the same engine as KOMPETANSE_DATABASE_URL".into(),
                });
            }
        }
        Ok(engine)
    }

    /// The engine named by the database URL's scheme.
    pub fn engine(&self) -> Result<Engine, ConfigError> {
        let url = self.database_url.trim();
        if url.starts_with("sqlite:") {
            Ok(Engine::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Engine::Postgres)
        } else {
            Err(ConfigError {
                setting: "KOMPETANSE_DATABASE_URL",
                message: "expected a URL starting with sqlite: or postgres://".into(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_checked() {
        for good in [
            "https://app.example.no",
            "http://localhost:3000",
            "http://127.0.0.1:8080",
        ] {
            assert!(is_origin(good), "{good}");
        }
        for bad in [
            "*",
            "app.example.no",
            "https://app.example.no/",
            "https://app.example.no/path",
            "https://",
            "https://host:",
            "https://host:99999",
            "ftp://host",
            "https://ho st",
        ] {
            assert!(!is_origin(bad), "{bad}");
        }
        let mut settings = Settings::for_database("sqlite://x.db?mode=rwc");
        settings.http.cors_origins = vec![" https://a.example.no".into(), "".into()];
        assert!(settings.validate().is_ok());
        assert_eq!(settings.http.origins(), ["https://a.example.no"]);
        settings.http.cors_origins = vec!["https://a.example.no/".into()];
        let err = settings.validate().unwrap_err();
        assert_eq!(err.setting, "KOMPETANSE_CORS_ORIGINS");
    }

    #[test]
    fn otlp_settings_are_resolved_and_checked() {
        let mut tracing = TracingSettings::default();
        assert_eq!(tracing.otlp().unwrap(), None, "off by default");
        tracing.otlp_endpoint = Some("http://collector:4318/".into());
        let otlp = tracing.otlp().unwrap().unwrap();
        assert_eq!(otlp.traces_url, "http://collector:4318/v1/traces");
        assert_eq!(otlp.protocol, OtlpProtocol::HttpProtobuf);
        assert_eq!(otlp.service_name, "kompetanse");
        assert_eq!(otlp.sample_ratio, 1.0);
        tracing.otlp_endpoint = Some("https://otel.example.no/v1/traces".into());
        assert_eq!(
            tracing.otlp().unwrap().unwrap().traces_url,
            "https://otel.example.no/v1/traces"
        );
        for bad in [
            "collector:4318",
            "ftp://collector",
            "http://",
            "http://collector:99999",
            "http://collector:4318/v1/traces?x=1",
            "http://user:pw@collector:4318",
        ] {
            tracing.otlp_endpoint = Some(bad.into());
            let err = tracing.otlp().unwrap_err();
            assert_eq!(err.setting, "KOMPETANSE_OTLP_ENDPOINT", "{bad}");
            assert!(!err.to_string().contains("pw"), "{err}");
        }

        // The standard variables are fallbacks, named when they are wrong.
        let mut tracing = TracingSettings::default();
        tracing.read_standard_env(|name| match name {
            "OTEL_EXPORTER_OTLP_ENDPOINT" => Some("http://collector:4317".into()),
            "OTEL_EXPORTER_OTLP_PROTOCOL" => Some("grpc".into()),
            _ => None,
        });
        let err = tracing.otlp().unwrap_err();
        assert_eq!(err.setting, "OTEL_EXPORTER_OTLP_PROTOCOL");
        assert!(err.message.contains("http/protobuf"), "{err}");
        tracing.standard.protocol = Some("http/json".into());
        let otlp = tracing.otlp().unwrap().unwrap();
        assert_eq!(otlp.traces_url, "http://collector:4317/v1/traces");
        assert_eq!(otlp.protocol, OtlpProtocol::HttpJson);
        tracing.otlp_endpoint = Some("http://ours:4318".into());
        tracing.otlp_protocol = Some(OtlpProtocol::HttpProtobuf);
        let otlp = tracing.otlp().unwrap().unwrap();
        assert_eq!(otlp.traces_url, "http://ours:4318/v1/traces");
        assert_eq!(otlp.protocol, OtlpProtocol::HttpProtobuf);
        tracing.standard.endpoint = Some("not a url".into());
        assert!(tracing.otlp().is_ok(), "ours win");
        tracing.otlp_endpoint = None;
        assert_eq!(
            tracing.otlp().unwrap_err().setting,
            "OTEL_EXPORTER_OTLP_ENDPOINT"
        );

        let cli = Cli::try_parse_from([
            "kompetanse",
            "--otlp-endpoint",
            "http://localhost:4318",
            "--otlp-protocol",
            "http/json",
            "--trace-sample-ratio",
            "0.25",
            "--service-name",
            "kompetanse-prod",
        ])
        .expect("parses");
        let otlp = cli.settings.tracing.otlp().unwrap().unwrap();
        assert_eq!(otlp.protocol, OtlpProtocol::HttpJson);
        assert_eq!(otlp.sample_ratio, 0.25);
        assert_eq!(otlp.service_name, "kompetanse-prod");
        for bad in [
            &["kompetanse", "--trace-sample-ratio", "1.5"][..],
            &["kompetanse", "--trace-sample-ratio", "NaN"],
            &["kompetanse", "--otlp-protocol", "grpc"],
        ] {
            assert!(Cli::try_parse_from(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn http_settings_from_the_command_line() {
        let cli = Cli::try_parse_from([
            "kompetanse",
            "--introspection",
            "false",
            "--cors-origins",
            "https://a.example.no,https://b.example.no",
            "--rate-limit-per-minute",
            "0",
        ])
        .expect("parses");
        assert!(!cli.settings.http.introspection);
        assert_eq!(cli.settings.http.origins().len(), 2);
        assert_eq!(cli.settings.http.rate_limit_per_minute, 0);
        assert_eq!(cli.settings.http.max_body_bytes, 1_048_576);
        assert_eq!(cli.settings.http.request_timeout_secs, 30);
        assert!(Cli::try_parse_from(["kompetanse", "--request-timeout-secs", "0"]).is_err());
        assert!(Cli::try_parse_from(["kompetanse", "--max-body-bytes", "10"]).is_err());
    }
}
