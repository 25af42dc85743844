//! The read API over the demo data: the questions users ask, paging,
//! filters, natural keys and `node`.

mod common;

use common::spawn_app;
use serde_json::{Value, json};

fn names(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|v| v[key].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn which_telemark_municipalities_take_part_in_what() {
    let app = spawn_app().await;
    // Telemark's services take part in RVTS Sør's programme directly; the
    // texts name no learning network in Telemark.
    let data = app
        .data(
            r#"{
              networks(filter: { county: "40" }) { totalCount }
              municipalities(filter: { county: "40" }, first: 100) {
                totalCount
                nodes { number name networks { name } runs { programme { slug } } }
              }
            }"#,
        )
        .await;
    assert_eq!(data["networks"]["totalCount"], 0);
    assert_eq!(data["municipalities"]["totalCount"], 17);
    let taking_part: Vec<&Value> = data["municipalities"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| !m["runs"].as_array().unwrap().is_empty())
        .collect();
    let numbers: Vec<&str> = taking_part
        .iter()
        .map(|m| m["number"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, ["4018", "4020"]);
    for m in taking_part {
        assert_eq!(
            m["runs"][0]["programme"]["slug"],
            "deltakende-fellesskap-og-psykisk-helse"
        );
    }

    // In Buskerud and Innlandet the learning networks and their
    // municipalities are registered.
    let data = app
        .data(
            r#"{
              buskerud: networks(filter: { county: "33", kind: LEARNING_NETWORK }) {
                nodes { name memberCount municipalities { name } }
              }
              innlandet: networks(filter: { county: "34" }) {
                nodes { name memberCount municipalities { number } }
              }
            }"#,
        )
        .await;
    let viken = &data["buskerud"]["nodes"][0];
    assert_eq!(viken["name"], "Læringsnettverk Viken");
    assert_eq!(viken["memberCount"], 4);
    let mut municipalities = names(&viken["municipalities"], "name");
    municipalities.sort();
    assert_eq!(
        municipalities,
        [
            "Flesberg",
            "Krødsherad",
            "Lier",
            "Modum",
            "Nore og Uvdal",
            "Rollag",
            "Sigdal",
            "Øvre Eiker"
        ]
    );
    let innlandet = &data["innlandet"]["nodes"][0];
    assert_eq!(innlandet["memberCount"], 5);
    assert_eq!(
        names(&innlandet["municipalities"], "number"),
        ["3403", "3411", "3412", "3413", "3420"]
    );
}

#[tokio::test]
async fn which_programmes_does_rvts_sor_run_and_where() {
    let app = spawn_app().await;
    let data = app
        .data(
            r#"{ provider(slug: "rvts-sor") {
                shortName orgNumber isNational regionCounties { number }
                programmes { role programme { name runs { nodes {
                  status network { name }
                  services { kind municipalities { number } }
                  sessions { kind audience durationHours }
                } } } }
            } }"#,
        )
        .await;
    let p = &data["provider"];
    assert_eq!(
        p["orgNumber"],
        Value::Null,
        "RVTS centres have no org number of their own"
    );
    assert_eq!(p["isNational"], false);
    assert_eq!(
        names(&p["regionCounties"], "number"),
        ["33", "39", "40", "42"]
    );
    let programmes = p["programmes"].as_array().unwrap();
    assert_eq!(programmes.len(), 1);
    assert_eq!(programmes[0]["role"], "LEAD");
    let run = &programmes[0]["programme"]["runs"]["nodes"][0];
    assert_eq!(run["network"], Value::Null);
    let mut kinds: Vec<&str> = run["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            "EDUCATIONAL_PSYCHOLOGICAL",
            "HEALTH_STATION",
            "MENTAL_HEALTH",
            "OTHER",
            "REFUGEE"
        ]
    );
    let sessions = run["sessions"].as_array().unwrap();
    let teaching = sessions
        .iter()
        .filter(|s| s["kind"] == "TEACHING_DAY" && s["audience"] == "ALL_STAFF")
        .count();
    let guidance: Vec<&Value> = sessions
        .iter()
        .filter(|s| s["kind"] == "LEADER_GUIDANCE")
        .collect();
    assert_eq!(teaching, 4);
    assert_eq!(guidance.len(), 4);
    assert!(
        guidance
            .iter()
            .all(|s| s["audience"] == "LEADERS" && s["durationHours"] == 3.0)
    );
}

