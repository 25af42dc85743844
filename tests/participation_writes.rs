//! Enrolment, staff, sign-up and attendance written through the API: the
//! role rules, validation with field names, optimistic locking, bulk
//! attendance that is all-or-nothing and idempotent, and completion that
//! follows attendance.

mod common;

use common::gid;

use common::{TestApp, claims, spawn_app, token};
use entity::enums::{Audience, EnrolmentStatus, Role, RunStatus, SessionKind};
use entity::{attendance, enrolment, participation, person, programme, programme_run, session};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect, Set,
};
use serde_json::{Value, json};
use uuid::Uuid;

fn key_of(global: &Value) -> Uuid {
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(global.as_str().expect("id"))
        .expect("base64");
    let raw = String::from_utf8(raw).expect("utf-8");
    let (_, key) = raw.split_once(':').expect("Type:key");
    key.parse().expect("uuid")
}

/// A fresh run of NUBU's programme with two all-staff sessions and one
/// leader session, and tokens for the roles around it.
struct Fixture {
    run: Uuid,
    /// [all staff, all staff, leaders]
    sessions: [Uuid; 3],
    hamar: Uuid,
    admin: String,
    leader: String,
    other_leader: String,
    provider: String,
    other_provider: String,
    funder: String,
}

async fn fixture(app: &TestApp, status: RunStatus) -> Fixture {
    let programme_id = common::uuid_of::<programme::Entity>(
        &app.db,
        programme::Column::Slug,
        programme::Column::Id,
        "veiledning-av-fosterhjem-ved-utfordrende-atferd",
    )
    .await;
    let now = chrono::Utc::now();
    let run = programme_run::ActiveModel {
        id: Set(Uuid::now_v7()),
        programme_id: Set(programme_id),
        network_id: Set(None),
        title: Set(format!("Testkull {}", Uuid::now_v7().simple())),
        status: Set(status),
        year: Set(Some(2026)),
        starts_on: Set(None),
        ends_on: Set(None),
        period: Set(None),
        notes: Set(None),
        source: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&app.db)
    .await
    .unwrap();
    let mut sessions = [Uuid::nil(); 3];
    for (i, audience) in [Audience::AllStaff, Audience::AllStaff, Audience::Leaders]
        .into_iter()
        .enumerate()
    {
        sessions[i] = session::ActiveModel {
            id: Set(Uuid::now_v7()),
            run_id: Set(run.id),
            position: Set(i as i32 + 1),
            title: Set(format!("Samling {}", i + 1)),
            kind: Set(SessionKind::CourseDay),
            audience: Set(audience),
            date: Set(None),
            starts_at: Set(None),
            period: Set(None),
            duration_minutes: Set(None),
            place: Set(None),
            pre_work: Set(None),
            reported_attendance: Set(None),
            reported_attendance_approximate: Set(false),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&app.db)
        .await
        .unwrap()
        .id;
    }
    let hamar = common::service_id(&app.db, "hamar-barneverntjeneste").await;
    let elverum = common::service_id(&app.db, "elverum-barneverntjeneste").await;
    let with = |sub: &str, role: Role| {
        let mut c = claims(sub);
        c.role = Some(role);
        c
    };
    let admin = with("pw-admin", Role::Admin);
    let mut leader = with("pw-leader", Role::Leader);
    leader.service_id = Some(hamar);
    let mut other_leader = with("pw-other-leader", Role::Leader);
    other_leader.service_id = Some(elverum);
    let mut provider = with("pw-provider", Role::Provider);
    provider.provider_id = Some(common::provider_id(&app.db, "nubu").await);
    let mut other_provider = with("pw-other-provider", Role::Provider);
    other_provider.provider_id = Some(common::provider_id(&app.db, "rvts-sor").await);
    let mut funder = with("pw-funder", Role::Funder);
    funder.funder_office_id = Some(common::office_id(&app.db, "974761645").await);
    Fixture {
        run: run.id,
        sessions,
        hamar,
        admin: token(&admin),
        leader: token(&leader),
        other_leader: token(&other_leader),
        provider: token(&provider),
        other_provider: token(&other_provider),
        funder: token(&funder),
    }
}

