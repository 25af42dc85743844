//! Stable ids for the reference rows of databases seeded before they had
//! them.
//!
//! Since this release the seed gives counties, municipalities, county
//! governors' offices and providers the ids of their natural keys
//! ([`crate::stable_ids::stable`]: a county or municipality by number, an
//! office by organisation number, a provider by slug), the same on every
//! installation. A database seeded earlier has random (UUIDv7) ids on those
//! rows; `up` gives every such row its stable id, in one transaction on
//! both engines (`use_transaction`), and moves everything that pointed at
//! the old id:
//!
//! - **Foreign keys.** Every foreign key that the kompetanse migrations
//!   create is `ON UPDATE CASCADE`, so changing a row's id moves the rows
//!   that reference it. The migration does not take that on trust: it reads
//!   the references to the four tables from the schema catalogue at run
//!   time (`pragma_foreign_key_list` of every table on SQLite,
//!   `pg_constraint` on PostgreSQL). Where the foreign keys are enforced
//!   (always on PostgreSQL; on SQLite when the connection has
//!   `PRAGMA foreign_keys` on, as the server's connections have) it relies
//!   on the cascades, and refuses, changing nothing, when a reference does
//!   not cascade on update (a schema altered by hand: the rename would fail
//!   or, with `SET NULL`, lose the reference). Where they are not enforced
//!   (a SQLite connection with `foreign_keys` off, e.g. an outside tool) it
//!   updates every referencing column itself. Either way it counts, for
//!   every reference, the rows pointing at no row before and after, and
//!   fails (rolling everything back) if the move left any reference behind.
//! - **The audit log.** `entity_id`, and the ids inside the `change` text
//!   (snapshots name ids as hyphenated UUIDs).
//! - **Stored idempotent answers** (`idempotency_key.response`), which carry
//!   global ids (base64url of `Type:uuid`).
//!
//! In these texts every token that is a moved id is replaced: a UUID,
//! hyphenated or not, or a global id of any type whose UUID moved. The
//! texts are rewritten in place, not re-serialised, so a replayed answer
//! keeps its field order.
//!
//! Idempotent: rows that already have their stable id are left alone, and
//! on a database seeded with stable ids (or an empty one) `up` changes
//! nothing. Only these four tables move: rows written through the API, and
//! the demo rows of an earlier seed (services, networks, programmes,
//! runs …), keep their ids. Outside the database, a token whose
//! `provider_id` or `funder_office_id` claim names an old id no longer
//! matches its provider or office and must be issued again, and old global
//! ids kept by clients no longer resolve (every object can be found again
//! by its natural key).
//!
//! `down` does nothing: the random ids were never recorded, there is no
//! schema change to undo, and the stable ids serve the earlier releases
//! as well as the random ones did.

use std::collections::{BTreeMap, HashMap, HashSet};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend, Statement, Value};
use uuid::Uuid;

use crate::stable_ids::stable;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261206_000001_stable_ids"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        rekey(manager.get_connection()).await.map(|_| ())
    }

    /// Nothing to undo (see the module documentation).
    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }

    /// All or nothing, on SQLite too: the moves, the rewritten texts and the
    /// migration's own record commit together.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

/// The tables whose rows get stable ids: the table (also the `kind` of the
/// derivation) and its natural-key column.
pub(crate) const TABLES: [(&str, &str); 4] = [
    ("county", "number"),
    ("municipality", "number"),
    ("funder_office", "org_number"),
    ("provider", "slug"),
];

/// Rows read at a time from the audit log and the idempotency keys.
const PAGE: u64 = 500;

/// What a run changed (all empty or zero when there was nothing to do).
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Report {
    /// Rows given their stable id, per table.
    pub moved: BTreeMap<&'static str, usize>,
    /// Referencing rows updated by the migration itself (only where foreign
    /// keys are not enforced; otherwise the cascades move them).
    pub references: u64,
    /// Audit entries rewritten.
    pub audit: u64,
    /// Stored idempotent answers rewritten.
    pub idempotency: u64,
}

/// The rows of one table that move: `(old id, stable id)`.
struct Move {
    table: &'static str,
    pairs: Vec<(Uuid, Uuid)>,
}

/// A single-column foreign key to the `id` of one of [`TABLES`].
#[derive(Debug)]
struct Reference {
    /// The referencing table's schema (PostgreSQL), if not the current one.
    schema: Option<String>,
    table: String,
    column: String,
    /// The referenced table (one of [`TABLES`]).
    target: &'static str,
    /// The update rule, upper case (`CASCADE`, `NO ACTION`, `RESTRICT` …).
    on_update: String,
}

