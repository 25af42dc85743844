//! Data-subject rights: erasure and rectification, tried as the person, their
//! leader, other roles and an attacker looking for what is left behind.

mod common;

use common::{GqlResponse, TestApp, claims, gid, spawn_app, token};
use entity::enums::Role;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::{Value, json};
use uuid::Uuid;

/// A fresh programme with one run and one session, Hamar's barnevern
/// enrolled, and a person of Hamar with a login (a STAFF role assignment
/// of its own subject), signed up and present.
struct Fx {
    app: TestApp,
    admin: String,
    leader: String,
    other_leader: String,
    provider: String,
    programme: String,
    run: Value,
    session: Value,
    person: Value,
    /// The person's own token: its subject, no role claim (roles from the
    /// register).
    own: String,
    subject: String,
    name: String,
    email: String,
    job_title: String,
}

/// The key of a global id.
fn key_of(global: &Value) -> Uuid {
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(global.as_str().expect("id"))
        .expect("base64");
    let raw = String::from_utf8(raw).expect("utf-8");
    raw.split_once(':')
        .expect("Type:key")
        .1
        .parse()
        .expect("uuid")
}

fn with_role(sub: &str, role: Role) -> kompetanse::auth::token::Claims {
    let mut c = claims(sub);
    c.role = Some(role);
    c
}

async fn call(app: &TestApp, tok: Option<&str>, q: &str, vars: Value) -> GqlResponse {
    app.query_as(tok, q, vars).await
}

fn refusal(res: &GqlResponse) -> (String, String) {
    let err = res.first_error();
    (
        err["extensions"]["code"].as_str().unwrap_or("").to_owned(),
        err["extensions"]["field"].as_str().unwrap_or("").to_owned(),
    )
}

const ERASE: &str = "mutation($id: ID!) { erasePerson(input: { id: $id }) {
  erased roleAssignmentsRemoved auditEntriesRedacted
  person { id name email jobTitle erased participations { completed } }
} }";

const UPDATE: &str = "mutation($input: UpdatePersonInput!) {
  updatePerson(input: $input) { person { name email jobTitle isLeader version } }
}";

