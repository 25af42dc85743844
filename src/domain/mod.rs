//! The domain, one module per area: its GraphQL types, root fields, filters
//! and rules. Shared pieces (errors, ids, paging, loaders, access) live
//! beside it.

pub mod access;
pub mod funding;
pub mod geography;
pub mod money;
pub mod network;
pub mod people;
pub mod programme;
pub mod provider;
pub mod reference;
pub mod run;
pub mod seed;
pub mod service;
pub mod statistics;
pub mod write;

mod common;

pub use common::{OrderDirection, check_slug, given_id, id_by_slug, text_search};