impl Reference {
    fn describe(&self) -> String {
        format!(
            "{}.{} → {}.id (ON UPDATE {})",
            self.table, self.column, self.target, self.on_update
        )
    }

    fn table_sql(&self) -> String {
        match &self.schema {
            Some(schema) => format!("{}.{}", ident(schema), ident(&self.table)),
            None => ident(&self.table),
        }
    }
}

/// Gives every row of [`TABLES`] its stable id and moves what pointed at
/// the old one. Runs inside the caller's transaction.
pub(crate) async fn rekey<C: ConnectionTrait>(db: &C) -> Result<Report, DbErr> {
    let backend = db.get_database_backend();
    if !matches!(backend, DatabaseBackend::Sqlite | DatabaseBackend::Postgres) {
        return Err(DbErr::Migration(
            "stable ids: only SQLite and PostgreSQL are supported".to_owned(),
        ));
    }
    let moves = plan(db).await?;
    let mut report = Report::default();
    if moves.is_empty() {
        return Ok(report);
    }
    let moving = |table: &str| moves.iter().any(|m| m.table == table);
    let references: Vec<Reference> = references(db)
        .await?
        .into_iter()
        .filter(|r| moving(r.target))
        .collect();
    let enforced = foreign_keys_enforced(db).await?;
    if enforced {
        let stuck: Vec<String> = references
            .iter()
            .filter(|r| r.on_update != "CASCADE")
            .map(Reference::describe)
            .collect();
        if !stuck.is_empty() {
            return Err(DbErr::Migration(format!(
                "stable ids: cannot move the reference rows to their stable ids, because these \
                 foreign keys do not cascade on update: {}. Every foreign key created by the \
                 kompetanse migrations is ON UPDATE CASCADE; recreate these so, then migrate \
                 again. Nothing was changed.",
                stuck.join("; ")
            )));
        }
    }

    let before = dangling(db, &references).await?;
    for m in &moves {
        for (old, new) in &m.pairs {
            db.execute(
                Query::update()
                    .table(Alias::new(m.table))
                    .value(Alias::new("id"), *new)
                    .and_where(Expr::col(Alias::new("id")).eq(*old)),
            )
            .await?;
        }
        report.moved.insert(m.table, m.pairs.len());
    }
    if !enforced {
        for r in &references {
            let sql = format!(
                "UPDATE {table} SET {col} = {new} WHERE {col} = {old}",
                table = r.table_sql(),
                col = ident(&r.column),
                new = placeholder(backend, 1),
                old = placeholder(backend, 2),
            );
            for m in moves.iter().filter(|m| m.table == r.target) {
                for (old, new) in &m.pairs {
                    let done = db
                        .execute_raw(Statement::from_sql_and_values(
                            backend,
                            sql.as_str(),
                            [Value::from(*new), Value::from(*old)],
                        ))
                        .await?;
                    report.references += done.rows_affected();
                }
            }
        }
    }
    let after = dangling(db, &references).await?;
    let left: Vec<String> = references
        .iter()
        .zip(before.iter().zip(&after))
        .filter(|(_, (b, a))| a > b)
        .map(|(r, (b, a))| format!("{} ({} rows, {} before)", r.describe(), a, b))
        .collect();
    if !left.is_empty() {
        return Err(DbErr::Migration(format!(
            "stable ids: the move left references to old ids behind: {}. Are the foreign \
             keys' triggers disabled? Nothing was changed.",
            left.join("; ")
        )));
    }

    let map: HashMap<Uuid, Uuid> = moves.iter().flat_map(|m| m.pairs.iter().copied()).collect();
    report.audit = rewrite_audit_log(db, &map).await?;
    report.idempotency = rewrite_idempotency(db, &map).await?;
    Ok(report)
}

