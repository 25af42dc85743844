//! Every error code the read API can produce, through the real server.

mod common;

use common::spawn_app;
use serde_json::json;

fn global_id(type_name: &str, key: uuid::Uuid) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{type_name}:{}", key.simple()))
}

#[tokio::test]
async fn unknown_ids_and_keys_are_not_found() {
    let app = spawn_app().await;
    let id = global_id("County", uuid::Uuid::now_v7());
    let res = app
        .query(
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(res.codes(), ["NOT_FOUND"]);
    assert_eq!(res.body["data"], serde_json::Value::Null);

    let res = app
        .query("{ municipality(number: \"9999\") { name } }", json!({}))
        .await;
    assert_eq!(res.codes(), ["NOT_FOUND"]);
    let res = app
        .query("{ county(number: \"99\") { name } }", json!({}))
        .await;
    assert_eq!(res.codes(), ["NOT_FOUND"]);
}

#[tokio::test]
async fn malformed_ids_and_arguments_are_bad_user_input() {
    let app = spawn_app().await;
    let cases = [
        ("{ node(id: \"not-an-id\") { id } }", Some("id")),
        ("{ node(id: \"\") { id } }", Some("id")),
        ("{ municipality(number: \"12\") { name } }", Some("number")),
        ("{ county(number: \"4x\") { name } }", Some("number")),
        ("{ counties(first: 101) { totalCount } }", Some("first")),
        ("{ counties(last: -1) { totalCount } }", Some("last")),
        (
            "{ counties(after: \"bogus\") { totalCount } }",
            Some("after"),
        ),
        (
            "{ municipalities(filter: { county: \"x\" }) { totalCount } }",
            Some("filter.county"),
        ),
        // Errors that async-graphql raises before running anything.
        ("{ counties(first: \"ten\") { totalCount } }", None),
        ("{ noSuchField }", None),
        ("{ counties { ", None),
    ];
    for (query, field) in cases {
        let res = app.query(query, json!({})).await;
        let codes = res.codes();
        assert!(
            !codes.is_empty() && codes.iter().all(|c| c == "BAD_USER_INPUT"),
            "{query}: {}",
            res.body
        );
        if let Some(field) = field {
            assert_eq!(res.first_error()["extensions"]["field"], field, "{query}");
        }
    }
}

#[tokio::test]
async fn a_node_of_another_type_is_not_confused() {
    let app = spawn_app().await;
    let data = app.data("{ county(number: \"40\") { id } }").await;
    let county_id = data["county"]["id"].as_str().unwrap().to_owned();
    let res = app
        .query(
            "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }",
            json!({ "ids": [county_id] }),
        )
        .await;
    assert_eq!(res.data()["nodes"][0]["__typename"], "County");
}

#[tokio::test]
async fn abusive_queries_are_limit_exceeded() {
    let app = spawn_app().await;
    // Depth: the schema nests counties → municipalities → county → … .
    let mut deep = String::from("id");
    for _ in 0..8 {
        deep = format!("county {{ municipalities(first: 1) {{ nodes {{ {deep} }} }} }}");
    }
    let res = app
        .query(
            &format!("{{ municipality(number: \"4020\") {{ {deep} }} }}"),
            json!({}),
        )
        .await;
    assert_eq!(res.codes(), ["LIMIT_EXCEEDED"], "{}", res.body);

    // Complexity: wide pages nested in wide pages.
    let res = app
        .query(
            "{ counties(first: 100, filter: { includeHistoric: true }) { nodes { municipalities(first: 100) { nodes { name services { name } predecessors { name } successors { name } } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(res.codes(), ["LIMIT_EXCEEDED"], "{}", res.body);
}

#[tokio::test]
async fn hidden_rows_look_like_missing_rows() {
    // Grants are not public: an anonymous viewer gets an empty list, with a
    // count that does not reveal how many exist.
    let app = spawn_app().await;
    let data = app.data("{ grants { totalCount nodes { id } } }").await;
    assert_eq!(data["grants"]["totalCount"], 0);
}
