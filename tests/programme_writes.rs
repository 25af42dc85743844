//! Writing programmes and milestones: who may (ADMIN and the programme's
//! providers), input checks naming their fields, optimistic locking, the
//! completion recompute after a changed rule, and the audit trail.

mod common;

use common::gid;

use common::{GqlResponse, TestApp, claims, spawn_app, token};
use entity::enums::{ParticipationStatus, Role};
use entity::{participation, person, programme, programme_run};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

/// Tokens of the roles the tests use.
struct Tokens {
    admin: String,
    nubu: String,
    rvts_sor: String,
    bufdir: String,
    leader: String,
    staff: String,
    funder: String,
}

async fn tokens(app: &TestApp) -> Tokens {
    let provider = |sub: &str, id: Uuid| {
        let mut c = claims(sub);
        c.role = Some(Role::Provider);
        c.provider_id = Some(id);
        token(&c)
    };
    let mut admin = claims("pw-admin");
    admin.role = Some(Role::Admin);
    let mut leader = claims("pw-leader");
    leader.role = Some(Role::Leader);
    let hamar = common::service_id(&app.db, "hamar-barneverntjeneste").await;
    leader.service_id = Some(hamar);
    let mut staff = claims("pw-staff");
    staff.role = Some(Role::Staff);
    staff.person_id = Some(
        person::Entity::find()
            .filter(person::Column::ServiceId.eq(hamar))
            .one(&app.db)
            .await
            .unwrap()
            .expect("a demo person in Hamar")
            .id,
    );
    let mut funder = claims("pw-funder");
    funder.role = Some(Role::Funder);
    funder.funder_office_id = Some(common::office_id(&app.db, "974761645").await);
    Tokens {
        admin: token(&admin),
        nubu: provider("pw-nubu", common::provider_id(&app.db, "nubu").await),
        rvts_sor: provider(
            "pw-rvts-sor",
            common::provider_id(&app.db, "rvts-sor").await,
        ),
        bufdir: provider("pw-bufdir", common::provider_id(&app.db, "bufdir").await),
        leader: token(&leader),
        staff: token(&staff),
        funder: token(&funder),
    }
}

const CREATE: &str = "mutation($input: CreateProgrammeInput!) { createProgramme(input: $input) {
    programme { id slug name shortName summary goals learningObjectives version
      competenceAreas { name description }
      completionRule { minAttendancePercent description }
      themes targetServiceKinds source
      leadProvider { slug }
      providers { role provider { slug } } } } }";

const UPDATE: &str = "mutation($input: UpdateProgrammeInput!) { updateProgramme(input: $input) {
    programme { id slug name shortName summary description goals learningObjectives version
      completionRule { minAttendancePercent description }
      themes targetServiceKinds source } } }";

const CREATE_MS: &str = "mutation($input: CreateMilestoneInput!) { createMilestone(input: $input) {
    milestone { id position yearFrom yearTo period text figure unit qualifier source version
      programme { slug } } } }";

const UPDATE_MS: &str = "mutation($input: UpdateMilestoneInput!) { updateMilestone(input: $input) {
    milestone { id position yearFrom yearTo text figure unit qualifier source version } } }";

const DELETE_MS: &str = "mutation($input: DeleteMilestoneInput!) { deleteMilestone(input: $input) {
    deletedId programme { milestones { id position text } } } }";

async fn run(app: &TestApp, tok: Option<&str>, q: &str, input: Value) -> GqlResponse {
    app.query_as(tok, q, json!({ "input": input })).await
}

/// The code and field of the first error.
fn failure(res: &GqlResponse) -> (String, String) {
    let e = res.first_error();
    (
        e["extensions"]["code"]
            .as_str()
            .unwrap_or("<none>")
            .to_owned(),
        e["extensions"]["field"].as_str().unwrap_or("").to_owned(),
    )
}

fn assert_code(res: &GqlResponse, code: &str, what: &str) {
    assert_eq!(res.codes(), [code], "{what}: {}", res.body);
}

fn assert_bad(res: &GqlResponse, field: &str, what: &str) {
    assert_eq!(
        failure(res),
        ("BAD_USER_INPUT".to_owned(), field.to_owned()),
        "{what}: {}",
        res.body
    );
}

/// The global id and version of the programme with this slug.
async fn programme_ref(app: &TestApp, slug: &str) -> (String, i64) {
    let d = app
        .query(
            "query($s: String!) { programme(slug: $s) { id version } }",
            json!({ "s": slug }),
        )
        .await;
    let p = &d.data()["programme"];
    (
        p["id"].as_str().expect("programme exists").to_owned(),
        p["version"].as_i64().unwrap(),
    )
}

async fn programme_exists(app: &TestApp, slug: &str) -> bool {
    programme::Entity::find()
        .filter(programme::Column::Slug.eq(slug))
        .count(&app.db)
        .await
        .unwrap()
        > 0
}

/// A small programme led by NUBU, made through the API; returns (id, version).
async fn nubu_programme(app: &TestApp, t: &Tokens, slug: &str) -> (String, i64) {
    let res = run(
        app,
        Some(&t.nubu),
        CREATE,
        json!({ "slug": slug, "name": format!("Programme {slug}") }),
    )
    .await;
    let p = &res.data()["createProgramme"]["programme"];
    (
        p["id"].as_str().unwrap().to_owned(),
        p["version"].as_i64().unwrap(),
    )
}

async fn audit_actions(app: &TestApp, t: &Tokens, id: &str) -> Vec<String> {
    let res = app
        .query_as(
            Some(&t.admin),
            "query($id: ID!) { auditLog(filter: {entity: $id}) { nodes { action } } }",
            json!({ "id": id }),
        )
        .await;
    let mut actions: Vec<String> = res.data()["auditLog"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["action"].as_str().unwrap().to_owned())
        .collect();
    actions.reverse(); // oldest first
    actions
}

// --- createProgramme -------------------------------------------------------------------

