//! The demo data: `demo.toml` (embedded), its typed form, its checks against
//! the reference data, and its insertion.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use entity::enums::{
    Audience, EnrolmentStatus, FigureQualifier, GrantStatus, NetworkKind, NetworkScope,
    ProviderRole, RunStatus, ServiceKind, SessionKind,
};
use entity::prelude::{FunderOffice, Municipality, Programme, Provider};
use entity::{
    CompetenceArea, encode_json, enrolment, funding_grant, milestone, network, network_member,
    programme, programme_provider, programme_run, programme_service_kind, programme_theme,
    provider, service, service_municipality, session,
};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde::Deserialize;
use uuid::Uuid;

use super::ids::stable;
use super::synthetic::{self, RunInput, ServiceInput, SessionInput};
use super::{SeedError, SeedReport, insert_rows};
use crate::domain::reference::{DataError, ReferenceData, slugify};

/// The demo data file, embedded.
pub const DEMO_TOML: &str = include_str!("demo.toml");

/// The seed texts the demo data may cite as `source`.
pub const SOURCES: [&str; 5] = [
    "mma-laeringsnettverk-viken.txt",
    "rvts-sor-deltakende-fellesskap.txt",
    "tjenestestotteprogrammet.txt",
    "nubu-laeringsnettverk.txt",
    "forandringsfabrikken-mitt-liv.txt",
];

const FILE: &str = "demo.toml";

/// The demo data, as written in `demo.toml`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Demo {
    /// Services (`[[service]]`).
    #[serde(rename = "service", default)]
    pub services: Vec<ServiceDef>,
    /// Networks (`[[network]]`).
    #[serde(rename = "network", default)]
    pub networks: Vec<NetworkDef>,
    /// Programmes (`[[programme]]`).
    #[serde(rename = "programme", default)]
    pub programmes: Vec<ProgrammeDef>,
    /// Runs (`[[run]]`).
    #[serde(rename = "run", default)]
    pub runs: Vec<RunDef>,
    /// Grants (`[[grant]]`).
    #[serde(rename = "grant", default)]
    pub grants: Vec<GrantDef>,
    /// Providers' contact details (`[[provider_contact]]`).
    #[serde(rename = "provider_contact", default)]
    pub provider_contacts: Vec<ProviderContactDef>,
}

/// A provider's contact details, as its source states them.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderContactDef {
    /// Provider slug (from providers.csv).
    pub provider: String,
    /// Website.
    pub website: Option<String>,
    /// General e-mail address.
    pub email: Option<String>,
    /// Telephone number.
    pub phone: Option<String>,
    /// Visiting address, one line.
    pub visiting_address: Option<String>,
    /// Postal address, one line.
    pub postal_address: Option<String>,
    /// The seed text stating them.
    pub source: String,
}

/// A service.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceDef {
    /// Unique key.
    pub slug: String,
    /// Name.
    pub name: String,
    /// Kind of service.
    pub kind: ServiceKind,
    /// Number of the host municipality, when known.
    pub host: Option<String>,
    /// Numbers of the municipalities covered.
    pub covers: Vec<String>,
    /// Notes (Norwegian).
    pub notes: Option<String>,
    /// The seed text.
    pub source: String,
}

/// A network.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkDef {
    /// Unique key.
    pub slug: String,
    /// Name.
    pub name: String,
    /// Kind of network.
    pub kind: NetworkKind,
    /// Regional or national.
    pub scope: NetworkScope,
    /// County number (regional networks).
    pub county: Option<String>,
    /// Slug of the coordinating service, when known.
    pub coordinator: Option<String>,
    /// Description (Norwegian).
    pub description: Option<String>,
    /// Member count stated by the source when the members are not named.
    pub reported_member_count: Option<i32>,
    /// Slugs of the member services.
    #[serde(default)]
    pub members: Vec<String>,
    /// The seed text.
    pub source: String,
}

/// A provider's part in a programme.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderRef {
    /// Provider slug (from providers.csv).
    pub provider: String,
    /// Lead or partner.
    pub role: ProviderRole,
}

/// A programme.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgrammeDef {
    /// Unique key.
    pub slug: String,
    /// Name.
    pub name: String,
    /// Short name.
    pub short_name: Option<String>,
    /// One-sentence summary (Norwegian).
    pub summary: Option<String>,
    /// Description (Norwegian).
    pub description: Option<String>,
    /// Goals.
    #[serde(default)]
    pub goals: Vec<String>,
    /// Learning objectives.
    #[serde(default)]
    pub learning_objectives: Vec<String>,
    /// Competence areas.
    #[serde(default)]
    pub competence_areas: Vec<CompetenceArea>,
    /// Least share of sessions to attend to complete (our product rule).
    pub completion_min_percent: Option<i32>,
    /// The completion rule in words.
    pub completion_rule: Option<String>,
    /// Themes (short lower-case slugs).
    #[serde(default)]
    pub themes: Vec<String>,
    /// The kinds of service the programme is for.
    #[serde(default)]
    pub service_kinds: Vec<ServiceKind>,
    /// Providers.
    #[serde(default)]
    pub providers: Vec<ProviderRef>,
    /// Milestones reported by the programme, in order (`[[programme.milestone]]`).
    #[serde(rename = "milestone", default)]
    pub milestones: Vec<MilestoneDef>,
    /// The seed text.
    pub source: String,
}

