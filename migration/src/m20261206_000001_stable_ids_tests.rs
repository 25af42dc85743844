//! Tests of the move to stable ids: on SQLite always, with foreign keys
//! enforced (as the server connects) and not enforced; on PostgreSQL too
//! when `KOMPETANSE_TEST_DATABASE_URL` names a server (e.g.
//! `postgres://postgres@127.0.0.1:5432/test`): a fresh database
//! `kompetanse_test_ids_…` is created through it and dropped afterwards.

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sea_orm_migration::sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection, Statement,
    Value,
};
use uuid::Uuid;

use super::{Report, rekey, rewrite};
use crate::stable_ids::stable;
use crate::{Migrator, MigratorTrait};

/// A global id as the server writes it.
fn gid(type_name: &str, id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("{type_name}:{}", id.simple()))
}

// --- Rewriting texts ----------------------------------------------------------------

#[test]
fn every_form_of_a_moved_id_is_rewritten() {
    let old = Uuid::now_v7();
    let new = stable("county", "40");
    let other = Uuid::now_v7();
    let map = HashMap::from([(old, new)]);
    let text = |id: Uuid| {
        format!(
            r#"{{"id":"{id}","simple":"{}","upper":"{}","node":"{}","hyphenatedNode":"{}","other":"{other}","otherNode":"{}","prose":"County:{id}, æøå «{id}»."}}"#,
            id.simple(),
            id.hyphenated().to_string().to_uppercase(),
            gid("County", id),
            URL_SAFE_NO_PAD.encode(format!("Provider:{id}")),
            gid("County", other),
        )
    };
    assert_eq!(rewrite(&text(old), &map), Some(text(new)));
    // Nothing left to move.
    assert_eq!(rewrite(&text(new), &map), None);
    assert_eq!(rewrite("", &map), None);
    assert_eq!(rewrite("{\"before\":null}", &map), None);
    // Part of a longer token is not an id.
    assert_eq!(rewrite(&format!("x{old}"), &map), None);
    assert_eq!(rewrite(&format!("{}0", old.simple()), &map), None);
}

#[test]
fn derivation_is_the_seeds() {
    // The kinds are the table names; the seed's own test compares its
    // derivation with this one.
    for (table, _) in super::TABLES {
        assert_eq!(
            stable(table, "40"),
            Uuid::new_v5(
                &crate::stable_ids::NAMESPACE,
                format!("{table}:40").as_bytes()
            )
        );
    }
}

// --- Databases ------------------------------------------------------------------------

/// Runs `sql` with `?` parameters (numbered for PostgreSQL).
async fn exec(db: &DatabaseConnection, sql: &str, values: Vec<Value>) {
    let backend = db.get_database_backend();
    let sql = numbered(backend, sql);
    db.execute_raw(Statement::from_sql_and_values(
        backend,
        sql.as_str(),
        values,
    ))
    .await
    .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

fn numbered(backend: DatabaseBackend, sql: &str) -> String {
    if backend != DatabaseBackend::Postgres {
        return sql.to_owned();
    }
    let mut n = 0;
    let mut out = String::with_capacity(sql.len() + 16);
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push_str(&format!("${n}"));
        } else {
            out.push(c);
        }
    }
    out
}

