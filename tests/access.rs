//! Access management and the access matrix: every role against every root
//! field and mutation, role assignments with their audit trail.

mod common;

use common::gid;

use std::collections::BTreeSet;

use common::{TestApp, claims, spawn_app, token};
use entity::enums::Role;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

/// One token per role (None = anonymous), scoped to demo data.
async fn viewers(app: &TestApp) -> Vec<(&'static str, Option<String>)> {
    use entity::person;
    let mut admin = claims("matrix-admin");
    admin.role = Some(Role::Admin);
    let mut funder = claims("matrix-funder");
    funder.role = Some(Role::Funder);
    funder.funder_office_id = Some(common::office_id(&app.db, "974761645").await);
    let mut leader = claims("matrix-leader");
    leader.role = Some(Role::Leader);
    leader.service_id = Some(common::service_id(&app.db, "hamar-barneverntjeneste").await);
    let mut prov = claims("matrix-provider");
    prov.role = Some(Role::Provider);
    prov.provider_id = Some(common::provider_id(&app.db, "nubu").await);
    let mut staff = claims("matrix-staff");
    staff.role = Some(Role::Staff);
    let hamar = leader.service_id.unwrap();
    staff.person_id = Some(
        person::Entity::find()
            .filter(person::Column::ServiceId.eq(hamar))
            .one(&app.db)
            .await
            .unwrap()
            .unwrap()
            .id,
    );
    vec![
        ("anonymous", None),
        ("staff", Some(token(&staff))),
        ("leader", Some(token(&leader))),
        ("provider", Some(token(&prov))),
        ("funder", Some(token(&funder))),
        ("admin", Some(token(&admin))),
    ]
}

