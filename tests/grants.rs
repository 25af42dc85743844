//! Grants (funding applications to Statsforvalteren) written and read
//! through the API: every transition by every role, the state machine,
//! the office rule, racing decisions, what funders may see, totals that
//! match the rows, reported participants checked against recorded
//! attendance, and totals that count each service of a recipient once.

mod common;

use common::gid;

use std::collections::BTreeMap;

use common::{GqlResponse, TestApp, claims, spawn_app, token};
use entity::enums::{
    Audience, NetworkKind, NetworkScope, Role, RunStatus, ServiceKind, SessionKind,
};
use entity::{
    attendance, county, municipality, network, network_member, person, programme, programme_run,
    service, service_municipality, session,
};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::{Value, json};
use uuid::Uuid;

const INNLANDET: &str = "974761645";
const MORE: &str = "974764067";
/// NUBU's programme (the demo grants name it).
const NUBU_PROGRAMME: &str = "veiledning-av-fosterhjem-ved-utfordrende-atferd";
/// A programme no demo grant and no other test here names: the totals test
/// filters by it.
const TOTALS_PROGRAMME: &str = "tjenestestotteprogrammet";

const FIELDS: &str = "id version status purpose year amountApplied amountGranted decisionReason \
    submittedAt decidedAt paidAt reportedAt reportText reportParticipants \
    funderOffice { orgNumber } programme { slug } run { id } \
    recipient { __typename ... on Service { slug } ... on Network { slug } ... on Municipality { number } }";

/// Tokens and ids around the demo data of Innlandet.
struct Fx {
    app: TestApp,
    admin: String,
    /// LEADER of Hamar barneverntjeneste.
    leader: String,
    /// LEADER of Elverum barneverntjeneste.
    other_leader: String,
    /// PROVIDER NUBU.
    provider: String,
    /// FUNDER Statsforvalteren i Innlandet.
    funder: String,
    /// FUNDER Statsforvalteren i Møre og Romsdal.
    other_funder: String,
    /// STAFF: a person of Hamar barneverntjeneste.
    staff: String,
    hamar: Uuid,
    elverum: Uuid,
    innlandet: Uuid,
    more: Uuid,
    nubu_programme: Uuid,
}

async fn fx() -> Fx {
    let app = spawn_app().await;
    let hamar = common::service_id(&app.db, "hamar-barneverntjeneste").await;
    let elverum = common::service_id(&app.db, "elverum-barneverntjeneste").await;
    let innlandet = common::office_id(&app.db, INNLANDET).await;
    let more = common::office_id(&app.db, MORE).await;
    let nubu_programme = programme_id(&app, NUBU_PROGRAMME).await;
    let with = |sub: &str, role: Role| {
        let mut c = claims(sub);
        c.role = Some(role);
        c
    };
    let admin = with("gr-admin", Role::Admin);
    let mut leader = with("gr-leader", Role::Leader);
    leader.service_id = Some(hamar);
    let mut other_leader = with("gr-other-leader", Role::Leader);
    other_leader.service_id = Some(elverum);
    let mut provider = with("gr-provider", Role::Provider);
    provider.provider_id = Some(common::provider_id(&app.db, "nubu").await);
    let mut funder = with("gr-funder", Role::Funder);
    funder.funder_office_id = Some(innlandet);
    let mut other_funder = with("gr-other-funder", Role::Funder);
    other_funder.funder_office_id = Some(more);
    let mut staff = with("gr-staff", Role::Staff);
    staff.person_id = Some(
        person::Entity::find()
            .filter(person::Column::ServiceId.eq(hamar))
            .one(&app.db)
            .await
            .unwrap()
            .expect("a person of Hamar")
            .id,
    );
    Fx {
        admin: token(&admin),
        leader: token(&leader),
        other_leader: token(&other_leader),
        provider: token(&provider),
        funder: token(&funder),
        other_funder: token(&other_funder),
        staff: token(&staff),
        hamar,
        elverum,
        innlandet,
        more,
        nubu_programme,
        app,
    }
}

async fn programme_id(app: &TestApp, slug: &str) -> Uuid {
    common::uuid_of::<programme::Entity>(
        &app.db,
        programme::Column::Slug,
        programme::Column::Id,
        slug,
    )
    .await
}

async fn county_id(app: &TestApp, number: &str) -> Uuid {
    common::uuid_of::<county::Entity>(&app.db, county::Column::Number, county::Column::Id, number)
        .await
}

/// The GraphQL name of a mutation's input type.
fn input_type(mutation: &str) -> String {
    let mut c = mutation.chars();
    let first = c.next().unwrap().to_ascii_uppercase();
    format!("{first}{}Input", c.as_str())
}

/// Calls a grant mutation; the payload's `grant` carries [`FIELDS`].
async fn call(fx: &Fx, token: Option<&str>, mutation: &str, input: Value) -> GqlResponse {
    let q = format!(
        "mutation($input: {}!) {{ {mutation}(input: $input) {{ grant {{ {FIELDS} }} }} }}",
        input_type(mutation)
    );
    fx.app.query_as(token, &q, json!({ "input": input })).await
}

/// The grant of a successful call.
fn grant<'a>(res: &'a GqlResponse, mutation: &str) -> &'a Value {
    &res.data()[mutation]["grant"]
}

fn code(res: &GqlResponse) -> String {
    let codes = res.codes();
    assert_eq!(codes.len(), 1, "one error expected: {}", res.body);
    codes[0].clone()
}

