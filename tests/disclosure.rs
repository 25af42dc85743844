//! The attacker's tests of disclosure control (the cell key method): from
//! the answers a viewer can get, no count of 1–4 people outside its rights
//! can be worked out exactly.
//!
//! Each attack of the threat model runs against the real server on the
//! demo data, as the attacker would run it, and its result is compared
//! with the truth (what ADMIN sees). Because the noise depends only on the
//! secret record keys, the suite draws the keys anew several times (as a
//! fresh database would) and checks, for every attack, that
//!
//! - the result is wrong for some draws: the attacker, who does not know
//!   the keys, cannot tell a draw where it happens to be right from one
//!   where it is not;
//! - asking again, or the same cell through another path (grouping, filter,
//!   endpoint, role), gives the same figure, so averaging gains nothing.
//!
//! Tests that draw keys hold [`LOCK`], so that no other test of this binary
//! reads figures while the keys change.

mod common;

use std::collections::BTreeSet;
use std::sync::LazyLock;

use common::{TestApp, claims, gid, spawn_app, token};
use entity::enums::{ParticipationRole, ParticipationStatus, Role};
use entity::{municipality, network, participation, programme, programme_run};
use kompetanse::auth::policy::disclosure::THRESHOLD;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseBackend, EntityTrait, IntoActiveModel, Set,
};
use serde_json::{Value, json};
use uuid::Uuid;

/// Held by every test of this binary: key draws change every figure.
static LOCK: LazyLock<tokio::sync::Mutex<()>> = LazyLock::new(|| tokio::sync::Mutex::new(()));

/// How many times the keys are drawn anew. With the published table the
/// chance that a differencing attack is right on every draw is about
/// 0.25^DRAWS (below 1e-9), and that a perturbed figure is exact on every
/// draw 0.43^DRAWS (below 1e-5).
const DRAWS: usize = 16;

/// The demo programme of the attack: Deltakende fellesskap, run
/// for Midt-Telemark's services (4020) and two persons of Nome (4018).
const PROGRAMME: &str = "deltakende-fellesskap-og-psykisk-helse";
const NOME_SERVICE: &str = "nome-kommune-tjeneste-ikke-oppgitt";
const OWN_SERVICE: &str = "midt-telemark-psykisk-helse";
const INNLANDET_RUN: &str = "Veiledning av fosterhjem – læringsnettverket i Innlandet 2022";

/// Draws every person's record key anew (as the migration does for a
/// database) and recounts the tallies that carry the key sums.
async fn redraw_keys(db: &sea_orm::DatabaseConnection) {
    let draw = match db.get_database_backend() {
        DatabaseBackend::Postgres => "floor(random() * 4294967296)::bigint",
        _ => "(random() & 4294967295)",
    };
    db.execute_unprepared(&format!("UPDATE person SET record_key = {draw}"))
        .await
        .expect("redraw keys");
    kompetanse::domain::statistics::tally::rebuild_all(db)
        .await
        .expect("rebuild tallies");
}

struct Fx {
    app: TestApp,
    programme: Uuid,
    nome: Uuid,
    own_service: Uuid,
    m4020: Uuid,
    m4018: Uuid,
    admin: String,
    leader: String,
}

async fn fx() -> Fx {
    let app = spawn_app().await;
    let db = &app.db;
    let programme = common::uuid_of::<programme::Entity>(
        db,
        programme::Column::Slug,
        programme::Column::Id,
        PROGRAMME,
    )
    .await;
    let m = |n: &'static str| {
        common::uuid_of::<municipality::Entity>(
            db,
            municipality::Column::Number,
            municipality::Column::Id,
            n,
        )
    };
    let (m4020, m4018) = (m("4020").await, m("4018").await);
    let nome = common::service_id(db, NOME_SERVICE).await;
    let own_service = common::service_id(db, OWN_SERVICE).await;
    let mut admin = claims("disclosure-admin");
    admin.role = Some(Role::Admin);
    let mut leader = claims("disclosure-leader");
    leader.role = Some(Role::Leader);
    leader.service_id = Some(own_service);
    Fx {
        programme,
        nome,
        own_service,
        m4020,
        m4018,
        admin: token(&admin),
        leader: token(&leader),
        app,
    }
}

