//! `kompetanse seed --synthetic SCALE`: deterministic for a seed, relations
//! that hold, derived completion that matches a recomputation, refusal of a
//! second load of the same seed, all-or-nothing loading, and the command
//! line. Small fractional scales keep it fast; both engines.

mod common;

use std::collections::{HashMap, HashSet};
use std::process::Command;

use entity::enums::{Audience, ParticipationRole};
use entity::{
    attendance, enrolment, funder_office_county, funding_grant, municipality, network,
    participation, person, programme, programme_run, service, session, stats_run_service,
};
use kompetanse::domain::people::completion;
use kompetanse::domain::seed::{self, SeedError, national};
use kompetanse::{Settings, db};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use uuid::Uuid;

/// About 12 services, 2 programmes, 20 runs, 300 persons, 7 000 attendance
/// rows.
const SCALE: f64 = 0.05;

async fn connect(url: &str) -> DatabaseConnection {
    let conn = db::connect(&Settings::for_database(url.to_owned()))
        .await
        .expect("connect");
    db::migrate(&conn).await.expect("migrate");
    conn
}

async fn fresh() -> DatabaseConnection {
    connect(&common::fresh_database().await).await
}

/// The ids of the rows of one seed's dataset, table by table, sorted.
#[derive(Debug, PartialEq)]
struct Ids {
    services: Vec<Uuid>,
    programmes: Vec<Uuid>,
    networks: Vec<Uuid>,
    runs: Vec<Uuid>,
    sessions: Vec<Uuid>,
    persons: Vec<Uuid>,
    participations: Vec<Uuid>,
    attendance: Vec<Uuid>,
    grants: Vec<Uuid>,
}

async fn ids_of(db: &DatabaseConnection, seed: u64) -> Ids {
    let prefix = national::slug_prefix(seed);
    let services: Vec<Uuid> = service::Entity::find()
        .select_only()
        .column(service::Column::Id)
        .filter(service::Column::Slug.starts_with(&prefix))
        .order_by_asc(service::Column::Id)
        .into_tuple()
        .all(db)
        .await
        .unwrap();
    let programmes: Vec<Uuid> = programme::Entity::find()
        .select_only()
        .column(programme::Column::Id)
        .filter(programme::Column::Slug.starts_with(&prefix))
        .order_by_asc(programme::Column::Id)
        .into_tuple()
        .all(db)
        .await
        .unwrap();
    let networks: Vec<Uuid> = network::Entity::find()
        .select_only()
        .column(network::Column::Id)
        .filter(network::Column::Slug.starts_with(&prefix))
        .order_by_asc(network::Column::Id)
        .into_tuple()
        .all(db)
        .await
        .unwrap();
    let runs: Vec<Uuid> = programme_run::Entity::find()
        .select_only()
        .column(programme_run::Column::Id)
        .filter(programme_run::Column::ProgrammeId.is_in(programmes.clone()))
        .order_by_asc(programme_run::Column::Id)
        .into_tuple()
        .all(db)
        .await
        .unwrap();
    let sessions: Vec<Uuid> = session::Entity::find()
        .select_only()
        .column(session::Column::Id)
        .filter(session::Column::RunId.is_in(runs.clone()))
        .order_by_asc(session::Column::Id)
        .into_tuple()
        .all(db)
        .await
        .unwrap();
    let persons: Vec<Uuid> = person::Entity::find()
        .select_only()
        .column(person::Column::Id)
        .filter(person::Column::ServiceId.is_in(services.clone()))
        .order_by_asc(person::Column::Id)
        .into_tuple()
        .all(db)
        .await
        .unwrap();
    let participations: Vec<Uuid> = participation::Entity::find()
        .select_only()
        .column(participation::Column::Id)
        .filter(participation::Column::RunId.is_in(runs.clone()))
        .order_by_asc(participation::Column::Id)
        .into_tuple()
        .all(db)
        .await
        .unwrap();
    let attendance: Vec<Uuid> = attendance::Entity::find()
        .select_only()
        .column(attendance::Column::Id)
        .filter(attendance::Column::SessionId.is_in(sessions.clone()))
        .order_by_asc(attendance::Column::Id)
        .into_tuple()
        .all(db)
        .await
        .unwrap();
    let grants: Vec<Uuid> = funding_grant::Entity::find()
        .select_only()
        .column(funding_grant::Column::Id)
        .filter(funding_grant::Column::RunId.is_in(runs.clone()))
        .order_by_asc(funding_grant::Column::Id)
        .into_tuple()
        .all(db)
        .await
        .unwrap();
    Ids {
        services,
        programmes,
        networks,
        runs,
        sessions,
        persons,
        participations,
        attendance,
        grants,
    }
}

