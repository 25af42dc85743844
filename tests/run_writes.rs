//! Runs and sessions written through the API: who may (ADMIN and the
//! programme's providers), validation with field names, the run's status
//! rules, optimistic locking, the audit log, and completion that follows
//! the sessions.

mod common;

use common::gid;

use std::collections::HashMap;

use common::{GqlResponse, TestApp, claims, spawn_app, token};
use entity::enums::{ParticipationRole, ParticipationStatus, Role};
use entity::{attendance, participation, person, programme, programme_run, session};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::{Value, json};
use uuid::Uuid;

const NUBU_PROGRAMME: &str = "veiledning-av-fosterhjem-ved-utfordrende-atferd";
const RVTS_SOR_PROGRAMME: &str = "deltakende-fellesskap-og-psykisk-helse";

fn key_of(global: &Value) -> Uuid {
    let (_, key) = kompetanse::graphql::id::decode(global.as_str().expect("id"), "id").unwrap();
    key
}

const RUN_FIELDS: &str = "id version title status year startsOn endsOn period notes \
    network { slug } programme { slug } sessions { id position title }";
const SESSION_FIELDS: &str = "id version position title kind audience date startsAt period \
    durationMinutes place preWork reportedAttendance run { id }";

fn create_run_q() -> String {
    format!(
        "mutation($input: CreateRunInput!) {{ createRun(input: $input) {{ run {{ {RUN_FIELDS} }} }} }}"
    )
}
fn update_run_q() -> String {
    format!(
        "mutation($input: UpdateRunInput!) {{ updateRun(input: $input) {{ run {{ {RUN_FIELDS} }} }} }}"
    )
}
fn cancel_run_q() -> String {
    format!(
        "mutation($input: CancelRunInput!) {{ cancelRun(input: $input) {{ run {{ {RUN_FIELDS} }} }} }}"
    )
}
fn create_session_q() -> String {
    format!(
        "mutation($input: CreateSessionInput!) {{ createSession(input: $input) {{ session {{ {SESSION_FIELDS} }} }} }}"
    )
}
fn update_session_q() -> String {
    format!(
        "mutation($input: UpdateSessionInput!) {{ updateSession(input: $input) {{ session {{ {SESSION_FIELDS} }} }} }}"
    )
}
const DELETE_SESSION: &str = "mutation($input: DeleteSessionInput!) { deleteSession(input: $input) \
    { deletedId run { id sessions { id position } } } }";

/// Tokens for the roles around the programmes of the demo data.
struct Viewers {
    admin: String,
    nubu: String,
    rvts_sor: String,
    leader: String,
    staff: String,
    funder: String,
}

async fn viewers(app: &TestApp) -> Viewers {
    let provider = |slug: &'static str| async move {
        let mut c = claims(&format!("runs-{slug}"));
        c.role = Some(Role::Provider);
        c.provider_id = Some(common::provider_id(&app.db, slug).await);
        token(&c)
    };
    let mut admin = claims("runs-admin");
    admin.role = Some(Role::Admin);
    let hamar = common::service_id(&app.db, "hamar-barneverntjeneste").await;
    let mut leader = claims("runs-leader");
    leader.role = Some(Role::Leader);
    leader.service_id = Some(hamar);
    let mut staff = claims("runs-staff");
    staff.role = Some(Role::Staff);
    staff.person_id = Some(
        person::Entity::find()
            .filter(person::Column::ServiceId.eq(hamar))
            .one(&app.db)
            .await
            .unwrap()
            .expect("a person at Hamar")
            .id,
    );
    let mut funder = claims("runs-funder");
    funder.role = Some(Role::Funder);
    funder.funder_office_id = Some(common::office_id(&app.db, "974761645").await);
    Viewers {
        admin: token(&admin),
        nubu: provider("nubu").await,
        rvts_sor: provider("rvts-sor").await,
        leader: token(&leader),
        staff: token(&staff),
        funder: token(&funder),
    }
}

async fn programme_gid(app: &TestApp, slug: &str) -> String {
    let key = common::uuid_of::<programme::Entity>(
        &app.db,
        programme::Column::Slug,
        programme::Column::Id,
        slug,
    )
    .await;
    gid("Programme", key)
}

async fn call(app: &TestApp, token: Option<&str>, q: &str, input: Value) -> GqlResponse {
    app.query_as(token, q, json!({ "input": input })).await
}

/// The code and field of a refused call.
fn refusal(res: &GqlResponse) -> (String, String) {
    let err = res.first_error();
    (
        err["extensions"]["code"]
            .as_str()
            .unwrap_or("<none>")
            .to_owned(),
        err["extensions"]["field"].as_str().unwrap_or("").to_owned(),
    )
}

fn assert_bad(res: &GqlResponse, field: &str) {
    assert_eq!(
        refusal(res),
        ("BAD_USER_INPUT".to_owned(), field.to_owned()),
        "{}",
        res.body
    );
}

fn assert_code(res: &GqlResponse, code: &str) {
    assert_eq!(res.codes(), vec![code.to_owned()], "{}", res.body);
}

fn unique(prefix: &str) -> String {
    format!("{prefix} {}", Uuid::now_v7().simple())
}

/// Creates a run (as `token`) and returns it.
async fn new_run(app: &TestApp, token: &str, programme: &str, extra: Value) -> Value {
    let mut input =
        json!({ "programme": programme_gid(app, programme).await, "title": unique("Kull") });
    if let (Some(input), Some(extra)) = (input.as_object_mut(), extra.as_object()) {
        input.extend(extra.clone());
    }
    let res = call(app, Some(token), &create_run_q(), input).await;
    res.data()["createRun"]["run"].clone()
}

