//! Abuse and failure resistance, tried as an attacker would through the
//! real server: stalled bodies, WebSocket upgrades, text the databases
//! cannot store, and concurrent writes racing for the same row.

mod common;

use std::time::{Duration, Instant};

use common::{spawn_app, spawn_app_with, test_settings};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads what the server sends on `stream` until it closes the connection
/// or `within` passes; the text read and whether it was closed.
async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> (String, bool) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Err(_) => return (String::from_utf8_lossy(&buf).into_owned(), false),
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&buf).into_owned(), true),
            Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

fn address(app: &common::TestApp) -> String {
    app.address.trim_start_matches("http://").to_owned()
}

#[tokio::test]
async fn a_stalled_body_is_cut_off_at_the_body_timeout() {
    let mut settings = test_settings();
    settings.http.body_timeout_secs = 2;
    let app = spawn_app_with(settings).await;
    let mut stream = TcpStream::connect(address(&app)).await.unwrap();
    let head = "POST /graphql HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
                content-length: 1000\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    // One byte now and then, as a slow-loris client does: the deadline
    // counts from the head, not from the last byte.
    let trickle = async {
        for _ in 0..20 {
            if stream.write_all(b" ").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    };
    let _ = tokio::time::timeout(Duration::from_millis(2600), trickle).await;
    let (answer, closed) = read_until_closed(&mut stream, Duration::from_secs(5)).await;
    let took = started.elapsed();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("LIMIT_EXCEEDED"), "{answer}");
    assert!(closed, "the connection is closed after the 408");
    assert!(took < Duration::from_secs(8), "took {took:?}");

    // The server still serves everyone else.
    let body = app.data("{ county(number: \"40\") { name } }").await;
    assert_eq!(body["county"]["name"], "Telemark");
}

#[tokio::test]
async fn a_declared_body_over_the_limit_is_refused_before_it_is_sent() {
    let app = spawn_app().await;
    let mut stream = TcpStream::connect(address(&app)).await.unwrap();
    let head = "POST /graphql HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
                content-length: 999999999\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    let (answer, _) = read_until_closed(&mut stream, Duration::from_secs(3)).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("LIMIT_EXCEEDED"), "{answer}");
}

#[tokio::test]
async fn a_websocket_upgrade_is_answered_at_once() {
    let app = spawn_app().await;
    let mut stream = TcpStream::connect(address(&app)).await.unwrap();
    let head = "GET /graphql HTTP/1.1\r\nhost: x\r\nconnection: Upgrade\r\nupgrade: websocket\r\n\
                sec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
                sec-websocket-protocol: graphql-transport-ws\r\n\r\n";
    let started = Instant::now();
    stream.write_all(head.as_bytes()).await.unwrap();
    let (answer, _) = read_until_closed(&mut stream, Duration::from_secs(3)).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("WebSocket"), "{answer}");
    assert!(answer.contains("BAD_USER_INPUT"), "{answer}");
}

/// Every way a NUL character can arrive in a string argument, anonymously
/// and signed in: BAD_USER_INPUT naming the argument, on both engines,
/// never INTERNAL_SERVER_ERROR.
#[tokio::test]
async fn nul_characters_are_bad_user_input_wherever_they_arrive() {
    let app = spawn_app().await;
    let cases: [(&str, Value, &str); 6] = [
        (
            r#"{ programmes(filter: { search: "a\u0000b" }) { totalCount } }"#,
            json!({}),
            "filter.search",
        ),
        (
            r#"{ programme(slug: "\u0000") { name } }"#,
            json!({}),
            "slug",
        ),
        (
            r#"query($s: String!) { service(slug: $s) { name } }"#,
            json!({ "s": "nome-kommune\u{0}" }),
            "$s",
        ),
        (
            r#"query($f: PersonFilter) { persons(filter: $f) { totalCount } }"#,
            json!({ "f": { "search": "\u{0}" } }),
            "$f.search",
        ),
        (
            r#"query($s: String = "x\u0000") { network(slug: $s) { name } }"#,
            json!({}),
            "$s",
        ),
        (
            r#"{ ...F } fragment F on Query { county(number: "4\u00000") { name } }"#,
            json!({}),
            "number",
        ),
    ];
    for (query, variables, field) in cases {
        let res = app.query(query, variables).await;
        assert_eq!(res.codes(), ["BAD_USER_INPUT"], "{query}: {:?}", res.body);
        assert_eq!(res.first_error()["extensions"]["field"], field, "{query}");
        let message = res.first_error()["message"].as_str().unwrap();
        assert!(message.contains("NUL"), "{message}");
    }
    // Other control characters in a search are stored nowhere and harmless:
    // they are searched for like any text.
    let res = app
        .query(
            "query($s: String) { programmes(filter: { search: $s }) { totalCount } }",
            json!({ "s": "\u{1}\u{7f}\u{202e}" }),
        )
        .await;
    assert_eq!(res.codes(), Vec::<String>::new(), "{:?}", res.body);
}

