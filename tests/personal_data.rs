//! Personal data through every path of the graph: each role sees exactly
//! what DOMAIN.md allows, whichever way it asks.

mod common;

use std::collections::BTreeSet;

use common::{TestApp, claims, spawn_app, token};
use entity::enums::Role;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

/// The demo's synthetic persons, by service slug.
async fn persons_of(app: &TestApp, slug: &str) -> Vec<entity::person::Model> {
    let service = entity::service::Entity::find()
        .filter(entity::service::Column::Slug.eq(slug))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    entity::person::Entity::find()
        .filter(entity::person::Column::ServiceId.eq(service.id))
        .all(&app.db)
        .await
        .unwrap()
}

/// A token for each role, scoped to demo data.
struct Tokens {
    admin: String,
    hamar_leader: String,
    nubu: String,
    rvts: String,
    funder: String,
    staff: String,
    staff_id: Uuid,
}

async fn tokens(app: &TestApp) -> Tokens {
    let service = |slug: &'static str| common::service_id(&app.db, slug);
    let provider = |slug: &'static str| common::provider_id(&app.db, slug);
    let office = common::office_id(&app.db, "974761645").await;
    let staff_person = persons_of(app, "elverum-barneverntjeneste").await.remove(0);

    let mut admin = claims("admin");
    admin.role = Some(Role::Admin);
    let mut leader = claims("hamar-leader");
    leader.role = Some(Role::Leader);
    leader.service_id = Some(service("hamar-barneverntjeneste").await);
    let mut nubu = claims("nubu");
    nubu.role = Some(Role::Provider);
    nubu.provider_id = Some(provider("nubu").await);
    let mut rvts = claims("rvts");
    rvts.role = Some(Role::Provider);
    rvts.provider_id = Some(provider("rvts-sor").await);
    let mut funder = claims("funder");
    funder.role = Some(Role::Funder);
    funder.funder_office_id = Some(office);
    let mut staff = claims("staff");
    staff.role = Some(Role::Staff);
    staff.person_id = Some(staff_person.id);
    Tokens {
        admin: token(&admin),
        hamar_leader: token(&leader),
        nubu: token(&nubu),
        rvts: token(&rvts),
        funder: token(&funder),
        staff: token(&staff),
        staff_id: staff_person.id,
    }
}

const PERSONS: &str =
    "{ persons(first: 100) { totalCount nodes { id name email service { slug } } } }";

