//! Programmes (kompetansetiltak), their providers, content and reported
//! milestones.

mod milestone;
mod query;
pub mod write;

use async_graphql::{Context, ID, Object, SimpleObject};
use entity::enums::{ProviderRole, RunStatus, ServiceKind};
use entity::{programme, programme_provider, provider};
use sea_orm::ConnectionTrait;

use crate::domain::provider::Provider;
use crate::domain::run::{ProgrammeRun, RUN_ORDER, run_key};
use crate::error::ApiResult;
use crate::graphql::pagination::{Conn, PageArgs, page_cost, paginate_vec};
use crate::graphql::{ContextExt, id};

pub use milestone::{Milestone, MilestoneFilter, MilestoneOrder, MilestoneOrderField, period};
pub use query::{ProgrammeFilter, ProgrammeOrder, ProgrammeOrderField, ProgrammeQuery, ThemeCount};
pub use write::ProgrammeMutation;

/// A competence-development programme (kompetansetiltak): what it is for,
/// who provides it and what it contains, independent of any particular run.
/// Its deliveries to networks and services are its `runs`; the figures it
/// reports about itself are its `milestones`.
pub struct Programme(pub programme::Model);

impl From<programme::Model> for Programme {
    fn from(m: programme::Model) -> Self {
        Self(m)
    }
}

