//! Seeding against real databases: a fresh SQLite file always, and a fresh
//! PostgreSQL database as well when `KOMPETANSE_TEST_DATABASE_URL` names a
//! server (e.g. `postgres://postgres@127.0.0.1:5432/test`). The PostgreSQL
//! test creates a uniquely named database through that URL, runs in it and
//! drops it afterwards.

use std::collections::{HashMap, HashSet};

use entity::enums::{
    Audience, FigureQualifier, GrantStatus, NetworkKind, ParticipationRole, ProviderRole,
    RunStatus, ServiceKind, SessionKind,
};
use entity::prelude::*;
use entity::{
    CompetenceArea, county, decode_json_list, enrolment, funder_office_county, milestone,
    municipality, municipality_successor, network, network_member, programme, programme_provider,
    programme_run, session,
};
use kompetanse::domain::reference::validate_org_number;
use kompetanse::domain::seed::{self, SeedError, SeedReport};
use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, Database, DatabaseConnection, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder,
};
use uuid::Uuid;

// --- Test databases ---------------------------------------------------------------

/// A migrated, empty database, and what it takes to throw it away.
struct TestDb {
    db: DatabaseConnection,
    /// Keeps the SQLite file's directory alive.
    _dir: Option<tempfile::TempDir>,
    /// For PostgreSQL: the maintenance URL and the database to drop.
    drop: Option<(String, String)>,
}

impl TestDb {
    /// A fresh SQLite file in a temporary directory.
    async fn sqlite() -> Self {
        Self::sqlite_at(None).await
    }

    /// [`Self::sqlite`] with only the first `steps` migrations (all when
    /// `None`).
    async fn sqlite_at(steps: Option<u32>) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("seed.db").display());
        let db = Database::connect(url).await.expect("open SQLite");
        Migrator::up(&db, steps).await.expect("migrate SQLite");
        Self {
            db,
            _dir: Some(dir),
            drop: None,
        }
    }

    /// A fresh database on the PostgreSQL server named by
    /// `KOMPETANSE_TEST_DATABASE_URL`, or `None` when it is not set.
    async fn postgres() -> Option<Self> {
        Self::postgres_at(None).await
    }

    /// [`Self::postgres`] with only the first `steps` migrations (all when
    /// `None`).
    async fn postgres_at(steps: Option<u32>) -> Option<Self> {
        let url = std::env::var("KOMPETANSE_TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.trim().is_empty())?;
        let name = format!("kompetanse_test_{}", Uuid::now_v7().simple());
        let maintenance = Database::connect(url.as_str())
            .await
            .expect("connect to the PostgreSQL server");
        maintenance
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .expect("create the test database");
        maintenance.close().await.ok();
        let db = Database::connect(with_database(&url, &name))
            .await
            .expect("connect to the test database");
        Migrator::up(&db, steps).await.expect("migrate PostgreSQL");
        Some(Self {
            db,
            _dir: None,
            drop: Some((url, name)),
        })
    }

    /// Closes the connection and drops a PostgreSQL test database.
    async fn finish(self) {
        self.db.close().await.ok();
        if let Some((url, name)) = self.drop {
            let maintenance = Database::connect(url.as_str())
                .await
                .expect("reconnect to the PostgreSQL server");
            maintenance
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await
                .expect("drop the test database");
            maintenance.close().await.ok();
        }
    }
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

#[test]
fn database_names_are_replaced() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:5432/test", "x"),
        "postgres://postgres@127.0.0.1:5432/x"
    );
    assert_eq!(
        with_database("postgres://u:p@h/test?sslmode=disable", "x"),
        "postgres://u:p@h/x?sslmode=disable"
    );
    assert_eq!(
        with_database("postgres://h:5432", "x"),
        "postgres://h:5432/x"
    );
}

// --- Tests ------------------------------------------------------------------------------

#[tokio::test]
async fn seeding_sqlite() {
    let t = TestDb::sqlite().await;
    seed_and_check(&t.db).await;
    t.finish().await;
}

#[tokio::test]
async fn seeding_postgres() {
    let Some(t) = TestDb::postgres().await else {
        eprintln!("KOMPETANSE_TEST_DATABASE_URL is not set; PostgreSQL seeding test skipped");
        return;
    };
    seed_and_check(&t.db).await;
    t.finish().await;
}