fn staff_token(person: Uuid) -> String {
    let mut c = claims(&format!("pw-staff-{}", person.simple()));
    c.role = Some(Role::Staff);
    c.person_id = Some(person);
    token(&c)
}

const ENROL: &str = "mutation($run: ID!, $service: ID!) {
  enrolService(input: {run: $run, service: $service}) {
    enrolment { id status version service { slug } }
  }
}";

const REGISTER: &str = "mutation($input: RegisterPersonInput!) {
  registerPerson(input: $input) { person { id name email isLeader version } }
}";

const SIGN_UP: &str = "mutation($run: ID!, $person: ID!, $role: ParticipationRole) {
  signUp(input: {run: $run, person: $person, role: $role}) {
    participation { id role status completed sessionsAttended sessionsRequired version }
  }
}";

const RECORD: &str = "mutation($session: ID!, $entries: [AttendanceEntryInput!]!) {
  recordAttendance(input: {session: $session, entries: $entries}) {
    created changed unchanged
    attendance { present version person { id } }
  }
}";

/// Asserts one error with `code` (and `field`, when given).
fn assert_error(res: &common::GqlResponse, code: &str, field: Option<&str>) {
    assert_eq!(res.codes(), vec![code.to_owned()], "{}", res.body);
    if let Some(field) = field {
        assert_eq!(
            res.first_error()["extensions"]["field"],
            json!(field),
            "{}",
            res.body
        );
    }
}

async fn enrol(app: &TestApp, f: &Fixture) {
    let res = app
        .query_as(
            Some(&f.leader),
            ENROL,
            json!({ "run": gid("ProgrammeRun", f.run), "service": gid("Service", f.hamar) }),
        )
        .await;
    res.data();
}

/// Registers a person in Hamar as its leader; returns the person's id.
async fn register(app: &TestApp, f: &Fixture, name: &str, is_leader: bool) -> Uuid {
    let res = app
        .query_as(
            Some(&f.leader),
            REGISTER,
            json!({ "input": {
                "service": gid("Service", f.hamar),
                "name": name,
                "email": format!("{}@hamar.kommune.no", Uuid::now_v7().simple()),
                "jobTitle": "Barnevernspedagog",
                "isLeader": is_leader,
            }}),
        )
        .await;
    key_of(&res.data()["registerPerson"]["person"]["id"])
}

async fn sign_up(app: &TestApp, f: &Fixture, person: Uuid) -> Value {
    let res = app
        .query_as(
            Some(&f.leader),
            SIGN_UP,
            json!({ "run": gid("ProgrammeRun", f.run), "person": gid("Person", person) }),
        )
        .await;
    res.data()["signUp"]["participation"].clone()
}

fn entries(list: &[(Uuid, bool)]) -> Value {
    json!(
        list.iter()
            .map(|(p, present)| json!({ "person": gid("Person", *p), "present": present }))
            .collect::<Vec<_>>()
    )
}

async fn record(
    app: &TestApp,
    tok: &str,
    session: Uuid,
    list: &[(Uuid, bool)],
) -> common::GqlResponse {
    app.query_as(
        Some(tok),
        RECORD,
        json!({ "session": gid("Session", session), "entries": entries(list) }),
    )
    .await
}

async fn progress(app: &TestApp, run: Uuid, person: Uuid) -> (i32, i32, bool) {
    let p = participation::Entity::find()
        .filter(participation::Column::RunId.eq(run))
        .filter(participation::Column::PersonId.eq(person))
        .one(&app.db)
        .await
        .unwrap()
        .expect("participation");
    (p.sessions_attended, p.sessions_required, p.completed)
}

async fn attendance_rows(app: &TestApp, session: Uuid) -> u64 {
    attendance::Entity::find()
        .filter(attendance::Column::SessionId.eq(session))
        .count(&app.db)
        .await
        .unwrap()
}