async fn fx() -> Fx {
    let app = spawn_app().await;
    let tag = Uuid::now_v7().simple().to_string();
    let admin = token(&with_role("privacy-admin", Role::Admin));
    let hamar = common::service_id(&app.db, "hamar-barneverntjeneste").await;
    let elverum = common::service_id(&app.db, "elverum-barneverntjeneste").await;
    let mut leader = with_role("privacy-leader", Role::Leader);
    leader.service_id = Some(hamar);
    let mut other_leader = with_role("privacy-other-leader", Role::Leader);
    other_leader.service_id = Some(elverum);

    let slug = format!("privacy-{}", &tag[20..]);
    let res = call(
        &app,
        Some(&admin),
        "mutation($i: CreateProgrammeInput!) { createProgramme(input: $i) { programme { id } } }",
        json!({ "i": { "slug": slug, "name": "Personvern i praksis" } }),
    )
    .await;
    let programme = res.data()["createProgramme"]["programme"]["id"].clone();
    let res = call(
        &app,
        Some(&admin),
        "mutation($i: CreateRunInput!) { createRun(input: $i) { run { id } } }",
        json!({ "i": { "programme": programme, "title": "Kull 1", "year": 2026 } }),
    )
    .await;
    let run = res.data()["createRun"]["run"]["id"].clone();
    let res = call(
        &app,
        Some(&admin),
        "mutation($i: CreateSessionInput!) { createSession(input: $i) { session { id } } }",
        json!({ "i": { "run": run, "title": "Samling 1", "kind": "COURSE_DAY" } }),
    )
    .await;
    let session = res.data()["createSession"]["session"]["id"].clone();

    let leader = token(&leader);
    let res = call(
        &app,
        Some(&leader),
        "mutation($run: ID!, $service: ID!) { enrolService(input: {run: $run, service: $service}) { enrolment { id } } }",
        json!({ "run": run, "service": gid("Service", hamar) }),
    )
    .await;
    res.data();
    let name = format!("Eirin Slettemark {}", &tag[24..]);
    let email = format!("eirin.{}@hamar.kommune.no", &tag[20..]);
    let job_title = format!("Barnevernskonsulent {}", &tag[26..]);
    let res = call(
        &app,
        Some(&leader),
        "mutation($i: RegisterPersonInput!) { registerPerson(input: $i) { person { id } } }",
        json!({ "i": { "service": gid("Service", hamar), "name": name, "email": email, "jobTitle": job_title } }),
    )
    .await;
    let person = res.data()["registerPerson"]["person"]["id"].clone();
    let res = call(
        &app,
        Some(&leader),
        "mutation($run: ID!, $person: ID!) { signUp(input: {run: $run, person: $person}) { participation { id } } }",
        json!({ "run": run, "person": person }),
    )
    .await;
    res.data();
    let res = call(
        &app,
        Some(&leader),
        "mutation($s: ID!, $e: [AttendanceEntryInput!]!) { recordAttendance(input: {session: $s, entries: $e}) { created } }",
        json!({ "s": session, "e": [{ "person": person, "present": true }] }),
    )
    .await;
    res.data();

    // A login of the person's own: a subject assigned STAFF for it.
    let subject = format!("idp|eirin-{tag}");
    let res = call(
        &app,
        Some(&admin),
        "mutation($i: AssignRoleInput!) { assignRole(input: $i) { roleAssignment { id } } }",
        json!({ "i": { "subject": subject, "role": "STAFF", "person": person } }),
    )
    .await;
    res.data();
    let own = token(&claims(&subject));

    // The provider of the new programme's run: NUBU, as a provider that
    // sees the person (through the run) but does not manage staff.
    let mut provider = with_role("privacy-provider", Role::Provider);
    let nubu = common::provider_id(&app.db, "nubu").await;
    provider.provider_id = Some(nubu);
    entity::programme_provider::ActiveModel {
        programme_id: Set(key_of(&programme)),
        provider_id: Set(nubu),
        role: Set(entity::enums::ProviderRole::Lead),
    }
    .insert(&app.db)
    .await
    .unwrap();
    let provider = token(&provider);

    Fx {
        app,
        admin,
        leader,
        other_leader: token(&other_leader),
        provider,
        programme: slug,
        run,
        session,
        person,
        own,
        subject,
        name,
        email,
        job_title,
    }
}

/// A colleague of the fixture's person in Hamar, on record (not erased).
async fn colleague(fx: &Fx) -> Uuid {
    let db = &fx.app.db;
    entity::person::Entity::find()
        .filter(
            entity::person::Column::ServiceId
                .eq(common::service_id(db, "hamar-barneverntjeneste").await),
        )
        .filter(entity::person::Column::Id.ne(key_of(&fx.person)))
        .filter(entity::person::Column::ErasedAt.is_null())
        .one(db)
        .await
        .unwrap()
        .unwrap()
        .id
}

impl Fx {
    /// The admin's exact figures of the programme: participants,
    /// attendances, completions.
    async fn figures(&self) -> Value {
        let res = call(
            &self.app,
            Some(&self.admin),
            "query($p: ID!) { participationStats(filter: { programme: $p }, groupBy: []) { participants attendances completions } }",
            json!({ "p": self.programme }),
        )
        .await;
        res.data()["participationStats"][0].clone()
    }

    /// Every place in the database a trace of the person could be left:
    /// the texts of the person, audit log, stored answers and role
    /// assignments that name it (name, e-mail, job title or subject).
    async fn traces(&self) -> Vec<String> {
        let needles = [
            self.name.as_str(),
            self.email.as_str(),
            self.job_title.as_str(),
            self.subject.as_str(),
        ];
        let named = |text: &str| needles.iter().any(|n| text.contains(n));
        let db = &self.app.db;
        let mut found = Vec::new();
        for p in entity::person::Entity::find().all(db).await.unwrap() {
            let text = format!("{} {:?} {:?}", p.name, p.email, p.job_title);
            if named(&text) {
                found.push(format!("person {text}"));
            }
        }
        for a in entity::audit_log::Entity::find().all(db).await.unwrap() {
            let text = format!("{:?} {}", a.subject, a.change);
            if named(&text) {
                found.push(format!("audit {} {text}", a.action));
            }
        }
        for k in entity::idempotency_key::Entity::find()
            .all(db)
            .await
            .unwrap()
        {
            let text = format!("{} {:?}", k.subject, k.response);
            if named(&text) {
                found.push(format!("idempotency {text}"));
            }
        }
        for r in entity::role_assignment::Entity::find()
            .all(db)
            .await
            .unwrap()
        {
            if named(&r.subject) {
                found.push(format!("role assignment {}", r.subject));
            }
        }
        found
    }
}