const STATS: &str = "query($f: StatsFilter, $g: [StatsDimension!]!) {
  participationStats(filter: $f, groupBy: $g) {
    programme { id } municipality { number } sessionKind
    participants people attendances attendanceRate completions suppressed
  }
}";

impl Fx {
    /// The rows of `participationStats` for the programme (plus `extra`
    /// filter fields), as `token` sees them.
    async fn stats(&self, token: Option<&str>, group_by: &[&str], extra: Value) -> Vec<Value> {
        let mut filter = json!({ "programme": gid("Programme", self.programme) });
        if let Value::Object(extra) = extra {
            filter.as_object_mut().unwrap().extend(extra);
        }
        self.app
            .query_as(token, STATS, json!({ "f": filter, "g": group_by }))
            .await
            .data()["participationStats"]
            .as_array()
            .unwrap()
            .clone()
    }

    /// The one national row of the programme (with `extra` filters).
    async fn total(&self, token: Option<&str>, extra: Value) -> Value {
        let rows = self.stats(token, &[], extra).await;
        assert_eq!(rows.len(), 1, "{rows:?}");
        rows[0].clone()
    }
}

/// The row of a municipality in a grouping by MUNICIPALITY.
fn municipality_row(rows: &[Value], number: &str) -> Value {
    rows.iter()
        .find(|r| r["municipality"]["number"] == number)
        .unwrap_or_else(|| panic!("no {number} in {rows:?}"))
        .clone()
}

fn n(row: &Value, measure: &str) -> Option<i64> {
    row[measure].as_i64()
}

/// What one attack recovered on each draw, against the truth.
#[derive(Default)]
struct Outcome {
    name: &'static str,
    /// The target is a figure about the records of a few people, not their
    /// number (any size).
    records: bool,
    truth: Option<i64>,
    /// The attack's result per draw; `None` where a figure it needs was
    /// withheld (the attack learned nothing that draw).
    results: Vec<Option<i64>>,
}

impl Outcome {
    fn new(name: &'static str) -> Self {
        Self {
            name,
            ..Self::default()
        }
    }

    fn record(&mut self, truth: i64, result: Option<i64>) {
        if let Some(t) = self.truth {
            assert_eq!(t, truth, "{}: the truth changed", self.name);
        }
        self.truth = Some(truth);
        self.results.push(result);
    }

    /// The attack is not exact: on some draw it is wrong or learns
    /// nothing, and its results are not one fixed value (unless it learns
    /// nothing on every draw).
    fn assert_not_exact(&self) {
        let truth = self.truth.expect("the attack ran");
        assert!(
            self.records || (1..THRESHOLD).contains(&truth),
            "{}: the target should be a small count, is {truth}",
            self.name
        );
        let wrong = self.results.iter().filter(|r| **r != Some(truth)).count();
        assert!(
            wrong > 0,
            "{}: recovered the hidden {truth} exactly on every draw: {:?}",
            self.name,
            self.results
        );
        // Withheld on every draw: the attack learned nothing at all.
        if self.results.iter().all(Option::is_none) {
            return;
        }
        let distinct: BTreeSet<Option<i64>> = self.results.iter().copied().collect();
        assert!(
            distinct.len() > 1,
            "{}: the same result on every draw: {:?}",
            self.name,
            self.results
        );
    }
}

/// `a - b` when both were shown.
fn minus(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    Some(a? - b?)
}