async fn audit_count(app: &TestApp, action: &str, entity: Uuid) -> u64 {
    entity::audit_log::Entity::find()
        .filter(entity::audit_log::Column::Action.eq(action))
        .filter(entity::audit_log::Column::EntityId.eq(entity))
        .count(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_leader_runs_the_whole_flow_and_completion_follows_attendance() {
    let app = spawn_app().await;
    let f = fixture(&app, RunStatus::Running).await;
    enrol(&app, &f).await;
    let kari = register(&app, &f, "Kari Testesen", false).await;
    let leif = register(&app, &f, "Leif Ledersen", true).await;

    let p = sign_up(&app, &f, kari).await;
    assert_eq!(p["role"], "STAFF");
    assert_eq!(
        p["sessionsRequired"], 2,
        "staff: the two all-staff sessions"
    );
    assert_eq!(p["completed"], false);
    let p = sign_up(&app, &f, leif).await;
    assert_eq!(p["role"], "LEADER");
    assert_eq!(p["sessionsRequired"], 3, "leaders: every session");

    // The provider records the first session, the leader the second.
    let res = record(
        &app,
        &f.provider,
        f.sessions[0],
        &[(kari, true), (leif, true)],
    )
    .await;
    assert_eq!(res.data()["recordAttendance"]["created"], 2);
    let res = record(
        &app,
        &f.leader,
        f.sessions[1],
        &[(kari, true), (leif, true)],
    )
    .await;
    assert_eq!(res.data()["recordAttendance"]["created"], 2);
    assert_eq!(progress(&app, f.run, kari).await, (2, 2, true));
    assert_eq!(progress(&app, f.run, leif).await, (2, 3, false));

    // Only the leader attends the leader session.
    let res = record(&app, &f.leader, f.sessions[2], &[(leif, true)]).await;
    res.data();
    assert_eq!(progress(&app, f.run, leif).await, (3, 3, true));

    // The same list again changes nothing: no row, no version, no audit.
    let audits = audit_count(&app, "recordAttendance", f.sessions[1]).await;
    let res = record(
        &app,
        &f.leader,
        f.sessions[1],
        &[(kari, true), (leif, true)],
    )
    .await;
    let out = &res.data()["recordAttendance"];
    assert_eq!(
        (&out["created"], &out["changed"], &out["unchanged"]),
        (&json!(0), &json!(0), &json!(2))
    );
    assert!(
        out["attendance"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["version"] == 1)
    );
    assert_eq!(
        audit_count(&app, "recordAttendance", f.sessions[1]).await,
        audits
    );
    assert_eq!(attendance_rows(&app, f.sessions[1]).await, 2);

    // A correction takes completion away again, and back.
    let res = record(&app, &f.leader, f.sessions[1], &[(kari, false)]).await;
    assert_eq!(res.data()["recordAttendance"]["changed"], 1);
    assert_eq!(progress(&app, f.run, kari).await, (1, 2, false));
    record(&app, &f.leader, f.sessions[1], &[(kari, true)])
        .await
        .data();
    assert_eq!(progress(&app, f.run, kari).await, (2, 2, true));
    // The statistics tallies kept by these writes: two participations,
    // both completed, five records, all present.
    common::tallies::assert_service_counts(&app.db, f.run, [2, 2, 5, 5, 2]).await;

    // The staff member reads their own participation and attendance.
    let res = app
        .query_as(
            Some(&staff_token(kari)),
            "{ me { roles { person { name participations {
                 completed sessionsAttended sessionsRequired
                 run { id } attendance { present session { id } }
               } } } } }",
            json!({}),
        )
        .await;
    let person = &res.data()["me"]["roles"][0]["person"];
    assert_eq!(person["name"], "Kari Testesen");
    let mine = person["participations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["run"]["id"] == gid("ProgrammeRun", f.run))
        .expect("the run");
    assert_eq!(mine["completed"], true);
    assert_eq!(mine["attendance"].as_array().unwrap().len(), 2);

    // Every write left its audit entry.
    assert_eq!(audit_count(&app, "registerPerson", kari).await, 1);
    assert!(audit_count(&app, "recordAttendance", f.sessions[0]).await >= 1);
}

