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
    /// database is empty.
    Seed,
    /// Print the GraphQL schema (SDL) to standard output.
    Schema,
}

/// Settings shared by all commands.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Database URL: `sqlite://FILE?mode=rwc` (default, embedded) or
    /// `postgres://user@host:port/db` (production).
    #[arg(long, env = "KOMPETANSE_DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true)]
    pub database_url: String,

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
}

/// Limits that protect the server from abusive queries.
#[derive(Debug, Clone, Args)]
pub struct Limits {
    /// Deepest allowed selection nesting.
    #[arg(long, env = "KOMPETANSE_MAX_DEPTH", default_value_t = 12, value_parser = clap::value_parser!(u32).range(2..=100), global = true)]
    pub max_depth: u32,

    /// Highest allowed query complexity (each field counts 1, a list field
    /// counts its page size times its selection).
    #[arg(long, env = "KOMPETANSE_MAX_COMPLEXITY", default_value_t = 20_000, value_parser = clap::value_parser!(u32).range(10..=10_000_000), global = true)]
    pub max_complexity: u32,

    /// Largest page a connection returns (`first`/`last`).
    #[arg(long, env = "KOMPETANSE_MAX_PAGE_SIZE", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=1000), global = true)]
    pub max_page_size: u32,

    /// Page size when neither `first` nor `last` is given.
    #[arg(long, env = "KOMPETANSE_DEFAULT_PAGE_SIZE", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=1000), global = true)]
    pub default_page_size: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 12,
            max_complexity: 20_000,
            max_page_size: 100,
            default_page_size: 20,
        }
    }
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
            limits: Limits::default(),
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
        self.engine()
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
