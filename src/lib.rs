//! kompetanse: the GraphQL register of competence-development programmes
//! for Norwegian municipal services, their providers and their funders.
//!
//! The binary is a thin shell around [`app::Application`]; everything that
//! runs in production also runs in the tests.

pub mod app;
pub mod audit;
pub mod auth;
pub mod bench;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod graphql;
pub mod http;
pub mod idempotency;
pub mod telemetry;

pub use app::Application;
pub use config::Settings;