#[tokio::test]
async fn who_may_enrol_register_sign_up_and_record() {
    let app = spawn_app().await;
    let f = fixture(&app, RunStatus::Planned).await;
    let vars = json!({ "run": gid("ProgrammeRun", f.run), "service": gid("Service", f.hamar) });

    // Enrolment: anonymous, staff, funder, another leader, another provider are refused.
    assert_error(
        &app.query(ENROL, vars.clone()).await,
        "UNAUTHENTICATED",
        None,
    );
    for tok in [&f.funder, &f.other_leader, &f.other_provider] {
        assert_error(
            &app.query_as(Some(tok), ENROL, vars.clone()).await,
            "FORBIDDEN",
            None,
        );
    }
    // The run's provider may enrol the service; ADMIN may withdraw it.
    let res = app.query_as(Some(&f.provider), ENROL, vars.clone()).await;
    let e = &res.data()["enrolService"]["enrolment"];
    assert_eq!(e["status"], "ENROLLED");
    assert_eq!(e["service"]["slug"], "hamar-barneverntjeneste");

    // The staff register: the leader of the service and ADMIN only.
    let input = |email: &str| json!({ "input": { "service": gid("Service", f.hamar), "name": "Åse Østby", "email": email } });
    assert_error(
        &app.query(REGISTER, input("a@hamar.no")).await,
        "UNAUTHENTICATED",
        None,
    );
    for tok in [&f.provider, &f.other_leader, &f.funder] {
        assert_error(
            &app.query_as(Some(tok), REGISTER, input("a@hamar.no")).await,
            "FORBIDDEN",
            None,
        );
    }
    let res = app
        .query_as(Some(&f.admin), REGISTER, input("ase@hamar.no"))
        .await;
    let ase = key_of(&res.data()["registerPerson"]["person"]["id"]);
    assert_error(
        &app.query_as(Some(&staff_token(ase)), REGISTER, input("b@hamar.no"))
            .await,
        "FORBIDDEN",
        None,
    );

    // Sign-up: the other leader cannot see Hamar's staff at all.
    let vars = json!({ "run": gid("ProgrammeRun", f.run), "person": gid("Person", ase) });
    assert_error(
        &app.query_as(Some(&f.other_leader), SIGN_UP, vars.clone())
            .await,
        "BAD_USER_INPUT",
        Some("input.person"),
    );
    assert_error(
        &app.query(SIGN_UP, vars.clone()).await,
        "UNAUTHENTICATED",
        None,
    );
    // ADMIN signs her up; the provider of another programme may not record.
    app.query_as(Some(&f.admin), SIGN_UP, vars).await.data();
    let res = record(&app, &f.other_provider, f.sessions[0], &[(ase, true)]).await;
    assert_eq!(res.codes(), vec!["BAD_USER_INPUT"], "{}", res.body);
    assert_eq!(attendance_rows(&app, f.sessions[0]).await, 0);
    // The funder sees counts only: it cannot record either.
    let res = record(&app, &f.funder, f.sessions[0], &[(ase, true)]).await;
    assert_eq!(res.codes(), vec!["BAD_USER_INPUT"], "{}", res.body);
    assert_eq!(attendance_rows(&app, f.sessions[0]).await, 0);
    // The staff member reads but does not record their own attendance.
    let res = record(&app, &staff_token(ase), f.sessions[0], &[(ase, true)]).await;
    assert_eq!(res.codes(), vec!["FORBIDDEN"], "{}", res.body);
    let res = record(&app, &f.admin, f.sessions[0], &[(ase, true)]).await;
    res.data();
}

