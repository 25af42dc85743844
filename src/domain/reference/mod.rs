//! Reference data: Norway's counties and municipalities (current and
//! historic), the county governors' offices (Statsforvalteren) and the
//! programme providers.
//!
//! The CSV files under `data/` (see `data/SOURCES.md` for sources and caveats)
//! are embedded in the binary; nothing is read from disk at run time.
//! [`ReferenceData::load`] parses them into typed rows and checks them, one by
//! one and against each other, so that wrong data fails loudly before a single
//! row reaches the database.

mod load;
mod validate;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

pub use load::{
    CountyRow, DataError, FunderOfficeRow, HistoricCountyRow, HistoricMunicipalityRow,
    MunicipalityRow, ProviderRow, ServiceReferenceRow, slugify,
};
pub use validate::{
    normalize_org_number, validate_county_number, validate_municipality_number, validate_org_number,
};

/// The embedded CSV files, as text.
pub mod files {
    /// The 15 counties in force from 2024-01-01.
    pub const COUNTIES: &str = include_str!("data/counties.csv");
    /// Counties no longer in force (ended 2017–2023).
    pub const COUNTY_HISTORY: &str = include_str!("data/county_history.csv");
    /// The 357 municipalities in force from 2024-01-01.
    pub const MUNICIPALITIES: &str = include_str!("data/municipalities.csv");
    /// Municipality codes no longer in force (ended 2019 or 2023).
    pub const MUNICIPALITY_HISTORY: &str = include_str!("data/municipality_history.csv");
    /// The county governors' offices and the counties they cover.
    pub const FUNDER_OFFICES: &str = include_str!("data/statsforvalter_offices.csv");
    /// Programme providers and their regions.
    pub const PROVIDERS: &str = include_str!("data/providers.csv");
    /// Services named in the seed texts with their municipalities.
    pub const SERVICES: &str = include_str!("data/services_reference.csv");
}

/// All reference data, parsed and checked.
#[derive(Clone, Debug)]
pub struct ReferenceData {
    /// Counties in force.
    pub counties: Vec<CountyRow>,
    /// Counties no longer in force.
    pub historic_counties: Vec<HistoricCountyRow>,
    /// Municipalities in force.
    pub municipalities: Vec<MunicipalityRow>,
    /// Municipalities no longer in force.
    pub historic_municipalities: Vec<HistoricMunicipalityRow>,
    /// County governors' offices.
    pub funder_offices: Vec<FunderOfficeRow>,
    /// Programme providers.
    pub providers: Vec<ProviderRow>,
    /// Services named in the seed texts.
    pub services: Vec<ServiceReferenceRow>,
}

impl ReferenceData {
    /// Parses and checks the embedded files.
    pub fn load() -> Result<Self, DataError> {
        let data = Self {
            counties: load::parse_counties(files::COUNTIES)?,
            historic_counties: load::parse_historic_counties(files::COUNTY_HISTORY)?,
            municipalities: load::parse_municipalities(files::MUNICIPALITIES)?,
            historic_municipalities: load::parse_historic_municipalities(
                files::MUNICIPALITY_HISTORY,
            )?,
            funder_offices: load::parse_funder_offices(files::FUNDER_OFFICES)?,
            providers: load::parse_providers(files::PROVIDERS)?,
            services: load::parse_service_references(files::SERVICES)?,
        };
        data.check()?;
        Ok(data)
    }

    /// The total population of the municipalities in force.
    pub fn population(&self) -> i64 {
        self.municipalities.iter().map(|m| m.population).sum()
    }

    /// Follows the successor chain of a municipality number to the
    /// municipalities in force (e.g. `0821` → `3817` → `4020`). A number in
    /// force maps to itself; an unknown number gives an empty set.
    pub fn current_successors(&self, number: &str) -> BTreeSet<String> {
        let current: HashSet<&str> = self
            .municipalities
            .iter()
            .map(|m| m.number.as_str())
            .collect();
        let history: HashMap<&str, &HistoricMunicipalityRow> = self
            .historic_municipalities
            .iter()
            .map(|m| (m.number.as_str(), m))
            .collect();
        let mut out = BTreeSet::new();
        let mut todo = vec![number.to_owned()];
        let mut seen = HashSet::new();
        while let Some(n) = todo.pop() {
            if !seen.insert(n.clone()) {
                continue;
            }
            if current.contains(n.as_str()) {
                out.insert(n);
            } else if let Some(h) = history.get(n.as_str()) {
                todo.extend(h.successor_numbers.iter().cloned());
            }
        }
        out
    }

    /// Checks the files against each other.
    fn check(&self) -> Result<(), DataError> {
        self.check_counties()?;
        self.check_municipalities()?;
        self.check_offices()?;
        self.check_providers()?;
        self.check_services()
    }