/// A milestone the programme reports about itself.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MilestoneDef {
    /// First year.
    pub year_from: i32,
    /// Last year, for a period.
    pub year_to: Option<i32>,
    /// What happened (Norwegian).
    pub text: String,
    /// The reported figure.
    pub figure: Option<i64>,
    /// What the figure counts.
    pub unit: Option<String>,
    /// How precise the figure is.
    pub qualifier: Option<FigureQualifier>,
    /// The seed text, when not the programme's.
    pub source: Option<String>,
}

/// A service enrolled in a run.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrolmentDef {
    /// Service slug.
    pub service: String,
    /// How many of its staff take part, when the source says so (sizes the
    /// synthetic participants).
    pub staff: Option<u32>,
}

/// A run of a programme.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunDef {
    /// Key for references from grants (not stored).
    pub key: String,
    /// Programme slug.
    pub programme: String,
    /// Network slug, when the run is for a network.
    pub network: Option<String>,
    /// Title.
    pub title: String,
    /// Status.
    pub status: RunStatus,
    /// Year, when known.
    pub year: Option<i32>,
    /// First day (`YYYY-MM-DD`), when known.
    pub starts_on: Option<String>,
    /// Last day (`YYYY-MM-DD`), when known.
    pub ends_on: Option<String>,
    /// The period in words, when only that is known.
    pub period: Option<String>,
    /// Notes (Norwegian).
    pub notes: Option<String>,
    /// Enrolled services.
    #[serde(default)]
    pub enrolments: Vec<EnrolmentDef>,
    /// Sessions, in order (`[[run.session]]`).
    #[serde(rename = "session", default)]
    pub sessions: Vec<SessionDef>,
    /// The seed text.
    pub source: String,
}

/// A session of a run.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionDef {
    /// Title.
    pub title: String,
    /// Kind.
    pub kind: SessionKind,
    /// Audience.
    pub audience: Audience,
    /// Day (`YYYY-MM-DD`), when known.
    pub date: Option<String>,
    /// The period in words, when only that is known.
    pub period: Option<String>,
    /// Length in minutes, when known.
    pub duration_minutes: Option<i32>,
    /// Place, when known.
    pub place: Option<String>,
    /// Expected preparation.
    pub pre_work: Option<String>,
    /// Attendance figure stated by the source.
    pub reported_attendance: Option<i32>,
    /// Whether that figure is approximate.
    #[serde(default)]
    pub reported_attendance_approximate: bool,
}

/// A grant (application and decision).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantDef {
    /// Organisation number of the funder office.
    pub office: String,
    /// Recipient network slug.
    pub recipient_network: Option<String>,
    /// Recipient service slug.
    pub recipient_service: Option<String>,
    /// Recipient municipality number.
    pub recipient_municipality: Option<String>,
    /// Key of the run funded.
    pub run: Option<String>,
    /// Slug of the programme funded.
    pub programme: Option<String>,
    /// Purpose (Norwegian).
    pub purpose: String,
    /// Year.
    pub year: i32,
    /// Amount applied for (NOK).
    pub amount_applied: Option<i64>,
    /// Amount granted (NOK).
    pub amount_granted: Option<i64>,
    /// Status.
    pub status: GrantStatus,
    /// Reason for the decision.
    pub decision_reason: Option<String>,
    /// The seed text.
    pub source: String,
}

impl Demo {
    /// Parses the embedded `demo.toml` and checks it against the reference
    /// data.
    pub fn load(reference: &ReferenceData) -> Result<Self, DataError> {
        let demo = Self::parse(DEMO_TOML)?;
        demo.check(reference)?;
        Ok(demo)
    }

    /// Parses demo data in the `demo.toml` format (no checks).
    pub fn parse(text: &str) -> Result<Self, DataError> {
        toml::from_str(text).map_err(|e| DataError::file(FILE, e.to_string()))
    }

    /// Checks the demo data: keys unique and well formed, every reference
    /// resolvable (within the file or in the reference data), sources known,
    /// figures sensible, services agreeing with `services_reference.csv`,
    /// and each grant's office covering its recipient's county.
    pub fn check(&self, reference: &ReferenceData) -> Result<(), DataError> {
        Checker::new(self, reference).run()
    }
}

/// The checks of [`Demo::check`], with the lookups they share.
struct Checker<'a> {
    demo: &'a Demo,
    reference: &'a ReferenceData,
    /// Municipality number → county number, municipalities in force.
    municipality_county: HashMap<&'a str, &'a str>,
    current_counties: HashSet<&'a str>,
    /// Office org number → county numbers covered.
    office_counties: HashMap<&'a str, &'a [String]>,
    providers: HashSet<&'a str>,
    services: HashMap<&'a str, &'a ServiceDef>,
    networks: HashMap<&'a str, &'a NetworkDef>,
    programmes: HashSet<&'a str>,
    runs: HashMap<&'a str, &'a RunDef>,
}

fn fail(message: impl Into<String>) -> DataError {
    DataError::file(FILE, message)
}