fn field(res: &GqlResponse) -> String {
    assert_eq!(code(res), "BAD_USER_INPUT", "{}", res.body);
    res.first_error()["extensions"]["field"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn message(res: &GqlResponse) -> String {
    res.first_error()["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn version(g: &Value) -> i64 {
    g["version"].as_i64().unwrap()
}

/// A draft for Hamar by its leader (office derived), naming NUBU's programme.
fn hamar_draft(fx: &Fx, amount: i64) -> Value {
    json!({
        "recipientService": gid("Service", fx.hamar),
        "programme": gid("Programme", fx.nubu_programme),
        "purpose": "Fagdager om veiledning av fosterhjem",
        "year": 2026,
        "amountApplied": amount,
    })
}

/// The grant states the tests need, reached as ADMIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Draft,
    Submitted,
    Granted,
    Rejected,
    Paid,
    Reported,
    Withdrawn,
}

impl State {
    const ALL: [State; 7] = [
        State::Draft,
        State::Submitted,
        State::Granted,
        State::Rejected,
        State::Paid,
        State::Reported,
        State::Withdrawn,
    ];
    fn name(self) -> &'static str {
        match self {
            State::Draft => "DRAFT",
            State::Submitted => "SUBMITTED",
            State::Granted => "GRANTED",
            State::Rejected => "REJECTED",
            State::Paid => "PAID",
            State::Reported => "REPORTED",
            State::Withdrawn => "WITHDRAWN",
        }
    }
}

/// Calls `mutation` on grant `g` (its id and version) with `extra` input;
/// the call must succeed.
async fn step(fx: &Fx, token: &str, mutation: &str, g: &Value, extra: Value) -> Value {
    let mut input = json!({ "id": g["id"], "version": g["version"] });
    for (k, v) in extra.as_object().unwrap() {
        input[k] = v.clone();
    }
    let res = call(fx, Some(token), mutation, input).await;
    grant(&res, mutation).clone()
}

/// A grant (from `draft`, drafted as ADMIN) brought to `state`; returns
/// the grant as last written.
async fn grant_in(fx: &Fx, draft: Value, state: State, granted: i64) -> Value {
    let a = fx.admin.as_str();
    let res = call(fx, Some(a), "draftGrant", draft).await;
    let mut g = grant(&res, "draftGrant").clone();
    if state == State::Draft {
        return g;
    }
    g = step(fx, a, "submitGrant", &g, json!({})).await;
    match state {
        State::Submitted => return g,
        State::Withdrawn => return step(fx, a, "withdrawGrant", &g, json!({})).await,
        State::Rejected => {
            return step(
                fx,
                a,
                "decideGrant",
                &g,
                json!({ "decision": "REJECTED", "reason": "Ikke innenfor ordningen" }),
            )
            .await;
        }
        _ => {}
    }
    g = step(
        fx,
        a,
        "decideGrant",
        &g,
        json!({ "decision": "GRANTED", "amountGranted": granted }),
    )
    .await;
    if state == State::Granted {
        return g;
    }
    g = step(fx, a, "markGrantPaid", &g, json!({})).await;
    if state == State::Paid {
        return g;
    }
    step(
        fx,
        a,
        "reportGrant",
        &g,
        json!({ "text": "Gjennomført som planlagt", "participants": 0 }),
    )
    .await
}

async fn audit_actions(fx: &Fx, entity: &Value) -> Vec<String> {
    let res = fx
        .app
        .query_as(
            Some(&fx.admin),
            "query($id: ID!) { auditLog(filter: {entity: $id}) { nodes { action } } }",
            json!({ "id": entity }),
        )
        .await;
    let mut actions: Vec<String> = res.data()["auditLog"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["action"].as_str().unwrap().to_owned())
        .collect();
    actions.sort();
    actions
}

/// The grant as `token` sees it through `node` (null when hidden: `node`
/// answers NOT_FOUND).
async fn node_as(fx: &Fx, token: &str, id: &Value) -> Value {
    let res = fx
        .app
        .query_as(
            Some(token),
            "query($id: ID!) { node(id: $id) { ... on Grant { id status version } } }",
            json!({ "id": id }),
        )
        .await;
    if res.codes() == ["NOT_FOUND"] {
        return Value::Null;
    }
    res.data()["node"].clone()
}

// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_leader_applies_the_office_decides_and_pays_the_leader_reports() {
    let fx = fx().await;
    let leader = Some(fx.leader.as_str());
    let funder = Some(fx.funder.as_str());

    // Drafted by Hamar's leader: the office is derived from Hamar's county.
    let res = call(&fx, leader, "draftGrant", hamar_draft(&fx, 150_000)).await;
    let g = grant(&res, "draftGrant").clone();
    assert_eq!(g["status"], "DRAFT");
    assert_eq!(g["funderOffice"]["orgNumber"], INNLANDET);
    assert_eq!(g["amountApplied"], 150_000);
    assert_eq!(g["amountGranted"], Value::Null);
    assert_eq!(g["programme"]["slug"], NUBU_PROGRAMME);
    assert_eq!(g["recipient"]["slug"], "hamar-barneverntjeneste");
    assert_eq!(version(&g), 1);
    assert!(g["submittedAt"].is_null());
    // The office does not see a draft.
    assert!(node_as(&fx, &fx.funder, &g["id"]).await.is_null());

    let res = call(
        &fx,
        leader,
        "updateGrantDraft",
        json!({ "id": g["id"], "version": 1, "amountApplied": 120_000, "purpose": "Fire fagdager" }),
    )
    .await;
    let g = grant(&res, "updateGrantDraft").clone();
    assert_eq!(g["amountApplied"], 120_000);
    assert_eq!(g["purpose"], "Fire fagdager");
    assert_eq!(version(&g), 2);

    let res = call(
        &fx,
        leader,
        "submitGrant",
        json!({ "id": g["id"], "version": 2 }),
    )
    .await;
    let g = grant(&res, "submitGrant").clone();
    assert_eq!(g["status"], "SUBMITTED");
    assert!(g["submittedAt"].is_string());
    // Now the office sees it, and the other office does not.
    assert_eq!(
        node_as(&fx, &fx.funder, &g["id"]).await["status"],
        "SUBMITTED"
    );
    assert!(node_as(&fx, &fx.other_funder, &g["id"]).await.is_null());

    let res = call(
        &fx,
        funder,
        "decideGrant",
        json!({ "id": g["id"], "version": version(&g), "decision": "GRANTED",
                "amountGranted": 100_000, "reason": "Innvilget delvis" }),
    )
    .await;
    let g = grant(&res, "decideGrant").clone();
    assert_eq!(g["status"], "GRANTED");
    assert_eq!(g["amountGranted"], 100_000);
    assert_eq!(g["decisionReason"], "Innvilget delvis");
    assert!(g["decidedAt"].is_string());

    let res = call(
        &fx,
        funder,
        "markGrantPaid",
        json!({ "id": g["id"], "version": version(&g) }),
    )
    .await;
    let g = grant(&res, "markGrantPaid").clone();
    assert_eq!(g["status"], "PAID");
    assert!(g["paidAt"].is_string());

    let res = call(
        &fx,
        leader,
        "reportGrant",
        json!({ "id": g["id"], "version": version(&g), "text": "Fire fagdager holdt", "participants": 23 }),
    )
    .await;
    let g = grant(&res, "reportGrant").clone();
    assert_eq!(g["status"], "REPORTED");
    assert_eq!(g["reportText"], "Fire fagdager holdt");
    assert_eq!(g["reportParticipants"], 23);
    assert!(g["reportedAt"].is_string());
    assert_eq!(version(&g), 6);

    let mut want = vec![
        "decideGrant",
        "draftGrant",
        "markGrantPaid",
        "reportGrant",
        "submitGrant",
        "updateGrantDraft",
    ];
    want.sort();
    assert_eq!(audit_actions(&fx, &g["id"]).await, want);
}

#[tokio::test]
async fn each_transition_by_each_role() {
    let fx = fx().await;
    let roles: [(&str, Option<&str>); 8] = [
        ("anonymous", None),
        ("staff", Some(&fx.staff)),
        ("leader", Some(&fx.leader)),
        ("other leader", Some(&fx.other_leader)),
        ("provider", Some(&fx.provider)),
        ("funder", Some(&fx.funder)),
        ("other funder", Some(&fx.other_funder)),
        ("admin", Some(&fx.admin)),
    ];
    const OK: &str = "OK";
    const UN: &str = "UNAUTHENTICATED";
    const FB: &str = "FORBIDDEN";
    const NF: &str = "NOT_FOUND";
    // Per mutation: the state it starts from, extra input, and the outcome
    // per role in the order above. Drafts are hidden from all but the
    // applicant side (NOT_FOUND); a submitted grant is seen by its office
    // and by the provider of its programme, who may not act on the
    // applicant's behalf (FORBIDDEN).
    let table: Vec<(&str, Option<State>, Value, [&str; 8])> = vec![
        (
            "draftGrant",
            None,
            json!({}),
            [UN, FB, OK, FB, FB, FB, FB, OK],
        ),
        (
            "updateGrantDraft",
            Some(State::Draft),
            json!({ "purpose": "Endret formål" }),
            [UN, NF, OK, NF, NF, NF, NF, OK],
        ),
        (
            "submitGrant",
            Some(State::Draft),
            json!({}),
            [UN, NF, OK, NF, NF, NF, NF, OK],
        ),
        (
            "withdrawGrant",
            Some(State::Submitted),
            json!({}),
            [UN, NF, OK, NF, FB, FB, NF, OK],
        ),
        (
            "decideGrant",
            Some(State::Submitted),
            json!({ "decision": "GRANTED", "amountGranted": 50_000 }),
            [UN, NF, FB, NF, FB, OK, NF, OK],
        ),
        (
            "markGrantPaid",
            Some(State::Granted),
            json!({}),
            [UN, NF, FB, NF, FB, OK, NF, OK],
        ),
        (
            "reportGrant",
            Some(State::Paid),
            json!({ "text": "Gjennomført", "participants": 12 }),
            [UN, NF, OK, NF, FB, FB, NF, OK],
        ),
    ];
    for (mutation, from, extra, outcomes) in table {
        for ((role, token), want) in roles.iter().zip(outcomes) {
            let mut input = match from {
                None => hamar_draft(&fx, 90_000),
                Some(state) => {
                    let g = grant_in(&fx, hamar_draft(&fx, 90_000), state, 60_000).await;
                    json!({ "id": g["id"], "version": g["version"] })
                }
            };
            for (k, v) in extra.as_object().unwrap() {
                input[k] = v.clone();
            }
            let res = call(&fx, *token, mutation, input.clone()).await;
            if want == OK {
                let g = grant(&res, mutation);
                assert!(g["id"].is_string(), "{mutation} by {role}");
                assert!(
                    audit_actions(&fx, &g["id"])
                        .await
                        .contains(&mutation.to_owned()),
                    "{mutation} by {role} is audited"
                );
            } else {
                assert_eq!(code(&res), want, "{mutation} by {role}: {}", res.body);
                // A refused change leaves the grant as it was.
                if let Some(id) = input.get("id") {
                    let seen = node_as(&fx, &fx.admin, id).await;
                    assert_eq!(seen["version"], input["version"], "{mutation} by {role}");
                }
            }
        }
    }
}