/// Erasure leaves no trace of the person in any answer or row, keeps the
/// figures, is audited without personal data, changes nothing the second
/// time, and closes the person to further writes.
#[tokio::test]
async fn erasure_leaves_no_trace_and_keeps_the_figures() {
    let fx = fx().await;
    let app = &fx.app;
    // The person corrects their name (audited under their own subject),
    // with an Idempotency-Key, so that a stored answer names them too.
    let res = app
        .client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(&fx.own)
        .header("Idempotency-Key", Uuid::now_v7().to_string())
        .json(&json!({ "query": UPDATE, "variables": { "input": {
            "id": fx.person, "version": 1, "name": fx.name, "email": fx.email } } }))
        .send()
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["data"]["updatePerson"]["person"]["name"],
        fx.name.as_str(),
        "{body}"
    );
    assert!(!fx.traces().await.is_empty());

    let before = fx.figures().await;
    assert_eq!(before["participants"], 1, "{before}");
    assert_eq!(before["attendances"], 1, "{before}");

    let res = call(app, Some(&fx.leader), ERASE, json!({ "id": fx.person })).await;
    let out = res.data()["erasePerson"].clone();
    assert_eq!(out["erased"], true);
    assert_eq!(out["roleAssignmentsRemoved"], 1);
    assert!(out["auditEntriesRedacted"].as_i64().unwrap() >= 3, "{out}");
    assert_eq!(
        out["person"],
        json!({ "id": fx.person, "name": "(slettet)", "email": null, "jobTitle": null,
                "erased": true, "participations": [{ "completed": true }] })
    );

    // No row of the database names the person any more.
    assert_eq!(fx.traces().await, Vec::<String>::new());
    // The figures stay.
    assert_eq!(fx.figures().await, before);
    // No answer names them: a search by name, the audit log as ADMIN.
    let res = call(
        app,
        Some(&fx.admin),
        "query($s: String!) { persons(filter: { search: $s }) { totalCount } auditLog(first: 100) { nodes { subject change } } }",
        json!({ "s": fx.name }),
    )
    .await;
    assert_eq!(res.data()["persons"]["totalCount"], 0);
    let log = res.data()["auditLog"].to_string();
    for gone in [&fx.name, &fx.email, &fx.job_title, &fx.subject] {
        assert!(!log.contains(gone.as_str()), "{gone} in the audit log");
    }
    // The erasure itself is in the log, without personal data.
    let erasures = entity::audit_log::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.action == "erasePerson")
        .filter(|a| a.entity_id.map(|id| gid("Person", id)) == fx.person.as_str().map(String::from))
        .collect::<Vec<_>>();
    assert_eq!(erasures.len(), 1);
    assert_eq!(erasures[0].subject.as_deref(), Some("privacy-leader"));

    // The person's own login has no rights left: it sees nobody.
    let res = call(app, Some(&fx.own), "{ persons { totalCount } }", json!({})).await;
    assert_eq!(res.data()["persons"]["totalCount"], 0, "{}", res.body);

    // Twice: nothing changes, nothing more is logged.
    let res = call(app, Some(&fx.admin), ERASE, json!({ "id": fx.person })).await;
    let again = res.data()["erasePerson"].clone();
    assert_eq!(again["erased"], false);
    assert_eq!(again["auditEntriesRedacted"], 0);
    assert_eq!(again["person"]["name"], "(slettet)");
    let count = entity::audit_log::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.action == "erasePerson")
        .filter(|a| a.entity_id.map(|id| gid("Person", id)) == fx.person.as_str().map(String::from))
        .count();
    assert_eq!(count, 1);

    // An erased person takes no more writes.
    let res = call(
        app,
        Some(&fx.leader),
        UPDATE,
        json!({ "input": { "id": fx.person, "version": 3, "name": fx.name } }),
    )
    .await;
    assert_eq!(
        refusal(&res),
        ("BAD_USER_INPUT".into(), "input.id".into()),
        "{}",
        res.body
    );
    let res = call(
        app,
        Some(&fx.leader),
        "mutation($s: ID!, $e: [AttendanceEntryInput!]!) { recordAttendance(input: {session: $s, entries: $e}) { created } }",
        json!({ "s": fx.session, "e": [{ "person": fx.person, "present": false }] }),
    )
    .await;
    assert_eq!(
        refusal(&res),
        ("BAD_USER_INPUT".into(), "input.entries.0.person".into()),
        "{}",
        res.body
    );
    assert_eq!(fx.figures().await, before);
    let _ = &fx.run;
}