/// Sets the `kind` of a row of `table` (a session or a service) directly
/// (the API keeps kinds as registered) and recounts the tallies.
async fn set_kind(db: &sea_orm::DatabaseConnection, table: &str, id: Uuid, kind: &str) {
    let backend = db.get_database_backend();
    let sql = match backend {
        DatabaseBackend::Postgres => format!("UPDATE {table} SET kind = $1 WHERE id = $2"),
        _ => format!("UPDATE {table} SET kind = ? WHERE id = ?"),
    };
    db.execute_raw(sea_orm::Statement::from_sql_and_values(
        backend,
        sql,
        [kind.into(), id.into()],
    ))
    .await
    .expect("set kind");
    kompetanse::domain::statistics::tally::rebuild_all(db)
        .await
        .expect("rebuild tallies");
}

/// The row key behind a global id of type `type_name`.
fn key_of(global_id: &str, type_name: &str) -> Uuid {
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(global_id)
        .unwrap();
    let text = String::from_utf8(raw).unwrap();
    Uuid::parse_str(text.trim_start_matches(&format!("{type_name}:"))).unwrap()
}

#[tokio::test]
async fn differencing_attacks_recover_no_small_count() {
    let _guard = LOCK.lock().await;
    let fx = fx().await;
    let admin = Some(fx.admin.as_str());
    let leader = Some(fx.leader.as_str());
    let nome_filter = json!({ "municipality": gid("Municipality", fx.m4018) });
    let mt_filter = json!({ "municipality": gid("Municipality", fx.m4020) });

    let mut grouping = [
        Outcome::new("grouping: programme total − Midt-Telemark, participants"),
        Outcome::new("grouping: programme total − Midt-Telemark, completions"),
    ];
    let mut crossed = Outcome::new("grouping by programme × municipality, participants");
    let mut filtered = [
        Outcome::new("filter: programme − programme and 4020, participants"),
        Outcome::new("filter: programme − programme and 4020, completions"),
    ];
    let mut own_knowledge = Outcome::new("a leader's mixed row − its own exact part");
    set_kind(&fx.app.db, "service", fx.nome, "MENTAL_HEALTH").await;

    for draw in 0..DRAWS {
        if draw > 0 {
            redraw_keys(&fx.app.db).await;
        }
        // The truth, as ADMIN sees it: Nome's participants and completions.
        let nome_truth = fx.total(admin, nome_filter.clone()).await;

        // Grouping differencing: the national row minus Midt-Telemark's row
        // of a grouping by municipality.
        let total = fx.total(None, json!({})).await;
        let by_m = fx.stats(None, &["MUNICIPALITY"], json!({})).await;
        let mt = municipality_row(&by_m, "4020");
        for (outcome, measure) in grouping.iter_mut().zip(["participants", "completions"]) {
            outcome.record(
                n(&nome_truth, measure).unwrap(),
                minus(n(&total, measure), n(&mt, measure)),
            );
        }
        // The three queries of the issue: programme, municipality, and the
        // two crossed (which shows the programme reaches only 4018 and
        // 4020).
        let by_pm = fx
            .stats(None, &["PROGRAMME", "MUNICIPALITY"], json!({}))
            .await;
        let by_p = fx.stats(None, &["PROGRAMME"], json!({})).await;
        crossed.record(
            n(&nome_truth, "participants").unwrap(),
            minus(
                n(&by_p[0], "participants"),
                n(&municipality_row(&by_pm, "4020"), "participants"),
            ),
        );

        // Filter differencing: the programme minus the programme in 4020.
        let mt_total = fx.total(None, mt_filter.clone()).await;
        for (outcome, measure) in filtered.iter_mut().zip(["participants", "completions"]) {
            outcome.record(
                n(&nome_truth, measure).unwrap(),
                minus(n(&total, measure), n(&mt_total, measure)),
            );
        }

        // Own-knowledge subtraction: the leader of Midt-Telemark's mental
        // health service knows its own staff exactly; with Nome's service
        // of the same kind (set for this test), the MENTAL_HEALTH row mixes
        // its staff with Nome's two, and it subtracts its own part.
        let kind = json!({ "serviceKind": "MENTAL_HEALTH" });
        let own_filter = json!({ "service": gid("Service", fx.own_service) });
        let own = fx.total(leader, own_filter.clone()).await;
        let own_admin = fx.total(admin, own_filter).await;
        // Its own service it sees exactly.
        for measure in ["participants", "attendances", "completions"] {
            assert_eq!(own[measure], own_admin[measure], "{measure}");
        }
        let mixed = fx.total(leader, kind.clone()).await;
        // The mixed row is the anonymous figure: partial rights add
        // nothing to subtract from.
        let mixed_anonymous = fx.total(None, kind.clone()).await;
        for measure in ["participants", "people", "attendances"] {
            assert_eq!(mixed[measure], mixed_anonymous[measure], "{measure}");
        }
        let mixed_truth = fx.total(admin, kind).await;
        assert_eq!(
            n(&mixed_truth, "participants").unwrap() - n(&own_admin, "participants").unwrap(),
            n(&nome_truth, "participants").unwrap()
        );
        own_knowledge.record(
            n(&nome_truth, "participants").unwrap(),
            minus(n(&mixed, "participants"), n(&own, "participants")),
        );
    }

    set_kind(&fx.app.db, "service", fx.nome, "OTHER").await;
    for outcome in grouping.iter().chain(filtered.iter()) {
        outcome.assert_not_exact();
    }
    crossed.assert_not_exact();
    own_knowledge.assert_not_exact();
}