/// Row counts of every table the dataset writes to.
async fn counts(db: &DatabaseConnection) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for table in national::TABLES {
        let row = db
            .query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await
            .unwrap()
            .unwrap();
        let n: i64 = row.try_get("", "n").unwrap();
        out.push((table.to_owned(), n));
    }
    out
}

#[tokio::test]
async fn the_same_seed_gives_the_same_rows_and_another_seed_other_rows() {
    // One empty database, one with the demo data already in it.
    let a = fresh().await;
    let b = fresh().await;
    seed::seed_if_empty(&b).await.unwrap().expect("demo seeded");

    let ra = seed::seed_synthetic(&a, SCALE, 11).await.unwrap();
    let rb = seed::seed_synthetic(&b, SCALE, 11).await.unwrap();
    assert!(ra.reference.is_some(), "reference data loaded when missing");
    assert!(rb.reference.is_none(), "reference data already there");
    assert_eq!(ra.rows, rb.rows, "same counts");
    for table in national::TABLES {
        // Programmes report 0–2 milestones: a tiny scale may have none.
        if table != "milestone" {
            assert!(ra.rows.get(table).unwrap() > 0, "{table} is empty");
        }
    }
    let ids_a = ids_of(&a, 11).await;
    let ids_b = ids_of(&b, 11).await;
    assert_eq!(ids_a, ids_b, "same ids");
    assert_eq!(ids_a.attendance.len() as u64, ra.rows.attendance);
    assert_eq!(ids_a.persons.len() as u64, ra.rows.person);

    // Another seed: other ids, in the same database beside the first.
    let rc = seed::seed_synthetic(&a, SCALE, 12).await.unwrap();
    assert!(rc.reference.is_none());
    let ids_c = ids_of(&a, 12).await;
    assert_eq!(ids_c.attendance.len() as u64, rc.rows.attendance);
    let first: HashSet<Uuid> = ids_a.attendance.iter().copied().collect();
    assert!(ids_c.attendance.iter().all(|id| !first.contains(id)));
    assert_ne!(ids_a.persons.len(), 0);
    assert_ne!(
        (ra.rows.attendance, ra.rows.participation),
        (rc.rows.attendance, rc.rows.participation),
        "another seed gives another dataset"
    );
    // The report names the tables and the time.
    let text = ra.to_string();
    assert!(text.contains("attendance"), "{text}");
    assert!(text.contains("elapsed"), "{text}");
}