/// Several servers starting at once against one PostgreSQL database seed it
/// exactly once.
#[tokio::test]
async fn concurrent_seeding_postgres() {
    let Some(t) = TestDb::postgres().await else {
        eprintln!("KOMPETANSE_TEST_DATABASE_URL is not set; PostgreSQL concurrency test skipped");
        return;
    };
    let (a, b, c) = tokio::join!(
        seed::seed_if_empty(&t.db),
        seed::seed_if_empty(&t.db),
        seed::seed_if_empty(&t.db)
    );
    let results = [a, b, c].map(|r| r.expect("no seeder fails"));
    assert_eq!(results.iter().filter(|r| r.is_some()).count(), 1);
    assert_eq!(County::find().count(&t.db).await.unwrap(), 33);
    assert_eq!(Programme::find().count(&t.db).await.unwrap(), 6);
    t.finish().await;
}

#[tokio::test]
async fn seed_functions_refuse_to_run_twice() {
    let t = TestDb::sqlite().await;
    // Demo data needs the reference data.
    assert!(matches!(
        seed::seed_demo(&t.db).await,
        Err(SeedError::Data(_))
    ));
    let reference = seed::seed_reference(&t.db).await.expect("reference");
    assert_eq!(reference.county, 33);
    assert_eq!(reference.programme, 0);
    assert!(matches!(
        seed::seed_reference(&t.db).await,
        Err(SeedError::AlreadySeeded(_))
    ));
    let demo = seed::seed_demo(&t.db).await.expect("demo");
    assert_eq!(demo.county, 0);
    assert_eq!(demo.programme, 6);
    assert!(matches!(
        seed::seed_demo(&t.db).await,
        Err(SeedError::AlreadySeeded(_))
    ));
    // Not empty any more: nothing to do.
    assert_eq!(seed::seed_if_empty(&t.db).await.expect("no-op"), None);
    t.finish().await;
}

/// A database seeded before the stable ids (made here by seeding, giving
/// the reference rows random ids, as the seed of that time did, and
/// forgetting that `m20261206_000001_stable_ids` ran) has them after the
/// migration, with every reference and the demo data intact.
#[tokio::test]
async fn an_earlier_seed_moves_to_stable_ids_sqlite() {
    let t = TestDb::sqlite_at(None).await;
    earlier_seed_moves(&t.db).await;
    t.finish().await;
}

#[tokio::test]
async fn an_earlier_seed_moves_to_stable_ids_postgres() {
    let Some(t) = TestDb::postgres_at(None).await else {
        eprintln!("KOMPETANSE_TEST_DATABASE_URL is not set; PostgreSQL stable-ids test skipped");
        return;
    };
    earlier_seed_moves(&t.db).await;
    t.finish().await;
}

/// How many migrations come before `m20261206_000001_stable_ids`.
fn before_stable_ids() -> u32 {
    let names: Vec<String> = Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    let at = names
        .iter()
        .position(|n| n == "m20261206_000001_stable_ids")
        .expect("the stable-ids migration is registered");
    u32::try_from(at).unwrap()
}

/// The reference tables, their natural keys, and whether each row's id is
/// its stable id.
async fn stable_id_rows(db: &DatabaseConnection) -> Vec<(&'static str, String, bool)> {
    let mut rows = Vec::new();
    for c in County::find().all(db).await.unwrap() {
        let stable = c.id == migration::stable_ids::stable("county", &c.number);
        rows.push(("county", c.number, stable));
    }
    for m in Municipality::find().all(db).await.unwrap() {
        let stable = m.id == migration::stable_ids::stable("municipality", &m.number);
        rows.push(("municipality", m.number, stable));
    }
    for o in FunderOffice::find().all(db).await.unwrap() {
        let stable = o.id == migration::stable_ids::stable("funder_office", &o.org_number);
        rows.push(("funder_office", o.org_number, stable));
    }
    for p in Provider::find().all(db).await.unwrap() {
        let stable = p.id == migration::stable_ids::stable("provider", &p.slug);
        rows.push(("provider", p.slug, stable));
    }
    rows
}