    fn check_counties(&self) -> Result<(), DataError> {
        let mut numbers = HashSet::new();
        for c in &self.counties {
            if !numbers.insert(c.number.as_str()) {
                return Err(DataError::file(
                    "counties.csv",
                    format!("county {} is listed twice", c.number),
                ));
            }
        }
        for c in &self.historic_counties {
            if !numbers.insert(c.number.as_str()) {
                return Err(DataError::file(
                    "county_history.csv",
                    format!(
                        "county {} is listed twice or also in counties.csv",
                        c.number
                    ),
                ));
            }
        }
        for c in &self.historic_counties {
            for s in &c.successor_numbers {
                if !numbers.contains(s.as_str()) {
                    return Err(DataError::file(
                        "county_history.csv",
                        format!("county {}: successor {s} is unknown", c.number),
                    ));
                }
            }
        }
        // Main-successor chains must end in a county in force (no cycles).
        let current: HashSet<&str> = self.counties.iter().map(|c| c.number.as_str()).collect();
        let main: HashMap<&str, &str> = self
            .historic_counties
            .iter()
            .map(|c| (c.number.as_str(), c.main_successor()))
            .collect();
        for c in &self.historic_counties {
            let mut n = c.number.as_str();
            for _ in 0..=main.len() {
                if current.contains(n) {
                    break;
                }
                n = main.get(n).copied().unwrap_or(n);
            }
            if !current.contains(n) {
                return Err(DataError::file(
                    "county_history.csv",
                    format!(
                        "county {}: the successor chain does not end in a current county",
                        c.number
                    ),
                ));
            }
        }
        Ok(())
    }

    fn check_municipalities(&self) -> Result<(), DataError> {
        let current_counties: HashMap<&str, &CountyRow> = self
            .counties
            .iter()
            .map(|c| (c.number.as_str(), c))
            .collect();
        let historic_counties: HashSet<&str> = self
            .historic_counties
            .iter()
            .map(|c| c.number.as_str())
            .collect();

        let mut numbers = HashSet::new();
        let mut per_county: BTreeMap<&str, (usize, i64)> = BTreeMap::new();
        for m in &self.municipalities {
            if !numbers.insert(m.number.as_str()) {
                return Err(DataError::file(
                    "municipalities.csv",
                    format!("municipality {} is listed twice", m.number),
                ));
            }
            if !current_counties.contains_key(m.county_number.as_str()) {
                return Err(DataError::file(
                    "municipalities.csv",
                    format!(
                        "municipality {}: county {} is not a county in force",
                        m.number, m.county_number
                    ),
                ));
            }
            let e = per_county.entry(m.county_number.as_str()).or_default();
            e.0 += 1;
            e.1 += m.population;
        }
        for c in &self.counties {
            let (count, population) = per_county
                .get(c.number.as_str())
                .copied()
                .unwrap_or_default();
            if count != c.municipality_count || population != c.population {
                return Err(DataError::file(
                    "counties.csv",
                    format!(
                        "county {} states {} municipalities and {} residents, but \
                         municipalities.csv has {count} and {population}",
                        c.number, c.municipality_count, c.population
                    ),
                ));
            }
        }

        for m in &self.historic_municipalities {
            if !numbers.insert(m.number.as_str()) {
                return Err(DataError::file(
                    "municipality_history.csv",
                    format!(
                        "municipality {} is listed twice or also in municipalities.csv",
                        m.number
                    ),
                ));
            }
            let county = m.county_number.as_str();
            if !current_counties.contains_key(county) && !historic_counties.contains(county) {
                return Err(DataError::file(
                    "municipality_history.csv",
                    format!("municipality {}: county {county} is unknown", m.number),
                ));
            }
        }
        for m in &self.historic_municipalities {
            for s in &m.successor_numbers {
                if !numbers.contains(s.as_str()) {
                    return Err(DataError::file(
                        "municipality_history.csv",
                        format!("municipality {}: successor {s} is unknown", m.number),
                    ));
                }
            }
            if self.current_successors(&m.number).is_empty() {
                return Err(DataError::file(
                    "municipality_history.csv",
                    format!(
                        "municipality {}: the successor chain never reaches a municipality in \
                         force",
                        m.number
                    ),
                ));
            }
        }
        Ok(())
    }

