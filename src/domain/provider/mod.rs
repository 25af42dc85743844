//! Providers (tilbydere, fagmiljøer): the RVTS centres, NUBU,
//! Forandringsfabrikken, Bufdir, universities … that run programmes.

use async_graphql::{Context, Enum, ID, InputObject, Object};
use entity::enums::{ProviderKind, ProviderRole, RunStatus};
use entity::{programme_provider, provider, provider_region};
use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter};

use crate::domain::geography::{County, county_id_by_number};
use crate::domain::programme::{ProgrammeProvider, sort_links};
use crate::domain::reference::{normalize_org_number, validate_org_number};
use crate::domain::run::{ProgrammeRun, RUN_ORDER, run_key};
use crate::domain::service::check_slug;
use crate::domain::{OrderDirection, text_search};
use crate::error::{ApiError, ApiResult};
use crate::graphql::pagination::{Conn, PageArgs, asc, by, page_cost, paginate, paginate_vec};
use crate::graphql::{ContextExt, id};

pub mod write;

/// An organisation that provides competence-development programmes: a
/// regional resource centre (RVTS), a national competence centre such as
/// NUBU, a foundation such as Forandringsfabrikken, a directorate such as
/// Bufdir, or a university. Regional providers serve the counties of their
/// region (`regionCounties`); national ones serve the whole country.
pub struct Provider(pub provider::Model);

impl From<provider::Model> for Provider {
    fn from(m: provider::Model) -> Self {
        Self(m)
    }
}

/// An organisation that provides competence-development programmes: a
/// regional resource centre (RVTS), a national competence centre such as
/// NUBU, a foundation such as Forandringsfabrikken, a directorate such as
/// Bufdir, or a university. Regional providers serve the counties of their
/// region (`regionCounties`); national ones serve the whole country.
#[Object]
impl Provider {
    /// Global id (use with `node`).
    pub async fn id(&self) -> ID {
        id::encode("Provider", self.0.id)
    }
    /// A stable, URL-safe key, e.g. "rvts-sor"; use with `provider(slug:)`.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    /// The nine-digit organisation number (organisasjonsnummer) in the
    /// Central Coordinating Register for Legal Entities. Empty for providers
    /// without one of their own, such as the RVTS centres, which are parts
    /// of a hospital trust or a university.
    async fn org_number(&self) -> Option<&str> {
        self.0.org_number.as_deref()
    }
    /// The full name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The short name or abbreviation in common use, e.g. "RVTS Sør" or
    /// "NUBU"; unique among providers.
    async fn short_name(&self) -> &str {
        &self.0.short_name
    }
    /// The kind of organisation.
    async fn kind(&self) -> ProviderKind {
        self.0.kind
    }
    /// Names the provider was known by earlier, oldest first.
    async fn former_names(&self) -> Vec<String> {
        entity::decode_json_list(&self.0.former_names)
    }
    /// A description of the provider, where one is registered.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// How to reach the provider: website, e-mail, phone and addresses, as
    /// far as they are registered (null when none is). Public; changed with
    /// `updateProviderContact`.
    async fn contact(&self) -> Option<ProviderContact> {
        let m = &self.0;
        let contact = ProviderContact {
            website: m.website.clone(),
            email: m.email.clone(),
            phone: m.phone.clone(),
            visiting_address: m.visiting_address.clone(),
            postal_address: m.postal_address.clone(),
        };
        let empty = contact.website.is_none()
            && contact.email.is_none()
            && contact.phone.is_none()
            && contact.visiting_address.is_none()
            && contact.postal_address.is_none();
        (!empty).then_some(contact)
    }
    /// The version of the provider, incremented on every change; send it
    /// back with `updateProviderContact`.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// The counties of the provider's region, by county number. Empty for a
    /// national provider (see `isNational`).
    async fn region_counties(&self, ctx: &Context<'_>) -> ApiResult<Vec<County>> {
        let loaders = ctx.loaders()?;
        let links: Vec<provider_region::Model> = loaders
            .region_links_by_provider
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        let found = loaders
            .county
            .load_many(links.iter().map(|l| l.county_id))
            .await?;
        let mut counties: Vec<County> = links
            .iter()
            .filter_map(|l| found.get(&l.county_id).cloned().map(County))
            .collect();
        counties.sort_by(|a, b| a.0.number.cmp(&b.0.number));
        Ok(counties)
    }
    /// Whether the provider serves the whole country: true when no region
    /// is registered for it.
    async fn is_national(&self, ctx: &Context<'_>) -> ApiResult<bool> {
        let links = ctx
            .loaders()?
            .region_links_by_provider
            .load_one(self.0.id)
            .await?;
        Ok(links.is_none_or(|l| l.is_empty()))
    }
    /// The programmes the provider leads or is a partner in, with its role
    /// in each: programmes it leads first, then by programme name. Follow
    /// `programme { runs }` to see where and when they were run.
    async fn programmes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only programmes in which the provider has this role.")] role: Option<
            ProviderRole,
        >,
    ) -> ApiResult<Vec<ProgrammeProvider>> {
        let loaders = ctx.loaders()?;
        let links: Vec<programme_provider::Model> = loaders
            .provider_links_by_provider
            .load_one(self.0.id)
            .await?
            .unwrap_or_default()
            .into_iter()
            .filter(|l| role.is_none_or(|r| l.role == r))
            .collect();
        let found = loaders
            .programme
            .load_many(links.iter().map(|l| l.programme_id))
            .await?;
        let mut items: Vec<ProgrammeProvider> = links
            .iter()
            .filter_map(|l| {
                found.get(&l.programme_id).map(|p| ProgrammeProvider {
                    programme: p.clone(),
                    provider: self.0.clone(),
                    role: l.role,
                })
            })
            .collect();
        sort_links(&mut items, |i| i.programme.name.as_str());
        Ok(items)
    }
    /// The runs of the programmes the provider leads or is a partner in,
    /// by year and start date (unknown ones last).
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn runs(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only runs of programmes in which the provider has this role.")]
        role: Option<ProviderRole>,
        #[graphql(desc = "Only runs with this status.")] status: Option<RunStatus>,
        #[graphql(desc = "Only runs of this (starting) year.")] year: Option<i32>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> ApiResult<Conn<ProgrammeRun>> {
        let loaders = ctx.loaders()?;
        let links: Vec<programme_provider::Model> = loaders
            .provider_links_by_provider
            .load_one(self.0.id)
            .await?
            .unwrap_or_default();
        let programme_ids = links
            .iter()
            .filter(|l| role.is_none_or(|r| l.role == r))
            .map(|l| l.programme_id);
        let by_programme = loaders.runs_by_programme.load_many(programme_ids).await?;
        let runs: Vec<_> = by_programme
            .into_values()
            .flatten()
            .filter(|r| {
                status.is_none_or(|s| r.status == s) && year.is_none_or(|y| r.year == Some(y))
            })
            .collect();
        let items = runs.into_iter().map(ProgrammeRun).collect();
        paginate_vec(
            items,
            RUN_ORDER,
            run_key,
            &PageArgs::new(after, before, first, last),
            ctx.limits()?,
        )
    }
}

