//! Parsing of the embedded reference CSV files into typed rows.
//!
//! Each file is read with its header row; a column that is missing, a cell
//! that does not parse or a code that fails its check is a [`DataError`] that
//! names the file and the line. Cross-file consistency is checked in
//! [`super::ReferenceData::load`].

use std::fmt;

use chrono::NaiveDate;
use entity::enums::{MunicipalityChange, ProviderKind, ServiceKind};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::validate::{validate_county_number, validate_municipality_number, validate_org_number};

/// A fault in the reference (or demo) data: the file, the line when known,
/// and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataError {
    /// The file the fault is in (e.g. `municipalities.csv`).
    pub file: &'static str,
    /// The 1-based line of the offending row, when the fault is in one row.
    pub line: Option<u64>,
    /// What is wrong.
    pub message: String,
}

impl DataError {
    /// A fault of the file as a whole (or of several rows together).
    pub fn file(file: &'static str, message: impl Into<String>) -> Self {
        Self {
            file,
            line: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}, line {}: {}", self.file, line, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for DataError {}

/// A county in force from 2024-01-01 (`counties.csv`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CountyRow {
    /// Two-digit county number.
    pub number: String,
    /// Common name.
    pub name: String,
    /// Official (possibly multilingual) name.
    pub official_name: String,
    /// Name of the county governor's office covering the county.
    pub funder_office_name: String,
    /// Organisation number of that office.
    pub funder_office_org_number: String,
    /// Short name of the RVTS whose region includes the county.
    pub rvts_region: String,
    /// Number of municipalities in the county.
    pub municipality_count: usize,
    /// Residents (sum of the municipalities) on 1 January of `population_year`.
    pub population: i64,
    /// The year of the population figure.
    pub population_year: i32,
}

/// A county no longer in force on 2024-01-01 (`county_history.csv`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoricCountyRow {
    /// Two-digit county number.
    pub number: String,
    /// Name.
    pub name: String,
    /// First day in force (inclusive).
    pub valid_from: NaiveDate,
    /// Last day in force (inclusive).
    pub valid_to: NaiveDate,
    /// The successor counties on the next 1 January, main successor first.
    pub successor_numbers: Vec<String>,
}

impl HistoricCountyRow {
    /// The main successor county (the first listed).
    pub fn main_successor(&self) -> &str {
        // The parser refuses rows without successors.
        self.successor_numbers
            .first()
            .map(String::as_str)
            .unwrap_or_default()
    }
}

/// A municipality in force from 2024-01-01 (`municipalities.csv`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MunicipalityRow {
    /// Four-digit municipality number.
    pub number: String,
    /// Norwegian name.
    pub name: String,
    /// Number of the county.
    pub county_number: String,
    /// Full official name (with Sami/Kven forms where they exist).
    pub official_name: String,
    /// Name for display, disambiguated where a name is used twice.
    pub display_name: String,
    /// Residents on 1 January of `population_year`.
    pub population: i64,
    /// The year of the population figure.
    pub population_year: i32,
}

/// A municipality code no longer in force on 2024-01-01
/// (`municipality_history.csv`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoricMunicipalityRow {
    /// Four-digit municipality number.
    pub number: String,
    /// Name (SSB's, disambiguated as SSB did, e.g. `Bø (Telemark)`).
    pub name: String,
    /// Number of the county it belonged to (possibly a historic county).
    pub county_number: String,
    /// Start of the last SSB record (code and name) of the municipality.
    pub valid_from: NaiveDate,
    /// Last day in force (inclusive).
    pub valid_to: NaiveDate,
    /// The municipalities in force on the next 1 January that took over.
    pub successor_numbers: Vec<String>,
    /// How the municipality ended.
    pub change: MunicipalityChange,
}

/// A county governor's office (`statsforvalter_offices.csv`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunderOfficeRow {
    /// Nine-digit organisation number.
    pub org_number: String,
    /// Name in use.
    pub name: String,
    /// Name as registered in Enhetsregisteret (may be nynorsk).
    pub registered_name: String,
    /// Earlier names, newest first.
    pub former_names: Vec<String>,
    /// Numbers of the counties the office covers.
    pub county_numbers: Vec<String>,
    /// Path of the office on statsforvalteren.no.
    pub web_slug: Option<String>,
}

/// A programme provider (`providers.csv`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderRow {
    /// Full name.
    pub name: String,
    /// Short name (unique), e.g. `RVTS Sør`.
    pub short_name: String,
    /// URL-safe key derived from the short name, e.g. `rvts-sor`.
    pub slug: String,
    /// Nine-digit organisation number; `None` for units without their own
    /// legal entity (the RVTS centres).
    pub org_number: Option<String>,
    /// Kind of provider.
    pub kind: ProviderKind,
    /// Counties of the provider's region; empty for national providers.
    pub region_counties: Vec<String>,
    /// Earlier names.
    pub former_names: Vec<String>,
}