#[tokio::test]
async fn bad_input_names_its_field_and_writes_nothing() {
    let app = spawn_app().await;
    let f = fixture(&app, RunStatus::Running).await;
    let service = gid("Service", f.hamar);
    let reg = |input: Value| app.query_as(Some(&f.leader), REGISTER, json!({ "input": input }));

    for (input, field) in [
        (json!({ "service": service, "name": "  " }), "input.name"),
        (
            json!({ "service": service, "name": "x".repeat(201) }),
            "input.name",
        ),
        (
            json!({ "service": service, "name": "Ok", "email": "not-an-address" }),
            "input.email",
        ),
        (
            json!({ "service": service, "name": "Ok", "email": "kari@hamar" }),
            "input.email",
        ),
        (
            json!({ "service": service, "name": "Ok", "jobTitle": "y".repeat(201) }),
            "input.jobTitle",
        ),
        (
            json!({ "service": "bm90LWFuLWlk", "name": "Ok" }),
            "input.service",
        ),
        (
            json!({ "service": gid("Service", Uuid::now_v7()), "name": "Ok" }),
            "input.service",
        ),
    ] {
        assert_error(&reg(input).await, "BAD_USER_INPUT", Some(field));
    }
    // An address another person of the service has.
    let first =
        reg(json!({ "service": service, "name": "Én", "email": "same@hamar.kommune.no" })).await;
    first.data();
    let again =
        reg(json!({ "service": service, "name": "To", "email": "SAME@Hamar.Kommune.no" })).await;
    // Addresses are compared without regard to case.
    assert_error(&again, "BAD_USER_INPUT", Some("input.email"));

    // Sign-up before the service is enrolled.
    let kari = register(&app, &f, "Kari Før", false).await;
    let vars = json!({ "run": gid("ProgrammeRun", f.run), "person": gid("Person", kari) });
    assert_error(
        &app.query_as(Some(&f.leader), SIGN_UP, vars.clone()).await,
        "BAD_USER_INPUT",
        Some("input.person"),
    );
    enrol(&app, &f).await;
    // Enrolling twice.
    let res = app
        .query_as(
            Some(&f.leader),
            ENROL,
            json!({ "run": gid("ProgrammeRun", f.run), "service": service }),
        )
        .await;
    assert_error(&res, "BAD_USER_INPUT", Some("input.service"));
    // LEADER role for someone who is not a leader.
    let mut leader_vars = vars.clone();
    leader_vars["role"] = json!("LEADER");
    assert_error(
        &app.query_as(Some(&f.leader), SIGN_UP, leader_vars).await,
        "BAD_USER_INPUT",
        Some("input.role"),
    );
    app.query_as(Some(&f.leader), SIGN_UP, vars.clone())
        .await
        .data();
    assert_error(
        &app.query_as(Some(&f.leader), SIGN_UP, vars).await,
        "BAD_USER_INPUT",
        Some("input.person"),
    );

    // Attendance: a list that fails half-way leaves nothing behind.
    let outsider = register(&app, &f, "Ikke Påmeldt", false).await;
    let res = record(
        &app,
        &f.leader,
        f.sessions[0],
        &[(kari, true), (outsider, true)],
    )
    .await;
    assert_error(&res, "BAD_USER_INPUT", Some("input.entries.1.person"));
    assert_eq!(attendance_rows(&app, f.sessions[0]).await, 0);
    assert_eq!(progress(&app, f.run, kari).await, (0, 2, false));
    // The same person twice.
    let res = record(
        &app,
        &f.leader,
        f.sessions[0],
        &[(kari, true), (kari, false)],
    )
    .await;
    assert_error(&res, "BAD_USER_INPUT", Some("input.entries.1.person"));
    // A staff participant at the leader session.
    let res = record(&app, &f.leader, f.sessions[2], &[(kari, true)]).await;
    assert_error(&res, "BAD_USER_INPUT", Some("input.entries.0.person"));
    assert_eq!(attendance_rows(&app, f.sessions[2]).await, 0);
    // A session that does not exist.
    let res = record(&app, &f.leader, Uuid::now_v7(), &[(kari, true)]).await;
    assert_error(&res, "BAD_USER_INPUT", Some("input.session"));
    // Too many entries.
    let many: Vec<(Uuid, bool)> = (0..1001).map(|_| (Uuid::now_v7(), true)).collect();
    let res = record(&app, &f.leader, f.sessions[0], &many).await;
    assert_error(&res, "BAD_USER_INPUT", Some("input.entries"));
}

#[tokio::test]
async fn cancelled_and_completed_runs_take_no_writes() {
    let app = spawn_app().await;
    for status in [RunStatus::Cancelled, RunStatus::Completed] {
        let f = fixture(&app, status).await;
        let res = app
            .query_as(
                Some(&f.admin),
                ENROL,
                json!({ "run": gid("ProgrammeRun", f.run), "service": gid("Service", f.hamar) }),
            )
            .await;
        assert_error(&res, "BAD_USER_INPUT", Some("input.run"));
        let message = res.first_error()["message"].as_str().unwrap().to_owned();
        let word = match status {
            RunStatus::Cancelled => "cancelled",
            _ => "completed",
        };
        assert!(message.contains(word), "{message}");
        let kari = register(&app, &f, "Kari Sen", false).await;
        let res = record(&app, &f.admin, f.sessions[0], &[(kari, true)]).await;
        assert_error(&res, "BAD_USER_INPUT", Some("input.session"));
    }
}

