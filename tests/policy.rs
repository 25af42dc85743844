//! The access policy against the loaders and against every path to
//! attendance: each table is classified, every loader of a guarded table
//! carries its rule (a viewer without rights gets nothing through any of
//! them), and a provider sees attendance in its own runs only, however it
//! asks. The tests write rows of their own, so they have a database (this
//! binary's) to themselves.

mod common;

use std::collections::BTreeSet;

use common::{TestApp, claims, gid, spawn_app, token};
use entity::enums::{Role, RunStatus, SessionKind};
use entity::{attendance, person, programme_provider, programme_run, session};
use kompetanse::auth::policy::rows::{GUARDED_TABLES, PUBLIC_TABLES, UNLOADED_TABLES};
use kompetanse::auth::policy::{self, Exposure};
use kompetanse::auth::{Scope, Viewer};
use kompetanse::graphql::loaders::{Loaders, Serves};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    QueryFilter, QuerySelect, Set, Statement,
};
use serde_json::{Value, json};
use uuid::Uuid;

/// Viewers without rights on anything: no token, a subject without roles,
/// and each role scoped to something that does not exist.
fn viewers_without_rights() -> Vec<(&'static str, Viewer)> {
    let nowhere = Uuid::now_v7();
    vec![
        ("anonymous", Viewer::anonymous()),
        ("no roles", Viewer::new("nobody", vec![])),
        (
            "staff of nobody",
            Viewer::new("s", vec![Scope::Staff { person_id: nowhere }]),
        ),
        (
            "leader of no service",
            Viewer::new(
                "l",
                vec![Scope::Leader {
                    service_id: nowhere,
                }],
            ),
        ),
        (
            "provider of nothing",
            Viewer::new(
                "p",
                vec![Scope::Provider {
                    provider_id: nowhere,
                }],
            ),
        ),
        (
            "funder of no office",
            Viewer::new(
                "f",
                vec![Scope::Funder {
                    funder_office_id: nowhere,
                }],
            ),
        ),
    ]
}

fn admin() -> Viewer {
    Viewer::new("admin", vec![Scope::Admin])
}

/// Every table and view of the migrated schema (but the migrations' own).
async fn schema_tables(db: &DatabaseConnection) -> BTreeSet<String> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%'"
        }
        _ => {
            "SELECT CAST(table_name AS TEXT) AS name FROM information_schema.tables WHERE table_schema = current_schema()"
        }
    };
    db.query_all_raw(Statement::from_string(backend, sql))
        .await
        .unwrap()
        .into_iter()
        .map(|row| row.try_get::<String>("", "name").unwrap())
        .filter(|name| name != "seaql_migrations")
        .collect()
}

/// The distinct values of `column` in `table` (the keys a loader matched
/// against that column may be asked for).
async fn keys_of(db: &DatabaseConnection, table: &str, column: &str) -> Vec<Uuid> {
    let stmt = Query::select()
        .distinct()
        .expr_as(Expr::col(Alias::new(column)), Alias::new("k"))
        .from(Alias::new(table))
        .and_where(Expr::col(Alias::new(column)).is_not_null())
        .to_owned();
    db.query_all(&stmt)
        .await
        .unwrap()
        .into_iter()
        .map(|row| row.try_get::<Uuid>("", "k").unwrap())
        .collect()
}

fn admin_token() -> String {
    let mut c = claims("policy-admin");
    c.role = Some(Role::Admin);
    token(&c)
}

#[tokio::test]
async fn every_table_is_classified_once() {
    let app = spawn_app().await;
    let classified: Vec<&str> = PUBLIC_TABLES
        .iter()
        .chain(GUARDED_TABLES)
        .chain(UNLOADED_TABLES)
        .copied()
        .collect();
    let set: BTreeSet<String> = classified.iter().map(|t| (*t).to_owned()).collect();
    assert_eq!(set.len(), classified.len(), "a table is classified twice");
    assert_eq!(
        schema_tables(&app.db).await,
        set,
        "classify each new table in src/auth/policy/rows.rs (public, guarded by a rule, or never loaded)"
    );
}