#[tokio::test]
async fn the_relations_hold_and_completion_matches_a_recomputation() {
    let db = fresh().await;
    let report = seed::seed_synthetic(&db, SCALE, 21).await.unwrap();
    let ids = ids_of(&db, 21).await;

    let persons: HashMap<Uuid, person::Model> = person::Entity::find()
        .filter(person::Column::Id.is_in(ids.persons.clone()))
        .all(&db)
        .await
        .unwrap()
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    assert!(persons.values().all(|p| {
        p.synthetic
            && p.name.starts_with("Testperson ")
            && p.email
                .as_deref()
                .is_some_and(|e| e.ends_with("@example.invalid"))
    }));
    let leaders = persons.values().filter(|p| p.is_leader).count();
    let share = leaders as f64 / persons.len() as f64;
    assert!((0.08..0.3).contains(&share), "leader share {share}");

    let enrolled: HashSet<(Uuid, Uuid)> = enrolment::Entity::find()
        .filter(enrolment::Column::RunId.is_in(ids.runs.clone()))
        .all(&db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.run_id, e.service_id))
        .collect();
    let participations = participation::Entity::find()
        .filter(participation::Column::RunId.is_in(ids.runs.clone()))
        .all(&db)
        .await
        .unwrap();
    assert_eq!(participations.len() as u64, report.rows.participation);
    let mut role_of: HashMap<(Uuid, Uuid), ParticipationRole> = HashMap::new();
    for p in &participations {
        assert!(p.synthetic);
        let person = &persons[&p.person_id];
        assert!(
            enrolled.contains(&(p.run_id, person.service_id)),
            "participant's service is not enrolled in the run"
        );
        assert_eq!(person.is_leader, p.role == ParticipationRole::Leader);
        role_of.insert((p.person_id, p.run_id), p.role);
    }

    let sessions: HashMap<Uuid, session::Model> = session::Entity::find()
        .filter(session::Column::Id.is_in(ids.sessions.clone()))
        .all(&db)
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let runs: HashMap<Uuid, programme_run::Model> = programme_run::Entity::find()
        .filter(programme_run::Column::Id.is_in(ids.runs.clone()))
        .all(&db)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.id, r))
        .collect();
    for s in sessions.values() {
        let run = &runs[&s.run_id];
        let date = s.date.expect("sessions have dates");
        assert!(run.starts_on.unwrap() <= date && date <= run.ends_on.unwrap());
    }
    let rows = attendance::Entity::find()
        .filter(attendance::Column::SessionId.is_in(ids.sessions.clone()))
        .all(&db)
        .await
        .unwrap();
    let mut present = 0;
    for a in &rows {
        assert!(a.synthetic);
        let s = &sessions[&a.session_id];
        let role = role_of
            .get(&(a.person_id, s.run_id))
            .expect("attendance of a participant of the run");
        assert!(
            s.audience == Audience::AllStaff || *role == ParticipationRole::Leader,
            "staff attendance at a leaders' session"
        );
        assert!(s.date.unwrap() <= national::as_of());
        present += usize::from(a.present);
    }
    let rate = present as f64 / rows.len() as f64;
    assert!((0.75..0.95).contains(&rate), "present rate {rate}");

    // The stored completion is what a recomputation gives: nothing changes.
    for run in &ids.runs {
        let changed = completion::recompute(&db, *run, None).await.unwrap();
        assert_eq!(changed, 0, "run {run} had stale completion figures");
    }
    assert!(participations.iter().any(|p| p.completed));
    assert!(participations.iter().any(|p| !p.completed));

    // Services cover municipalities in force of their host's county; grants
    // come from the office covering the recipient's county.
    let municipalities: HashMap<Uuid, municipality::Model> = municipality::Entity::find()
        .all(&db)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.id, m))
        .collect();
    let services: HashMap<Uuid, service::Model> = service::Entity::find()
        .filter(service::Column::Id.is_in(ids.services.clone()))
        .all(&db)
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let covered = entity::service_municipality::Entity::find()
        .filter(entity::service_municipality::Column::ServiceId.is_in(ids.services.clone()))
        .all(&db)
        .await
        .unwrap();
    for c in &covered {
        let host = services[&c.service_id].host_municipality_id.unwrap();
        let m = &municipalities[&c.municipality_id];
        assert!(m.valid_to.is_none());
        assert_eq!(m.county_id, municipalities[&host].county_id);
    }
    let office_counties: HashSet<(Uuid, Uuid)> = funder_office_county::Entity::find()
        .all(&db)
        .await
        .unwrap()
        .into_iter()
        .map(|o| (o.funder_office_id, o.county_id))
        .collect();
    let networks: HashMap<Uuid, network::Model> = network::Entity::find()
        .all(&db)
        .await
        .unwrap()
        .into_iter()
        .map(|n| (n.id, n))
        .collect();
    let grants = funding_grant::Entity::find()
        .filter(funding_grant::Column::Id.is_in(ids.grants.clone()))
        .all(&db)
        .await
        .unwrap();
    assert!(!grants.is_empty());
    for g in &grants {
        let county = match (
            g.recipient_service_id,
            g.recipient_municipality_id,
            g.recipient_network_id,
        ) {
            (Some(s), None, None) => {
                municipalities[&services[&s].host_municipality_id.unwrap()].county_id
            }
            (None, Some(m), None) => municipalities[&m].county_id,
            (None, None, Some(n)) => networks[&n].county_id.unwrap(),
            other => panic!("not exactly one recipient: {other:?}"),
        };
        assert!(office_counties.contains(&(g.funder_office_id, county)));
        if let (Some(applied), Some(granted)) = (g.amount_applied, g.amount_granted) {
            assert!(0 < granted && granted <= applied);
        }
    }

    // The statistics tallies were recounted after the load: each run's
    // equal a recount from its facts, and they add up to the facts.
    for run in &ids.runs {
        common::tallies::assert_in_step(&db, *run).await;
    }
    let tallied: i64 = stats_run_service::Entity::find()
        .filter(stats_run_service::Column::RunId.is_in(ids.runs.clone()))
        .all(&db)
        .await
        .unwrap()
        .iter()
        .map(|t| t.recorded)
        .sum();
    let sessions: Vec<Uuid> = session::Entity::find()
        .select_only()
        .column(session::Column::Id)
        .filter(session::Column::RunId.is_in(ids.runs.clone()))
        .into_tuple()
        .all(&db)
        .await
        .unwrap();
    let records = attendance::Entity::find()
        .filter(attendance::Column::SessionId.is_in(sessions))
        .count(&db)
        .await
        .unwrap();
    assert!(records > 0);
    assert_eq!(tallied, records as i64);
}