/// The one value of a query with `?` parameters.
async fn value<T: sea_orm_migration::sea_orm::TryGetable>(
    db: &DatabaseConnection,
    sql: &str,
    values: Vec<Value>,
) -> T {
    let backend = db.get_database_backend();
    let sql = numbered(backend, sql);
    db.query_one_raw(Statement::from_sql_and_values(
        backend,
        sql.as_str(),
        values,
    ))
    .await
    .unwrap_or_else(|e| panic!("{sql}: {e}"))
    .unwrap_or_else(|| panic!("{sql}: no row"))
    .try_get_by_index(0)
    .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

async fn uuid(db: &DatabaseConnection, sql: &str, values: Vec<Value>) -> Uuid {
    value(db, sql, values).await
}

fn v(id: Uuid) -> Value {
    Value::from(id)
}

fn s(text: &str) -> Value {
    Value::from(text.to_owned())
}

/// How many migrations come before the one under test.
fn before_stable_ids() -> u32 {
    let at = Migrator::migrations()
        .iter()
        .position(|m| m.name() == "m20261206_000001_stable_ids")
        .expect("the stable-ids migration is registered");
    u32::try_from(at).expect("few migrations")
}

/// The rows of an earlier seed (random ids) and of the API that point at
/// them.
struct Fixture {
    county: Uuid,
    historic_county: Uuid,
    municipality: Uuid,
    former_municipality: Uuid,
    office: Uuid,
    provider: Uuid,
    service: Uuid,
    network: Uuid,
    programme: Uuid,
    run: Uuid,
    grant: Uuid,
    assignment: Uuid,
    audit_provider: Uuid,
    audit_grant: Uuid,
    audit_service: Uuid,
}

const OFFICE: &str = "974762501";

impl Fixture {
    fn new() -> Self {
        let id = Uuid::now_v7;
        Self {
            county: id(),
            historic_county: id(),
            municipality: id(),
            former_municipality: id(),
            office: id(),
            provider: id(),
            service: id(),
            network: id(),
            programme: id(),
            run: id(),
            grant: id(),
            assignment: id(),
            audit_provider: id(),
            audit_grant: id(),
            audit_service: id(),
        }
    }

    /// The audit entry of the provider (its contact details changed), with
    /// the provider's ids `provider` and `county`.
    fn provider_change(provider: Uuid) -> String {
        format!(
            r#"{{"after":{{"id":"{provider}","slug":"nubu","website":"https://nubu.no"}},"before":{{"id":"{provider}","slug":"nubu","website":null}}}}"#
        )
    }

    fn grant_change(&self, office: Uuid, municipality: Uuid) -> String {
        format!(
            r#"{{"after":{{"funder_office_id":"{office}","id":"{}","recipient_municipality_id":"{municipality}","run_id":"{}"}},"before":null}}"#,
            self.grant, self.run
        )
    }

    fn service_change(&self) -> String {
        format!(
            r#"{{"after":{{"id":"{}","name":"Barnevernet"}},"before":{{"id":"{}","name":"Barnevern"}}}}"#,
            self.service, self.service
        )
    }

    /// A stored answer of `createGrant` naming the office and municipality.
    fn grant_answer(&self, office: Uuid, municipality: Uuid) -> String {
        format!(
            r#"{{"data":{{"createGrant":{{"grant":{{"id":"{}","funderOffice":{{"id":"{}","name":"Statsforvalteren i Vestfold og Telemark"}},"recipient":{{"__typename":"Municipality","id":"{}"}}}}}}}}}}"#,
            gid("FundingGrant", self.grant),
            gid("FunderOffice", office),
            gid("Municipality", municipality),
        )
    }

    fn run_answer(&self) -> String {
        format!(
            r#"{{"data":{{"updateRun":{{"run":{{"id":"{}","version":2}}}}}}}}"#,
            gid("ProgrammeRun", self.run)
        )
    }

    async fn insert(&self, db: &DatabaseConnection) {
        let stable_county = stable("county", "03");
        let rows: Vec<(&str, Vec<Value>)> = vec![
            (
                "INSERT INTO county (id, number, name, official_name) VALUES (?, '40', 'Telemark', 'Telemark fylke')",
                vec![v(self.county)],
            ),
            // Seeded with a stable id already: stays as it is.
            (
                "INSERT INTO county (id, number, name, official_name) VALUES (?, '03', 'Oslo', 'Oslo')",
                vec![v(stable_county)],
            ),
            (
                "INSERT INTO county (id, number, name, official_name, merged_into_id) VALUES (?, '08', 'Telemark', 'Telemark', ?)",
                vec![v(self.historic_county), v(self.county)],
            ),
            (
                "INSERT INTO municipality (id, number, name, official_name, display_name, county_id) VALUES (?, '4020', 'Midt-Telemark', 'Midt-Telemark', 'Midt-Telemark', ?)",
                vec![v(self.municipality), v(self.county)],
            ),
            (
                "INSERT INTO municipality (id, number, name, official_name, display_name, county_id) VALUES (?, '0821', 'Bø', 'Bø', 'Bø', ?)",
                vec![v(self.former_municipality), v(self.historic_county)],
            ),
            (
                "INSERT INTO municipality_successor (municipality_id, successor_id) VALUES (?, ?)",
                vec![v(self.former_municipality), v(self.municipality)],
            ),
            (
                "INSERT INTO funder_office (id, org_number, name, registered_name) VALUES (?, ?, 'Statsforvalteren i Vestfold og Telemark', 'STATSFORVALTEREN I VESTFOLD OG TELEMARK')",
                vec![v(self.office), s(OFFICE)],
            ),
            (
                "INSERT INTO funder_office_county (funder_office_id, county_id) VALUES (?, ?)",
                vec![v(self.office), v(self.county)],
            ),
            (
                "INSERT INTO provider (id, slug, name, short_name, kind) VALUES (?, 'nubu', 'Nasjonalt utviklingssenter for barn og unge', 'NUBU', 'NATIONAL_CENTRE')",
                vec![v(self.provider)],
            ),
            (
                "INSERT INTO provider_region (provider_id, county_id) VALUES (?, ?)",
                vec![v(self.provider), v(self.county)],
            ),
            // Written through the API: UUIDv7 ids that stay.
            (
                "INSERT INTO service (id, slug, name, kind, host_municipality_id) VALUES (?, 'midt-telemark-barnevern', 'Barnevernet', 'CHILD_WELFARE', ?)",
                vec![v(self.service), v(self.municipality)],
            ),
            (
                "INSERT INTO service_municipality (service_id, municipality_id) VALUES (?, ?)",
                vec![v(self.service), v(self.former_municipality)],
            ),
            (
                "INSERT INTO service_area (service_id, municipality_id, county_id) VALUES (?, ?, ?)",
                vec![v(self.service), v(self.municipality), v(self.county)],
            ),
            (
                "INSERT INTO network (id, slug, name, kind, scope, county_id) VALUES (?, 'telemark', 'Telemark', 'LEARNING', 'COUNTY', ?)",
                vec![v(self.network), v(self.county)],
            ),
            (
                "INSERT INTO programme (id, slug, name) VALUES (?, 'tjenestestotte', 'Tjenestestøtte')",
                vec![v(self.programme)],
            ),
            (
                "INSERT INTO programme_provider (programme_id, provider_id, role) VALUES (?, ?, 'LEAD')",
                vec![v(self.programme), v(self.provider)],
            ),
            (
                "INSERT INTO programme_run (id, programme_id, network_id, title, status) VALUES (?, ?, ?, 'Høst', 'PLANNED')",
                vec![v(self.run), v(self.programme), v(self.network)],
            ),
            (
                "INSERT INTO funding_grant (id, funder_office_id, recipient_municipality_id, run_id, purpose, year, status) VALUES (?, ?, ?, ?, 'Kurs', 2025, 'GRANTED')",
                vec![
                    v(self.grant),
                    v(self.office),
                    v(self.municipality),
                    v(self.run),
                ],
            ),
            (
                "INSERT INTO role_assignment (id, subject, role, provider_id) VALUES (?, 'idp|nubu', 'PROVIDER', ?)",
                vec![v(self.assignment), v(self.provider)],
            ),
            (
                "INSERT INTO audit_log (id, subject, role, action, entity_type, entity_id, change) VALUES (?, 'idp|nubu', 'PROVIDER', 'updateProviderContact', 'Provider', ?, ?)",
                vec![
                    v(self.audit_provider),
                    v(self.provider),
                    s(&Self::provider_change(self.provider)),
                ],
            ),
            (
                "INSERT INTO audit_log (id, subject, role, action, entity_type, entity_id, change) VALUES (?, 'idp|leader', 'LEADER', 'createGrant', 'FundingGrant', ?, ?)",
                vec![
                    v(self.audit_grant),
                    v(self.grant),
                    s(&self.grant_change(self.office, self.municipality)),
                ],
            ),
            (
                "INSERT INTO audit_log (id, subject, role, action, entity_type, entity_id, change) VALUES (?, 'idp|leader', 'LEADER', 'updateService', 'Service', ?, ?)",
                vec![
                    v(self.audit_service),
                    v(self.service),
                    s(&self.service_change()),
                ],
            ),
            (
                "INSERT INTO idempotency_key (subject, key, request_hash, attempt, state, response, created_at, claimed_at) VALUES ('idp|leader', 'k1', 'h1', ?, 'done', ?, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
                vec![
                    v(Uuid::now_v7()),
                    s(&self.grant_answer(self.office, self.municipality)),
                ],
            ),
            (
                "INSERT INTO idempotency_key (subject, key, request_hash, attempt, state, response, created_at, claimed_at) VALUES ('idp|nubu', 'k2', 'h2', ?, 'done', ?, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
                vec![v(Uuid::now_v7()), s(&self.run_answer())],
            ),
            (
                "INSERT INTO idempotency_key (subject, key, request_hash, attempt, state, created_at, claimed_at) VALUES ('idp|nubu', 'k3', 'h3', ?, 'pending', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
                vec![v(Uuid::now_v7())],
            ),
        ];
        for (sql, values) in rows {
            exec(db, sql, values).await;
        }
    }

    /// Checks that the reference rows have their stable ids, everything
    /// followed them, and the rest stayed.
    async fn check_moved(&self, db: &DatabaseConnection) {
        let county = stable("county", "40");
        let historic_county = stable("county", "08");
        let municipality = stable("municipality", "4020");
        let former = stable("municipality", "0821");
        let office = stable("funder_office", OFFICE);
        let provider = stable("provider", "nubu");
        let id_of = |table: &str, column: &str, key: &str| {
            (
                format!("SELECT id FROM {table} WHERE {column} = ?"),
                vec![s(key)],
            )
        };
        for (table, column, key, want) in [
            ("county", "number", "40", county),
            ("county", "number", "08", historic_county),
            ("county", "number", "03", stable("county", "03")),
            ("municipality", "number", "4020", municipality),
            ("municipality", "number", "0821", former),
            ("funder_office", "org_number", OFFICE, office),
            ("provider", "slug", "nubu", provider),
        ] {
            let (sql, values) = id_of(table, column, key);
            assert_eq!(uuid(db, &sql, values).await, want, "{table} {key}");
        }

        // The references followed.
        let no = Vec::new;
        let checks: Vec<(&str, Vec<Value>, Uuid)> = vec![
            (
                "SELECT merged_into_id FROM county WHERE number = '08'",
                no(),
                county,
            ),
            (
                "SELECT county_id FROM municipality WHERE number = '4020'",
                no(),
                county,
            ),
            (
                "SELECT county_id FROM municipality WHERE number = '0821'",
                no(),
                historic_county,
            ),
            (
                "SELECT successor_id FROM municipality_successor WHERE municipality_id = ?",
                vec![v(former)],
                municipality,
            ),
            (
                "SELECT county_id FROM funder_office_county WHERE funder_office_id = ?",
                vec![v(office)],
                county,
            ),
            (
                "SELECT county_id FROM provider_region WHERE provider_id = ?",
                vec![v(provider)],
                county,
            ),
            (
                "SELECT host_municipality_id FROM service WHERE id = ?",
                vec![v(self.service)],
                municipality,
            ),
            (
                "SELECT municipality_id FROM service_municipality WHERE service_id = ?",
                vec![v(self.service)],
                former,
            ),
            (
                "SELECT municipality_id FROM service_area WHERE service_id = ?",
                vec![v(self.service)],
                municipality,
            ),
            (
                "SELECT county_id FROM service_area WHERE service_id = ?",
                vec![v(self.service)],
                county,
            ),
            (
                "SELECT county_id FROM network WHERE id = ?",
                vec![v(self.network)],
                county,
            ),
            (
                "SELECT provider_id FROM programme_provider WHERE programme_id = ?",
                vec![v(self.programme)],
                provider,
            ),
            (
                "SELECT pp.provider_id FROM programme_run r JOIN programme_provider pp ON pp.programme_id = r.programme_id WHERE r.id = ?",
                vec![v(self.run)],
                provider,
            ),
            (
                "SELECT funder_office_id FROM funding_grant WHERE id = ?",
                vec![v(self.grant)],
                office,
            ),
            (
                "SELECT recipient_municipality_id FROM funding_grant WHERE id = ?",
                vec![v(self.grant)],
                municipality,
            ),
            (
                "SELECT run_id FROM funding_grant WHERE id = ?",
                vec![v(self.grant)],
                self.run,
            ),
            (
                "SELECT provider_id FROM role_assignment WHERE id = ?",
                vec![v(self.assignment)],
                provider,
            ),
            // The rows written through the API kept their ids.
            (
                "SELECT id FROM service WHERE slug = 'midt-telemark-barnevern'",
                no(),
                self.service,
            ),
            (
                "SELECT id FROM programme WHERE slug = 'tjenestestotte'",
                no(),
                self.programme,
            ),
            (
                "SELECT id FROM network WHERE slug = 'telemark'",
                no(),
                self.network,
            ),
            (
                "SELECT id FROM programme_run WHERE title = 'Høst'",
                no(),
                self.run,
            ),
        ];
        for (sql, values, want) in checks {
            assert_eq!(uuid(db, sql, values).await, want, "{sql}");
        }
        let count: i64 = value(db, "SELECT COUNT(*) FROM county", no()).await;
        assert_eq!(count, 3);
        let count: i64 = value(db, "SELECT COUNT(*) FROM role_assignment", no()).await;
        assert_eq!(count, 1);

        // The audit log and the stored answers name the new ids.
        let audit = |id: Uuid| {
            (
                "SELECT change FROM audit_log WHERE id = ?",
                vec![v(id)],
                "SELECT entity_id FROM audit_log WHERE id = ?",
            )
        };
        let (sql, values, entity) = audit(self.audit_provider);
        assert_eq!(
            value::<String>(db, sql, values.clone()).await,
            Self::provider_change(provider)
        );
        assert_eq!(uuid(db, entity, values).await, provider);
        let (sql, values, entity) = audit(self.audit_grant);
        assert_eq!(
            value::<String>(db, sql, values.clone()).await,
            self.grant_change(office, municipality)
        );
        assert_eq!(uuid(db, entity, values).await, self.grant);
        let (sql, values, entity) = audit(self.audit_service);
        assert_eq!(
            value::<String>(db, sql, values.clone()).await,
            self.service_change()
        );
        assert_eq!(uuid(db, entity, values).await, self.service);
        let answer = |key: &str| {
            (
                "SELECT response FROM idempotency_key WHERE key = ?",
                vec![s(key)],
            )
        };
        let (sql, values) = answer("k1");
        assert_eq!(
            value::<String>(db, sql, values).await,
            self.grant_answer(office, municipality)
        );
        let (sql, values) = answer("k2");
        assert_eq!(value::<String>(db, sql, values).await, self.run_answer());
        let (sql, values) = answer("k3");
        assert_eq!(value::<Option<String>>(db, sql, values).await, None);

        // Nothing names an old id any more.
        let old = [
            self.county,
            self.historic_county,
            self.municipality,
            self.former_municipality,
            self.office,
            self.provider,
        ];
        let texts = db
            .query_all_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT change FROM audit_log UNION ALL \
                 SELECT response FROM idempotency_key WHERE response IS NOT NULL",
            ))
            .await
            .expect("texts");
        assert_eq!(texts.len(), 5);
        for row in texts {
            let text: String = row.try_get_by_index(0).expect("text");
            for id in old {
                for form in [
                    id.hyphenated().to_string(),
                    id.simple().to_string(),
                    gid("County", id),
                    gid("Municipality", id),
                    gid("FunderOffice", id),
                    gid("Provider", id),
                ] {
                    assert!(!text.contains(&form), "{text} names {form}");
                }
            }
        }
    }
}