#[tokio::test]
async fn every_loader_of_a_guarded_table_carries_its_rule() {
    let registry = Loaders::registry();
    let names: BTreeSet<&str> = registry.iter().map(|l| l.name).collect();
    assert_eq!(names.len(), registry.len(), "two loaders share a name");
    let mut guarded = BTreeSet::new();
    for loader in &registry {
        assert!(
            !UNLOADED_TABLES.contains(&loader.table),
            "{} loads {}, which is never loaded row by row",
            loader.name,
            loader.table
        );
        if GUARDED_TABLES.contains(&loader.table) {
            guarded.insert(loader.table);
            assert!(
                matches!(
                    loader.serves,
                    Serves::Rows(Exposure::Guarded) | Serves::Figures
                ),
                "{} loads the guarded table {} without its rule",
                loader.name,
                loader.table
            );
        } else {
            assert!(
                PUBLIC_TABLES.contains(&loader.table),
                "{} loads the unclassified table {}",
                loader.name,
                loader.table
            );
            assert_eq!(
                loader.serves,
                Serves::Rows(Exposure::Public),
                "{}",
                loader.name
            );
        }
    }
    // The walk below reaches the guarded tables the graph loads by key.
    for table in [
        "person",
        "participation",
        "attendance",
        "funding_grant",
        "role_assignment",
    ] {
        assert!(guarded.contains(table), "no loader of {table}?");
    }
}

#[tokio::test]
async fn a_viewer_without_rights_gets_nothing_through_any_loader() {
    let app = spawn_app().await;
    // A role assignment, so that its table has a row to hide.
    let res = app
        .query_as(
            Some(&admin_token()),
            "mutation($input: AssignRoleInput!) { assignRole(input: $input) { roleAssignment { id } } }",
            json!({ "input": { "subject": format!("idp|{}", Uuid::now_v7().simple()), "role": "ADMIN" } }),
        )
        .await;
    res.data();

    let all = Loaders::new(app.db.clone(), &admin());
    let nobody: Vec<(&str, Loaders)> = viewers_without_rights()
        .into_iter()
        .map(|(who, viewer)| (who, Loaders::new(app.db.clone(), &viewer)))
        .collect();
    for loader in Loaders::registry() {
        let keys = keys_of(&app.db, loader.table, loader.key).await;
        let everything = all.probe(loader.name, &keys).await.unwrap();
        match loader.serves {
            Serves::Rows(Exposure::Public) => {
                // Public: the same rows for everyone.
                for (who, loaders) in &nobody {
                    assert_eq!(
                        loaders.probe(loader.name, &keys).await.unwrap(),
                        everything,
                        "{} for {who}",
                        loader.name
                    );
                }
            }
            Serves::Rows(Exposure::Guarded) | Serves::Figures => {
                assert!(
                    everything > Some(0),
                    "{}: the demo has rows of {} for ADMIN",
                    loader.name,
                    loader.table
                );
                for (who, loaders) in &nobody {
                    assert_eq!(
                        loaders.probe(loader.name, &keys).await.unwrap(),
                        Some(0),
                        "{} hands {who} rows of {}",
                        loader.name,
                        loader.table
                    );
                }
            }
        }
    }
    assert_eq!(all.probe("no_such_loader", &[]).await.unwrap(), None);

    // The grant loader (the one `node` uses) in particular: a known grant
    // is missing for every viewer without rights, and for a leader and a
    // staff member who are no party to it.
    let grants = keys_of(&app.db, "funding_grant", "id").await;
    let hamar = common::service_id(&app.db, "hamar-barneverntjeneste").await;
    let hamar_person = person::Entity::find()
        .filter(person::Column::ServiceId.eq(hamar))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let strangers = [
        Viewer::new("l", vec![Scope::Leader { service_id: hamar }]),
        Viewer::new(
            "s",
            vec![Scope::Staff {
                person_id: hamar_person.id,
            }],
        ),
    ];
    for viewer in viewers_without_rights()
        .into_iter()
        .map(|(_, v)| v)
        .chain(strangers)
    {
        let loaders = Loaders::new(app.db.clone(), &viewer);
        for grant in &grants {
            assert!(
                loaders.grant.load_one(*grant).await.unwrap().is_none(),
                "{viewer:?} loads grant {grant}"
            );
        }
    }
    // ...and through `node` too.
    let res = app
        .query(
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": gid("Grant", grants[0]) }),
        )
        .await;
    assert_eq!(res.codes(), ["NOT_FOUND"]);

    // Another service's leader loads none of Hamar's persons.
    let elverum = common::service_id(&app.db, "elverum-barneverntjeneste").await;
    let other = Loaders::new(
        app.db.clone(),
        &Viewer::new(
            "l",
            vec![Scope::Leader {
                service_id: elverum,
            }],
        ),
    );
    assert!(
        other
            .person
            .load_one(hamar_person.id)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        other.probe("persons_by_service", &[hamar]).await.unwrap(),
        Some(0)
    );
    assert_eq!(
        other
            .probe("attendance_by_person", &[hamar_person.id])
            .await
            .unwrap(),
        Some(0)
    );
}

