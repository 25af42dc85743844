//! The schema as a whole: the committed SDL, and the number of SQL
//! statements of nested list queries.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use kompetanse::config::Limits;
use kompetanse::{Settings, graphql};

#[test]
fn committed_schema_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    let current = graphql::sdl();
    if committed != current {
        panic!(
            "schema.graphql differs from the schema the code builds.\n\
             Regenerate it with:\n\n    cargo run -- schema > schema.graphql\n"
        );
    }
}

/// Runs a query through `schema.execute` and counts its SQL statements.
async fn count_statements(query: &str) -> usize {
    let settings = Settings::for_database(common::database_url());
    let mut db = kompetanse::db::connect(&settings).await.unwrap();
    let counter = Arc::new(AtomicUsize::new(0));
    let c = counter.clone();
    db.set_metric_callback(move |info| {
        c.fetch_add(1, Ordering::SeqCst);
        if std::env::var_os("PRINT_SQL").is_some() {
            eprintln!("SQL: {}", info.statement.sql);
        }
    });
    let schema = graphql::build_schema(db.clone(), &Limits::default());
    let request = graphql::prepare_request(
        async_graphql::Request::new(query),
        &db,
        kompetanse::auth::Viewer::anonymous(),
    );
    let response = schema.execute(request).await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    counter.load(Ordering::SeqCst)
}

#[tokio::test]
async fn nested_lists_do_not_multiply_statements() {
    let query = |n: usize| {
        format!(
            "{{ counties(first: {n}) {{ totalCount nodes {{ name funderOffice {{ name counties {{ number }} }}
                regionalProviders {{ shortName }}
                municipalities(first: 50) {{ totalCount nodes {{ number county {{ name }} predecessors {{ number successors {{ number }} }}
                  services {{ name }} networks {{ name }} }} }} }} }} }}"
        )
    };
    // The first 7 counties (by number) already reach every kind of row the
    // query asks for (Buskerud has demo services in a network), so a larger
    // page differs only in the number of rows.
    //
    // Two branches of the query that use the same loader at about the same
    // time may share a batch or not, depending on when their rows arrive;
    // that moves the count by a statement or two. Loading per row would add
    // hundreds (15 counties hold over 350 municipalities).
    // The fewest of three runs each, so that a busy machine splitting a
    // batch once does not decide the outcome.
    let mut small = usize::MAX;
    let mut large = usize::MAX;
    for _ in 0..3 {
        small = small.min(count_statements(&query(7)).await);
        large = large.min(count_statements(&query(15)).await);
    }
    assert!(
        large <= small + 2,
        "statements grew with the page size: {small} for 7 counties, {large} for 15"
    );
    assert!(small <= 30, "{small} statements for a query of depth 6");
}

/// The introspection query graphql-js sends (GraphiQL's docs, codegen from
/// a URL, get-graphql-schema) runs at the default limits, through the real
/// server; depth limits still hold for everything else.
#[tokio::test]
async fn the_standard_introspection_query_runs_at_the_defaults() {
    let app = common::spawn_app().await;
    let text = include_str!("fixtures/graphql-js-introspection.graphql");
    let answer = app.query(text, serde_json::json!({})).await;
    assert!(answer.codes().is_empty(), "{:?}", answer.body);
    let types = answer.data()["__schema"]["types"].as_array().unwrap();
    assert!(types.iter().any(|t| t["name"] == "ParticipationStatsRow"));

    // Fourteen levels of ordinary fields: over the default of 12.
    let inner = (0..3).fold(
        String::from("runs(first: 1) { nodes { id } }"),
        |inner, _| format!("runs(first: 1) {{ nodes {{ programme {{ {inner} }} }} }}"),
    );
    let deep = format!("{{ programmes(first: 1) {{ nodes {{ {inner} }} }} }}");
    refused_as_too_deep(&app, &deep, "nested too deep: 14 levels").await;
    // The same nesting hidden in fragments is measured where they are spread.
    let in_fragments = "query { programmes(first: 1) { nodes { ...R } } }
         fragment R on Programme { runs(first: 1) { nodes { programme { ...S } } } }
         fragment S on Programme { runs(first: 1) { nodes { programme { ...T } } } }
         fragment T on Programme { runs(first: 1) { nodes { programme { runs(first: 1) { nodes { id } } } } } }";
    refused_as_too_deep(&app, in_fragments, "nested too deep: 14 levels").await;

    // Introspection has a bound of its own.
    let nested = (0..30).fold(String::from("name"), |inner, _| {
        format!("name ofType {{ {inner} }}")
    });
    let too_deep = format!("{{ __schema {{ types {{ fields {{ type {{ {nested} }} }} }} }} }}");
    refused_as_too_deep(&app, &too_deep, "introspection").await;
}

/// Asserts that `query` is refused as nested too deep, the message naming
/// `what`.
async fn refused_as_too_deep(app: &common::TestApp, query: &str, what: &str) {
    let refused = app.query(query, serde_json::json!({})).await;
    assert_eq!(
        refused.codes(),
        vec!["LIMIT_EXCEEDED".to_owned()],
        "{:?}",
        refused.body
    );
    let message = refused.first_error()["message"]
        .as_str()
        .unwrap_or_default();
    assert!(message.contains(what), "{message}");
}