async fn earlier_seed_moves(db: &DatabaseConnection) {
    seed::seed_if_empty(db)
        .await
        .expect("seeding succeeds")
        .expect("an empty database is seeded");
    let counts = table_counts(db).await;
    let demo_ids: Vec<Uuid> = Service::find()
        .order_by_asc(entity::service::Column::Slug)
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    // The ids of the earlier seed: random, moved with their references by
    // the foreign keys' cascades.
    let backend = db.get_database_backend();
    for table in ["county", "municipality", "funder_office", "provider"] {
        let rows = db
            .query_all_raw(sea_orm::Statement::from_string(
                backend,
                format!("SELECT id FROM {table}"),
            ))
            .await
            .unwrap();
        let sql = match backend {
            sea_orm::DbBackend::Postgres => format!("UPDATE {table} SET id = $1 WHERE id = $2"),
            _ => format!("UPDATE {table} SET id = ? WHERE id = ?"),
        };
        for row in rows {
            let id: Uuid = row.try_get_by_index(0).unwrap();
            db.execute_raw(sea_orm::Statement::from_sql_and_values(
                backend,
                sql.as_str(),
                [Uuid::now_v7().into(), id.into()],
            ))
            .await
            .unwrap();
        }
    }
    let rows = stable_id_rows(db).await;
    assert_eq!(rows.len(), 33 + 780 + 10 + 8);
    assert!(rows.iter().all(|(_, _, stable)| !stable));
    check_reference(db).await;

    // The migration to stable ids has not run on that database: later
    // migrations (whose columns today's seed writes) have.
    db.execute_unprepared(&format!(
        "DELETE FROM seaql_migrations WHERE version = '{}'",
        Migrator::migrations()[before_stable_ids() as usize].name()
    ))
    .await
    .unwrap();
    Migrator::up(db, None).await.expect("migrate");
    let moved = stable_id_rows(db).await;
    assert_eq!(moved.len(), rows.len());
    for (table, key, stable) in &moved {
        assert!(stable, "{table} {key} has no stable id");
    }
    assert_eq!(table_counts(db).await, counts);
    check_reference(db).await;
    check_demo(db).await;
    check_synthetic(db).await;
    // The demo rows keep their ids.
    let after: Vec<Uuid> = Service::find()
        .order_by_asc(entity::service::Column::Slug)
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(after, demo_ids);
}

/// Seeds an empty database twice and checks the result on whatever engine
/// `db` is.
async fn seed_and_check(db: &DatabaseConnection) {
    let report = seed::seed_if_empty(db)
        .await
        .expect("seeding succeeds")
        .expect("an empty database is seeded");
    check_report(&report);
    let before = table_counts(db).await;
    for (table, n) in report.tables() {
        assert_eq!(before[table], n, "{table}: report and table disagree");
    }

    check_reference(db).await;
    check_demo(db).await;
    check_synthetic(db).await;
    // The ids the migration to stable ids derives are the seed's.
    for (table, key, stable) in stable_id_rows(db).await {
        assert!(
            stable,
            "{table} {key}: the seed's id is not the migration's"
        );
    }

    // Idempotent: a second call finds data and changes nothing.
    assert_eq!(seed::seed_if_empty(db).await.expect("second call"), None);
    assert_eq!(
        table_counts(db).await,
        before,
        "second call changed the data"
    );
}

fn check_report(r: &SeedReport) {
    assert_eq!(r.county, 15 + 18);
    assert_eq!(r.municipality, 357 + 423);
    assert_eq!(r.funder_office, 10);
    assert_eq!(r.funder_office_county, 15);
    assert_eq!(r.provider, 8);
    assert_eq!(r.service, 14);
    assert_eq!(r.network, 4);
    assert_eq!(r.network_member, 9);
    assert_eq!(r.programme, 6);
    assert_eq!(r.milestone, 13);
    assert_eq!(r.programme_run, 5);
    assert_eq!(r.session, 8 + 6 + 4 + 3);
    assert_eq!(r.funding_grant, 3);
    assert!(r.attendance > 0 && r.attendance < 200, "{}", r.attendance);
    let text = r.to_string();
    assert_eq!(text.lines().count(), r.tables().len());
}