/// A person in a run of NUBU's who is also signed up, and recorded
/// present, in a run of another provider (RVTS Sør).
struct TwoRuns {
    person: Uuid,
    /// The sessions of NUBU's runs with the person's attendance.
    nubu_sessions: BTreeSet<Uuid>,
    /// RVTS Sør's new run, its session, and the person's participation.
    rvts_run: Uuid,
    rvts_session: Uuid,
    rvts_participation: String,
    nubu: Uuid,
    rvts: Uuid,
    hamar: Uuid,
}

async fn two_runs(app: &TestApp) -> TwoRuns {
    let db = &app.db;
    let nubu = common::provider_id(db, "nubu").await;
    let rvts = common::provider_id(db, "rvts-sor").await;
    let hamar = common::service_id(db, "hamar-barneverntjeneste").await;
    let runs_of = |provider: Uuid| {
        Query::select()
            .column(programme_run::Column::Id)
            .from(programme_run::Entity)
            .and_where(
                Expr::col(programme_run::Column::ProgrammeId).in_subquery(
                    Query::select()
                        .column(programme_provider::Column::ProgrammeId)
                        .from(programme_provider::Entity)
                        .and_where(Expr::col(programme_provider::Column::ProviderId).eq(provider))
                        .to_owned(),
                ),
            )
            .to_owned()
    };
    // A Hamar person with attendance in a NUBU run.
    let nubu_sessions: Vec<Uuid> = session::Entity::find()
        .select_only()
        .column(session::Column::Id)
        .filter(session::Column::RunId.in_subquery(runs_of(nubu)))
        .into_tuple()
        .all(db)
        .await
        .unwrap();
    let row = attendance::Entity::find()
        .filter(attendance::Column::SessionId.is_in(nubu_sessions.clone()))
        .filter(
            attendance::Column::PersonId.in_subquery(
                Query::select()
                    .column(person::Column::Id)
                    .from(person::Entity)
                    .and_where(Expr::col(person::Column::ServiceId).eq(hamar))
                    .to_owned(),
            ),
        )
        .one(db)
        .await
        .unwrap()
        .expect("a Hamar participant of NUBU with attendance");
    let person = row.person_id;
    let nubu_sessions: BTreeSet<Uuid> = attendance::Entity::find()
        .filter(attendance::Column::PersonId.eq(person))
        .filter(attendance::Column::SessionId.is_in(nubu_sessions))
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.session_id)
        .collect();
    let all_of_person = attendance::Entity::find()
        .filter(attendance::Column::PersonId.eq(person))
        .all(db)
        .await
        .unwrap()
        .len();
    assert_eq!(
        all_of_person,
        nubu_sessions.len(),
        "the person has no attendance elsewhere yet"
    );

    // RVTS Sør's run, with one session.
    let programme: Uuid = programme_provider::Entity::find()
        .select_only()
        .column(programme_provider::Column::ProgrammeId)
        .filter(programme_provider::Column::ProviderId.eq(rvts))
        .into_tuple()
        .one(db)
        .await
        .unwrap()
        .expect("a programme of RVTS Sør");
    let now = chrono::Utc::now();
    let run = programme_run::ActiveModel {
        id: Set(Uuid::now_v7()),
        programme_id: Set(programme),
        network_id: Set(None),
        title: Set(format!("Policy-kull {}", Uuid::now_v7().simple())),
        status: Set(RunStatus::Running),
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
    .insert(db)
    .await
    .unwrap();
    let session = session::ActiveModel {
        id: Set(Uuid::now_v7()),
        run_id: Set(run.id),
        position: Set(1),
        title: Set("Samling 1".into()),
        kind: Set(SessionKind::CourseDay),
        audience: Set(entity::enums::Audience::AllStaff),
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
    .insert(db)
    .await
    .unwrap();

    // Enrolled, signed up and recorded present through the API.
    let admin = admin_token();
    app.query_as(
        Some(&admin),
        "mutation($run: ID!, $service: ID!) { enrolService(input: { run: $run, service: $service }) { enrolment { id } } }",
        json!({ "run": gid("ProgrammeRun", run.id), "service": gid("Service", hamar) }),
    )
    .await
    .data();
    let res = app
        .query_as(
            Some(&admin),
            "mutation($run: ID!, $person: ID!) { signUp(input: { run: $run, person: $person }) { participation { id } } }",
            json!({ "run": gid("ProgrammeRun", run.id), "person": gid("Person", person) }),
        )
        .await;
    let rvts_participation = res.data()["signUp"]["participation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.query_as(
        Some(&admin),
        "mutation($session: ID!, $entries: [AttendanceEntryInput!]!) { recordAttendance(input: { session: $session, entries: $entries }) { created } }",
        json!({ "session": gid("Session", session.id), "entries": [{ "person": gid("Person", person), "present": true }] }),
    )
    .await
    .data();

    TwoRuns {
        person,
        nubu_sessions,
        rvts_run: run.id,
        rvts_session: session.id,
        rvts_participation,
        nubu,
        rvts,
        hamar,
    }
}

/// The sessions of the attendance rows of `person` that `viewer` loads
/// (through the loader, which applies the policy's rule and nothing else).
async fn loaded_sessions(app: &TestApp, viewer: &Viewer, person: Uuid) -> BTreeSet<Uuid> {
    Loaders::new(app.db.clone(), viewer)
        .attendance_by_person
        .load_one(person)
        .await
        .unwrap()
        .unwrap_or_default()
        .into_iter()
        .map(|a| a.session_id)
        .collect()
}

/// The sessions of the attendance rows of `person` that the policy's SQL
/// condition admits for `viewer`, asked directly.
async fn ruled_sessions(app: &TestApp, viewer: &Viewer, person: Uuid) -> BTreeSet<Uuid> {
    attendance::Entity::find()
        .filter(attendance::Column::PersonId.eq(person))
        .filter(policy::visible_attendance(viewer))
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.session_id)
        .collect()
}

