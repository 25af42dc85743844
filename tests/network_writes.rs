//! Writes of networks and their memberships: who may, what is checked, and
//! that membership history is kept.

mod common;

use common::{GqlResponse, TestApp, claims, spawn_app, token};
use entity::enums::Role;
use kompetanse::graphql::id::encode;
use serde_json::{Value, json};
use uuid::Uuid;

const INNLANDET_OFFICE: &str = "974761645";
const MORE_OG_ROMSDAL_OFFICE: &str = "974764067";

const CREATE: &str = "mutation($input: CreateNetworkInput!) { createNetwork(input: $input) {
    network { id slug name kind scope version description reportedMemberCount source memberCount
      county { number } coordinator { slug } } } }";
const UPDATE: &str = "mutation($input: UpdateNetworkInput!) { updateNetwork(input: $input) {
    network { id name version description coordinator { slug } } } }";
const ADD: &str = "mutation($input: AddNetworkMemberInput!) { addNetworkMember(input: $input) {
    membership { id version joinedOn leftOn isActive service { slug } network { slug } } } }";
const END: &str =
    "mutation($input: EndNetworkMembershipInput!) { endNetworkMembership(input: $input) {
    membership { id version joinedOn leftOn isActive } } }";
const NETWORK: &str = "query($slug: String!) { network(slug: $slug) {
    id name version description memberCount coordinator { slug }
    members { id service { slug } }
    history: members(includeFormer: true) { id joinedOn leftOn isActive service { slug } } } }";

fn admin() -> String {
    let mut c = claims("net-admin");
    c.role = Some(Role::Admin);
    token(&c)
}

async fn funder(app: &TestApp, org: &str) -> String {
    let mut c = claims(&format!("net-funder-{org}"));
    c.role = Some(Role::Funder);
    c.funder_office_id = Some(common::office_id(&app.db, org).await);
    token(&c)
}

/// LEADER, PROVIDER and STAFF tokens: none may manage networks.
async fn others(app: &TestApp) -> Vec<(&'static str, String)> {
    use entity::person;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let hamar = common::service_id(&app.db, "hamar-barneverntjeneste").await;
    let mut leader = claims("net-leader");
    leader.role = Some(Role::Leader);
    leader.service_id = Some(hamar);
    let mut provider = claims("net-provider");
    provider.role = Some(Role::Provider);
    provider.provider_id = Some(common::provider_id(&app.db, "nubu").await);
    let mut staff = claims("net-staff");
    staff.role = Some(Role::Staff);
    staff.person_id = Some(
        person::Entity::find()
            .filter(person::Column::ServiceId.eq(hamar))
            .one(&app.db)
            .await
            .unwrap()
            .expect("a person in Hamar")
            .id,
    );
    vec![
        ("leader", token(&leader)),
        ("provider", token(&provider)),
        ("staff", token(&staff)),
    ]
}

/// A slug no other test uses.
fn fresh_slug(prefix: &str) -> String {
    format!("{prefix}-{}", &Uuid::now_v7().simple().to_string()[20..])
}

async fn county_id(app: &TestApp, number: &str) -> Value {
    app.data(&format!("{{ county(number: \"{number}\") {{ id }} }}"))
        .await["county"]["id"]
        .clone()
}

async fn service(app: &TestApp, slug: &str) -> String {
    encode("Service", common::service_id(&app.db, slug).await).0
}

async fn network(app: &TestApp, slug: &str) -> Value {
    app.query(NETWORK, json!({ "slug": slug })).await.data()["network"].clone()
}

async fn run(app: &TestApp, token: Option<&str>, q: &str, input: Value) -> GqlResponse {
    app.query_as(token, q, json!({ "input": input })).await
}

#[track_caller]
fn assert_refused(res: &GqlResponse, code: &str, what: &str) {
    assert_eq!(res.codes(), vec![code.to_owned()], "{what}: {}", res.body);
}

#[track_caller]
fn assert_field(res: &GqlResponse, field: &str, what: &str) {
    assert_eq!(
        res.codes(),
        vec!["BAD_USER_INPUT".to_owned()],
        "{what}: {}",
        res.body
    );
    assert_eq!(
        res.first_error()["extensions"]["field"],
        field,
        "{what}: {}",
        res.body
    );
}

