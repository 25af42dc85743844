//! A synthetic national dataset for load tests and benchmarks
//! (`kompetanse seed --synthetic SCALE [--seed N]`).
//!
//! At SCALE 1 it makes about 250 services (hosted by municipalities in force
//! and covering 1–4 municipalities of the host's county, so that every
//! municipality is covered), regional learning networks per county, 40
//! programmes led by the reference providers, 400 runs from 2018 to 2026
//! with 3–12 sessions each, enrolments, about 6 000 persons (about 15 %
//! leaders), their participations, about 150 000 attendance rows (about
//! 85 % present) and about two grants per run. SCALE 10 makes ten times the
//! services, networks, programmes, runs and persons; the municipalities stay
//! the same. A fractional SCALE (e.g. 0.05) makes a small dataset for tests.
//!
//! The data is deterministic: the same seed and scale give the same rows
//! with the same ids (UUID v7 values whose timestamp counts up from
//! 2026-01-01 and whose random bits come from the seeded generator), on
//! either engine, whatever else the database holds. Only `created_at` and
//! `updated_at` carry the time of loading.
//!
//! Every generated row is recognisable: slugs start with `syn-SEED-`, names
//! with "Syntetisk" or "Testperson", e-mail addresses end in
//! `@example.invalid`, and persons, participations and attendance rows have
//! `synthetic = true`. The data is seen from a fixed day, [`as_of`]:
//! sessions up to it have taken place (and have attendance), later ones not.
//! Participations carry their derived completion, computed with
//! [`progress`] from the generated attendance.

use std::collections::HashMap;

use chrono::{DateTime, Days, NaiveDate, Utc};
use entity::enums::{
    Audience, EnrolmentStatus, FigureQualifier, GrantStatus, NetworkKind, NetworkScope,
    ParticipationRole, ParticipationStatus, ProviderRole, RunStatus, ServiceKind, SessionKind,
};
use entity::{
    CompetenceArea, attendance, county, encode_json, enrolment, funder_office,
    funder_office_county, funding_grant, milestone, municipality, network, network_member,
    participation, person, programme, programme_provider, programme_run, programme_service_kind,
    programme_theme, provider, service, service_municipality, session,
};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel, Iterable, ModelTrait,
    PaginatorTrait, QueryFilter, QueryOrder,
};
use uuid::Uuid;

use super::{SeedError, SeedReport};
use crate::domain::people::completion::progress;

/// The tables the dataset writes to, in insertion order.
pub const TABLES: [&str; 16] = [
    "service",
    "service_municipality",
    "network",
    "network_member",
    "programme",
    "programme_provider",
    "programme_theme",
    "programme_service_kind",
    "milestone",
    "programme_run",
    "enrolment",
    "session",
    "person",
    "participation",
    "attendance",
    "funding_grant",
];

/// The seed used when none is given.
pub const DEFAULT_SEED: u64 = 2026;

/// The largest scale accepted (SCALE 100 is about 15 million attendance
/// rows).
pub const MAX_SCALE: f64 = 100.0;

/// Most bound parameters in one statement: SQLite's limit (PostgreSQL allows
/// 65 535).
const MAX_PARAMS: usize = 32_766;

/// Most rows in one INSERT, whatever the width of the table.
const MAX_ROWS: usize = 4_000;

/// 2026-01-01T00:00:00Z in milliseconds: the timestamp of the first
/// generated id; each further id is one millisecond later.
const ID_BASE_MS: u64 = 1_767_225_600_000;

/// The day the data is seen from: sessions on or before it have taken place.
pub fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 4, 30).unwrap_or_default()
}

/// The slug prefix of the data generated with `seed`: `syn-SEED-`.
pub fn slug_prefix(seed: u64) -> String {
    format!("syn-{seed}-")
}

/// Checks a scale: a finite number above 0 and at most [`MAX_SCALE`].
pub fn check_scale(scale: f64) -> Result<(), String> {
    if scale.is_finite() && scale > 0.0 && scale <= MAX_SCALE {
        Ok(())
    } else {
        Err(format!(
            "the scale must be a number above 0 and at most {MAX_SCALE} (got {scale})"
        ))
    }
}

/// Generates and inserts the dataset for `scale` and `seed` with `db` (run it
/// inside a transaction: a failure part-way leaves rows behind otherwise).
///
/// The reference data must be in place. A dataset for the same seed already
/// present is [`SeedError::AlreadySeeded`], checked before anything is
/// written.
pub async fn insert(
    db: &impl ConnectionTrait,
    scale: f64,
    seed: u64,
    now: DateTime<Utc>,
) -> Result<SeedReport, SeedError> {
    check_scale(scale).map_err(SeedError::Data)?;
    let prefix = slug_prefix(seed);
    let present = service::Entity::find()
        .filter(service::Column::Slug.starts_with(&prefix))
        .count(db)
        .await?;
    if present > 0 {
        return Err(SeedError::AlreadySeeded(format!(
            "synthetic data for seed {seed} is already in the database ({present} services \
             with slugs starting {prefix}); use another --seed"
        )));
    }
    let reference = Reference::load(db).await?;
    let mut g = Generator::new(&reference, scale, seed, now);
    let plan = g.plan();
    insert_plan(db, &mut g, plan).await
}

