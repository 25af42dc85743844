//! Generic batched loaders over sea-orm entities.
//!
//! [`ById`] loads rows by key, [`ByColumn`] loads the rows whose foreign key
//! is among the keys (the children of many parents in one statement). The
//! registry of the relations the API serves is [`super::loaders::Loaders`],
//! created afresh for every request, so its cache never outlives a request
//! (nor a viewer).
//!
//! Both load only the rows the request's viewer may see: their one
//! constructor takes the viewer and applies the entity's row rule from the
//! access policy ([`RowRule`]), so no loader can be made without it.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use sea_orm::sea_query::ValueType;
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, DbErr, EntityTrait, ModelTrait, Order, QueryFilter,
    QueryOrder,
};
use uuid::Uuid;

use crate::auth::Viewer;
use crate::auth::policy::RowRule;

/// Error type of all loaders (cloneable, as the DataLoader requires).
pub type LoadError = Arc<DbErr>;

/// Keys go to the database in chunks of this size (SQLite allows 32 766
/// bound parameters, PostgreSQL 65 535; stay far below both).
const CHUNK: usize = 1000;

fn key_of<M: ModelTrait>(model: &M, column: <M::Entity as EntityTrait>::Column) -> Option<Uuid> {
    <Option<Uuid> as ValueType>::try_from(model.get(column))
        .ok()
        .flatten()
}

/// Loads rows of `E` by the unique uuid column `column` (normally `id`).
pub struct ById<E: EntityTrait> {
    db: DatabaseConnection,
    column: E::Column,
    condition: Condition,
}

impl<E: RowRule> ById<E> {
    /// A loader of the rows of `E` that `viewer` may see (by the entity's
    /// row rule); the others load as missing.
    pub fn new(db: DatabaseConnection, column: E::Column, viewer: &Viewer) -> Self {
        Self {
            db,
            column,
            condition: E::visible(viewer),
        }
    }
}

impl<E> Loader<Uuid> for ById<E>
where
    E: EntityTrait,
    E::Model: Clone + Send + Sync + 'static,
    E::Column: Send + Sync,
{
    type Value = E::Model;
    type Error = LoadError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let mut out = HashMap::with_capacity(keys.len());
        for chunk in keys.chunks(CHUNK) {
            let rows = E::find()
                .filter(self.column.is_in(chunk.iter().copied()))
                .filter(self.condition.clone())
                .all(&self.db)
                .await?;
            for row in rows {
                if let Some(key) = key_of(&row, self.column) {
                    out.insert(key, row);
                }
            }
        }
        Ok(out)
    }
}

/// Loads, for each key, the rows of `E` whose `column` equals it, in the
/// given order (ties broken by `id`, which is time-ordered).
pub struct ByColumn<E: EntityTrait> {
    db: DatabaseConnection,
    column: E::Column,
    order: Vec<(E::Column, Order)>,
    condition: Condition,
}

impl<E: RowRule> ByColumn<E> {
    /// A loader of the rows of `E` that `viewer` may see (by the entity's
    /// row rule), in `order`; rows the viewer may not see are left out.
    pub fn new(
        db: DatabaseConnection,
        column: E::Column,
        order: Vec<(E::Column, Order)>,
        viewer: &Viewer,
    ) -> Self {
        Self {
            db,
            column,
            order,
            condition: E::visible(viewer),
        }
    }
}

impl<E> Loader<Uuid> for ByColumn<E>
where
    E: EntityTrait,
    E::Model: Clone + Send + Sync + 'static,
    E::Column: Send + Sync,
{
    type Value = Vec<E::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let mut out: HashMap<Uuid, Vec<E::Model>> = HashMap::with_capacity(keys.len());
        for chunk in keys.chunks(CHUNK) {
            let mut query = E::find()
                .filter(self.column.is_in(chunk.iter().copied()))
                .filter(self.condition.clone());
            for (col, order) in &self.order {
                query = query.order_by(*col, order.clone());
            }
            for row in query.all(&self.db).await? {
                if let Some(key) = key_of(&row, self.column) {
                    out.entry(key).or_default().push(row);
                }
            }
        }
        Ok(out)
    }
}