/// A provider's contact details: the organisation's own, never a person's.
#[derive(Debug, Clone, async_graphql::SimpleObject)]
pub struct ProviderContact {
    /// Website (an `https://` address).
    pub website: Option<String>,
    /// General e-mail address.
    pub email: Option<String>,
    /// Telephone number, as written (e.g. "23 20 58 00").
    pub phone: Option<String>,
    /// Visiting address (besøksadresse), one line.
    pub visiting_address: Option<String>,
    /// Postal address (postadresse), one line.
    pub postal_address: Option<String>,
}

/// Which providers to list.
#[derive(Debug, Default, InputObject)]
pub struct ProviderFilter {
    /// Part of the name, short name, a former name or the slug
    /// (case-insensitive).
    pub search: Option<String>,
    /// Only providers of this kind.
    pub kind: Option<ProviderKind>,
    /// Only providers that serve this county (its global id or two-digit number, e.g. "40"):
    /// those whose region includes it, and the national ones. Combine with
    /// `national: false` for the regional ones only.
    pub county: Option<String>,
    /// Only national providers (true) or only regional ones (false).
    pub national: Option<bool>,
}

/// Fields to sort providers by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum ProviderOrderField {
    /// Full name.
    Name,
    /// Short name.
    ShortName,
}

/// Ordering of a provider list.
#[derive(Debug, InputObject)]
pub struct ProviderOrder {
    /// What to sort by.
    pub field: ProviderOrderField,
    /// Ascending (the default) or descending.
    #[graphql(default)]
    pub direction: OrderDirection,
}

/// Root fields of the providers.
#[derive(Default)]
pub struct ProviderQuery;

#[Object]
impl ProviderQuery {
    /// Providers, by default ordered by name.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn providers(
        &self,
        ctx: &Context<'_>,
        filter: Option<ProviderFilter>,
        order_by: Option<ProviderOrder>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> ApiResult<Conn<Provider>> {
        let db = ctx.db()?;
        let filter = filter.unwrap_or_default();
        let mut select = provider::Entity::find().filter(text_search(
            db.get_database_backend(),
            filter.search.as_deref(),
            &[
                provider::Column::Name,
                provider::Column::ShortName,
                provider::Column::FormerNames,
                provider::Column::Slug,
            ],
        )?);
        if let Some(kind) = filter.kind {
            select = select.filter(provider::Column::Kind.eq(kind));
        }
        if let Some(number) = filter.county {
            let county_id = county_id_by_number(db, &number, "filter.county").await?;
            select = select.filter(serves_county(county_id));
        }
        if let Some(national) = filter.national {
            select = select.filter(if national {
                provider::Column::Id.not_in_subquery(regional_providers())
            } else {
                provider::Column::Id.in_subquery(regional_providers())
            });
        }
        let (field, dir) = order_by.map_or((ProviderOrderField::Name, OrderDirection::Asc), |o| {
            (o.field, o.direction)
        });
        let col = match field {
            ProviderOrderField::Name => provider::Column::Name,
            ProviderOrderField::ShortName => provider::Column::ShortName,
        };
        paginate(
            db,
            select,
            &[by(col, dir), asc(provider::Column::Id)],
            &PageArgs::new(after, before, first, last),
            ctx.limits()?,
        )
        .await
    }