#[tokio::test]
async fn the_records_of_a_few_people_are_protected_like_their_number() {
    let _guard = LOCK.lock().await;
    let fx = fx().await;
    let admin = Some(fx.admin.as_str());
    let nome = json!({ "service": gid("Service", fx.nome) });
    let mut attendances = Outcome::new("Nome's attendances (2 people)");
    attendances.records = true;
    for draw in 0..DRAWS {
        if draw > 0 {
            redraw_keys(&fx.app.db).await;
        }
        let truth = fx.total(admin, nome.clone()).await;
        assert_eq!(truth["participants"], 2, "{truth}");
        let shown = fx.total(None, nome.clone()).await;
        if shown["participants"].is_null() {
            // Withheld with their number: the records, the rate and
            // completions of the two people.
            for measure in ["attendances", "attendanceRate", "completions", "people"] {
                assert!(shown[measure].is_null(), "{measure}: {shown}");
            }
            assert_eq!(shown["suppressed"], true);
        } else {
            // Shown only perturbed to at least the threshold, never the 2.
            assert!(n(&shown, "participants").unwrap() >= THRESHOLD, "{shown}");
        }
        // Completions of 0 beside a withheld count would tell that none of
        // the few completed.
        if shown["participants"].is_null() {
            assert!(shown["completions"].is_null());
        }
        // The attacker's target here is the two people's attendance, a
        // figure about 1–4 people: recovered only through noise.
        attendances.record(n(&truth, "attendances").unwrap(), n(&shown, "attendances"));
    }
    attendances.assert_not_exact();
}

#[tokio::test]
async fn asking_again_or_another_way_gives_the_same_figure() {
    let _guard = LOCK.lock().await;
    let fx = fx().await;
    // Averaging: the same question twenty times.
    let first = fx.stats(None, &["MUNICIPALITY"], json!({})).await;
    for _ in 0..20 {
        assert_eq!(fx.stats(None, &["MUNICIPALITY"], json!({})).await, first);
    }
    // The same cell through a filter and through a grouping.
    let mt = municipality_row(&first, "4020");
    let filtered = fx
        .total(
            None,
            json!({ "municipality": gid("Municipality", fx.m4020) }),
        )
        .await;
    for measure in ["participants", "people", "attendances", "completions"] {
        assert_eq!(mt[measure], filtered[measure], "{measure}");
    }
    let by_programme = fx.stats(None, &["PROGRAMME"], json!({})).await;
    let national = fx.total(None, json!({})).await;
    for measure in ["participants", "people", "attendances", "completions"] {
        assert_eq!(by_programme[0][measure], national[measure], "{measure}");
    }
}