/// Row counts of every seeded table.
async fn table_counts(db: &DatabaseConnection) -> HashMap<&'static str, u64> {
    let mut m = HashMap::new();
    m.insert("county", County::find().count(db).await.unwrap());
    m.insert(
        "municipality",
        Municipality::find().count(db).await.unwrap(),
    );
    m.insert(
        "municipality_successor",
        MunicipalitySuccessor::find().count(db).await.unwrap(),
    );
    m.insert(
        "funder_office",
        FunderOffice::find().count(db).await.unwrap(),
    );
    m.insert(
        "funder_office_county",
        FunderOfficeCounty::find().count(db).await.unwrap(),
    );
    m.insert("provider", Provider::find().count(db).await.unwrap());
    m.insert(
        "provider_region",
        ProviderRegion::find().count(db).await.unwrap(),
    );
    m.insert("service", Service::find().count(db).await.unwrap());
    m.insert(
        "service_municipality",
        ServiceMunicipality::find().count(db).await.unwrap(),
    );
    m.insert("network", Network::find().count(db).await.unwrap());
    m.insert(
        "network_member",
        NetworkMember::find().count(db).await.unwrap(),
    );
    m.insert("programme", Programme::find().count(db).await.unwrap());
    m.insert(
        "programme_provider",
        ProgrammeProvider::find().count(db).await.unwrap(),
    );
    m.insert(
        "programme_theme",
        ProgrammeTheme::find().count(db).await.unwrap(),
    );
    m.insert(
        "programme_service_kind",
        ProgrammeServiceKind::find().count(db).await.unwrap(),
    );
    m.insert("milestone", Milestone::find().count(db).await.unwrap());
    m.insert(
        "programme_run",
        ProgrammeRun::find().count(db).await.unwrap(),
    );
    m.insert("enrolment", Enrolment::find().count(db).await.unwrap());
    m.insert("session", Session::find().count(db).await.unwrap());
    m.insert("person", Person::find().count(db).await.unwrap());
    m.insert(
        "participation",
        Participation::find().count(db).await.unwrap(),
    );
    m.insert("attendance", Attendance::find().count(db).await.unwrap());
    m.insert(
        "funding_grant",
        FundingGrant::find().count(db).await.unwrap(),
    );
    m
}

async fn check_reference(db: &DatabaseConnection) {
    let counties = County::find().all(db).await.unwrap();
    let current: Vec<_> = counties.iter().filter(|c| c.valid_to.is_none()).collect();
    assert_eq!(current.len(), 15);
    let historic: Vec<_> = counties.iter().filter(|c| c.valid_to.is_some()).collect();
    assert_eq!(historic.len(), 18);
    assert!(historic.iter().all(|c| c.merged_into_id.is_some()));
    let county_by_id: HashMap<Uuid, &county::Model> = counties.iter().map(|c| (c.id, c)).collect();
    let county_by_number: HashMap<&str, &county::Model> =
        counties.iter().map(|c| (c.number.as_str(), c)).collect();
    // Viken's main successor is Østfold (31); Telemark (08) merged into 38.
    let merged = |n: &str| {
        county_by_number[n]
            .merged_into_id
            .map(|id| county_by_id[&id].number.clone())
    };
    assert_eq!(merged("30").as_deref(), Some("31"));
    assert_eq!(merged("08").as_deref(), Some("38"));

    let municipalities = Municipality::find().all(db).await.unwrap();
    let current_m: Vec<_> = municipalities
        .iter()
        .filter(|m| m.valid_to.is_none())
        .collect();
    assert_eq!(current_m.len(), 357);
    assert_eq!(
        municipalities
            .iter()
            .filter(|m| m.valid_to.is_some())
            .count(),
        423
    );
    for m in &municipalities {
        let county = &county_by_id[&m.county_id];
        assert!(
            m.number.starts_with(&county.number),
            "{} {} is in county {}",
            m.number,
            m.name,
            county.number
        );
        assert_eq!(
            m.valid_to.is_some(),
            m.change_type.is_some(),
            "{}",
            m.number
        );
    }
    // Current municipalities all lie in current counties.
    assert!(
        current_m
            .iter()
            .all(|m| county_by_id[&m.county_id].valid_to.is_none())
    );

    let population: i64 = current_m.iter().filter_map(|m| m.population).sum();
    assert_eq!(population, 5_550_203);
    let county_population: i64 = current.iter().filter_map(|c| c.population).sum();
    assert_eq!(county_population, 5_550_203);

    // Bø (0821) and Sauherad (0822) → Midt-Telemark 3817 → Midt-Telemark 4020.
    let by_number: HashMap<&str, &municipality::Model> = municipalities
        .iter()
        .map(|m| (m.number.as_str(), m))
        .collect();
    let links = MunicipalitySuccessor::find().all(db).await.unwrap();
    let successors = |id: Uuid| -> Vec<Uuid> {
        links
            .iter()
            .filter(|l: &&municipality_successor::Model| l.municipality_id == id)
            .map(|l| l.successor_id)
            .collect()
    };
    let number_of = |id: Uuid| {
        municipalities
            .iter()
            .find(|m| m.id == id)
            .map(|m| m.number.clone())
            .unwrap()
    };
    for start in ["0821", "0822"] {
        let m = by_number[start];
        assert!(m.valid_to.is_some());
        let step1: Vec<String> = successors(m.id).into_iter().map(number_of).collect();
        assert_eq!(step1, ["3817"], "{start}");
        let step2: Vec<String> = successors(by_number["3817"].id)
            .into_iter()
            .map(number_of)
            .collect();
        assert_eq!(step2, ["4020"]);
        assert!(by_number["4020"].valid_to.is_none());
        assert_eq!(by_number["4020"].name, "Midt-Telemark");
    }

    // Every organisation number passes the mod-11 check.
    for o in FunderOffice::find().all(db).await.unwrap() {
        assert_eq!(validate_org_number(&o.org_number), Ok(()), "{}", o.name);
    }
    let providers = Provider::find().all(db).await.unwrap();
    for p in &providers {
        if let Some(n) = &p.org_number {
            assert_eq!(validate_org_number(n), Ok(()), "{}", p.name);
        }
    }
    let nubu = providers.iter().find(|p| p.slug == "nubu").unwrap();
    assert_eq!(nubu.org_number.as_deref(), Some("985638187"));
    let rvts_sor = providers.iter().find(|p| p.slug == "rvts-sor").unwrap();
    assert_eq!(rvts_sor.org_number, None);
    for slug in ["forandringsfabrikken", "bufdir"] {
        assert!(providers.iter().any(|p| p.slug == slug), "{slug}");
    }
    // Each current county is covered by exactly one office.
    let office_links = FunderOfficeCounty::find().all(db).await.unwrap();
    for c in &current {
        assert_eq!(
            office_links.iter().filter(|l| l.county_id == c.id).count(),
            1,
            "{}",
            c.name
        );
    }
}