#[tokio::test]
async fn transitions_the_state_machine_does_not_allow_are_conflict() {
    let fx = fx().await;
    let admin = Some(fx.admin.as_str());
    let mut grants = BTreeMap::new();
    for state in State::ALL {
        grants.insert(
            state.name(),
            grant_in(&fx, hamar_draft(&fx, 80_000), state, 40_000).await,
        );
    }
    let rules: [(&str, &[State], Value); 6] = [
        (
            "updateGrantDraft",
            &[State::Draft],
            json!({ "purpose": "Nytt formål" }),
        ),
        ("submitGrant", &[State::Draft], json!({})),
        (
            "withdrawGrant",
            &[State::Draft, State::Submitted],
            json!({}),
        ),
        (
            "decideGrant",
            &[State::Submitted],
            json!({ "decision": "GRANTED", "amountGranted": 1 }),
        ),
        ("markGrantPaid", &[State::Granted], json!({})),
        (
            "reportGrant",
            &[State::Paid],
            json!({ "text": "Rapport", "participants": 1 }),
        ),
    ];
    for (mutation, allowed, extra) in rules {
        for state in State::ALL {
            if allowed.contains(&state) {
                continue;
            }
            let g = &grants[state.name()];
            let mut input = json!({ "id": g["id"], "version": g["version"] });
            for (k, v) in extra.as_object().unwrap() {
                input[k] = v.clone();
            }
            let res = call(&fx, admin, mutation, input).await;
            assert_eq!(code(&res), "CONFLICT", "{mutation} from {}", state.name());
            assert!(
                message(&res).contains(state.name()),
                "{mutation} from {}: the message names the status: {}",
                state.name(),
                message(&res)
            );
        }
    }
    // Nothing changed.
    for state in State::ALL {
        let g = &grants[state.name()];
        let seen = node_as(&fx, &fx.admin, &g["id"]).await;
        assert_eq!(seen["status"], state.name());
        assert_eq!(seen["version"], g["version"]);
    }
}

#[tokio::test]
async fn input_is_checked_and_errors_name_the_field() {
    let fx = fx().await;
    let leader = Some(fx.leader.as_str());
    let admin = Some(fx.admin.as_str());
    let base = hamar_draft(&fx, 10_000);
    let with = |changes: Value| {
        let mut input = base.clone();
        for (k, v) in changes.as_object().unwrap() {
            if v.is_null() {
                input.as_object_mut().unwrap().remove(k);
            } else {
                input[k] = v.clone();
            }
        }
        input
    };
    let network = common::uuid_of::<network::Entity>(
        &fx.app.db,
        network::Column::Slug,
        network::Column::Id,
        "laeringsnettverk-innlandet",
    )
    .await;
    let nubu_run = programme_run::Entity::find()
        .filter(programme_run::Column::ProgrammeId.eq(fx.nubu_programme))
        .filter(programme_run::Column::Status.ne(RunStatus::Cancelled))
        .one(&fx.app.db)
        .await
        .unwrap()
        .expect("a run of NUBU's programme")
        .id;
    let other_programme = programme_id(&fx.app, TOTALS_PROGRAMME).await;
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "no recipient",
            with(json!({ "recipientService": null })),
            "input.recipientService",
        ),
        (
            "two recipients",
            with(json!({ "recipientNetwork": gid("Network", network) })),
            "input.recipientService",
        ),
        (
            "a recipient id of the wrong type",
            with(json!({ "recipientService": gid("Network", network) })),
            "input.recipientService",
        ),
        (
            "a service that does not exist",
            with(json!({ "recipientService": gid("Service", Uuid::now_v7()) })),
            "input.recipientService",
        ),
        (
            "the wrong office",
            with(json!({ "funderOffice": gid("FunderOffice", fx.more) })),
            "input.funderOffice",
        ),
        (
            "an office that does not exist",
            with(json!({ "funderOffice": gid("FunderOffice", Uuid::now_v7()) })),
            "input.funderOffice",
        ),
        (
            "no amount",
            with(json!({ "amountApplied": 0 })),
            "input.amountApplied",
        ),
        (
            "a negative amount",
            with(json!({ "amountApplied": -5 })),
            "input.amountApplied",
        ),
        (
            "a year out of range",
            with(json!({ "year": 1800 })),
            "input.year",
        ),
        (
            "an empty purpose",
            with(json!({ "purpose": "  " })),
            "input.purpose",
        ),
        (
            "a run that does not exist",
            with(json!({ "run": gid("ProgrammeRun", Uuid::now_v7()) })),
            "input.run",
        ),
        (
            "a run of another programme",
            with(
                json!({ "run": gid("ProgrammeRun", nubu_run), "programme": gid("Programme", other_programme) }),
            ),
            "input.programme",
        ),
        (
            "a programme that does not exist",
            with(json!({ "programme": gid("Programme", Uuid::now_v7()) })),
            "input.programme",
        ),
    ];
    for (what, input, want) in cases {
        let res = call(&fx, leader, "draftGrant", input).await;
        assert_eq!(field(&res), want, "{what}: {}", res.body);
    }
    // Fractional kroner are refused by the scalar.
    let res = call(
        &fx,
        leader,
        "draftGrant",
        with(json!({ "amountApplied": 12.5 })),
    )
    .await;
    assert_eq!(code(&res), "BAD_USER_INPUT", "{}", res.body);

    // The right office named explicitly is fine; a run brings its programme.
    let res = call(
        &fx,
        leader,
        "draftGrant",
        with(
            json!({ "funderOffice": gid("FunderOffice", fx.innlandet), "programme": null,
                      "run": gid("ProgrammeRun", nubu_run) }),
        ),
    )
    .await;
    let g = grant(&res, "draftGrant").clone();
    assert_eq!(g["funderOffice"]["orgNumber"], INNLANDET);
    assert_eq!(g["programme"]["slug"], NUBU_PROGRAMME);
    assert_eq!(g["run"]["id"], gid("ProgrammeRun", nubu_run));

    // Updating a draft checks the same rules.
    let res = call(
        &fx,
        leader,
        "updateGrantDraft",
        json!({ "id": g["id"], "version": 1, "funderOffice": gid("FunderOffice", fx.more) }),
    )
    .await;
    assert_eq!(field(&res), "input.funderOffice");
    let res = call(
        &fx,
        leader,
        "updateGrantDraft",
        json!({ "id": g["id"], "version": 1, "programme": gid("Programme", other_programme) }),
    )
    .await;
    assert_eq!(field(&res), "input.programme");
    let res = call(
        &fx,
        leader,
        "updateGrantDraft",
        json!({ "id": g["id"], "version": 1, "amountApplied": 0 }),
    )
    .await;
    assert_eq!(field(&res), "input.amountApplied");
    // Clearing the run keeps the programme unless it is cleared too.
    let res = call(
        &fx,
        leader,
        "updateGrantDraft",
        json!({ "id": g["id"], "version": 1, "run": null }),
    )
    .await;
    let g = grant(&res, "updateGrantDraft").clone();
    assert!(g["run"].is_null());
    assert_eq!(g["programme"]["slug"], NUBU_PROGRAMME);
    // A malformed id and an unknown grant.
    let res = call(
        &fx,
        leader,
        "submitGrant",
        json!({ "id": "nonsense", "version": 1 }),
    )
    .await;
    assert_eq!(field(&res), "input.id");
    let res = call(
        &fx,
        leader,
        "submitGrant",
        json!({ "id": gid("Grant", Uuid::now_v7()), "version": 1 }),
    )
    .await;
    assert_eq!(code(&res), "NOT_FOUND");

    // Decisions: an amount when granting (1..=applied), a reason when
    // rejecting.
    let s = grant_in(&fx, hamar_draft(&fx, 50_000), State::Submitted, 0).await;
    let decide = |extra: Value| {
        let mut input = json!({ "id": s["id"], "version": s["version"] });
        for (k, v) in extra.as_object().unwrap() {
            input[k] = v.clone();
        }
        input
    };
    for (what, extra, want) in [
        (
            "granted without amount",
            json!({ "decision": "GRANTED" }),
            "input.amountGranted",
        ),
        (
            "granted 0",
            json!({ "decision": "GRANTED", "amountGranted": 0 }),
            "input.amountGranted",
        ),
        (
            "granted more than applied",
            json!({ "decision": "GRANTED", "amountGranted": 50_001 }),
            "input.amountGranted",
        ),
        (
            "rejected without reason",
            json!({ "decision": "REJECTED" }),
            "input.reason",
        ),
        (
            "rejected with an amount",
            json!({ "decision": "REJECTED", "reason": "Nei", "amountGranted": 5 }),
            "input.amountGranted",
        ),
    ] {
        let res = call(&fx, admin, "decideGrant", decide(extra)).await;
        assert_eq!(field(&res), want, "{what}: {}", res.body);
    }
    // The full amount is fine.
    let res = call(
        &fx,
        Some(&fx.funder),
        "decideGrant",
        decide(json!({ "decision": "GRANTED", "amountGranted": 50_000 })),
    )
    .await;
    assert_eq!(grant(&res, "decideGrant")["amountGranted"], 50_000);

    // Reports: a text and participants ≥ 0.
    let p = grant_in(&fx, hamar_draft(&fx, 50_000), State::Paid, 20_000).await;
    for (what, extra, want) in [
        (
            "no text",
            json!({ "text": "", "participants": 3 }),
            "input.text",
        ),
        (
            "negative participants",
            json!({ "text": "Rapport", "participants": -1 }),
            "input.participants",
        ),
    ] {
        let mut input = json!({ "id": p["id"], "version": p["version"] });
        for (k, v) in extra.as_object().unwrap() {
            input[k] = v.clone();
        }
        let res = call(&fx, leader, "reportGrant", input).await;
        assert_eq!(field(&res), want, "{what}");
    }
}