#[tokio::test]
async fn a_second_load_of_the_same_seed_is_refused_and_changes_nothing() {
    let db = fresh().await;
    seed::seed_synthetic(&db, SCALE, 31).await.unwrap();
    let before = counts(&db).await;
    let err = seed::seed_synthetic(&db, 0.02, 31).await.unwrap_err();
    assert!(matches!(err, SeedError::AlreadySeeded(_)), "{err}");
    assert!(err.to_string().contains("seed 31"), "{err}");
    assert_eq!(counts(&db).await, before);
    // A bad scale is refused before anything happens.
    for scale in [0.0, -1.0, f64::NAN, 1000.0] {
        let err = seed::seed_synthetic(&db, scale, 32).await.unwrap_err();
        assert!(matches!(err, SeedError::Data(_)), "{scale}: {err}");
    }
    assert_eq!(counts(&db).await, before);
}

#[tokio::test]
async fn a_load_that_fails_part_way_leaves_nothing_behind() {
    let db = fresh().await;
    seed::seed_if_empty(&db).await.unwrap();
    // A programme with the slug the load will want: the services go in,
    // then the programmes clash.
    let now = chrono::Utc::now();
    let clash = programme::Model {
        id: Uuid::now_v7(),
        slug: format!("{}program-1", national::slug_prefix(41)),
        name: "I veien".to_owned(),
        short_name: None,
        summary: None,
        description: None,
        goals: "[]".to_owned(),
        learning_objectives: "[]".to_owned(),
        competence_areas: "[]".to_owned(),
        completion_min_percent: None,
        completion_rule: None,
        source: None,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    programme::Entity::insert(sea_orm::IntoActiveModel::into_active_model(clash))
        .exec_without_returning(&db)
        .await
        .unwrap();
    let before = counts(&db).await;
    let err = seed::seed_synthetic(&db, SCALE, 41).await.unwrap_err();
    assert!(matches!(err, SeedError::Db(_)), "{err}");
    assert_eq!(counts(&db).await, before, "nothing remains");
    let services = service::Entity::find()
        .filter(service::Column::Slug.starts_with(national::slug_prefix(41)))
        .count(&db)
        .await
        .unwrap();
    assert_eq!(services, 0);
}

fn kompetanse(args: &[&str], url: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kompetanse"))
        .args(args)
        .env("KOMPETANSE_DATABASE_URL", url)
        .env_remove("KOMPETANSE_BIND")
        .output()
        .expect("run kompetanse")
}

#[tokio::test]
async fn the_command_loads_reports_and_refuses_a_second_time() {
    let url = common::fresh_database().await;
    let out = kompetanse(&["seed", "--synthetic", "0.02", "--seed", "5"], &url);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("seed 5, scale 0.02"), "{stdout}");
    let line = stdout
        .lines()
        .find(|l| l.starts_with("attendance "))
        .expect("an attendance line");
    let n: u64 = line.split_whitespace().last().unwrap().parse().unwrap();
    assert!(n > 0);
    assert!(stdout.contains("elapsed"), "{stdout}");

    let db = connect(&url).await;
    let rows = attendance::Entity::find().count(&db).await.unwrap();
    assert_eq!(rows, n, "only the synthetic attendance: no demo data");

    // Again with the same seed: refused, non-zero exit, nothing written.
    let out = kompetanse(&["seed", "--synthetic", "0.02", "--seed", "5"], &url);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("already"), "{stderr}");
    assert_eq!(attendance::Entity::find().count(&db).await.unwrap(), n);

    // A bad scale names the flag.
    let out = kompetanse(&["seed", "--synthetic", "0"], &url);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--synthetic"));
    // The default seed works beside seed 5.
    let out = kompetanse(&["seed", "--synthetic", "0.01"], &url);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("seed 2026"));
}