/// The whole move on `db` (empty): a database at the previous migration with
/// the rows of an earlier seed, a table added by hand whose reference does
/// not cascade (refused while foreign keys are enforced), the migration,
/// and a second run that finds nothing to do.
async fn moves_an_earlier_seed(db: &DatabaseConnection, enforced: bool) {
    let backend = db.get_database_backend();
    Migrator::up(db, Some(before_stable_ids()))
        .await
        .expect("migrate to the previous migration");
    let f = Fixture::new();
    f.insert(db).await;

    // A reference that does not cascade.
    let uuid_type = if backend == DatabaseBackend::Postgres {
        "uuid"
    } else {
        "blob"
    };
    exec(
        db,
        &format!(
            "CREATE TABLE legacy_note (note_id integer PRIMARY KEY, \
             county_id {uuid_type} REFERENCES county (id) ON UPDATE RESTRICT)"
        ),
        Vec::new(),
    )
    .await;
    exec(
        db,
        "INSERT INTO legacy_note (note_id, county_id) VALUES (1, ?)",
        vec![v(f.county)],
    )
    .await;
    if enforced {
        let err = Migrator::up(db, None)
            .await
            .expect_err("a reference that does not cascade is refused");
        let message = err.to_string();
        assert!(
            message.contains("legacy_note.county_id → county.id (ON UPDATE RESTRICT)"),
            "{message}"
        );
        // Nothing changed, and the migration is still to run.
        assert_eq!(
            uuid(db, "SELECT id FROM county WHERE number = '40'", Vec::new()).await,
            f.county
        );
        assert_eq!(
            Migrator::get_pending_migrations(db)
                .await
                .expect("pending")
                .len() as u32,
            Migrator::migrations().len() as u32 - before_stable_ids()
        );
        exec(db, "DROP TABLE legacy_note", Vec::new()).await;
    }

    Migrator::up(db, None).await.expect("migrate");
    assert!(
        Migrator::get_pending_migrations(db)
            .await
            .expect("pending")
            .is_empty()
    );
    f.check_moved(db).await;
    if !enforced {
        // Moved by the migration itself, foreign key or not.
        assert_eq!(
            uuid(
                db,
                "SELECT county_id FROM legacy_note WHERE note_id = 1",
                Vec::new()
            )
            .await,
            stable("county", "40")
        );
    }

    // Idempotent: a database whose rows have their stable ids is left as
    // it is.
    assert_eq!(rekey(db).await.expect("second run"), Report::default());
    f.check_moved(db).await;
}