/// Session attendance and statistics by session kind over the same
/// records give the same figure, so one cannot be subtracted from the
/// other; and a session of a few people is withheld on both.
#[tokio::test]
async fn session_attendance_and_statistics_agree_on_the_same_records() {
    let _guard = LOCK.lock().await;
    let fx = fx().await;
    let admin = Some(fx.admin.as_str());
    const SESSIONS: &str = "query($f: SessionFilter) { sessions(filter: $f, first: 100) {
        nodes { id kind run { id programme { id slug } }
                attendance { registered present absent suppressed } } } }";
    let all = fx
        .app
        .query_as(admin, SESSIONS, json!({ "f": {} }))
        .await
        .data()["sessions"]["nodes"]
        .as_array()
        .unwrap()
        .clone();
    // Make one teaching day of the programme the only session of its kind
    // (OTHER): its statistics by session kind then count exactly the
    // records of the session.
    let session = all
        .iter()
        .find(|s| {
            s["run"]["programme"]["slug"] == PROGRAMME
                && s["kind"] == "TEACHING_DAY"
                && s["attendance"]["registered"].as_i64().unwrap_or(0) >= THRESHOLD
        })
        .expect("a teaching day with attendance")
        .clone();
    let session_id = key_of(session["id"].as_str().unwrap(), "Session");
    set_kind(&fx.app.db, "session", session_id, "OTHER").await;
    for draw in 0..DRAWS {
        if draw > 0 {
            redraw_keys(&fx.app.db).await;
        }
        let alone = fx
            .app
            .query_as(
                None,
                SESSIONS,
                json!({ "f": { "programme": PROGRAMME, "kind": "OTHER" } }),
            )
            .await
            .data()["sessions"]["nodes"]
            .as_array()
            .unwrap()
            .clone();
        assert_eq!(alone.len(), 1);
        let attendance = &alone[0]["attendance"];
        let stats = fx.total(None, json!({ "sessionKind": "OTHER" })).await;
        if !stats["attendances"].is_null() && !attendance["present"].is_null() {
            assert_eq!(
                stats["attendances"], attendance["present"],
                "{stats} {attendance}"
            );
        }
    }
    set_kind(&fx.app.db, "session", session_id, "TEACHING_DAY").await;

    // Every session a viewer without rights sees: 0, withheld, or at
    // least the threshold; and withheld together when registered is.
    let anon = fx
        .app
        .query_as(None, SESSIONS, json!({ "f": {} }))
        .await
        .data()["sessions"]["nodes"]
        .as_array()
        .unwrap()
        .clone();
    for (s, truth) in anon.iter().zip(&all) {
        assert_eq!(s["id"], truth["id"]);
        let a = &s["attendance"];
        for f in ["registered", "present", "absent"] {
            match (a[f].as_i64(), truth["attendance"][f].as_i64().unwrap()) {
                (Some(v), t) => assert!(v == 0 && t == 0 || v >= THRESHOLD, "{f}: {s} vs {truth}"),
                (None, _) => assert_eq!(a["suppressed"], true),
            }
        }
        if a["registered"].is_null() {
            assert!(a["present"].is_null() && a["absent"].is_null(), "{s}");
        }
    }
}