/// Only ADMIN and the person's leader erase; everyone else is refused as
/// the policy answers them, and nothing changes.
#[tokio::test]
async fn only_admin_and_the_leader_may_erase() {
    let fx = fx().await;
    let app = &fx.app;
    let colleague = colleague(&fx).await;
    let staff_claims = {
        let mut c = with_role("privacy-staff", Role::Staff);
        c.person_id = Some(colleague);
        token(&c)
    };
    for (who, tok, code) in [
        ("anonymous", None, "UNAUTHENTICATED"),
        ("other leader", Some(fx.other_leader.as_str()), "NOT_FOUND"),
        ("a colleague", Some(staff_claims.as_str()), "NOT_FOUND"),
        ("the person", Some(fx.own.as_str()), "FORBIDDEN"),
    ] {
        let res = call(app, tok, ERASE, json!({ "id": fx.person })).await;
        assert_eq!(res.codes(), [code], "{who}: {}", res.body);
    }
    let res = call(app, Some(&fx.provider), ERASE, json!({ "id": fx.person })).await;
    assert!(
        matches!(res.codes().as_slice(), [c] if c == "FORBIDDEN" || c == "NOT_FOUND"),
        "provider: {}",
        res.body
    );
    assert!(!fx.traces().await.is_empty(), "nothing was erased");
    // No such person, and a malformed id.
    let res = call(
        app,
        Some(&fx.admin),
        ERASE,
        json!({ "id": gid("Person", Uuid::now_v7()) }),
    )
    .await;
    assert_eq!(res.codes(), ["NOT_FOUND"]);
    let res = call(app, Some(&fx.admin), ERASE, json!({ "id": "bad\u{1}" })).await;
    assert_eq!(refusal(&res), ("BAD_USER_INPUT".into(), "input.id".into()));
    // ADMIN may.
    let res = call(app, Some(&fx.admin), ERASE, json!({ "id": fx.person })).await;
    assert_eq!(res.data()["erasePerson"]["erased"], true);
}

/// A person corrects their own name and e-mail address (audited); the job
/// title and the leader flag stay with their leader, and other persons are
/// out of reach.
#[tokio::test]
async fn a_person_corrects_their_own_name_and_email() {
    let fx = fx().await;
    let app = &fx.app;
    let res = call(
        app,
        Some(&fx.own),
        UPDATE,
        json!({ "input": { "id": fx.person, "version": 1, "name": "Eirin S. Nordby",
                           "email": "eirin.nordby@hamar.kommune.no" } }),
    )
    .await;
    let person = res.data()["updatePerson"]["person"].clone();
    assert_eq!(person["name"], "Eirin S. Nordby");
    assert_eq!(person["email"], "eirin.nordby@hamar.kommune.no");
    assert_eq!(person["jobTitle"], fx.job_title.as_str());
    let audited = entity::audit_log::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .any(|a| a.action == "updatePerson" && a.subject.as_deref() == Some(fx.subject.as_str()));
    assert!(audited);

    for input in [
        json!({ "id": fx.person, "version": 2, "jobTitle": "Leder" }),
        json!({ "id": fx.person, "version": 2, "isLeader": true }),
        json!({ "id": fx.person, "version": 2, "name": "X", "jobTitle": null }),
    ] {
        let res = call(app, Some(&fx.own), UPDATE, json!({ "input": input })).await;
        assert_eq!(res.codes(), ["FORBIDDEN"], "{input}: {}", res.body);
    }
    // Another person of the same service is not theirs to see.
    let other = colleague(&fx).await;
    let res = call(
        app,
        Some(&fx.own),
        UPDATE,
        json!({ "input": { "id": gid("Person", other), "version": 1, "name": "X" } }),
    )
    .await;
    assert_eq!(res.codes(), ["NOT_FOUND"], "{}", res.body);
    // Their leader still may change the rest.
    let res = call(
        app,
        Some(&fx.leader),
        UPDATE,
        json!({ "input": { "id": fx.person, "version": 2, "jobTitle": "Fagleder" } }),
    )
    .await;
    assert_eq!(res.data()["updatePerson"]["person"]["jobTitle"], "Fagleder");
}

