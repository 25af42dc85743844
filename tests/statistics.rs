//! Participation statistics and coverage against hand-computed answers on
//! a small fixture of their own (a programme of its own, filtered on, so
//! that the demo data does not interfere), disclosure control by role
//! (checked against the cell keys of the facts, counted here from the base
//! tables), and the number of SQL statements.
//!
//! The fixture (see [`fx`]):
//!
//! - programme P, lead provider V, partner provider W;
//! - service S1 (CHILD_WELFARE) covering 0821 Bø (merged, today 4020
//!   Midt-Telemark, Telemark); service S2 (REFUGEE) hosted by 3403 Hamar
//!   and covering 3403 and 3411 Ringsaker (Innlandet);
//! - run R1 (2023, COMPLETED, no network): S1 (withdrawn later) and S2
//!   enrolled; sessions T (TEACHING_DAY) and L (LEADER_GUIDANCE);
//! - run R2 (2024, RUNNING, network N): S2 enrolled; session T2
//!   (TEACHING_DAY);
//! - S1 staff a1..a3, S2 staff b1..b8. R1: a1..a3 and b1..b6 take part;
//!   a1, a2, b1..b5 complete. R2: b1..b8, nobody completes yet;
//! - attendance: T: a1..a3, b1..b5 present, b6 absent; L: a1, b1 present;
//!   T2: b1..b7 present, b8 absent;
//! - grants: R1 100 000 GRANTED + 50 000 PAID (+ a REJECTED and a DRAFT
//!   that do not count); R2 30 000 REPORTED.

mod common;

use common::gid;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{TestApp, claims, spawn_app, token};
use entity::enums::{
    Audience, EnrolmentStatus, GrantStatus, NetworkKind, NetworkScope, ParticipationRole,
    ParticipationStatus, ProviderKind, ProviderRole, Role, RunStatus, ServiceKind, SessionKind,
};
use entity::*;
use kompetanse::auth::policy::disclosure::{self, Figure, Measure};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

async fn municipality_id(app: &TestApp, number: &str) -> Uuid {
    common::uuid_of::<municipality::Entity>(
        &app.db,
        municipality::Column::Number,
        municipality::Column::Id,
        number,
    )
    .await
}

async fn county_id(app: &TestApp, number: &str) -> Uuid {
    common::uuid_of::<county::Entity>(&app.db, county::Column::Number, county::Column::Id, number)
        .await
}

struct Fx {
    app: TestApp,
    programme: Uuid,
    v: Uuid,
    w: Uuid,
    s1: Uuid,
    s2: Uuid,
    network: Uuid,
    admin: String,
    provider_v: String,
    funder_telemark: String,
    funder_innlandet: String,
    leader_s1: String,
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", Uuid::now_v7().simple())
}

// --- Fixture rows -----------------------------------------------------------------

type Now = chrono::DateTime<chrono::Utc>;

/// A service row.
fn service_row(name: &str, kind: ServiceKind, host: Option<Uuid>, now: Now) -> service::Model {
    service::Model {
        id: Uuid::now_v7(),
        slug: unique("stat-service"),
        name: name.into(),
        kind,
        host_municipality_id: host,
        notes: None,
        source: None,
        version: 1,
        created_at: now,
        updated_at: now,
    }
}

/// An enrolment row.
fn enrolment_row(
    run_id: Uuid,
    service_id: Uuid,
    status: EnrolmentStatus,
    now: Now,
) -> enrolment::Model {
    enrolment::Model {
        id: Uuid::now_v7(),
        run_id,
        service_id,
        status,
        enrolled_on: None,
        withdrawn_on: None,
        version: 1,
        created_at: now,
        updated_at: now,
    }
}

/// A synthetic staff member of a service.
fn staff_row(service_id: Uuid, name: String, now: Now) -> person::Model {
    person::Model {
        id: Uuid::now_v7(),
        service_id,
        name,
        email: None,
        job_title: None,
        is_leader: false,
        synthetic: true,
        record_key: person::new_record_key(),
        erased_at: None,
        version: 1,
        created_at: now,
        updated_at: now,
    }
}

/// An active staff participation.
fn participation_row(
    run_id: Uuid,
    person_id: Uuid,
    completed: bool,
    now: Now,
) -> participation::Model {
    participation::Model {
        id: Uuid::now_v7(),
        person_id,
        run_id,
        role: ParticipationRole::Staff,
        status: ParticipationStatus::Active,
        synthetic: true,
        sessions_attended: 0,
        sessions_required: 0,
        completed,
        version: 1,
        created_at: now,
        updated_at: now,
    }
}

/// An attendance record.
fn attendance_row(session_id: Uuid, person_id: Uuid, present: bool, now: Now) -> attendance::Model {
    attendance::Model {
        id: Uuid::now_v7(),
        session_id,
        person_id,
        present,
        synthetic: true,
        recorded_at: now,
        version: 1,
        created_at: now,
        updated_at: now,
    }
}

