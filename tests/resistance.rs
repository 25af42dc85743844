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

/// Sends `query` with `variables` as `token`, with an `Idempotency-Key`
/// when `key` is given: status, the `Idempotent-Replayed` header, body.
async fn keyed(
    app: &common::TestApp,
    token: &str,
    key: Option<&str>,
    query: &str,
    variables: Value,
) -> (u16, bool, Value) {
    let mut request = app
        .client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let replayed = response
        .headers()
        .get("idempotent-replayed")
        .is_some_and(|v| v == "true");
    (status, replayed, response.json().await.unwrap())
}

const REGISTER: &str =
    "mutation($i: RegisterPersonInput!) { registerPerson(input: $i) { person { id name } } }";

async fn registration(app: &common::TestApp, name: &str, email: &str) -> Value {
    let hamar = common::service_id(&app.db, "hamar-barneverntjeneste").await;
    json!({ "i": {
        "service": common::gid("Service", hamar),
        "name": name,
        "email": email,
        "isLeader": false,
    } })
}

async fn persons_named(app: &common::TestApp, name: &str) -> u64 {
    use entity::person;
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    person::Entity::find()
        .filter(person::Column::Name.eq(name))
        .count(&app.db)
        .await
        .unwrap()
}

fn code_of(body: &Value) -> String {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("ok")
        .to_owned()
}

/// A retry with the same key and the same request gets the first answer,
/// byte for byte, and writes nothing; the same key with another request is
/// CONFLICT (422); another subject's key of the same text is its own.
#[tokio::test]
async fn a_retried_create_with_its_key_writes_once_and_answers_alike() {
    let app = spawn_app().await;
    let admin = admin();
    let key = "0190f3a2-7c1e-7000-8000-00000000a001";
    let first_vars = registration(&app, "Idempotent Ida", "ida.idem@example.invalid").await;
    let (status, replayed, first) =
        keyed(&app, &admin, Some(key), REGISTER, first_vars.clone()).await;
    assert_eq!((status, replayed), (200, false), "{first}");
    assert!(first["errors"].is_null(), "{first}");
    for _ in 0..3 {
        let (status, replayed, again) =
            keyed(&app, &admin, Some(key), REGISTER, first_vars.clone()).await;
        assert_eq!((status, replayed), (200, true));
        assert_eq!(again, first);
    }
    assert_eq!(persons_named(&app, "Idempotent Ida").await, 1);

    // The same key with another request: refused, nothing written.
    let other = registration(&app, "Idempotent Ola", "ola.idem@example.invalid").await;
    let (status, _, refused) = keyed(&app, &admin, Some(key), REGISTER, other.clone()).await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(code_of(&refused), "CONFLICT");
    assert_eq!(persons_named(&app, "Idempotent Ola").await, 0);

    // The same key text from another subject is another key.
    let mut other_admin = common::claims("resistance-admin-2");
    other_admin.role = Some(entity::enums::Role::Admin);
    let other_admin = common::token(&other_admin);
    let (status, replayed, own) = keyed(&app, &other_admin, Some(key), REGISTER, other).await;
    assert_eq!((status, replayed), (200, false), "{own}");
    assert_eq!(persons_named(&app, "Idempotent Ola").await, 1);

    // Without a key, the same request is a new write (and here a refused
    // one: the e-mail is taken).
    let (_, _, twice) = keyed(&app, &admin, None, REGISTER, first_vars).await;
    assert_eq!(code_of(&twice), "BAD_USER_INPUT");
}

/// A request that wrote nothing (refused input) releases its key: the
/// client fixes the input and sends it again under the same key.
#[tokio::test]
async fn a_refused_request_releases_its_key() {
    let app = spawn_app().await;
    let admin = admin();
    let key = "fix-and-retry-1";
    let bad = registration(&app, "", "tom.idem@example.invalid").await;
    let (_, _, refused) = keyed(&app, &admin, Some(key), REGISTER, bad).await;
    assert_eq!(code_of(&refused), "BAD_USER_INPUT", "{refused}");
    let good = registration(&app, "Idempotent Tom", "tom.idem@example.invalid").await;
    let (status, replayed, ok) = keyed(&app, &admin, Some(key), REGISTER, good).await;
    assert_eq!((status, replayed), (200, false), "{ok}");
    assert!(ok["errors"].is_null(), "{ok}");
    assert_eq!(persons_named(&app, "Idempotent Tom").await, 1);
}