fn slugs(nodes: &Value) -> BTreeSet<String> {
    nodes
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["service"]["slug"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn each_role_sees_the_persons_it_may() {
    let app = spawn_app().await;
    let t = tokens(&app).await;
    let total = |res: &common::GqlResponse| res.data()["persons"]["totalCount"].as_i64().unwrap();

    for viewer in [None, Some(&t.funder)] {
        let res = app
            .query_as(viewer.map(String::as_str), PERSONS, json!({}))
            .await;
        assert_eq!(total(&res), 0, "anonymous and funders see no persons");
    }

    let res = app.query_as(Some(&t.admin), PERSONS, json!({})).await;
    assert_eq!(total(&res), 37);
    assert!(
        res.data()["persons"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["email"].is_string())
    );

    let res = app
        .query_as(Some(&t.hamar_leader), PERSONS, json!({}))
        .await;
    let hamar = persons_of(&app, "hamar-barneverntjeneste").await;
    assert_eq!(total(&res) as usize, hamar.len());
    assert_eq!(
        slugs(&res.data()["persons"]["nodes"]),
        BTreeSet::from(["hamar-barneverntjeneste".to_owned()])
    );
    assert!(
        res.data()["persons"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["email"].is_string())
    );

    // NUBU sees the participants of its runs (the five Innlandet services),
    // by name only.
    let res = app.query_as(Some(&t.nubu), PERSONS, json!({})).await;
    assert_eq!(
        slugs(&res.data()["persons"]["nodes"]),
        ["elverum", "hamar", "loten", "ringsaker", "stange"]
            .iter()
            .map(|s| format!("{s}-barneverntjeneste"))
            .collect()
    );
    assert!(
        res.data()["persons"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["email"].is_null())
    );
    let res = app.query_as(Some(&t.rvts), PERSONS, json!({})).await;
    assert!(
        slugs(&res.data()["persons"]["nodes"])
            .iter()
            .all(|s| s.starts_with("midt-telemark") || s.starts_with("nome"))
    );

    let res = app.query_as(Some(&t.staff), PERSONS, json!({})).await;
    assert_eq!(total(&res), 1);
    let me = &res.data()["persons"]["nodes"][0];
    assert!(me["email"].is_string(), "staff see their own e-mail");
}

#[tokio::test]
async fn nested_paths_apply_the_same_rules() {
    let app = spawn_app().await;
    let t = tokens(&app).await;
    let query = r#"{
      hamar: service(slug: "hamar-barneverntjeneste") { staff { totalCount nodes { email } } }
      lier: service(slug: "lier-barneverntjeneste") { staff { totalCount } }
      runs(filter: { programme: "veiledning-av-fosterhjem-ved-utfordrende-atferd" }) {
        nodes { participants(first: 100) { totalCount nodes { person { name email service { slug } } attendance { present } } } }
      }
    }"#;
    let staff_count = |res: &common::GqlResponse, key: &str| {
        res.data()[key]["staff"]["totalCount"].as_i64().unwrap()
    };
    let participants =
        |res: &common::GqlResponse| res.data()["runs"]["nodes"][0]["participants"].clone();

    let anonymous = app.query(query, json!({})).await;
    assert_eq!(staff_count(&anonymous, "hamar"), 0);
    assert_eq!(participants(&anonymous)["totalCount"], 0);

    let funder = app.query_as(Some(&t.funder), query, json!({})).await;
    assert_eq!(
        participants(&funder)["totalCount"],
        0,
        "funders see counts only"
    );

    let leader = app.query_as(Some(&t.hamar_leader), query, json!({})).await;
    assert!(staff_count(&leader, "hamar") > 0);
    assert_eq!(staff_count(&leader, "lier"), 0);
    let p = participants(&leader);
    assert!(
        p["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["person"]["service"]["slug"] == "hamar-barneverntjeneste")
    );
    assert!(
        p["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| !n["attendance"].as_array().unwrap().is_empty())
    );

    let nubu = app.query_as(Some(&t.nubu), query, json!({})).await;
    assert_eq!(staff_count(&nubu, "lier"), 0);
    let p = participants(&nubu);
    assert!(p["totalCount"].as_i64().unwrap() > 5);
    for n in p["nodes"].as_array().unwrap() {
        assert!(n["person"]["name"].is_string());
        assert!(
            n["person"]["email"].is_null(),
            "a provider sees names only: {n}"
        );
    }
    // The provider of another programme sees nobody in this run.
    let rvts = app.query_as(Some(&t.rvts), query, json!({})).await;
    assert_eq!(participants(&rvts)["totalCount"], 0);
}

#[tokio::test]
async fn node_never_reaches_a_hidden_person() {
    let app = spawn_app().await;
    let t = tokens(&app).await;
    let hamar = persons_of(&app, "hamar-barneverntjeneste").await.remove(0);
    let id = {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(format!("Person:{}", hamar.id.simple()))
    };
    let query = "query($id: ID!) { node(id: $id) { __typename ... on Person { name email participations { run { title } attendance { present } } } } }";
    for viewer in [None, Some(&t.funder), Some(&t.rvts), Some(&t.staff)] {
        let res = app
            .query_as(viewer.map(String::as_str), query, json!({ "id": id }))
            .await;
        assert_eq!(res.codes(), ["NOT_FOUND"], "{:?}", viewer.is_some());
    }
    for viewer in [&t.admin, &t.hamar_leader, &t.nubu] {
        let res = app.query_as(Some(viewer), query, json!({ "id": id })).await;
        assert_eq!(res.data()["node"]["name"], hamar.name.as_str());
    }
    let res = app
        .query_as(Some(&t.nubu), query, json!({ "id": id }))
        .await;
    assert!(res.data()["node"]["email"].is_null());

    // A staff member reaches their own participation and attendance.
    let me = {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(format!("Person:{}", t.staff_id.simple()))
    };
    let res = app
        .query_as(Some(&t.staff), query, json!({ "id": me }))
        .await;
    let participations = res.data()["node"]["participations"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(participations.len(), 1);
    assert!(
        !participations[0]["attendance"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn the_provider_of_a_run_sees_its_exact_attendance_counts() {
    let app = spawn_app().await;
    let t = tokens(&app).await;
    let query = r#"{ sessions(filter: { programme: "veiledning-av-fosterhjem-ved-utfordrende-atferd" }) {
        nodes { attendance { registered present absent suppressed } } } }"#;
    let suppressed = |res: &common::GqlResponse| -> Vec<bool> {
        res.data()["sessions"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["attendance"]["suppressed"].as_bool().unwrap())
            .collect()
    };
    // The demo's small absent counts are hidden from the public and from
    // other providers...
    let public = app.query(query, json!({})).await;
    assert!(
        suppressed(&public).iter().any(|s| *s),
        "the demo has small counts to hide"
    );
    let rvts = app.query_as(Some(&t.rvts), query, json!({})).await;
    assert_eq!(suppressed(&rvts), suppressed(&public));
    // ...but not from the run's own provider or ADMIN.
    for viewer in [&t.nubu, &t.admin] {
        let res = app.query_as(Some(viewer), query, json!({})).await;
        assert!(suppressed(&res).iter().all(|s| !s));
        for n in res.data()["sessions"]["nodes"].as_array().unwrap() {
            let a = &n["attendance"];
            assert_eq!(
                a["present"].as_i64().unwrap() + a["absent"].as_i64().unwrap(),
                a["registered"].as_i64().unwrap()
            );
        }
    }
}