async fn fx() -> Fx {
    let app = spawn_app().await;
    let db = &app.db;
    let now = chrono::Utc::now();

    let provider = |name: &str| provider::Model {
        id: Uuid::now_v7(),
        slug: unique("stat-provider"),
        org_number: None,
        name: unique(name),
        short_name: unique(name),
        kind: ProviderKind::Other,
        former_names: "[]".into(),
        description: None,
        website: None,
        email: None,
        phone: None,
        visiting_address: None,
        postal_address: None,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let v = provider("Statistikk V")
        .into_active_model()
        .insert(db)
        .await
        .unwrap()
        .id;
    let w = provider("Statistikk W")
        .into_active_model()
        .insert(db)
        .await
        .unwrap()
        .id;
    let programme = programme::Model {
        id: Uuid::now_v7(),
        slug: unique("stat-programme"),
        name: "Statistikkprogrammet".into(),
        short_name: None,
        summary: None,
        description: None,
        goals: "[]".into(),
        learning_objectives: "[]".into(),
        competence_areas: "[]".into(),
        completion_min_percent: None,
        completion_rule: None,
        source: None,
        version: 1,
        created_at: now,
        updated_at: now,
    }
    .into_active_model()
    .insert(db)
    .await
    .unwrap()
    .id;
    for (provider_id, role) in [(v, ProviderRole::Lead), (w, ProviderRole::Partner)] {
        programme_provider::Model {
            programme_id: programme,
            provider_id,
            role,
        }
        .into_active_model()
        .insert(db)
        .await
        .unwrap();
    }

    let service =
        |name: &str, kind: ServiceKind, host: Option<Uuid>| service_row(name, kind, host, now);
    let bo = municipality_id(&app, "0821").await;
    let hamar = municipality_id(&app, "3403").await;
    let ringsaker = municipality_id(&app, "3411").await;
    let s1 = service("S1 barnevern", ServiceKind::ChildWelfare, None)
        .into_active_model()
        .insert(db)
        .await
        .unwrap()
        .id;
    let s2 = service("S2 flyktning", ServiceKind::Refugee, Some(hamar))
        .into_active_model()
        .insert(db)
        .await
        .unwrap()
        .id;
    for (service_id, municipality_id) in [(s1, bo), (s2, hamar), (s2, ringsaker)] {
        service_municipality::Model {
            service_id,
            municipality_id,
        }
        .into_active_model()
        .insert(db)
        .await
        .unwrap();
    }
    let network = network::Model {
        id: Uuid::now_v7(),
        slug: unique("stat-network"),
        name: "Statistikknettverket".into(),
        kind: NetworkKind::LearningNetwork,
        scope: NetworkScope::Regional,
        county_id: Some(county_id(&app, "34").await),
        coordinator_service_id: None,
        description: None,
        reported_member_count: None,
        source: None,
        version: 1,
        created_at: now,
        updated_at: now,
    }
    .into_active_model()
    .insert(db)
    .await
    .unwrap()
    .id;

    let run = |year: i32, status: RunStatus, network: Option<Uuid>| programme_run::Model {
        id: Uuid::now_v7(),
        programme_id: programme,
        network_id: network,
        title: format!("Statistikk {year}"),
        status,
        year: Some(year),
        starts_on: None,
        ends_on: None,
        period: None,
        notes: None,
        source: None,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let r1 = run(2023, RunStatus::Completed, None)
        .into_active_model()
        .insert(db)
        .await
        .unwrap()
        .id;
    let r2 = run(2024, RunStatus::Running, Some(network))
        .into_active_model()
        .insert(db)
        .await
        .unwrap()
        .id;
    for (run_id, service_id, status) in [
        (r1, s1, EnrolmentStatus::Withdrawn),
        (r1, s2, EnrolmentStatus::Enrolled),
        (r2, s2, EnrolmentStatus::Enrolled),
    ] {
        enrolment_row(run_id, service_id, status, now)
            .into_active_model()
            .insert(db)
            .await
            .unwrap();
    }
    let session = |run_id: Uuid, position: i32, kind: SessionKind| session::Model {
        id: Uuid::now_v7(),
        run_id,
        position,
        title: format!("Samling {position}"),
        kind,
        audience: Audience::AllStaff,
        date: None,
        starts_at: None,
        period: None,
        duration_minutes: None,
        place: None,
        pre_work: None,
        reported_attendance: None,
        reported_attendance_approximate: false,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let t = session(r1, 1, SessionKind::TeachingDay)
        .into_active_model()
        .insert(db)
        .await
        .unwrap()
        .id;
    let l = session(r1, 2, SessionKind::LeaderGuidance)
        .into_active_model()
        .insert(db)
        .await
        .unwrap()
        .id;
    let t2 = session(r2, 1, SessionKind::TeachingDay)
        .into_active_model()
        .insert(db)
        .await
        .unwrap()
        .id;

    let staff = |service_id: Uuid, name: String| staff_row(service_id, name, now);
    let mut a = Vec::new();
    for i in 1..=3 {
        a.push(
            staff(s1, format!("a{i}"))
                .into_active_model()
                .insert(db)
                .await
                .unwrap()
                .id,
        );
    }
    let mut b = Vec::new();
    for i in 1..=8 {
        b.push(
            staff(s2, format!("b{i}"))
                .into_active_model()
                .insert(db)
                .await
                .unwrap()
                .id,
        );
    }
    let participate = |run_id: Uuid, person_id: Uuid, completed: bool| {
        participation_row(run_id, person_id, completed, now)
    };
    let mut rows = Vec::new();
    for (i, p) in a.iter().enumerate() {
        rows.push(participate(r1, *p, i < 2));
    }
    for (i, p) in b.iter().take(6).enumerate() {
        rows.push(participate(r1, *p, i < 5));
    }
    for p in &b {
        rows.push(participate(r2, *p, false));
    }
    for row in rows {
        row.into_active_model().insert(db).await.unwrap();
    }
    let mut records = Vec::new();
    for p in &a {
        records.push((t, *p, true));
    }
    for (i, p) in b.iter().take(6).enumerate() {
        records.push((t, *p, i < 5));
    }
    records.push((l, a[0], true));
    records.push((l, b[0], true));
    for (i, p) in b.iter().enumerate() {
        records.push((t2, *p, i < 7));
    }
    for (session_id, person_id, present) in records {
        attendance_row(session_id, person_id, present, now)
            .into_active_model()
            .insert(db)
            .await
            .unwrap();
    }
    let innlandet_office = common::office_id(db, "974761645").await;
    for (run_id, granted, status) in [
        (r1, Some(100_000), GrantStatus::Granted),
        (r1, Some(50_000), GrantStatus::Paid),
        (r1, Some(7_777), GrantStatus::Rejected),
        (r1, None, GrantStatus::Draft),
        (r2, Some(30_000), GrantStatus::Reported),
    ] {
        funding_grant::Model {
            id: Uuid::now_v7(),
            funder_office_id: innlandet_office,
            recipient_service_id: Some(s2),
            recipient_municipality_id: None,
            recipient_network_id: None,
            run_id: Some(run_id),
            programme_id: Some(programme),
            purpose: "Statistikk".into(),
            year: 2023,
            amount_applied: Some(200_000),
            amount_granted: granted,
            status,
            decision_reason: None,
            submitted_at: None,
            decided_at: None,
            paid_at: None,
            reported_at: None,
            report_text: None,
            report_participants: None,
            source: None,
            version: 1,
            created_at: now,
            updated_at: now,
        }
        .into_active_model()
        .insert(db)
        .await
        .unwrap();
    }

    // The rows above went in directly, not through the API's writes, so
    // the services' current coverage and the statistics tallies of the two
    // runs are recounted here.
    recount(db, &[r1, r2]).await;

    let mut admin = claims("stat-admin");
    admin.role = Some(Role::Admin);
    let mut pv = claims("stat-provider");
    pv.role = Some(Role::Provider);
    pv.provider_id = Some(v);
    let mut ft = claims("stat-funder-t");
    ft.role = Some(Role::Funder);
    ft.funder_office_id = Some(common::office_id(db, "974762501").await);
    let mut fi = claims("stat-funder-i");
    fi.role = Some(Role::Funder);
    fi.funder_office_id = Some(innlandet_office);
    let mut leader = claims("stat-leader");
    leader.role = Some(Role::Leader);
    leader.service_id = Some(s1);
    Fx {
        programme,
        v,
        w,
        s1,
        s2,
        network,
        admin: token(&admin),
        provider_v: token(&pv),
        funder_telemark: token(&ft),
        funder_innlandet: token(&fi),
        leader_s1: token(&leader),
        app,
    }
}

const STATS: &str = "query($f: StatsFilter, $g: [StatsDimension!]!) {
  participationStats(filter: $f, groupBy: $g) {
    programme { id } provider { id } county { number } municipality { number }
    serviceKind network { id } year sessionKind
    runs sessions services municipalities participants people attendances
    attendanceRate completions grantedKroner suppressed
  }
}";

impl Fx {
    /// The rows of a request filtered on the fixture's programme (plus
    /// `extra` filter fields).
    async fn stats(&self, token: Option<&str>, group_by: &[&str], extra: Value) -> Vec<Value> {
        let mut filter = json!({ "programme": gid("Programme", self.programme) });
        if let Value::Object(extra) = extra {
            filter.as_object_mut().unwrap().extend(extra);
        }
        let res = self
            .app
            .query_as(token, STATS, json!({ "f": filter, "g": group_by }))
            .await;
        res.data()["participationStats"].as_array().unwrap().clone()
    }
}

/// The measures of a row: [runs, sessions, services, municipalities,
/// participants, attendances, completions, grantedKroner] (null as -1).
fn measures(row: &Value) -> [i64; 8] {
    let n = |k: &str| row[k].as_i64().unwrap_or(-1);
    [
        n("runs"),
        n("sessions"),
        n("services"),
        n("municipalities"),
        n("participants"),
        n("attendances"),
        n("completions"),
        n("grantedKroner"),
    ]
}

fn rate(row: &Value) -> Option<f64> {
    row["attendanceRate"].as_f64()
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

/// Rows 2023/R1 and 2024/R2 (grouping by year or network).
const R1: [i64; 8] = [1, 2, 2, 3, 9, 10, 7, 150_000];
const R2: [i64; 8] = [1, 1, 1, 2, 8, 7, 0, 30_000];
/// Rows of Telemark (S1) and Innlandet (S2).
const TELEMARK: [i64; 8] = [1, 2, 1, 1, 3, 4, 2, 150_000];
const INNLANDET: [i64; 8] = [2, 3, 1, 2, 14, 13, 5, 180_000];
const NATIONAL: [i64; 8] = [2, 3, 2, 3, 17, 17, 7, 180_000];

#[tokio::test]
async fn each_dimension_alone_and_in_combination() {
    let fx = fx().await;
    let admin = Some(fx.admin.as_str());

    let rows = fx.stats(admin, &[], json!({})).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(measures(&rows[0]), NATIONAL);
    // 17 participations of 11 distinct people.
    assert_eq!(rows[0]["people"], 11);
    assert!(close(rate(&rows[0]), 17.0 / 19.0), "{}", rows[0]);
    assert_eq!(rows[0]["suppressed"], false);
    assert!(rows[0]["programme"].is_null() && rows[0]["year"].is_null());

    let rows = fx.stats(admin, &["PROGRAMME"], json!({})).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["programme"]["id"], gid("Programme", fx.programme));
    assert_eq!(measures(&rows[0]), NATIONAL);

    // Both providers of the programme get the whole of it.
    let rows = fx.stats(admin, &["PROVIDER"], json!({})).await;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["provider"]["id"], gid("Provider", fx.v));
    assert_eq!(rows[1]["provider"]["id"], gid("Provider", fx.w));
    assert_eq!(measures(&rows[0]), NATIONAL);
    assert_eq!(measures(&rows[1]), NATIONAL);
    // Filtering on the partner gives the same figures.
    let rows = fx
        .stats(admin, &[], json!({ "provider": gid("Provider", fx.w) }))
        .await;
    assert_eq!(measures(&rows[0]), NATIONAL);

    let rows = fx.stats(admin, &["COUNTY"], json!({})).await;
    let by_county = |rows: &[Value], number: &str| -> [i64; 8] {
        measures(
            rows.iter()
                .find(|r| r["county"]["number"] == number)
                .unwrap_or_else(|| panic!("no county {number} in {rows:?}")),
        )
    };
    assert_eq!(rows.len(), 2);
    assert_eq!(by_county(&rows, "40"), TELEMARK);
    assert_eq!(by_county(&rows, "34"), INNLANDET);
    let innlandet = rows.iter().find(|r| r["county"]["number"] == "34").unwrap();
    assert_eq!(innlandet["people"], 8);

    // Bø counts for today's Midt-Telemark (4020).
    let rows = fx.stats(admin, &["MUNICIPALITY"], json!({})).await;
    let numbers: Vec<&str> = rows
        .iter()
        .map(|r| r["municipality"]["number"].as_str().unwrap())
        .collect();
    assert_eq!(rows.len(), 3, "{numbers:?}");
    for (number, m) in [
        ("4020", [1, 2, 1, 1, 3, 4, 2, 150_000]),
        ("3403", [2, 3, 1, 1, 14, 13, 5, 180_000]),
        ("3411", [2, 3, 1, 1, 14, 13, 5, 180_000]),
    ] {
        let row = rows
            .iter()
            .find(|r| r["municipality"]["number"] == number)
            .unwrap();
        assert_eq!(measures(row), m, "{number}");
    }

    let rows = fx.stats(admin, &["SERVICE_KIND"], json!({})).await;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["serviceKind"], "CHILD_WELFARE");
    assert_eq!(measures(&rows[0]), TELEMARK);
    assert_eq!(rows[1]["serviceKind"], "REFUGEE");
    assert_eq!(measures(&rows[1]), INNLANDET);

    // Runs without a network come last.
    let rows = fx.stats(admin, &["NETWORK"], json!({})).await;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["network"]["id"], gid("Network", fx.network));
    assert_eq!(measures(&rows[0]), R2);
    assert!(rows[1]["network"].is_null());
    assert_eq!(measures(&rows[1]), R1);

    let rows = fx.stats(admin, &["YEAR"], json!({})).await;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["year"], 2023);
    assert_eq!(measures(&rows[0]), R1);
    assert!(close(rate(&rows[0]), 10.0 / 11.0));
    assert_eq!(rows[1]["year"], 2024);
    assert_eq!(measures(&rows[1]), R2);
    assert!(close(rate(&rows[1]), 7.0 / 8.0));

    // Session kinds: teaching days T and T2, leader guidance L.
    let rows = fx.stats(admin, &["SESSION_KIND"], json!({})).await;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["sessionKind"], "TEACHING_DAY");
    assert_eq!(measures(&rows[0]), [2, 2, 2, 3, 15, 15, 7, 180_000]);
    // Distinct people present at a teaching day: a1..a3, b1..b7.
    assert_eq!(rows[0]["people"], 10);
    assert!(close(rate(&rows[0]), 15.0 / 17.0));
    assert_eq!(rows[1]["sessionKind"], "LEADER_GUIDANCE");
    assert_eq!(measures(&rows[1]), [1, 1, 2, 3, 2, 2, 2, 150_000]);

    // A combination: county × year.
    let rows = fx.stats(admin, &["COUNTY", "YEAR"], json!({})).await;
    assert_eq!(rows.len(), 3);
    let find = |number: &str, year: i64| {
        measures(
            rows.iter()
                .find(|r| r["county"]["number"] == number && r["year"] == year)
                .unwrap(),
        )
    };
    assert_eq!(find("40", 2023), [1, 2, 1, 1, 3, 4, 2, 150_000]);
    assert_eq!(find("34", 2023), [1, 2, 1, 2, 6, 6, 5, 150_000]);
    assert_eq!(find("34", 2024), [1, 1, 1, 2, 8, 7, 0, 30_000]);

    // Filters on the other dimensions.
    let rows = fx
        .stats(
            admin,
            &[],
            json!({ "county": gid("County", county_id(&fx.app, "40").await) }),
        )
        .await;
    assert_eq!(measures(&rows[0]), TELEMARK);
    let rows = fx
        .stats(
            admin,
            &[],
            json!({ "municipality": gid("Municipality", municipality_id(&fx.app, "3411").await) }),
        )
        .await;
    assert_eq!(measures(&rows[0]), [2, 3, 1, 1, 14, 13, 5, 180_000]);
    let rows = fx
        .stats(
            admin,
            &[],
            json!({ "serviceKind": "REFUGEE", "year": 2024 }),
        )
        .await;
    assert_eq!(measures(&rows[0]), R2);
    let rows = fx.stats(admin, &[], json!({ "status": "COMPLETED" })).await;
    assert_eq!(measures(&rows[0]), R1);
    let rows = fx
        .stats(admin, &[], json!({ "network": gid("Network", fx.network) }))
        .await;
    assert_eq!(measures(&rows[0]), R2);
    let rows = fx
        .stats(admin, &[], json!({ "service": gid("Service", fx.s2) }))
        .await;
    assert_eq!(measures(&rows[0]), INNLANDET);
    let rows = fx
        .stats(admin, &[], json!({ "sessionKind": "LEADER_GUIDANCE" }))
        .await;
    assert_eq!(measures(&rows[0]), [1, 1, 2, 3, 2, 2, 2, 150_000]);
    // Nothing matches: grouped gives no rows, national a row of zeros.
    assert!(
        fx.stats(admin, &["COUNTY"], json!({ "year": 2030 }))
            .await
            .is_empty()
    );
    let rows = fx.stats(admin, &[], json!({ "year": 2030 })).await;
    assert_eq!(measures(&rows[0]), [0; 8]);
    assert!(rows[0]["attendanceRate"].is_null());
}