/// The global ids of the sessions in a GraphQL answer's attendance lists.
fn answered_sessions(value: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    fn walk(value: &Value, out: &mut BTreeSet<String>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::Array(rows)) = map.get("attendance") {
                    for row in rows {
                        if let Some(id) = row["session"]["id"].as_str() {
                            out.insert(id.to_owned());
                        }
                    }
                }
                for v in map.values() {
                    walk(v, out);
                }
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    walk(value, &mut out);
    out
}

fn gids(type_name: &str, keys: &BTreeSet<Uuid>) -> BTreeSet<String> {
    keys.iter().map(|k| gid(type_name, *k)).collect()
}

#[tokio::test]
async fn a_provider_sees_attendance_in_its_own_runs_only_however_it_asks() {
    let app = spawn_app().await;
    let t = two_runs(&app).await;
    let rvts_only = BTreeSet::from([t.rvts_session]);
    let both: BTreeSet<Uuid> = t
        .nubu_sessions
        .iter()
        .copied()
        .chain([t.rvts_session])
        .collect();
    let elverum = common::service_id(&app.db, "elverum-barneverntjeneste").await;
    let office = common::office_id(&app.db, "974761645").await;

    // The rule itself, and the loader that applies it, per role.
    let cases: Vec<(&str, Viewer, BTreeSet<Uuid>)> = vec![
        (
            "NUBU",
            Viewer::new(
                "p",
                vec![Scope::Provider {
                    provider_id: t.nubu,
                }],
            ),
            t.nubu_sessions.clone(),
        ),
        (
            "RVTS Sør",
            Viewer::new(
                "p",
                vec![Scope::Provider {
                    provider_id: t.rvts,
                }],
            ),
            rvts_only.clone(),
        ),
        (
            "Hamar's leader",
            Viewer::new(
                "l",
                vec![Scope::Leader {
                    service_id: t.hamar,
                }],
            ),
            both.clone(),
        ),
        (
            "the person",
            Viewer::new(
                "s",
                vec![Scope::Staff {
                    person_id: t.person,
                }],
            ),
            both.clone(),
        ),
        ("ADMIN", admin(), both.clone()),
        (
            "Elverum's leader",
            Viewer::new(
                "l",
                vec![Scope::Leader {
                    service_id: elverum,
                }],
            ),
            BTreeSet::new(),
        ),
        (
            "a funder",
            Viewer::new(
                "f",
                vec![Scope::Funder {
                    funder_office_id: office,
                }],
            ),
            BTreeSet::new(),
        ),
        ("anonymous", Viewer::anonymous(), BTreeSet::new()),
    ];
    for (who, viewer, want) in &cases {
        assert_eq!(
            &ruled_sessions(&app, viewer, t.person).await,
            want,
            "{who}: rule"
        );
        assert_eq!(
            &loaded_sessions(&app, viewer, t.person).await,
            want,
            "{who}: loader"
        );
    }

    // The graph's paths to the person's attendance, as each provider.
    let provider_token = |sub: &str, provider: Uuid| {
        let mut c = claims(sub);
        c.role = Some(Role::Provider);
        c.provider_id = Some(provider);
        token(&c)
    };
    let nubu = provider_token("policy-nubu", t.nubu);
    let rvts = provider_token("policy-rvts", t.rvts);
    let attendance = "attendance { present session { id } }";
    let paths = [
        format!(
            "query($person: ID!) {{ node(id: $person) {{ ... on Person {{ participations {{ {attendance} }} }} }} }}"
        ),
        format!("{{ persons(first: 100) {{ nodes {{ participations {{ {attendance} }} }} }} }}"),
        format!(
            "query($person: ID!) {{ nodes(ids: [$person]) {{ ... on Person {{ participations {{ {attendance} run {{ participants(first: 50) {{ nodes {{ {attendance} person {{ participations {{ {attendance} }} }} }} }} }} }} }} }} }}"
        ),
        format!(
            "{{ runs(first: 40) {{ nodes {{ participants(first: 50) {{ nodes {{ {attendance} }} }} }} }} }}"
        ),
        format!(
            "{{ service(slug: \"hamar-barneverntjeneste\") {{ staff(first: 100) {{ nodes {{ participations {{ {attendance} }} }} }} }} }}"
        ),
    ];
    let person = gid("Person", t.person);
    for (who, token, own, foreign) in [
        ("NUBU", &nubu, t.nubu_sessions.clone(), rvts_only.clone()),
        (
            "RVTS Sør",
            &rvts,
            rvts_only.clone(),
            t.nubu_sessions.clone(),
        ),
    ] {
        let own = gids("Session", &own);
        let foreign = gids("Session", &foreign);
        for query in &paths {
            let res = app
                .query_as(Some(token), query, json!({ "person": person }))
                .await;
            let seen = answered_sessions(res.data());
            assert!(
                seen.is_disjoint(&foreign),
                "{who} sees another provider's attendance through {query}"
            );
        }
        // Through the person, it sees its own run's rows, all of them.
        let res = app
            .query_as(Some(token), &paths[0], json!({ "person": person }))
            .await;
        assert_eq!(answered_sessions(res.data()), own, "{who}");
    }

    // NUBU reaches nothing of RVTS Sør's run: not the participation, not
    // its participants, not a person filter by it, not exact figures.
    let res = app
        .query_as(
            Some(&nubu),
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": t.rvts_participation }),
        )
        .await;
    assert_eq!(res.codes(), ["NOT_FOUND"]);
    let res = app
        .query_as(
            Some(&nubu),
            "query($run: ID!) {
              node(id: $run) { ... on ProgrammeRun { participants { totalCount } } }
              persons(filter: { run: $run }) { totalCount }
            }",
            json!({ "run": gid("ProgrammeRun", t.rvts_run) }),
        )
        .await;
    assert_eq!(res.data()["node"]["participants"]["totalCount"], 0);
    assert_eq!(res.data()["persons"]["totalCount"], 0);
    let figures = "query($s: ID!) { node(id: $s) { ... on Session { attendance { registered suppressed } } } }";
    let res = app
        .query_as(
            Some(&nubu),
            figures,
            json!({ "s": gid("Session", t.rvts_session) }),
        )
        .await;
    assert_ne!(
        res.data()["node"]["attendance"]["registered"],
        1,
        "one person's attendance is not shown exactly to another provider"
    );
    let res = app
        .query_as(
            Some(&rvts),
            figures,
            json!({ "s": gid("Session", t.rvts_session) }),
        )
        .await;
    assert_eq!(
        res.data()["node"]["attendance"],
        json!({ "registered": 1, "suppressed": false })
    );
}
