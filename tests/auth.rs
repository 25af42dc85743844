//! Authentication at the edge and the first row rules: tokens become
//! viewers, bad tokens are 401, grants are visible to their parties only.

mod common;

use common::{claims, spawn_app, token};
use entity::enums::Role;
use sea_orm::{ActiveModelTrait, Set};
use serde_json::{Value, json};
use uuid::Uuid;

const ME: &str = "{ me { subject authenticated roles { role service { slug } provider { slug } funderOffice { orgNumber } } } }";

#[tokio::test]
async fn without_a_token_the_viewer_is_anonymous() {
    let app = spawn_app().await;
    let me = app.data(ME).await;
    assert_eq!(
        me["me"],
        json!({ "subject": null, "authenticated": false, "roles": [] })
    );
}

#[tokio::test]
async fn a_leader_token_names_its_service() {
    let app = spawn_app().await;
    let mut c = claims("kari@lier.example");
    c.role = Some(Role::Leader);
    c.service_id = Some(common::service_id(&app.db, "lier-barneverntjeneste").await);
    let res = app.query_as(Some(&token(&c)), ME, json!({})).await;
    let me = &res.data()["me"];
    assert_eq!(me["subject"], "kari@lier.example");
    assert_eq!(me["authenticated"], true);
    assert_eq!(me["roles"][0]["role"], "LEADER");
    assert_eq!(me["roles"][0]["service"]["slug"], "lier-barneverntjeneste");
}