const UPDATE_PERSON: &str = "mutation($input: UpdatePersonInput!) {
  updatePerson(input: $input) { person { name email jobTitle version } }
}";

#[tokio::test]
async fn a_stale_version_is_a_conflict_and_changes_nothing() {
    let app = spawn_app().await;
    let f = fixture(&app, RunStatus::Running).await;
    let kari = register(&app, &f, "Kari Versjon", false).await;
    let update = |name: &str, version: i32| {
        app.query_as(
            Some(&f.leader),
            UPDATE_PERSON,
            json!({ "input": { "id": gid("Person", kari), "version": version, "name": name, "jobTitle": null } }),
        )
    };
    let res = update("Kari Ny", 1).await;
    let p = &res.data()["updatePerson"]["person"];
    assert_eq!(
        (&p["name"], &p["version"], &p["jobTitle"]),
        (&json!("Kari Ny"), &json!(2), &Value::Null)
    );
    assert_error(&update("Kari Gammel", 1).await, "CONFLICT", None);
    let row = person::Entity::find_by_id(kari)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((row.name.as_str(), row.version), ("Kari Ny", 2));

    // Two updates racing from the same version: one wins, one is told.
    let (a, b) = tokio::join!(update("Kari A", 2), update("Kari B", 2));
    let mut codes = [a.codes(), b.codes()];
    codes.sort();
    assert_eq!(
        codes,
        [vec![], vec!["CONFLICT".to_owned()]],
        "{} {}",
        a.body,
        b.body
    );
    let row = person::Entity::find_by_id(kari)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.version, 3);
    assert!(row.name == "Kari A" || row.name == "Kari B");
    assert_eq!(audit_count(&app, "updatePerson", kari).await, 2);

    // Someone else's person is not found for another service's leader.
    let res = app
        .query_as(
            Some(&f.other_leader),
            UPDATE_PERSON,
            json!({ "input": { "id": gid("Person", kari), "version": 3, "name": "X" } }),
        )
        .await;
    assert_error(&res, "NOT_FOUND", None);

    // Attendance entries may carry the version read.
    enrol(&app, &f).await;
    sign_up(&app, &f, kari).await;
    let res = record(&app, &f.leader, f.sessions[0], &[(kari, true)]).await;
    assert_eq!(
        res.data()["recordAttendance"]["attendance"][0]["version"],
        1
    );
    record(&app, &f.provider, f.sessions[0], &[(kari, false)])
        .await
        .data();
    let stale = app
        .query_as(
            Some(&f.leader),
            RECORD,
            json!({ "session": gid("Session", f.sessions[0]),
                    "entries": [{ "person": gid("Person", kari), "present": true, "version": 1 }] }),
        )
        .await;
    assert_error(&stale, "CONFLICT", None);
    let row = attendance::Entity::find()
        .filter(attendance::Column::SessionId.eq(f.sessions[0]))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert!(!row.present, "the stale write changed nothing");
}

#[tokio::test]
async fn concurrent_attendance_lists_leave_one_row_per_person() {
    let app = spawn_app().await;
    let f = fixture(&app, RunStatus::Running).await;
    enrol(&app, &f).await;
    let mut people = Vec::new();
    for i in 0..5 {
        let p = register(&app, &f, &format!("Samtidig {i}"), false).await;
        sign_up(&app, &f, p).await;
        people.push((p, true));
    }
    let (a, b) = tokio::join!(
        record(&app, &f.leader, f.sessions[0], &people),
        record(&app, &f.provider, f.sessions[0], &people)
    );
    for res in [&a, &b] {
        let codes = res.codes();
        assert!(codes.is_empty() || codes == ["CONFLICT"], "{}", res.body);
    }
    assert!(
        a.codes().is_empty() || b.codes().is_empty(),
        "one of them wins"
    );
    assert_eq!(attendance_rows(&app, f.sessions[0]).await, 5);
    for (p, _) in &people {
        assert_eq!(progress(&app, f.run, *p).await, (1, 2, false));
    }
    common::tallies::assert_service_counts(&app.db, f.run, [5, 0, 5, 5, 5]).await;
}