/// The rows to move, per table (tables with none left out). Refuses when a
/// stable id is taken by another row.
async fn plan<C: ConnectionTrait>(db: &C) -> Result<Vec<Move>, DbErr> {
    let mut moves = Vec::new();
    for (table, key_column) in TABLES {
        let rows = db
            .query_all_raw(Statement::from_string(
                db.get_database_backend(),
                format!(
                    "SELECT {}, {} FROM {}",
                    ident("id"),
                    ident(key_column),
                    ident(table)
                ),
            ))
            .await?;
        let mut ids = HashSet::with_capacity(rows.len());
        let mut wanted = Vec::new();
        for row in &rows {
            let id: Uuid = row.try_get_by_index(0)?;
            let key: String = row.try_get_by_index(1)?;
            // PostgreSQL pads `char(n)` keys; the seed derived from the
            // unpadded key.
            let target = stable(table, key.trim_end_matches(' '));
            ids.insert(id);
            if target != id {
                wanted.push((id, target, key));
            }
        }
        let mut targets = HashSet::with_capacity(wanted.len());
        for (_, target, key) in &wanted {
            if ids.contains(target) || !targets.insert(*target) {
                return Err(DbErr::Migration(format!(
                    "stable ids: {table} {key} cannot get its stable id {target}: another \
                     {table} row has it or wants it. Nothing was changed."
                )));
            }
        }
        if !wanted.is_empty() {
            moves.push(Move {
                table,
                pairs: wanted.into_iter().map(|(old, new, _)| (old, new)).collect(),
            });
        }
    }
    Ok(moves)
}

/// Whether the database enforces foreign keys on this connection.
async fn foreign_keys_enforced<C: ConnectionTrait>(db: &C) -> Result<bool, DbErr> {
    match db.get_database_backend() {
        DatabaseBackend::Sqlite => {
            let row = db
                .query_one_raw(Statement::from_string(
                    DatabaseBackend::Sqlite,
                    "PRAGMA foreign_keys",
                ))
                .await?;
            Ok(match row {
                Some(row) => row.try_get_by_index::<i64>(0)? == 1,
                None => false,
            })
        }
        _ => Ok(true),
    }
}

/// The single-column foreign keys to the `id` of one of [`TABLES`], from the
/// schema catalogue.
async fn references<C: ConnectionTrait>(db: &C) -> Result<Vec<Reference>, DbErr> {
    let target = |name: &str| {
        TABLES
            .iter()
            .map(|(t, _)| *t)
            .find(|t| t.eq_ignore_ascii_case(name))
    };
    let mut found = Vec::new();
    match db.get_database_backend() {
        DatabaseBackend::Sqlite => {
            let tables = db
                .query_all_raw(Statement::from_string(
                    DatabaseBackend::Sqlite,
                    "SELECT name FROM sqlite_master WHERE type = 'table' \
                     AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
                ))
                .await?;
            for row in &tables {
                let table: String = row.try_get_by_index(0)?;
                let keys = db
                    .query_all_raw(Statement::from_sql_and_values(
                        DatabaseBackend::Sqlite,
                        "SELECT \"id\", \"table\", \"from\", \"to\", \"on_update\" \
                         FROM pragma_foreign_key_list(?) ORDER BY \"id\", \"seq\"",
                        [Value::from(table.clone())],
                    ))
                    .await?;
                // Columns per foreign key: only single-column keys are
                // references to an id.
                let mut columns: HashMap<i64, usize> = HashMap::new();
                for key in &keys {
                    *columns.entry(key.try_get_by_index::<i64>(0)?).or_default() += 1;
                }
                for key in &keys {
                    let id: i64 = key.try_get_by_index(0)?;
                    let referenced: String = key.try_get_by_index(1)?;
                    let from: String = key.try_get_by_index(2)?;
                    let to: Option<String> = key.try_get_by_index(3)?;
                    let on_update: String = key.try_get_by_index(4)?;
                    let Some(target) = target(&referenced) else {
                        continue;
                    };
                    // `to` is NULL for a key naming the primary key implicitly.
                    let to_id = to.as_deref().is_none_or(|c| c.eq_ignore_ascii_case("id"));
                    if columns.get(&id) == Some(&1) && to_id {
                        found.push(Reference {
                            schema: None,
                            table: table.clone(),
                            column: from,
                            target,
                            on_update: on_update.to_ascii_uppercase(),
                        });
                    }
                }
            }
        }
        DatabaseBackend::Postgres => {
            // pg_constraint rather than information_schema: the latter
            // shows only the constraints on tables the role has privileges
            // on, and pairs constraints by name, which PostgreSQL does not
            // require to be unique in a schema.
            let keys = db
                .query_all_raw(Statement::from_string(
                    DatabaseBackend::Postgres,
                    "SELECT cn.nspname::text, cl.relname::text, a.attname::text, rt.relname::text, \
                       CASE c.confupdtype WHEN 'c' THEN 'CASCADE' WHEN 'a' THEN 'NO ACTION' \
                         WHEN 'r' THEN 'RESTRICT' WHEN 'n' THEN 'SET NULL' \
                         WHEN 'd' THEN 'SET DEFAULT' ELSE c.confupdtype::text END, \
                       cn.nspname = current_schema() \
                     FROM pg_constraint c \
                     JOIN pg_class cl ON cl.oid = c.conrelid \
                     JOIN pg_namespace cn ON cn.oid = cl.relnamespace \
                     JOIN pg_class rt ON rt.oid = c.confrelid \
                     JOIN pg_namespace rn ON rn.oid = rt.relnamespace \
                     JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] \
                     JOIN pg_attribute ra ON ra.attrelid = c.confrelid AND ra.attnum = c.confkey[1] \
                     WHERE c.contype = 'f' AND cardinality(c.conkey) = 1 \
                       AND rn.nspname = current_schema() AND ra.attname = 'id' \
                     ORDER BY 1, 2, 3",
                ))
                .await?;
            for key in &keys {
                let schema: String = key.try_get_by_index(0)?;
                let table: String = key.try_get_by_index(1)?;
                let column: String = key.try_get_by_index(2)?;
                let referenced: String = key.try_get_by_index(3)?;
                let on_update: String = key.try_get_by_index(4)?;
                let current: bool = key.try_get_by_index(5)?;
                // Names are compared exactly: PostgreSQL folds the unquoted
                // names of the migrations to lower case.
                let Some(target) = TABLES.iter().map(|(t, _)| *t).find(|t| *t == referenced) else {
                    continue;
                };
                found.push(Reference {
                    schema: (!current).then_some(schema),
                    table,
                    column,
                    target,
                    on_update,
                });
            }
        }
        _ => {}
    }
    Ok(found)
}