/// The reference rows the dataset hangs on, in a fixed order (by number or
/// slug, never by id) so that generation does not depend on their ids.
struct Reference {
    counties: Vec<CountyRef>,
    municipalities: Vec<MunicipalityRef>,
    providers: Vec<Uuid>,
}

struct CountyRef {
    id: Uuid,
    name: String,
    /// Indexes into `Reference::municipalities`.
    municipalities: Vec<usize>,
    /// The funder office covering the county, if any.
    office: Option<Uuid>,
}

struct MunicipalityRef {
    id: Uuid,
}

impl Reference {
    async fn load(db: &impl ConnectionTrait) -> Result<Self, SeedError> {
        let counties = county::Entity::find()
            .filter(county::Column::ValidTo.is_null())
            .order_by_asc(county::Column::Number)
            .all(db)
            .await?;
        let municipalities = municipality::Entity::find()
            .filter(municipality::Column::ValidTo.is_null())
            .order_by_asc(municipality::Column::Number)
            .all(db)
            .await?;
        let offices = funder_office::Entity::find()
            .order_by_asc(funder_office::Column::OrgNumber)
            .all(db)
            .await?;
        let office_counties = funder_office_county::Entity::find().all(db).await?;
        // Sorted here, byte-wise: PostgreSQL's collation may order slugs
        // with hyphens differently from SQLite's.
        let mut providers = provider::Entity::find().all(db).await?;
        providers.sort_by(|a, b| a.slug.cmp(&b.slug));
        let providers: Vec<Uuid> = providers.into_iter().map(|p| p.id).collect();
        if municipalities.is_empty() || providers.is_empty() {
            return Err(SeedError::Data(
                "the reference data (municipalities, providers) is missing".to_owned(),
            ));
        }

        let county_index: HashMap<Uuid, usize> = counties
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id, i))
            .collect();
        let mut out = Self {
            counties: counties
                .iter()
                .map(|c| CountyRef {
                    id: c.id,
                    name: c.name.clone(),
                    municipalities: Vec::new(),
                    // The first office (by organisation number) covering it.
                    office: offices
                        .iter()
                        .find(|o| {
                            office_counties
                                .iter()
                                .any(|oc| oc.funder_office_id == o.id && oc.county_id == c.id)
                        })
                        .map(|o| o.id),
                })
                .collect(),
            municipalities: Vec::new(),
            providers,
        };
        for m in municipalities {
            let Some(&county) = county_index.get(&m.county_id) else {
                continue;
            };
            out.counties[county]
                .municipalities
                .push(out.municipalities.len());
            out.municipalities.push(MunicipalityRef { id: m.id });
        }
        Ok(out)
    }
}

/// The seeded random source and the id sequence.
struct Generator<'r> {
    reference: &'r Reference,
    scale: f64,
    seed: u64,
    prefix: String,
    now: DateTime<Utc>,
    rng: ChaCha8Rng,
    /// A separate stream for the random bits of ids, so that adding an id
    /// does not change the other choices.
    id_rng: ChaCha8Rng,
    next_id: u64,
}

impl<'r> Generator<'r> {
    fn new(reference: &'r Reference, scale: f64, seed: u64, now: DateTime<Utc>) -> Self {
        let rng = ChaCha8Rng::seed_from_u64(seed);
        let mut id_rng = ChaCha8Rng::seed_from_u64(seed);
        id_rng.set_stream(1);
        Self {
            reference,
            scale,
            seed,
            prefix: slug_prefix(seed),
            now,
            rng,
            id_rng,
            next_id: 0,
        }
    }

    /// The next id: a UUID v7 with a counting timestamp and seeded bits.
    fn id(&mut self) -> Uuid {
        let mut bytes = [0u8; 10];
        self.id_rng.fill_bytes(&mut bytes);
        let ms = ID_BASE_MS + self.next_id;
        self.next_id += 1;
        uuid::Builder::from_unix_timestamp_millis(ms, &bytes).into_uuid()
    }

    /// A number in `0..n` (`n` > 0).
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.rng.next_u64()) * n as u128) >> 64) as usize
    }

    /// A number in `lo..=hi`.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as usize) as i64
    }

    /// A number in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// One of `items` (non-empty).
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    /// One of `items` by weight.
    fn weighted<T: Copy>(&mut self, items: &[(T, u32)]) -> T {
        let total: u32 = items.iter().map(|(_, w)| w).sum();
        let mut x = self.below(total as usize) as u32;
        for &(item, w) in items {
            if x < w {
                return item;
            }
            x -= w;
        }
        items[items.len() - 1].0
    }

    /// `k` distinct indexes of `0..n`, in random order.
    fn sample(&mut self, n: usize, k: usize) -> Vec<usize> {
        let mut all: Vec<usize> = (0..n).collect();
        let k = k.min(n);
        for i in 0..k {
            let j = i + self.below(n - i);
            all.swap(i, j);
        }
        all.truncate(k);
        all
    }

    /// `base` times the scale, rounded, at least `min`.
    fn scaled(&self, base: f64, min: usize) -> usize {
        ((base * self.scale).round() as usize).max(min)
    }

    fn day(&mut self, year: i32, months: (u32, u32)) -> NaiveDate {
        let month = self.range(i64::from(months.0), i64::from(months.1)) as u32;
        let day = self.range(1, 28) as u32;
        NaiveDate::from_ymd_opt(year, month, day).unwrap_or_default()
    }
}