/// The facts behind a cell, counted straight from the base tables (not
/// the tallies) with the sum of their record keys: participations,
/// completed participations, attendance records, records present, and
/// distinct people, of the fixture's programme, narrowed to the people of
/// `service` when given.
async fn facts(fx: &Fx, service: Option<Uuid>) -> [Figure; 5] {
    use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
    let db = &fx.app.db;
    let backend = db.get_database_backend();
    let p = |i: usize| match backend {
        DatabaseBackend::Postgres => format!("${i}"),
        _ => "?".to_owned(),
    };
    let narrow = if service.is_some() {
        format!(" AND pe.service_id = {}", p(2))
    } else {
        String::new()
    };
    let participations = format!(
        "FROM participation pa JOIN person pe ON pe.id = pa.person_id \
         JOIN programme_run r ON r.id = pa.run_id WHERE r.programme_id = {}{narrow}",
        p(1)
    );
    let records = format!(
        "FROM attendance at JOIN person pe ON pe.id = at.person_id \
         JOIN session ss ON ss.id = at.session_id JOIN programme_run r ON r.id = ss.run_id \
         WHERE r.programme_id = {}{narrow}",
        p(1)
    );
    let queries = [
        format!("SELECT COUNT(*) AS n, SUM(pe.record_key) AS k {participations}"),
        format!("SELECT COUNT(*) AS n, SUM(pe.record_key) AS k {participations} AND pa.completed"),
        format!("SELECT COUNT(*) AS n, SUM(pe.record_key) AS k {records}"),
        format!("SELECT COUNT(*) AS n, SUM(pe.record_key) AS k {records} AND at.present"),
        format!(
            "SELECT COUNT(*) AS n, SUM(x.k) AS k FROM (SELECT DISTINCT pa.person_id AS p, pe.record_key AS k {participations}) x"
        ),
    ];
    let mut out = [Figure::default(); 5];
    for (i, sql) in queries.iter().enumerate() {
        let sql = format!(
            "SELECT CAST(n AS BIGINT) AS n, CAST(COALESCE(k, 0) AS BIGINT) AS k FROM ({sql}) q"
        );
        let mut values: Vec<sea_orm::Value> = vec![fx.programme.into()];
        if let Some(s) = service {
            values.push(s.into());
        }
        let row = db
            .query_one_raw(Statement::from_sql_and_values(backend, sql, values))
            .await
            .unwrap()
            .unwrap();
        let n: i64 = row.try_get("", "n").unwrap();
        let k: i64 = row.try_get("", "k").unwrap();
        out[i] = Figure::new(n, 0, k);
    }
    out
}