#[tokio::test]
async fn what_the_tjenestestotteprogrammet_consists_of() {
    let app = spawn_app().await;
    let data = app
        .data(
            r#"{ programme(slug: "tjenestestotteprogrammet") {
                leadProvider { shortName } competenceAreas { name } themes
                runs { totalCount nodes { sessions { kind audience preWork } } }
            } }"#,
        )
        .await;
    let p = &data["programme"];
    assert_eq!(p["leadProvider"]["shortName"], "Bufdir");
    assert_eq!(p["competenceAreas"].as_array().unwrap().len(), 4);
    let sessions = p["runs"]["nodes"][0]["sessions"].as_array().unwrap();
    let count = |kind: &str, audience: &str| {
        sessions
            .iter()
            .filter(|s| s["kind"] == kind && s["audience"] == audience)
            .count()
    };
    assert_eq!(count("LEADER_GATHERING", "LEADERS"), 3);
    assert_eq!(count("COMMON_GATHERING", "ALL_STAFF"), 3);
    assert!(
        sessions.iter().all(|s| s["preWork"].is_string()),
        "every gathering has pre-work"
    );
}

#[tokio::test]
async fn reported_figures_stay_apart_from_registered_ones() {
    let app = spawn_app().await;
    let data = app
        .data(
            r#"{
              programme(slug: "mitt-liv-barneverntjeneste") { milestones { period figure qualifier source } runs { totalCount } }
              network(slug: "laeringsnettverk-ii-more-og-romsdal") { reportedMemberCount memberCount }
            }"#,
        )
        .await;
    let milestones = data["programme"]["milestones"].as_array().unwrap();
    assert_eq!(milestones.len(), 13);
    assert!(
        milestones.iter().any(|m| m["period"] == "2017–2018"
            && m["figure"] == 200
            && m["qualifier"] == "NEARLY")
    );
    assert!(
        milestones
            .iter()
            .all(|m| m["source"] == "forandringsfabrikken-mitt-liv.txt")
    );
    assert_eq!(data["programme"]["runs"]["totalCount"], 0);
    assert_eq!(data["network"]["reportedMemberCount"], 7);
    assert_eq!(
        data["network"]["memberCount"], 0,
        "the seven services are not named in the text"
    );
}

#[tokio::test]
async fn merger_history_is_kept() {
    let app = spawn_app().await;
    let data = app
        .data(
            r#"{
              bo: municipality(number: "0821") { name isCurrent changeType county { number isCurrent }
                mergedInto { number mergedInto { number name isCurrent predecessors { number } } } }
              current: municipalities { totalCount }
              all: municipalities(filter: { includeHistoric: true }) { totalCount }
            }"#,
        )
        .await;
    let bo = &data["bo"];
    assert_eq!(bo["isCurrent"], false);
    assert_eq!(bo["changeType"], "MERGED");
    assert_eq!(bo["county"]["number"], "08");
    assert_eq!(bo["mergedInto"]["number"], "3817");
    let today = &bo["mergedInto"]["mergedInto"];
    assert_eq!(today["number"], "4020");
    assert_eq!(today["isCurrent"], true);
    assert_eq!(names(&today["predecessors"], "number"), ["3817"]);
    assert_eq!(data["current"]["totalCount"], 357);
    assert_eq!(data["all"]["totalCount"], 780);
}