/// A temporary SQLite file and a pool on it (one connection, so that a
/// `PRAGMA` of the test holds for every statement).
async fn sqlite(foreign_keys: bool) -> (tempfile::TempDir, DatabaseConnection) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("stable-ids.db").display()
    );
    let mut options = ConnectOptions::new(url);
    options
        .max_connections(1)
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(move |o| o.foreign_keys(foreign_keys));
    let db = Database::connect(options).await.expect("open SQLite");
    (dir, db)
}

#[tokio::test]
async fn sqlite_with_foreign_keys_enforced() {
    let (_dir, db) = sqlite(true).await;
    moves_an_earlier_seed(&db, true).await;
}

#[tokio::test]
async fn sqlite_without_foreign_keys() {
    let (_dir, db) = sqlite(false).await;
    let enforced: i64 = value(&db, "PRAGMA foreign_keys", Vec::new()).await;
    assert_eq!(enforced, 0);
    moves_an_earlier_seed(&db, false).await;
}

#[tokio::test]
async fn an_empty_or_freshly_seeded_database_is_left_alone() {
    let (_dir, db) = sqlite(true).await;
    Migrator::up(&db, None).await.expect("migrate");
    assert_eq!(rekey(&db).await.expect("empty"), Report::default());
    exec(
        &db,
        "INSERT INTO county (id, number, name, official_name) VALUES (?, '40', 'Telemark', 'Telemark')",
        vec![v(stable("county", "40"))],
    )
    .await;
    exec(
        &db,
        "INSERT INTO provider (id, slug, name, short_name, kind) VALUES (?, 'nubu', 'NUBU', 'NUBU', 'NATIONAL_CENTRE')",
        vec![v(stable("provider", "nubu"))],
    )
    .await;
    assert_eq!(rekey(&db).await.expect("stable"), Report::default());
}