/// A leader who coordinates a network drafts a grant naming a run: the
/// grant's participants include other services' people, which it sees
/// only through the noise (and its own exactly).
#[tokio::test]
async fn grant_participants_are_protected_like_statistics() {
    let _guard = LOCK.lock().await;
    let fx = fx().await;
    let db = &fx.app.db;
    let admin = Some(fx.admin.as_str());
    let hamar = common::service_id(db, "hamar-barneverntjeneste").await;
    let net = common::uuid_of::<network::Entity>(
        db,
        network::Column::Slug,
        network::Column::Id,
        "laeringsnettverk-innlandet",
    )
    .await;
    let run = common::uuid_of::<programme_run::Entity>(
        db,
        programme_run::Column::Title,
        programme_run::Column::Id,
        INNLANDET_RUN,
    )
    .await;
    let mut row = network::Entity::find_by_id(net)
        .one(db)
        .await
        .unwrap()
        .unwrap()
        .into_active_model();
    row.coordinator_service_id = Set(Some(hamar));
    row.update(db).await.unwrap();
    let mut leader = claims("disclosure-hamar");
    leader.role = Some(Role::Leader);
    leader.service_id = Some(hamar);
    let leader = token(&leader);
    let office = common::office_id(db, "974761645").await;
    for recipient in [
        json!({ "recipientNetwork": gid("Network", net) }),
        json!({ "recipientService": gid("Service", hamar) }),
    ] {
        let mut input = json!({
            "funderOffice": gid("FunderOffice", office),
            "run": gid("ProgrammeRun", run),
            "purpose": "Fagdager",
            "year": 2026,
            "amountApplied": 10_000,
        });
        input
            .as_object_mut()
            .unwrap()
            .extend(recipient.as_object().unwrap().clone());
        let res = fx
            .app
            .query_as(
                Some(&leader),
                "mutation($i: DraftGrantInput!) { draftGrant(input: $i) { grant { id } } }",
                json!({ "i": input }),
            )
            .await;
        res.data();
    }
    const TOTALS: &str = "query($f: GrantFilter) { grantTotals(filter: $f, groupBy: [STATUS]) {
        grants participants kronerPerParticipant suppressed } }";
    let by_recipient = |r: Uuid, ty: &str| json!({ "f": { "run": gid("ProgrammeRun", run), "recipient": gid(ty, r) } });
    let mut network_figure =
        Outcome::new("the network grant's participants, as its leader sees them");
    network_figure.records = true;
    let mut others = Outcome::new("network grant participants − own service's");
    for draw in 0..DRAWS {
        if draw > 0 {
            redraw_keys(db).await;
        }
        let get = |t: Option<&str>, v: Value| {
            let app = &fx.app;
            let t = t.map(str::to_owned);
            async move { app.query_as(t.as_deref(), TOTALS, v).await.data()["grantTotals"][0].clone() }
        };
        let net_truth = get(admin, by_recipient(net, "Network")).await;
        let own_truth = get(admin, by_recipient(hamar, "Service")).await;
        let net_leader = get(Some(leader.as_str()), by_recipient(net, "Network")).await;
        let own_leader = get(Some(leader.as_str()), by_recipient(hamar, "Service")).await;
        let (total, own) = (
            net_truth["participants"]
                .as_i64()
                .expect("attendance recorded"),
            own_truth["participants"]
                .as_i64()
                .expect("attendance recorded"),
        );
        assert!(total > own, "other services take part: {total} vs {own}");
        // Its own staff it sees exactly; the network, with other
        // services' people, only protected.
        assert_eq!(own_leader["participants"], own_truth["participants"]);
        network_figure.record(total, net_leader["participants"].as_i64());
        if net_leader["participants"].is_null() {
            assert!(net_leader["kronerPerParticipant"].is_null());
            assert_eq!(net_leader["suppressed"], true);
        }
        if total - own < THRESHOLD {
            others.record(
                total - own,
                minus(
                    net_leader["participants"].as_i64(),
                    own_leader["participants"].as_i64(),
                ),
            );
        }
    }
    network_figure.assert_not_exact();
    if others.truth.is_some() {
        others.assert_not_exact();
    }
}