#[tokio::test]
async fn bad_credentials_are_401_never_anonymous() {
    let app = spawn_app().await;
    let mut expired = claims("x");
    expired.exp = chrono::Utc::now().timestamp() - 3600;
    let mut wrong_issuer = claims("x");
    wrong_issuer.iss = Some("someone-else".into());
    let mut unknown_scope = claims("x");
    unknown_scope.role = Some(Role::Leader);
    unknown_scope.service_id = Some(Uuid::now_v7());
    let mut missing_scope = claims("x");
    missing_scope.role = Some(Role::Funder);
    let other_secret = kompetanse::auth::token::mint_hs256(
        &kompetanse::config::Secret::new("another-secret-another-secret-another-secret"),
        &claims("x"),
    );
    let headers = [
        "Bearer".to_owned(),
        "Bearer ".to_owned(),
        "Basic dXNlcjpwYXNz".to_owned(),
        "Bearer not.a.token".to_owned(),
        "Bearer garbage".to_owned(),
        format!("Bearer {other_secret}"),
        format!("Bearer {}", token(&expired)),
        format!("Bearer {}", token(&wrong_issuer)),
        format!("Bearer {}", token(&unknown_scope)),
        format!("Bearer {}", token(&missing_scope)),
    ];
    for header in headers {
        let res = app
            .client
            .post(format!("{}/graphql", app.address))
            .header("authorization", &header)
            .json(&json!({ "query": ME }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{header}");
        assert!(res.headers().contains_key("www-authenticate"), "{header}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
            "{header}"
        );
        assert!(
            body.get("data").is_none(),
            "no data for a refused token: {body}"
        );
    }
    // GET is authenticated the same way.
    let res = app
        .client
        .get(format!("{}/graphql", app.address))
        .query(&[("query", ME)])
        .header("authorization", "Bearer garbage")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn a_subject_only_token_gets_its_assigned_roles() {
    let app = spawn_app().await;
    let subject = format!("idp|{}", Uuid::now_v7().simple());
    let office = common::office_id(&app.db, "974761645").await;
    entity::role_assignment::ActiveModel {
        id: Set(Uuid::now_v7()),
        subject: Set(subject.clone()),
        role: Set(Role::Funder),
        funder_office_id: Set(Some(office)),
        provider_id: Set(None),
        service_id: Set(None),
        person_id: Set(None),
        version: Set(1),
        created_at: Set(chrono::Utc::now()),
        updated_at: Set(chrono::Utc::now()),
    }
    .insert(&app.db)
    .await
    .unwrap();
    let res = app
        .query_as(Some(&token(&claims(&subject))), ME, json!({}))
        .await;
    let roles = &res.data()["me"]["roles"];
    assert_eq!(roles.as_array().unwrap().len(), 1);
    assert_eq!(roles[0]["role"], "FUNDER");
    assert_eq!(roles[0]["funderOffice"]["orgNumber"], "974761645");

    // A subject with no assignments is authenticated but has no roles.
    let res = app
        .query_as(Some(&token(&claims("nobody-special"))), ME, json!({}))
        .await;
    assert_eq!(res.data()["me"]["authenticated"], true);
    assert_eq!(res.data()["me"]["roles"], json!([]));
}

#[tokio::test]
async fn grants_are_visible_to_their_parties_only() {
    let app = spawn_app().await;
    let query = "{ grants { totalCount nodes { id year status funderOffice { orgNumber } } } }";

    let mut admin = claims("admin");
    admin.role = Some(Role::Admin);
    let mut innlandet = claims("sf-innlandet");
    innlandet.role = Some(Role::Funder);
    innlandet.funder_office_id = Some(common::office_id(&app.db, "974761645").await);
    let mut more = claims("sf-more");
    more.role = Some(Role::Funder);
    more.funder_office_id = Some(common::office_id(&app.db, "974764067").await);
    let mut nubu = claims("nubu");
    nubu.role = Some(Role::Provider);
    nubu.provider_id = Some(common::provider_id(&app.db, "nubu").await);
    let mut rvts = claims("rvts");
    rvts.role = Some(Role::Provider);
    rvts.provider_id = Some(common::provider_id(&app.db, "rvts-sor").await);
    let mut leader = claims("leader");
    leader.role = Some(Role::Leader);
    leader.service_id = Some(common::service_id(&app.db, "hamar-barneverntjeneste").await);

    let count = |res: &common::GqlResponse| res.data()["grants"]["totalCount"].as_i64().unwrap();
    let anonymous = app.query(query, json!({})).await;
    assert_eq!(count(&anonymous), 0);
    let all = app.query_as(Some(&token(&admin)), query, json!({})).await;
    assert_eq!(count(&all), 3);
    let res = app
        .query_as(Some(&token(&innlandet)), query, json!({}))
        .await;
    assert_eq!(count(&res), 2);
    assert!(
        res.data()["grants"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["funderOffice"]["orgNumber"] == "974761645")
    );
    assert_eq!(
        count(&app.query_as(Some(&token(&more)), query, json!({})).await),
        1
    );
    assert_eq!(
        count(&app.query_as(Some(&token(&nubu)), query, json!({})).await),
        3
    );
    assert_eq!(
        count(&app.query_as(Some(&token(&rvts)), query, json!({})).await),
        0
    );
    assert_eq!(
        count(&app.query_as(Some(&token(&leader)), query, json!({})).await),
        0
    );

    // `node` applies the same rule: a hidden grant is indistinguishable
    // from a missing one.
    let more_grant = app
        .query_as(Some(&token(&more)), query, json!({}))
        .await
        .data()["grants"]["nodes"][0]["id"]
        .clone();
    let node = "query($id: ID!) { node(id: $id) { __typename } }";
    let res = app
        .query_as(Some(&token(&more)), node, json!({ "id": more_grant }))
        .await;
    assert_eq!(res.data()["node"]["__typename"], "Grant");
    for viewer in [None, Some(token(&innlandet)), Some(token(&leader))] {
        let res = app
            .query_as(viewer.as_deref(), node, json!({ "id": more_grant }))
            .await;
        assert_eq!(res.codes(), ["NOT_FOUND"]);
    }
}

#[tokio::test]
async fn tokens_from_an_identity_provider_are_verified_through_its_jwks() {
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    let keys = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/keys");
    let mut settings = common::test_settings();
    settings.auth.jwks = Some(format!("{keys}/jwks.json"));
    let app = common::spawn_app_with(settings).await;

    let mut c = claims("idp|anne");
    c.role = Some(Role::Admin);
    let sign = |alg: Algorithm, kid: &str, key: EncodingKey| {
        let mut header = Header::new(alg);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, &c, &key).unwrap()
    };
    let pem = |name: &str| std::fs::read(format!("{keys}/{name}")).unwrap();
    let cases = [
        sign(
            Algorithm::RS256,
            "rsa-a",
            EncodingKey::from_rsa_pem(&pem("rsa_a.pem")).unwrap(),
        ),
        sign(
            Algorithm::ES256,
            "ec-1",
            EncodingKey::from_ec_pem(&pem("ec_p256.pem")).unwrap(),
        ),
        sign(
            Algorithm::EdDSA,
            "ed-1",
            EncodingKey::from_ed_pem(&pem("ed25519.pem")).unwrap(),
        ),
    ];
    for token in &cases {
        let res = app.query_as(Some(token), ME, json!({})).await;
        assert_eq!(res.data()["me"]["roles"][0]["role"], "ADMIN");
    }
    // A key the identity provider never published is refused.
    let unknown = sign(
        Algorithm::RS256,
        "rsa-b",
        EncodingKey::from_rsa_pem(&pem("rsa_b.pem")).unwrap(),
    );
    let res = app
        .client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(unknown)
        .json(&json!({ "query": ME }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}