#[tokio::test]
async fn who_may_apply_for_networks_and_municipalities() {
    let fx = fx().await;
    // A network in Innlandet coordinated by Hamar.
    let net = insert_network(
        &fx,
        format!("gr-nett-{}", Uuid::now_v7().simple()),
        "Testnettverk for tilskudd".into(),
        Some(fx.hamar),
    )
    .await;
    let draft = json!({
        "recipientNetwork": gid("Network", net.id),
        "purpose": "Nettverkssamlinger",
        "year": 2027,
        "amountApplied": 300_000,
    });
    // The coordinator's leader may; another leader may not.
    let res = call(&fx, Some(&fx.other_leader), "draftGrant", draft.clone()).await;
    assert_eq!(code(&res), "FORBIDDEN");
    let res = call(&fx, Some(&fx.leader), "draftGrant", draft.clone()).await;
    let g = grant(&res, "draftGrant").clone();
    assert_eq!(g["recipient"]["__typename"], "Network");
    assert_eq!(g["funderOffice"]["orgNumber"], INNLANDET);
    // The coordinator's leader sees it in the list; Elverum's does not.
    for (token, want) in [(&fx.leader, 1), (&fx.other_leader, 0)] {
        let res = fx
            .app
            .query_as(
                Some(token),
                "query($r: ID!) { grants(filter: {recipient: $r}) { totalCount } }",
                json!({ "r": gid("Network", net.id) }),
            )
            .await;
        assert_eq!(res.data()["grants"]["totalCount"], want);
    }
    // A demo network without a coordinator: leaders may not.
    let innlandet_net = common::uuid_of::<network::Entity>(
        &fx.app.db,
        network::Column::Slug,
        network::Column::Id,
        "laeringsnettverk-innlandet",
    )
    .await;
    let mut d = draft.clone();
    d["recipientNetwork"] = json!(gid("Network", innlandet_net));
    let res = call(&fx, Some(&fx.leader), "draftGrant", d).await;
    assert_eq!(code(&res), "FORBIDDEN");

    // Municipalities: ADMIN only; the office follows the county.
    let hamar_kommune = common::uuid_of::<entity::municipality::Entity>(
        &fx.app.db,
        entity::municipality::Column::Number,
        entity::municipality::Column::Id,
        "3403",
    )
    .await;
    let d = json!({
        "recipientMunicipality": gid("Municipality", hamar_kommune),
        "purpose": "Kommunalt kompetanseløft",
        "year": 2027,
        "amountApplied": 75_000,
    });
    let res = call(&fx, Some(&fx.leader), "draftGrant", d.clone()).await;
    assert_eq!(code(&res), "FORBIDDEN");
    let res = call(&fx, Some(&fx.admin), "draftGrant", d.clone()).await;
    let g = grant(&res, "draftGrant").clone();
    assert_eq!(g["recipient"]["number"], "3403");
    assert_eq!(g["funderOffice"]["orgNumber"], INNLANDET);
    let mut wrong = d.clone();
    wrong["funderOffice"] = json!(gid("FunderOffice", fx.more));
    let res = call(&fx, Some(&fx.admin), "draftGrant", wrong).await;
    assert_eq!(field(&res), "input.funderOffice");
    // Elverum's leader cannot touch Hamar's drafts (they are invisible).
    let res = call(&fx, Some(&fx.leader), "draftGrant", hamar_draft(&fx, 1_000)).await;
    let h = grant(&res, "draftGrant").clone();
    let res = call(
        &fx,
        Some(&fx.other_leader),
        "withdrawGrant",
        json!({ "id": h["id"], "version": 1 }),
    )
    .await;
    assert_eq!(code(&res), "NOT_FOUND");
}

#[tokio::test]
async fn stale_versions_and_racing_decisions() {
    let fx = fx().await;
    // A stale version is CONFLICT and changes nothing.
    let g = grant_in(&fx, hamar_draft(&fx, 40_000), State::Draft, 0).await;
    let res = call(
        &fx,
        Some(&fx.leader),
        "updateGrantDraft",
        json!({ "id": g["id"], "version": 7, "purpose": "Skal ikke lagres" }),
    )
    .await;
    assert_eq!(code(&res), "CONFLICT");
    let res = call(
        &fx,
        Some(&fx.leader),
        "submitGrant",
        json!({ "id": g["id"], "version": 7 }),
    )
    .await;
    assert_eq!(code(&res), "CONFLICT");
    let seen = node_as(&fx, &fx.admin, &g["id"]).await;
    assert_eq!(seen["status"], "DRAFT");
    assert_eq!(seen["version"], 1);

    // Two decisions on one application at the same version: one wins.
    for _ in 0..3 {
        let s = grant_in(&fx, hamar_draft(&fx, 40_000), State::Submitted, 0).await;
        let grant_it = json!({ "id": s["id"], "version": s["version"],
                               "decision": "GRANTED", "amountGranted": 30_000 });
        let reject_it = json!({ "id": s["id"], "version": s["version"],
                                "decision": "REJECTED", "reason": "Budsjettet er brukt opp" });
        let (a, b) = tokio::join!(
            call(&fx, Some(&fx.funder), "decideGrant", grant_it),
            call(&fx, Some(&fx.admin), "decideGrant", reject_it),
        );
        let outcomes = [&a, &b].map(|r| r.codes());
        let won: Vec<usize> = (0..2).filter(|i| outcomes[*i].is_empty()).collect();
        assert_eq!(won.len(), 1, "exactly one wins: {} / {}", a.body, b.body);
        let loser = if won[0] == 0 { &b } else { &a };
        assert_eq!(code(loser), "CONFLICT", "{}", loser.body);
        let seen = node_as(&fx, &fx.admin, &s["id"]).await;
        let want = if won[0] == 0 { "GRANTED" } else { "REJECTED" };
        assert_eq!(seen["status"], want);
        assert_eq!(seen["version"], version(&s) + 1);
        let decisions = audit_actions(&fx, &s["id"])
            .await
            .into_iter()
            .filter(|a| a == "decideGrant")
            .count();
        assert_eq!(decisions, 1);
    }
}