/// The actions of the audit entries of an object, newest first.
async fn audit_actions(app: &TestApp, id: &Value) -> Vec<String> {
    let res = app
        .query_as(
            Some(&admin()),
            "query($id: ID!) { auditLog(filter: {entity: $id}) { nodes { action } } }",
            json!({ "id": id }),
        )
        .await;
    res.data()["auditLog"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["action"].as_str().unwrap().to_owned())
        .collect()
}

/// A regional network in `county` created by ADMIN; returns (slug, id).
async fn regional_network(app: &TestApp, county: &str) -> (String, Value) {
    let slug = fresh_slug("nettverk");
    let res = run(
        app,
        Some(&admin()),
        CREATE,
        json!({ "slug": slug, "name": "Testnettverk", "kind": "LEARNING_NETWORK",
                "scope": "REGIONAL", "county": county_id(app, county).await }),
    )
    .await;
    let id = res.data()["createNetwork"]["network"]["id"].clone();
    (slug, id)
}

/// Adds a service as ADMIN; returns the membership.
async fn add_member(app: &TestApp, network: &Value, service_slug: &str, joined: &str) -> Value {
    let res = run(
        app,
        Some(&admin()),
        ADD,
        json!({ "network": network, "service": service(app, service_slug).await, "joinedOn": joined }),
    )
    .await;
    res.data()["addNetworkMember"]["membership"].clone()
}

#[tokio::test]
async fn admin_creates_regional_and_national_networks() {
    let app = spawn_app().await;
    let slug = fresh_slug("laeringsnettverk-vestland");
    let res = run(
        &app,
        Some(&admin()),
        CREATE,
        json!({
            "slug": slug,
            "name": "  Læringsnettverk Vestland  ",
            "kind": "LEARNING_NETWORK",
            "scope": "REGIONAL",
            "county": county_id(&app, "46").await,
            "coordinatorService": service(&app, "hamar-barneverntjeneste").await,
            "description": "Et nettverk for barnevernet i Vestland.",
        }),
    )
    .await;
    let net = &res.data()["createNetwork"]["network"];
    assert_eq!(net["slug"], slug.as_str());
    assert_eq!(net["name"], "Læringsnettverk Vestland", "trimmed");
    assert_eq!(net["kind"], "LEARNING_NETWORK");
    assert_eq!(net["scope"], "REGIONAL");
    assert_eq!(net["county"]["number"], "46");
    assert_eq!(net["coordinator"]["slug"], "hamar-barneverntjeneste");
    assert_eq!(net["version"], 1);
    assert_eq!(net["memberCount"], 0);
    assert_eq!(net["reportedMemberCount"], Value::Null);
    assert_eq!(net["source"], Value::Null);
    assert_eq!(audit_actions(&app, &net["id"]).await, vec!["createNetwork"]);
    assert_eq!(
        network(&app, &slug).await["name"],
        "Læringsnettverk Vestland"
    );

    let slug = fresh_slug("nasjonalt-ledernettverk");
    let res = run(
        &app,
        Some(&admin()),
        CREATE,
        json!({ "slug": slug, "name": "Nasjonalt ledernettverk", "kind": "LEADER_NETWORK",
                "scope": "NATIONAL" }),
    )
    .await;
    let net = &res.data()["createNetwork"]["network"];
    assert_eq!(net["scope"], "NATIONAL");
    assert_eq!(net["kind"], "LEADER_NETWORK");
    assert_eq!(net["county"], Value::Null);
    assert_eq!(net["coordinator"], Value::Null);
    assert_eq!(audit_actions(&app, &net["id"]).await, vec!["createNetwork"]);
}