/// The row a viewer without rights on any of `facts` must be shown:
/// [participants, completions, attendances, people] and the rate.
fn expected(facts: &[Figure; 5]) -> ([Option<i64>; 4], Option<f64>) {
    let [participants, completions, recorded, present, people] = *facts;
    let gate = participants.protect(Measure::Participants);
    let present = present.protect(Measure::Present).gate(gate);
    let recorded = recorded.protect(Measure::Recorded).gate(gate);
    (
        [
            gate.value(),
            completions.protect(Measure::Completions).gate(gate).value(),
            present.value(),
            people.protect(Measure::People).gate(gate).value(),
        ],
        disclosure::rate(present, recorded),
    )
}

/// Rates compared to the last bit a JSON round trip keeps.
fn assert_same_rate(shown: Option<f64>, expected: Option<f64>) {
    match (shown, expected) {
        (Some(a), Some(b)) => assert!((a - b).abs() < 1e-12, "{a} vs {b}"),
        (a, b) => assert_eq!(a, b),
    }
}

fn shown(row: &Value) -> [Option<i64>; 4] {
    [
        row["participants"].as_i64(),
        row["completions"].as_i64(),
        row["attendances"].as_i64(),
        row["people"].as_i64(),
    ]
}

#[tokio::test]
async fn people_figures_are_exact_only_with_full_rights() {
    let fx = fx().await;

    // ADMIN and the programme's provider see everything exactly.
    for token in [&fx.admin, &fx.provider_v] {
        let rows = fx.stats(Some(token), &["SERVICE_KIND"], json!({})).await;
        assert_eq!(measures(&rows[0]), TELEMARK);
        assert_eq!(measures(&rows[1]), INNLANDET);
        assert!(close(rate(&rows[0]), 1.0));
        assert!(close(rate(&rows[1]), 13.0 / 15.0));
        assert!(rows.iter().all(|r| r["suppressed"] == false));
    }

    // Anonymous: every people figure is the cell key method's, computed
    // here from the base tables; figures not about people are exact, and
    // anonymous viewers see no grants.
    let all = facts(&fx, None).await;
    let national = fx.stats(None, &[], json!({})).await;
    let (figures, rate_expected) = expected(&all);
    assert_eq!(shown(&national[0]), figures, "{}", national[0]);
    assert_same_rate(rate(&national[0]), rate_expected);
    assert_eq!(&measures(&national[0])[..4], &NATIONAL[..4]);
    assert!(national[0]["grantedKroner"].is_null());
    // A viewer with rights on part of the row (S1's leader, the funder of
    // Telemark) is shown the same figure as everyone else.
    for token in [&fx.leader_s1, &fx.funder_telemark] {
        let mixed = fx.stats(Some(token), &[], json!({})).await;
        assert_eq!(shown(&mixed[0]), figures);
        assert_same_rate(rate(&mixed[0]), rate_expected);
    }

    // The funder of Vestfold og Telemark has full rights on S1's people:
    // Telemark is exact; Innlandet (S2's people) protected. The grants are
    // Innlandet's office's: not this funder's to see.
    let rows = fx
        .stats(Some(&fx.funder_telemark), &["COUNTY"], json!({}))
        .await;
    let county = |rows: &[Value], n: &str| {
        rows.iter()
            .find(|r| r["county"]["number"] == n)
            .unwrap()
            .clone()
    };
    let telemark = county(&rows, "40");
    assert_eq!(measures(&telemark), [1, 2, 1, 1, 3, 4, 2, 0]);
    assert!(close(rate(&telemark), 1.0));
    assert_eq!(telemark["suppressed"], false);
    let innlandet = county(&rows, "34");
    let (figures, rate_expected) = expected(&facts(&fx, Some(fx.s2)).await);
    assert_eq!(shown(&innlandet), figures, "{innlandet}");
    assert_same_rate(rate(&innlandet), rate_expected);
    assert_eq!(&measures(&innlandet)[..4], &INNLANDET[..4]);

    // The funder of Innlandet is exact on Innlandet and sees the grants.
    let rows = fx
        .stats(Some(&fx.funder_innlandet), &["COUNTY"], json!({}))
        .await;
    assert_eq!(measures(&county(&rows, "34")), INNLANDET);
    let (figures, _) = expected(&facts(&fx, Some(fx.s1)).await);
    assert_eq!(shown(&county(&rows, "40")), figures);

    // S1's leader sees its own service exactly; anonymous viewers see its
    // 3 people withheld or perturbed to at least 5, never exactly.
    let own = fx
        .stats(
            Some(&fx.leader_s1),
            &[],
            json!({ "service": gid("Service", fx.s1) }),
        )
        .await;
    assert_eq!(measures(&own[0]), [1, 2, 1, 1, 3, 4, 2, 0]);
    assert_eq!(own[0]["suppressed"], false);
    let anonymous = fx
        .stats(None, &[], json!({ "service": gid("Service", fx.s1) }))
        .await;
    let (figures, _) = expected(&facts(&fx, Some(fx.s1)).await);
    assert_eq!(shown(&anonymous[0]), figures);
    match anonymous[0]["participants"].as_i64() {
        None => {
            assert_eq!(anonymous[0]["suppressed"], true);
            assert!(anonymous[0]["attendances"].is_null());
            assert!(anonymous[0]["completions"].is_null());
            assert!(anonymous[0]["attendanceRate"].is_null());
        }
        Some(v) => assert!(v >= 5, "{}", anonymous[0]),
    }
}