#[tokio::test]
async fn withdrawing_keeps_history_and_ends_completion() {
    let app = spawn_app().await;
    let f = fixture(&app, RunStatus::Running).await;
    enrol(&app, &f).await;
    let kari = register(&app, &f, "Kari Trekk", false).await;
    let part = sign_up(&app, &f, kari).await;
    record(&app, &f.leader, f.sessions[0], &[(kari, true)])
        .await
        .data();
    record(&app, &f.leader, f.sessions[1], &[(kari, true)])
        .await
        .data();
    assert_eq!(progress(&app, f.run, kari).await, (2, 2, true));

    // Withdrawing the participation: kept, not completed.
    let withdraw = "mutation($id: ID!, $v: Int!) {
      withdrawParticipation(input: {id: $id, version: $v}) { participation { status completed version } }
    }";
    let res = app
        .query_as(
            Some(&f.leader),
            withdraw,
            json!({ "id": part["id"], "v": 0 }),
        )
        .await;
    assert_error(&res, "CONFLICT", None);
    let res = app
        .query_as(
            Some(&f.leader),
            withdraw,
            json!({ "id": part["id"], "v": part["version"] }),
        )
        .await;
    let p = &res.data()["withdrawParticipation"]["participation"];
    assert_eq!(
        (&p["status"], &p["completed"]),
        (&json!("WITHDRAWN"), &json!(false))
    );
    assert_eq!(
        attendance_rows(&app, f.sessions[0]).await,
        1,
        "attendance stays"
    );
    // A withdrawn participant takes no attendance; signing up again does.
    let res = record(&app, &f.leader, f.sessions[0], &[(kari, true)]).await;
    assert_error(&res, "BAD_USER_INPUT", Some("input.entries.0.person"));
    let again = sign_up(&app, &f, kari).await;
    assert_eq!(
        (&again["status"], &again["completed"]),
        (&json!("ACTIVE"), &json!(true))
    );
    assert_eq!(again["id"], part["id"], "the same row");

    // Withdrawing the service withdraws its staff, and keeps both rows.
    let enrolment_row = enrolment::Entity::find()
        .filter(enrolment::Column::RunId.eq(f.run))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let res = app
        .query_as(
            Some(&f.provider),
            "mutation($id: ID!, $v: Int!) {
               withdrawEnrolment(input: {id: $id, version: $v}) {
                 enrolment { status } withdrawnParticipations
               } }",
            json!({ "id": gid("Enrolment", enrolment_row.id), "v": enrolment_row.version }),
        )
        .await;
    let out = &res.data()["withdrawEnrolment"];
    assert_eq!(out["enrolment"]["status"], "WITHDRAWN");
    assert_eq!(out["withdrawnParticipations"], 1);
    assert_eq!(progress(&app, f.run, kari).await, (2, 2, false));
    let row = enrolment::Entity::find_by_id(enrolment_row.id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, EnrolmentStatus::Withdrawn);
    assert!(row.withdrawn_on.is_some());
    // And it can enrol again on the same row.
    enrol(&app, &f).await;
    let rows: Vec<Uuid> = enrolment::Entity::find()
        .select_only()
        .column(enrolment::Column::Id)
        .filter(enrolment::Column::RunId.eq(f.run))
        .into_tuple()
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(rows, vec![enrolment_row.id]);
    // Withdrawn participations still count as participations, no longer
    // as completions.
    common::tallies::assert_service_counts(&app.db, f.run, [1, 0, 2, 2, 1]).await;
}

#[tokio::test]
async fn the_demo_seed_derives_completion() {
    let app = spawn_app().await;
    let completed = participation::Entity::find()
        .filter(participation::Column::Completed.eq(true))
        .count(&app.db)
        .await
        .unwrap();
    let with_sessions = participation::Entity::find()
        .filter(participation::Column::SessionsRequired.gt(0))
        .count(&app.db)
        .await
        .unwrap();
    assert!(with_sessions > 0);
    // The synthetic pattern misses about one session in six, so some
    // complete and some do not.
    assert!(
        completed > 0 && completed < with_sessions,
        "{completed} of {with_sessions}"
    );
}