#[tokio::test]
async fn a_provider_creates_a_programme_it_leads() {
    let app = spawn_app().await;
    let t = tokens(&app).await;
    let rvts_sor = gid("Provider", common::provider_id(&app.db, "rvts-sor").await);
    let res = run(
        &app,
        Some(&t.nubu),
        CREATE,
        json!({
            "slug": "pw-foreldreveiledning",
            "name": "  Foreldreveiledning i barnevernet  ",
            "shortName": "FIB",
            "summary": "Et program for veiledere.",
            "goals": ["Bedre veiledning", " Felles språk "],
            "learningObjectives": ["Kjenne modellen"],
            "competenceAreas": [{ "name": "Ferdigheter", "description": "Trening" }],
            "completionMinPercent": 80,
            "completionRule": "Minst 80 % av samlingene.",
            "partners": [rvts_sor],
            "serviceKinds": ["CHILD_WELFARE", "CHILD_WELFARE", "REFUGEE"],
            "themes": ["veiledning", "foreldre", " veiledning "],
            "source": "https://example.no/program",
        }),
    )
    .await;
    let p = &res.data()["createProgramme"]["programme"];
    assert_eq!(p["slug"], "pw-foreldreveiledning");
    assert_eq!(p["name"], "Foreldreveiledning i barnevernet");
    assert_eq!(p["version"], 1);
    assert_eq!(p["goals"], json!(["Bedre veiledning", "Felles språk"]));
    assert_eq!(p["learningObjectives"], json!(["Kjenne modellen"]));
    assert_eq!(
        p["competenceAreas"],
        json!([{ "name": "Ferdigheter", "description": "Trening" }])
    );
    assert_eq!(p["completionRule"]["minAttendancePercent"], 80);
    assert_eq!(p["themes"], json!(["foreldre", "veiledning"]));
    let mut kinds: Vec<String> = serde_json::from_value(p["targetServiceKinds"].clone()).unwrap();
    kinds.sort();
    assert_eq!(kinds, ["CHILD_WELFARE", "REFUGEE"]);
    assert_eq!(p["leadProvider"]["slug"], "nubu");
    assert_eq!(
        p["providers"],
        json!([
            { "role": "LEAD", "provider": { "slug": "nubu" } },
            { "role": "PARTNER", "provider": { "slug": "rvts-sor" } },
        ])
    );
    assert_eq!(p["source"], "https://example.no/program");
    let id = p["id"].as_str().unwrap().to_owned();

    // Readable by anyone through the catalogue.
    let d = app
        .query(
            "{ programme(slug: \"pw-foreldreveiledning\") { id shortName } }",
            json!({}),
        )
        .await;
    assert_eq!(d.data()["programme"]["id"], id.as_str());

    // The partner may change it too.
    let res = run(
        &app,
        Some(&t.rvts_sor),
        UPDATE,
        json!({ "id": id, "version": 1, "summary": "Endret av partner." }),
    )
    .await;
    assert_eq!(res.data()["updateProgramme"]["programme"]["version"], 2);

    assert_eq!(
        audit_actions(&app, &t, &id).await,
        ["createProgramme", "updateProgramme"]
    );
    // The audit entry of the creation has the providers and themes.
    let res = app
        .query_as(
            Some(&t.admin),
            "query($id: ID!) { auditLog(filter: {entity: $id, entityType: \"Programme\"}) { nodes { action role subject change } } }",
            json!({ "id": id }),
        )
        .await;
    let nodes = res.data()["auditLog"]["nodes"].as_array().unwrap().clone();
    let created = nodes
        .iter()
        .find(|n| n["action"] == "createProgramme")
        .unwrap();
    assert_eq!(created["role"], "PROVIDER");
    assert_eq!(created["subject"], "pw-nubu");
    assert_eq!(created["change"]["before"], Value::Null);
    assert_eq!(created["change"]["after"]["slug"], "pw-foreldreveiledning");
    assert_eq!(
        created["change"]["after"]["themes"],
        json!(["foreldre", "veiledning"])
    );
    assert_eq!(
        created["change"]["after"]["providers"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn admin_creates_with_any_lead_or_none() {
    let app = spawn_app().await;
    let t = tokens(&app).await;
    let bufdir = gid("Provider", common::provider_id(&app.db, "bufdir").await);
    let res = run(
        &app,
        Some(&t.admin),
        CREATE,
        json!({ "slug": "pw-admin-led", "name": "Bufdir-program", "provider": bufdir }),
    )
    .await;
    let p = &res.data()["createProgramme"]["programme"];
    assert_eq!(p["leadProvider"]["slug"], "bufdir");
    assert_eq!(p["goals"], json!([]));
    assert_eq!(p["themes"], json!([]));
    assert_eq!(p["completionRule"], Value::Null);

    let res = run(
        &app,
        Some(&t.admin),
        CREATE,
        json!({ "slug": "pw-no-lead", "name": "Uten tilbyder" }),
    )
    .await;
    let p = &res.data()["createProgramme"]["programme"];
    assert_eq!(p["leadProvider"], Value::Null);
    assert_eq!(p["providers"], json!([]));
    // No provider may change it; ADMIN may.
    let id = p["id"].as_str().unwrap();
    let res = run(
        &app,
        Some(&t.nubu),
        UPDATE,
        json!({ "id": id, "version": 1, "name": "x" }),
    )
    .await;
    assert_code(
        &res,
        "FORBIDDEN",
        "provider on a programme without providers",
    );
    let res = run(
        &app,
        Some(&t.admin),
        UPDATE,
        json!({ "id": id, "version": 1, "name": "Med navn" }),
    )
    .await;
    assert_eq!(
        res.data()["updateProgramme"]["programme"]["name"],
        "Med navn"
    );
}

#[tokio::test]
async fn create_programme_is_refused_to_other_roles() {
    let app = spawn_app().await;
    let t = tokens(&app).await;
    let input = json!({ "slug": "pw-refused", "name": "Nei" });
    for (who, tok, code) in [
        ("anonymous", None, "UNAUTHENTICATED"),
        ("leader", Some(&t.leader), "FORBIDDEN"),
        ("staff", Some(&t.staff), "FORBIDDEN"),
        ("funder", Some(&t.funder), "FORBIDDEN"),
    ] {
        let res = run(&app, tok.map(String::as_str), CREATE, input.clone()).await;
        assert_code(&res, code, who);
    }
    // A provider may not register a programme under another provider.
    let bufdir = gid("Provider", common::provider_id(&app.db, "bufdir").await);
    let res = run(
        &app,
        Some(&t.nubu),
        CREATE,
        json!({ "slug": "pw-refused", "name": "Nei", "provider": bufdir }),
    )
    .await;
    assert_code(&res, "FORBIDDEN", "provider naming another lead");
    assert!(!programme_exists(&app, "pw-refused").await);
}

#[tokio::test]
async fn create_programme_checks_each_field() {
    let app = spawn_app().await;
    let t = tokens(&app).await;
    let nubu = gid("Provider", common::provider_id(&app.db, "nubu").await);
    let rvts_sor = gid("Provider", common::provider_id(&app.db, "rvts-sor").await);
    let (some_programme, _) = programme_ref(&app, "tjenestestotteprogrammet").await;
    let nowhere = gid("Provider", Uuid::now_v7());
    let base = json!({ "slug": "pw-invalid", "name": "Ugyldig" });
    let with = |patch: Value| {
        let mut input = base.clone();
        for (k, v) in patch.as_object().unwrap() {
            input[k] = v.clone();
        }
        input
    };
    let cases: Vec<(&str, Value, &str)> = vec![
        ("empty slug", with(json!({ "slug": "" })), "input.slug"),
        (
            "upper-case slug",
            with(json!({ "slug": "Pw-Invalid" })),
            "input.slug",
        ),
        (
            "slug with spaces",
            with(json!({ "slug": "pw invalid" })),
            "input.slug",
        ),
        (
            "long slug",
            with(json!({ "slug": "a".repeat(121) })),
            "input.slug",
        ),
        (
            "slug in use",
            with(json!({ "slug": "tjenestestotteprogrammet" })),
            "input.slug",
        ),
        ("blank name", with(json!({ "name": "   " })), "input.name"),
        (
            "long name",
            with(json!({ "name": "x".repeat(201) })),
            "input.name",
        ),
        (
            "long short name",
            with(json!({ "shortName": "x".repeat(201) })),
            "input.shortName",
        ),
        (
            "long summary",
            with(json!({ "summary": "x".repeat(10_001) })),
            "input.summary",
        ),
        (
            "control characters",
            with(json!({ "description": "a\u{0007}b" })),
            "input.description",
        ),
        (
            "blank goal",
            with(json!({ "goals": ["ok", ""] })),
            "input.goals",
        ),
        (
            "too many objectives",
            with(json!({ "learningObjectives": vec!["x"; 51] })),
            "input.learningObjectives",
        ),
        (
            "nameless competence area",
            with(json!({ "competenceAreas": [{ "name": " " }] })),
            "input.competenceAreas",
        ),
        (
            "percent above 100",
            with(json!({ "completionMinPercent": 101 })),
            "input.completionMinPercent",
        ),
        (
            "negative percent",
            with(json!({ "completionMinPercent": -1 })),
            "input.completionMinPercent",
        ),
        (
            "long completion rule",
            with(json!({ "completionRule": "x".repeat(10_001) })),
            "input.completionRule",
        ),
        (
            "long theme",
            with(json!({ "themes": ["x".repeat(81)] })),
            "input.themes",
        ),
        (
            "blank theme",
            with(json!({ "themes": [""] })),
            "input.themes",
        ),
        (
            "too many themes",
            with(json!({ "themes": (0..51).map(|i| format!("t{i}")).collect::<Vec<_>>() })),
            "input.themes",
        ),
        (
            "malformed provider",
            with(json!({ "provider": "not-an-id" })),
            "input.provider",
        ),
        (
            "provider of another type",
            with(json!({ "provider": some_programme })),
            "input.provider",
        ),
        (
            "provider that does not exist",
            with(json!({ "provider": nowhere })),
            "input.provider",
        ),
        (
            "partner twice",
            with(json!({ "provider": nubu, "partners": [rvts_sor, rvts_sor] })),
            "input.partners",
        ),
        (
            "lead as partner",
            with(json!({ "provider": nubu, "partners": [nubu] })),
            "input.partners",
        ),
        (
            "partner that does not exist",
            with(json!({ "provider": nubu, "partners": [nowhere] })),
            "input.partners",
        ),
        (
            "malformed partner",
            with(json!({ "partners": ["x"] })),
            "input.partners",
        ),
        (
            "long source",
            with(json!({ "source": "x".repeat(201) })),
            "input.source",
        ),
    ];
    for (what, input, field) in cases {
        let slug = input["slug"].as_str().unwrap().to_owned();
        let res = run(&app, Some(&t.admin), CREATE, input).await;
        assert_bad(&res, field, what);
        if slug != "tjenestestotteprogrammet" {
            assert!(
                !programme_exists(&app, &slug).await,
                "{what}: row left behind"
            );
        }
    }
    // Only one programme has the taken slug still.
    assert_eq!(
        programme::Entity::find()
            .filter(programme::Column::Slug.eq("tjenestestotteprogrammet"))
            .count(&app.db)
            .await
            .unwrap(),
        1
    );
    // A provider that leaves out `provider` leads itself, so it cannot be
    // its own partner either.
    let res = run(
        &app,
        Some(&t.nubu),
        CREATE,
        json!({ "slug": "pw-invalid", "name": "Ok", "partners": [nubu] }),
    )
    .await;
    assert_bad(&res, "input.partners", "provider naming itself as partner");
    assert!(!programme_exists(&app, "pw-invalid").await);
}

#[tokio::test]
async fn two_creates_with_one_slug_make_one_programme() {
    let app = spawn_app().await;
    let t = tokens(&app).await;
    let input = json!({ "slug": "pw-same-slug", "name": "Samme" });
    let (a, b) = tokio::join!(
        run(&app, Some(&t.nubu), CREATE, input.clone()),
        run(&app, Some(&t.admin), CREATE, input.clone()),
    );
    let ok = [&a, &b]
        .iter()
        .filter(|r| r.body.get("errors").is_none())
        .count();
    assert_eq!(ok, 1, "{} / {}", a.body, b.body);
    let failed = if a.body.get("errors").is_some() {
        &a
    } else {
        &b
    };
    assert_bad(failed, "input.slug", "the second create");
    assert_eq!(
        programme::Entity::find()
            .filter(programme::Column::Slug.eq("pw-same-slug"))
            .count(&app.db)
            .await
            .unwrap(),
        1
    );
}

// --- updateProgramme ---------------------------------------------------------------

#[tokio::test]
async fn providers_update_their_own_programmes_only() {
    let app = spawn_app().await;
    let t = tokens(&app).await;
    // (programme, token, expected)
    let (nubu_prog, _) =
        programme_ref(&app, "veiledning-av-fosterhjem-ved-utfordrende-atferd").await;
    let (rvts_prog, _) = programme_ref(&app, "deltakende-fellesskap-og-psykisk-helse").await;
    let (bufdir_prog, _) = programme_ref(&app, "tjenestestotteprogrammet").await;
    let (mma, _) = programme_ref(&app, "menneskemotekompetanse-barnevern").await;
    let refused = [
        ("nubu on bufdir's", &bufdir_prog, Some(&t.nubu), "FORBIDDEN"),
        ("nubu on rvts-sor's", &rvts_prog, Some(&t.nubu), "FORBIDDEN"),
        (
            "rvts-sor on nubu's",
            &nubu_prog,
            Some(&t.rvts_sor),
            "FORBIDDEN",
        ),
        (
            "rvts-sor on MMA (no provider)",
            &mma,
            Some(&t.rvts_sor),
            "FORBIDDEN",
        ),
        ("leader", &nubu_prog, Some(&t.leader), "FORBIDDEN"),
        ("staff", &nubu_prog, Some(&t.staff), "FORBIDDEN"),
        ("funder", &nubu_prog, Some(&t.funder), "FORBIDDEN"),
        ("anonymous", &nubu_prog, None, "UNAUTHENTICATED"),
    ];
    for (who, id, tok, code) in refused {
        let res = run(
            &app,
            tok.map(String::as_str),
            UPDATE,
            json!({ "id": id, "version": 1, "summary": "Skal ikke lagres" }),
        )
        .await;
        assert_code(&res, code, who);
    }
    for slug in [
        "veiledning-av-fosterhjem-ved-utfordrende-atferd",
        "tjenestestotteprogrammet",
    ] {
        let (_, version) = programme_ref(&app, slug).await;
        assert_eq!(version, 1, "{slug} was changed by a refused update");
    }

    for (who, slug, tok) in [
        (
            "nubu",
            "veiledning-av-fosterhjem-ved-utfordrende-atferd",
            &t.nubu,
        ),
        ("bufdir", "tjenestestotteprogrammet", &t.bufdir),
        ("admin", "menneskemotekompetanse-barnevern", &t.admin),
    ] {
        let (id, version) = programme_ref(&app, slug).await;
        let res = run(
            &app,
            Some(tok),
            UPDATE,
            json!({ "id": id, "version": version, "shortName": format!("by {who}") }),
        )
        .await;
        let p = &res.data()["updateProgramme"]["programme"];
        assert_eq!(p["shortName"], format!("by {who}"), "{who}");
        assert_eq!(p["version"], version + 1, "{who}");
        assert_eq!(p["slug"], slug, "{who}");
    }
}

#[tokio::test]
async fn update_keeps_what_is_left_out_and_clears_nulls() {
    let app = spawn_app().await;
    let t = tokens(&app).await;
    let res = run(
        &app,
        Some(&t.nubu),
        CREATE,
        json!({
            "slug": "pw-update-fields",
            "name": "Før",
            "shortName": "F",
            "summary": "Sammendrag",
            "description": "Beskrivelse",
            "goals": ["a"],
            "completionMinPercent": 50,
            "completionRule": "Halvparten",
            "serviceKinds": ["CHILD_WELFARE"],
            "themes": ["en", "to"],
        }),
    )
    .await;
    let id = res.data()["createProgramme"]["programme"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let res = run(
        &app,
        Some(&t.nubu),
        UPDATE,
        json!({
            "id": id,
            "version": 1,
            "name": "Etter",
            "summary": null,
            "goals": ["b", "c"],
            "learningObjectives": ["d"],
            "completionMinPercent": null,
            "serviceKinds": ["MENTAL_HEALTH", "REFUGEE"],
            "themes": ["tre"],
        }),
    )
    .await;
    let p = &res.data()["updateProgramme"]["programme"];
    assert_eq!(p["name"], "Etter");
    assert_eq!(p["shortName"], "F", "left out: kept");
    assert_eq!(p["summary"], Value::Null, "null: cleared");
    assert_eq!(p["description"], "Beskrivelse");
    assert_eq!(p["goals"], json!(["b", "c"]));
    assert_eq!(p["learningObjectives"], json!(["d"]));
    assert_eq!(
        p["completionRule"],
        json!({ "minAttendancePercent": null, "description": "Halvparten" })
    );
    let mut kinds: Vec<String> = serde_json::from_value(p["targetServiceKinds"].clone()).unwrap();
    kinds.sort();
    assert_eq!(kinds, ["MENTAL_HEALTH", "REFUGEE"]);
    assert_eq!(p["themes"], json!(["tre"]));
    assert_eq!(p["version"], 2);

    // Empty lists clear; the slug stays.
    let res = run(
        &app,
        Some(&t.nubu),
        UPDATE,
        json!({ "id": id, "version": 2, "themes": [], "serviceKinds": [], "completionRule": null }),
    )
    .await;
    let p = &res.data()["updateProgramme"]["programme"];
    assert_eq!(p["themes"], json!([]));
    assert_eq!(p["targetServiceKinds"], json!([]));
    assert_eq!(p["completionRule"], Value::Null);
    assert_eq!(p["slug"], "pw-update-fields");
    assert_eq!(p["version"], 3);
}

#[tokio::test]
async fn update_programme_checks_each_field() {
    let app = spawn_app().await;
    let t = tokens(&app).await;
    let (id, version) = nubu_programme(&app, &t, "pw-update-invalid").await;
    let cases: Vec<(&str, Value, &str)> = vec![
        ("blank name", json!({ "name": "" }), "input.name"),
        (
            "long short name",
            json!({ "shortName": "x".repeat(201) }),
            "input.shortName",
        ),
        (
            "long description",
            json!({ "description": "x".repeat(10_001) }),
            "input.description",
        ),
        (
            "long goal",
            json!({ "goals": ["x".repeat(10_001)] }),
            "input.goals",
        ),
        (
            "too many goals",
            json!({ "goals": vec!["g"; 51] }),
            "input.goals",
        ),
        (
            "blank objective",
            json!({ "learningObjectives": [" "] }),
            "input.learningObjectives",
        ),
        (
            "percent",
            json!({ "completionMinPercent": 150 }),
            "input.completionMinPercent",
        ),
        (
            "long theme",
            json!({ "themes": ["x".repeat(81)] }),
            "input.themes",
        ),
        (
            "competence area",
            json!({ "competenceAreas": [{ "name": "" }] }),
            "input.competenceAreas",
        ),
        ("malformed id", json!({ "id": "nope" }), "input.id"),
        (
            "id of another type",
            json!({ "id": gid("Provider", Uuid::now_v7()) }),
            "input.id",
        ),
    ];
    for (what, patch, field) in cases {
        let mut input = json!({ "id": id, "version": version });
        for (k, v) in patch.as_object().unwrap() {
            input[k] = v.clone();
        }
        let res = run(&app, Some(&t.nubu), UPDATE, input).await;
        assert_bad(&res, field, what);
    }
    let res = run(
        &app,
        Some(&t.admin),
        UPDATE,
        json!({ "id": gid("Programme", Uuid::now_v7()), "version": 1, "name": "x" }),
    )
    .await;
    assert_code(&res, "NOT_FOUND", "unknown programme");
    let (_, after) = programme_ref(&app, "pw-update-invalid").await;
    assert_eq!(after, version, "a refused update changed the version");
}

#[tokio::test]
async fn stale_and_racing_programme_updates_conflict() {
    let app = spawn_app().await;
    let t = tokens(&app).await;
    let (id, _) = nubu_programme(&app, &t, "pw-locking").await;
    let res = run(
        &app,
        Some(&t.nubu),
        UPDATE,
        json!({ "id": id, "version": 1, "name": "Andre" }),
    )
    .await;
    assert_eq!(res.data()["updateProgramme"]["programme"]["version"], 2);

    // Stale: nothing changes.
    let res = run(
        &app,
        Some(&t.nubu),
        UPDATE,
        json!({ "id": id, "version": 1, "name": "Gammel", "themes": ["x"] }),
    )
    .await;
    assert_code(&res, "CONFLICT", "stale version");
    let d = app
        .query(
            "{ programme(slug: \"pw-locking\") { name version themes } }",
            json!({}),
        )
        .await;
    assert_eq!(
        d.data()["programme"],
        json!({ "name": "Andre", "version": 2, "themes": [] })
    );

    // A race at one version: exactly one wins.
    let (a, b) = tokio::join!(
        run(
            &app,
            Some(&t.nubu),
            UPDATE,
            json!({ "id": id, "version": 2, "name": "A", "themes": ["a"] })
        ),
        run(
            &app,
            Some(&t.admin),
            UPDATE,
            json!({ "id": id, "version": 2, "name": "B", "themes": ["b"] })
        ),
    );
    let mut codes: Vec<Vec<String>> = vec![a.codes(), b.codes()];
    codes.sort();
    assert_eq!(
        codes,
        [vec![], vec!["CONFLICT".to_owned()]],
        "{} / {}",
        a.body,
        b.body
    );
    let winner = if a.codes().is_empty() { "A" } else { "B" };
    let d = app
        .query(
            "{ programme(slug: \"pw-locking\") { name version themes } }",
            json!({}),
        )
        .await;
    assert_eq!(
        d.data()["programme"],
        json!({ "name": winner, "version": 3, "themes": [winner.to_lowercase()] })
    );
    assert_eq!(
        audit_actions(&app, &t, &id).await,
        ["createProgramme", "updateProgramme", "updateProgramme"]
    );
}

/// Completion of the programme's participations, as stored.
async fn completion_of(app: &TestApp, programme_slug: &str) -> Vec<(Uuid, i32, i32, bool, bool)> {
    let pid = common::uuid_of::<programme::Entity>(
        &app.db,
        programme::Column::Slug,
        programme::Column::Id,
        programme_slug,
    )
    .await;
    let runs: Vec<Uuid> = programme_run::Entity::find()
        .filter(programme_run::Column::ProgrammeId.eq(pid))
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    let mut rows: Vec<_> = participation::Entity::find()
        .filter(participation::Column::RunId.is_in(runs))
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|p| {
            (
                p.id,
                p.sessions_attended,
                p.sessions_required,
                p.status == ParticipationStatus::Active,
                p.completed,
            )
        })
        .collect();
    rows.sort();
    rows
}

fn expected_completion(attended: i32, required: i32, active: bool, min: i32) -> bool {
    active && required > 0 && attended * 100 >= min * required
}

#[tokio::test]
async fn a_changed_completion_share_recomputes_participations() {
    let app = spawn_app().await;
    let t = tokens(&app).await;
    let slug = "deltakende-fellesskap-og-psykisk-helse";
    let before = completion_of(&app, slug).await;
    assert!(!before.is_empty(), "the demo programme has participations");
    for (_, att, req, active, done) in &before {
        assert_eq!(*done, expected_completion(*att, *req, *active, 75));
    }
    let (id, mut version) = programme_ref(&app, slug).await;

    for min in [0, 100, 75] {
        let res = run(
            &app,
            Some(&t.rvts_sor),
            UPDATE,
            json!({ "id": id, "version": version, "completionMinPercent": min }),
        )
        .await;
        let p = &res.data()["updateProgramme"]["programme"];
        assert_eq!(p["completionRule"]["minAttendancePercent"], min);
        version = p["version"].as_i64().unwrap();
        let now = completion_of(&app, slug).await;
        assert_eq!(now.len(), before.len());
        for (_, att, req, active, done) in &now {
            assert_eq!(
                *done,
                expected_completion(*att, *req, *active, min),
                "min {min}: {att}/{req}"
            );
        }
        let completed = now.iter().filter(|r| r.4).count();
        match min {
            0 => assert_eq!(
                completed,
                now.iter().filter(|r| r.3 && r.2 > 0).count(),
                "everyone active with sessions completes at 0 %"
            ),
            100 => assert!(
                completed <= before.iter().filter(|r| r.4).count(),
                "100 % completes no more than 75 %"
            ),
            _ => {}
        }
    }
    // Back at 75 %: as it was.
    assert_eq!(completion_of(&app, slug).await, before);

    // Clearing the share means all sessions.
    let res = run(
        &app,
        Some(&t.rvts_sor),
        UPDATE,
        json!({ "id": id, "version": version, "completionMinPercent": null }),
    )
    .await;
    assert!(res.body.get("errors").is_none(), "{}", res.body);
    for (_, att, req, active, done) in completion_of(&app, slug).await {
        assert_eq!(done, expected_completion(att, req, active, 100));
    }
    assert_eq!(
        audit_actions(&app, &t, &id).await,
        vec!["updateProgramme"; 4],
        "one entry per update"
    );
}

// --- Milestones ------------------------------------------------------------------------

async fn milestone_list(app: &TestApp, slug: &str) -> Vec<(String, i64, String)> {
    let d = app
        .query(
            "query($s: String!) { programme(slug: $s) { milestones { id position text } } }",
            json!({ "s": slug }),
        )
        .await;
    d.data()["programme"]["milestones"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["id"].as_str().unwrap().to_owned(),
                m["position"].as_i64().unwrap(),
                m["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn texts(list: &[(String, i64, String)]) -> Vec<&str> {
    list.iter().map(|m| m.2.as_str()).collect()
}

fn positions(list: &[(String, i64, String)]) -> Vec<i64> {
    list.iter().map(|m| m.1).collect()
}

#[tokio::test]
async fn milestones_are_created_moved_and_deleted() {
    let app = spawn_app().await;
    let t = tokens(&app).await;
    let slug = "pw-milestones";
    let (pid, _) = nubu_programme(&app, &t, slug).await;

    let res = run(
        &app,
        Some(&t.nubu),
        CREATE_MS,
        json!({
            "programme": pid, "yearFrom": 2017, "yearTo": 2018, "text": " Nesten 200 tjenester ",
            "figure": 200, "unit": "tjenester", "qualifier": "NEARLY", "source": "eget notat",
        }),
    )
    .await;
    let m = &res.data()["createMilestone"]["milestone"];
    assert_eq!(m["position"], 1);
    assert_eq!(m["period"], "2017–2018");
    assert_eq!(m["text"], "Nesten 200 tjenester");
    assert_eq!(m["figure"], 200);
    assert_eq!(m["qualifier"], "NEARLY");
    assert_eq!(m["version"], 1);
    assert_eq!(m["programme"]["slug"], slug);
    let first = m["id"].as_str().unwrap().to_owned();

    // Default: last. Position 1: first, the others move down.
    for (text, position) in [("B", None), ("C", None), ("Start", Some(1))] {
        let mut input = json!({ "programme": pid, "yearFrom": 2015, "text": text });
        if let Some(p) = position {
            input["position"] = json!(p);
        }
        let res = run(&app, Some(&t.admin), CREATE_MS, input).await;
        assert!(res.body.get("errors").is_none(), "{}", res.body);
    }
    let list = milestone_list(&app, slug).await;
    assert_eq!(texts(&list), ["Start", "Nesten 200 tjenester", "B", "C"]);
    assert_eq!(positions(&list), [1, 2, 3, 4]);
    // Past the end: last.
    let res = run(
        &app,
        Some(&t.nubu),
        CREATE_MS,
        json!({ "programme": pid, "yearFrom": 2019, "text": "D", "position": 99 }),
    )
    .await;
    assert_eq!(res.data()["createMilestone"]["milestone"]["position"], 5);

    // Update: clear the span and the figure parts, change the text, move it last.
    let res = run(
        &app,
        Some(&t.nubu),
        UPDATE_MS,
        json!({
            "id": first, "version": 1, "yearTo": null, "figure": null, "unit": null,
            "qualifier": null, "text": "Flyttet", "position": 5,
        }),
    )
    .await;
    let m = &res.data()["updateMilestone"]["milestone"];
    assert_eq!(
        (
            &m["yearFrom"],
            &m["yearTo"],
            &m["figure"],
            &m["unit"],
            &m["qualifier"],
            &m["source"]
        ),
        (
            &json!(2017),
            &Value::Null,
            &Value::Null,
            &Value::Null,
            &Value::Null,
            &json!("eget notat")
        )
    );
    assert_eq!(m["position"], 5);
    assert_eq!(m["version"], 2);
    let list = milestone_list(&app, slug).await;
    assert_eq!(texts(&list), ["Start", "B", "C", "D", "Flyttet"]);
    assert_eq!(positions(&list), [1, 2, 3, 4, 5]);

    // Delete "B": the gap closes.
    let b = list[1].0.clone();
    let res = run(
        &app,
        Some(&t.nubu),
        DELETE_MS,
        json!({ "id": b, "version": 1 }),
    )
    .await;
    let payload = &res.data()["deleteMilestone"];
    assert_eq!(payload["deletedId"], b.as_str());
    let after: Vec<&str> = payload["programme"]["milestones"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(after, ["Start", "C", "D", "Flyttet"]);
    let list = milestone_list(&app, slug).await;
    assert_eq!(positions(&list), [1, 2, 3, 4]);
    let d = app
        .query(
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": b }),
        )
        .await;
    assert_eq!(d.body["data"]["node"], Value::Null, "{}", d.body);

    assert_eq!(
        audit_actions(&app, &t, &first).await,
        ["createMilestone", "updateMilestone"]
    );
    assert_eq!(
        audit_actions(&app, &t, &b).await,
        ["createMilestone", "deleteMilestone"]
    );
    let res = app
        .query_as(
            Some(&t.admin),
            "query($id: ID!) { auditLog(filter: {entity: $id}) { nodes { action change } } }",
            json!({ "id": b }),
        )
        .await;
    let deleted = &res.data()["auditLog"]["nodes"][0];
    assert_eq!(deleted["action"], "deleteMilestone");
    assert_eq!(deleted["change"]["before"]["text"], "B");
    assert_eq!(deleted["change"]["after"], Value::Null);
}

#[tokio::test]
async fn milestone_writes_are_for_the_programmes_providers() {
    let app = spawn_app().await;
    let t = tokens(&app).await;
    let slug = "pw-milestone-access";
    let (pid, _) = nubu_programme(&app, &t, slug).await;
    let res = run(
        &app,
        Some(&t.nubu),
        CREATE_MS,
        json!({ "programme": pid, "yearFrom": 2020, "text": "Egen" }),
    )
    .await;
    let mid = res.data()["createMilestone"]["milestone"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Forandringsfabrikken's MITT LIV: not NUBU's.
    let (mitt_liv, _) = programme_ref(&app, "mitt-liv-barneverntjeneste").await;
    let mitt_liv_count = milestone_list(&app, "mitt-liv-barneverntjeneste")
        .await
        .len();
    for (who, tok, code) in [
        ("anonymous", None, "UNAUTHENTICATED"),
        ("leader", Some(&t.leader), "FORBIDDEN"),
        ("staff", Some(&t.staff), "FORBIDDEN"),
        ("funder", Some(&t.funder), "FORBIDDEN"),
        ("another provider", Some(&t.rvts_sor), "FORBIDDEN"),
    ] {
        let tok = tok.map(String::as_str);
        let res = run(
            &app,
            tok,
            CREATE_MS,
            json!({ "programme": pid, "yearFrom": 2020, "text": "Nei" }),
        )
        .await;
        assert_code(&res, code, who);
        let res = run(
            &app,
            tok,
            UPDATE_MS,
            json!({ "id": mid, "version": 1, "text": "Nei" }),
        )
        .await;
        assert_code(&res, code, who);
        let res = run(&app, tok, DELETE_MS, json!({ "id": mid, "version": 1 })).await;
        assert_code(&res, code, who);
    }
    let res = run(
        &app,
        Some(&t.nubu),
        CREATE_MS,
        json!({ "programme": mitt_liv, "yearFrom": 2020, "text": "Nei" }),
    )
    .await;
    assert_code(&res, "FORBIDDEN", "nubu on MITT LIV");
    assert_eq!(
        milestone_list(&app, "mitt-liv-barneverntjeneste")
            .await
            .len(),
        mitt_liv_count
    );
    let list = milestone_list(&app, slug).await;
    assert_eq!(texts(&list), ["Egen"]);

    // ADMIN may change anyone's milestones.
    let last = milestone_list(&app, "mitt-liv-barneverntjeneste")
        .await
        .pop()
        .unwrap();
    let res = run(
        &app,
        Some(&t.admin),
        UPDATE_MS,
        json!({ "id": last.0, "version": 1, "source": null }),
    )
    .await;
    assert_eq!(
        res.data()["updateMilestone"]["milestone"]["source"],
        Value::Null
    );
}

#[tokio::test]
async fn milestone_inputs_are_checked() {
    let app = spawn_app().await;
    let t = tokens(&app).await;
    let slug = "pw-milestone-invalid";
    let (pid, _) = nubu_programme(&app, &t, slug).await;
    let base = json!({ "programme": pid, "yearFrom": 2015, "text": "Tekst" });
    let with = |patch: Value| {
        let mut input = base.clone();
        for (k, v) in patch.as_object().unwrap() {
            input[k] = v.clone();
        }
        input
    };
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "year too early",
            with(json!({ "yearFrom": 1800 })),
            "input.yearFrom",
        ),
        (
            "year too late",
            with(json!({ "yearTo": 2200 })),
            "input.yearTo",
        ),
        (
            "span backwards",
            with(json!({ "yearTo": 2014 })),
            "input.yearTo",
        ),
        ("blank text", with(json!({ "text": " " })), "input.text"),
        (
            "long text",
            with(json!({ "text": "x".repeat(10_001) })),
            "input.text",
        ),
        (
            "negative figure",
            with(json!({ "figure": -1 })),
            "input.figure",
        ),
        (
            "unit without figure",
            with(json!({ "unit": "tjenester" })),
            "input.unit",
        ),
        (
            "qualifier without figure",
            with(json!({ "qualifier": "ABOUT" })),
            "input.qualifier",
        ),
        (
            "long unit",
            with(json!({ "figure": 1, "unit": "x".repeat(201) })),
            "input.unit",
        ),
        (
            "long source",
            with(json!({ "source": "x".repeat(201) })),
            "input.source",
        ),
        (
            "position 0",
            with(json!({ "position": 0 })),
            "input.position",
        ),
        (
            "malformed programme",
            with(json!({ "programme": "x" })),
            "input.programme",
        ),
        (
            "programme id of another type",
            with(json!({ "programme": gid("Provider", Uuid::now_v7()) })),
            "input.programme",
        ),
        (
            "programme that does not exist",
            with(json!({ "programme": gid("Programme", Uuid::now_v7()) })),
            "input.programme",
        ),
    ];
    for (what, input, field) in cases {
        let res = run(&app, Some(&t.nubu), CREATE_MS, input).await;
        assert_bad(&res, field, what);
    }
    assert!(milestone_list(&app, slug).await.is_empty());

    let res = run(
        &app,
        Some(&t.nubu),
        CREATE_MS,
        json!({ "programme": pid, "yearFrom": 2015, "yearTo": 2016, "text": "Ok", "figure": 3, "unit": "dager" }),
    )
    .await;
    let mid = res.data()["createMilestone"]["milestone"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let cases: Vec<(&str, Value, &str)> = vec![
        ("year", json!({ "yearFrom": 3000 }), "input.yearFrom"),
        (
            "from after the stored to",
            json!({ "yearFrom": 2017 }),
            "input.yearFrom",
        ),
        ("to before from", json!({ "yearTo": 2014 }), "input.yearTo"),
        (
            "both",
            json!({ "yearFrom": 2016, "yearTo": 2015 }),
            "input.yearTo",
        ),
        ("blank text", json!({ "text": "" }), "input.text"),
        ("negative figure", json!({ "figure": -5 }), "input.figure"),
        (
            "figure cleared, unit kept",
            json!({ "figure": null }),
            "input.figure",
        ),
        (
            "qualifier without figure",
            json!({ "figure": null, "unit": null, "qualifier": "EXACT" }),
            "input.qualifier",
        ),
        ("position", json!({ "position": -1 }), "input.position"),
        ("malformed id", json!({ "id": "x" }), "input.id"),
    ];
    for (what, patch, field) in cases {
        let mut input = json!({ "id": mid, "version": 1 });
        for (k, v) in patch.as_object().unwrap() {
            input[k] = v.clone();
        }
        let res = run(&app, Some(&t.nubu), UPDATE_MS, input).await;
        assert_bad(&res, field, what);
    }
    for q in [UPDATE_MS, DELETE_MS] {
        let res = run(
            &app,
            Some(&t.admin),
            q,
            json!({ "id": gid("Milestone", Uuid::now_v7()), "version": 1 }),
        )
        .await;
        assert_code(&res, "NOT_FOUND", "unknown milestone");
    }
    let res = run(
        &app,
        Some(&t.nubu),
        DELETE_MS,
        json!({ "id": pid, "version": 1 }),
    )
    .await;
    assert_bad(&res, "input.id", "a programme id to deleteMilestone");
    // Clearing figure, unit and qualifier together is fine.
    let res = run(
        &app,
        Some(&t.nubu),
        UPDATE_MS,
        json!({ "id": mid, "version": 1, "figure": null, "unit": null }),
    )
    .await;
    assert_eq!(res.data()["updateMilestone"]["milestone"]["version"], 2);
}

#[tokio::test]
async fn stale_and_racing_milestone_writes_conflict() {
    let app = spawn_app().await;
    let t = tokens(&app).await;
    let slug = "pw-milestone-locking";
    let (pid, _) = nubu_programme(&app, &t, slug).await;
    let res = run(
        &app,
        Some(&t.nubu),
        CREATE_MS,
        json!({ "programme": pid, "yearFrom": 2020, "text": "Første" }),
    )
    .await;
    let mid = res.data()["createMilestone"]["milestone"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = run(
        &app,
        Some(&t.nubu),
        UPDATE_MS,
        json!({ "id": mid, "version": 1, "text": "Andre" }),
    )
    .await;
    assert_eq!(res.data()["updateMilestone"]["milestone"]["version"], 2);

    let res = run(
        &app,
        Some(&t.nubu),
        UPDATE_MS,
        json!({ "id": mid, "version": 1, "text": "Gammel" }),
    )
    .await;
    assert_code(&res, "CONFLICT", "stale update");
    let res = run(
        &app,
        Some(&t.nubu),
        DELETE_MS,
        json!({ "id": mid, "version": 1 }),
    )
    .await;
    assert_code(&res, "CONFLICT", "stale delete");
    assert_eq!(texts(&milestone_list(&app, slug).await), ["Andre"]);

    // Two updates at one version: one wins.
    let (a, b) = tokio::join!(
        run(
            &app,
            Some(&t.nubu),
            UPDATE_MS,
            json!({ "id": mid, "version": 2, "text": "A" })
        ),
        run(
            &app,
            Some(&t.admin),
            UPDATE_MS,
            json!({ "id": mid, "version": 2, "text": "B" })
        ),
    );
    let mut codes = vec![a.codes(), b.codes()];
    codes.sort();
    assert_eq!(
        codes,
        [vec![], vec!["CONFLICT".to_owned()]],
        "{} / {}",
        a.body,
        b.body
    );
    let winner = if a.codes().is_empty() { "A" } else { "B" };
    assert_eq!(texts(&milestone_list(&app, slug).await), [winner]);

    // A delete and an update at one version: one wins.
    let (d, u) = tokio::join!(
        run(
            &app,
            Some(&t.nubu),
            DELETE_MS,
            json!({ "id": mid, "version": 3 })
        ),
        run(
            &app,
            Some(&t.nubu),
            UPDATE_MS,
            json!({ "id": mid, "version": 3, "text": "C" })
        ),
    );
    let mut codes = vec![d.codes(), u.codes()];
    codes.sort();
    assert!(
        codes == [vec![], vec!["CONFLICT".to_owned()]]
            || codes == [vec![], vec!["NOT_FOUND".to_owned()]],
        "{} / {}",
        d.body,
        u.body
    );
    let left = texts(&milestone_list(&app, slug).await)
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>();
    if d.codes().is_empty() {
        assert!(left.is_empty());
    } else {
        assert_eq!(left, ["C"]);
    }
    let actions = audit_actions(&app, &t, &mid).await;
    assert_eq!(actions.len(), 4, "{actions:?}");
}

// --- updateProviderContact ----------------------------------------------------------------

const CONTACT: &str = "mutation($input: UpdateProviderContactInput!) {
  updateProviderContact(input: $input) {
    provider { slug version contact { website email phone visitingAddress postalAddress } } } }";

async fn provider_version(app: &TestApp, slug: &str) -> (String, i64) {
    let res = app
        .query(
            "query($slug: String!) { provider(slug: $slug) { id version } }",
            json!({ "slug": slug }),
        )
        .await;
    let p = &res.data()["provider"];
    (
        p["id"].as_str().unwrap().to_owned(),
        p["version"].as_i64().unwrap(),
    )
}

#[tokio::test]
async fn providers_show_the_contact_details_their_sources_state() {
    let app = spawn_app().await;
    let res = app
        .query(
            "{ nubu: provider(slug: \"nubu\") { contact { website email phone visitingAddress postalAddress } }
               sor: provider(slug: \"rvts-sor\") { contact { email } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        res.data()["nubu"]["contact"],
        json!({ "website": null, "email": "post@nubu.no", "phone": "23 20 58 00",
                "visitingAddress": "Essendrops gate 3, Oslo",
                "postalAddress": "Postboks 7053 Majorstuen, 0306 Oslo" })
    );
    // Nothing registered: no contact object rather than empty fields.
    assert_eq!(res.data()["sor"]["contact"], Value::Null);
}

#[tokio::test]
async fn a_provider_keeps_its_own_contact_details_and_no_one_elses() {
    let app = spawn_app().await;
    let t = tokens(&app).await;
    let (id, version) = provider_version(&app, "bufdir").await;

    // Bufdir (PROVIDER) sets its own.
    let res = run(
        &app,
        Some(&t.bufdir),
        CONTACT,
        json!({ "provider": id, "version": version,
                "website": "https://www.bufdir.no", "email": "Postmottak@Bufdir.no",
                "phone": "+47 466 15 000", "postalAddress": "Postboks 2233, 3103 Tønsberg" }),
    )
    .await;
    let saved = &res.data()["updateProviderContact"]["provider"];
    assert_eq!(saved["version"], version + 1, "{}", res.body);
    assert_eq!(saved["contact"]["email"], "postmottak@bufdir.no");
    assert_eq!(saved["contact"]["visitingAddress"], Value::Null);
    let version = version + 1;

    // Others may not: another provider, a leader, a funder, staff, anonymous.
    let input = json!({ "provider": id, "version": version, "phone": "22 22 22 22" });
    for (tok, code) in [
        (Some(&t.nubu), "FORBIDDEN"),
        (Some(&t.leader), "FORBIDDEN"),
        (Some(&t.funder), "FORBIDDEN"),
        (Some(&t.staff), "FORBIDDEN"),
        (None, "UNAUTHENTICATED"),
    ] {
        let res = run(&app, tok.map(String::as_str), CONTACT, input.clone()).await;
        assert_code(&res, code, "someone else's provider");
    }
    assert_eq!(
        provider_version(&app, "bufdir").await.1,
        version,
        "unchanged"
    );

    // Bad input names its field and changes nothing; a stale version is a
    // conflict.
    for (field, patch) in [
        ("input.website", json!({ "website": "javascript:alert(1)" })),
        ("input.website", json!({ "website": "bufdir.no" })),
        ("input.email", json!({ "email": "not an address" })),
        ("input.phone", json!({ "phone": "call us" })),
        (
            "input.visitingAddress",
            json!({ "visitingAddress": "a\nb" }),
        ),
        // NUL is refused before the document runs, naming the variable.
        (
            "$input.postalAddress",
            json!({ "postalAddress": "Postboks\u{0}1" }),
        ),
        (
            "input.postalAddress",
            json!({ "postalAddress": "x".repeat(201) }),
        ),
        ("input.provider", json!({ "provider": "not-an-id" })),
    ] {
        let mut input = json!({ "provider": id, "version": version });
        for (k, v) in patch.as_object().unwrap() {
            input[k] = v.clone();
        }
        let res = run(&app, Some(&t.admin), CONTACT, input).await;
        assert_bad(&res, field, &patch.to_string());
    }
    let res = run(
        &app,
        Some(&t.admin),
        CONTACT,
        json!({ "provider": id, "version": version - 1, "phone": "22 22 22 22" }),
    )
    .await;
    assert_code(&res, "CONFLICT", "stale version");

    // ADMIN clears a field with null and an empty text; the rest is kept;
    // the audit log has both changes.
    let res = run(
        &app,
        Some(&t.admin),
        CONTACT,
        json!({ "provider": id, "version": version, "phone": null, "website": "" }),
    )
    .await;
    let contact = &res.data()["updateProviderContact"]["provider"]["contact"];
    assert_eq!(contact["phone"], Value::Null, "{}", res.body);
    assert_eq!(contact["website"], Value::Null);
    assert_eq!(contact["email"], "postmottak@bufdir.no");
    assert_eq!(
        audit_actions(&app, &t, &id).await,
        ["updateProviderContact", "updateProviderContact"]
    );
}