#[tokio::test]
async fn paging_forwards_and_backwards_covers_the_list_once() {
    let app = spawn_app().await;
    let page = |after: Option<String>| {
        let app = &app;
        async move {
            app.query(
                "query($after: String) { municipalities(first: 100, after: $after) {
                    totalCount pageInfo { hasNextPage hasPreviousPage endCursor } nodes { number } } }",
                json!({ "after": after }),
            )
            .await
            .data()["municipalities"]
                .clone()
        }
    };
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let conn = page(after.clone()).await;
        assert_eq!(conn["totalCount"], 357);
        assert_eq!(conn["pageInfo"]["hasPreviousPage"], after.is_some());
        seen.extend(names(&conn["nodes"], "number"));
        if conn["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = conn["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    assert_eq!(seen.len(), 357);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, seen, "ordered by number, no duplicates");

    let data = app
        .data(r#"{ municipalities(last: 3, orderBy: { field: POPULATION, direction: ASC }) { nodes { name } pageInfo { hasNextPage hasPreviousPage } } }"#)
        .await;
    assert_eq!(
        names(&data["municipalities"]["nodes"], "name"),
        ["Trondheim", "Bergen", "Oslo"]
    );
    assert_eq!(data["municipalities"]["pageInfo"]["hasPreviousPage"], true);
    assert_eq!(data["municipalities"]["pageInfo"]["hasNextPage"], false);
}

#[tokio::test]
async fn filters_narrow_lists_and_their_counts() {
    let app = spawn_app().await;
    let data = app
        .data(
            r#"{
              oslo: municipalities(filter: { search: "oslo" }) { totalCount }
              eiker: municipalities(filter: { search: "Eiker" }) { nodes { name } }
              percent: municipalities(filter: { search: "%" }) { totalCount }
              childWelfare: services(filter: { kind: CHILD_WELFARE }) { totalCount }
              innlandetServices: services(filter: { network: "laeringsnettverk-innlandet" }) { totalCount }
              nubuProgrammes: programmes(filter: { provider: "nubu" }) { totalCount }
              runs2022: runs(filter: { year: 2022 }) { totalCount }
              telemarkRuns: runs(filter: { county: "40" }) { totalCount }
              rvts: providers(filter: { kind: RVTS }) { totalCount }
              offices: funderOffices(filter: { county: "33" }) { nodes { name counties { number } } }
            }"#,
        )
        .await;
    assert_eq!(data["oslo"]["totalCount"], 1);
    // Nedre Eiker became part of Drammen in 2020: only current ones match.
    assert_eq!(names(&data["eiker"]["nodes"], "name"), ["Øvre Eiker"]);
    assert_eq!(data["percent"]["totalCount"], 0, "% is matched literally");
    assert_eq!(data["childWelfare"]["totalCount"], 9);
    assert_eq!(data["innlandetServices"]["totalCount"], 5);
    assert_eq!(data["nubuProgrammes"]["totalCount"], 2);
    assert_eq!(data["runs2022"]["totalCount"], 2);
    assert_eq!(data["telemarkRuns"]["totalCount"], 1);
    assert_eq!(data["rvts"]["totalCount"], 5);
    let office = &data["offices"]["nodes"][0];
    assert_eq!(
        office["name"],
        "Statsforvalteren i Østfold, Buskerud, Oslo og Akershus"
    );
    assert_eq!(
        names(&office["counties"], "number"),
        ["03", "31", "32", "33"]
    );
}