impl<'a> Checker<'a> {
    fn new(demo: &'a Demo, reference: &'a ReferenceData) -> Self {
        Self {
            demo,
            reference,
            municipality_county: reference
                .municipalities
                .iter()
                .map(|m| (m.number.as_str(), m.county_number.as_str()))
                .collect(),
            current_counties: reference
                .counties
                .iter()
                .map(|c| c.number.as_str())
                .collect(),
            office_counties: reference
                .funder_offices
                .iter()
                .map(|o| (o.org_number.as_str(), o.county_numbers.as_slice()))
                .collect(),
            providers: reference
                .providers
                .iter()
                .map(|p| p.slug.as_str())
                .collect(),
            services: HashMap::new(),
            networks: HashMap::new(),
            programmes: HashSet::new(),
            runs: HashMap::new(),
        }
    }

    fn run(mut self) -> Result<(), DataError> {
        for s in &self.demo.services {
            self.check_service(s)?;
            if self.services.insert(&s.slug, s).is_some() {
                return Err(fail(format!("service {}: slug used twice", s.slug)));
            }
        }
        for n in &self.demo.networks {
            self.check_network(n)?;
            if self.networks.insert(&n.slug, n).is_some() {
                return Err(fail(format!("network {}: slug used twice", n.slug)));
            }
        }
        for p in &self.demo.programmes {
            self.check_programme(p)?;
            if !self.programmes.insert(&p.slug) {
                return Err(fail(format!("programme {}: slug used twice", p.slug)));
            }
        }
        for r in &self.demo.runs {
            self.check_run(r)?;
            if self.runs.insert(&r.key, r).is_some() {
                return Err(fail(format!("run {}: key used twice", r.key)));
            }
        }
        for (i, g) in self.demo.grants.iter().enumerate() {
            self.check_grant(g)
                .map_err(|m| fail(format!("grant {} ({} {}): {m}", i + 1, g.office, g.year)))?;
        }
        let mut contacts = HashSet::new();
        for c in &self.demo.provider_contacts {
            let err = |m: String| fail(format!("provider_contact {}: {m}", c.provider));
            check_source(&c.source).map_err(err)?;
            if !self.providers.contains(c.provider.as_str()) {
                return Err(err("not a provider of providers.csv".to_owned()));
            }
            if !contacts.insert(c.provider.as_str()) {
                return Err(err("listed twice".to_owned()));
            }
            if let Some(mail) = &c.email {
                crate::domain::write::email("email", Some(mail)).map_err(|e| err(e.to_string()))?;
            }
        }
        Ok(())
    }

    fn check_service(&self, s: &ServiceDef) -> Result<(), DataError> {
        let what = format!("service {}", s.slug);
        let err = |m: String| fail(format!("{what}: {m}"));
        check_slug(&s.slug, 120).map_err(err)?;
        check_source(&s.source).map_err(err)?;
        not_blank("name", &s.name).map_err(err)?;
        if s.covers.is_empty() {
            return Err(err("covers no municipality".to_owned()));
        }
        let mut seen = HashSet::new();
        for n in s.host.iter().chain(&s.covers) {
            if !self.municipality_county.contains_key(n.as_str()) {
                return Err(err(format!("{n} is not a municipality in force")));
            }
        }
        for n in &s.covers {
            if !seen.insert(n) {
                return Err(err(format!("covers {n} twice")));
            }
        }
        if let Some(h) = &s.host
            && !s.covers.contains(h)
        {
            return Err(err(format!(
                "host {h} is not among the covered municipalities"
            )));
        }
        // A service also listed in services_reference.csv must agree with it.
        if let Some(r) = self.reference.services.iter().find(|r| r.name == s.name) {
            let covers: BTreeSet<&String> = s.covers.iter().collect();
            let expected: BTreeSet<&String> = r.covered_numbers.iter().collect();
            if r.kind != s.kind || r.host_number != s.host || covers != expected {
                return Err(err(
                    "disagrees with services_reference.csv (kind, host or covered \
                     municipalities)"
                        .to_owned(),
                ));
            }
        }
        Ok(())
    }

    fn check_network(&self, n: &NetworkDef) -> Result<(), DataError> {
        let err = |m: String| fail(format!("network {}: {m}", n.slug));
        check_slug(&n.slug, 120).map_err(err)?;
        check_source(&n.source).map_err(err)?;
        not_blank("name", &n.name).map_err(err)?;
        match (n.scope, &n.county) {
            (NetworkScope::Regional, None) => {
                return Err(err("a regional network needs a county".to_owned()));
            }
            (NetworkScope::National, Some(_)) => {
                return Err(err("a national network has no county".to_owned()));
            }
            (_, Some(c)) if !self.current_counties.contains(c.as_str()) => {
                return Err(err(format!("county {c} is not a county in force")));
            }
            _ => {}
        }
        if n.reported_member_count.is_some_and(|c| c < 0) {
            return Err(err("reported_member_count is negative".to_owned()));
        }
        let mut seen = HashSet::new();
        for m in &n.members {
            if !self.services.contains_key(m.as_str()) {
                return Err(err(format!("member {m} is not a service in the file")));
            }
            if !seen.insert(m) {
                return Err(err(format!("member {m} listed twice")));
            }
        }
        if let Some(c) = &n.coordinator
            && !n.members.contains(c)
        {
            return Err(err(format!("coordinator {c} is not a member")));
        }
        Ok(())
    }