/// For every reference, the rows whose reference names no row.
async fn dangling<C: ConnectionTrait>(db: &C, references: &[Reference]) -> Result<Vec<i64>, DbErr> {
    let mut counts = Vec::with_capacity(references.len());
    for r in references {
        let col = ident(&r.column);
        let sql = format!(
            "SELECT COUNT(*) FROM {table} c WHERE c.{col} IS NOT NULL \
             AND NOT EXISTS (SELECT 1 FROM {target} p WHERE p.{id} = c.{col})",
            table = r.table_sql(),
            target = ident(r.target),
            id = ident("id"),
        );
        let row = db
            .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
            .await?;
        counts.push(match row {
            Some(row) => row.try_get_by_index::<i64>(0)?,
            None => 0,
        });
    }
    Ok(counts)
}

/// Moves the audit log's `entity_id` and the ids in its `change` texts;
/// returns how many entries changed.
async fn rewrite_audit_log<C: ConnectionTrait>(
    db: &C,
    map: &HashMap<Uuid, Uuid>,
) -> Result<u64, DbErr> {
    let mut changed = 0;
    let mut after: Option<Uuid> = None;
    loop {
        let mut select = Query::select();
        select
            .columns([
                Alias::new("id"),
                Alias::new("entity_id"),
                Alias::new("change"),
            ])
            .from(Alias::new("audit_log"))
            .order_by(Alias::new("id"), Order::Asc)
            .limit(PAGE);
        if let Some(after) = after {
            select.and_where(Expr::col(Alias::new("id")).gt(after));
        }
        let rows = db.query_all(&select).await?;
        for row in &rows {
            let id: Uuid = row.try_get_by_index(0)?;
            let entity: Option<Uuid> = row.try_get_by_index(1)?;
            let change: String = row.try_get_by_index(2)?;
            after = Some(id);
            let moved_entity = entity.and_then(|e| map.get(&e).copied());
            let moved_change = rewrite(&change, map);
            if moved_entity.is_none() && moved_change.is_none() {
                continue;
            }
            let mut update = Query::update();
            update
                .table(Alias::new("audit_log"))
                .and_where(Expr::col(Alias::new("id")).eq(id));
            if let Some(entity) = moved_entity {
                update.value(Alias::new("entity_id"), entity);
            }
            if let Some(change) = moved_change {
                update.value(Alias::new("change"), change);
            }
            db.execute(&update).await?;
            changed += 1;
        }
        if (rows.len() as u64) < PAGE {
            return Ok(changed);
        }
    }
}