#[tokio::test]
async fn funders_see_their_office_and_never_drafts() {
    let fx = fx().await;
    let year = 2035;
    let draft = |office_more: bool| {
        let mut d = hamar_draft(&fx, 5_000);
        d["year"] = json!(year);
        if office_more {
            // A grant to a Møre og Romsdal network (office derived).
            d.as_object_mut().unwrap().remove("recipientService");
            d["recipientNetwork"] = json!(gid("Network", Uuid::nil()));
        }
        d
    };
    let more_net = common::uuid_of::<network::Entity>(
        &fx.app.db,
        network::Column::Slug,
        network::Column::Id,
        "laeringsnettverk-ii-more-og-romsdal",
    )
    .await;
    let mut more = draft(true);
    more["recipientNetwork"] = json!(gid("Network", more_net));
    let d = grant_in(&fx, draft(false), State::Draft, 0).await;
    let wd = grant_in(&fx, draft(false), State::Draft, 0).await;
    let res = call(
        &fx,
        Some(&fx.admin),
        "withdrawGrant",
        json!({ "id": wd["id"], "version": wd["version"] }),
    )
    .await;
    let wd = grant(&res, "withdrawGrant").clone();
    let s = grant_in(&fx, draft(false), State::Submitted, 0).await;
    let ws = grant_in(&fx, draft(false), State::Withdrawn, 0).await;
    let m = grant_in(&fx, more, State::Submitted, 0).await;
    assert_eq!(m["funderOffice"]["orgNumber"], MORE);

    let ids = |res: &GqlResponse| -> Vec<Value> {
        let mut v: Vec<Value> = res.data()["grants"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["id"].clone())
            .collect();
        v.sort_by_key(|x| x.to_string());
        v
    };
    let list = |token: String, filter: Value| {
        let app = &fx.app;
        async move {
            app.query_as(
                Some(&token),
                "query($f: GrantFilter) { grants(filter: $f, first: 100) { totalCount nodes { id status } } }",
                json!({ "f": filter }),
            )
            .await
        }
    };
    let sorted = |mut v: Vec<Value>| {
        v.sort_by_key(|x| x.to_string());
        v
    };
    // Innlandet's funder: the submitted and the withdrawn-after-submission
    // ones, not the drafts (nor the withdrawn draft), not Møre's.
    let res = list(fx.funder.clone(), json!({ "year": year })).await;
    assert_eq!(ids(&res), sorted(vec![s["id"].clone(), ws["id"].clone()]));
    let res = list(
        fx.funder.clone(),
        json!({ "year": year, "status": ["DRAFT"] }),
    )
    .await;
    assert_eq!(res.data()["grants"]["totalCount"], 0);
    // Møre's funder: only its own.
    let res = list(fx.other_funder.clone(), json!({ "year": year })).await;
    assert_eq!(ids(&res), vec![m["id"].clone()]);
    // The leader of Hamar: all of Hamar's, drafts included.
    let res = list(fx.leader.clone(), json!({ "year": year })).await;
    assert_eq!(
        ids(&res),
        sorted(vec![
            d["id"].clone(),
            wd["id"].clone(),
            s["id"].clone(),
            ws["id"].clone()
        ])
    );
    // NUBU sees the submitted grants naming its programme, not drafts.
    let res = list(fx.provider.clone(), json!({ "year": year })).await;
    assert_eq!(
        ids(&res),
        sorted(vec![s["id"].clone(), ws["id"].clone(), m["id"].clone()])
    );
    // ADMIN all five... plus nothing else of that year.
    let res = list(fx.admin.clone(), json!({ "year": year })).await;
    assert_eq!(res.data()["grants"]["totalCount"], 5);
    // Totals respect the same rule.
    let res = fx
        .app
        .query_as(
            Some(&fx.funder),
            "{ grantTotals(filter: {year: 2035}, groupBy: [STATUS]) { status grants } }",
            json!({}),
        )
        .await;
    let rows = res.data()["grantTotals"].as_array().unwrap().clone();
    let by_status: BTreeMap<String, i64> = rows
        .iter()
        .map(|r| {
            (
                r["status"].as_str().unwrap().to_owned(),
                r["grants"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        by_status,
        BTreeMap::from([("SUBMITTED".to_owned(), 1), ("WITHDRAWN".to_owned(), 1)])
    );
    // Filters: by office, county, recipient, status list.
    let res = list(
        fx.admin.clone(),
        json!({ "year": year, "funderOffice": MORE }),
    )
    .await;
    assert_eq!(ids(&res), vec![m["id"].clone()]);
    let res = list(fx.admin.clone(), json!({ "year": year, "county": "15" })).await;
    assert_eq!(ids(&res), vec![m["id"].clone()]);
    let res = list(fx.admin.clone(), json!({ "year": year, "county": "34" })).await;
    assert_eq!(res.data()["grants"]["totalCount"], 4);
    let res = list(
        fx.admin.clone(),
        json!({ "year": year, "recipient": gid("Service", fx.hamar) }),
    )
    .await;
    assert_eq!(res.data()["grants"]["totalCount"], 4);
    let res = list(
        fx.admin.clone(),
        json!({ "year": year, "status": ["DRAFT", "SUBMITTED"] }),
    )
    .await;
    assert_eq!(
        ids(&res),
        sorted(vec![d["id"].clone(), s["id"].clone(), m["id"].clone()])
    );
    let res = list(
        fx.admin.clone(),
        json!({ "year": year, "recipient": gid("County", fx.hamar) }),
    )
    .await;
    assert_eq!(field(&res), "filter.recipient");
    // The demo's grants as the matrix counts them: Innlandet's two.
    let res = list(
        fx.funder.clone(),
        json!({ "funderOffice": INNLANDET, "year": 2022 }),
    )
    .await;
    assert_eq!(res.data()["grants"]["totalCount"], 1);
}

/// Grant rows as ADMIN sees them, for computing totals in the test.
#[derive(Debug, Clone)]
struct Row {
    office: String,
    county: Option<String>,
    programme: Option<String>,
    year: i64,
    status: String,
    applied: i64,
    granted: Option<i64>,
}

#[tokio::test]
async fn totals_match_the_rows() {
    let fx = fx().await;
    let totals_programme = programme_id(&fx.app, TOTALS_PROGRAMME).await;
    let more_net = common::uuid_of::<network::Entity>(
        &fx.app.db,
        network::Column::Slug,
        network::Column::Id,
        "laeringsnettverk-ii-more-og-romsdal",
    )
    .await;
    let mk = |recipient: (&str, String), year: i64, amount: i64| {
        let mut d = json!({
            "programme": gid("Programme", totals_programme),
            "purpose": "Tjenestestøtte",
            "year": year,
            "amountApplied": amount,
        });
        d[recipient.0] = json!(recipient.1);
        d
    };
    let hamar = ("recipientService", gid("Service", fx.hamar));
    let elverum = ("recipientService", gid("Service", fx.elverum));
    let more = ("recipientNetwork", gid("Network", more_net));
    let plan = [
        (hamar.clone(), 2040, 100_001, State::Granted, 77_777),
        (hamar.clone(), 2040, 50_000, State::Paid, 50_000),
        (elverum.clone(), 2040, 33_333, State::Reported, 11_111),
        (elverum.clone(), 2041, 25_000, State::Submitted, 0),
        (hamar.clone(), 2041, 10_000, State::Rejected, 0),
        (hamar.clone(), 2041, 7_000, State::Draft, 0),
        (more.clone(), 2040, 90_000, State::Paid, 45_001),
        (more.clone(), 2041, 60_000, State::Withdrawn, 0),
    ];
    for (recipient, year, amount, state, granted) in plan {
        grant_in(&fx, mk(recipient, year, amount), state, granted).await;
    }

    let filter = json!({ "programme": TOTALS_PROGRAMME });
    for token in [&fx.admin, &fx.funder, &fx.other_funder, &fx.leader] {
        let res = fx
            .app
            .query_as(
                Some(token),
                "query($f: GrantFilter) { grants(filter: $f, first: 100) { totalCount nodes {
                    year status amountApplied amountGranted funderOffice { orgNumber } programme { slug }
                    recipient { ... on Service { hostMunicipality { county { number } } }
                                ... on Network { county { number } }
                                ... on Municipality { county { number } } } } } }",
                json!({ "f": filter }),
            )
            .await;
        let rows: Vec<Row> = res.data()["grants"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| Row {
                office: n["funderOffice"]["orgNumber"].as_str().unwrap().to_owned(),
                county: n["recipient"]["hostMunicipality"]["county"]["number"]
                    .as_str()
                    .or(n["recipient"]["county"]["number"].as_str())
                    .map(str::to_owned),
                programme: n["programme"]["slug"].as_str().map(str::to_owned),
                year: n["year"].as_i64().unwrap(),
                status: n["status"].as_str().unwrap().to_owned(),
                applied: n["amountApplied"].as_i64().unwrap_or(0),
                granted: n["amountGranted"].as_i64(),
            })
            .collect();
        if token == &fx.admin {
            assert_eq!(rows.len(), 8);
        }
        let dims_list: [&[&str]; 7] = [
            &[],
            &["OFFICE"],
            &["COUNTY"],
            &["PROGRAMME"],
            &["YEAR"],
            &["STATUS"],
            &["OFFICE", "YEAR", "STATUS"],
        ];
        for dims in dims_list {
            let res = fx
                .app
                .query_as(
                    Some(token),
                    "query($f: GrantFilter, $g: [GrantDimension!]!) { grantTotals(filter: $f, groupBy: $g) {
                        office { orgNumber } county { number } programme { slug } year status
                        grants applied granted paid participants kronerPerParticipant } }",
                    json!({ "f": filter, "g": dims }),
                )
                .await;
            let got: BTreeMap<String, Value> = res.data()["grantTotals"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    let key = format!(
                        "{}|{}|{}|{}|{}",
                        r["office"]["orgNumber"],
                        r["county"]["number"],
                        r["programme"]["slug"],
                        r["year"],
                        r["status"]
                    );
                    let sums = json!([
                        r["grants"],
                        r["applied"],
                        r["granted"],
                        r["paid"],
                        r["participants"],
                        r["kronerPerParticipant"]
                    ]);
                    (key, sums)
                })
                .collect();
            let mut want: BTreeMap<String, [i64; 4]> = BTreeMap::new();
            if dims.is_empty() {
                want.insert("null|null|null|null|null".into(), [0; 4]);
            }
            for r in &rows {
                let has = |d: &str| dims.contains(&d);
                let s = |v: Option<String>| v.map_or("null".to_owned(), |x| format!("\"{x}\""));
                let key = format!(
                    "{}|{}|{}|{}|{}",
                    if has("OFFICE") {
                        s(Some(r.office.clone()))
                    } else {
                        "null".into()
                    },
                    if has("COUNTY") {
                        s(r.county.clone())
                    } else {
                        "null".into()
                    },
                    if has("PROGRAMME") {
                        s(r.programme.clone())
                    } else {
                        "null".into()
                    },
                    if has("YEAR") {
                        r.year.to_string()
                    } else {
                        "null".into()
                    },
                    if has("STATUS") {
                        s(Some(r.status.clone()))
                    } else {
                        "null".into()
                    },
                );
                let e = want.entry(key).or_insert([0; 4]);
                e[0] += 1;
                e[1] += r.applied;
                if ["GRANTED", "PAID", "REPORTED"].contains(&r.status.as_str()) {
                    e[2] += r.granted.unwrap_or(0);
                }
                if ["PAID", "REPORTED"].contains(&r.status.as_str()) {
                    e[3] += r.granted.unwrap_or(0);
                }
            }
            let want: BTreeMap<String, Value> = want
                .into_iter()
                .map(|(k, [n, a, g, p])| (k, json!([n, a, g, p, null, null])))
                .collect();
            assert_eq!(got, want, "groupBy {dims:?}");
        }
    }
    // The admin's overall figures, spelled out.
    let res = fx
        .app
        .query_as(
            Some(&fx.admin),
            "{ grantTotals(filter: {programme: \"tjenestestotteprogrammet\"}, groupBy: []) { grants applied granted paid } }",
            json!({}),
        )
        .await;
    assert_eq!(
        res.data()["grantTotals"],
        json!([{ "grants": 8,
                 "applied": 100_001 + 50_000 + 33_333 + 25_000 + 10_000 + 7_000 + 90_000 + 60_000,
                 "granted": 77_777 + 50_000 + 11_111 + 45_001,
                 "paid": 50_000 + 11_111 + 45_001 }])
    );
    // Grouped with no matching grants: no rows; ungrouped: one row of zeros.
    let res = fx
        .app
        .query_as(
            Some(&fx.admin),
            "{ a: grantTotals(filter: {year: 1991}, groupBy: [YEAR]) { grants }
               b: grantTotals(filter: {year: 1991}, groupBy: []) { grants applied participants } }",
            json!({}),
        )
        .await;
    assert_eq!(res.data()["a"], json!([]));
    assert_eq!(
        res.data()["b"],
        json!([{ "grants": 0, "applied": 0, "participants": null }])
    );
    // The demo's three grants, by office.
    let res = fx
        .app
        .query_as(
            Some(&fx.admin),
            "{ grantTotals(filter: {programme: \"gode-samtaler-med-ungdomsfamilier\"}, groupBy: [OFFICE]) { office { orgNumber } grants } }",
            json!({}),
        )
        .await;
    assert_eq!(
        res.data()["grantTotals"],
        json!([{ "office": { "orgNumber": MORE }, "grants": 1 }])
    );
}