/// An ADMIN token.
fn admin() -> String {
    let mut admin = common::claims("resistance-admin");
    admin.role = Some(entity::enums::Role::Admin);
    common::token(&admin)
}

/// Sends `n` copies of one request at once (released together by a
/// barrier) and returns the answers.
async fn at_once(
    app: &common::TestApp,
    token: &str,
    query: &str,
    variables: Value,
    n: usize,
) -> Vec<common::GqlResponse> {
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(n));
    let requests = (0..n).map(|_| {
        let barrier = barrier.clone();
        let variables = variables.clone();
        async move {
            barrier.wait().await;
            app.query_as(Some(token), query, variables).await
        }
    });
    futures_util::future::join_all(requests).await
}

/// The codes of a batch of answers, with how often each came.
fn tally(answers: &[common::GqlResponse]) -> std::collections::BTreeMap<String, usize> {
    let mut seen = std::collections::BTreeMap::new();
    for answer in answers {
        let code = answer
            .codes()
            .first()
            .cloned()
            .unwrap_or_else(|| "ok".into());
        *seen.entry(code).or_insert(0) += 1;
    }
    seen
}

/// Twenty registrations of one e-mail address in one service at once, in
/// several rounds: exactly one person has it, the others are told which
/// field is at fault, and nothing is INTERNAL (the unique index settles
/// what the application's check cannot).
#[tokio::test]
async fn concurrent_registrations_of_one_email_make_one_person() {
    use entity::person;
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let app = spawn_app().await;
    let admin = admin();
    let hamar = common::service_id(&app.db, "hamar-barneverntjeneste").await;
    let register =
        "mutation($i: RegisterPersonInput!) { registerPerson(input: $i) { person { id } } }";
    for round in 0..5 {
        // Upper and lower case in the same race: one address.
        let answers = futures_util::future::join_all((0..2).map(|half| {
            let mail = if half == 0 {
                format!("Kappløp.{round}@Example.invalid")
            } else {
                format!("kappløp.{round}@example.invalid")
            };
            let variables = json!({ "i": {
                "service": common::gid("Service", hamar),
                "name": format!("Kappløper {round}"),
                "email": mail,
                "isLeader": false,
            } });
            let app = &app;
            let admin = &admin;
            async move { at_once(app, admin, register, variables, 10).await }
        }))
        .await
        .into_iter()
        .flatten()
        .collect::<Vec<_>>();
        let seen = tally(&answers);
        assert_eq!(seen.get("ok"), Some(&1), "round {round}: {seen:?}");
        assert_eq!(
            seen.get("BAD_USER_INPUT"),
            Some(&19),
            "round {round}: {seen:?}"
        );
        for answer in answers.iter().filter(|a| !a.codes().is_empty()) {
            assert_eq!(answer.first_error()["extensions"]["field"], "input.email");
        }
        let stored = person::Entity::find()
            .filter(person::Column::Email.eq(format!("kappløp.{round}@example.invalid")))
            .count(&app.db)
            .await
            .unwrap();
        assert_eq!(stored, 1, "round {round}");
    }
}