/// What a role gets from a root field.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// Data, the same for everyone.
    Public,
    /// A connection whose `totalCount` depends on the role:
    /// [anonymous, staff, leader, provider, funder, admin].
    Rows([i64; 6]),
    /// ADMIN gets data; others are refused (UNAUTHENTICATED without a
    /// token, FORBIDDEN with one).
    AdminOnly,
    /// A list of totals rows (no grouping: one row) whose `grants` count
    /// depends on the role, as in `Rows`.
    Total([i64; 6]),
    /// Data ("") or the error code each role gets, in the order of `Rows`;
    /// "NOT_FOUND|FORBIDDEN" accepts either.
    Codes([&'static str; 6]),
}

#[tokio::test]
async fn every_role_against_every_root_field() {
    let app = spawn_app().await;
    let viewers = viewers(&app).await;
    let county = app.data("{ county(number: \"40\") { id } }").await["county"]["id"].clone();
    let hamar_staff = {
        use entity::person;
        let hamar = common::service_id(&app.db, "hamar-barneverntjeneste").await;
        person::Entity::find()
            .filter(person::Column::ServiceId.eq(hamar))
            .all(&app.db)
            .await
            .unwrap()
            .len() as i64
    };
    let nubu_participants = {
        use entity::{participation, programme_provider, programme_run};
        let nubu = common::provider_id(&app.db, "nubu").await;
        let programmes: Vec<Uuid> = programme_provider::Entity::find()
            .filter(programme_provider::Column::ProviderId.eq(nubu))
            .all(&app.db)
            .await
            .unwrap()
            .into_iter()
            .map(|l| l.programme_id)
            .collect();
        let runs: Vec<Uuid> = programme_run::Entity::find()
            .filter(programme_run::Column::ProgrammeId.is_in(programmes))
            .all(&app.db)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect();
        let persons: BTreeSet<Uuid> = participation::Entity::find()
            .filter(participation::Column::RunId.is_in(runs))
            .all(&app.db)
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.person_id)
            .collect();
        persons.len() as i64
    };
    // The staff viewer's own person (as `viewers` picks it).
    let staff_person = entity::person::Entity::find()
        .filter(
            entity::person::Column::ServiceId.eq(common::service_id(
                &app.db,
                "hamar-barneverntjeneste",
            )
            .await),
        )
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .id;
    let table: Vec<(&str, String, Expect)> = vec![
        (
            "node",
            format!("{{ node(id: {county}) {{ id }} }}"),
            Expect::Public,
        ),
        (
            "nodes",
            format!("{{ nodes(ids: [{county}]) {{ id }} }}"),
            Expect::Public,
        ),
        ("me", "{ me { authenticated } }".into(), Expect::Public),
        (
            "counties",
            "{ counties { totalCount } }".into(),
            Expect::Public,
        ),
        (
            "county",
            "{ county(number: \"40\") { name } }".into(),
            Expect::Public,
        ),
        (
            "municipalities",
            "{ municipalities { totalCount } }".into(),
            Expect::Public,
        ),
        (
            "municipality",
            "{ municipality(number: \"4020\") { name } }".into(),
            Expect::Public,
        ),
        (
            "providers",
            "{ providers { totalCount } }".into(),
            Expect::Public,
        ),
        (
            "provider",
            "{ provider(slug: \"nubu\") { name } }".into(),
            Expect::Public,
        ),
        (
            "services",
            "{ services { totalCount } }".into(),
            Expect::Public,
        ),
        (
            "service",
            "{ service(slug: \"hamar-barneverntjeneste\") { name } }".into(),
            Expect::Public,
        ),
        (
            "networks",
            "{ networks { totalCount } }".into(),
            Expect::Public,
        ),
        (
            "network",
            "{ network(slug: \"laeringsnettverk-viken\") { name } }".into(),
            Expect::Public,
        ),
        (
            "programmes",
            "{ programmes { totalCount } }".into(),
            Expect::Public,
        ),
        (
            "programme",
            "{ programme(slug: \"tjenestestotteprogrammet\") { name } }".into(),
            Expect::Public,
        ),
        (
            "programmeThemes",
            "{ programmeThemes { theme } }".into(),
            Expect::Public,
        ),
        (
            "milestones",
            "{ milestones { totalCount } }".into(),
            Expect::Public,
        ),
        ("runs", "{ runs { totalCount } }".into(), Expect::Public),
        (
            "sessions",
            "{ sessions { totalCount } }".into(),
            Expect::Public,
        ),
        (
            "funderOffices",
            "{ funderOffices { totalCount } }".into(),
            Expect::Public,
        ),
        (
            "funderOffice",
            "{ funderOffice(orgNumber: \"974761645\") { name } }".into(),
            Expect::Public,
        ),
        (
            "grants",
            "{ grants { totalCount } }".into(),
            Expect::Rows([0, 0, 0, 3, 2, 3]),
        ),
        (
            "grantTotals",
            "{ grantTotals(groupBy: []) { grants } }".into(),
            Expect::Total([0, 0, 0, 3, 2, 3]),
        ),
        (
            "persons",
            "{ persons { totalCount } }".into(),
            Expect::Rows([0, 1, hamar_staff, nubu_participants, 0, 37]),
        ),
        (
            "personalData",
            format!(
                "{{ personalData(person: \"{}\") {{ person {{ id }} }} }}",
                common::gid("Person", staff_person)
            ),
            Expect::Codes([
                "NOT_FOUND",
                "",
                "FORBIDDEN",
                "NOT_FOUND|FORBIDDEN",
                "NOT_FOUND",
                "",
            ]),
        ),
        (
            "roleAssignments",
            "{ roleAssignments { totalCount } }".into(),
            Expect::AdminOnly,
        ),
        (
            "auditLog",
            "{ auditLog { totalCount } }".into(),
            Expect::AdminOnly,
        ),
        (
            "participationStats",
            "{ participationStats(groupBy: [YEAR]) { year runs sessions services municipalities } }".into(),
            Expect::Public,
        ),
        (
            "coverage",
            "{ coverage { municipalitiesReached populationReached counties { municipalitiesReached } } }".into(),
            Expect::Public,
        ),
    ];

    // The table covers every root field of the schema.
    let schema = app
        .data("{ __schema { queryType { fields { name } } } }")
        .await;
    let roots: BTreeSet<String> = schema["__schema"]["queryType"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_owned())
        .collect();
    let covered: BTreeSet<String> = table
        .iter()
        .map(|(name, _, _)| (*name).to_owned())
        .collect();
    assert_eq!(
        roots, covered,
        "add the new root field to the access matrix"
    );

    for (name, query, expect) in &table {
        let mut public_answer: Option<Value> = None;
        for (i, (role, token)) in viewers.iter().enumerate() {
            let res = app.query_as(token.as_deref(), query, json!({})).await;
            match expect {
                Expect::Public => {
                    let data = res.data().clone();
                    if *name != "me" {
                        match &public_answer {
                            None => public_answer = Some(data),
                            Some(first) => assert_eq!(first, &data, "{name} differs for {role}"),
                        }
                    }
                }
                Expect::Rows(counts) => {
                    assert_eq!(
                        res.data()[*name]["totalCount"],
                        counts[i],
                        "{name} for {role}"
                    );
                }
                Expect::Total(counts) => {
                    assert_eq!(
                        res.data()[*name],
                        json!([{ "grants": counts[i] }]),
                        "{name} for {role}"
                    );
                }
                Expect::Codes(codes) => {
                    if codes[i].is_empty() {
                        assert!(res.data()[*name].is_object(), "{name} for {role}");
                    } else {
                        let got = res.codes();
                        assert!(
                            got.len() == 1 && codes[i].split('|').any(|c| c == got[0]),
                            "{name} for {role}: {}",
                            res.body
                        );
                    }
                }
                Expect::AdminOnly => {
                    if *role == "admin" {
                        assert!(res.data()[*name].is_object(), "{name} for admin");
                    } else {
                        let want = if token.is_some() {
                            "FORBIDDEN"
                        } else {
                            "UNAUTHENTICATED"
                        };
                        assert_eq!(res.codes(), [want], "{name} for {role}");
                    }
                }
            }
        }
    }
}