/// A service named in the seed texts, with its host and covered
/// municipalities (`services_reference.csv`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceReferenceRow {
    /// Name of the service.
    pub name: String,
    /// Kind of service.
    pub kind: ServiceKind,
    /// Host municipality, when known.
    pub host_number: Option<String>,
    /// Municipalities the service covers.
    pub covered_numbers: Vec<String>,
    /// How well the facts are verified (free text, English).
    pub verification: String,
}

// --- Raw CSV rows ---------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCounty {
    number: String,
    name: String,
    statsforvalter_office: String,
    statsforvalter_org_number: String,
    rvts_region: String,
    official_name: String,
    municipality_count: String,
    population: String,
    population_year: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHistoricCounty {
    number: String,
    name: String,
    valid_from: String,
    valid_to: String,
    successor_numbers: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMunicipality {
    kommunenummer: String,
    name: String,
    county_number: String,
    #[allow(dead_code)] // informative column, the county comes from its number
    county_name: String,
    population: String,
    population_year: String,
    official_name: String,
    display_name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHistoricMunicipality {
    kommunenummer: String,
    name: String,
    county_number: String,
    #[allow(dead_code)] // informative column
    county_name: String,
    valid_from: String,
    valid_to: String,
    successor_numbers: String,
    change_type: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFunderOffice {
    org_number: String,
    name: String,
    registered_name: String,
    former_names: String,
    county_numbers: String,
    #[allow(dead_code)] // informative column
    county_names: String,
    web_slug: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProvider {
    name: String,
    short_name: String,
    org_number: String,
    kind: String,
    region_counties: String,
    former_names: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServiceReference {
    name: String,
    kind: String,
    host_kommunenummer: String,
    covered_kommunenummer: String,
    verification: String,
}

// --- Parsers ------------------------------------------------------------------

/// Parses `counties.csv`.
pub fn parse_counties(text: &str) -> Result<Vec<CountyRow>, DataError> {
    parse_csv("counties.csv", text, |r: RawCounty| {
        validate_county_number(&r.number)?;
        validate_org_number(&r.statsforvalter_org_number)?;
        Ok(CountyRow {
            number: r.number,
            name: required("name", r.name)?,
            official_name: required("official_name", r.official_name)?,
            funder_office_name: required("statsforvalter_office", r.statsforvalter_office)?,
            funder_office_org_number: r.statsforvalter_org_number,
            rvts_region: required("rvts_region", r.rvts_region)?,
            municipality_count: number("municipality_count", &r.municipality_count)?,
            population: number("population", &r.population)?,
            population_year: number("population_year", &r.population_year)?,
        })
    })
}

/// Parses `county_history.csv`.
pub fn parse_historic_counties(text: &str) -> Result<Vec<HistoricCountyRow>, DataError> {
    parse_csv("county_history.csv", text, |r: RawHistoricCounty| {
        validate_county_number(&r.number)?;
        let successor_numbers = list(&r.successor_numbers);
        if successor_numbers.is_empty() {
            return Err("a historic county needs at least one successor".to_owned());
        }
        for s in &successor_numbers {
            validate_county_number(s)?;
        }
        let (valid_from, valid_to) = period(&r.valid_from, &r.valid_to)?;
        Ok(HistoricCountyRow {
            number: r.number,
            name: required("name", r.name)?,
            valid_from,
            valid_to,
            successor_numbers,
        })
    })
}

/// Parses `municipalities.csv`.
pub fn parse_municipalities(text: &str) -> Result<Vec<MunicipalityRow>, DataError> {
    parse_csv("municipalities.csv", text, |r: RawMunicipality| {
        validate_municipality_number(&r.kommunenummer, &r.county_number)?;
        Ok(MunicipalityRow {
            number: r.kommunenummer,
            name: required("name", r.name)?,
            county_number: r.county_number,
            official_name: required("official_name", r.official_name)?,
            display_name: required("display_name", r.display_name)?,
            population: number("population", &r.population)?,
            population_year: number("population_year", &r.population_year)?,
        })
    })
}

/// Parses `municipality_history.csv`.
pub fn parse_historic_municipalities(
    text: &str,
) -> Result<Vec<HistoricMunicipalityRow>, DataError> {
    parse_csv(
        "municipality_history.csv",
        text,
        |r: RawHistoricMunicipality| {
            validate_municipality_number(&r.kommunenummer, &r.county_number)?;
            let successor_numbers = list(&r.successor_numbers);
            if successor_numbers.is_empty() {
                return Err("a historic municipality needs at least one successor".to_owned());
            }
            for s in &successor_numbers {
                if s.len() != 4 || !s.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(format!("successor number {s:?} must be 4 digits"));
                }
            }
            let (valid_from, valid_to) = period(&r.valid_from, &r.valid_to)?;
            Ok(HistoricMunicipalityRow {
                number: r.kommunenummer,
                name: required("name", r.name)?,
                county_number: r.county_number,
                valid_from,
                valid_to,
                successor_numbers,
                change: enum_value("change_type", &r.change_type.to_ascii_uppercase())?,
            })
        },
    )
}

/// Parses `statsforvalter_offices.csv`.
pub fn parse_funder_offices(text: &str) -> Result<Vec<FunderOfficeRow>, DataError> {
    parse_csv("statsforvalter_offices.csv", text, |r: RawFunderOffice| {
        validate_org_number(&r.org_number)?;
        let county_numbers = list(&r.county_numbers);
        if county_numbers.is_empty() {
            return Err("an office must cover at least one county".to_owned());
        }
        for c in &county_numbers {
            validate_county_number(c)?;
        }
        Ok(FunderOfficeRow {
            org_number: r.org_number,
            name: required("name", r.name)?,
            registered_name: required("registered_name", r.registered_name)?,
            former_names: list(&r.former_names),
            county_numbers,
            web_slug: optional(r.web_slug),
        })
    })
}

/// Parses `providers.csv`; the slug is derived from the short name.
pub fn parse_providers(text: &str) -> Result<Vec<ProviderRow>, DataError> {
    parse_csv("providers.csv", text, |r: RawProvider| {
        let org_number = optional(r.org_number);
        if let Some(n) = &org_number {
            validate_org_number(n)?;
        }
        let region_counties = list(&r.region_counties);
        for c in &region_counties {
            validate_county_number(c)?;
        }
        let short_name = required("short_name", r.short_name)?;
        let slug = slugify(&short_name);
        if slug.is_empty() {
            return Err(format!("short name {short_name:?} gives an empty slug"));
        }
        Ok(ProviderRow {
            name: required("name", r.name)?,
            slug,
            short_name,
            org_number,
            kind: enum_value("kind", &r.kind)?,
            region_counties,
            former_names: list(&r.former_names),
        })
    })
}

/// Parses `services_reference.csv`.
pub fn parse_service_references(text: &str) -> Result<Vec<ServiceReferenceRow>, DataError> {
    parse_csv("services_reference.csv", text, |r: RawServiceReference| {
        let covered_numbers = list(&r.covered_kommunenummer);
        if covered_numbers.is_empty() {
            return Err("a service must cover at least one municipality".to_owned());
        }
        Ok(ServiceReferenceRow {
            name: required("name", r.name)?,
            kind: enum_value("kind", &r.kind)?,
            host_number: optional(r.host_kommunenummer),
            covered_numbers,
            verification: r.verification,
        })
    })
}

/// A URL-safe key: lower case ASCII letters and digits separated by single
/// hyphens; Norwegian letters are transliterated (æ → ae, ø → o, å → a).
///
/// ```
/// use kompetanse::domain::reference::slugify;
/// assert_eq!(slugify("RVTS Sør"), "rvts-sor");
/// assert_eq!(slugify("Øvre Eiker barneverntjeneste"), "ovre-eiker-barneverntjeneste");
/// ```
pub fn slugify(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_hyphen = false;
    for c in text.chars().flat_map(char::to_lowercase) {
        let piece: &str = match c {
            'æ' => "ae",
            'ø' | 'ö' | 'ó' | 'ò' | 'ô' => "o",
            'å' | 'ä' | 'á' | 'à' | 'â' => "a",
            'é' | 'è' | 'ê' | 'ë' => "e",
            'ü' | 'ú' => "u",
            'í' | 'ï' => "i",
            'š' => "s",
            'č' => "c",
            'ŋ' => "n",
            'đ' => "d",
            'ŧ' => "t",
            'ž' => "z",
            _ => "",
        };
        if !piece.is_empty() || c.is_ascii_alphanumeric() {
            if pending_hyphen && !out.is_empty() {
                out.push('-');
            }
            pending_hyphen = false;
            if piece.is_empty() {
                out.push(c);
            } else {
                out.push_str(piece);
            }
        } else {
            pending_hyphen = true;
        }
    }
    out
}

// --- Helpers ---------------------------------------------------------------------

/// Reads every record of a CSV text (with a header row) as `R` and converts
/// it with `convert`; any fault becomes a [`DataError`] naming the line.
fn parse_csv<R, T>(
    file: &'static str,
    text: &str,
    convert: impl Fn(R) -> Result<T, String>,
) -> Result<Vec<T>, DataError>
where
    R: DeserializeOwned,
{
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| DataError::file(file, format!("unreadable header row: {e}")))?
        .clone();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| DataError {
            file,
            line: e.position().map(|p| p.line()),
            message: format!("unreadable row: {e}"),
        })?;
        let line = record.position().map(|p| p.line());
        let raw: R = record.deserialize(Some(&headers)).map_err(|e| DataError {
            file,
            line,
            message: format!("bad row: {e}"),
        })?;
        let row = convert(raw).map_err(|message| DataError {
            file,
            line,
            message,
        })?;
        rows.push(row);
    }
    Ok(rows)
}

/// A `;`-separated list; empty items are dropped.
fn list(cell: &str) -> Vec<String> {
    cell.split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `None` for an empty cell.
fn optional(cell: String) -> Option<String> {
    let trimmed = cell.trim();
    if trimmed.is_empty() {
        None
    } else if trimmed.len() == cell.len() {
        Some(cell)
    } else {
        Some(trimmed.to_owned())
    }
}

/// A cell that must not be empty.
fn required(column: &str, cell: String) -> Result<String, String> {
    optional(cell).ok_or_else(|| format!("column {column} is empty"))
}

/// A number cell.
fn number<N: std::str::FromStr>(column: &str, cell: &str) -> Result<N, String>
where
    N::Err: fmt::Display,
{
    cell.trim()
        .parse()
        .map_err(|e| format!("column {column}: {cell:?} is not a number ({e})"))
}

/// An ISO date cell (`YYYY-MM-DD`).
fn date(column: &str, cell: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(cell.trim(), "%Y-%m-%d")
        .map_err(|e| format!("column {column}: {cell:?} is not a YYYY-MM-DD date ({e})"))
}

/// A `valid_from`/`valid_to` pair; the end must not precede the start.
fn period(from: &str, to: &str) -> Result<(NaiveDate, NaiveDate), String> {
    let from = date("valid_from", from)?;
    let to = date("valid_to", to)?;
    if to < from {
        return Err(format!("valid_to {to} is before valid_from {from}"));
    }
    Ok((from, to))
}

/// An enumeration value given by its database string (e.g. `CHILD_WELFARE`).
pub(crate) fn enum_value<E: DeserializeOwned>(column: &str, cell: &str) -> Result<E, String> {
    use serde::de::IntoDeserializer;
    let de: serde::de::value::StrDeserializer<'_, serde::de::value::Error> =
        cell.trim().into_deserializer();
    E::deserialize(de).map_err(|e| format!("column {column}: {cell:?} is not a known value ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(slugify("RVTS Sør"), "rvts-sor");
        assert_eq!(slugify("RVTS Øst"), "rvts-ost");
        assert_eq!(slugify("NUBU"), "nubu");
        assert_eq!(slugify("Forandringsfabrikken"), "forandringsfabrikken");
        assert_eq!(slugify("Bufdir"), "bufdir");
        assert_eq!(slugify("  Læring – og  Å "), "laering-og-a");
    }

    #[test]
    fn bad_rows_name_their_line() {
        let text = "kommunenummer,name,county_number,county_name,population,population_year,\
                    official_name,display_name\n\
                    0301,Oslo,03,Oslo,717710,2024,Oslo,Oslo\n\
                    4020,Midt-Telemark,38,Telemark,10,2024,Midt-Telemark,Midt-Telemark\n";
        let err = parse_municipalities(text).unwrap_err();
        assert_eq!(err.file, "municipalities.csv");
        assert_eq!(err.line, Some(3));
        assert!(err.to_string().contains("line 3"), "{err}");
    }

    #[test]
    fn missing_columns_are_reported() {
        let text = "number,name\n03,Oslo\n";
        let err = parse_counties(text).unwrap_err();
        assert_eq!(err.line, Some(2));
        assert!(err.message.contains("missing field"), "{err}");
    }

    #[test]
    fn bad_org_numbers_are_refused() {
        let text = "name,short_name,org_number,kind,region_counties,former_names\n\
                    NUBU,NUBU,985638188,NATIONAL_CENTRE,,\n";
        let err = parse_providers(text).unwrap_err();
        assert!(err.message.contains("mod-11"), "{err}");
    }

    #[test]
    fn enum_values() {
        let v: MunicipalityChange = enum_value("change_type", "RENUMBERED_RENAMED").unwrap();
        assert_eq!(v, MunicipalityChange::RenumberedRenamed);
        assert!(enum_value::<ServiceKind>("kind", "BARNEVERN").is_err());
    }
}
