//! Inserting the (already checked) reference data.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{
    county, encode_json, funder_office, funder_office_county, municipality, municipality_successor,
    provider, provider_region,
};
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use super::ids::stable;

use super::{SeedError, SeedReport, insert_rows};
use crate::domain::reference::ReferenceData;

/// Inserts all reference rows; `now` stamps `created_at`/`updated_at`.
pub(super) async fn insert(
    db: &impl ConnectionTrait,
    data: &ReferenceData,
    now: DateTime<Utc>,
) -> Result<SeedReport, SeedError> {
    let mut report = SeedReport::default();

    // --- Counties: ids first, then rows in an order in which every
    // `merged_into_id` points at a row already inserted.
    let county_ids: HashMap<&str, Uuid> = data
        .counties
        .iter()
        .map(|c| c.number.as_str())
        .chain(data.historic_counties.iter().map(|c| c.number.as_str()))
        .map(|n| (n, stable("county", n)))
        .collect();
    let county_id = |number: &str| -> Result<Uuid, SeedError> {
        county_ids
            .get(number)
            .copied()
            .ok_or_else(|| SeedError::Data(format!("county {number} is unknown")))
    };

    let mut counties: Vec<county::Model> = Vec::new();
    for c in &data.counties {
        counties.push(county::Model {
            id: county_id(&c.number)?,
            number: c.number.clone(),
            name: c.name.clone(),
            official_name: c.official_name.clone(),
            population: Some(c.population),
            population_year: Some(c.population_year),
            valid_from: None,
            valid_to: None,
            merged_into_id: None,
            version: 1,
            created_at: now,
            updated_at: now,
        });
    }
    let mut placed: std::collections::HashSet<&str> =
        data.counties.iter().map(|c| c.number.as_str()).collect();
    let mut pending: Vec<_> = data.historic_counties.iter().collect();
    while !pending.is_empty() {
        let (ready, rest): (Vec<_>, Vec<_>) = pending
            .into_iter()
            .partition(|c| placed.contains(c.main_successor()));
        if ready.is_empty() {
            return Err(SeedError::Data(
                "county_history.csv: successor chains form a cycle".to_owned(),
            ));
        }
        for c in ready {
            counties.push(county::Model {
                id: county_id(&c.number)?,
                number: c.number.clone(),
                name: c.name.clone(),
                official_name: c.name.clone(),
                population: None,
                population_year: None,
                valid_from: Some(c.valid_from),
                valid_to: Some(c.valid_to),
                merged_into_id: Some(county_id(c.main_successor())?),
                version: 1,
                created_at: now,
                updated_at: now,
            });
            placed.insert(c.number.as_str());
        }
        pending = rest;
    }
    report.county = insert_rows(db, counties).await?;

    // --- Municipalities, current and historic, then the successor links.
    let municipality_ids: HashMap<&str, Uuid> = data
        .municipalities
        .iter()
        .map(|m| m.number.as_str())
        .chain(
            data.historic_municipalities
                .iter()
                .map(|m| m.number.as_str()),
        )
        .map(|n| (n, stable("municipality", n)))
        .collect();
    let municipality_id = |number: &str| -> Result<Uuid, SeedError> {
        municipality_ids
            .get(number)
            .copied()
            .ok_or_else(|| SeedError::Data(format!("municipality {number} is unknown")))
    };

    let mut municipalities = Vec::new();
    for m in &data.municipalities {
        municipalities.push(municipality::Model {
            id: municipality_id(&m.number)?,
            number: m.number.clone(),
            name: m.name.clone(),
            official_name: m.official_name.clone(),
            display_name: m.display_name.clone(),
            county_id: county_id(&m.county_number)?,
            population: Some(m.population),
            population_year: Some(m.population_year),
            valid_from: None,
            valid_to: None,
            change_type: None,
            version: 1,
            created_at: now,
            updated_at: now,
        });
    }
    let mut successors = Vec::new();
    for m in &data.historic_municipalities {
        let id = municipality_id(&m.number)?;
        municipalities.push(municipality::Model {
            id,
            number: m.number.clone(),
            name: m.name.clone(),
            official_name: m.name.clone(),
            display_name: m.name.clone(),
            county_id: county_id(&m.county_number)?,
            population: None,
            population_year: None,
            valid_from: Some(m.valid_from),
            valid_to: Some(m.valid_to),
            change_type: Some(m.change),
            version: 1,
            created_at: now,
            updated_at: now,
        });
        for s in &m.successor_numbers {
            successors.push(municipality_successor::Model {
                municipality_id: id,
                successor_id: municipality_id(s)?,
            });
        }
    }
    report.municipality = insert_rows(db, municipalities).await?;
    report.municipality_successor = insert_rows(db, successors).await?;

    // --- Funder offices and the counties they cover.
    let mut offices = Vec::new();
    let mut office_counties = Vec::new();
    for o in &data.funder_offices {
        let id = stable("funder_office", &o.org_number);
        offices.push(funder_office::Model {
            id,
            org_number: o.org_number.clone(),
            name: o.name.clone(),
            registered_name: o.registered_name.clone(),
            former_names: encode_json(&o.former_names),
            web_slug: o.web_slug.clone(),
            version: 1,
            created_at: now,
            updated_at: now,
        });
        for c in &o.county_numbers {
            office_counties.push(funder_office_county::Model {
                funder_office_id: id,
                county_id: county_id(c)?,
            });
        }
    }
    report.funder_office = insert_rows(db, offices).await?;
    report.funder_office_county = insert_rows(db, office_counties).await?;

    // --- Providers and their regions.
    let mut providers = Vec::new();
    let mut regions = Vec::new();
    for p in &data.providers {
        let id = stable("provider", &p.slug);
        providers.push(provider::Model {
            id,
            slug: p.slug.clone(),
            org_number: p.org_number.clone(),
            name: p.name.clone(),
            short_name: p.short_name.clone(),
            kind: p.kind,
            former_names: encode_json(&p.former_names),
            description: None,
            website: None,
            email: None,
            phone: None,
            visiting_address: None,
            postal_address: None,
            version: 1,
            created_at: now,
            updated_at: now,
        });
        for c in &p.region_counties {
            regions.push(provider_region::Model {
                provider_id: id,
                county_id: county_id(c)?,
            });
        }
    }
    report.provider = insert_rows(db, providers).await?;
    report.provider_region = insert_rows(db, regions).await?;

    Ok(report)
}