/// A regional learning network in Innlandet (county 34) named `name`,
/// with a unique slug from `slug`, coordinated by `coordinator`.
async fn insert_network(
    fx: &Fx,
    slug: String,
    name: String,
    coordinator: Option<Uuid>,
) -> network::Model {
    let now = chrono::Utc::now();
    network::ActiveModel {
        id: Set(Uuid::now_v7()),
        slug: Set(slug),
        name: Set(name),
        kind: Set(NetworkKind::LearningNetwork),
        scope: Set(NetworkScope::Regional),
        county_id: Set(Some(county_id(&fx.app, "34").await)),
        coordinator_service_id: Set(coordinator),
        description: Set(None),
        reported_member_count: Set(None),
        source: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&fx.app.db)
    .await
    .unwrap()
}

/// A membership of `service` in `network` from `joined` to `left`.
async fn insert_member(
    db: &sea_orm::DatabaseConnection,
    network: Uuid,
    service: Uuid,
    joined: Option<chrono::NaiveDate>,
    left: Option<chrono::NaiveDate>,
) {
    let now = chrono::Utc::now();
    network_member::ActiveModel {
        id: Set(Uuid::now_v7()),
        network_id: Set(network),
        service_id: Set(service),
        joined_on: Set(joined),
        left_on: Set(left),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
    .unwrap();
}

/// A completed run of `programme` for `network` in `year` with two course
/// days, and for each of `people` (service, present at day 1, at day 2; `None`:
/// no record) a person with those attendance records. The rows go in
/// directly, so the run's statistics tallies (which a grant's attendance
/// is read from) are recounted.
async fn run_with_attendance(
    db: &sea_orm::DatabaseConnection,
    programme: Uuid,
    network: Uuid,
    year: i32,
    people: &[(Uuid, Option<bool>, Option<bool>)],
    now: chrono::DateTime<chrono::Utc>,
) -> programme_run::Model {
    let run = programme_run::ActiveModel {
        id: Set(Uuid::now_v7()),
        programme_id: Set(programme),
        network_id: Set(Some(network)),
        title: Set(format!("Oppmøtetest {}", Uuid::now_v7().simple())),
        status: Set(RunStatus::Completed),
        year: Set(Some(year)),
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
    let mut sessions = Vec::new();
    for i in 0..2 {
        sessions.push(
            session::ActiveModel {
                id: Set(Uuid::now_v7()),
                run_id: Set(run.id),
                position: Set(i + 1),
                title: Set(format!("Fagdag {}", i + 1)),
                kind: Set(SessionKind::CourseDay),
                audience: Set(Audience::AllStaff),
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
            .unwrap()
            .id,
        );
    }
    for (i, (service, first, second)) in people.iter().enumerate() {
        let p = person::ActiveModel {
            id: Set(Uuid::now_v7()),
            service_id: Set(*service),
            name: Set(format!("Deltaker {i}")),
            email: Set(None),
            job_title: Set(None),
            is_leader: Set(false),
            synthetic: Set(true),
            record_key: Set(person::new_record_key()),
            erased_at: Set(None),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(db)
        .await
        .unwrap();
        for (s, present) in sessions.iter().zip([first, second]) {
            if let Some(present) = present {
                attendance::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    session_id: Set(*s),
                    person_id: Set(p.id),
                    present: Set(*present),
                    synthetic: Set(true),
                    recorded_at: Set(now),
                    version: Set(1),
                    created_at: Set(now),
                    updated_at: Set(now),
                }
                .insert(db)
                .await
                .unwrap();
            }
        }
    }
    kompetanse::domain::statistics::tally::refresh_run(db, run.id)
        .await
        .unwrap();
    run
}

#[tokio::test]
async fn reported_participants_are_checked_against_recorded_attendance() {
    let fx = fx().await;
    let db = &fx.app.db;
    let now = chrono::Utc::now();
    let loten = common::service_id(db, "loten-barneverntjeneste").await;
    let stange = common::service_id(db, "stange-barneverntjeneste").await;
    // A network coordinated by Hamar: Hamar and Elverum are members, Løten
    // has left; Stange is not a member.
    let net = insert_network(
        &fx,
        format!("gr-deltakere-{}", Uuid::now_v7().simple()),
        "Nettverk for deltakertest".into(),
        Some(fx.hamar),
    )
    .await;
    for (service, left) in [
        (fx.hamar, None),
        (fx.elverum, None),
        (
            loten,
            Some(chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap()),
        ),
    ] {
        insert_member(db, net.id, service, None, left).await;
    }
    // Persons and their attendance: (service, present at session 1,
    // present at session 2).
    let people = [
        (fx.hamar, Some(true), Some(true)),   // counts once
        (fx.hamar, Some(false), Some(true)),  // counts
        (fx.hamar, Some(false), Some(false)), // never present
        (fx.elverum, Some(true), None),       // counts
        (fx.elverum, None, Some(true)),       // counts
        (loten, Some(true), Some(true)),      // left the network
        (stange, Some(true), Some(true)),     // not a member
    ];
    let run = run_with_attendance(db, fx.nubu_programme, net.id, 2026, &people, now).await;
    let present = 4;

    let draft = json!({
        "recipientNetwork": gid("Network", net.id),
        "run": gid("ProgrammeRun", run.id),
        "purpose": "Fagdager i nettverket",
        "year": 2026,
        "amountApplied": 200_000,
    });
    let res = call(&fx, Some(&fx.leader), "draftGrant", draft.clone()).await;
    let g = grant(&res, "draftGrant").clone();
    let mut g = g;
    for (token, m, extra) in [
        (&fx.leader, "submitGrant", json!({})),
        (
            &fx.funder,
            "decideGrant",
            json!({ "decision": "GRANTED", "amountGranted": 150_001 }),
        ),
        (&fx.funder, "markGrantPaid", json!({})),
    ] {
        let mut input = json!({ "id": g["id"], "version": g["version"] });
        for (k, v) in extra.as_object().unwrap() {
            input[k] = v.clone();
        }
        let res = call(&fx, Some(token), m, input).await;
        g = grant(&res, m).clone();
    }
    // More than the recorded attendance: refused, naming the figure as the
    // reporter may see it. Hamar's leader has no rights on Elverum's two,
    // so its bound is the protected figure `grantTotals` shows it (a
    // withheld figure bounds at 4), never the exact count it could probe
    // for.
    let shown = fx
        .app
        .query_as(
            Some(&fx.leader),
            "query($r: ID!, $n: ID!) { grantTotals(filter: {run: $r, recipient: $n}, groupBy: []) { participants } }",
            json!({ "r": gid("ProgrammeRun", run.id), "n": gid("Network", net.id) }),
        )
        .await;
    let bound = shown.data()["grantTotals"][0]["participants"]
        .as_i64()
        .unwrap_or(4);
    let res = call(
        &fx,
        Some(&fx.leader),
        "reportGrant",
        json!({ "id": g["id"], "version": g["version"], "text": "Gjennomført", "participants": bound + 1 }),
    )
    .await;
    assert_eq!(field(&res), "input.participants");
    assert!(
        message(&res).contains(&format!("{bound} persons")),
        "{}",
        message(&res)
    );
    let reported = present.min(bound);
    let res = call(
        &fx,
        Some(&fx.leader),
        "reportGrant",
        json!({ "id": g["id"], "version": g["version"], "text": "Gjennomført", "participants": reported }),
    )
    .await;
    assert_eq!(grant(&res, "reportGrant")["reportParticipants"], reported);

    // A second grant of the same run, still submitted: participants count,
    // but not in kroner per participant (nothing granted yet).
    let res = call(&fx, Some(&fx.leader), "draftGrant", draft.clone()).await;
    let g2 = grant(&res, "draftGrant").clone();
    call(
        &fx,
        Some(&fx.leader),
        "submitGrant",
        json!({ "id": g2["id"], "version": g2["version"] }),
    )
    .await
    .data();
    // A grant for Hamar alone on the run: Hamar's two present.
    let mut hamar_only = draft.clone();
    hamar_only
        .as_object_mut()
        .unwrap()
        .remove("recipientNetwork");
    hamar_only["recipientService"] = json!(gid("Service", fx.hamar));
    let h = grant_in(&fx, hamar_only, State::Paid, 10_000).await;
    let res = call(
        &fx,
        Some(&fx.leader),
        "reportGrant",
        json!({ "id": h["id"], "version": h["version"], "text": "Rapport", "participants": 3 }),
    )
    .await;
    assert!(message(&res).contains("2 persons"), "{}", res.body);

    let res = fx
        .app
        .query_as(
            Some(&fx.admin),
            "query($r: ID!) { all: grantTotals(filter: {run: $r}, groupBy: []) {
                 grants granted participants kronerPerParticipant }
               st: grantTotals(filter: {run: $r}, groupBy: [STATUS]) {
                 status grants granted participants kronerPerParticipant } }",
            json!({ "r": gid("ProgrammeRun", run.id) }),
        )
        .await;
    // Granted: 150 001 (network, 4 present) + 10 000 (Hamar, 2 present);
    // the submitted network grant adds 4 participants, no kroner.
    let per = |g: i64, p: i64| (2 * g + p) / (2 * p);
    assert_eq!(
        res.data()["all"],
        json!([{ "grants": 3, "granted": 160_001, "participants": 10,
                 "kronerPerParticipant": per(160_001, 6) }])
    );
    let st: BTreeMap<String, Value> = res.data()["st"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["status"].as_str().unwrap().to_owned(), r.clone()))
        .collect();
    assert_eq!(st["REPORTED"]["kronerPerParticipant"], per(150_001, 4));
    assert_eq!(st["REPORTED"]["kronerPerParticipant"], 37_500);
    assert_eq!(st["PAID"]["participants"], 2);
    assert_eq!(st["PAID"]["kronerPerParticipant"], 5_000);
    assert_eq!(st["SUBMITTED"]["participants"], 4);
    assert_eq!(st["SUBMITTED"]["kronerPerParticipant"], Value::Null);
}