async fn check_demo(db: &DatabaseConnection) {
    let networks = Network::find().all(db).await.unwrap();
    let network = |slug: &str| -> network::Model {
        networks
            .iter()
            .find(|n| n.slug == slug)
            .cloned()
            .unwrap_or_else(|| panic!("network {slug}"))
    };
    let members = |id: Uuid| {
        let db = db.clone();
        async move {
            NetworkMember::find()
                .filter(network_member::Column::NetworkId.eq(id))
                .count(&db)
                .await
                .unwrap()
        }
    };
    let viken = network("laeringsnettverk-viken");
    assert_eq!(viken.name, "Læringsnettverk Viken");
    assert_eq!(members(viken.id).await, 4);
    let innlandet = network("laeringsnettverk-innlandet");
    assert_eq!(members(innlandet.id).await, 5);
    let mr = network("laeringsnettverk-ii-more-og-romsdal");
    assert_eq!(mr.name, "Læringsnettverk II i Møre og Romsdal");
    assert_eq!(mr.reported_member_count, Some(7));
    assert_eq!(members(mr.id).await, 0);
    let leaders = networks
        .iter()
        .find(|n| n.kind == NetworkKind::LeaderNetwork)
        .unwrap();
    assert_eq!(members(leaders.id).await, 0);
    assert!(networks.iter().all(|n| n.source.is_some()));

    // Services: every one has a source; Bø/Sauherad services on 4020.
    let services = Service::find().all(db).await.unwrap();
    assert!(services.iter().all(|s| s.source.is_some()));
    let midt_telemark = Municipality::find()
        .filter(municipality::Column::Number.eq("4020"))
        .one(db)
        .await
        .unwrap()
        .unwrap();
    let mt_kinds: HashSet<ServiceKind> = services
        .iter()
        .filter(|s| s.host_municipality_id == Some(midt_telemark.id))
        .map(|s| s.kind)
        .collect();
    assert_eq!(
        mt_kinds,
        HashSet::from([
            ServiceKind::Refugee,
            ServiceKind::MentalHealth,
            ServiceKind::HealthStation,
            ServiceKind::EducationalPsychological
        ])
    );
    let numedal = services
        .iter()
        .find(|s| s.slug == "numedal-barneverntjeneste")
        .unwrap();
    assert_eq!(numedal.host_municipality_id, None);
    assert_eq!(
        ServiceMunicipality::find()
            .filter(entity::service_municipality::Column::ServiceId.eq(numedal.id))
            .count(db)
            .await
            .unwrap(),
        3
    );

    // Programmes.
    let programmes = Programme::find().all(db).await.unwrap();
    assert!(programmes.iter().all(|p| p.source.is_some()));
    let programme = |slug: &str| -> programme::Model {
        programmes
            .iter()
            .find(|p| p.slug == slug)
            .cloned()
            .unwrap_or_else(|| panic!("programme {slug}"))
    };
    let providers_of = |id: Uuid| {
        let db = db.clone();
        async move {
            ProgrammeProvider::find()
                .filter(programme_provider::Column::ProgrammeId.eq(id))
                .all(&db)
                .await
                .unwrap()
        }
    };
    let mma = programme("menneskemotekompetanse-barnevern");
    assert_eq!(mma.name, "Menneskemøtekompetanse – Barnevern");
    assert!(
        providers_of(mma.id).await.is_empty(),
        "the MMA text names no provider"
    );
    let rvts = programme("deltakende-fellesskap-og-psykisk-helse");
    let rvts_providers = providers_of(rvts.id).await;
    assert_eq!(rvts_providers.len(), 1);
    assert_eq!(rvts_providers[0].role, ProviderRole::Lead);
    assert_eq!(
        decode_json_list::<String>(&rvts.learning_objectives).len(),
        4
    );
    let tsp = programme("tjenestestotteprogrammet");
    let areas: Vec<CompetenceArea> = decode_json_list(&tsp.competence_areas);
    assert_eq!(
        areas.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(),
        [
            "Fagkunnskap",
            "Brukerkunnskap",
            "Ferdigheter",
            "Verdier og holdninger"
        ]
    );

    // MITT LIV milestones, in order.
    let mitt_liv = programme("mitt-liv-barneverntjeneste");
    let milestones = Milestone::find()
        .filter(milestone::Column::ProgrammeId.eq(mitt_liv.id))
        .order_by_asc(milestone::Column::Position)
        .all(db)
        .await
        .unwrap();
    assert_eq!(milestones.len(), 13);
    assert_eq!(
        milestones.iter().map(|m| m.position).collect::<Vec<_>>(),
        (1..=13).collect::<Vec<_>>()
    );
    assert!(
        milestones
            .iter()
            .all(|m| m.source.as_deref() == Some("forandringsfabrikken-mitt-liv.txt"))
    );
    let fact = |year_from: i32, figure: i64| {
        milestones
            .iter()
            .find(|m| m.year_from == year_from && m.figure == Some(figure))
            .unwrap_or_else(|| panic!("milestone {year_from} {figure}"))
    };
    assert_eq!(fact(2013, 15).qualifier, Some(FigureQualifier::Exact));
    assert_eq!(fact(2013, 100).qualifier, Some(FigureQualifier::MoreThan));
    assert_eq!(fact(2013, 60).year_to, Some(2014));
    assert_eq!(fact(2015, 130).qualifier, Some(FigureQualifier::Exact));
    assert_eq!(fact(2015, 21).unit.as_deref(), Some("Kick-samlinger"));
    assert_eq!(fact(2015, 15).unit.as_deref(), Some("Boost-samlinger"));
    assert_eq!(fact(2015, 30).year_to, Some(2016));
    assert_eq!(fact(2017, 200).qualifier, Some(FigureQualifier::Nearly));
    assert_eq!(fact(2017, 300).qualifier, Some(FigureQualifier::Nearly));
    assert_eq!(fact(2017, 75).qualifier, Some(FigureQualifier::Nearly));
    assert!(
        milestones
            .iter()
            .any(|m| m.year_from == 2016 && m.figure.is_none())
    );

    // Runs and sessions.
    let runs = ProgrammeRun::find().all(db).await.unwrap();
    assert!(runs.iter().all(|r| r.source.is_some()));
    let run_of = |programme_id: Uuid| -> programme_run::Model {
        runs.iter()
            .find(|r| r.programme_id == programme_id)
            .cloned()
            .unwrap()
    };
    let sessions_of = |run_id: Uuid| {
        let db = db.clone();
        async move {
            Session::find()
                .filter(session::Column::RunId.eq(run_id))
                .order_by_asc(session::Column::Position)
                .all(&db)
                .await
                .unwrap()
        }
    };
    let enrolled = |run_id: Uuid| {
        let db = db.clone();
        async move {
            Enrolment::find()
                .filter(enrolment::Column::RunId.eq(run_id))
                .count(&db)
                .await
                .unwrap()
        }
    };

    let mma_run = run_of(mma.id);
    assert_eq!(mma_run.network_id, Some(viken.id));
    assert!(sessions_of(mma_run.id).await.is_empty());
    assert_eq!(mma_run.starts_on, None);

    let rvts_run = run_of(rvts.id);
    assert_eq!(rvts_run.network_id, None);
    assert_eq!(rvts_run.status, RunStatus::Completed);
    assert_eq!(enrolled(rvts_run.id).await, 5);
    let s = sessions_of(rvts_run.id).await;
    let teaching: Vec<_> = s
        .iter()
        .filter(|s| s.kind == SessionKind::TeachingDay)
        .collect();
    let guidance: Vec<_> = s
        .iter()
        .filter(|s| s.kind == SessionKind::LeaderGuidance)
        .collect();
    assert_eq!((teaching.len(), guidance.len(), s.len()), (4, 4, 8));
    assert!(teaching.iter().all(|s| s.audience == Audience::AllStaff));
    assert!(
        guidance
            .iter()
            .all(|s| s.audience == Audience::Leaders && s.duration_minutes == Some(180))
    );
    assert!(
        s.iter().all(|s| s.date.is_none()),
        "the text gives no dates"
    );

    let tsp_run = run_of(tsp.id);
    assert_eq!(enrolled(tsp_run.id).await, 0);
    let s = sessions_of(tsp_run.id).await;
    assert_eq!(
        s.iter()
            .filter(|s| s.kind == SessionKind::LeaderGathering)
            .count(),
        3
    );
    assert_eq!(
        s.iter()
            .filter(|s| s.kind == SessionKind::CommonGathering)
            .count(),
        3
    );
    assert!(s.iter().all(|s| s.pre_work.is_some()));

    let fosterhjem = programme("veiledning-av-fosterhjem-ved-utfordrende-atferd");
    let innlandet_run = run_of(fosterhjem.id);
    assert_eq!(innlandet_run.network_id, Some(innlandet.id));
    assert_eq!(innlandet_run.year, Some(2022));
    assert_eq!(enrolled(innlandet_run.id).await, 5);
    let s = sessions_of(innlandet_run.id).await;
    let kinds: Vec<(SessionKind, Option<&str>)> =
        s.iter().map(|s| (s.kind, s.period.as_deref())).collect();
    assert_eq!(
        kinds,
        [
            (SessionKind::ProfessionalDay, Some("juni 2022")),
            (SessionKind::ProfessionalDay, Some("juni 2022")),
            (SessionKind::CourseDay, Some("høsten 2022")),
            (SessionKind::CourseDay, Some("høsten 2022")),
        ]
    );

    let samtaler = programme("gode-samtaler-med-ungdomsfamilier");
    let mr_run = run_of(samtaler.id);
    assert_eq!(mr_run.network_id, Some(mr.id));
    assert_eq!(enrolled(mr_run.id).await, 0);
    let s = sessions_of(mr_run.id).await;
    let course: Vec<_> = s
        .iter()
        .filter(|s| s.kind == SessionKind::CourseDay)
        .collect();
    assert_eq!(course.len(), 2);
    assert_eq!(
        (
            course[0].reported_attendance,
            course[0].reported_attendance_approximate
        ),
        (Some(50), false)
    );
    assert_eq!(
        (
            course[1].reported_attendance,
            course[1].reported_attendance_approximate
        ),
        (Some(30), true)
    );
    assert!(s.iter().any(|s| s.kind == SessionKind::Guidance));

    // Grants: recipient network, office covering its county, no amounts.
    let grants = FundingGrant::find().all(db).await.unwrap();
    assert_eq!(grants.len(), 3);
    let office_links = FunderOfficeCounty::find().all(db).await.unwrap();
    for g in &grants {
        assert!(g.source.is_some());
        assert_eq!((g.amount_applied, g.amount_granted), (None, None));
        let net = networks
            .iter()
            .find(|n| Some(n.id) == g.recipient_network_id)
            .expect("recipient network");
        let county = net.county_id.expect("regional network");
        assert!(
            office_links
                .iter()
                .any(
                    |l: &funder_office_county::Model| l.funder_office_id == g.funder_office_id
                        && l.county_id == county
                ),
            "office does not cover {}",
            net.slug
        );
    }
    let statuses: HashSet<(i32, GrantStatus)> = grants.iter().map(|g| (g.year, g.status)).collect();
    assert!(statuses.contains(&(2023, GrantStatus::Submitted)));
    assert_eq!(
        grants
            .iter()
            .filter(|g| g.status == GrantStatus::Paid)
            .count(),
        2
    );
}