/// Twenty copies of one keyed request at once: one person; every answer
/// is the first answer or "still running" (409 with Retry-After), never a
/// second write.
#[tokio::test]
async fn concurrent_retries_with_one_key_write_once() {
    let app = spawn_app().await;
    let admin = admin();
    for round in 0..3 {
        let name = format!("Samtidig {round}");
        let vars = registration(&app, &name, &format!("samtidig.{round}@example.invalid")).await;
        let key = format!("race-{round}");
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(20));
        let answers = futures_util::future::join_all((0..20).map(|_| {
            let barrier = barrier.clone();
            let (app, admin, key, vars) = (&app, &admin, key.clone(), vars.clone());
            async move {
                barrier.wait().await;
                keyed(app, admin, Some(&key), REGISTER, vars).await
            }
        }))
        .await;
        let written: Vec<_> = answers.iter().filter(|a| a.0 == 200).collect();
        assert!(!written.is_empty(), "round {round}: {answers:?}");
        for (status, _, body) in &answers {
            match status {
                200 => assert_eq!(body, &written[0].2, "round {round}"),
                409 => assert_eq!(code_of(body), "CONFLICT"),
                other => panic!("round {round}: status {other}: {body}"),
            }
        }
        assert_eq!(persons_named(&app, &name).await, 1, "round {round}");
    }
}

