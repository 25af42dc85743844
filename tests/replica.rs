//! Reads from a replica: queries run on `KOMPETANSE_READ_DATABASE_URL`,
//! mutations on the primary, and `/readyz` reports both.
//!
//! The "replica" here is a second database of its own, so that the test can
//! tell which one answered.

mod common;

use common::{claims, spawn_app_with, test_settings, token};
use entity::enums::Role;
use entity::{county, person};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;

async fn seeded_database() -> String {
    let url = common::fresh_database().await;
    let settings = kompetanse::Settings::for_database(url.clone());
    let db = kompetanse::db::connect(&settings).await.unwrap();
    kompetanse::db::migrate(&db).await.unwrap();
    kompetanse::domain::seed::seed_if_empty(&db).await.unwrap();
    db.close().await.unwrap();
    url
}

#[tokio::test]
async fn queries_read_the_replica_and_mutations_write_the_primary() {
    let replica_url = seeded_database().await;
    let mut settings = test_settings();
    settings.read_database_url = Some(replica_url.clone());
    let app = spawn_app_with(settings).await;

    // Mark the replica so that its answers can be told apart.
    let replica = kompetanse::db::connect(&kompetanse::Settings::for_database(replica_url.clone()))
        .await
        .unwrap();
    county::Entity::update_many()
        .col_expr(
            county::Column::Name,
            sea_orm::sea_query::Expr::value("Innlandet (replika)"),
        )
        .filter(county::Column::Number.eq("34"))
        .exec(&replica)
        .await
        .unwrap();
    let data = app.data("{ county(number: \"34\") { name } }").await;
    assert_eq!(data["county"]["name"], "Innlandet (replika)");

    // A mutation writes the primary, and only the primary.
    let mut c = claims("replica-admin");
    c.role = Some(Role::Admin);
    let admin = token(&c);
    let service = common::service_id(&app.db, "hamar-barneverntjeneste").await;
    let gid = {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(format!("Service:{}", service.simple()))
    };
    let res = app
        .query_as(
            Some(&admin),
            "mutation($s: ID!) { registerPerson(input: { service: $s, name: \"Primær Person\" }) { person { id } } }",
            json!({ "s": gid }),
        )
        .await;
    res.data();
    let named = || person::Entity::find().filter(person::Column::Name.eq("Primær Person"));
    assert_eq!(named().count(&app.db).await.unwrap(), 1);
    assert_eq!(named().count(&replica).await.unwrap(), 0);

    let ready: serde_json::Value = app
        .client
        .get(format!("{}/readyz", app.address))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        ready,
        json!({ "status": "ready", "database": "up", "replica": "up" })
    );
}

#[tokio::test]
async fn a_replica_of_another_engine_is_refused_at_start() {
    let mut settings = test_settings();
    settings.read_database_url = Some(if settings.database_url.starts_with("sqlite:") {
        "postgres://nobody@127.0.0.1:1/x".into()
    } else {
        "sqlite://x.db?mode=rwc".into()
    });
    let err = kompetanse::Application::build(settings)
        .await
        .err()
        .expect("refused");
    assert!(
        err.to_string().contains("KOMPETANSE_READ_DATABASE_URL"),
        "{err}"
    );
}