/// Twenty identical grants at once make one assignment; the rest are
/// CONFLICT; revoking that one takes the role away.
#[tokio::test]
async fn concurrent_identical_grants_make_one_assignment() {
    let app = spawn_app().await;
    let admin = admin();
    let lier = common::gid(
        "Service",
        common::service_id(&app.db, "lier-barneverntjeneste").await,
    );
    let assign = "mutation($input: AssignRoleInput!) { assignRole(input: $input) { roleAssignment { id version } } }";
    let revoke = "mutation($input: RevokeRoleInput!) { revokeRole(input: $input) { revokedId } }";
    let me = "{ me { roles { role } } }";
    for round in 0..5 {
        for (role, scope) in [("LEADER", Some(("service", lier.clone()))), ("ADMIN", None)] {
            let subject = format!("idp|race-{round}-{role}");
            let mut input = json!({ "subject": subject, "role": role });
            if let Some((field, id)) = &scope {
                input[field] = json!(id);
            }
            let answers = at_once(&app, &admin, assign, json!({ "input": input }), 20).await;
            let seen = tally(&answers);
            assert_eq!(seen.get("ok"), Some(&1), "{role} round {round}: {seen:?}");
            assert_eq!(
                seen.get("CONFLICT"),
                Some(&19),
                "{role} round {round}: {seen:?}"
            );
            let created = answers
                .iter()
                .find(|a| a.codes().is_empty())
                .map(|a| a.data()["assignRole"]["roleAssignment"].clone())
                .unwrap();
            let subject_token = common::token(&common::claims(&subject));
            let res = app.query_as(Some(&subject_token), me, json!({})).await;
            assert_eq!(res.data()["me"]["roles"].as_array().unwrap().len(), 1);
            let res = app
                .query_as(
                    Some(&admin),
                    revoke,
                    json!({ "input": { "id": created["id"], "version": created["version"] } }),
                )
                .await;
            res.data();
            let res = app.query_as(Some(&subject_token), me, json!({})).await;
            assert_eq!(res.data()["me"]["roles"], json!([]), "{role} round {round}");
        }
    }
}

/// The attack of the issue: thirty aliased statistics over every
/// dimension in one anonymous document. Refused before it runs, with its
/// cost and the limit; one such request alone is served.
#[tokio::test]
async fn aliased_heavy_statistics_are_refused_by_their_cost() {
    let app = spawn_app().await;
    let field = "participationStats(groupBy: [PROGRAMME, PROVIDER, COUNTY, MUNICIPALITY, \
                 SERVICE_KIND, NETWORK, YEAR, SESSION_KIND]) { participants people attendances }";
    let many: String = (0..30).map(|i| format!("a{i}: {field} ")).collect();
    let started = Instant::now();
    let res = app.query(&format!("{{ {many} }}"), json!({})).await;
    assert_eq!(res.codes(), ["LIMIT_EXCEEDED"], "{:?}", res.body);
    let ext = &res.first_error()["extensions"];
    let (cost, limit) = (
        ext["cost"].as_u64().unwrap(),
        ext["limit"].as_u64().unwrap(),
    );
    assert_eq!(limit, 20_000);
    assert!(cost > limit, "{cost}");
    assert!(res.body["data"].is_null(), "nothing ran: {:?}", res.body);
    assert!(started.elapsed() < Duration::from_secs(2));

    let one = app.query(&format!("{{ {field} }}"), json!({})).await;
    assert_eq!(one.codes(), Vec::<String>::new(), "{:?}", one.body);
    // Narrower requests cost less, so more of them fit: a year filter
    // halves the cost.
    let narrow = "participationStats(filter: { year: 2022 }, groupBy: [PROGRAMME, COUNTY]) \
                  { participants }";
    let some: String = (0..20).map(|i| format!("n{i}: {narrow} ")).collect();
    let res = app.query(&format!("{{ {some} }}"), json!({})).await;
    assert_eq!(res.codes(), Vec::<String>::new(), "{:?}", res.body);
}