#[tokio::test]
async fn every_row_is_protected_in_its_own_right() {
    let fx = fx().await;
    // By municipality: 4020 holds S1's 3 people, 3403 and 3411 S2's 14
    // participations each (S2 covers both). Each row gets its own cell
    // key; the figures shown are those of the facts behind each row.
    let rows = fx.stats(None, &["MUNICIPALITY"], json!({})).await;
    assert_eq!(rows.len(), 3);
    let s1 = expected(&facts(&fx, Some(fx.s1)).await).0;
    let s2 = expected(&facts(&fx, Some(fx.s2)).await).0;
    for row in &rows {
        let want = if row["municipality"]["number"] == "4020" {
            s1
        } else {
            s2
        };
        assert_eq!(shown(row), want, "{row}");
        // Nothing shown to a viewer without rights lies between 1 and 4.
        for v in shown(row).into_iter().flatten() {
            assert!(v == 0 || v >= 5, "{row}");
        }
    }
    // Figures that are not about people are never perturbed.
    let rows = fx.stats(None, &["COUNTY", "YEAR"], json!({})).await;
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r["runs"].as_i64() == Some(1)));
}

#[tokio::test]
async fn coverage_is_counted_against_the_reference_populations() {
    let fx = fx().await;
    let db = &fx.app.db;
    let current = municipality::Entity::find()
        .filter(municipality::Column::ValidTo.is_null())
        .all(db)
        .await
        .unwrap();
    let pop = |numbers: &[&str]| -> i64 {
        current
            .iter()
            .filter(|m| numbers.contains(&m.number.as_str()))
            .map(|m| m.population.unwrap_or(0))
            .sum()
    };
    let total: i64 = current.iter().map(|m| m.population.unwrap_or(0)).sum();
    let in_county = |n: &str| -> (i64, i64) {
        let ms: Vec<_> = current.iter().filter(|m| m.number.starts_with(n)).collect();
        (
            ms.len() as i64,
            ms.iter().map(|m| m.population.unwrap_or(0)).sum(),
        )
    };
    entity::milestone::Model {
        id: Uuid::now_v7(),
        programme_id: fx.programme,
        position: 1,
        year_from: 2023,
        year_to: Some(2024),
        text: "Nesten 300 kommuner".into(),
        figure: Some(300),
        unit: Some("municipalities".into()),
        qualifier: None,
        source: None,
        version: 1,
        created_at: chrono::Utc::now(),
        updated_at: chrono::Utc::now(),
    }
    .into_active_model()
    .insert(db)
    .await
    .unwrap();

    let q = "query($f: CoverageFilter) { coverage(filter: $f) {
        municipalities municipalitiesReached population populationReached share
        counties { county { number } municipalities municipalitiesReached population populationReached share }
        reportedMilestones { text figure unit yearFrom yearTo }
    } }";
    let res = fx
        .app
        .query(
            q,
            json!({ "f": { "programme": gid("Programme", fx.programme) } }),
        )
        .await;
    let c = &res.data()["coverage"];
    assert_eq!(c["municipalities"], current.len() as i64);
    assert_eq!(c["population"], total);
    assert_eq!(c["municipalitiesReached"], 3);
    let reached = pop(&["4020", "3403", "3411"]);
    assert_eq!(c["populationReached"], reached);
    assert!((c["share"].as_f64().unwrap() - reached as f64 / total as f64).abs() < 1e-9);
    let counties = c["counties"].as_array().unwrap();
    let numbers: Vec<&str> = counties
        .iter()
        .map(|r| r["county"]["number"].as_str().unwrap())
        .collect();
    let mut sorted = numbers.clone();
    sorted.sort();
    assert_eq!(numbers, sorted, "counties by number");
    assert_eq!(numbers.len(), 15);
    for (n, reached_here, reached_pop) in [
        ("40", 1, pop(&["4020"])),
        ("34", 2, pop(&["3403", "3411"])),
        ("03", 0, 0),
    ] {
        let row = counties
            .iter()
            .find(|r| r["county"]["number"] == n)
            .unwrap();
        let (ms, people) = in_county(n);
        assert_eq!(row["municipalities"], ms, "{n}");
        assert_eq!(row["population"], people, "{n}");
        assert_eq!(row["municipalitiesReached"], reached_here, "{n}");
        assert_eq!(row["populationReached"], reached_pop, "{n}");
    }
    // Milestones are listed beside the figures, never counted in them.
    assert_eq!(
        c["reportedMilestones"],
        json!([{ "text": "Nesten 300 kommuner", "figure": 300, "unit": "municipalities", "yearFrom": 2023, "yearTo": 2024 }])
    );

    // 2024: only R2 (S2 in Hamar and Ringsaker).
    let res = fx
        .app
        .query(
            q,
            json!({ "f": { "programme": gid("Programme", fx.programme), "year": 2024 } }),
        )
        .await;
    let c = &res.data()["coverage"];
    assert_eq!(c["municipalitiesReached"], 2);
    assert_eq!(c["populationReached"], pop(&["3403", "3411"]));
    assert_eq!(c["reportedMilestones"].as_array().unwrap().len(), 1);
    // By the network and by the partner provider.
    let res = fx
        .app
        .query(q, json!({ "f": { "network": gid("Network", fx.network) } }))
        .await;
    assert_eq!(res.data()["coverage"]["municipalitiesReached"], 2);
    let res = fx
        .app
        .query(q, json!({ "f": { "provider": gid("Provider", fx.w) } }))
        .await;
    assert_eq!(res.data()["coverage"]["municipalitiesReached"], 3);
    assert_eq!(
        res.data()["coverage"]["reportedMilestones"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn bad_filters_name_their_field() {
    let fx = fx().await;
    for (filter, field) in [
        // Not a slug (too long) and not an id.
        (json!({ "programme": "x".repeat(121) }), "filter.programme"),
        (
            json!({ "county": gid("Programme", fx.programme) }),
            "filter.county",
        ),
        (json!({ "year": 1800 }), "filter.year"),
    ] {
        let res = fx
            .app
            .query(STATS, json!({ "f": filter, "g": ["YEAR"] }))
            .await;
        assert_eq!(res.codes(), ["BAD_USER_INPUT"], "{}", res.body);
        assert_eq!(res.first_error()["extensions"]["field"], field);
    }
    let res = fx
        .app
        .query(
            "query($f: CoverageFilter) { coverage(filter: $f) { municipalities } }",
            json!({ "f": { "network": "x".repeat(121) } }),
        )
        .await;
    assert_eq!(res.first_error()["extensions"]["field"], "filter.network");
    // A well-formed key that names nothing is NOT_FOUND.
    let res = fx
        .app
        .query(
            STATS,
            json!({ "f": { "programme": "nonsense" }, "g": ["YEAR"] }),
        )
        .await;
    assert_eq!(res.codes(), ["NOT_FOUND"], "{}", res.body);
}

/// Runs a query through `schema.execute` as `viewer` and counts its SQL
/// statements (the method of tests/schema.rs).
async fn count_statements(query: &str, viewer: kompetanse::auth::Viewer) -> (usize, Value) {
    let settings = kompetanse::Settings::for_database(common::database_url());
    let mut db = kompetanse::db::connect(&settings).await.unwrap();
    let counter = Arc::new(AtomicUsize::new(0));
    let c = counter.clone();
    db.set_metric_callback(move |info| {
        c.fetch_add(1, Ordering::SeqCst);
        if std::env::var_os("PRINT_SQL").is_some() {
            eprintln!("SQL: {}", info.statement.sql);
        }
    });
    let schema =
        kompetanse::graphql::build_schema(db.clone(), &kompetanse::config::Limits::default());
    let request =
        kompetanse::graphql::prepare_request(async_graphql::Request::new(query), &db, viewer);
    let response = schema.execute(request).await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    (
        counter.load(Ordering::SeqCst),
        response.data.into_json().unwrap(),
    )
}

#[tokio::test]
async fn one_statement_per_request_plus_one_batch_per_key_object() {
    let fx = fx().await;
    use kompetanse::auth::{Scope, Viewer};
    let p = gid("Programme", fx.programme);
    // Measures only: one statement, for any grouping and any viewer.
    for viewer in [
        Viewer::anonymous(),
        Viewer::new("a", vec![Scope::Admin]),
        Viewer::new(
            "f",
            vec![Scope::Funder {
                funder_office_id: common::office_id(&fx.app.db, "974761645").await,
            }],
        ),
    ] {
        let q = format!(
            "{{ participationStats(filter: {{ programme: \"{p}\" }}, groupBy: [COUNTY, MUNICIPALITY, PROVIDER, SESSION_KIND, YEAR]) {{ runs participants suppressed }} }}"
        );
        let (n, _) = count_statements(&q, viewer).await;
        assert_eq!(n, 1);
    }
    // Key objects load in one batch per type, whatever the number of rows.
    let q = "{ participationStats(groupBy: [PROGRAMME, COUNTY, MUNICIPALITY]) { programme { name } county { name } municipality { name county { name } } runs } }";
    let (n, data) = count_statements(q, Viewer::anonymous()).await;
    let rows = data["participationStats"].as_array().unwrap().len();
    assert!(rows > 3, "{rows} rows");
    assert!(n <= 5, "{n} statements for {rows} rows");
    // Coverage: one statement, one batch of counties, one of milestones.
    let q = "{ coverage { municipalitiesReached counties { county { name } populationReached } reportedMilestones { text } } }";
    let (n, _) = count_statements(q, Viewer::anonymous()).await;
    assert!(n <= 3, "{n} statements");
    let _ = (fx.s1, fx.s2, fx.v);
}

/// The group keys of a row, as selected by `KEYS`.
const KEYS: &str = "programme { id } provider { id } county { number } municipality { number } serviceKind network { id } year sessionKind";

/// The measure fields of a row, each of which can be selected alone.
const MEASURE_FIELDS: [&str; 11] = [
    "runs",
    "sessions",
    "services",
    "municipalities",
    "participants",
    "people",
    "attendances",
    "attendanceRate",
    "completions",
    "grantedKroner",
    "suppressed",
];

#[tokio::test]
async fn selecting_fewer_measures_gives_the_same_rows_and_figures() {
    // Only the selected measures are computed; the rows (their keys) and
    // every selected figure, suppression included, must be those of the
    // full selection, or a hidden count could be worked out by comparing
    // two selections.
    let fx = fx().await;
    let db = &fx.app.db;
    let now = chrono::Utc::now();
    // Rows that only one side of the statement knows: a run with an
    // enrolled service and nothing else (keys only among the enrolments),
    // and a person of a service enrolled nowhere, present at a session of
    // the 2024 run (keys only among the people facts: Bodø, Nordland,
    // MENTAL_HEALTH).
    let r2 = programme_run::Entity::find()
        .filter(programme_run::Column::ProgrammeId.eq(fx.programme))
        .filter(programme_run::Column::Year.eq(2024))
        .one(db)
        .await
        .unwrap()
        .unwrap();
    let t2 = session::Entity::find()
        .filter(session::Column::RunId.eq(r2.id))
        .one(db)
        .await
        .unwrap()
        .unwrap();
    let r3 = programme_run::Model {
        id: Uuid::now_v7(),
        year: Some(2025),
        network_id: None,
        status: RunStatus::Planned,
        title: "Statistikk 2025".into(),
        ..r2.clone()
    }
    .into_active_model()
    .insert(db)
    .await
    .unwrap();
    // A service with no municipality at all, enrolled in the 2025 run: it
    // counts under no county.
    let s4 = service_row("S4 uten kommune", ServiceKind::Other, None, now)
        .into_active_model()
        .insert(db)
        .await
        .unwrap();
    enrolment_row(r3.id, s4.id, EnrolmentStatus::Enrolled, now)
        .into_active_model()
        .insert(db)
        .await
        .unwrap();
    enrolment_row(r3.id, fx.s1, EnrolmentStatus::Enrolled, now)
        .into_active_model()
        .insert(db)
        .await
        .unwrap();
    let s3 = service_row(
        "S3 psykisk helse",
        ServiceKind::MentalHealth,
        Some(municipality_id(&fx.app, "1804").await),
        now,
    )
    .into_active_model()
    .insert(db)
    .await
    .unwrap();
    let c1 = staff_row(s3.id, "c1".into(), now)
        .into_active_model()
        .insert(db)
        .await
        .unwrap();
    participation_row(r2.id, c1.id, false, now)
        .into_active_model()
        .insert(db)
        .await
        .unwrap();
    attendance_row(t2.id, c1.id, true, now)
        .into_active_model()
        .insert(db)
        .await
        .unwrap();
    recount(db, &[r2.id, r3.id]).await;

    let p = gid("Programme", fx.programme);
    let groupings: [&[&str]; 11] = [
        &[],
        &["PROGRAMME"],
        &["PROVIDER"],
        &["COUNTY"],
        &["MUNICIPALITY"],
        &["SERVICE_KIND"],
        &["NETWORK"],
        &["YEAR"],
        &["SESSION_KIND"],
        &["COUNTY", "SESSION_KIND"],
        &["PROVIDER", "SERVICE_KIND", "YEAR"],
    ];
    let mut selections: Vec<Vec<&str>> = vec![vec![]];
    selections.extend(MEASURE_FIELDS.iter().map(|f| vec![*f]));
    selections.push(vec!["participants", "suppressed"]);
    selections.push(vec!["runs", "sessions", "attendances"]);
    let ask = |group_by: &[&str], fields: &[&str], token: Option<String>| {
        let query = format!(
            "query($f: StatsFilter, $g: [StatsDimension!]!) {{ participationStats(filter: $f, groupBy: $g) {{ {KEYS} {} }} }}",
            fields.join(" ")
        );
        let vars = json!({ "f": { "programme": p }, "g": group_by });
        let app = &fx.app;
        async move {
            let res = app.query_as(token.as_deref(), &query, vars).await;
            res.data()["participationStats"].as_array().unwrap().clone()
        }
    };
    // Hand-counted: by county, the 2025 run's service without a
    // municipality makes a row of its own with no county.
    let by_county = ask(
        &["COUNTY", "YEAR"],
        &["runs", "services", "municipalities"],
        None,
    )
    .await;
    let nowhere: Vec<&Value> = by_county.iter().filter(|r| r["county"].is_null()).collect();
    assert_eq!(nowhere.len(), 1, "{by_county:?}");
    assert_eq!(nowhere[0]["year"], 2025);
    assert_eq!(nowhere[0]["runs"], 1);
    assert_eq!(nowhere[0]["services"], 1);
    assert_eq!(nowhere[0]["municipalities"], 0);
    let national = ask(&[], &["runs", "services", "municipalities"], None).await;
    // Runs 2023, 2024, 2025; services S1, S2, S4; municipalities
    // Midt-Telemark (Bø), Hamar, Ringsaker.
    assert_eq!(national[0]["runs"], 3);
    assert_eq!(national[0]["services"], 3);
    assert_eq!(national[0]["municipalities"], 3);

    for token in [None, Some(fx.admin.clone())] {
        for group_by in groupings {
            let full = ask(group_by, &MEASURE_FIELDS, token.clone()).await;
            assert!(!full.is_empty(), "{group_by:?}");
            for fields in &selections {
                let some = ask(group_by, fields, token.clone()).await;
                assert_eq!(some.len(), full.len(), "{group_by:?} {fields:?}");
                for (row, whole) in some.iter().zip(&full) {
                    for key in [
                        "programme",
                        "provider",
                        "county",
                        "municipality",
                        "serviceKind",
                        "network",
                        "year",
                        "sessionKind",
                    ] {
                        assert_eq!(row[key], whole[key], "{group_by:?} {fields:?} {key}");
                    }
                    for field in fields {
                        assert_eq!(row[*field], whole[*field], "{group_by:?} {fields:?}");
                    }
                }
            }
        }
    }
}

/// Recounts what rows written directly (not through the API's writes)
/// leave behind: the services' current coverage and the tallies of `runs`.
async fn recount(db: &sea_orm::DatabaseConnection, runs: &[Uuid]) {
    kompetanse::domain::service::area::refresh_coverage(db)
        .await
        .unwrap();
    for run in runs {
        kompetanse::domain::statistics::tally::refresh_run(db, *run)
            .await
            .unwrap();
    }
}

/// A row whose people figures count synthetic persons (test data) says so,
/// whatever else the request selects and however it groups; once the same
/// facts belong to real persons, the flag goes and the figures stay.
#[tokio::test]
async fn rows_say_when_their_figures_include_synthetic_persons() {
    const FLAGS: &str = "query($f: StatsFilter, $g: [StatsDimension!]!) {
      participationStats(filter: $f, groupBy: $g) { year participants includesSyntheticData }
    }";
    const FLAG_ONLY: &str = "query($f: StatsFilter, $g: [StatsDimension!]!) {
      participationStats(filter: $f, groupBy: $g) { includesSyntheticData }
    }";
    let fx = fx().await;
    let filter = json!({ "programme": gid("Programme", fx.programme) });
    let ask = |doc: &'static str, token: Option<String>, g: Vec<&'static str>| {
        let app = &fx.app;
        let filter = filter.clone();
        async move {
            app.query_as(token.as_deref(), doc, json!({ "f": filter, "g": g }))
                .await
                .data()["participationStats"]
                .as_array()
                .unwrap()
                .clone()
        }
    };
    let flags = |rows: &[Value]| -> Vec<bool> {
        rows.iter()
            .map(|r| r["includesSyntheticData"].as_bool().unwrap())
            .collect()
    };
    let admin = Some(fx.admin.clone());
    for g in [vec![], vec!["YEAR"], vec!["YEAR", "SESSION_KIND"]] {
        let rows = ask(FLAGS, admin.clone(), g.clone()).await;
        for row in &rows {
            let has_people = row["participants"].as_i64().unwrap() > 0;
            // Rows with people are all synthetic here; a SESSION_KIND row
            // of a run without attendance has nobody behind it.
            assert_eq!(
                row["includesSyntheticData"].as_bool().unwrap(),
                has_people,
                "{g:?} {row}"
            );
        }
        assert!(flags(&rows).contains(&true), "{g:?}");
        // The flag alone, and for an anonymous viewer, gives the same.
        assert_eq!(
            flags(&ask(FLAG_ONLY, admin.clone(), g.clone()).await),
            flags(&rows)
        );
        assert_eq!(flags(&ask(FLAGS, None, g.clone()).await), flags(&rows));
    }

    // The same facts of real persons: no flag, the same figures.
    let before = ask(FLAGS, admin.clone(), vec!["YEAR"]).await;
    let runs: Vec<Uuid> = programme_run::Entity::find()
        .filter(programme_run::Column::ProgrammeId.eq(fx.programme))
        .all(&fx.app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    let persons: Vec<Uuid> = participation::Entity::find()
        .filter(participation::Column::RunId.is_in(runs.clone()))
        .all(&fx.app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.person_id)
        .collect();
    person::Entity::update_many()
        .col_expr(person::Column::Synthetic, false.into())
        .filter(person::Column::Id.is_in(persons))
        .exec(&fx.app.db)
        .await
        .unwrap();
    recount(&fx.app.db, &runs).await;
    let after = ask(FLAGS, admin.clone(), vec!["YEAR"]).await;
    assert_eq!(flags(&after), vec![false; after.len()]);
    let figures = |rows: &[Value]| -> Vec<Value> {
        rows.iter()
            .map(|r| json!([r["year"], r["participants"]]))
            .collect()
    };
    assert_eq!(figures(&after), figures(&before));
}

/// The demo's participants are synthetic, and its public statistics say so.
#[tokio::test]
async fn the_demo_statistics_say_they_count_synthetic_persons() {
    let app = spawn_app().await;
    let rows = app
        .data(
            "{ participationStats(filter: { provider: \"rvts-sor\" }, groupBy: []) { participants includesSyntheticData } }",
        )
        .await["participationStats"]
        .clone();
    assert_eq!(rows.as_array().unwrap().len(), 1, "{rows}");
    assert!(rows[0]["participants"].as_i64().unwrap() > 0, "{rows}");
    assert_eq!(rows[0]["includesSyntheticData"], true, "{rows}");
}

/// The migration that added the synthetic counts fills them for tallies
/// that existed before it: undone and done again on a seeded database, it
/// gives every tally row the count the server keeps.
#[tokio::test]
async fn the_migration_fills_the_synthetic_counts_of_existing_tallies() {
    let mut settings = common::test_settings();
    settings.database_url = common::fresh_database().await;
    let app = common::spawn_app_with(settings).await;
    let db = &app.db;
    let read = || async {
        let mut service: Vec<(Uuid, Uuid, i64)> = stats_run_service::Entity::find()
            .all(db)
            .await
            .unwrap()
            .into_iter()
            .map(|t| (t.run_id, t.service_id, t.synthetic))
            .collect();
        service.sort();
        let mut kind: Vec<(Uuid, Uuid, String, i64)> = stats_run_service_kind::Entity::find()
            .all(db)
            .await
            .unwrap()
            .into_iter()
            .map(|t| (t.run_id, t.service_id, format!("{:?}", t.kind), t.synthetic))
            .collect();
        kind.sort();
        (service, kind)
    };
    let kept = read().await;
    assert!(
        kept.0.iter().any(|t| t.2 > 0),
        "the demo has synthetic facts"
    );
    assert!(
        kept.1.iter().any(|t| t.3 > 0),
        "the demo has synthetic attendance"
    );
    common::redo_migrations_from(db, "m20261206_000002_synthetic_tally").await;
    assert_eq!(read().await, kept);
}

/// Distinct people are counted two ways: summed from the per-service
/// counts (grouped and filtered by area, service kind, service, year,
/// session kind or programme, for viewers whose rights follow the
/// person's service) or from the participations themselves (the rest).
/// The same persons must give the same figure either way, exact or
/// protected: filtering on the programme's own provider changes nothing
/// about who is counted, but sends the request the other way.
#[tokio::test]
async fn distinct_people_agree_whichever_way_they_are_counted() {
    let fx = fx().await;
    let provider = json!({ "provider": gid("Provider", fx.v) });
    let groupings: [&[&str]; 8] = [
        &[],
        &["YEAR"],
        &["PROGRAMME"],
        &["SESSION_KIND"],
        &["COUNTY", "YEAR"],
        &["MUNICIPALITY", "SESSION_KIND"],
        &["SERVICE_KIND", "PROGRAMME", "YEAR"],
        &["COUNTY", "SESSION_KIND", "YEAR"],
    ];
    let people = |rows: &[Value]| -> Vec<String> {
        let mut out: Vec<String> = rows
            .iter()
            .map(|r| {
                format!(
                    "{}/{}/{}/{}/{}/{} people {} suppressed {}",
                    r["programme"]["id"],
                    r["county"]["number"],
                    r["municipality"]["number"],
                    r["serviceKind"],
                    r["year"],
                    r["sessionKind"],
                    r["people"],
                    r["suppressed"]
                )
            })
            .collect();
        out.sort();
        out
    };
    let viewers = [
        Some(fx.admin.as_str()),
        None,
        Some(fx.leader_s1.as_str()),
        Some(fx.funder_telemark.as_str()),
    ];
    let mut compared = 0;
    for group in groupings {
        for token in viewers {
            let summed = fx.stats(token, group, json!({})).await;
            let counted = fx.stats(token, group, provider.clone()).await;
            assert!(!summed.is_empty(), "{group:?}");
            assert_eq!(people(&summed), people(&counted), "{group:?} {token:?}");
            compared += summed.len();
        }
    }
    assert!(compared > 40, "{compared}");

    // ADMIN's figures are the distinct persons of the base tables: signed
    // up per year, and signed up and present per session kind.
    let rows = fx.stats(Some(&fx.admin), &["YEAR"], json!({})).await;
    let by_year: i64 = rows.iter().map(|r| r["people"].as_i64().unwrap()).sum();
    let rows = fx
        .stats(Some(&fx.admin), &["SESSION_KIND"], json!({}))
        .await;
    let by_kind: Vec<(String, i64)> = rows
        .iter()
        .map(|r| {
            (
                r["sessionKind"].as_str().unwrap().to_owned(),
                r["people"].as_i64().unwrap(),
            )
        })
        .collect();
    use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
    let db = &fx.app.db;
    let backend = db.get_database_backend();
    let p = if backend == DatabaseBackend::Postgres {
        "$1"
    } else {
        "?"
    };
    let count = |sql: String| async move {
        db.query_all_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [fx.programme.into()],
        ))
        .await
        .unwrap()
    };
    let rows = count(format!(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM (SELECT DISTINCT r.year, pa.person_id \
         FROM participation pa JOIN programme_run r ON r.id = pa.run_id \
         WHERE r.programme_id = {p}) x"
    ))
    .await;
    assert_eq!(rows[0].try_get_by_index::<i64>(0).unwrap(), by_year);
    let rows = count(format!(
        "SELECT ss.kind, CAST(COUNT(DISTINCT at.person_id) AS BIGINT) FROM attendance at \
         JOIN session ss ON ss.id = at.session_id JOIN programme_run r ON r.id = ss.run_id \
         JOIN participation pa ON pa.run_id = r.id AND pa.person_id = at.person_id \
         WHERE r.programme_id = {p} AND at.present = TRUE GROUP BY ss.kind"
    ))
    .await;
    let mut expected: Vec<(String, i64)> = rows
        .iter()
        .map(|r| {
            (
                r.try_get_by_index::<String>(0).unwrap(),
                r.try_get_by_index::<i64>(1).unwrap(),
            )
        })
        .collect();
    expected.sort();
    let mut by_kind = by_kind;
    by_kind.sort();
    assert_eq!(by_kind, expected);
}