#[tokio::test]
async fn every_node_type_round_trips_through_node() {
    let app = spawn_app().await;
    let data = app
        .data(
            r#"{
              county(number: "40") { id }
              municipality(number: "4020") { id }
              funderOffice(orgNumber: "974 761 645") { id }
              provider(orgNumber: "985638187") { id }
              service(slug: "lier-barneverntjeneste") { id memberships { id } enrolments { id } }
              network(slug: "laeringsnettverk-viken") { id }
              programme(slug: "mitt-liv-barneverntjeneste") { id milestones { id } }
              sessions(first: 1) { nodes { id run { id } } }
            }"#,
        )
        .await;
    let ids = [
        ("County", &data["county"]["id"]),
        ("Municipality", &data["municipality"]["id"]),
        ("FunderOffice", &data["funderOffice"]["id"]),
        ("Provider", &data["provider"]["id"]),
        ("Service", &data["service"]["id"]),
        (
            "NetworkMembership",
            &data["service"]["memberships"][0]["id"],
        ),
        ("Enrolment", &data["service"]["enrolments"][0]["id"]),
        ("Network", &data["network"]["id"]),
        ("Programme", &data["programme"]["id"]),
        ("Milestone", &data["programme"]["milestones"][0]["id"]),
        ("Session", &data["sessions"]["nodes"][0]["id"]),
        ("ProgrammeRun", &data["sessions"]["nodes"][0]["run"]["id"]),
    ];
    for (type_name, id) in ids {
        let res = app
            .query(
                "query($id: ID!) { node(id: $id) { __typename id } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(res.data()["node"]["__typename"], type_name);
        assert_eq!(&res.data()["node"]["id"], id);
    }
    let all: Vec<&Value> = ids.iter().map(|(_, id)| *id).collect();
    let res = app
        .query(
            "query($ids: [ID!]!) { nodes(ids: $ids) { __typename } }",
            json!({ "ids": all }),
        )
        .await;
    assert_eq!(res.data()["nodes"].as_array().unwrap().len(), ids.len());
}

#[tokio::test]
async fn small_attendance_counts_are_protected() {
    let app = spawn_app().await;
    let data = app
        .data(
            r#"{ sessions(filter: { programme: "deltakende-fellesskap-og-psykisk-helse" }, first: 20) {
                nodes { kind synthetic: attendance { registered present absent suppressed } } } }"#,
        )
        .await;
    for s in data["sessions"]["nodes"].as_array().unwrap() {
        let a = &s["synthetic"];
        // Anonymous: each figure is 0, withheld, or perturbed to at least
        // 5; a withheld registered count withholds the others.
        for k in ["registered", "present", "absent"] {
            if let Some(n) = a[k].as_i64() {
                assert!(n == 0 || n >= 5, "a count from 1 to 4 was shown: {a}");
            }
        }
        if a["registered"].is_null() {
            assert!(a["present"].is_null() && a["absent"].is_null(), "{a}");
        }
        let any_withheld = ["registered", "present", "absent"]
            .iter()
            .any(|k| a[*k].is_null());
        assert_eq!(a["suppressed"], any_withheld, "{a}");
    }
}