    fn check_programme(&self, p: &ProgrammeDef) -> Result<(), DataError> {
        let err = |m: String| fail(format!("programme {}: {m}", p.slug));
        check_slug(&p.slug, 120).map_err(err)?;
        check_source(&p.source).map_err(err)?;
        not_blank("name", &p.name).map_err(err)?;
        let mut themes = HashSet::new();
        for t in &p.themes {
            check_slug(t, 80).map_err(|m| err(format!("theme: {m}")))?;
            if !themes.insert(t) {
                return Err(err(format!("theme {t} listed twice")));
            }
        }
        let kinds: HashSet<_> = p.service_kinds.iter().collect();
        if kinds.len() != p.service_kinds.len() {
            return Err(err("a service kind is listed twice".to_owned()));
        }
        let mut providers = HashSet::new();
        for r in &p.providers {
            if !self.providers.contains(r.provider.as_str()) {
                return Err(err(format!(
                    "provider {} is not in providers.csv",
                    r.provider
                )));
            }
            if !providers.insert(&r.provider) {
                return Err(err(format!("provider {} listed twice", r.provider)));
            }
        }
        if p.providers
            .iter()
            .filter(|r| r.role == ProviderRole::Lead)
            .count()
            > 1
        {
            return Err(err("more than one lead provider".to_owned()));
        }
        match (p.completion_min_percent, &p.completion_rule) {
            (Some(pct), Some(_)) if (0..=100).contains(&pct) => {}
            (None, None) => {}
            _ => {
                return Err(err(
                    "completion_min_percent (0–100) and completion_rule go together".to_owned(),
                ));
            }
        }
        for a in &p.competence_areas {
            not_blank("competence area name", &a.name).map_err(err)?;
        }
        for (i, m) in p.milestones.iter().enumerate() {
            let merr = |msg: String| err(format!("milestone {}: {msg}", i + 1));
            not_blank("text", &m.text).map_err(merr)?;
            check_year(m.year_from).map_err(merr)?;
            if let Some(to) = m.year_to {
                check_year(to).map_err(merr)?;
                if to < m.year_from {
                    return Err(merr("year_to is before year_from".to_owned()));
                }
            }
            if m.figure.is_some_and(|f| f < 0) {
                return Err(merr("figure is negative".to_owned()));
            }
            if m.figure.is_none() && (m.unit.is_some() || m.qualifier.is_some()) {
                return Err(merr("unit and qualifier need a figure".to_owned()));
            }
            if let Some(s) = &m.source {
                check_source(s).map_err(merr)?;
            }
        }
        Ok(())
    }

    fn check_run(&self, r: &RunDef) -> Result<(), DataError> {
        let err = |m: String| fail(format!("run {}: {m}", r.key));
        not_blank("key", &r.key).map_err(err)?;
        not_blank("title", &r.title).map_err(err)?;
        check_source(&r.source).map_err(err)?;
        if !self.programmes.contains(r.programme.as_str()) {
            return Err(err(format!("programme {} is not in the file", r.programme)));
        }
        let network = match &r.network {
            Some(n) => Some(
                self.networks
                    .get(n.as_str())
                    .ok_or_else(|| err(format!("network {n} is not in the file")))?,
            ),
            None => None,
        };
        if let Some(y) = r.year {
            check_year(y).map_err(err)?;
        }
        let starts = parse_date("starts_on", r.starts_on.as_deref()).map_err(err)?;
        let ends = parse_date("ends_on", r.ends_on.as_deref()).map_err(err)?;
        if let (Some(s), Some(e)) = (starts, ends)
            && e < s
        {
            return Err(err("ends_on is before starts_on".to_owned()));
        }
        let mut enrolled = HashSet::new();
        for e in &r.enrolments {
            if !self.services.contains_key(e.service.as_str()) {
                return Err(err(format!(
                    "enrolled service {} is not in the file",
                    e.service
                )));
            }
            if !enrolled.insert(&e.service) {
                return Err(err(format!("service {} enrolled twice", e.service)));
            }
            if let Some(n) = network
                && !n.members.is_empty()
                && !n.members.contains(&e.service)
            {
                return Err(err(format!(
                    "enrolled service {} is not a member of network {}",
                    e.service, n.slug
                )));
            }
            if e.staff.is_some_and(|n| n == 0 || n > 50) {
                return Err(err(format!("staff of {} must be 1–50", e.service)));
            }
        }
        for (i, s) in r.sessions.iter().enumerate() {
            let serr = |m: String| err(format!("session {} ({}): {m}", i + 1, s.title));
            not_blank("title", &s.title).map_err(serr)?;
            parse_date("date", s.date.as_deref()).map_err(serr)?;
            if s.duration_minutes.is_some_and(|d| d <= 0) {
                return Err(serr("duration_minutes must be positive".to_owned()));
            }
            if s.reported_attendance.is_some_and(|n| n < 0) {
                return Err(serr("reported_attendance is negative".to_owned()));
            }
            if s.reported_attendance_approximate && s.reported_attendance.is_none() {
                return Err(serr(
                    "reported_attendance_approximate needs reported_attendance".to_owned(),
                ));
            }
        }
        Ok(())
    }