/// Moving a run to another year moves its people between the years.
#[tokio::test]
async fn a_run_moved_to_another_year_takes_its_people_along() {
    let fx = fx().await;
    let years = |rows: &[Value]| -> Vec<(i64, i64)> {
        let mut out: Vec<(i64, i64)> = rows
            .iter()
            .map(|r| (r["year"].as_i64().unwrap(), r["people"].as_i64().unwrap()))
            .collect();
        out.sort();
        out
    };
    let before = years(&fx.stats(Some(&fx.admin), &["YEAR"], json!({})).await);
    assert_eq!(before.len(), 2, "{before:?}");
    let everyone = fx.stats(Some(&fx.admin), &[], json!({})).await[0]["people"]
        .as_i64()
        .unwrap();
    let runs = fx
        .app
        .query_as(
            Some(&fx.admin),
            "query($id: ID!) { node(id: $id) { ... on Programme { runs { nodes { id year version } } } } }",
            json!({ "id": gid("Programme", fx.programme) }),
        )
        .await;
    let nodes = runs.data()["node"]["runs"]["nodes"]
        .as_array()
        .unwrap()
        .clone();
    let run = nodes.iter().find(|r| r["year"] == 2024).unwrap();
    let res = fx
        .app
        .query_as(
            Some(&fx.admin),
            "mutation($input: UpdateRunInput!) { updateRun(input: $input) { run { year } } }",
            json!({ "input": { "id": run["id"], "version": run["version"], "year": 2023 } }),
        )
        .await;
    assert_eq!(
        res.data()["updateRun"]["run"]["year"],
        2023,
        "{:?}",
        res.body
    );
    // One year now, with the persons of both runs, each once.
    let after = years(&fx.stats(Some(&fx.admin), &["YEAR"], json!({})).await);
    assert_eq!(after, vec![(2023, everyone)], "{before:?}");
}

/// The migration that added the people tallies fills them for databases
/// that existed before it: undone and done again on a seeded database, it
/// gives the rows the server keeps.
#[tokio::test]
async fn the_migration_fills_the_people_tallies_of_existing_data() {
    let mut settings = common::test_settings();
    settings.database_url = common::fresh_database().await;
    let app = common::spawn_app_with(settings).await;
    let db = &app.db;
    let read = || async {
        let mut out: Vec<String> = entity::stats_run_person_kind::Entity::find()
            .all(db)
            .await
            .unwrap()
            .into_iter()
            .map(|t| format!("{t:?}"))
            .collect();
        out.extend(common::tallies::people_rows(db, None).await);
        out.sort();
        out
    };
    let kept = read().await;
    assert!(kept.len() > 50, "the demo has people: {}", kept.len());
    common::redo_migrations_from(db, "m20261207_000001_people_tallies").await;
    assert_eq!(read().await, kept);
}