async fn check_synthetic(db: &DatabaseConnection) {
    let persons = Person::find().all(db).await.unwrap();
    assert!(!persons.is_empty());
    assert!(
        persons.iter().all(|p| p.synthetic),
        "every demo person is synthetic"
    );
    assert!(persons.iter().all(|p| p.name.starts_with("Testperson ")));
    assert!(persons.iter().all(|p| {
        p.email
            .as_deref()
            .is_some_and(|e| e.ends_with("@example.invalid"))
    }));
    assert!(persons.iter().any(|p| p.is_leader));

    let participations = Participation::find().all(db).await.unwrap();
    assert!(participations.iter().all(|p| p.synthetic));
    let person_by_id: HashMap<Uuid, _> = persons.iter().map(|p| (p.id, p)).collect();
    for p in &participations {
        let leader = person_by_id[&p.person_id].is_leader;
        assert_eq!(p.role == ParticipationRole::Leader, leader);
    }

    // Two staff from Nome, no leader.
    let nome = Service::find()
        .filter(entity::service::Column::Slug.eq("nome-kommune-tjeneste-ikke-oppgitt"))
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        persons.iter().filter(|p| p.service_id == nome.id).count(),
        2
    );

    let rows = Attendance::find().all(db).await.unwrap();
    assert!(!rows.is_empty() && rows.len() < 200, "{}", rows.len());
    assert!(rows.iter().all(|a| a.synthetic));
    assert!(rows.iter().any(|a| a.present) && rows.iter().any(|a| !a.present));
    let sessions: HashMap<Uuid, session::Model> = Session::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    for a in &rows {
        let s = &sessions[&a.session_id];
        if s.audience == Audience::Leaders {
            assert!(
                person_by_id[&a.person_id].is_leader,
                "only leaders at {}",
                s.title
            );
        }
        // Attendance only for people who take part in the session's run.
        assert!(
            participations
                .iter()
                .any(|p| p.person_id == a.person_id && p.run_id == s.run_id)
        );
    }
}