/// Creates a session (as `token`) and returns it.
async fn new_session(app: &TestApp, token: &str, run: &Value, extra: Value) -> Value {
    let mut input = json!({ "run": run["id"], "title": unique("Samling"), "kind": "COURSE_DAY" });
    if let (Some(input), Some(extra)) = (input.as_object_mut(), extra.as_object()) {
        input.extend(extra.clone());
    }
    let res = call(app, Some(token), &create_session_q(), input).await;
    res.data()["createSession"]["session"].clone()
}

async fn run_row(app: &TestApp, run: &Value) -> programme_run::Model {
    programme_run::Entity::find_by_id(key_of(&run["id"]))
        .one(&app.db)
        .await
        .unwrap()
        .expect("run row")
}

async fn session_row(app: &TestApp, s: &Value) -> Option<session::Model> {
    session::Entity::find_by_id(key_of(&s["id"]))
        .one(&app.db)
        .await
        .unwrap()
}

async fn audit_actions(app: &TestApp, admin: &str, entity: &Value) -> Vec<String> {
    let res = app
        .query_as(
            Some(admin),
            "query($id: ID!) { auditLog(filter: {entity: $id}) { nodes { action } } }",
            json!({ "id": entity }),
        )
        .await;
    res.data()["auditLog"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["action"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_provider_writes_runs_and_sessions_of_its_own_programme() {
    let app = spawn_app().await;
    let v = viewers(&app).await;
    let network = {
        let res = app
            .data("{ network(slug: \"laeringsnettverk-innlandet\") { id } }")
            .await;
        res["network"]["id"].clone()
    };
    let run = new_run(
        &app,
        &v.nubu,
        NUBU_PROGRAMME,
        json!({
            "network": network,
            "startsOn": "2026-09-01",
            "endsOn": "2027-06-30",
            "period": "  høsten 2026 – våren 2027 ",
            "notes": "Nytt kull."
        }),
    )
    .await;
    assert_eq!(run["status"], "PLANNED");
    assert_eq!(run["version"], 1);
    assert_eq!(run["year"], 2026, "the year defaults to the start's");
    assert_eq!(
        run["period"], "høsten 2026 – våren 2027",
        "texts are trimmed"
    );
    assert_eq!(run["network"]["slug"], "laeringsnettverk-innlandet");
    assert_eq!(run["programme"]["slug"], NUBU_PROGRAMME);

    let first = new_session(
        &app,
        &v.nubu,
        &run,
        json!({
            "kind": "PROFESSIONAL_DAY",
            "date": "2026-09-15",
            "startsAt": "2026-09-15T07:00:00Z",
            "durationMinutes": 360,
            "place": "Hamar",
            "preWork": "Les kapittel 1."
        }),
    )
    .await;
    assert_eq!(first["position"], 1);
    assert_eq!(first["audience"], "ALL_STAFF", "the default audience");
    assert_eq!(first["durationMinutes"], 360);
    assert!(first["reportedAttendance"].is_null());
    // Only a start: the day is taken from it (in Norwegian time).
    let second = new_session(
        &app,
        &v.nubu,
        &run,
        json!({ "audience": "LEADERS", "startsAt": "2026-10-01T22:30:00Z" }),
    )
    .await;
    assert_eq!(second["position"], 2);
    assert_eq!(second["date"], "2026-10-02");
    // Inserted in front: the others move down.
    let zeroth = new_session(&app, &v.nubu, &run, json!({ "position": 1 })).await;
    assert_eq!(zeroth["position"], 1);
    let order = |run: &Value| -> Vec<Value> {
        run["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].clone())
            .collect()
    };
    let listed = app
        .query_as(
            None,
            "query($id: ID!) { node(id: $id) { ... on ProgrammeRun { sessions { id position } } } }",
            json!({ "id": run["id"] }),
        )
        .await;
    assert_eq!(
        order(&listed.data()["node"]),
        vec![
            zeroth["id"].clone(),
            first["id"].clone(),
            second["id"].clone()
        ]
    );

    // Update the run and a session; move the last session to the front.
    let res = call(
        &app,
        Some(&v.nubu),
        &update_run_q(),
        json!({ "id": run["id"], "version": 1, "title": "Kull 2026", "network": null,
                "period": null, "status": "RUNNING" }),
    )
    .await;
    let updated = &res.data()["updateRun"]["run"];
    assert_eq!(updated["version"], 2);
    assert_eq!(updated["title"], "Kull 2026");
    assert_eq!(updated["status"], "RUNNING");
    assert!(updated["network"].is_null());
    assert!(updated["period"].is_null());
    assert_eq!(updated["notes"], "Nytt kull.", "left out = kept");
    let res = call(
        &app,
        Some(&v.nubu),
        &update_session_q(),
        json!({ "id": second["id"], "version": 1, "place": "digital", "durationMinutes": 180,
                "position": 1 }),
    )
    .await;
    let s = &res.data()["updateSession"]["session"];
    assert_eq!(s["version"], 2);
    assert_eq!(s["place"], "digital");
    assert_eq!(s["position"], 1);
    assert_eq!(s["date"], "2026-10-02");
    let listed = app
        .query_as(
            None,
            "query($id: ID!) { node(id: $id) { ... on ProgrammeRun { sessions { id position } } } }",
            json!({ "id": run["id"] }),
        )
        .await;
    assert_eq!(
        order(&listed.data()["node"]),
        vec![
            second["id"].clone(),
            zeroth["id"].clone(),
            first["id"].clone()
        ]
    );

    // Delete the middle one: the last moves up.
    let res = call(
        &app,
        Some(&v.nubu),
        DELETE_SESSION,
        json!({ "id": zeroth["id"], "version": 1 }),
    )
    .await;
    let payload = &res.data()["deleteSession"];
    assert_eq!(payload["deletedId"], zeroth["id"]);
    let positions: Vec<(Value, Value)> = payload["run"]["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["id"].clone(), s["position"].clone()))
        .collect();
    assert_eq!(
        positions,
        vec![
            (second["id"].clone(), json!(1)),
            (first["id"].clone(), json!(2))
        ]
    );
    assert!(session_row(&app, &zeroth).await.is_none());
    // The statistics tallies count the two sessions left.
    let tallied = common::tallies::assert_in_step(&app.db, run_row(&app, &run).await.id).await;
    let sessions: i64 = tallied
        .iter()
        .filter_map(|r| r.strip_prefix("kind "))
        .map(|r| r.rsplit(' ').next().unwrap().parse::<i64>().unwrap())
        .sum();
    assert_eq!(sessions, 2, "{tallied:?}");

    // The audit log has every change.
    assert_eq!(
        audit_actions(&app, &v.admin, &run["id"]).await,
        vec!["updateRun", "createRun"]
    );
    assert_eq!(
        audit_actions(&app, &v.admin, &second["id"]).await,
        vec!["updateSession", "createSession"]
    );
    assert_eq!(
        audit_actions(&app, &v.admin, &zeroth["id"]).await,
        vec!["deleteSession", "createSession"]
    );
}

#[tokio::test]
async fn only_admin_and_the_programmes_providers_may_write() {
    let app = spawn_app().await;
    let v = viewers(&app).await;
    let run = new_run(&app, &v.nubu, NUBU_PROGRAMME, json!({})).await;
    let s = new_session(&app, &v.nubu, &run, json!({})).await;
    let programme = programme_gid(&app, NUBU_PROGRAMME).await;

    let refused: [(Option<&str>, &str); 5] = [
        (None, "UNAUTHENTICATED"),
        (Some(&v.rvts_sor), "FORBIDDEN"),
        (Some(&v.leader), "FORBIDDEN"),
        (Some(&v.staff), "FORBIDDEN"),
        (Some(&v.funder), "FORBIDDEN"),
    ];
    for (who, code) in refused {
        let calls = [
            (
                create_run_q(),
                json!({ "programme": programme, "title": "Ikke tillatt" }),
            ),
            (
                update_run_q(),
                json!({ "id": run["id"], "version": 1, "title": "Ikke tillatt" }),
            ),
            (cancel_run_q(), json!({ "id": run["id"], "version": 1 })),
            (
                create_session_q(),
                json!({ "run": run["id"], "title": "Ikke tillatt", "kind": "OTHER" }),
            ),
            (
                update_session_q(),
                json!({ "id": s["id"], "version": 1, "title": "Ikke tillatt" }),
            ),
            (
                DELETE_SESSION.to_owned(),
                json!({ "id": s["id"], "version": 1 }),
            ),
        ];
        for (q, input) in calls {
            let res = call(&app, who, &q, input).await;
            assert_code(&res, code);
        }
    }
    // Nothing changed.
    let row = run_row(&app, &run).await;
    assert_eq!(
        (row.version, row.title.as_str()),
        (1, run["title"].as_str().unwrap())
    );
    let srow = session_row(&app, &s).await.expect("still there");
    assert_eq!(srow.version, 1);
    let runs_of_nubu_programme = programme_run::Entity::find()
        .filter(programme_run::Column::Title.eq("Ikke tillatt"))
        .all(&app.db)
        .await
        .unwrap();
    assert!(runs_of_nubu_programme.is_empty());

    // A provider may not create runs of another provider's programme.
    let res = call(
        &app,
        Some(&v.nubu),
        &create_run_q(),
        json!({ "programme": programme_gid(&app, RVTS_SOR_PROGRAMME).await, "title": "Ikke vårt" }),
    )
    .await;
    assert_code(&res, "FORBIDDEN");
    // RVTS Sør may on its own.
    let own = new_run(&app, &v.rvts_sor, RVTS_SOR_PROGRAMME, json!({})).await;
    assert_eq!(own["status"], "PLANNED");

    // ADMIN may everywhere, also for a programme without providers.
    let admins = new_run(
        &app,
        &v.admin,
        "menneskemotekompetanse-barnevern",
        json!({ "year": 2027 }),
    )
    .await;
    assert_eq!(admins["year"], 2027);
    let res = call(
        &app,
        Some(&v.admin),
        &update_session_q(),
        json!({ "id": s["id"], "version": 1, "kind": "TEACHING_DAY" }),
    )
    .await;
    assert_eq!(
        res.data()["updateSession"]["session"]["kind"],
        "TEACHING_DAY"
    );
    // The statistics tallies follow the new kind.
    let tallied = common::tallies::assert_in_step(&app.db, run_row(&app, &run).await.id).await;
    assert!(
        tallied.iter().any(|r| r.starts_with("kind TEACHING_DAY ")),
        "{tallied:?}"
    );

    // Unknown ids: NOT_FOUND for the object changed, BAD_USER_INPUT for
    // the one referred to.
    let ghost_run = gid("ProgrammeRun", Uuid::now_v7());
    let res = call(
        &app,
        Some(&v.admin),
        &update_run_q(),
        json!({ "id": ghost_run, "version": 1 }),
    )
    .await;
    assert_code(&res, "NOT_FOUND");
    let res = call(
        &app,
        Some(&v.admin),
        DELETE_SESSION,
        json!({ "id": gid("Session", Uuid::now_v7()), "version": 1 }),
    )
    .await;
    assert_code(&res, "NOT_FOUND");
    let res = call(
        &app,
        Some(&v.admin),
        &create_session_q(),
        json!({ "run": ghost_run, "title": "x", "kind": "OTHER" }),
    )
    .await;
    assert_bad(&res, "input.run");
}

#[tokio::test]
async fn invalid_input_names_its_field() {
    let app = spawn_app().await;
    let v = viewers(&app).await;
    let programme = programme_gid(&app, NUBU_PROGRAMME).await;
    let base = |extra: Value| {
        let mut input = json!({ "programme": programme, "title": "Kull" });
        input
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        input
    };
    let cases = [
        (json!({ "title": "  " }), "input.title"),
        (json!({ "title": "x".repeat(201) }), "input.title"),
        (
            json!({ "startsOn": "2026-09-01", "endsOn": "2026-08-31" }),
            "input.endsOn",
        ),
        (
            json!({ "year": 2025, "startsOn": "2026-09-01" }),
            "input.year",
        ),
        (json!({ "year": 1989 }), "input.year"),
        (json!({ "year": 2101 }), "input.year"),
        (json!({ "startsOn": "1900-01-01" }), "input.startsOn"),
        (json!({ "period": "p".repeat(201) }), "input.period"),
        (json!({ "notes": "n".repeat(10_001) }), "input.notes"),
        (json!({ "programme": "not an id" }), "input.programme"),
        (
            json!({ "programme": gid("Network", Uuid::now_v7()) }),
            "input.programme",
        ),
        (
            json!({ "programme": gid("Programme", Uuid::now_v7()) }),
            "input.programme",
        ),
        (
            json!({ "network": gid("Network", Uuid::now_v7()) }),
            "input.network",
        ),
    ];
    for (extra, field) in cases {
        let res = call(&app, Some(&v.nubu), &create_run_q(), base(extra.clone())).await;
        assert_bad(&res, field);
    }

    // Sessions against a dated run.
    let run = new_run(
        &app,
        &v.nubu,
        NUBU_PROGRAMME,
        json!({ "startsOn": "2026-09-01", "endsOn": "2026-12-31" }),
    )
    .await;
    let base = |extra: Value| {
        let mut input = json!({ "run": run["id"], "title": "Dag", "kind": "COURSE_DAY" });
        input
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        input
    };
    let cases = [
        (json!({ "title": "" }), "input.title"),
        (json!({ "title": "x".repeat(201) }), "input.title"),
        (json!({ "date": "2026-08-31" }), "input.date"),
        (json!({ "date": "2027-01-01" }), "input.date"),
        (
            json!({ "startsAt": "2027-01-01T09:00:00Z" }),
            "input.startsAt",
        ),
        (
            json!({ "date": "2026-09-02", "startsAt": "2026-09-01T09:00:00Z" }),
            "input.startsAt",
        ),
        (json!({ "durationMinutes": 0 }), "input.durationMinutes"),
        (json!({ "durationMinutes": 1441 }), "input.durationMinutes"),
        (json!({ "position": 0 }), "input.position"),
        (json!({ "position": 2 }), "input.position"),
        (json!({ "place": "p".repeat(201) }), "input.place"),
        (
            json!({ "run": gid("Programme", Uuid::now_v7()) }),
            "input.run",
        ),
    ];
    for (extra, field) in cases {
        let res = call(
            &app,
            Some(&v.nubu),
            &create_session_q(),
            base(extra.clone()),
        )
        .await;
        assert_bad(&res, field);
    }
    // The edges are inside; 00:30 Norwegian summer time is still that day.
    let s = new_session(
        &app,
        &v.nubu,
        &run,
        json!({ "date": "2026-09-01", "startsAt": "2026-08-31T22:30:00Z", "durationMinutes": 1440 }),
    )
    .await;
    let last = new_session(&app, &v.nubu, &run, json!({ "date": "2026-12-31" })).await;

    // Session updates.
    let cases = [
        (
            json!({ "date": "2027-01-01", "startsAt": null }),
            "input.date",
        ),
        (
            json!({ "date": "2027-01-01", "startsAt": "2027-01-01T09:00:00Z" }),
            "input.date",
        ),
        (json!({ "date": "2026-09-02" }), "input.startsAt"),
        (
            json!({ "startsAt": "2026-08-01T09:00:00Z" }),
            "input.startsAt",
        ),
        (json!({ "date": null }), "input.date"),
        (json!({ "durationMinutes": -5 }), "input.durationMinutes"),
        (json!({ "title": " " }), "input.title"),
        (json!({ "position": 3 }), "input.position"),
        (json!({ "preWork": "p".repeat(10_001) }), "input.preWork"),
    ];
    for (extra, field) in cases {
        let mut input = json!({ "id": s["id"], "version": 1 });
        input
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let res = call(&app, Some(&v.nubu), &update_session_q(), input).await;
        assert_bad(&res, field);
    }
    // A new start moves the day along when the day is left out.
    let res = call(
        &app,
        Some(&v.nubu),
        &update_session_q(),
        json!({ "id": s["id"], "version": 1, "startsAt": "2026-09-03T08:00:00Z" }),
    )
    .await;
    assert_eq!(res.data()["updateSession"]["session"]["date"], "2026-09-03");

    // Run updates: dates must keep the sessions inside, names the session.
    let rid = &run["id"];
    let res = call(
        &app,
        Some(&v.nubu),
        &update_run_q(),
        json!({ "id": rid, "version": 1, "startsOn": "2026-09-04" }),
    )
    .await;
    assert_bad(&res, "input.startsOn");
    let message = res.first_error()["message"].as_str().unwrap();
    assert!(message.contains(s["title"].as_str().unwrap()), "{message}");
    let res = call(
        &app,
        Some(&v.nubu),
        &update_run_q(),
        json!({ "id": rid, "version": 1, "endsOn": "2026-12-30" }),
    )
    .await;
    assert_bad(&res, "input.endsOn");
    let message = res.first_error()["message"].as_str().unwrap();
    assert!(
        message.contains(last["title"].as_str().unwrap()),
        "{message}"
    );
    let cases = [
        (json!({ "endsOn": "2026-08-01" }), "input.endsOn"),
        (json!({ "startsOn": "2027-02-01" }), "input.startsOn"),
        (json!({ "year": 2027 }), "input.year"),
        (json!({ "year": 3000 }), "input.year"),
        (json!({ "title": "" }), "input.title"),
        (json!({ "status": "COMPLETED" }), "input.status"),
        (json!({ "status": "CANCELLED" }), "input.status"),
        (
            json!({ "network": gid("Network", Uuid::now_v7()) }),
            "input.network",
        ),
        (json!({ "id": "garbage" }), "input.id"),
    ];
    for (extra, field) in cases {
        let mut input = json!({ "id": rid, "version": 1 });
        input
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let res = call(&app, Some(&v.nubu), &update_run_q(), input).await;
        assert_bad(&res, field);
    }
    assert_eq!(run_row(&app, &run).await.version, 1, "nothing changed");

    // Widening works, and a new start moves the year along.
    let res = call(
        &app,
        Some(&v.nubu),
        &update_run_q(),
        json!({ "id": rid, "version": 1, "startsOn": "2025-12-01", "endsOn": null }),
    )
    .await;
    let r = &res.data()["updateRun"]["run"];
    assert_eq!(
        (r["year"].clone(), r["endsOn"].clone()),
        (json!(2025), Value::Null)
    );
}

#[tokio::test]
async fn status_moves_forward_and_ends_in_history() {
    let app = spawn_app().await;
    let v = viewers(&app).await;
    let run = new_run(&app, &v.nubu, NUBU_PROGRAMME, json!({})).await;
    let s = new_session(&app, &v.nubu, &run, json!({})).await;
    let rid = &run["id"];
    let res = call(
        &app,
        Some(&v.nubu),
        &update_run_q(),
        json!({ "id": rid, "version": 1, "status": "RUNNING" }),
    )
    .await;
    assert_eq!(res.data()["updateRun"]["run"]["status"], "RUNNING");
    let res = call(
        &app,
        Some(&v.nubu),
        &update_run_q(),
        json!({ "id": rid, "version": 2, "status": "PLANNED" }),
    )
    .await;
    assert_bad(&res, "input.status");
    let res = call(
        &app,
        Some(&v.nubu),
        &update_run_q(),
        json!({ "id": rid, "version": 2, "status": "COMPLETED" }),
    )
    .await;
    assert_eq!(res.data()["updateRun"]["run"]["status"], "COMPLETED");

    // A completed run takes no more changes.
    let res = call(
        &app,
        Some(&v.nubu),
        &update_run_q(),
        json!({ "id": rid, "version": 3, "title": "Etterpå" }),
    )
    .await;
    assert_bad(&res, "input.id");
    let res = call(
        &app,
        Some(&v.nubu),
        &cancel_run_q(),
        json!({ "id": rid, "version": 3 }),
    )
    .await;
    assert_bad(&res, "input.id");
    let res = call(
        &app,
        Some(&v.nubu),
        &create_session_q(),
        json!({ "run": rid, "title": "Etterpå", "kind": "OTHER" }),
    )
    .await;
    assert_bad(&res, "input.run");
    let res = call(
        &app,
        Some(&v.nubu),
        &update_session_q(),
        json!({ "id": s["id"], "version": 1, "title": "Etterpå" }),
    )
    .await;
    assert_bad(&res, "input.id");
    assert_eq!(run_row(&app, &run).await.version, 3);
}

#[tokio::test]
async fn a_cancelled_run_keeps_its_history_and_refuses_writes() {
    let app = spawn_app().await;
    let v = viewers(&app).await;
    let run = new_run(
        &app,
        &v.nubu,
        NUBU_PROGRAMME,
        json!({ "notes": "Planlagt." }),
    )
    .await;
    let s = new_session(&app, &v.nubu, &run, json!({})).await;
    let rid = &run["id"];
    let res = call(
        &app,
        Some(&v.nubu),
        &cancel_run_q(),
        json!({ "id": rid, "version": 1, "reason": "For få påmeldte." }),
    )
    .await;
    let r = &res.data()["cancelRun"]["run"];
    assert_eq!(r["status"], "CANCELLED");
    assert_eq!(r["version"], 2);
    let notes = r["notes"].as_str().unwrap();
    assert!(notes.starts_with("Planlagt.\n\n"), "{notes}");
    assert!(notes.ends_with("For få påmeldte."), "{notes}");
    assert_eq!(
        r["sessions"].as_array().unwrap().len(),
        1,
        "sessions are kept"
    );

    for (q, input, field) in [
        (
            update_run_q(),
            json!({ "id": rid, "version": 2, "title": "Likevel" }),
            "input.id",
        ),
        (
            update_run_q(),
            json!({ "id": rid, "version": 2, "status": "RUNNING" }),
            "input.id",
        ),
        (
            cancel_run_q(),
            json!({ "id": rid, "version": 2 }),
            "input.id",
        ),
        (
            create_session_q(),
            json!({ "run": rid, "title": "Likevel", "kind": "OTHER" }),
            "input.run",
        ),
        (
            update_session_q(),
            json!({ "id": s["id"], "version": 1, "title": "Likevel" }),
            "input.id",
        ),
        (
            DELETE_SESSION.to_owned(),
            json!({ "id": s["id"], "version": 1 }),
            "input.id",
        ),
    ] {
        let res = call(&app, Some(&v.admin), &q, input).await;
        assert_bad(&res, field);
    }
    let row = run_row(&app, &run).await;
    assert_eq!(row.version, 2);
    assert!(session_row(&app, &s).await.is_some());
    assert_eq!(
        audit_actions(&app, &v.admin, rid).await,
        vec!["cancelRun", "createRun"]
    );
}

#[tokio::test]
async fn a_stale_version_is_conflict_and_changes_nothing() {
    let app = spawn_app().await;
    let v = viewers(&app).await;
    let run = new_run(&app, &v.nubu, NUBU_PROGRAMME, json!({})).await;
    let s = new_session(&app, &v.nubu, &run, json!({})).await;
    let rid = &run["id"];
    let res = call(
        &app,
        Some(&v.nubu),
        &update_run_q(),
        json!({ "id": rid, "version": 1, "title": "Ny tittel" }),
    )
    .await;
    res.data();
    for (q, input) in [
        (
            update_run_q(),
            json!({ "id": rid, "version": 1, "title": "Gammel" }),
        ),
        (cancel_run_q(), json!({ "id": rid, "version": 1 })),
    ] {
        let res = call(&app, Some(&v.nubu), &q, input).await;
        assert_code(&res, "CONFLICT");
    }
    let row = run_row(&app, &run).await;
    assert_eq!(
        (row.version, row.title.as_str(), row.status.as_str()),
        (2, "Ny tittel", "PLANNED")
    );

    let res = call(
        &app,
        Some(&v.nubu),
        &update_session_q(),
        json!({ "id": s["id"], "version": 1, "title": "Ny" }),
    )
    .await;
    res.data();
    for (q, input) in [
        (
            update_session_q(),
            json!({ "id": s["id"], "version": 1, "title": "Gammel" }),
        ),
        (
            DELETE_SESSION.to_owned(),
            json!({ "id": s["id"], "version": 1 }),
        ),
    ] {
        let res = call(&app, Some(&v.nubu), &q, input).await;
        assert_code(&res, "CONFLICT");
    }
    let srow = session_row(&app, &s).await.expect("not deleted");
    assert_eq!((srow.version, srow.title.as_str()), (2, "Ny"));
}

#[tokio::test]
async fn of_two_concurrent_updates_one_wins() {
    let app = spawn_app().await;
    let v = viewers(&app).await;
    let run = new_run(&app, &v.nubu, NUBU_PROGRAMME, json!({})).await;
    let s = new_session(&app, &v.nubu, &run, json!({})).await;
    let q = update_run_q();
    let (a, b) = tokio::join!(
        call(
            &app,
            Some(&v.nubu),
            &q,
            json!({ "id": run["id"], "version": 1, "title": "A" })
        ),
        call(
            &app,
            Some(&v.admin),
            &q,
            json!({ "id": run["id"], "version": 1, "title": "B" })
        ),
    );
    let mut codes = [a.codes(), b.codes()];
    codes.sort();
    assert_eq!(
        codes,
        [vec![], vec!["CONFLICT".to_owned()]],
        "{} / {}",
        a.body,
        b.body
    );
    let winner = if a.codes().is_empty() { "A" } else { "B" };
    let row = run_row(&app, &run).await;
    assert_eq!((row.version, row.title.as_str()), (2, winner));

    let q = update_session_q();
    let (a, b) = tokio::join!(
        call(
            &app,
            Some(&v.nubu),
            &q,
            json!({ "id": s["id"], "version": 1, "place": "Hamar" })
        ),
        call(
            &app,
            Some(&v.nubu),
            &q,
            json!({ "id": s["id"], "version": 1, "place": "Elverum" })
        ),
    );
    let mut codes = [a.codes(), b.codes()];
    codes.sort();
    assert_eq!(
        codes,
        [vec![], vec!["CONFLICT".to_owned()]],
        "{} / {}",
        a.body,
        b.body
    );
    let srow = session_row(&app, &s).await.unwrap();
    assert_eq!(srow.version, 2);
}

#[tokio::test]
async fn a_session_with_attendance_cannot_be_deleted() {
    let app = spawn_app().await;
    let v = viewers(&app).await;
    let run = new_run(&app, &v.nubu, NUBU_PROGRAMME, json!({})).await;
    let s = new_session(&app, &v.nubu, &run, json!({})).await;
    let someone = person::Entity::find().one(&app.db).await.unwrap().unwrap();
    let now = chrono::Utc::now();
    attendance::ActiveModel {
        id: Set(Uuid::now_v7()),
        session_id: Set(key_of(&s["id"])),
        person_id: Set(someone.id),
        present: Set(true),
        synthetic: Set(false),
        recorded_at: Set(now),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&app.db)
    .await
    .unwrap();
    let res = call(
        &app,
        Some(&v.nubu),
        DELETE_SESSION,
        json!({ "id": s["id"], "version": 1 }),
    )
    .await;
    assert_bad(&res, "input.id");
    assert!(
        res.first_error()["message"]
            .as_str()
            .unwrap()
            .starts_with("attendance is recorded"),
        "{}",
        res.body
    );
    assert!(session_row(&app, &s).await.is_some());
    assert_eq!(
        audit_actions(&app, &v.admin, &s["id"]).await,
        vec!["createSession"]
    );
}

/// Sessions required per participation of a run.
async fn required(app: &TestApp, run: Uuid) -> HashMap<Uuid, (ParticipationRole, i32)> {
    participation::Entity::find()
        .filter(participation::Column::RunId.eq(run))
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|p| (p.id, (p.role, p.sessions_required)))
        .collect()
}

#[tokio::test]
async fn sessions_change_what_participants_must_attend() {
    let app = spawn_app().await;
    let v = viewers(&app).await;
    // The demo runs with participants are COMPLETED (history), so a fresh
    // run gets some of their people: two leaders and three staff.
    let run_json = new_run(&app, &v.nubu, NUBU_PROGRAMME, json!({})).await;
    let run = run_row(&app, &run_json).await;
    let people = person::Entity::find()
        .filter(person::Column::Synthetic.eq(true))
        .all(&app.db)
        .await
        .unwrap();
    let leaders = people.iter().filter(|p| p.is_leader).take(2);
    let staff = people.iter().filter(|p| !p.is_leader).take(3);
    let now = chrono::Utc::now();
    for (p, role) in leaders
        .map(|p| (p, ParticipationRole::Leader))
        .chain(staff.map(|p| (p, ParticipationRole::Staff)))
    {
        participation::ActiveModel {
            id: Set(Uuid::now_v7()),
            person_id: Set(p.id),
            run_id: Set(run.id),
            role: Set(role),
            status: Set(ParticipationStatus::Active),
            synthetic: Set(true),
            sessions_attended: Set(0),
            sessions_required: Set(0),
            completed: Set(false),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&app.db)
        .await
        .unwrap();
    }
    let before = required(&app, run.id).await;
    assert!(!before.is_empty(), "the run has participants");
    assert!(
        before
            .values()
            .any(|(r, _)| *r == ParticipationRole::Leader)
            && before.values().any(|(r, _)| *r == ParticipationRole::Staff),
        "leaders and staff take part"
    );
    let changed_by = |after: &HashMap<Uuid, (ParticipationRole, i32)>, staff: i32, leaders: i32| {
        for (id, (role, n)) in &before {
            let expected = n + if *role == ParticipationRole::Leader {
                leaders
            } else {
                staff
            };
            assert_eq!(after[id].1, expected, "{role:?}");
        }
    };

    let all = new_session(
        &app,
        &v.admin,
        &run_json,
        json!({ "audience": "ALL_STAFF" }),
    )
    .await;
    changed_by(&required(&app, run.id).await, 1, 1);
    let leaders = new_session(&app, &v.admin, &run_json, json!({ "audience": "LEADERS" })).await;
    changed_by(&required(&app, run.id).await, 1, 2);
    let res = call(
        &app,
        Some(&v.admin),
        &update_session_q(),
        json!({ "id": leaders["id"], "version": 1, "audience": "ALL_STAFF" }),
    )
    .await;
    res.data();
    changed_by(&required(&app, run.id).await, 2, 2);
    for s in [&all, &leaders] {
        let version = session_row(&app, s).await.unwrap().version;
        let res = call(
            &app,
            Some(&v.admin),
            DELETE_SESSION,
            json!({ "id": s["id"], "version": version }),
        )
        .await;
        res.data();
    }
    changed_by(&required(&app, run.id).await, 0, 0);
}

const SESSION_PAGE: &str = "query($run: ID!, $dir: OrderDirection!, $after: String, \
    $before: String, $first: Int, $last: Int) { sessions(filter: { run: $run }, \
    orderBy: { field: DATE, direction: $dir }, after: $after, before: $before, first: $first, \
    last: $last) { totalCount pageInfo { hasPreviousPage hasNextPage startCursor endCursor } \
    nodes { title } } }";

/// One page of the sessions of `run`, newest first: titles, hasPreviousPage,
/// hasNextPage, startCursor, endCursor and totalCount.
async fn session_page(app: &TestApp, run: &Value, args: Value) -> (Vec<String>, bool, bool, Value) {
    let mut vars = json!({ "run": run["id"], "dir": "DESC" });
    if let (Some(vars), Some(args)) = (vars.as_object_mut(), args.as_object()) {
        vars.extend(args.clone());
    }
    let res = app.query(SESSION_PAGE, vars).await;
    let conn = res.data()["sessions"].clone();
    let titles = conn["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["title"].as_str().unwrap().to_owned())
        .collect();
    let info = &conn["pageInfo"];
    (
        titles,
        info["hasPreviousPage"].as_bool().unwrap(),
        info["hasNextPage"].as_bool().unwrap(),
        json!({ "start": info["startCursor"], "end": info["endCursor"], "total": conn["totalCount"] }),
    )
}

/// Keyset cursors: a client paging through a list while others insert and
/// delete rows neither skips nor repeats a row, also when the cursor's own
/// row is deleted, forwards and backwards, in a descending order whose
/// column may be empty.
#[tokio::test]
async fn cursors_hold_their_place_while_sessions_come_and_go() {
    let app = spawn_app().await;
    let v = viewers(&app).await;
    let run = new_run(&app, &v.nubu, NUBU_PROGRAMME, json!({})).await;
    let mut sessions = HashMap::new();
    for (title, date) in [
        ("d02", json!("2027-03-02")),
        ("d04", json!("2027-03-04")),
        ("d06", json!("2027-03-06")),
        ("d08", json!("2027-03-08")),
        ("u1", Value::Null),
        ("u2", Value::Null),
    ] {
        let s = new_session(&app, &v.nubu, &run, json!({ "title": title, "date": date })).await;
        sessions.insert(title, s);
    }

    let (page1, prev, next, c1) = session_page(&app, &run, json!({ "first": 2 })).await;
    assert_eq!(
        (page1, prev, next),
        (vec!["d08".into(), "d06".into()], false, true)
    );
    assert_eq!(c1["total"], 6);

    // Meanwhile: a session before the cursor, one after it, and the
    // cursor's own row is deleted.
    for (title, date) in [("d09", "2027-03-09"), ("d05", "2027-03-05")] {
        let s = new_session(&app, &v.nubu, &run, json!({ "title": title, "date": date })).await;
        sessions.insert(title, s);
    }
    let d06 = &sessions["d06"];
    let res = call(
        &app,
        Some(&v.nubu),
        DELETE_SESSION,
        json!({ "id": d06["id"], "version": d06["version"] }),
    )
    .await;
    res.data();

    let (page2, prev, next, c2) =
        session_page(&app, &run, json!({ "first": 2, "after": c1["end"] })).await;
    assert_eq!(
        (page2, prev, next),
        (vec!["d05".into(), "d04".into()], true, true)
    );
    assert_eq!(c2["total"], 7);
    let (page3, _, next, c3) =
        session_page(&app, &run, json!({ "first": 2, "after": c2["end"] })).await;
    assert_eq!((page3, next), (vec!["d02".into(), "u1".into()], true));
    let (page4, _, next, c4) =
        session_page(&app, &run, json!({ "first": 2, "after": c3["end"] })).await;
    assert_eq!((page4, next), (vec!["u2".into()], false));

    // Backwards from the end, and from a cursor.
    let (last, prev, next, _) = session_page(&app, &run, json!({ "last": 3 })).await;
    assert_eq!(
        (last, prev, next),
        (vec!["d02".into(), "u1".into(), "u2".into()], true, false)
    );
    let (before, prev, next, _) =
        session_page(&app, &run, json!({ "last": 2, "before": c4["start"] })).await;
    assert_eq!(
        (before, prev, next),
        (vec!["d02".into(), "u1".into()], true, true)
    );
    let (before, prev, next, _) =
        session_page(&app, &run, json!({ "last": 5, "before": c2["start"] })).await;
    assert_eq!(
        (before, prev, next),
        (vec!["d09".into(), "d08".into()], false, true)
    );
    // Between two cursors.
    let (between, prev, next, _) = session_page(
        &app,
        &run,
        json!({ "first": 10, "after": c1["start"], "before": c3["end"] }),
    )
    .await;
    assert_eq!(
        (between, prev, next),
        (vec!["d05".into(), "d04".into(), "d02".into()], true, true)
    );
}

/// A cursor is only good for the list and order it came from; a forged
/// one is BAD_USER_INPUT naming the argument, never an internal error.
#[tokio::test]
async fn cursors_of_other_lists_orders_or_forged_are_refused() {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    let app = spawn_app().await;
    let v = viewers(&app).await;
    let run = new_run(&app, &v.nubu, NUBU_PROGRAMME, json!({})).await;
    for date in ["2027-04-01", "2027-04-02"] {
        new_session(&app, &v.nubu, &run, json!({ "date": date })).await;
    }
    let (_, _, _, c) = session_page(&app, &run, json!({ "first": 1 })).await;
    let cursor = c["end"].as_str().unwrap().to_owned();
    let decoded: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&cursor).unwrap()).unwrap();
    let forge = |f: &dyn Fn(&mut Value)| {
        let mut v = decoded.clone();
        f(&mut v);
        URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let county_cursor = app
        .data("{ counties(first: 1) { pageInfo { endCursor } } }")
        .await["counties"]["pageInfo"]["endCursor"]
        .clone();
    let forged = [
        forge(&|v| v["k"][0] = json!("not a date")),
        forge(&|v| v["k"][0] = json!(20270401)),
        forge(&|v| v["k"][2] = json!(99_999_999_999_i64)),
        forge(&|v| v["k"][3] = json!("\u{0}")),
        forge(&|v| v["k"] = json!([])),
        forge(&|v| v["o"] = json!("id:asc")),
        forge(&|v| v["x"] = json!(1)),
        county_cursor.as_str().unwrap().to_owned(),
        "\u{0}".into(),
        URL_SAFE_NO_PAD.encode([0xff, 0xfe, 0x00]),
    ];
    for bad in forged {
        for arg in ["after", "before"] {
            let res = app
                .query(
                    SESSION_PAGE,
                    json!({ "run": run["id"], "dir": "DESC", arg: bad, "first": 1 }),
                )
                .await;
            // A NUL byte is refused before the resolver, naming the variable.
            let (code, field) = refusal(&res);
            assert_eq!(code, "BAD_USER_INPUT", "{}", res.body);
            assert!(field == arg || field == format!("${arg}"), "{}", res.body);
        }
    }
    // The same list in the other direction is another order.
    let res = app
        .query(
            SESSION_PAGE,
            json!({ "run": run["id"], "dir": "ASC", "after": cursor, "first": 1 }),
        )
        .await;
    assert_bad(&res, "after");
    assert!(
        res.first_error()["message"]
            .as_str()
            .unwrap()
            .contains("another order"),
        "{}",
        res.body
    );
    // The untouched cursor still works.
    let (page, _, _, _) = session_page(&app, &run, json!({ "first": 1, "after": cursor })).await;
    assert_eq!(page.len(), 1);
}

/// Nested connections (a programme's runs) page by keys too: a run added
/// before the cursor while paging does not repeat the cursor's page.
#[tokio::test]
async fn nested_cursors_hold_their_place_while_runs_are_added() {
    let app = spawn_app().await;
    let v = viewers(&app).await;
    let slug = format!("keyset-{}", &Uuid::now_v7().simple().to_string()[20..]);
    let res = call(
        &app,
        Some(&v.admin),
        "mutation($input: CreateProgrammeInput!) { createProgramme(input: $input) { programme { id } } }",
        json!({ "slug": slug, "name": "Keyset paging" }),
    )
    .await;
    let programme = res.data()["createProgramme"]["programme"]["id"].clone();
    let create = |title: &'static str, year: Option<i32>| {
        let app = &app;
        let admin = v.admin.clone();
        let programme = programme.clone();
        async move {
            let res = call(
                app,
                Some(&admin),
                &create_run_q(),
                json!({ "programme": programme, "title": title, "year": year }),
            )
            .await;
            res.data();
        }
    };
    for (title, year) in [
        ("r2024", Some(2024)),
        ("r2026", Some(2026)),
        ("rnone", None),
    ] {
        create(title, year).await;
    }
    let q = "query($slug: String!, $after: String) { programme(slug: $slug) { runs(first: 1, after: $after) { \
        totalCount pageInfo { hasNextPage endCursor } nodes { title } } } }";
    let page = |after: Value| {
        let app = &app;
        let slug = slug.clone();
        async move {
            let res = app.query(q, json!({ "slug": slug, "after": after })).await;
            res.data()["programme"]["runs"].clone()
        }
    };
    let p1 = page(Value::Null).await;
    assert_eq!(p1["nodes"][0]["title"], "r2024");
    create("r2020", Some(2020)).await;
    create("r2025", Some(2025)).await;
    let mut seen = vec![p1["nodes"][0]["title"].as_str().unwrap().to_owned()];
    let mut after = p1["pageInfo"]["endCursor"].clone();
    loop {
        let p = page(after).await;
        seen.push(p["nodes"][0]["title"].as_str().unwrap().to_owned());
        if p["pageInfo"]["hasNextPage"] == false {
            assert_eq!(p["totalCount"], 5);
            break;
        }
        after = p["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(seen, ["r2024", "r2025", "r2026", "rnone"]);
}