#[tokio::test]
async fn funder_manages_networks_of_its_county() {
    let app = spawn_app().await;
    let funder = funder(&app, INNLANDET_OFFICE).await;
    let slug = fresh_slug("laeringsnettverk-hedmarken");
    let res = run(
        &app,
        Some(&funder),
        CREATE,
        json!({ "slug": slug, "name": "Læringsnettverk Hedmarken", "kind": "LEARNING_NETWORK",
                "scope": "REGIONAL", "county": county_id(&app, "34").await,
                "description": "Først." }),
    )
    .await;
    let id = res.data()["createNetwork"]["network"]["id"].clone();

    // Update: rename, clear the description, name a coordinator.
    let res = run(
        &app,
        Some(&funder),
        UPDATE,
        json!({ "id": id, "version": 1, "name": "Læringsnettverk Hedmarken og Østerdalen",
                "description": null,
                "coordinatorService": service(&app, "hamar-barneverntjeneste").await }),
    )
    .await;
    let net = &res.data()["updateNetwork"]["network"];
    assert_eq!(net["name"], "Læringsnettverk Hedmarken og Østerdalen");
    assert_eq!(net["description"], Value::Null);
    assert_eq!(net["coordinator"]["slug"], "hamar-barneverntjeneste");
    assert_eq!(net["version"], 2);
    // Left-out fields keep their value; null clears the coordinator.
    let res = run(
        &app,
        Some(&funder),
        UPDATE,
        json!({ "id": id, "version": 2, "coordinatorService": null }),
    )
    .await;
    let net = &res.data()["updateNetwork"]["network"];
    assert_eq!(net["name"], "Læringsnettverk Hedmarken og Østerdalen");
    assert_eq!(net["coordinator"], Value::Null);
    assert_eq!(net["version"], 3);

    // Members: Hamar and Elverum join, Hamar leaves, Hamar rejoins.
    let hamar = service(&app, "hamar-barneverntjeneste").await;
    let res = run(
        &app,
        Some(&funder),
        ADD,
        json!({ "network": id, "service": hamar, "joinedOn": "2024-01-15" }),
    )
    .await;
    let m = res.data()["addNetworkMember"]["membership"].clone();
    assert_eq!(m["joinedOn"], "2024-01-15");
    assert_eq!(m["leftOn"], Value::Null);
    assert_eq!(m["isActive"], true);
    assert_eq!(m["version"], 1);
    assert_eq!(m["service"]["slug"], "hamar-barneverntjeneste");
    assert_eq!(m["network"]["slug"], slug.as_str());
    // joinedOn defaults to today.
    let res = run(
        &app,
        Some(&funder),
        ADD,
        json!({ "network": id, "service": service(&app, "elverum-barneverntjeneste").await }),
    )
    .await;
    let today = chrono::Utc::now().date_naive().to_string();
    assert_eq!(
        res.data()["addNetworkMember"]["membership"]["joinedOn"],
        today.as_str()
    );
    let net = network(&app, &slug).await;
    assert_eq!(net["memberCount"], 2);
    assert_eq!(net["members"].as_array().unwrap().len(), 2);

    let res = run(
        &app,
        Some(&funder),
        END,
        json!({ "id": m["id"], "version": 1, "leftOn": "2024-12-31" }),
    )
    .await;
    let ended = &res.data()["endNetworkMembership"]["membership"];
    assert_eq!(ended["leftOn"], "2024-12-31");
    assert_eq!(ended["isActive"], false);
    assert_eq!(ended["version"], 2);

    let net = network(&app, &slug).await;
    assert_eq!(net["memberCount"], 1);
    let current: Vec<&str> = net["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["service"]["slug"].as_str().unwrap())
        .collect();
    assert_eq!(current, vec!["elverum-barneverntjeneste"]);
    let history = net["history"].as_array().unwrap();
    assert_eq!(history.len(), 2, "the ended membership is kept: {net}");
    let former = history.iter().find(|h| h["id"] == m["id"]).unwrap();
    assert_eq!(former["leftOn"], "2024-12-31");
    assert_eq!(former["isActive"], false);
    // The ended membership is still reachable by its id.
    let node = app
        .query(
            "query($id: ID!) { node(id: $id) { ... on NetworkMembership { leftOn version } } }",
            json!({ "id": m["id"] }),
        )
        .await;
    assert_eq!(node.data()["node"]["leftOn"], "2024-12-31");
    // The networks filter by service follows current membership.
    let listed = app
        .query(
            "query($s: String!) { networks(filter: {service: $s}) { nodes { slug } } }",
            json!({ "s": "hamar-barneverntjeneste" }),
        )
        .await;
    assert!(
        !listed.data()["networks"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["slug"] == slug.as_str()),
        "Hamar left: {}",
        listed.body
    );

    // Rejoining makes a new membership; the old one stays.
    let res = run(
        &app,
        Some(&funder),
        ADD,
        json!({ "network": id, "service": hamar, "joinedOn": "2025-02-01" }),
    )
    .await;
    let again = res.data()["addNetworkMember"]["membership"].clone();
    assert_ne!(again["id"], m["id"]);
    let net = network(&app, &slug).await;
    assert_eq!(net["memberCount"], 2);
    assert_eq!(net["history"].as_array().unwrap().len(), 3);

    assert_eq!(
        audit_actions(&app, &id).await,
        vec!["updateNetwork", "updateNetwork", "createNetwork"]
    );
    assert_eq!(
        audit_actions(&app, &m["id"]).await,
        vec!["endNetworkMembership", "addNetworkMember"]
    );
    assert_eq!(
        audit_actions(&app, &again["id"]).await,
        vec!["addNetworkMember"]
    );
}

#[tokio::test]
async fn funder_is_refused_outside_its_counties() {
    let app = spawn_app().await;
    let innlandet = funder(&app, INNLANDET_OFFICE).await;
    let hamar = service(&app, "hamar-barneverntjeneste").await;

    // Creating in Møre og Romsdal (15) or a national network.
    let res = run(
        &app,
        Some(&innlandet),
        CREATE,
        json!({ "slug": fresh_slug("nettverk"), "name": "N", "kind": "LEARNING_NETWORK",
                "scope": "REGIONAL", "county": county_id(&app, "15").await }),
    )
    .await;
    assert_refused(&res, "FORBIDDEN", "create in another county");
    let slug = fresh_slug("nettverk");
    let res = run(
        &app,
        Some(&innlandet),
        CREATE,
        json!({ "slug": slug, "name": "N", "kind": "LEADER_NETWORK", "scope": "NATIONAL" }),
    )
    .await;
    assert_refused(&res, "FORBIDDEN", "create national");
    let res = app
        .query(
            "query($s: String!) { network(slug: $s) { id } }",
            json!({ "s": slug }),
        )
        .await;
    assert_eq!(res.codes(), vec!["NOT_FOUND"], "nothing was created");

    // The demo networks of other counties and the national one.
    for other in [
        "laeringsnettverk-ii-more-og-romsdal",
        "laeringsnettverk-viken",
        "mitt-liv-ledernettverk",
    ] {
        let before = network(&app, other).await;
        let res = run(
            &app,
            Some(&innlandet),
            UPDATE,
            json!({ "id": before["id"], "version": before["version"], "name": "Kapret" }),
        )
        .await;
        assert_refused(&res, "FORBIDDEN", other);
        let res = run(
            &app,
            Some(&innlandet),
            ADD,
            json!({ "network": before["id"], "service": hamar }),
        )
        .await;
        assert_refused(&res, "FORBIDDEN", other);
        assert_eq!(network(&app, other).await, before, "{other} unchanged");
    }
    // Ending a membership of Læringsnettverk Viken (Buskerud).
    let viken = network(&app, "laeringsnettverk-viken").await;
    let lier = viken["history"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["service"]["slug"] == "lier-barneverntjeneste")
        .expect("Lier is a member")
        .clone();
    let res = run(
        &app,
        Some(&innlandet),
        END,
        json!({ "id": lier["id"], "version": 1 }),
    )
    .await;
    assert_refused(&res, "FORBIDDEN", "end in another county");
    assert_eq!(network(&app, "laeringsnettverk-viken").await, viken);

    // The Møre og Romsdal office may manage its own county's network.
    let more = funder(&app, MORE_OG_ROMSDAL_OFFICE).await;
    let net = network(&app, "laeringsnettverk-ii-more-og-romsdal").await;
    let res = run(
        &app,
        Some(&more),
        UPDATE,
        json!({ "id": net["id"], "version": net["version"] }),
    )
    .await;
    assert_eq!(res.data()["updateNetwork"]["network"]["name"], net["name"]);
    // …but not Innlandet's.
    let (_, innlandet_net) = regional_network(&app, "34").await;
    let res = run(
        &app,
        Some(&more),
        UPDATE,
        json!({ "id": innlandet_net, "version": 1, "name": "Kapret" }),
    )
    .await;
    assert_refused(&res, "FORBIDDEN", "Møre og Romsdal on Innlandet");
}

#[tokio::test]
async fn other_roles_and_anonymous_are_refused() {
    let app = spawn_app().await;
    let (slug, id) = regional_network(&app, "34").await;
    let member = add_member(&app, &id, "hamar-barneverntjeneste", "2024-01-01").await;
    let before = network(&app, &slug).await;
    let elverum = service(&app, "elverum-barneverntjeneste").await;
    let innlandet = county_id(&app, "34").await;
    let mut viewers: Vec<(&str, Option<String>)> = vec![("anonymous", None)];
    viewers.extend(others(&app).await.into_iter().map(|(n, t)| (n, Some(t))));
    for (who, tok) in &viewers {
        let code = if tok.is_some() {
            "FORBIDDEN"
        } else {
            "UNAUTHENTICATED"
        };
        let tok = tok.as_deref();
        let res = run(
            &app,
            tok,
            CREATE,
            json!({ "slug": fresh_slug("nettverk"), "name": "N", "kind": "LEARNING_NETWORK",
                    "scope": "REGIONAL", "county": innlandet }),
        )
        .await;
        assert_refused(&res, code, &format!("{who} createNetwork"));
        let res = run(
            &app,
            tok,
            UPDATE,
            json!({ "id": id, "version": 1, "name": "Kapret" }),
        )
        .await;
        assert_refused(&res, code, &format!("{who} updateNetwork"));
        let res = run(&app, tok, ADD, json!({ "network": id, "service": elverum })).await;
        assert_refused(&res, code, &format!("{who} addNetworkMember"));
        let res = run(&app, tok, END, json!({ "id": member["id"], "version": 1 })).await;
        assert_refused(&res, code, &format!("{who} endNetworkMembership"));
    }
    assert_eq!(network(&app, &slug).await, before, "nothing changed");
}

#[tokio::test]
async fn invalid_input_names_its_field() {
    let app = spawn_app().await;
    let admin = admin();
    let innlandet = county_id(&app, "34").await;
    let create = |over: Value| {
        let mut input = json!({ "slug": fresh_slug("nettverk"), "name": "N",
            "kind": "LEARNING_NETWORK", "scope": "REGIONAL", "county": innlandet });
        for (k, v) in over.as_object().unwrap() {
            input[k] = v.clone();
        }
        input
    };
    let unknown_service = encode("Service", Uuid::now_v7()).0;
    let cases = [
        (
            "regional without county",
            json!({ "county": null }),
            "input.county",
        ),
        (
            "national with county",
            json!({ "scope": "NATIONAL", "kind": "LEADER_NETWORK" }),
            "input.county",
        ),
        (
            "merged county (Viken)",
            json!({ "county": county_id(&app, "30").await }),
            "input.county",
        ),
        (
            "unknown county",
            json!({ "county": encode("County", Uuid::now_v7()).0 }),
            "input.county",
        ),
        (
            "id of another type",
            json!({ "county": unknown_service }),
            "input.county",
        ),
        (
            "malformed id",
            json!({ "county": "not-an-id" }),
            "input.county",
        ),
        (
            "unknown coordinator",
            json!({ "coordinatorService": unknown_service }),
            "input.coordinatorService",
        ),
        ("empty slug", json!({ "slug": "" }), "input.slug"),
        (
            "slug with spaces",
            json!({ "slug": "mitt nettverk" }),
            "input.slug",
        ),
        (
            "slug with capitals",
            json!({ "slug": "Nettverk" }),
            "input.slug",
        ),
        (
            "long slug",
            json!({ "slug": "a".repeat(121) }),
            "input.slug",
        ),
        (
            "duplicate slug",
            json!({ "slug": "laeringsnettverk-innlandet" }),
            "input.slug",
        ),
        ("empty name", json!({ "name": "  " }), "input.name"),
        (
            "long name",
            json!({ "name": "n".repeat(201) }),
            "input.name",
        ),
        (
            "long description",
            json!({ "description": "d".repeat(10_001) }),
            "input.description",
        ),
    ];
    for (what, over, field) in cases {
        let input = create(over);
        let res = run(&app, Some(&admin), CREATE, input.clone()).await;
        assert_field(&res, field, what);
        if field != "input.slug" {
            let res = app
                .query(
                    "query($s: String!) { network(slug: $s) { id } }",
                    json!({ "s": input["slug"] }),
                )
                .await;
            assert_eq!(res.codes(), vec!["NOT_FOUND"], "{what}: nothing created");
        }
    }

    // Updates.
    let (slug, id) = regional_network(&app, "34").await;
    for (what, input, field) in [
        (
            "empty name",
            json!({ "id": id, "version": 1, "name": "" }),
            "input.name",
        ),
        (
            "unknown coordinator",
            json!({ "id": id, "version": 1, "coordinatorService": unknown_service }),
            "input.coordinatorService",
        ),
        (
            "malformed id",
            json!({ "id": "x", "version": 1 }),
            "input.id",
        ),
    ] {
        let res = run(&app, Some(&admin), UPDATE, input).await;
        assert_field(&res, field, what);
    }
    let res = run(
        &app,
        Some(&admin),
        UPDATE,
        json!({ "id": encode("Network", Uuid::now_v7()).0, "version": 1 }),
    )
    .await;
    assert_refused(&res, "NOT_FOUND", "update unknown network");
    assert_eq!(network(&app, &slug).await["version"], 1, "nothing changed");

    // Members.
    let member = add_member(&app, &id, "hamar-barneverntjeneste", "2024-03-01").await;
    let hamar = service(&app, "hamar-barneverntjeneste").await;
    let cases = [
        (
            "current member again",
            json!({ "network": id, "service": hamar }),
            "input.service",
        ),
        (
            "unknown network",
            json!({ "network": encode("Network", Uuid::now_v7()).0, "service": hamar }),
            "input.network",
        ),
        (
            "unknown service",
            json!({ "network": id, "service": unknown_service }),
            "input.service",
        ),
        (
            "joinedOn out of range",
            json!({ "network": id, "service": service(&app, "elverum-barneverntjeneste").await,
                    "joinedOn": "1850-01-01" }),
            "input.joinedOn",
        ),
    ];
    for (what, input, field) in cases {
        let res = run(&app, Some(&admin), ADD, input).await;
        assert_field(&res, field, what);
    }
    let res = run(
        &app,
        Some(&admin),
        END,
        json!({ "id": member["id"], "version": 1, "leftOn": "2024-02-29" }),
    )
    .await;
    assert_field(&res, "input.leftOn", "leftOn before joinedOn");
    let res = run(
        &app,
        Some(&admin),
        END,
        json!({ "id": encode("NetworkMembership", Uuid::now_v7()).0, "version": 1 }),
    )
    .await;
    assert_refused(&res, "NOT_FOUND", "end unknown membership");
    let net = network(&app, &slug).await;
    assert_eq!(net["memberCount"], 1, "nothing changed: {net}");
    assert_eq!(net["history"].as_array().unwrap().len(), 1);

    // Ending on the day of joining is allowed; ending twice is not.
    let res = run(
        &app,
        Some(&admin),
        END,
        json!({ "id": member["id"], "version": 1, "leftOn": "2024-03-01" }),
    )
    .await;
    assert_eq!(
        res.data()["endNetworkMembership"]["membership"]["leftOn"],
        "2024-03-01"
    );
    let res = run(
        &app,
        Some(&admin),
        END,
        json!({ "id": member["id"], "version": 2, "leftOn": "2024-06-01" }),
    )
    .await;
    assert_field(&res, "input.id", "already ended");
    // A new membership may not start before the last one ended.
    let res = run(
        &app,
        Some(&admin),
        ADD,
        json!({ "network": id, "service": hamar, "joinedOn": "2024-02-01" }),
    )
    .await;
    assert_field(&res, "input.joinedOn", "rejoining before leaving");
    let net = network(&app, &slug).await;
    assert_eq!(net["memberCount"], 0);
    assert_eq!(net["history"][0]["leftOn"], "2024-03-01");
}

#[tokio::test]
async fn stale_versions_are_conflicts() {
    let app = spawn_app().await;
    let admin = admin();
    let (slug, id) = regional_network(&app, "34").await;
    let res = run(
        &app,
        Some(&admin),
        UPDATE,
        json!({ "id": id, "version": 1, "name": "Ny" }),
    )
    .await;
    assert_eq!(res.data()["updateNetwork"]["network"]["version"], 2);
    let res = run(
        &app,
        Some(&admin),
        UPDATE,
        json!({ "id": id, "version": 1, "name": "Foreldet" }),
    )
    .await;
    assert_refused(&res, "CONFLICT", "stale network version");
    let net = network(&app, &slug).await;
    assert_eq!(net["name"], "Ny");
    assert_eq!(net["version"], 2);

    let member = add_member(&app, &id, "hamar-barneverntjeneste", "2024-01-01").await;
    let res = run(
        &app,
        Some(&admin),
        END,
        json!({ "id": member["id"], "version": 7, "leftOn": "2024-06-01" }),
    )
    .await;
    assert_refused(&res, "CONFLICT", "stale membership version");
    let net = network(&app, &slug).await;
    assert_eq!(net["memberCount"], 1);
    assert_eq!(net["history"][0]["leftOn"], Value::Null);
    assert_eq!(
        audit_actions(&app, &member["id"]).await,
        vec!["addNetworkMember"]
    );
}

#[tokio::test]
async fn concurrent_writes_at_one_version() {
    let app = spawn_app().await;
    let admin = admin();
    let funder = funder(&app, INNLANDET_OFFICE).await;
    let (slug, id) = regional_network(&app, "34").await;

    let (a, b) = tokio::join!(
        run(
            &app,
            Some(&admin),
            UPDATE,
            json!({ "id": id, "version": 1, "name": "A" })
        ),
        run(
            &app,
            Some(&funder),
            UPDATE,
            json!({ "id": id, "version": 1, "name": "B" })
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
    let net = network(&app, &slug).await;
    assert_eq!(net["name"], winner);
    assert_eq!(net["version"], 2);
    assert_eq!(
        audit_actions(&app, &id).await,
        vec!["updateNetwork", "createNetwork"]
    );

    // Two ends of one membership: one wins; the other is refused.
    let member = add_member(&app, &id, "hamar-barneverntjeneste", "2024-01-01").await;
    let (a, b) = tokio::join!(
        run(
            &app,
            Some(&admin),
            END,
            json!({ "id": member["id"], "version": 1, "leftOn": "2024-06-01" })
        ),
        run(
            &app,
            Some(&funder),
            END,
            json!({ "id": member["id"], "version": 1, "leftOn": "2024-07-01" })
        ),
    );
    let oks = [&a, &b].iter().filter(|r| r.codes().is_empty()).count();
    assert_eq!(oks, 1, "{} / {}", a.body, b.body);
    for r in [&a, &b] {
        if !r.codes().is_empty() {
            assert!(
                r.codes() == vec!["CONFLICT"] || r.codes() == vec!["BAD_USER_INPUT"],
                "{}",
                r.body
            );
        }
    }
    assert_eq!(
        audit_actions(&app, &member["id"]).await,
        vec!["endNetworkMembership", "addNetworkMember"]
    );

    // Two additions of one service: exactly one membership results.
    let elverum = service(&app, "elverum-barneverntjeneste").await;
    let input = json!({ "network": id, "service": elverum });
    let (a, b) = tokio::join!(
        run(&app, Some(&admin), ADD, input.clone()),
        run(&app, Some(&funder), ADD, input.clone()),
    );
    let oks = [&a, &b].iter().filter(|r| r.codes().is_empty()).count();
    assert_eq!(oks, 1, "{} / {}", a.body, b.body);
    let net = network(&app, &slug).await;
    let elverums = net["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["service"]["slug"] == "elverum-barneverntjeneste")
        .count();
    assert_eq!(elverums, 1, "{net}");
}