/// One convention for arguments that name an object: the global id or the
/// natural key, the same answer either way, in lists, statistics and
/// coverage.
#[tokio::test]
async fn filters_take_the_global_id_or_the_natural_key_everywhere() {
    let app = spawn_app().await;
    let ids = app
        .query(
            r#"{ county(number: "40") { id }
                 municipality(number: "4020") { id }
                 programme(slug: "deltakende-fellesskap-og-psykisk-helse") { id }
                 provider(slug: "rvts-sor") { id } }"#,
            json!({}),
        )
        .await;
    let id = |k: &str| ids.data()[k]["id"].as_str().unwrap().to_owned();
    let (county, municipality, programme, provider) = (
        id("county"),
        id("municipality"),
        id("programme"),
        id("provider"),
    );

    let stats = "query($f: StatsFilter) { participationStats(filter: $f, groupBy: [PROGRAMME, MUNICIPALITY]) {
        programme { slug } municipality { number } runs services participants suppressed } }";
    let coverage = "query($f: CoverageFilter) { coverage(filter: $f) { municipalitiesReached populationReached } }";
    let runs = "query($f: RunFilter) { runs(filter: $f) { totalCount nodes { title } } }";
    let cases = [
        (
            stats,
            json!({ "county": "40" }),
            json!({ "county": county }),
        ),
        (
            stats,
            json!({ "municipality": "4020", "programme": "deltakende-fellesskap-og-psykisk-helse" }),
            json!({ "municipality": municipality, "programme": programme }),
        ),
        (
            stats,
            json!({ "provider": "rvts-sor" }),
            json!({ "provider": provider }),
        ),
        (
            coverage,
            json!({ "programme": "deltakende-fellesskap-og-psykisk-helse" }),
            json!({ "programme": programme }),
        ),
        (runs, json!({ "county": "40" }), json!({ "county": county })),
        (
            runs,
            json!({ "programme": "deltakende-fellesskap-og-psykisk-helse" }),
            json!({ "programme": programme }),
        ),
    ];
    for (query, natural, global) in cases {
        let a = app.query(query, json!({ "f": natural })).await;
        let b = app.query(query, json!({ "f": global })).await;
        assert!(a.body.get("errors").is_none(), "{natural}: {}", a.body);
        assert_eq!(a.body, b.body, "{natural} against {global}");
        let data = a.body["data"].to_string();
        assert!(data.len() > 40, "a real answer for {natural}: {data}");
    }

    // The id of another type names its field; an unknown key is NOT_FOUND.
    let res = app
        .query(stats, json!({ "f": { "county": municipality } }))
        .await;
    assert_eq!(res.codes(), ["BAD_USER_INPUT"], "{}", res.body);
    assert_eq!(res.first_error()["extensions"]["field"], "filter.county");
    let res = app
        .query(runs, json!({ "f": { "programme": county } }))
        .await;
    assert_eq!(res.codes(), ["BAD_USER_INPUT"], "{}", res.body);
    let res = app.query(stats, json!({ "f": { "county": "99" } })).await;
    assert_eq!(res.codes(), ["NOT_FOUND"], "{}", res.body);
    let res = app
        .query(
            coverage,
            json!({ "f": { "programme": "no-such-programme" } }),
        )
        .await;
    assert_eq!(res.codes(), ["NOT_FOUND"], "{}", res.body);
    let res = app.query(stats, json!({ "f": { "county": "4" } })).await;
    assert_eq!(res.codes(), ["BAD_USER_INPUT"], "{}", res.body);
}

/// Reference and demo rows have the same ids on every installation
/// (UUIDv5 of their natural keys), so ids found in one database work in
/// another.
#[tokio::test]
async fn seeded_ids_are_the_same_on_every_installation() {
    let query = r#"{ county(number: "40") { id }
        municipality(number: "4020") { id }
        provider(slug: "nubu") { id }
        programme(slug: "tjenestestotteprogrammet") { id runs { nodes { id sessions { id } } } }
        service(slug: "hamar-barneverntjeneste") { id }
        funderOffices { nodes { id } } }"#;
    let one = spawn_app().await.query(query, json!({})).await;
    // A second installation: a database of its own, seeded on first start.
    let mut settings = common::test_settings();
    settings.database_url = common::fresh_database().await;
    let two = common::spawn_app_with(settings)
        .await
        .query(query, json!({}))
        .await;
    assert!(one.body.get("errors").is_none(), "{}", one.body);
    assert_eq!(one.body, two.body, "two fresh installations");
    // Pinned: these ids are promised to integrators and never change.
    for (object, id) in [
        (
            "county",
            "Q291bnR5OmNkMTU1NjMxZGJjMTUzMmFiMWQzZTJmNTU4ZjlhYmRm",
        ),
        (
            "municipality",
            "TXVuaWNpcGFsaXR5OjJkNzcwZjNlZjBjZDU1NTU5NDJlZmQwMWNhOWJmYjY0",
        ),
        (
            "provider",
            "UHJvdmlkZXI6ZWY0MGQ1Y2FkNDc0NTBmNDhmZDViNDRiOTJlOGVhYzY",
        ),
        (
            "programme",
            "UHJvZ3JhbW1lOjk2NmI0M2JjNmQ0OTViZmY5Mjc2OGVkMzc1OTc2Nzcw",
        ),
    ] {
        assert_eq!(one.data()[object]["id"], id, "{object}");
    }
}