/// The rows of `service_area`, sorted, as text.
async fn service_areas(db: &DatabaseConnection) -> Vec<String> {
    let mut rows: Vec<String> = entity::service_area::Entity::find()
        .all(db)
        .await
        .expect("read service_area")
        .into_iter()
        .map(|r| format!("{} {} {}", r.service_id, r.municipality_id, r.county_id))
        .collect();
    rows.sort();
    rows
}

/// The seeds keep `service_area` equal to its definition, and the
/// migration that created it fills it the same way from existing rows.
async fn service_area_is_kept(db: &DatabaseConnection) {
    seed::seed_if_empty(db).await.expect("seed");
    let kept = service_areas(db).await;
    assert!(kept.len() > 10, "{} rows", kept.len());

    let backend = db.get_database_backend();
    let mut defined: Vec<String> = db
        .query_all_raw(backend.build(&kompetanse::domain::service::area::current_coverage()))
        .await
        .expect("the definition")
        .iter()
        .map(|r| {
            let id = |c: &str| r.try_get::<Uuid>("", c).expect(c);
            format!(
                "{} {} {}",
                id("service_id"),
                id("municipality_id"),
                id("county_id")
            )
        })
        .collect();
    defined.sort();
    assert_eq!(kept, defined);

    // Every covered municipality is one in force today.
    let ended: HashSet<Uuid> = Municipality::find()
        .filter(municipality::Column::ValidTo.is_not_null())
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect();
    for row in entity::service_area::Entity::find().all(db).await.unwrap() {
        assert!(!ended.contains(&row.municipality_id), "{row:?}");
    }

    // Migrating down past the table and up again refills it from the rows.
    let names: Vec<String> = Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    let at = names
        .iter()
        .position(|n| n == "m20261126_000001_service_area")
        .expect("the service_area migration");
    let steps = u32::try_from(names.len() - at).unwrap();
    Migrator::down(db, Some(steps)).await.expect("migrate down");
    Migrator::up(db, None).await.expect("migrate up");
    assert_eq!(service_areas(db).await, kept);

    // Rebuilds at the same time take turns and leave the same rows.
    use kompetanse::domain::service::area::refresh_coverage;
    let (a, b, c) = tokio::join!(
        refresh_coverage(db),
        refresh_coverage(db),
        refresh_coverage(db)
    );
    for result in [a, b, c] {
        result.expect("a concurrent rebuild");
    }
    assert_eq!(service_areas(db).await, kept);
}

#[tokio::test]
async fn service_area_is_kept_sqlite() {
    let t = TestDb::sqlite().await;
    service_area_is_kept(&t.db).await;
    t.finish().await;
}

#[tokio::test]
async fn service_area_is_kept_postgres() {
    let Some(t) = TestDb::postgres().await else {
        eprintln!("KOMPETANSE_TEST_DATABASE_URL is not set; PostgreSQL service_area test skipped");
        return;
    };
    service_area_is_kept(&t.db).await;
    t.finish().await;
}