/// The attendance behind grant totals counts each service of a recipient
/// once, and only the recipient's: a municipality's services are those
/// covering it or hosted there (a service that does both, or covers
/// several municipalities, counts once); a network's are its current
/// members (a member with two current memberships counts once; one who
/// left, or joins later, not at all). The county of a service without a
/// host is that of the first municipality it covers, by number; a grant
/// without a run has no participants. Every figure is computed by hand.
#[tokio::test]
async fn totals_count_each_service_of_the_recipient_once() {
    let fx = fx().await;
    let db = &fx.app.db;
    let now = chrono::Utc::now();
    let tag = Uuid::now_v7().simple().to_string();
    let muni = |number: &'static str| {
        common::uuid_of::<municipality::Entity>(
            db,
            municipality::Column::Number,
            municipality::Column::Id,
            number,
        )
    };
    let (ringsaker, loten, oslo, bergen) = (
        muni("3411").await,
        muni("3412").await,
        muni("0301").await,
        muni("4601").await,
    );
    // Services: (name, host, covered municipalities).
    let mut ids = BTreeMap::new();
    for (name, host, covers) in [
        ("A", Some(ringsaker), vec![ringsaker]),
        ("B", Some(loten), vec![ringsaker, loten]),
        ("C", Some(ringsaker), vec![]),
        ("D", Some(loten), vec![loten]),
        ("E", None, vec![bergen, oslo]),
    ] {
        let s = service::ActiveModel {
            id: Set(Uuid::now_v7()),
            slug: Set(format!("gr-tjeneste-{}-{tag}", name.to_lowercase())),
            name: Set(format!("Tjeneste {name} {tag}")),
            kind: Set(ServiceKind::ChildWelfare),
            host_municipality_id: Set(host),
            notes: Set(None),
            source: Set(None),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(db)
        .await
        .unwrap();
        for m in covers {
            service_municipality::ActiveModel {
                service_id: Set(s.id),
                municipality_id: Set(m),
            }
            .insert(db)
            .await
            .unwrap();
        }
        ids.insert(name, s.id);
    }
    // A network in Innlandet: A twice (an ended and a current membership:
    // two current ones the database refuses), C; B has left, D joins in
    // the future.
    let net = insert_network(
        &fx,
        format!("gr-summer-{tag}"),
        format!("Nettverk for summer {tag}"),
        None,
    )
    .await;
    let day = |y: i32| chrono::NaiveDate::from_ymd_opt(y, 1, 1).unwrap();
    for (name, joined, left) in [
        ("A", Some(day(2015)), Some(day(2018))),
        ("A", Some(day(2021)), None),
        ("C", None, None),
        ("B", Some(day(2018)), Some(day(2020))),
        ("D", Some(day(2999)), None),
    ] {
        insert_member(db, net.id, ids[name], joined, left).await;
    }
    // Persons: (service, present at session 1, at session 2). Distinct
    // persons present: A 2, B 1, C 1, D 4, E 1.
    let people = [
        ("A", Some(true), Some(true)),
        ("A", Some(true), Some(false)),
        ("A", Some(false), None),
        ("B", Some(true), None),
        ("C", None, Some(true)),
        ("C", Some(false), Some(false)),
        ("D", Some(true), Some(true)),
        ("D", Some(true), Some(true)),
        ("D", Some(true), None),
        ("D", None, Some(true)),
        ("E", Some(true), Some(true)),
    ];
    let people: Vec<(Uuid, Option<bool>, Option<bool>)> = people
        .into_iter()
        .map(|(name, first, second)| (ids[name], first, second))
        .collect();
    let run = run_with_attendance(db, fx.nubu_programme, net.id, 2037, &people, now).await;

    // The grants, all of budget year 2037 (no other test uses it).
    let on_run = |recipient: (&str, String), amount: i64| {
        let mut d = json!({
            "run": gid("ProgrammeRun", run.id),
            "purpose": "Samlinger",
            "year": 2037,
            "amountApplied": amount,
        });
        d[recipient.0] = json!(recipient.1);
        d
    };
    let to_ringsaker = ("recipientMunicipality", gid("Municipality", ringsaker));
    let to_loten = ("recipientMunicipality", gid("Municipality", loten));
    let to_net = ("recipientNetwork", gid("Network", net.id));
    let to_e = ("recipientService", gid("Service", ids["E"]));
    let to_a = ("recipientService", gid("Service", ids["A"]));
    // Ringsaker: A (hosted and covering), B (covering two), C (hosted):
    // 2 + 1 + 1.
    grant_in(
        &fx,
        on_run(to_ringsaker.clone(), 200_000),
        State::Granted,
        100_000,
    )
    .await;
    // Løten: B and D (each hosted and covering): 1 + 4.
    grant_in(&fx, on_run(to_loten.clone(), 50_000), State::Submitted, 0).await;
    // The network: A (once) and C: 2 + 1.
    let g3 = grant_in(&fx, on_run(to_net.clone(), 40_000), State::Paid, 30_000).await;
    // E: 1, in Oslo's county (0301 before 4601).
    grant_in(&fx, on_run(to_e.clone(), 20_000), State::Granted, 10_000).await;
    // A without a run: no participants.
    let mut no_run = on_run(to_a.clone(), 8_000);
    no_run.as_object_mut().unwrap().remove("run");
    no_run["programme"] = json!(gid("Programme", fx.nubu_programme));
    grant_in(&fx, no_run, State::Granted, 5_000).await;

    // The report on the network grant is checked against its 3.
    let res = call(
        &fx,
        Some(&fx.admin),
        "reportGrant",
        json!({ "id": g3["id"], "version": g3["version"], "text": "Rapport", "participants": 4 }),
    )
    .await;
    assert_eq!(field(&res), "input.participants");
    assert!(message(&res).contains("3 persons"), "{}", res.body);
    let res = call(
        &fx,
        Some(&fx.admin),
        "reportGrant",
        json!({ "id": g3["id"], "version": g3["version"], "text": "Rapport", "participants": 3 }),
    )
    .await;
    assert_eq!(grant(&res, "reportGrant")["status"], "REPORTED");

    // Each recipient's participants.
    for (recipient, participants) in [
        (&to_ringsaker, json!(4)),
        (&to_loten, json!(5)),
        (&to_net, json!(3)),
        (&to_e, json!(1)),
        (&to_a, Value::Null),
    ] {
        let res = fx
            .app
            .query_as(
                Some(&fx.admin),
                "query($r: ID!) { grantTotals(filter: {year: 2037, recipient: $r}, groupBy: []) {
                     grants participants } }",
                json!({ "r": recipient.1 }),
            )
            .await;
        assert_eq!(
            res.data()["grantTotals"],
            json!([{ "grants": 1, "participants": participants }]),
            "{recipient:?}"
        );
    }
    // By county (and programme: every grant pays for NUBU's). Innlandet:
    // granted 100 000 + 30 000 + 5 000, of which 130 000 to 4 + 3
    // participants; the submitted Løten grant adds 5 participants, no
    // kroner.
    let res = fx
        .app
        .query_as(
            Some(&fx.admin),
            "{ grantTotals(filter: {year: 2037}, groupBy: [COUNTY, PROGRAMME]) {
                 county { number } programme { slug }
                 grants applied granted paid participants kronerPerParticipant } }",
            json!({}),
        )
        .await;
    let per = |g: i64, p: i64| (2 * g + p) / (2 * p);
    let mut rows = res.data()["grantTotals"].as_array().unwrap().clone();
    rows.sort_by_key(|r| r["county"]["number"].as_str().unwrap().to_owned());
    assert_eq!(
        rows,
        vec![
            json!({ "county": { "number": "03" }, "programme": { "slug": NUBU_PROGRAMME },
                    "grants": 1, "applied": 20_000, "granted": 10_000, "paid": 0,
                    "participants": 1, "kronerPerParticipant": 10_000 }),
            json!({ "county": { "number": "34" }, "programme": { "slug": NUBU_PROGRAMME },
                    "grants": 4, "applied": 200_000 + 50_000 + 40_000 + 8_000,
                    "granted": 100_000 + 30_000 + 5_000, "paid": 30_000,
                    "participants": 4 + 5 + 3, "kronerPerParticipant": per(130_000, 7) }),
        ]
    );
    assert_eq!(per(130_000, 7), 18_571);
    // The county filter follows the same rule.
    let res = fx
        .app
        .query_as(
            Some(&fx.admin),
            "{ oslo: grantTotals(filter: {year: 2037, county: \"03\"}, groupBy: []) { grants participants }
               innlandet: grantTotals(filter: {year: 2037, county: \"34\"}, groupBy: []) { grants participants } }",
            json!({}),
        )
        .await;
    assert_eq!(
        res.data()["oslo"],
        json!([{ "grants": 1, "participants": 1 }])
    );
    assert_eq!(
        res.data()["innlandet"],
        json!([{ "grants": 4, "participants": 12 }])
    );
}