    /// Checks one grant; the caller adds which grant to the message.
    fn check_grant(&self, g: &GrantDef) -> Result<(), String> {
        check_source(&g.source)?;
        not_blank("purpose", &g.purpose)?;
        check_year(g.year)?;
        let covered = self
            .office_counties
            .get(g.office.as_str())
            .ok_or_else(|| format!("office {} is not in statsforvalter_offices.csv", g.office))?;
        let recipient_county: Option<&str> = match (
            &g.recipient_network,
            &g.recipient_service,
            &g.recipient_municipality,
        ) {
            (Some(n), None, None) => {
                let net = self
                    .networks
                    .get(n.as_str())
                    .ok_or_else(|| format!("network {n} is not in the file"))?;
                net.county.as_deref()
            }
            (None, Some(s), None) => {
                let svc = self
                    .services
                    .get(s.as_str())
                    .ok_or_else(|| format!("service {s} is not in the file"))?;
                let host = svc
                    .host
                    .as_deref()
                    .or(svc.covers.first().map(String::as_str));
                host.and_then(|h| self.municipality_county.get(h).copied())
            }
            (None, None, Some(m)) => Some(
                self.municipality_county
                    .get(m.as_str())
                    .copied()
                    .ok_or_else(|| format!("{m} is not a municipality in force"))?,
            ),
            _ => return Err("name exactly one recipient".to_owned()),
        };
        if let Some(c) = recipient_county
            && !covered.iter().any(|x| x == c)
        {
            return Err(format!(
                "office {} does not cover the recipient's county {c}",
                g.office
            ));
        }
        if let Some(p) = &g.programme
            && !self.programmes.contains(p.as_str())
        {
            return Err(format!("programme {p} is not in the file"));
        }
        if let Some(k) = &g.run {
            let run = self
                .runs
                .get(k.as_str())
                .ok_or_else(|| format!("run {k} is not in the file"))?;
            if g.programme.as_ref().is_some_and(|p| *p != run.programme) {
                return Err(format!("run {k} belongs to another programme"));
            }
        }
        if g.amount_applied.is_some_and(|a| a < 0) || g.amount_granted.is_some_and(|a| a < 0) {
            return Err("amounts must not be negative".to_owned());
        }
        Ok(())
    }
}

fn check_slug(slug: &str, max: usize) -> Result<(), String> {
    if slug.is_empty() || slug.len() > max || slugify(slug) != slug {
        return Err(format!(
            "{slug:?} is not a slug (lower-case letters, digits and single hyphens, at most {max})"
        ));
    }
    Ok(())
}

fn check_source(source: &str) -> Result<(), String> {
    if SOURCES.contains(&source) {
        Ok(())
    } else {
        Err(format!("source {source:?} is not one of the seed texts"))
    }
}

fn check_year(year: i32) -> Result<(), String> {
    if (1900..=2100).contains(&year) {
        Ok(())
    } else {
        Err(format!("year {year} is out of range"))
    }
}

fn not_blank(field: &str, value: &str) -> Result<(), String> {
    if value.trim().is_empty() {
        Err(format!("{field} is empty"))
    } else {
        Ok(())
    }
}

fn parse_date(field: &str, value: Option<&str>) -> Result<Option<NaiveDate>, String> {
    value
        .map(|v| {
            NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .map_err(|e| format!("{field}: {v:?} is not a YYYY-MM-DD date ({e})"))
        })
        .transpose()
}

// --- Insertion ------------------------------------------------------------------

/// Ids of the reference rows the demo refers to, read from the database.
struct ReferenceIds {
    municipalities: HashMap<String, Uuid>,
    counties: HashMap<String, Uuid>,
    providers: HashMap<String, Uuid>,
    offices: HashMap<String, Uuid>,
}

impl ReferenceIds {
    async fn read(db: &impl ConnectionTrait) -> Result<Self, SeedError> {
        Ok(Self {
            municipalities: Municipality::find()
                .all(db)
                .await?
                .into_iter()
                .map(|m| (m.number, m.id))
                .collect(),
            counties: entity::prelude::County::find()
                .all(db)
                .await?
                .into_iter()
                .map(|c| (c.number, c.id))
                .collect(),
            providers: Provider::find()
                .all(db)
                .await?
                .into_iter()
                .map(|p| (p.slug, p.id))
                .collect(),
            offices: FunderOffice::find()
                .all(db)
                .await?
                .into_iter()
                .map(|o| (o.org_number, o.id))
                .collect(),
        })
    }

    fn get(map: &HashMap<String, Uuid>, what: &str, key: &str) -> Result<Uuid, SeedError> {
        map.get(key).copied().ok_or_else(|| {
            SeedError::Data(format!(
                "{FILE}: {what} {key} is not in the database; seed the reference data first"
            ))
        })
    }

    fn municipality(&self, number: &str) -> Result<Uuid, SeedError> {
        Self::get(&self.municipalities, "municipality", number)
    }

    fn county(&self, number: &str) -> Result<Uuid, SeedError> {
        Self::get(&self.counties, "county", number)
    }

    fn provider(&self, slug: &str) -> Result<Uuid, SeedError> {
        Self::get(&self.providers, "provider", slug)
    }

    fn office(&self, org_number: &str) -> Result<Uuid, SeedError> {
        Self::get(&self.offices, "funder office", org_number)
    }
}

/// Looks a key up in an id map built from the (checked) demo file.
fn local(map: &HashMap<&str, Uuid>, what: &str, key: &str) -> Result<Uuid, SeedError> {
    map.get(key)
        .copied()
        .ok_or_else(|| SeedError::Data(format!("{FILE}: {what} {key} is unknown")))
}