/// The states a lost answer or a dead server leave behind, set directly in
/// the key's row: a committed write whose answer was lost is "still
/// running" while its lease runs and WRITE_COMMITTED after, never a second
/// write; an attempt that never committed
/// and outlived its lease is taken over; an expired key is forgotten.
#[tokio::test]
async fn keys_left_behind_by_failures_never_write_twice() {
    use entity::idempotency_key::{self, Column};
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let app = spawn_app().await;
    let mut claims = common::claims("resistance-admin-3");
    claims.role = Some(entity::enums::Role::Admin);
    let admin = common::token(&claims);
    let set = |key: &'static str, state: &'static str, ago: i64| {
        let db = app.db.clone();
        async move {
            let at = chrono::Utc::now() - chrono::Duration::seconds(ago);
            idempotency_key::Entity::update_many()
                .col_expr(Column::State, Expr::value(state))
                .col_expr(Column::Response, Expr::value(Option::<String>::None))
                .col_expr(Column::ClaimedAt, Expr::value(at))
                .col_expr(Column::CreatedAt, Expr::value(at))
                .filter(Column::Subject.eq("resistance-admin-3"))
                .filter(Column::Key.eq(key))
                .exec(&db)
                .await
                .unwrap();
        }
    };

    // Committed, answer lost.
    let vars = registration(&app, "Tapt Svar", "tapt.svar@example.invalid").await;
    keyed(&app, &admin, Some("lost-answer"), REGISTER, vars.clone()).await;
    // While its lease runs, the attempt may still store its answer: wait.
    set("lost-answer", "committed", 1).await;
    let (status, _, wait) = keyed(&app, &admin, Some("lost-answer"), REGISTER, vars.clone()).await;
    assert_eq!(status, 409, "{wait}");
    assert_eq!(persons_named(&app, "Tapt Svar").await, 1);
    set("lost-answer", "committed", 3600).await;
    let (status, _, told) = keyed(&app, &admin, Some("lost-answer"), REGISTER, vars).await;
    assert_eq!(status, 200);
    assert_eq!(code_of(&told), "WRITE_COMMITTED", "{told}");
    assert!(told.get("data").is_none() || told["data"].is_null());
    assert_eq!(persons_named(&app, "Tapt Svar").await, 1);

    // Pending, still within its lease: 409 with Retry-After.
    let vars = registration(&app, "Død Server", "dod.server@example.invalid").await;
    keyed(&app, &admin, Some("dead-server"), REGISTER, vars.clone()).await;
    // (The first attempt wrote; pretend it died before committing by
    // removing its person and marking the key pending.)
    {
        use entity::person;
        person::Entity::delete_many()
            .filter(person::Column::Name.eq("Død Server"))
            .exec(&app.db)
            .await
            .unwrap();
    }
    set("dead-server", "pending", 1).await;
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(&admin)
        .header("Idempotency-Key", "dead-server")
        .json(&json!({ "query": REGISTER, "variables": vars }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 409);
    assert!(response.headers().get("retry-after").is_some());
    assert_eq!(persons_named(&app, "Død Server").await, 0);
    // Past its lease (request timeout + 5 s): taken over, and it writes.
    set("dead-server", "pending", 3600).await;
    let (status, replayed, ok) = keyed(&app, &admin, Some("dead-server"), REGISTER, vars).await;
    assert_eq!((status, replayed), (200, false), "{ok}");
    assert!(ok["errors"].is_null(), "{ok}");
    assert_eq!(persons_named(&app, "Død Server").await, 1);

    // Expired (older than a day): forgotten; the same key with another
    // request runs.
    set("dead-server", "done", 25 * 3600).await;
    let vars = registration(&app, "Ny Dag", "ny.dag@example.invalid").await;
    let (status, replayed, ok) = keyed(&app, &admin, Some("dead-server"), REGISTER, vars).await;
    assert_eq!((status, replayed), (200, false), "{ok}");
    assert_eq!(persons_named(&app, "Ny Dag").await, 1);
    assert_eq!(
        kompetanse::idempotency::purge_expired(&app.db)
            .await
            .unwrap(),
        0,
        "the expired key was replaced, not kept"
    );
}

/// A key the server cannot take is BAD_USER_INPUT naming the header.
#[tokio::test]
async fn a_malformed_key_is_bad_user_input() {
    let app = spawn_app().await;
    let admin = admin();
    let vars = registration(&app, "Feil Nøkkel", "feil.nokkel@example.invalid").await;
    for key in ["", "has space", &"k".repeat(256)] {
        let (status, _, body) = keyed(&app, &admin, Some(key), REGISTER, vars.clone()).await;
        assert_eq!(status, 400, "{key:?}: {body}");
        assert_eq!(code_of(&body), "BAD_USER_INPUT");
        assert_eq!(body["errors"][0]["extensions"]["field"], "Idempotency-Key");
    }
    assert_eq!(persons_named(&app, "Feil Nøkkel").await, 0);
}

/// Aliases cannot multiply the rows of statistics past the request's
/// bound: each grouping alone is answered, the request that asks for too
/// many rows in all gets LIMIT_EXCEEDED on the grouping that goes over.
#[tokio::test]
async fn the_rows_of_one_request_are_bounded_over_its_aliases() {
    let grouping = "{ participationStats(groupBy: [MUNICIPALITY]) { runs } }";
    let rows = spawn_app().await.query(grouping, json!({})).await.data()["participationStats"]
        .as_array()
        .unwrap()
        .len();
    assert!(rows >= 4, "the demo data has {rows} municipalities");
    let limit = rows + rows / 2;
    let mut settings = test_settings();
    settings.limits.max_stats_rows_per_request = u32::try_from(limit).unwrap();
    let app = spawn_app_with(settings).await;
    let one = app.query(grouping, json!({})).await;
    assert!(one.codes().is_empty(), "{:?}", one.body);
    let both = app
        .query(
            "{ a: participationStats(groupBy: [MUNICIPALITY]) { runs }
               b: participationStats(groupBy: [MUNICIPALITY]) { runs } }",
            json!({}),
        )
        .await;
    assert_eq!(
        both.codes(),
        vec!["LIMIT_EXCEEDED".to_owned()],
        "{:?}",
        both.body
    );
    assert!(
        both.first_error()["message"]
            .as_str()
            .unwrap()
            .contains(&format!("more than {limit} rows")),
        "{:?}",
        both.body
    );
}

/// An answer over the response limit is replaced by LIMIT_EXCEEDED, not
/// sent in part.
#[tokio::test]
async fn an_answer_over_the_response_limit_is_refused_whole() {
    let mut settings = test_settings();
    settings.http.max_response_bytes = 65_536;
    let app = spawn_app_with(settings).await;
    let page = "municipalities(first: 100) { nodes { id number name county { id name number } } }";
    let small = app.query(&format!("{{ {page} }}"), json!({})).await;
    assert!(small.codes().is_empty(), "{:?}", small.body);
    let aliases: String = (0..10).map(|i| format!(" a{i}: {page}")).collect();
    let big = app.query(&format!("{{ {aliases} }}"), json!({})).await;
    assert_eq!(
        big.codes(),
        vec!["LIMIT_EXCEEDED".to_owned()],
        "{}",
        big.body.to_string().len()
    );
    assert!(big.body.get("data").is_none());
}