/// The person reads everything held about them in one query, and it is
/// all of it: the answer is checked against the database. ADMIN reads the
/// same, and `kompetanse export-person` writes it; others may not.
#[tokio::test]
async fn a_person_reads_everything_held_about_them() {
    use kompetanse::domain::people::subject_access::EXPORT_QUERY;
    let fx = fx().await;
    let app = &fx.app;
    let pid = key_of(&fx.person);
    // A colleague signed up and recorded in the same call as the person:
    // that audit entry names both, and the person reads only their line.
    let colleague_key = colleague(&fx).await.to_string();
    let colleague = gid("Person", colleague(&fx).await);
    call(
        app,
        Some(&fx.leader),
        "mutation($run: ID!, $person: ID!) { signUp(input: {run: $run, person: $person}) { participation { id } } }",
        json!({ "run": fx.run, "person": colleague }),
    )
    .await
    .data();
    call(
        app,
        Some(&fx.leader),
        "mutation($s: ID!, $e: [AttendanceEntryInput!]!) { recordAttendance(input: {session: $s, entries: $e}) { created } }",
        json!({ "s": fx.session, "e": [{ "person": fx.person, "present": false },
                                       { "person": colleague, "present": false }] }),
    )
    .await
    .data();
    let vars = json!({ "person": fx.person });
    let own = call(app, Some(&fx.own), EXPORT_QUERY, vars.clone()).await;
    assert!(
        !own.body.to_string().contains(&colleague_key),
        "another person's attendance line: {}",
        own.body
    );
    let data = own.data()["personalData"].clone();
    assert_eq!(data["person"]["name"], fx.name.as_str());
    assert_eq!(data["person"]["email"], fx.email.as_str());

    // Against the database.
    let db = &app.db;
    let participations = entity::participation::Entity::find()
        .filter(entity::participation::Column::PersonId.eq(pid))
        .all(db)
        .await
        .unwrap();
    let ids: Vec<String> = participations
        .iter()
        .map(|p| gid("Participation", p.id))
        .collect();
    let answered: Vec<String> = data["participations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(answered, ids);
    let attendance = entity::attendance::Entity::find()
        .filter(entity::attendance::Column::PersonId.eq(pid))
        .all(db)
        .await
        .unwrap();
    assert_eq!(
        data["attendance"].as_array().unwrap().len(),
        attendance.len()
    );
    assert_eq!(data["attendance"][0]["session"]["id"], fx.session);
    let assignments = entity::role_assignment::Entity::find()
        .filter(entity::role_assignment::Column::PersonId.eq(pid))
        .all(db)
        .await
        .unwrap();
    assert_eq!(assignments.len(), 1);
    assert_eq!(data["roleAssignments"][0]["subject"], fx.subject.as_str());
    let about = entity::audit_log::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .filter(|a| {
            a.entity_id == Some(pid)
                || a.change.contains(&pid.to_string())
                || a.subject.as_deref() == Some(fx.subject.as_str())
        })
        .count();
    // registerPerson, signUp, recordAttendance, assignRole at least.
    assert!(about >= 4, "{about}");
    assert_eq!(data["auditEntries"].as_array().unwrap().len(), about);

    // ADMIN reads the same; the export command writes the same.
    let admin = call(app, Some(&fx.admin), EXPORT_QUERY, vars.clone()).await;
    assert_eq!(admin.data()["personalData"], data);
    let exported = kompetanse::domain::people::subject_access::export(db, &pid.to_string())
        .await
        .unwrap();
    assert_eq!(exported, data);

    // Nobody else: the leader manages the person but does not read all
    // of it here; others cannot see the person at all.
    for (who, tok, code) in [
        ("leader", Some(fx.leader.as_str()), "FORBIDDEN"),
        ("other leader", Some(fx.other_leader.as_str()), "NOT_FOUND"),
        ("anonymous", None, "NOT_FOUND"),
    ] {
        let res = call(app, tok, EXPORT_QUERY, vars.clone()).await;
        assert_eq!(res.codes(), [code], "{who}: {}", res.body);
    }
}

/// The retention rule erases persons whose runs all ended more than the
/// period ago, as `erasePerson` does: a dry run only counts, a run erases
/// in batches, a second run finds nothing; recent persons stay.
#[tokio::test]
async fn retention_erases_what_is_past_its_time() {
    use kompetanse::domain::people::retention;
    let fx = fx().await;
    let app = &fx.app;
    let db = &app.db;
    let hamar = common::service_id(db, "hamar-barneverntjeneste").await;
    // An old run (ended 2015) and a person who took part only in it,
    // whose record has not changed since.
    let res = call(
        app,
        Some(&fx.admin),
        "mutation($i: CreateRunInput!) { createRun(input: $i) { run { id } } }",
        json!({ "i": { "programme": gid("Programme", entity::programme::Entity::find()
            .filter(entity::programme::Column::Slug.eq(fx.programme.as_str()))
            .one(db).await.unwrap().unwrap().id),
            "title": "Kull 2015", "year": 2015, "startsOn": "2015-01-12", "endsOn": "2015-06-30" } }),
    )
    .await;
    let old_run = res.data()["createRun"]["run"]["id"].clone();
    call(
        app,
        Some(&fx.leader),
        "mutation($run: ID!, $service: ID!) { enrolService(input: {run: $run, service: $service}) { enrolment { id } } }",
        json!({ "run": old_run, "service": gid("Service", hamar) }),
    )
    .await
    .data();
    let res = call(
        app,
        Some(&fx.leader),
        "mutation($i: RegisterPersonInput!) { registerPerson(input: $i) { person { id } } }",
        json!({ "i": { "service": gid("Service", hamar), "name": "Gammel Deltaker",
                       "email": format!("{}@hamar.kommune.no", Uuid::now_v7().simple()) } }),
    )
    .await;
    let old_person = res.data()["registerPerson"]["person"]["id"].clone();
    call(
        app,
        Some(&fx.leader),
        "mutation($run: ID!, $person: ID!) { signUp(input: {run: $run, person: $person}) { participation { id } } }",
        json!({ "run": old_run, "person": old_person }),
    )
    .await
    .data();
    let long_ago = chrono::Utc::now() - chrono::Duration::days(9 * 365);
    entity::person::Entity::update_many()
        .col_expr(entity::person::Column::UpdatedAt, long_ago.into())
        .filter(entity::person::Column::Id.eq(key_of(&old_person)))
        .exec(db)
        .await
        .unwrap();
    // The fixture's person, in a 2026 run, is not due even when its record
    // is as old.
    entity::person::Entity::update_many()
        .col_expr(entity::person::Column::UpdatedAt, long_ago.into())
        .filter(entity::person::Column::Id.eq(key_of(&fx.person)))
        .exec(db)
        .await
        .unwrap();
    let erased = |id: &Value| {
        let id = key_of(id);
        async move {
            entity::person::Entity::find_by_id(id)
                .one(db)
                .await
                .unwrap()
                .unwrap()
                .erased_at
                .is_some()
        }
    };

    let today = chrono::Utc::now().date_naive();
    let dry = retention::apply(db, 5, today, true, 1).await.unwrap();
    assert!(dry.due >= 1, "{dry}");
    assert_eq!(dry.erased, 0);
    assert!(!erased(&old_person).await);
    // Kept for 12 years, it is not due yet.
    let long = retention::apply(db, 12, today, true, 1).await.unwrap();
    assert!(long.due < dry.due, "{long} {dry}");

    let done = retention::apply(db, 5, today, false, 1).await.unwrap();
    assert!(done.erased >= 1 && done.batches >= done.erased, "{done}");
    assert!(erased(&old_person).await);
    assert!(!erased(&fx.person).await);
    let again = retention::apply(db, 5, today, false, 1).await.unwrap();
    assert_eq!((again.due, again.erased), (0, 0), "{again}");
    // Erased as erasePerson erases: audited under the retention's name.
    let logged = entity::audit_log::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .any(|a| a.action == "retention" && a.entity_id == Some(key_of(&old_person)));
    assert!(logged);
}