fn at(date: NaiveDate, hour: u32) -> DateTime<Utc> {
    date.and_hms_opt(hour, 0, 0).unwrap_or_default().and_utc()
}

fn plus_days(date: NaiveDate, days: i64) -> NaiveDate {
    if days >= 0 {
        date.checked_add_days(Days::new(days as u64))
    } else {
        date.checked_sub_days(Days::new(days.unsigned_abs()))
    }
    .unwrap_or(date)
}

const SERVICE_KINDS: [(ServiceKind, u32); 6] = [
    (ServiceKind::ChildWelfare, 30),
    (ServiceKind::MentalHealth, 20),
    (ServiceKind::HealthStation, 15),
    (ServiceKind::EducationalPsychological, 15),
    (ServiceKind::Refugee, 10),
    (ServiceKind::Other, 10),
];

fn kind_label(kind: ServiceKind) -> &'static str {
    match kind {
        ServiceKind::ChildWelfare => "barneverntjeneste",
        ServiceKind::Refugee => "flyktningtjeneste",
        ServiceKind::MentalHealth => "tjeneste for psykisk helse og rus",
        ServiceKind::HealthStation => "helsestasjon",
        ServiceKind::EducationalPsychological => "PP-tjeneste",
        ServiceKind::Other => "tjeneste",
    }
}

const THEMES: [&str; 10] = [
    "traumer",
    "vold",
    "barnevern",
    "samtaler-med-barn",
    "medvirkning",
    "rus",
    "psykisk-helse",
    "flyktninger",
    "ledelse",
    "familievern",
];

const JOB_TITLES: [&str; 5] = [
    "Saksbehandler",
    "Miljøterapeut",
    "Helsesykepleier",
    "Rådgiver",
    "Konsulent",
];

/// The ordinary sessions (for all staff) and the leader sessions.
const STAFF_SESSIONS: [(SessionKind, u32); 7] = [
    (SessionKind::TeachingDay, 30),
    (SessionKind::ProfessionalDay, 15),
    (SessionKind::CourseDay, 15),
    (SessionKind::CommonGathering, 15),
    (SessionKind::Guidance, 15),
    (SessionKind::Boost, 5),
    (SessionKind::Other, 5),
];
const LEADER_SESSIONS: [SessionKind; 2] =
    [SessionKind::LeaderGuidance, SessionKind::LeaderGathering];

struct ServicePlan {
    id: Uuid,
    county: usize,
    kind: ServiceKind,
    /// Host municipality index.
    host: usize,
    /// Staff: (person id, is leader).
    staff: Vec<(Uuid, bool)>,
}

struct RunPlan {
    id: Uuid,
    min_percent: Option<i32>,
    status: RunStatus,
    /// (id, audience, date) in position order.
    sessions: Vec<(Uuid, Audience, NaiveDate)>,
    /// (person id, is leader), service by service.
    participants: Vec<(Uuid, bool)>,
}

/// Everything but participations and attendance, which are generated while
/// inserting (they are the bulk).
#[derive(Default)]
struct Plan {
    services: Vec<service::Model>,
    service_municipalities: Vec<service_municipality::Model>,
    networks: Vec<network::Model>,
    network_members: Vec<network_member::Model>,
    programmes: Vec<programme::Model>,
    programme_providers: Vec<programme_provider::Model>,
    programme_themes: Vec<programme_theme::Model>,
    programme_kinds: Vec<programme_service_kind::Model>,
    milestones: Vec<milestone::Model>,
    runs: Vec<programme_run::Model>,
    enrolments: Vec<enrolment::Model>,
    sessions: Vec<session::Model>,
    persons: Vec<person::Model>,
    grants: Vec<funding_grant::Model>,
    run_plans: Vec<RunPlan>,
}