    /// A provider by its organisation number or its slug: give exactly one,
    /// e.g. `provider(orgNumber: "985 638 187")` or
    /// `provider(slug: "rvts-sor")`. Spaces and dots in the organisation
    /// number are ignored; it must be nine digits with a valid mod-11 check
    /// digit.
    async fn provider(
        &self,
        ctx: &Context<'_>,
        org_number: Option<String>,
        slug: Option<String>,
    ) -> ApiResult<Provider> {
        let condition = match (org_number, slug) {
            (Some(number), None) => {
                provider::Column::OrgNumber.eq(parse_org_number(&number, "orgNumber")?)
            }
            (None, Some(slug)) => {
                check_slug(&slug, "slug")?;
                provider::Column::Slug.eq(slug)
            }
            (Some(_), Some(_)) => {
                return Err(ApiError::bad_input(
                    "slug",
                    "give either `orgNumber` or `slug`, not both",
                ));
            }
            (None, None) => {
                return Err(ApiError::bad_input(
                    "orgNumber",
                    "give `orgNumber` or `slug`",
                ));
            }
        };
        provider::Entity::find()
            .filter(condition)
            .one(ctx.db()?)
            .await?
            .map(Provider)
            .ok_or_else(|| ApiError::not_found("provider"))
    }
}

/// Providers with at least one county in their region (the regional ones).
fn regional_providers() -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(provider_region::Column::ProviderId)
        .from(provider_region::Entity)
        .to_owned()
}

/// Providers that serve the county: regional ones whose region includes it,
/// and national ones (no region at all).
fn serves_county(county_id: uuid::Uuid) -> Condition {
    Condition::any()
        .add(
            provider::Column::Id.in_subquery(
                Query::select()
                    .column(provider_region::Column::ProviderId)
                    .from(provider_region::Entity)
                    .and_where(provider_region::Column::CountyId.eq(county_id))
                    .to_owned(),
            ),
        )
        .add(provider::Column::Id.not_in_subquery(regional_providers()))
}

/// Normalises and checks an organisation number given as input: separators
/// (spaces, dots) are dropped; the rest must be nine digits passing the
/// mod-11 check.
pub fn parse_org_number(input: &str, field: &str) -> ApiResult<String> {
    let number = normalize_org_number(input.trim());
    validate_org_number(&number).map_err(|msg| ApiError::bad_input(field, msg))?;
    Ok(number)
}

/// The id of the provider with this slug, or NOT_FOUND.
pub async fn provider_id_by_slug(
    db: &impl ConnectionTrait,
    slug: &str,
    field: &str,
) -> ApiResult<uuid::Uuid> {
    crate::domain::id_by_slug::<provider::Entity>(
        db,
        (provider::Column::Slug, provider::Column::Id),
        (slug, "Provider"),
        field,
        "provider",
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::{DbBackend, QueryTrait};

    #[test]
    fn org_numbers() {
        assert_eq!(
            parse_org_number("985 638 187", "orgNumber").unwrap(),
            "985638187"
        );
        assert_eq!(
            parse_org_number(" 985638187 ", "orgNumber").unwrap(),
            "985638187"
        );
        for bad in ["", "98563818", "9856381870", "98563818x", "985638188"] {
            let err = parse_org_number(bad, "orgNumber").unwrap_err();
            assert_eq!(err.code(), "BAD_USER_INPUT", "{bad:?}");
            assert!(
                matches!(err, ApiError::BadUserInput { ref field, .. } if field == "orgNumber")
            );
        }
    }

    #[test]
    fn county_filter_includes_national_providers() {
        let id = uuid::Uuid::nil();
        for backend in [DbBackend::Sqlite, DbBackend::Postgres] {
            let sql = provider::Entity::find()
                .filter(serves_county(id))
                .build(backend)
                .to_string();
            assert!(
                sql.contains(r#""id" IN (SELECT "provider_id" FROM "provider_region" WHERE"#),
                "{sql}"
            );
            assert!(
                sql.contains(
                    r#"OR "provider"."id" NOT IN (SELECT "provider_id" FROM "provider_region")"#
                ),
                "{sql}"
            );
        }
    }
}