/// A competence-development programme (kompetansetiltak): what it is for,
/// who provides it and what it contains, independent of any particular run.
/// Its deliveries to networks and services are its `runs`; the figures it
/// reports about itself are its `milestones`.
#[Object]
impl Programme {
    /// Global id (use with `node`).
    pub async fn id(&self) -> ID {
        id::encode("Programme", self.0.id)
    }
    /// A stable, URL-safe key, e.g. "mitt-liv"; use with `programme(slug:)`.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    /// The name of the programme.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// A short name or abbreviation, e.g. "MMA", where it has one.
    async fn short_name(&self) -> Option<&str> {
        self.0.short_name.as_deref()
    }
    /// A one-paragraph summary.
    async fn summary(&self) -> Option<&str> {
        self.0.summary.as_deref()
    }
    /// The full description.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// What the programme aims to achieve, in the programme's own words.
    async fn goals(&self) -> Vec<String> {
        entity::decode_json_list(&self.0.goals)
    }
    /// What participants are meant to learn.
    async fn learning_objectives(&self) -> Vec<String> {
        entity::decode_json_list(&self.0.learning_objectives)
    }
    /// The areas of competence the programme builds, e.g. professional
    /// knowledge, user knowledge, skills, values and attitudes.
    async fn competence_areas(&self) -> Vec<CompetenceArea> {
        entity::decode_json_list::<entity::CompetenceArea>(&self.0.competence_areas)
            .into_iter()
            .map(CompetenceArea::from)
            .collect()
    }
    /// Theme tags, e.g. "traumebevisst omsorg", in alphabetical order. The
    /// themes in use are listed by `programmeThemes`.
    async fn themes(&self, ctx: &Context<'_>) -> ApiResult<Vec<String>> {
        let rows = ctx
            .loaders()?
            .themes_by_programme
            .load_one(self.0.id)
            .await?;
        Ok(rows
            .unwrap_or_default()
            .into_iter()
            .map(|t| t.theme)
            .collect())
    }
    /// The kinds of municipal service the programme is meant for.
    async fn target_service_kinds(&self, ctx: &Context<'_>) -> ApiResult<Vec<ServiceKind>> {
        let rows = ctx
            .loaders()?
            .service_kinds_by_programme
            .load_one(self.0.id)
            .await?;
        Ok(rows
            .unwrap_or_default()
            .into_iter()
            .map(|k| k.kind)
            .collect())
    }
    /// What a participant must do to complete the programme; empty when
    /// no rule is registered.
    async fn completion_rule(&self) -> Option<CompletionRule> {
        CompletionRule::of(&self.0)
    }
    /// The providers of the programme with their roles: the lead first,
    /// then the partners, by name.
    async fn providers(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only providers with this role.")] role: Option<ProviderRole>,
    ) -> ApiResult<Vec<ProgrammeProvider>> {
        providers_of(ctx, &self.0, role).await
    }
    /// The provider that owns and leads the programme, where one is
    /// registered.
    async fn lead_provider(&self, ctx: &Context<'_>) -> ApiResult<Option<Provider>> {
        let leads = providers_of(ctx, &self.0, Some(ProviderRole::Lead)).await?;
        Ok(leads.into_iter().next().map(|l| Provider(l.provider)))
    }
    /// Dated facts and figures the programme reports about itself, in the
    /// programme's order. They are the programme's own account, not
    /// registered data: registered deliveries are the `runs`.
    async fn milestones(&self, ctx: &Context<'_>) -> ApiResult<Vec<Milestone>> {
        let rows = ctx
            .loaders()?
            .milestones_by_programme
            .load_one(self.0.id)
            .await?;
        Ok(rows
            .unwrap_or_default()
            .into_iter()
            .map(Milestone)
            .collect())
    }
    /// The runs (deliveries) of the programme, by year and start date
    /// (unknown ones last).
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn runs(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only runs with this status.")] status: Option<RunStatus>,
        #[graphql(desc = "Only runs of this (starting) year.")] year: Option<i32>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> ApiResult<Conn<ProgrammeRun>> {
        let rows = ctx.loaders()?.runs_by_programme.load_one(self.0.id).await?;
        let runs: Vec<_> = rows
            .unwrap_or_default()
            .into_iter()
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
    /// Where the programme's description comes from, e.g. the public text
    /// it is taken from.
    async fn source(&self) -> Option<&str> {
        self.0.source.as_deref()
    }
    /// Optimistic-locking version: pass it to updates.
    async fn version(&self) -> i32 {
        self.0.version
    }
}

/// A provider's part in a programme: which provider, which programme, and
/// whether it leads the programme or is a partner in it.
pub struct ProgrammeProvider {
    pub programme: programme::Model,
    pub provider: provider::Model,
    pub role: ProviderRole,
}

/// A provider's part in a programme: which provider, which programme, and
/// whether it leads the programme or is a partner in it.
#[Object]
impl ProgrammeProvider {
    /// The programme.
    async fn programme(&self) -> Programme {
        Programme(self.programme.clone())
    }
    /// The provider.
    async fn provider(&self) -> Provider {
        Provider(self.provider.clone())
    }
    /// The provider's role in the programme.
    async fn role(&self) -> ProviderRole {
        self.role
    }
}

/// An area of competence a programme builds.
#[derive(Debug, Clone, PartialEq, Eq, SimpleObject)]
pub struct CompetenceArea {
    /// The name of the area, e.g. "Ferdigheter" (skills).
    pub name: String,
    /// What the area covers, where described.
    pub description: Option<String>,
}

impl From<entity::CompetenceArea> for CompetenceArea {
    fn from(a: entity::CompetenceArea) -> Self {
        Self {
            name: a.name,
            description: a.description,
        }
    }
}

/// What a participant must do to complete a programme.
#[derive(Debug, Clone, PartialEq, Eq, SimpleObject)]
pub struct CompletionRule {
    /// The least share of the sessions, in percent, a participant must
    /// attend, where the rule sets one.
    pub min_attendance_percent: Option<i32>,
    /// The rule in prose.
    pub description: Option<String>,
}

impl CompletionRule {
    /// The rule of a programme, or `None` when it has none.
    pub fn of(p: &programme::Model) -> Option<Self> {
        if p.completion_min_percent.is_none() && p.completion_rule.is_none() {
            return None;
        }
        Some(Self {
            min_attendance_percent: p.completion_min_percent,
            description: p.completion_rule.clone(),
        })
    }
}

/// The providers of a programme (with `role`, those with that role), lead
/// first, then by provider name.
async fn providers_of(
    ctx: &Context<'_>,
    p: &programme::Model,
    role: Option<ProviderRole>,
) -> ApiResult<Vec<ProgrammeProvider>> {
    let loaders = ctx.loaders()?;
    let links: Vec<programme_provider::Model> = loaders
        .provider_links_by_programme
        .load_one(p.id)
        .await?
        .unwrap_or_default()
        .into_iter()
        .filter(|l| role.is_none_or(|r| l.role == r))
        .collect();
    let found = loaders
        .provider
        .load_many(links.iter().map(|l| l.provider_id))
        .await?;
    let mut items: Vec<ProgrammeProvider> = links
        .iter()
        .filter_map(|l| {
            found.get(&l.provider_id).map(|pr| ProgrammeProvider {
                programme: p.clone(),
                provider: pr.clone(),
                role: l.role,
            })
        })
        .collect();
    sort_links(&mut items, |i| i.provider.name.as_str());
    Ok(items)
}

/// Sorts programme/provider links: leads before partners, then by `name`
/// (the other side's name), then by ids for a stable order.
pub fn sort_links(items: &mut [ProgrammeProvider], name: impl Fn(&ProgrammeProvider) -> &str) {
    items.sort_by(|a, b| {
        role_rank(a.role)
            .cmp(&role_rank(b.role))
            .then_with(|| name(a).cmp(name(b)))
            .then_with(|| (a.programme.id, a.provider.id).cmp(&(b.programme.id, b.provider.id)))
    });
}

fn role_rank(role: ProviderRole) -> u8 {
    match role {
        ProviderRole::Lead => 0,
        ProviderRole::Partner => 1,
    }
}

/// The id of the programme with this slug, or NOT_FOUND.
pub async fn programme_id_by_slug(
    db: &impl ConnectionTrait,
    slug: &str,
    field: &str,
) -> ApiResult<uuid::Uuid> {
    crate::domain::id_by_slug::<programme::Entity>(
        db,
        (programme::Column::Slug, programme::Column::Id),
        (slug, "Programme"),
        field,
        "programme",
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use entity::enums::ProviderKind;

    pub(super) fn programme(name: &str) -> programme::Model {
        programme::Model {
            id: uuid::Uuid::now_v7(),
            slug: name.to_lowercase(),
            name: name.into(),
            short_name: None,
            summary: None,
            description: None,
            goals: "[]".into(),
            learning_objectives: "[]".into(),
            competence_areas: "[]".into(),
            completion_min_percent: None,
            completion_rule: None,
            source: None,
            version: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    fn provider(name: &str) -> provider::Model {
        provider::Model {
            id: uuid::Uuid::now_v7(),
            slug: name.to_lowercase(),
            org_number: None,
            name: name.into(),
            short_name: name.into(),
            kind: ProviderKind::Other,
            former_names: "[]".into(),
            description: None,
            website: None,
            email: None,
            phone: None,
            visiting_address: None,
            postal_address: None,
            version: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn completion_rule_is_null_without_columns() {
        let mut p = programme("P");
        assert_eq!(CompletionRule::of(&p), None);
        p.completion_min_percent = Some(75);
        assert_eq!(
            CompletionRule::of(&p),
            Some(CompletionRule {
                min_attendance_percent: Some(75),
                description: None
            })
        );
        p.completion_min_percent = None;
        p.completion_rule = Some("Attend all teaching days".into());
        assert_eq!(
            CompletionRule::of(&p).unwrap().description.as_deref(),
            Some("Attend all teaching days")
        );
    }

    #[test]
    fn leads_come_first_then_names() {
        let p = programme("P");
        let link = |name: &str, role| ProgrammeProvider {
            programme: p.clone(),
            provider: provider(name),
            role,
        };
        let mut items = vec![
            link("Bufetat", ProviderRole::Partner),
            link("NUBU", ProviderRole::Lead),
            link("Aaa", ProviderRole::Partner),
        ];
        sort_links(&mut items, |i| i.provider.name.as_str());
        let names: Vec<&str> = items.iter().map(|i| i.provider.name.as_str()).collect();
        assert_eq!(names, ["NUBU", "Aaa", "Bufetat"]);
    }

    #[test]
    fn competence_areas_decode() {
        let mut p = programme("P");
        p.competence_areas =
            r#"[{"name":"Fagkunnskap"},{"name":"Ferdigheter","description":"d"}]"#.into();
        let areas: Vec<CompetenceArea> =
            entity::decode_json_list::<entity::CompetenceArea>(&p.competence_areas)
                .into_iter()
                .map(Into::into)
                .collect();
        assert_eq!(
            areas[0],
            CompetenceArea {
                name: "Fagkunnskap".into(),
                description: None
            }
        );
        assert_eq!(areas[1].description.as_deref(), Some("d"));
    }
}