/// Inserts the (checked) demo data and the synthetic participants.
pub(super) async fn insert(
    db: &impl ConnectionTrait,
    demo: &Demo,
    now: DateTime<Utc>,
) -> Result<SeedReport, SeedError> {
    let slugs: Vec<&str> = demo.programmes.iter().map(|p| p.slug.as_str()).collect();
    if Programme::find()
        .filter(programme::Column::Slug.is_in(slugs))
        .count(db)
        .await?
        > 0
    {
        return Err(SeedError::AlreadySeeded(
            "a demo programme is already in the database".to_owned(),
        ));
    }
    let ids = ReferenceIds::read(db).await?;
    let mut report = SeedReport::default();

    // --- Services.
    let mut service_ids: HashMap<&str, Uuid> = HashMap::new();
    let mut services = Vec::new();
    let mut coverage = Vec::new();
    for s in &demo.services {
        let id = stable("service", &s.slug);
        service_ids.insert(&s.slug, id);
        services.push(service::Model {
            id,
            slug: s.slug.clone(),
            name: s.name.clone(),
            kind: s.kind,
            host_municipality_id: s.host.as_deref().map(|h| ids.municipality(h)).transpose()?,
            notes: s.notes.clone(),
            source: Some(s.source.clone()),
            version: 1,
            created_at: now,
            updated_at: now,
        });
        for m in &s.covers {
            coverage.push(service_municipality::Model {
                service_id: id,
                municipality_id: ids.municipality(m)?,
            });
        }
    }
    report.service = insert_rows(db, services).await?;
    report.service_municipality = insert_rows(db, coverage).await?;

    // --- Networks and members.
    let mut network_ids: HashMap<&str, Uuid> = HashMap::new();
    let mut networks = Vec::new();
    let mut members = Vec::new();
    for n in &demo.networks {
        let id = stable("network", &n.slug);
        network_ids.insert(&n.slug, id);
        networks.push(network::Model {
            id,
            slug: n.slug.clone(),
            name: n.name.clone(),
            kind: n.kind,
            scope: n.scope,
            county_id: n.county.as_deref().map(|c| ids.county(c)).transpose()?,
            coordinator_service_id: n
                .coordinator
                .as_deref()
                .map(|c| local(&service_ids, "service", c))
                .transpose()?,
            description: n.description.clone(),
            reported_member_count: n.reported_member_count,
            source: Some(n.source.clone()),
            version: 1,
            created_at: now,
            updated_at: now,
        });
        for (i, m) in n.members.iter().enumerate() {
            members.push(network_member::Model {
                id: stable("network_member", &format!("{}:{i}", n.slug)),
                network_id: id,
                service_id: local(&service_ids, "service", m)?,
                joined_on: None,
                left_on: None,
                version: 1,
                created_at: now,
                updated_at: now,
            });
        }
    }
    report.network = insert_rows(db, networks).await?;
    report.network_member = insert_rows(db, members).await?;

    // --- Programmes with providers, themes, service kinds and milestones.
    let mut programme_ids: HashMap<&str, Uuid> = HashMap::new();
    let mut programmes = Vec::new();
    let mut providers = Vec::new();
    let mut themes = Vec::new();
    let mut kinds = Vec::new();
    let mut milestones = Vec::new();
    for p in &demo.programmes {
        let id = stable("programme", &p.slug);
        programme_ids.insert(&p.slug, id);
        programmes.push(programme::Model {
            id,
            slug: p.slug.clone(),
            name: p.name.clone(),
            short_name: p.short_name.clone(),
            summary: p.summary.clone(),
            description: p.description.clone(),
            goals: encode_json(&p.goals),
            learning_objectives: encode_json(&p.learning_objectives),
            competence_areas: encode_json(&p.competence_areas),
            completion_min_percent: p.completion_min_percent,
            completion_rule: p.completion_rule.clone(),
            source: Some(p.source.clone()),
            version: 1,
            created_at: now,
            updated_at: now,
        });
        for r in &p.providers {
            providers.push(programme_provider::Model {
                programme_id: id,
                provider_id: ids.provider(&r.provider)?,
                role: r.role,
            });
        }
        for t in &p.themes {
            themes.push(programme_theme::Model {
                id: stable("programme_theme", &format!("{}:{t}", p.slug)),
                programme_id: id,
                theme: t.clone(),
            });
        }
        for k in &p.service_kinds {
            kinds.push(programme_service_kind::Model {
                id: stable("programme_service_kind", &format!("{}:{k:?}", p.slug)),
                programme_id: id,
                kind: *k,
            });
        }
        for (position, m) in (1..).zip(&p.milestones) {
            milestones.push(milestone::Model {
                id: stable("milestone", &format!("{}:{position}", p.slug)),
                programme_id: id,
                position,
                year_from: m.year_from,
                year_to: m.year_to,
                text: m.text.clone(),
                figure: m.figure,
                unit: m.unit.clone(),
                qualifier: m.qualifier,
                source: Some(m.source.clone().unwrap_or_else(|| p.source.clone())),
                version: 1,
                created_at: now,
                updated_at: now,
            });
        }
    }
    report.programme = insert_rows(db, programmes).await?;
    report.programme_provider = insert_rows(db, providers).await?;
    report.programme_theme = insert_rows(db, themes).await?;
    report.programme_service_kind = insert_rows(db, kinds).await?;
    report.milestone = insert_rows(db, milestones).await?;

    // --- Runs with enrolments and sessions.
    let mut run_ids: HashMap<&str, Uuid> = HashMap::new();
    let mut runs = Vec::new();
    let mut enrolments = Vec::new();
    let mut sessions = Vec::new();
    let mut synthetic_runs = Vec::new();
    let services_by_slug: HashMap<&str, &ServiceDef> =
        demo.services.iter().map(|s| (s.slug.as_str(), s)).collect();
    for r in &demo.runs {
        let id = stable("programme_run", &r.key);
        run_ids.insert(&r.key, id);
        let data_err = |m: String| SeedError::Data(format!("{FILE}: run {}: {m}", r.key));
        runs.push(programme_run::Model {
            id,
            programme_id: local(&programme_ids, "programme", &r.programme)?,
            network_id: r
                .network
                .as_deref()
                .map(|n| local(&network_ids, "network", n))
                .transpose()?,
            title: r.title.clone(),
            status: r.status,
            year: r.year,
            starts_on: parse_date("starts_on", r.starts_on.as_deref()).map_err(data_err)?,
            ends_on: parse_date("ends_on", r.ends_on.as_deref()).map_err(data_err)?,
            period: r.period.clone(),
            notes: r.notes.clone(),
            source: Some(r.source.clone()),
            version: 1,
            created_at: now,
            updated_at: now,
        });
        let mut synthetic_services = Vec::new();
        for e in &r.enrolments {
            let service_id = local(&service_ids, "service", &e.service)?;
            enrolments.push(enrolment::Model {
                id: stable("enrolment", &format!("{}:{}", r.key, e.service)),
                run_id: id,
                service_id,
                status: EnrolmentStatus::Enrolled,
                enrolled_on: None,
                withdrawn_on: None,
                version: 1,
                created_at: now,
                updated_at: now,
            });
            let name = services_by_slug
                .get(e.service.as_str())
                .map(|s| s.name.clone())
                .unwrap_or_else(|| e.service.clone());
            synthetic_services.push(ServiceInput {
                service_id,
                slug: e.service.clone(),
                name,
                staff: e.staff,
            });
        }
        let mut synthetic_sessions = Vec::new();
        for (position, s) in (1..).zip(&r.sessions) {
            let session_id = stable("session", &format!("{}:{position}", r.key));
            sessions.push(session::Model {
                id: session_id,
                run_id: id,
                position,
                title: s.title.clone(),
                kind: s.kind,
                audience: s.audience,
                date: parse_date("date", s.date.as_deref()).map_err(data_err)?,
                starts_at: None,
                period: s.period.clone(),
                duration_minutes: s.duration_minutes,
                place: s.place.clone(),
                pre_work: s.pre_work.clone(),
                reported_attendance: s.reported_attendance,
                reported_attendance_approximate: s.reported_attendance_approximate,
                version: 1,
                created_at: now,
                updated_at: now,
            });
            synthetic_sessions.push(SessionInput {
                session_id,
                audience: s.audience,
            });
        }
        synthetic_runs.push(RunInput {
            run_id: id,
            services: synthetic_services,
            sessions: synthetic_sessions,
        });
    }
    report.programme_run = insert_rows(db, runs).await?;
    report.enrolment = insert_rows(db, enrolments).await?;
    report.session = insert_rows(db, sessions).await?;

    // --- Synthetic persons, participations, attendance.
    let generated = synthetic::generate(&synthetic_runs, now);
    report.person = insert_rows(db, generated.persons).await?;
    report.participation = insert_rows(db, generated.participations).await?;
    report.attendance = insert_rows(db, generated.attendance).await?;
    for run in &synthetic_runs {
        crate::domain::people::completion::recompute(db, run.run_id, None).await?;
    }

    // --- Grants.
    let mut grants = Vec::new();
    for (i, g) in demo.grants.iter().enumerate() {
        grants.push(funding_grant::Model {
            id: stable("funding_grant", &format!("{}:{}:{i}", g.office, g.year)),
            funder_office_id: ids.office(&g.office)?,
            recipient_service_id: g
                .recipient_service
                .as_deref()
                .map(|s| local(&service_ids, "service", s))
                .transpose()?,
            recipient_municipality_id: g
                .recipient_municipality
                .as_deref()
                .map(|m| ids.municipality(m))
                .transpose()?,
            recipient_network_id: g
                .recipient_network
                .as_deref()
                .map(|n| local(&network_ids, "network", n))
                .transpose()?,
            run_id: g
                .run
                .as_deref()
                .map(|k| local(&run_ids, "run", k))
                .transpose()?,
            programme_id: g
                .programme
                .as_deref()
                .map(|p| local(&programme_ids, "programme", p))
                .transpose()?,
            purpose: g.purpose.clone(),
            year: g.year,
            amount_applied: g.amount_applied,
            amount_granted: g.amount_granted,
            status: g.status,
            decision_reason: g.decision_reason.clone(),
            submitted_at: None,
            decided_at: None,
            paid_at: None,
            reported_at: None,
            report_text: None,
            report_participants: None,
            source: Some(g.source.clone()),
            version: 1,
            created_at: now,
            updated_at: now,
        });
    }
    report.funding_grant = insert_rows(db, grants).await?;

    // --- Providers' contact details (the providers come with the
    // reference data; these fill in what the seed texts state).
    for c in &demo.provider_contacts {
        let id = ids.provider(&c.provider)?;
        Provider::update_many()
            .col_expr(provider::Column::Website, Expr::value(c.website.clone()))
            .col_expr(provider::Column::Email, Expr::value(c.email.clone()))
            .col_expr(provider::Column::Phone, Expr::value(c.phone.clone()))
            .col_expr(
                provider::Column::VisitingAddress,
                Expr::value(c.visiting_address.clone()),
            )
            .col_expr(
                provider::Column::PostalAddress,
                Expr::value(c.postal_address.clone()),
            )
            .filter(provider::Column::Id.eq(id))
            .exec(db)
            .await?;
    }

    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference() -> ReferenceData {
        ReferenceData::load().unwrap_or_else(|e| panic!("reference data: {e}"))
    }

    fn demo() -> Demo {
        Demo::load(&reference()).unwrap_or_else(|e| panic!("demo data: {e}"))
    }

    #[test]
    fn demo_file_loads_and_checks() {
        let d = demo();
        assert_eq!(d.services.len(), 14);
        assert_eq!(d.networks.len(), 4);
        assert_eq!(d.programmes.len(), 6);
        assert_eq!(d.runs.len(), 5);
        assert_eq!(d.grants.len(), 3);
        let sessions: usize = d.runs.iter().map(|r| r.sessions.len()).sum();
        assert_eq!(sessions, 8 + 6 + 4 + 3);
    }

    #[test]
    fn every_item_names_its_source() {
        let d = demo();
        let used: HashSet<&str> = d
            .services
            .iter()
            .map(|s| s.source.as_str())
            .chain(d.networks.iter().map(|n| n.source.as_str()))
            .chain(d.programmes.iter().map(|p| p.source.as_str()))
            .chain(d.runs.iter().map(|r| r.source.as_str()))
            .chain(d.grants.iter().map(|g| g.source.as_str()))
            .collect();
        // Every text contributes at least one item.
        assert_eq!(used, SOURCES.into_iter().collect());
    }

    #[test]
    fn mitt_liv_milestones() {
        let d = demo();
        let p = d
            .programmes
            .iter()
            .find(|p| p.slug == "mitt-liv-barneverntjeneste")
            .unwrap_or_else(|| panic!("MITT LIV missing"));
        assert_eq!(p.milestones.len(), 13);
        let first = &p.milestones[0];
        assert_eq!((first.year_from, first.figure), (2013, Some(15)));
        let kick = p
            .milestones
            .iter()
            .find(|m| m.unit.as_deref() == Some("Kick-samlinger"));
        assert_eq!(kick.and_then(|m| m.figure), Some(21));
        let share = p
            .milestones
            .iter()
            .find(|m| m.unit.as_deref() == Some("prosent av befolkningen"));
        assert_eq!(
            share.map(|m| (m.figure, m.qualifier)),
            Some((Some(75), Some(FigureQualifier::Nearly)))
        );
    }

    #[test]
    fn no_private_persons_are_named() {
        // Surnames of the people named in the seed texts (staff of NUBU and
        // Bufetat, editors); none may appear in the demo data.
        for name in [
            "Thøgersen",
            "Mørkrid",
            "Ervik-Jeannin",
            "Lønnum",
            "Lekhal",
            "Brunstad",
            "Leversund",
            "Viksveen",
            "Amlund",
        ] {
            assert!(!DEMO_TOML.contains(name), "{name} appears in demo.toml");
        }
    }

    /// The prose in demo.toml is our own: no run of eight words appears in
    /// a seed text. Skipped when the texts are not next to the repository.
    #[test]
    fn prose_is_not_copied_from_the_texts() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/seeds");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return;
        };
        let words = |s: &str| -> Vec<String> {
            s.split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .map(str::to_lowercase)
                .collect()
        };
        const N: usize = 8;
        let mut shingles = HashSet::new();
        for entry in entries.flatten() {
            if let Ok(text) = std::fs::read_to_string(entry.path()) {
                for w in words(&text).windows(N) {
                    shingles.insert(w.join(" "));
                }
            }
        }
        for w in words(DEMO_TOML).windows(N) {
            let s = w.join(" ");
            assert!(!shingles.contains(&s), "demo.toml copies {s:?}");
        }
    }

    #[test]
    fn checks_catch_bad_references() {
        let r = reference();
        let bad = |edit: &dyn Fn(&mut Demo)| {
            let mut d = demo();
            edit(&mut d);
            d.check(&r).err().map(|e| e.to_string()).unwrap_or_default()
        };
        assert!(
            bad(&|d| d.services[0].host = Some("0821".into()))
                .contains("not a municipality in force")
        );
        assert!(bad(&|d| d.services[0].covers = vec!["3314".into()]).contains("host"));
        assert!(bad(&|d| d.networks[0].members.push("nope".into())).contains("nope"));
        assert!(
            bad(&|d| d.programmes[1].providers[0].provider = "rvts-x".into()).contains("rvts-x")
        );
        assert!(bad(&|d| d.runs[0].source = "other.txt".into()).contains("source"));
        assert!(bad(&|d| d.grants[0].office = "974764067".into()).contains("does not cover"));
        assert!(bad(&|d| d.programmes[0].themes.push("Ikke Slug".into())).contains("slug"));
        assert!(bad(&|d| d.services[0].kind = ServiceKind::Refugee).contains("services_reference"));
    }
}