/// Moves the ids in the stored idempotent answers; returns how many
/// changed.
async fn rewrite_idempotency<C: ConnectionTrait>(
    db: &C,
    map: &HashMap<Uuid, Uuid>,
) -> Result<u64, DbErr> {
    let (subject, key, response) = (
        Alias::new("subject"),
        Alias::new("key"),
        Alias::new("response"),
    );
    let mut changed = 0;
    let mut after: Option<(String, String)> = None;
    loop {
        let mut select = Query::select();
        select
            .columns([subject.clone(), key.clone(), response.clone()])
            .from(Alias::new("idempotency_key"))
            .and_where(Expr::col(response.clone()).is_not_null())
            .order_by(subject.clone(), Order::Asc)
            .order_by(key.clone(), Order::Asc)
            .limit(PAGE);
        if let Some((s, k)) = &after {
            select.cond_where(
                Cond::any()
                    .add(Expr::col(subject.clone()).gt(s.as_str()))
                    .add(
                        Cond::all()
                            .add(Expr::col(subject.clone()).eq(s.as_str()))
                            .add(Expr::col(key.clone()).gt(k.as_str())),
                    ),
            );
        }
        let rows = db.query_all(&select).await?;
        for row in &rows {
            let s: String = row.try_get_by_index(0)?;
            let k: String = row.try_get_by_index(1)?;
            let text: String = row.try_get_by_index(2)?;
            if let Some(text) = rewrite(&text, map) {
                db.execute(
                    Query::update()
                        .table(Alias::new("idempotency_key"))
                        .value(response.clone(), text)
                        .and_where(Expr::col(subject.clone()).eq(s.as_str()))
                        .and_where(Expr::col(key.clone()).eq(k.as_str())),
                )
                .await?;
                changed += 1;
            }
            after = Some((s, k));
        }
        if (rows.len() as u64) < PAGE {
            return Ok(changed);
        }
    }
}

/// `text` with every token naming a moved id replaced by the same token for
/// its stable id, or `None` when it names none.
///
/// A token is a maximal run of the characters of UUIDs and base64url
/// (`A-Z a-z 0-9 - _`). One that is a UUID (hyphenated, or 32 hex digits)
/// in `map` becomes the new UUID written the same way; one that is a global
/// id (base64url without padding of `Type:uuid`) whose UUID is in `map`
/// becomes the global id of the same type and the new UUID.
pub(crate) fn rewrite(text: &str, map: &HashMap<Uuid, Uuid>) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        if !is_token_byte(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && is_token_byte(bytes[i]) {
            i += 1;
        }
        // Token bytes are ASCII, so both ends are character boundaries.
        if let Some(new) = replace_token(&text[start..i], map) {
            let out = out.get_or_insert_with(|| String::with_capacity(text.len()));
            out.push_str(&text[copied..start]);
            out.push_str(&new);
            copied = i;
        }
    }
    let mut out = out?;
    out.push_str(&text[copied..]);
    Some(out)
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// The replacement of one token, if it names a moved id.
fn replace_token(token: &str, map: &HashMap<Uuid, Uuid>) -> Option<String> {
    if let Some(old) = as_uuid(token) {
        return map.get(&old).map(|new| written_like(token, *new));
    }
    // The shortest global id: a one-letter type, `:` and 32 hex digits.
    if !(46..=256).contains(&token.len()) {
        return None;
    }
    let decoded = URL_SAFE_NO_PAD.decode(token).ok()?;
    let decoded = std::str::from_utf8(&decoded).ok()?;
    let (type_name, key) = decoded.split_once(':')?;
    if type_name.is_empty() || !type_name.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let new = map.get(&as_uuid(key)?)?;
    Some(URL_SAFE_NO_PAD.encode(format!("{type_name}:{}", written_like(key, *new))))
}

/// A UUID written hyphenated (36 characters) or as 32 hex digits.
fn as_uuid(text: &str) -> Option<Uuid> {
    match text.len() {
        32 | 36 => Uuid::try_parse(text).ok(),
        _ => None,
    }
}

/// `id` written as `like` is: hyphenated or not, upper or lower case.
fn written_like(like: &str, id: Uuid) -> String {
    let text = if like.len() == 36 {
        id.hyphenated().to_string()
    } else {
        id.simple().to_string()
    };
    if like.bytes().any(|b| b.is_ascii_uppercase()) {
        text.to_ascii_uppercase()
    } else {
        text
    }
}

/// A quoted identifier (both engines quote with double quotes).
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The `n`th (1-based) parameter of a raw statement.
fn placeholder(backend: DatabaseBackend, n: usize) -> String {
    match backend {
        DatabaseBackend::Postgres => format!("${n}"),
        _ => "?".to_owned(),
    }
}

#[cfg(test)]
#[path = "m20261206_000001_stable_ids_tests.rs"]
mod tests;