impl Generator<'_> {
    fn plan(&mut self) -> Plan {
        let mut plan = Plan::default();
        let services = self.services(&mut plan);
        let networks = self.networks(&mut plan, &services);
        let programmes = self.programmes(&mut plan);
        self.runs(&mut plan, &services, &networks, &programmes);
        plan
    }

    /// Services, spread over the counties by their number of municipalities,
    /// covering every municipality when there are enough of them; with their
    /// staff.
    fn services(&mut self, plan: &mut Plan) -> Vec<ServicePlan> {
        let reference = self.reference;
        let total = self.scaled(250.0, 1);
        let m_total = reference.municipalities.len();
        // Largest-remainder shares per county.
        let mut shares: Vec<(usize, usize, usize)> = reference
            .counties
            .iter()
            .enumerate()
            .map(|(c, county)| {
                let exact = total * county.municipalities.len();
                (c, exact / m_total, exact % m_total)
            })
            .collect();
        let mut left = total - shares.iter().map(|s| s.1).sum::<usize>();
        let mut by_remainder: Vec<usize> = (0..shares.len()).collect();
        by_remainder.sort_by_key(|&i| (std::cmp::Reverse(shares[i].2), i));
        for i in by_remainder {
            if left == 0 {
                break;
            }
            if !reference.counties[i].municipalities.is_empty() {
                shares[i].1 += 1;
                left -= 1;
            }
        }

        let mut out = Vec::new();
        let mut person_no = 0usize;
        for (c, k, _) in shares {
            let munis = &reference.counties[c].municipalities;
            if k == 0 || munis.is_empty() {
                continue;
            }
            let mut uncovered: Vec<usize> = munis.clone();
            // Shuffle, so hosts are not in number order.
            for i in (1..uncovered.len()).rev() {
                let j = self.below(i + 1);
                uncovered.swap(i, j);
            }
            for j in 0..k {
                let needed = uncovered.len().div_ceil(k - j);
                let wanted = self.weighted(&[(1usize, 45), (2, 30), (3, 15), (4, 10)]);
                let count = wanted.max(needed).min(4).min(munis.len());
                let host = match uncovered.pop() {
                    Some(m) => m,
                    None => self.pick(munis),
                };
                let mut covers = vec![host];
                while covers.len() < count {
                    let m = match uncovered.pop() {
                        Some(m) => m,
                        None => self.pick(munis),
                    };
                    if !covers.contains(&m) {
                        covers.push(m);
                    }
                }
                let kind = self.weighted(&SERVICE_KINDS);
                let id = self.id();
                let n = out.len() + 1;
                let label = kind_label(kind);
                let name = if covers.len() > 1 {
                    format!("Syntetisk interkommunal {label} {n}")
                } else {
                    format!("Syntetisk {label} {n}")
                };
                plan.services.push(service::Model {
                    id,
                    slug: format!("{}tjeneste-{n}", self.prefix),
                    name,
                    kind,
                    host_municipality_id: Some(reference.municipalities[host].id),
                    notes: Some(format!(
                        "Syntetiske data for belastningstester (frø {}).",
                        self.seed
                    )),
                    source: None,
                    version: 1,
                    created_at: self.now,
                    updated_at: self.now,
                });
                for &m in &covers {
                    plan.service_municipalities
                        .push(service_municipality::Model {
                            service_id: id,
                            municipality_id: reference.municipalities[m].id,
                        });
                }
                let size = self.range(8, 40) as usize;
                let leaders = ((size as f64 * 0.15).round() as usize).max(1);
                let mut staff = Vec::with_capacity(size);
                for i in 0..size {
                    person_no += 1;
                    let is_leader = i < leaders;
                    let pid = self.id();
                    let job = if is_leader {
                        "Leder"
                    } else {
                        self.pick(&JOB_TITLES)
                    };
                    plan.persons.push(person::Model {
                        id: pid,
                        service_id: id,
                        name: format!("Testperson {person_no}"),
                        email: Some(format!(
                            "testperson{person_no}.syn-{}@example.invalid",
                            self.seed
                        )),
                        job_title: Some(job.to_owned()),
                        is_leader,
                        synthetic: true,
                        record_key: person::new_record_key(),
                        erased_at: None,
                        version: 1,
                        created_at: self.now,
                        updated_at: self.now,
                    });
                    staff.push((pid, is_leader));
                }
                out.push(ServicePlan {
                    id,
                    county: c,
                    kind,
                    host,
                    staff,
                });
            }
        }
        out
    }

    /// Regional learning networks per county (one per county at SCALE 1),
    /// joined by about 60 % of the county's services. Returns the members of
    /// each network (service indexes) with its id and county.
    fn networks(
        &mut self,
        plan: &mut Plan,
        services: &[ServicePlan],
    ) -> Vec<(Uuid, usize, Vec<usize>)> {
        let reference = self.reference;
        let per_county = self.scaled(1.0, 1);
        let mut out: Vec<(Uuid, usize, Vec<usize>)> = Vec::new();
        for (c, county) in reference.counties.iter().enumerate() {
            let local: Vec<usize> = (0..services.len())
                .filter(|&s| services[s].county == c)
                .collect();
            if local.len() < 2 {
                continue;
            }
            let count = per_county.min(local.len() / 2).max(1);
            let first = out.len();
            for k in 0..count {
                let id = self.id();
                let kind = if self.chance(0.85) {
                    NetworkKind::LearningNetwork
                } else {
                    NetworkKind::LeaderNetwork
                };
                let what = match kind {
                    NetworkKind::LearningNetwork => "læringsnettverk",
                    NetworkKind::LeaderNetwork => "ledernettverk",
                };
                plan.networks.push(network::Model {
                    id,
                    slug: format!("{}nettverk-{}", self.prefix, out.len() + 1),
                    name: format!("Syntetisk {what} {} {}", county.name, k + 1),
                    kind,
                    scope: NetworkScope::Regional,
                    county_id: None,
                    coordinator_service_id: None,
                    description: Some("Syntetisk regionalt nettverk.".to_owned()),
                    reported_member_count: None,
                    source: None,
                    version: 1,
                    created_at: self.now,
                    updated_at: self.now,
                });
                out.push((id, c, Vec::new()));
            }
            for &s in &local {
                if self.chance(0.6) {
                    let n = first + self.below(count);
                    out[n].2.push(s);
                }
            }
        }
        // Counties, coordinators and members.
        for (i, (id, c, members)) in out.iter().enumerate() {
            let model = &mut plan.networks[i];
            model.county_id = Some(reference.counties[*c].id);
            model.coordinator_service_id = members.first().map(|&s| services[s].id);
            for &s in members {
                let joined_year = self.range(2016, 2023) as i32;
                let joined = self.day(joined_year, (1, 12));
                let member_id = self.id();
                plan.network_members.push(network_member::Model {
                    id: member_id,
                    network_id: *id,
                    service_id: services[s].id,
                    joined_on: Some(joined),
                    left_on: None,
                    version: 1,
                    created_at: self.now,
                    updated_at: self.now,
                });
            }
        }
        out
    }

    /// Programmes with providers, themes, service kinds and milestones.
    /// Returns (id, name, kinds, completion share) per programme.
    fn programmes(
        &mut self,
        plan: &mut Plan,
    ) -> Vec<(Uuid, String, Vec<ServiceKind>, Option<i32>)> {
        let providers = &self.reference.providers;
        let count = self.scaled(40.0, 1);
        let mut out = Vec::new();
        for n in 1..=count {
            let id = self.id();
            let min_percent = self.pick(&[None, Some(75), Some(80), Some(100)]);
            let name = format!("Syntetisk program {n}");
            plan.programmes.push(programme::Model {
                id,
                slug: format!("{}program-{n}", self.prefix),
                name: name.clone(),
                short_name: Some(format!("SYN{n}")),
                summary: Some("Et syntetisk kompetanseprogram for belastningstester.".to_owned()),
                description: None,
                goals: encode_json(&["Bedre praksis", "Felles kunnskap"]),
                learning_objectives: encode_json(&Vec::<String>::new()),
                competence_areas: encode_json(&Vec::<CompetenceArea>::new()),
                completion_min_percent: min_percent,
                completion_rule: min_percent
                    .map(|p| format!("Deltakelse på minst {p} % av samlingene.")),
                source: None,
                version: 1,
                created_at: self.now,
                updated_at: self.now,
            });
            let lead = self.below(providers.len());
            plan.programme_providers.push(programme_provider::Model {
                programme_id: id,
                provider_id: providers[lead],
                role: ProviderRole::Lead,
            });
            if providers.len() > 1 && self.chance(0.35) {
                let partner = (lead + 1 + self.below(providers.len() - 1)) % providers.len();
                plan.programme_providers.push(programme_provider::Model {
                    programme_id: id,
                    provider_id: providers[partner],
                    role: ProviderRole::Partner,
                });
            }
            let theme_count = self.range(1, 3) as usize;
            for t in self.sample(THEMES.len(), theme_count) {
                let theme_id = self.id();
                plan.programme_themes.push(programme_theme::Model {
                    id: theme_id,
                    programme_id: id,
                    theme: THEMES[t].to_owned(),
                });
            }
            let kind_count = self.range(1, 2) as usize;
            let mut kinds = Vec::new();
            while kinds.len() < kind_count {
                let k = self.weighted(&SERVICE_KINDS);
                if !kinds.contains(&k) {
                    kinds.push(k);
                }
            }
            for &kind in &kinds {
                let kind_id = self.id();
                plan.programme_kinds.push(programme_service_kind::Model {
                    id: kind_id,
                    programme_id: id,
                    kind,
                });
            }
            let milestones = self.range(0, 2) as i32;
            for position in 1..=milestones {
                let figure = self.range(10, 200);
                let year = self.range(2010, 2017) as i32;
                let milestone_id = self.id();
                plan.milestones.push(milestone::Model {
                    id: milestone_id,
                    programme_id: id,
                    position,
                    year_from: year,
                    year_to: None,
                    text: format!("Rapportert: {figure} tjenester deltok."),
                    figure: Some(figure),
                    unit: Some("tjenester".to_owned()),
                    qualifier: Some(FigureQualifier::About),
                    source: None,
                    version: 1,
                    created_at: self.now,
                    updated_at: self.now,
                });
            }
            out.push((id, name, kinds, min_percent));
        }
        out
    }

    /// Runs with sessions, enrolments, participants and grants.
    fn runs(
        &mut self,
        plan: &mut Plan,
        services: &[ServicePlan],
        networks: &[(Uuid, usize, Vec<usize>)],
        programmes: &[(Uuid, String, Vec<ServiceKind>, Option<i32>)],
    ) {
        let as_of = as_of();
        let count = self.scaled(400.0, 1);
        let mut by_kind: HashMap<ServiceKind, Vec<usize>> = HashMap::new();
        for (i, s) in services.iter().enumerate() {
            by_kind.entry(s.kind).or_default().push(i);
        }
        let usable_networks: Vec<usize> = (0..networks.len())
            .filter(|&n| !networks[n].2.is_empty())
            .collect();
        for n in 1..=count {
            let id = self.id();
            let p = self.below(programmes.len());
            let (programme_id, programme_name, kinds, min_percent) = &programmes[p];
            let year = self.range(2018, 2026) as i32;
            let (status, starts, ends) = if year < 2026 {
                let starts = self.day(year, (1, 9));
                let ends = plus_days(starts, self.range(60, 300)).min(plus_days(as_of, -1));
                let status = if self.chance(0.06) {
                    RunStatus::Cancelled
                } else {
                    RunStatus::Completed
                };
                (status, starts, ends)
            } else if self.chance(0.55) {
                let starts = self.day(year, (1, 3));
                (
                    RunStatus::Running,
                    starts,
                    plus_days(starts, self.range(120, 300)),
                )
            } else {
                let starts = self.day(year, (8, 10));
                (
                    RunStatus::Planned,
                    starts,
                    plus_days(starts, self.range(60, 200)),
                )
            };

            // The enrolled services: members of a network, or services of
            // the programme's kinds.
            let wanted =
                self.weighted(&[(1usize, 10), (2, 20), (3, 25), (4, 20), (5, 15), (6, 10)]);
            let mut network = None;
            let enrolled: Vec<usize> = if !usable_networks.is_empty() && self.chance(0.4) {
                let net = self.pick(&usable_networks);
                network = Some(net);
                let members = &networks[net].2;
                self.sample(members.len(), wanted)
                    .into_iter()
                    .map(|i| members[i])
                    .collect()
            } else {
                let pool: Vec<usize> = kinds
                    .iter()
                    .flat_map(|k| by_kind.get(k).cloned().unwrap_or_default())
                    .collect();
                if pool.len() >= wanted {
                    self.sample(pool.len(), wanted)
                        .into_iter()
                        .map(|i| pool[i])
                        .collect()
                } else {
                    self.sample(services.len(), wanted)
                }
            };

            let title = format!("{programme_name} – kull {year} nr. {n}");
            plan.runs.push(programme_run::Model {
                id,
                programme_id: *programme_id,
                network_id: network.map(|net| networks[net].0),
                title: title.clone(),
                status,
                year: Some(year),
                starts_on: Some(starts),
                ends_on: Some(ends),
                period: None,
                notes: None,
                source: None,
                version: 1,
                created_at: self.now,
                updated_at: self.now,
            });

            // Sessions spread evenly over the run.
            let session_count = self.range(3, 12) as usize;
            let span = (ends - starts).num_days().max(0);
            let mut sessions = Vec::with_capacity(session_count);
            for i in 0..session_count {
                let offset = if session_count > 1 {
                    span * i as i64 / (session_count as i64 - 1)
                } else {
                    0
                };
                let date = plus_days(starts, offset);
                let (kind, audience) = if i > 0 && self.chance(0.2) {
                    (self.pick(&LEADER_SESSIONS), Audience::Leaders)
                } else if i == 0 && self.chance(0.3) {
                    (SessionKind::Kick, Audience::AllStaff)
                } else {
                    (self.weighted(&STAFF_SESSIONS), Audience::AllStaff)
                };
                let session_id = self.id();
                let duration = self.pick(&[180, 240, 300, 360, 420]);
                let place = self.range(1, 40);
                plan.sessions.push(session::Model {
                    id: session_id,
                    run_id: id,
                    position: i as i32 + 1,
                    title: format!("Samling {}", i + 1),
                    kind,
                    audience,
                    date: Some(date),
                    starts_at: None,
                    period: None,
                    duration_minutes: Some(duration),
                    place: Some(format!("Testsal {place}")),
                    pre_work: None,
                    reported_attendance: None,
                    reported_attendance_approximate: false,
                    version: 1,
                    created_at: self.now,
                    updated_at: self.now,
                });
                sessions.push((session_id, audience, date));
            }

            // Enrolments and participants: every leader, about 75 % of the
            // other staff.
            let mut participants = Vec::new();
            for &s in &enrolled {
                let enrolment_id = self.id();
                let before = self.range(7, 60);
                plan.enrolments.push(enrolment::Model {
                    id: enrolment_id,
                    run_id: id,
                    service_id: services[s].id,
                    status: EnrolmentStatus::Enrolled,
                    enrolled_on: Some(plus_days(starts, -before)),
                    withdrawn_on: None,
                    version: 1,
                    created_at: self.now,
                    updated_at: self.now,
                });
                for &(person, is_leader) in &services[s].staff {
                    if is_leader || self.chance(0.75) {
                        participants.push((person, is_leader));
                    }
                }
            }

            // Grants: about two per run, to an enrolled service, its host
            // municipality or the run's network, from the office of the
            // recipient's county.
            let grants = self.range(1, 3);
            for _ in 0..grants {
                let Some(&s) = enrolled
                    .first()
                    .map(|_| &enrolled[self.below(enrolled.len())])
                else {
                    break;
                };
                let service = &services[s];
                let (recipient, county) = match network {
                    Some(net) if self.chance(0.4) => {
                        (Recipient::Network(networks[net].0), networks[net].1)
                    }
                    _ if self.chance(0.35) => (
                        Recipient::Municipality(self.reference.municipalities[service.host].id),
                        service.county,
                    ),
                    _ => (Recipient::Service(service.id), service.county),
                };
                let Some(office) = self.reference.counties[county].office else {
                    continue;
                };
                let grant = self.grant(
                    office,
                    recipient,
                    (id, *programme_id),
                    &title,
                    year,
                    ends,
                    participants.len(),
                );
                plan.grants.push(grant);
            }

            plan.run_plans.push(RunPlan {
                id,
                min_percent: *min_percent,
                status,
                sessions,
                participants,
            });
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn grant(
        &mut self,
        office: Uuid,
        recipient: Recipient,
        (run_id, programme_id): (Uuid, Uuid),
        title: &str,
        year: i32,
        run_ends: NaiveDate,
        participants: usize,
    ) -> funding_grant::Model {
        use GrantStatus::*;
        let status = match year {
            ..=2024 => self.weighted(&[
                (Reported, 55),
                (Paid, 20),
                (Rejected, 15),
                (Withdrawn, 5),
                (Granted, 5),
            ]),
            2025 => self.weighted(&[
                (Paid, 35),
                (Granted, 25),
                (Reported, 15),
                (Rejected, 15),
                (Withdrawn, 10),
            ]),
            _ => self.weighted(&[
                (Draft, 25),
                (Submitted, 35),
                (Granted, 25),
                (Rejected, 10),
                (Withdrawn, 5),
            ]),
        };
        let applied = self.range(50, 1_500) * 1_000;
        let granted_share = self.range(50, 100);
        let granted = (applied * granted_share / 100 / 1_000) * 1_000;
        let submitted = at(self.day(year - 1, (9, 12)), 10);
        let decided = at(self.day(year, (1, 2)), 12);
        let paid = at(self.day(year, (3, 3)), 9);
        let reported = at(plus_days(run_ends, 30).min(as_of()), 14);
        let decided_state = matches!(status, Granted | Rejected | Paid | Reported);
        let money_state = matches!(status, Granted | Paid | Reported);
        let (service, municipality, network) = match recipient {
            Recipient::Service(id) => (Some(id), None, None),
            Recipient::Municipality(id) => (None, Some(id), None),
            Recipient::Network(id) => (None, None, Some(id)),
        };
        funding_grant::Model {
            id: self.id(),
            funder_office_id: office,
            recipient_service_id: service,
            recipient_municipality_id: municipality,
            recipient_network_id: network,
            run_id: Some(run_id),
            programme_id: Some(programme_id),
            purpose: format!("Syntetisk tilskudd til {title}"),
            year,
            amount_applied: Some(applied),
            amount_granted: money_state.then_some(granted),
            status,
            decision_reason: match status {
                Rejected => Some("Søknaden nådde ikke opp i prioriteringen.".to_owned()),
                Granted | Paid | Reported => Some("Innvilget etter søknad.".to_owned()),
                _ => None,
            },
            submitted_at: (status != Draft).then_some(submitted),
            decided_at: decided_state.then_some(decided),
            paid_at: matches!(status, Paid | Reported).then_some(paid),
            reported_at: (status == Reported).then_some(reported),
            report_text: (status == Reported).then(|| "Syntetisk sluttrapport.".to_owned()),
            report_participants: (status == Reported).then_some(participants as i32),
            source: None,
            version: 1,
            created_at: self.now,
            updated_at: self.now,
        }
    }
}

#[derive(Clone, Copy)]
enum Recipient {
    Service(Uuid),
    Municipality(Uuid),
    Network(Uuid),
}

/// Inserts the plan, then generates and inserts participations and
/// attendance run by run in large batches.
async fn insert_plan(
    db: &impl ConnectionTrait,
    g: &mut Generator<'_>,
    plan: Plan,
) -> Result<SeedReport, SeedError> {
    let mut report = SeedReport {
        service: insert_all(db, plan.services).await?,
        service_municipality: insert_all(db, plan.service_municipalities).await?,
        ..SeedReport::default()
    };
    report.network = insert_all(db, plan.networks).await?;
    report.network_member = insert_all(db, plan.network_members).await?;
    report.programme = insert_all(db, plan.programmes).await?;
    report.programme_provider = insert_all(db, plan.programme_providers).await?;
    report.programme_theme = insert_all(db, plan.programme_themes).await?;
    report.programme_service_kind = insert_all(db, plan.programme_kinds).await?;
    report.milestone = insert_all(db, plan.milestones).await?;
    report.programme_run = insert_all(db, plan.runs).await?;
    report.enrolment = insert_all(db, plan.enrolments).await?;
    report.session = insert_all(db, plan.sessions).await?;
    report.person = insert_all(db, plan.persons).await?;

    let as_of = as_of();
    let mut participations: Batch<participation::Model> = Batch::new();
    let mut attendances: Batch<attendance::Model> = Batch::new();
    for run in &plan.run_plans {
        // The sessions that have taken place: none for planned runs, the
        // first half for cancelled ones.
        let held: Vec<&(Uuid, Audience, NaiveDate)> = match run.status {
            RunStatus::Planned => Vec::new(),
            RunStatus::Cancelled => run.sessions[..run.sessions.len() / 2]
                .iter()
                .filter(|s| s.2 <= as_of)
                .collect(),
            _ => run.sessions.iter().filter(|s| s.2 <= as_of).collect(),
        };
        let all: Vec<(Uuid, Audience)> = run.sessions.iter().map(|s| (s.0, s.1)).collect();
        for &(person, is_leader) in &run.participants {
            let role = if is_leader {
                ParticipationRole::Leader
            } else {
                ParticipationRole::Staff
            };
            let withdrawn = g.chance(0.04);
            let status = if withdrawn {
                ParticipationStatus::Withdrawn
            } else {
                ParticipationStatus::Active
            };
            // Withdrawn participants stop coming part-way.
            let stop = if withdrawn {
                g.below(held.len() + 1)
            } else {
                held.len()
            };
            let propensity = 0.70 + 0.30 * g.unit();
            let mut present_at = std::collections::HashSet::new();
            for &&(session_id, audience, date) in held.iter().take(stop) {
                if audience == Audience::Leaders && !is_leader {
                    continue;
                }
                let present = g.chance(propensity);
                if present {
                    present_at.insert(session_id);
                }
                let recorded = at(date, 15);
                let id = g.id();
                attendances
                    .push(
                        db,
                        attendance::Model {
                            id,
                            session_id,
                            person_id: person,
                            present,
                            synthetic: true,
                            recorded_at: recorded,
                            version: 1,
                            created_at: g.now,
                            updated_at: g.now,
                        },
                    )
                    .await?;
            }
            let p = progress(role, status, &all, &present_at, run.min_percent);
            let id = g.id();
            participations
                .push(
                    db,
                    participation::Model {
                        id,
                        person_id: person,
                        run_id: run.id,
                        role,
                        status,
                        synthetic: true,
                        sessions_attended: p.attended,
                        sessions_required: p.required,
                        completed: p.completed,
                        version: 1,
                        created_at: g.now,
                        updated_at: g.now,
                    },
                )
                .await?;
        }
    }
    report.participation = participations.finish(db).await?;
    report.attendance = attendances.finish(db).await?;
    report.funding_grant = insert_all(db, plan.grants).await?;
    Ok(report)
}

/// Rows per INSERT for an entity: as many as SQLite's parameter limit
/// allows, at most [`MAX_ROWS`].
fn rows_per_statement<E: EntityTrait>() -> usize {
    (MAX_PARAMS / E::Column::iter().count().max(1)).clamp(1, MAX_ROWS)
}

/// A buffer of rows inserted in large multi-row statements.
struct Batch<M> {
    rows: Vec<M>,
    cap: usize,
    inserted: u64,
}

impl<M> Batch<M>
where
    M: ModelTrait + IntoActiveModel<<M::Entity as EntityTrait>::ActiveModel>,
{
    fn new() -> Self {
        let cap = rows_per_statement::<M::Entity>();
        Self {
            rows: Vec::with_capacity(cap),
            cap,
            inserted: 0,
        }
    }

    async fn push(&mut self, db: &impl ConnectionTrait, row: M) -> Result<(), DbErr> {
        self.rows.push(row);
        if self.rows.len() >= self.cap {
            self.flush(db).await?;
        }
        Ok(())
    }

    async fn flush(&mut self, db: &impl ConnectionTrait) -> Result<(), DbErr> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let rows = std::mem::replace(&mut self.rows, Vec::with_capacity(self.cap));
        self.inserted +=
            M::Entity::insert_many(rows.into_iter().map(IntoActiveModel::into_active_model))
                .exec_without_returning(db)
                .await?;
        Ok(())
    }

    async fn finish(mut self, db: &impl ConnectionTrait) -> Result<u64, DbErr> {
        self.flush(db).await?;
        Ok(self.inserted)
    }
}

/// Inserts all `rows` in large statements.
async fn insert_all<C, M>(db: &C, rows: Vec<M>) -> Result<u64, DbErr>
where
    C: ConnectionTrait,
    M: ModelTrait + IntoActiveModel<<M::Entity as EntityTrait>::ActiveModel>,
{
    let mut batch = Batch::new();
    for row in rows {
        batch.push(db, row).await?;
    }
    batch.finish(db).await
}
