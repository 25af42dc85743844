//! The operations in `examples/` (the ones the README shows integrators)
//! run against the demo data without errors, in allow-list mode with
//! `examples/` as the list, so that the folder is also a working
//! allow-list. CI also generates TypeScript types from them and
//! `schema.graphql` and compiles those (`.ci/codegen`).

mod common;

use common::gid;

use std::collections::BTreeSet;
use std::path::Path;

use common::{TestApp, claims, spawn_app_with, test_settings, token};
use entity::enums::Role;
use serde_json::{Value, json};

fn example(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn role_token(sub: &str, f: impl FnOnce(&mut kompetanse::auth::token::Claims)) -> String {
    let mut c = claims(sub);
    f(&mut c);
    token(&c)
}

async fn run(app: &TestApp, name: &str, tok: Option<&str>, variables: Value) -> Value {
    let res = app.query_as(tok, &example(name), variables).await;
    assert!(res.body.get("errors").is_none(), "{name}: {}", res.body);
    res.body["data"].clone()
}

#[tokio::test]
async fn every_example_runs_against_the_demo_data() {
    let mut settings = test_settings();
    settings.http.allow_list = Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples"));
    let app = spawn_app_with(settings).await;
    let mut ran = BTreeSet::new();

    let data = run(&app, "catalogue.graphql", None, json!({})).await;
    assert!(data["programmes"]["totalCount"].as_i64().unwrap() >= 6);
    ran.insert("catalogue.graphql");

    let data = run(
        &app,
        "municipality.graphql",
        None,
        json!({ "number": "4020" }),
    )
    .await;
    assert_eq!(data["municipality"]["name"], "Midt-Telemark");
    ran.insert("municipality.graphql");

    assert_eq!(data["municipality"]["county"]["number"], "40");
    let hamar = common::service_id(&app.db, "hamar-barneverntjeneste").await;
    let data = run(
        &app,
        "node.graphql",
        None,
        json!({ "id": gid("Service", hamar) }),
    )
    .await;
    assert_eq!(data["node"]["__typename"], "Service");
    ran.insert("node.graphql");

    let data = run(
        &app,
        "session-attendance.graphql",
        None,
        json!({ "programme": "veiledning-av-fosterhjem-ved-utfordrende-atferd" }),
    )
    .await;
    assert!(data["sessions"]["totalCount"].as_i64().unwrap() > 0);
    ran.insert("session-attendance.graphql");

    let leader = role_token("example-leader", |c| {
        c.role = Some(Role::Leader);
        c.service_id = Some(hamar);
    });
    let data = run(&app, "leader-staff.graphql", Some(&leader), json!({})).await;
    let staff = &data["me"]["roles"][0]["service"]["staff"];
    assert!(staff["totalCount"].as_i64().unwrap() > 0, "{data}");
    ran.insert("leader-staff.graphql");

    let vfu = common::uuid_of::<entity::programme::Entity>(
        &app.db,
        entity::programme::Column::Slug,
        entity::programme::Column::Id,
        "veiledning-av-fosterhjem-ved-utfordrende-atferd",
    )
    .await;
    let data = run(
        &app,
        "statistics.graphql",
        None,
        json!({ "programme": gid("Programme", vfu) }),
    )
    .await;
    let rows = data["participationStats"].as_array().unwrap();
    assert!(!rows.is_empty(), "{data}");
    assert!(
        rows.iter()
            .all(|r| r["county"]["name"].is_string() || r["county"].is_null())
    );
    ran.insert("statistics.graphql");
    let data = run(
        &app,
        "coverage.graphql",
        None,
        json!({ "programme": gid("Programme", vfu) }),
    )
    .await;
    let reached = data["coverage"]["municipalitiesReached"].as_i64().unwrap();
    assert!(reached > 0 && reached < 357, "{data}");
    ran.insert("coverage.graphql");

    let funder_office = common::office_id(&app.db, "974761645").await;
    let funder = role_token("example-funder", |c| {
        c.role = Some(Role::Funder);
        c.funder_office_id = Some(funder_office);
    });
    let data = run(&app, "grant-totals.graphql", Some(&funder), json!({})).await;
    assert_eq!(data["grants"]["totalCount"], 2, "{data}");
    let rows = data["grantTotals"].as_array().unwrap();
    let sum: i64 = rows.iter().map(|r| r["grants"].as_i64().unwrap()).sum();
    assert_eq!(sum, 2);
    ran.insert("grant-totals.graphql");

    // Attendance needs an open run with a participant: set one up through
    // the API (the set-up operations are not examples, so this part runs
    // on a second server without the allow-list).
    let open = common::spawn_app().await;
    let nubu = common::provider_id(&open.db, "nubu").await;
    let provider = role_token("example-provider", |c| {
        c.role = Some(Role::Provider);
        c.provider_id = Some(nubu);
    });
    let programme = open
        .data("{ programme(slug: \"veiledning-av-fosterhjem-ved-utfordrende-atferd\") { id } }")
        .await["programme"]["id"]
        .clone();
    let setup = |q: &'static str, tok: String, vars: Value| {
        let open = &open;
        async move {
            let res = open.query_as(Some(&tok), q, vars).await;
            res.data().clone()
        }
    };
    let run_id = setup(
        "mutation($p: ID!) { createRun(input: { programme: $p, title: \"Eksempelkull\" }) { run { id } } }",
        provider.clone(),
        json!({ "p": programme }),
    )
    .await["createRun"]["run"]["id"]
        .clone();
    let session = setup(
        "mutation($r: ID!) { createSession(input: { run: $r, title: \"Fagdag\", kind: TEACHING_DAY }) { session { id } } }",
        provider.clone(),
        json!({ "r": run_id }),
    )
    .await["createSession"]["session"]["id"]
        .clone();
    setup(
        "mutation($r: ID!, $s: ID!) { enrolService(input: { run: $r, service: $s }) { enrolment { id } } }",
        leader.clone(),
        json!({ "r": run_id, "s": gid("Service", hamar) }),
    )
    .await;
    let person = setup(
        "mutation($s: ID!) { registerPerson(input: { service: $s, name: \"Eksempel Person\" }) { person { id } } }",
        leader.clone(),
        json!({ "s": gid("Service", hamar) }),
    )
    .await["registerPerson"]["person"]["id"]
        .clone();
    setup(
        "mutation($r: ID!, $p: ID!) { signUp(input: { run: $r, person: $p }) { participation { id } } }",
        leader.clone(),
        json!({ "r": run_id, "p": person }),
    )
    .await;
    let data = run(
        &app,
        "record-attendance.graphql",
        Some(&leader),
        json!({ "session": session, "entries": [{ "person": person, "present": true }] }),
    )
    .await;
    assert_eq!(data["recordAttendance"]["created"], 1);
    ran.insert("record-attendance.graphql");

    // Every example is covered here.
    let all: BTreeSet<String> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples"))
            .unwrap()
            .filter_map(|e| {
                let name = e.unwrap().file_name().into_string().unwrap();
                name.ends_with(".graphql").then_some(name)
            })
            .collect();
    let ran: BTreeSet<String> = ran.into_iter().map(str::to_owned).collect();
    assert_eq!(all, ran, "add new examples to this test");
}