    fn check_offices(&self) -> Result<(), DataError> {
        let file = "statsforvalter_offices.csv";
        let mut org_numbers = HashSet::new();
        let mut names = HashSet::new();
        let mut office_of: HashMap<&str, &FunderOfficeRow> = HashMap::new();
        let current: HashSet<&str> = self.counties.iter().map(|c| c.number.as_str()).collect();
        for o in &self.funder_offices {
            if !org_numbers.insert(o.org_number.as_str()) || !names.insert(o.name.as_str()) {
                return Err(DataError::file(
                    file,
                    format!("office {} ({}) is listed twice", o.name, o.org_number),
                ));
            }
            for c in &o.county_numbers {
                if !current.contains(c.as_str()) {
                    return Err(DataError::file(
                        file,
                        format!("{}: county {c} is not a county in force", o.name),
                    ));
                }
                if office_of.insert(c.as_str(), o).is_some() {
                    return Err(DataError::file(
                        file,
                        format!("county {c} is covered by more than one office"),
                    ));
                }
            }
        }
        for c in &self.counties {
            match office_of.get(c.number.as_str()) {
                None => {
                    return Err(DataError::file(
                        file,
                        format!("no office covers county {} {}", c.number, c.name),
                    ));
                }
                Some(o)
                    if o.org_number != c.funder_office_org_number
                        || o.name != c.funder_office_name =>
                {
                    return Err(DataError::file(
                        "counties.csv",
                        format!(
                            "county {} names office {} ({}), but {file} says {} ({})",
                            c.number,
                            c.funder_office_name,
                            c.funder_office_org_number,
                            o.name,
                            o.org_number
                        ),
                    ));
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    fn check_providers(&self) -> Result<(), DataError> {
        let file = "providers.csv";
        let current: HashSet<&str> = self.counties.iter().map(|c| c.number.as_str()).collect();
        let mut slugs = HashSet::new();
        let mut short_names = HashSet::new();
        let mut org_numbers = HashSet::new();
        for p in &self.providers {
            if !slugs.insert(p.slug.as_str()) || !short_names.insert(p.short_name.as_str()) {
                return Err(DataError::file(
                    file,
                    format!(
                        "provider {} (slug {}) is listed twice",
                        p.short_name, p.slug
                    ),
                ));
            }
            if let Some(n) = &p.org_number
                && !org_numbers.insert(n.as_str())
            {
                return Err(DataError::file(
                    file,
                    format!("organisation number {n} is used twice"),
                ));
            }
            for c in &p.region_counties {
                if !current.contains(c.as_str()) {
                    return Err(DataError::file(
                        file,
                        format!(
                            "{}: region county {c} is not a county in force",
                            p.short_name
                        ),
                    ));
                }
            }
        }
        // counties.csv names the RVTS of each county; the provider's region
        // must agree.
        for c in &self.counties {
            let agrees = self
                .providers
                .iter()
                .any(|p| p.short_name == c.rvts_region && p.region_counties.contains(&c.number));
            if !agrees {
                return Err(DataError::file(
                    "counties.csv",
                    format!(
                        "county {} names {} as its RVTS, but that provider's region in {file} \
                         does not include it",
                        c.number, c.rvts_region
                    ),
                ));
            }
        }
        Ok(())
    }

    fn check_services(&self) -> Result<(), DataError> {
        let current: HashSet<&str> = self
            .municipalities
            .iter()
            .map(|m| m.number.as_str())
            .collect();
        for s in &self.services {
            for n in s.host_number.iter().chain(&s.covered_numbers) {
                if !current.contains(n.as_str()) {
                    return Err(DataError::file(
                        "services_reference.csv",
                        format!("{}: municipality {n} is not in force", s.name),
                    ));
                }
            }
            if let Some(h) = &s.host_number
                && !s.covered_numbers.contains(h)
            {
                return Err(DataError::file(
                    "services_reference.csv",
                    format!(
                        "{}: host {h} is not among the covered municipalities",
                        s.name
                    ),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> ReferenceData {
        match ReferenceData::load() {
            Ok(d) => d,
            Err(e) => panic!("reference data does not load: {e}"),
        }
    }

    #[test]
    fn embedded_files_load_and_agree() {
        let d = data();
        assert_eq!(d.counties.len(), 15);
        assert_eq!(d.historic_counties.len(), 18);
        assert_eq!(d.municipalities.len(), 357);
        assert_eq!(d.historic_municipalities.len(), 423);
        assert_eq!(d.funder_offices.len(), 10);
        assert_eq!(d.providers.len(), 8);
        assert_eq!(d.population(), 5_550_203);
    }

    #[test]
    fn every_org_number_passes_mod_11() {
        let d = data();
        for o in &d.funder_offices {
            assert_eq!(validate_org_number(&o.org_number), Ok(()), "{}", o.name);
        }
        for p in d.providers.iter().filter_map(|p| p.org_number.as_ref()) {
            assert_eq!(validate_org_number(p), Ok(()));
        }
    }

    #[test]
    fn provider_slugs() {
        let d = data();
        let slugs: Vec<&str> = d.providers.iter().map(|p| p.slug.as_str()).collect();
        for s in [
            "rvts-sor",
            "rvts-ost",
            "nubu",
            "forandringsfabrikken",
            "bufdir",
        ] {
            assert!(slugs.contains(&s), "{s} missing from {slugs:?}");
        }
        let rvts_sor = d.providers.iter().find(|p| p.slug == "rvts-sor");
        assert_eq!(rvts_sor.and_then(|p| p.org_number.clone()), None);
    }

    #[test]
    fn bo_and_sauherad_lead_to_midt_telemark() {
        let d = data();
        let expected: BTreeSet<String> = ["4020".to_owned()].into();
        assert_eq!(d.current_successors("0821"), expected);
        assert_eq!(d.current_successors("0822"), expected);
        assert_eq!(d.current_successors("3817"), expected);
        assert_eq!(
            d.current_successors("0819").into_iter().collect::<Vec<_>>(),
            ["4018"]
        );
        assert_eq!(d.current_successors("4020"), expected);
        assert!(d.current_successors("9999").is_empty());
    }
}