/// `url` with its database name replaced by `name` (query string kept).
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let server = match base[authority_start..].find('/') {
        Some(i) => &base[..authority_start + i],
        None => base,
    };
    match query {
        Some(q) => format!("{server}/{name}?{q}"),
        None => format!("{server}/{name}"),
    }
}

#[tokio::test]
async fn postgres() {
    let Some(url) = std::env::var("KOMPETANSE_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
    else {
        eprintln!("KOMPETANSE_TEST_DATABASE_URL is not set; PostgreSQL test skipped");
        return;
    };
    let url = url.trim().to_owned();
    let name = format!("kompetanse_test_ids_{}", Uuid::now_v7().simple());
    let server = Database::connect(url.as_str())
        .await
        .expect("connect to the PostgreSQL server");
    server
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .expect("create the test database");
    let test_url = with_database(&url, &name);
    // In a task of its own, so that the database is dropped whatever the
    // test's outcome.
    let outcome = tokio::spawn(async move {
        let mut options = ConnectOptions::new(test_url);
        options
            .max_connections(2)
            .acquire_timeout(Duration::from_secs(10))
            .sqlx_logging(false);
        let db = Database::connect(options)
            .await
            .expect("connect to the test database");
        moves_an_earlier_seed(&db, true).await;
        db.close().await.ok();
    })
    .await;
    server
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await
        .expect("drop the test database");
    server.close().await.ok();
    if let Err(err) = outcome {
        std::panic::resume_unwind(err.into_panic());
    }
}