/// Every filter on personal data applies the viewer's rules to the rows it
/// filters by: a provider cannot list its own participants through
/// another provider's run.
#[tokio::test]
async fn a_person_filter_cannot_reach_through_another_providers_run() {
    let _guard = LOCK.lock().await;
    let fx = fx().await;
    let db = &fx.app.db;
    let nubu = common::provider_id(db, "nubu").await;
    let mut provider = claims("disclosure-nubu");
    provider.role = Some(Role::Provider);
    provider.provider_id = Some(nubu);
    let provider = token(&provider);
    // A participant of NUBU's runs that NUBU may see.
    let persons = fx
        .app
        .query_as(
            Some(&provider),
            "{ persons(first: 1) { nodes { id } } }",
            json!({}),
        )
        .await;
    let person_gid = persons.data()["persons"]["nodes"][0]["id"]
        .as_str()
        .expect("NUBU sees a participant")
        .to_owned();
    let person_id = key_of(&person_gid, "Person");
    // The person also signs up to RVTS Sør's run.
    let other_run = common::uuid_of::<programme_run::Entity>(
        db,
        programme_run::Column::Title,
        programme_run::Column::Id,
        "Deltakende fellesskap og psykisk helse – Bø og Sauherad",
    )
    .await;
    let now = chrono::Utc::now();
    participation::Model {
        id: Uuid::now_v7(),
        person_id,
        run_id: other_run,
        role: ParticipationRole::Staff,
        status: ParticipationStatus::Active,
        synthetic: true,
        sessions_attended: 0,
        sessions_required: 0,
        completed: false,
        version: 1,
        created_at: now,
        updated_at: now,
    }
    .into_active_model()
    .insert(db)
    .await
    .unwrap();
    // ADMIN finds the person through that run; the provider does not.
    let q = "query($f: PersonFilter) { persons(filter: $f) { totalCount nodes { id } } }";
    let f = json!({ "f": { "run": gid("ProgrammeRun", other_run) } });
    let as_admin = fx.app.query_as(Some(&fx.admin), q, f.clone()).await;
    let found: Vec<&Value> = as_admin.data()["persons"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["id"] == person_gid.as_str())
        .collect();
    assert_eq!(found.len(), 1);
    let as_provider = fx.app.query_as(Some(&provider), q, f).await;
    assert_eq!(
        as_provider.data()["persons"]["totalCount"],
        0,
        "{}",
        as_provider.body
    );
    // The run's own participant list agrees.
    let run = fx
        .app
        .query_as(
            Some(&provider),
            "query($id: ID!) { node(id: $id) { ... on ProgrammeRun { participants { nodes { person { id } } } } } }",
            json!({ "id": gid("ProgrammeRun", other_run) }),
        )
        .await;
    assert!(!run.body.to_string().contains(&person_gid), "{}", run.body);
}

/// Record keys never leave the database: not in the schema, not in the
/// audit log of a person's creation.
#[tokio::test]
async fn record_keys_are_never_exposed() {
    let _guard = LOCK.lock().await;
    let fx = fx().await;
    let schema = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql"))
        .unwrap()
        .to_lowercase();
    assert!(!schema.contains("recordkey") && !schema.contains("record_key"));
    let res = fx
        .app
        .query_as(
            Some(&fx.admin),
            "mutation($i: RegisterPersonInput!) { registerPerson(input: $i) { person { id } } }",
            json!({ "i": {
                "service": gid("Service", fx.nome),
                "name": "Nøkkel Testesen",
                "email": "nokkel.testesen@example.invalid",
                "isLeader": false,
            } }),
        )
        .await;
    res.data();
    let log = fx
        .app
        .query_as(
            Some(&fx.admin),
            "{ auditLog(first: 50) { nodes { action change } } }",
            json!({}),
        )
        .await;
    let text = log.data().to_string();
    assert!(text.contains("registerPerson"), "{text}");
    assert!(
        !text.contains("record_key") && !text.contains("recordKey"),
        "{text}"
    );
}