#[tokio::test]
async fn only_admin_manages_role_assignments_and_every_change_is_audited() {
    let app = spawn_app().await;
    let viewers = viewers(&app).await;
    let admin = viewers.last().unwrap().1.clone().unwrap();
    let lier = gid(
        "Service",
        common::service_id(&app.db, "lier-barneverntjeneste").await,
    );
    let subject = format!("idp|{}", Uuid::now_v7().simple());
    let assign = "mutation($input: AssignRoleInput!) { assignRole(input: $input) { roleAssignment { id version role subject service { slug } } } }";
    let input = json!({ "input": { "subject": subject, "role": "LEADER", "service": lier } });

    // Everyone but ADMIN is refused, and nothing is written.
    for (role, token) in &viewers[..viewers.len() - 1] {
        let res = app.query_as(token.as_deref(), assign, input.clone()).await;
        let want = if token.is_some() {
            "FORBIDDEN"
        } else {
            "UNAUTHENTICATED"
        };
        assert_eq!(res.codes(), [want], "{role}");
    }
    let count = entity::role_assignment::Entity::find()
        .filter(entity::role_assignment::Column::Subject.eq(&subject))
        .all(&app.db)
        .await
        .unwrap();
    assert!(count.is_empty());

    // Bad input names its field.
    for (bad, field) in [
        (
            json!({ "input": { "subject": subject, "role": "LEADER" } }),
            "input.service",
        ),
        (
            json!({ "input": { "subject": "", "role": "ADMIN" } }),
            "input.subject",
        ),
        (
            json!({ "input": { "subject": subject, "role": "ADMIN", "service": lier } }),
            "input",
        ),
        (
            json!({ "input": { "subject": subject, "role": "PROVIDER", "provider": lier } }),
            "input.provider",
        ),
        (
            json!({ "input": { "subject": subject, "role": "LEADER", "service": gid("Service", Uuid::now_v7()) } }),
            "input.service",
        ),
    ] {
        let res = app.query_as(Some(&admin), assign, bad.clone()).await;
        assert_eq!(res.codes(), ["BAD_USER_INPUT"], "{bad}");
        assert_eq!(res.first_error()["extensions"]["field"], field, "{bad}");
    }

    let res = app.query_as(Some(&admin), assign, input.clone()).await;
    let created = res.data()["assignRole"]["roleAssignment"].clone();
    assert_eq!(created["service"]["slug"], "lier-barneverntjeneste");
    assert_eq!(
        app.query_as(Some(&admin), assign, input.clone())
            .await
            .codes(),
        ["CONFLICT"]
    );

    // The subject's own token now acts as leader of Lier.
    let me = "{ me { roles { role service { slug } } } }";
    let res = app
        .query_as(Some(&token(&claims(&subject))), me, json!({}))
        .await;
    assert_eq!(
        res.data()["me"]["roles"][0]["service"]["slug"],
        "lier-barneverntjeneste"
    );

    // Revoking is ADMIN-only: every other role is refused without a change.
    let revoke = "mutation($input: RevokeRoleInput!) { revokeRole(input: $input) { revokedId } }";
    for (role, token) in &viewers[..viewers.len() - 1] {
        let input = json!({ "input": { "id": created["id"], "version": created["version"] } });
        let res = app.query_as(token.as_deref(), revoke, input).await;
        let want = if token.is_some() {
            "FORBIDDEN"
        } else {
            "UNAUTHENTICATED"
        };
        assert_eq!(res.codes(), [want], "{role}");
    }

    // Revoking with a stale version is CONFLICT and changes nothing.
    let stale = json!({ "input": { "id": created["id"], "version": 99 } });
    assert_eq!(
        app.query_as(Some(&admin), revoke, stale).await.codes(),
        ["CONFLICT"]
    );
    let res = app
        .query_as(Some(&token(&claims(&subject))), me, json!({}))
        .await;
    assert_eq!(res.data()["me"]["roles"].as_array().unwrap().len(), 1);

    let ok = json!({ "input": { "id": created["id"], "version": created["version"] } });
    let res = app.query_as(Some(&admin), revoke, ok.clone()).await;
    assert_eq!(res.data()["revokeRole"]["revokedId"], created["id"]);
    let res = app
        .query_as(Some(&token(&claims(&subject))), me, json!({}))
        .await;
    assert_eq!(res.data()["me"]["roles"], json!([]));
    assert_eq!(
        app.query_as(Some(&admin), revoke, ok).await.codes(),
        ["NOT_FOUND"]
    );

    // Both changes are in the audit log, with who, role, what and the change.
    let audit = "query($e: ID!) { auditLog(filter: { entity: $e }) { totalCount nodes { action subject role entityType entityId change } } }";
    let res = app
        .query_as(Some(&admin), audit, json!({ "e": created["id"] }))
        .await;
    let log = &res.data()["auditLog"];
    assert_eq!(log["totalCount"], 2);
    let actions: Vec<&str> = log["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["revokeRole", "assignRole"]);
    for entry in log["nodes"].as_array().unwrap() {
        assert_eq!(entry["subject"], "matrix-admin");
        assert_eq!(entry["role"], "ADMIN");
        assert_eq!(entry["entityId"], created["id"]);
    }
    assert_eq!(log["nodes"][1]["change"]["after"]["role"], "LEADER");
    assert_eq!(log["nodes"][0]["change"]["after"], Value::Null);
}

/// Who may call each mutation (DOMAIN.md, "Roles"); the tests of each area
/// check the scope (own service, own programme, own counties). A new
/// mutation fails this test until it is added here.
const MUTATION_RULES: &[(&str, &[&str])] = &[
    ("assignRole", &["admin"]),
    ("revokeRole", &["admin"]),
    ("createProgramme", &["admin", "provider"]),
    ("updateProgramme", &["admin", "provider"]),
    ("createMilestone", &["admin", "provider"]),
    ("updateMilestone", &["admin", "provider"]),
    ("deleteMilestone", &["admin", "provider"]),
    ("createRun", &["admin", "provider"]),
    ("updateRun", &["admin", "provider"]),
    ("cancelRun", &["admin", "provider"]),
    ("createSession", &["admin", "provider"]),
    ("updateSession", &["admin", "provider"]),
    ("deleteSession", &["admin", "provider"]),
    ("createNetwork", &["admin", "funder"]),
    ("updateNetwork", &["admin", "funder"]),
    ("addNetworkMember", &["admin", "funder"]),
    ("endNetworkMembership", &["admin", "funder"]),
    ("enrolService", &["admin", "leader", "provider"]),
    ("withdrawEnrolment", &["admin", "leader", "provider"]),
    ("registerPerson", &["admin", "leader"]),
    ("updatePerson", &["admin", "leader", "staff"]),
    ("erasePerson", &["admin", "leader"]),
    ("signUp", &["admin", "leader", "provider"]),
    ("withdrawParticipation", &["admin", "leader", "provider"]),
    ("recordAttendance", &["admin", "leader", "provider"]),
    ("draftGrant", &["admin", "leader"]),
    ("updateGrantDraft", &["admin", "leader"]),
    ("submitGrant", &["admin", "leader"]),
    ("withdrawGrant", &["admin", "leader"]),
    ("decideGrant", &["admin", "funder"]),
    ("markGrantPaid", &["admin", "funder"]),
    ("updateProviderContact", &["admin", "provider"]),
    ("reportGrant", &["admin", "leader"]),
];

#[tokio::test]
async fn every_mutation_has_a_rule_and_needs_a_token() {
    let app = spawn_app().await;
    let schema = app
        .data("{ __schema { mutationType { fields { name } } } }")
        .await;
    let mutations: BTreeSet<&str> = schema["__schema"]["mutationType"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    let ruled: BTreeSet<&str> = MUTATION_RULES.iter().map(|(name, _)| *name).collect();
    assert_eq!(
        mutations, ruled,
        "add new mutations to MUTATION_RULES and test their scope rules"
    );
    for (name, roles) in MUTATION_RULES {
        assert!(!roles.is_empty() && !roles.contains(&"anonymous"), "{name}");
        // Anonymous mutations are refused before their input is looked at.
        let res = app
            .query(
                &format!("mutation {{ {name}(input: {{}}) {{ __typename }} }}"),
                json!({}),
            )
            .await;
        assert_eq!(res.codes(), ["UNAUTHENTICATED"], "{name}: {}", res.body);
    }
    // Also when a document holds a query beside the mutation.
    let res = app
        .query(
            "query Q { counties { totalCount } } mutation M { signUp(input: {}) { __typename } }",
            json!({}),
        )
        .await;
    assert_eq!(res.codes(), ["UNAUTHENTICATED"]);
}
