//! Programmes and their milestones, written through the API.
//!
//! Who may: ADMIN, and the programme's own providers (lead or partner). A
//! PROVIDER registers new programmes under itself as the lead; ADMIN may
//! register one under any provider, or under none. The catalogue stays
//! public to read.
//!
//! Lists held in JSON text columns (goals, learning objectives, competence
//! areas) are replaced as a whole; so are the sets of target service kinds
//! and themes, which live in their own tables. Changing the completion
//! share recomputes who has completed every run of the programme, in the
//! same transaction.

use std::collections::HashSet;

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::Utc;
use entity::enums::{FigureQualifier, ProviderRole, ServiceKind};
use entity::{
    CompetenceArea, encode_json, milestone, programme, programme_provider, programme_service_kind,
    programme_theme, provider,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::json;
use uuid::Uuid;

use super::{Milestone, Programme};
use crate::audit::{self, Change};
use crate::auth::{Viewer, policy, viewer};
use crate::domain::people::completion;
use crate::domain::write::{
    self, MAX_NAME, MAX_PROSE, MAX_SHORT, check_version, in_range, maybe_text, opt_text, text,
    update_versioned, year,
};
use crate::error::{ApiError, ApiResult};
use crate::graphql::{ContextExt, id};

/// Most items in one list of a programme (goals, learning objectives,
/// competence areas, partners, themes).
pub const MAX_ITEMS: usize = 50;
/// Longest theme (characters; the column's length).
pub const MAX_THEME: usize = 80;
/// Highest milestone position accepted.
const MAX_POSITION: i32 = 10_000;

// --- Inputs and payloads -------------------------------------------------------

/// An area of competence a programme builds, as written by a client.
#[derive(Debug, Clone, InputObject)]
pub struct CompetenceAreaInput {
    /// The name of the area, e.g. "Ferdigheter" (skills); 1 to 200
    /// characters.
    pub name: String,
    /// What the area covers; at most 10 000 characters.
    pub description: Option<String>,
}

/// A new programme. The lead provider is `provider`; partners may be named
/// too. Lists left out are empty.
#[derive(Debug, InputObject)]
pub struct CreateProgrammeInput {
    /// A stable, URL-safe key, unique among programmes and not changeable
    /// later: lower-case letters a–z, digits and single hyphens, at most
    /// 120 characters, e.g. "mitt-liv-barneverntjeneste".
    pub slug: String,
    /// The name of the programme; 1 to 200 characters.
    pub name: String,
    /// A short name or abbreviation, e.g. "MMA"; at most 200 characters.
    pub short_name: Option<String>,
    /// A one-paragraph summary; at most 10 000 characters.
    pub summary: Option<String>,
    /// The full description; at most 10 000 characters.
    pub description: Option<String>,
    /// What the programme aims to achieve, one goal per item (at most 50
    /// items of 1 to 10 000 characters).
    #[graphql(default)]
    pub goals: Vec<String>,
    /// What participants are meant to learn, one objective per item (at
    /// most 50 items of 1 to 10 000 characters).
    #[graphql(default)]
    pub learning_objectives: Vec<String>,
    /// The areas of competence the programme builds (at most 50).
    #[graphql(default)]
    pub competence_areas: Vec<CompetenceAreaInput>,
    /// The least share of the sessions meant for a participant, in percent
    /// (0 to 100), that they must attend to complete the programme. Left
    /// out: all of them.
    pub completion_min_percent: Option<i32>,
    /// The completion rule in prose; at most 10 000 characters.
    pub completion_rule: Option<String>,
    /// The lead provider (`Provider` id). A PROVIDER may leave it out to
    /// lead the programme itself, and may name only a provider it acts
    /// for; ADMIN may name any provider, or none.
    pub provider: Option<ID>,
    /// Partner providers (`Provider` ids; at most 50, none twice, not the
    /// lead). Partners may change the programme too.
    #[graphql(default)]
    pub partners: Vec<ID>,
    /// The kinds of municipal service the programme is meant for (a set:
    /// repeats are ignored).
    #[graphql(default)]
    pub service_kinds: Vec<ServiceKind>,
    /// Theme tags, e.g. "traumebevisst-omsorg" (at most 50 of 1 to 80
    /// characters; repeats are ignored). Reuse the themes listed by
    /// `programmeThemes` where they fit.
    #[graphql(default)]
    pub themes: Vec<String>,
    /// Where the description comes from, e.g. the address of the public
    /// text; at most 200 characters.
    pub source: Option<String>,
}

/// The result of `createProgramme`.
#[derive(SimpleObject)]
pub struct CreateProgrammePayload {
    /// The new programme, at version 1.
    pub programme: Programme,
}

/// Changes to a programme. Fields left out keep their value; `null` clears
/// an optional one. Lists given replace the whole list. The slug and the
/// providers cannot be changed here.
#[derive(Debug, InputObject)]
pub struct UpdateProgrammeInput {
    /// The programme (`Programme` id).
    pub id: ID,
    /// The version last read; a stale one is CONFLICT and changes nothing.
    pub version: i32,
    /// The name; 1 to 200 characters.
    pub name: Option<String>,
    /// The short name or abbreviation; `null` clears it.
    pub short_name: MaybeUndefined<String>,
    /// The one-paragraph summary; `null` clears it.
    pub summary: MaybeUndefined<String>,
    /// The full description; `null` clears it.
    pub description: MaybeUndefined<String>,
    /// The goals, replacing the current list (at most 50 items).
    pub goals: Option<Vec<String>>,
    /// The learning objectives, replacing the current list (at most 50
    /// items).
    pub learning_objectives: Option<Vec<String>>,
    /// The competence areas, replacing the current list (at most 50).
    pub competence_areas: Option<Vec<CompetenceAreaInput>>,
    /// The least share of sessions (0 to 100 percent) a participant must
    /// attend to complete; `null` clears it (then all sessions are
    /// needed). Changing it recomputes who has completed every run of the
    /// programme.
    pub completion_min_percent: MaybeUndefined<i32>,
    /// The completion rule in prose; `null` clears it.
    pub completion_rule: MaybeUndefined<String>,
    /// The target service kinds, replacing the current set.
    pub service_kinds: Option<Vec<ServiceKind>>,
    /// The themes, replacing the current set (at most 50 of 1 to 80
    /// characters).
    pub themes: Option<Vec<String>>,
    /// Where the description comes from; `null` clears it.
    pub source: MaybeUndefined<String>,
}

/// The result of `updateProgramme`.
#[derive(SimpleObject)]
pub struct UpdateProgrammePayload {
    /// The programme as changed, with its new version.
    pub programme: Programme,
}

/// A new milestone of a programme: a dated fact or figure it reports about
/// itself.
#[derive(Debug, InputObject)]
pub struct CreateMilestoneInput {
    /// The programme (`Programme` id).
    pub programme: ID,
    /// The first (or only) year it refers to (1990 to 2100).
    pub year_from: i32,
    /// The last year, for a span of years; not before `yearFrom`.
    pub year_to: Option<i32>,
    /// What the programme reports, in prose; 1 to 10 000 characters.
    pub text: String,
    /// The reported figure (0 or more), e.g. 130.
    pub figure: Option<i64>,
    /// What the figure counts, e.g. "services"; needs `figure`.
    pub unit: Option<String>,
    /// How precise the figure is as the source states it; needs `figure`.
    pub qualifier: Option<FigureQualifier>,
    /// The public text it is taken from; at most 200 characters.
    pub source: Option<String>,
    /// Its place in the programme's list (1 = first). The milestones from
    /// that place on move one down. Left out, or past the end: last.
    pub position: Option<i32>,
}

/// The result of `createMilestone`.
#[derive(SimpleObject)]
pub struct CreateMilestonePayload {
    /// The new milestone, at version 1.
    pub milestone: Milestone,
}

/// Changes to a milestone. Fields left out keep their value; `null` clears
/// an optional one.
#[derive(Debug, InputObject)]
pub struct UpdateMilestoneInput {
    /// The milestone (`Milestone` id).
    pub id: ID,
    /// The version last read; a stale one is CONFLICT and changes nothing.
    pub version: i32,
    /// The first (or only) year (1990 to 2100).
    pub year_from: Option<i32>,
    /// The last year of a span; `null` makes it a single year.
    pub year_to: MaybeUndefined<i32>,
    /// What the programme reports; 1 to 10 000 characters.
    pub text: Option<String>,
    /// The reported figure (0 or more); `null` clears it (clear `unit` and
    /// `qualifier` with it).
    pub figure: MaybeUndefined<i64>,
    /// What the figure counts; `null` clears it.
    pub unit: MaybeUndefined<String>,
    /// How precise the figure is; `null` clears it.
    pub qualifier: MaybeUndefined<FigureQualifier>,
    /// The public text it is taken from; `null` clears it.
    pub source: MaybeUndefined<String>,
    /// A new place in the programme's list (1 = first; past the end:
    /// last). The others close up around it; their versions stay.
    pub position: Option<i32>,
}

/// The result of `updateMilestone`.
#[derive(SimpleObject)]
pub struct UpdateMilestonePayload {
    /// The milestone as changed, with its new version.
    pub milestone: Milestone,
}

/// A milestone to delete.
#[derive(Debug, InputObject)]
pub struct DeleteMilestoneInput {
    /// The milestone (`Milestone` id).
    pub id: ID,
    /// The version last read; a stale one is CONFLICT and deletes nothing.
    pub version: i32,
}

/// The result of `deleteMilestone`.
#[derive(SimpleObject)]
pub struct DeleteMilestonePayload {
    /// The global id of the deleted milestone.
    pub deleted_id: ID,
    /// The programme it belonged to, with its remaining milestones.
    pub programme: Programme,
}

// --- Mutations ---------------------------------------------------------------------

/// Mutations of programmes and milestones: ADMIN and the programme's
/// providers.
#[derive(Default)]
pub struct ProgrammeMutation;

#[Object]
impl ProgrammeMutation {
    /// Registers a programme. ADMIN and PROVIDER only: a PROVIDER becomes
    /// its lead (or names one of the providers it acts for in `provider`);
    /// ADMIN may name any lead provider, or none. A slug in use is
    /// BAD_USER_INPUT on `input.slug`.
    async fn create_programme(
        &self,
        ctx: &Context<'_>,
        input: CreateProgrammeInput,
    ) -> ApiResult<CreateProgrammePayload> {
        let viewer = viewer(ctx)?.clone();
        let slug = write::new_slug("input.slug", &input.slug)?;
        let name = text("input.name", &input.name, MAX_NAME)?;
        let short_name = opt_text("input.shortName", input.short_name.as_deref(), MAX_SHORT)?;
        let summary = opt_text("input.summary", input.summary.as_deref(), MAX_PROSE)?;
        let description = opt_text("input.description", input.description.as_deref(), MAX_PROSE)?;
        let goals = prose_list("input.goals", &input.goals)?;
        let objectives = prose_list("input.learningObjectives", &input.learning_objectives)?;
        let areas = competence_areas("input.competenceAreas", &input.competence_areas)?;
        let min_percent = input
            .completion_min_percent
            .map(|p| in_range("input.completionMinPercent", p, 0, 100))
            .transpose()?;
        let rule = opt_text(
            "input.completionRule",
            input.completion_rule.as_deref(),
            MAX_PROSE,
        )?;
        let source = opt_text("input.source", input.source.as_deref(), MAX_SHORT)?;
        let kinds = service_kinds("input.serviceKinds", &input.service_kinds)?;
        let themes = themes("input.themes", &input.themes)?;
        let requested = input
            .provider
            .as_ref()
            .map(|p| id::decode_as(p, "Provider", "input.provider"))
            .transpose()?;
        let partners = partner_ids(&input.partners)?;

        let lead = policy::lead_for_new_programme(&viewer, requested, "input.provider")?;
        if let Some(lead) = lead
            && partners.contains(&lead)
        {
            return Err(ApiError::bad_input(
                "input.partners",
                "the lead provider cannot also be a partner",
            ));
        }

        let txn = write::begin(ctx.db()?).await?;
        if let Some(lead) = lead {
            require_providers(&txn, &[lead], "input.provider").await?;
        }
        require_providers(&txn, &partners, "input.partners").await?;
        if slug_taken(&txn, &slug).await? {
            return Err(slug_in_use(&slug));
        }

        let now = Utc::now();
        let row = programme::ActiveModel {
            id: Set(Uuid::now_v7()),
            slug: Set(slug.clone()),
            name: Set(name),
            short_name: Set(short_name),
            summary: Set(summary),
            description: Set(description),
            goals: Set(encode_json(&goals)),
            learning_objectives: Set(encode_json(&objectives)),
            competence_areas: Set(encode_json(&areas)),
            completion_min_percent: Set(min_percent),
            completion_rule: Set(rule),
            source: Set(source),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&txn)
        .await
        .map_err(|e| slug_race(e, &slug))?;

        let links = lead
            .map(|p| (p, ProviderRole::Lead))
            .into_iter()
            .chain(partners.iter().map(|p| (*p, ProviderRole::Partner)));
        for (provider_id, role) in links {
            programme_provider::ActiveModel {
                programme_id: Set(row.id),
                provider_id: Set(provider_id),
                role: Set(role),
            }
            .insert(&txn)
            .await?;
        }
        replace_service_kinds(&txn, row.id, &kinds).await?;
        replace_themes(&txn, row.id, &themes).await?;

        let after = programme_snapshot(&txn, &row).await?;
        record(
            &txn,
            &viewer,
            "createProgramme",
            "Programme",
            row.id,
            None,
            Some(after),
        )
        .await?;
        write::commit(txn).await?;
        Ok(CreateProgrammePayload {
            programme: Programme(row),
        })
    }

    /// Changes a programme. ADMIN and the programme's providers only. Its
    /// slug and providers stay. Changing `completionMinPercent` recomputes
    /// who has completed each run of the programme.
    async fn update_programme(
        &self,
        ctx: &Context<'_>,
        input: UpdateProgrammeInput,
    ) -> ApiResult<UpdateProgrammePayload> {
        let viewer = viewer(ctx)?.clone();
        let key = id::decode_as(&input.id, "Programme", "input.id")?;
        let name = input
            .name
            .as_deref()
            .map(|n| text("input.name", n, MAX_NAME))
            .transpose()?;
        let short_name = maybe_text("input.shortName", &input.short_name, MAX_SHORT)?;
        let summary = maybe_text("input.summary", &input.summary, MAX_PROSE)?;
        let description = maybe_text("input.description", &input.description, MAX_PROSE)?;
        let goals = input
            .goals
            .as_deref()
            .map(|g| prose_list("input.goals", g))
            .transpose()?;
        let objectives = input
            .learning_objectives
            .as_deref()
            .map(|o| prose_list("input.learningObjectives", o))
            .transpose()?;
        let areas = input
            .competence_areas
            .as_deref()
            .map(|a| competence_areas("input.competenceAreas", a))
            .transpose()?;
        let min_percent = match &input.completion_min_percent {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(p) => {
                Some(Some(in_range("input.completionMinPercent", *p, 0, 100)?))
            }
        };
        let rule = maybe_text("input.completionRule", &input.completion_rule, MAX_PROSE)?;
        let source = maybe_text("input.source", &input.source, MAX_SHORT)?;
        let kinds = input
            .service_kinds
            .as_deref()
            .map(|k| service_kinds("input.serviceKinds", k))
            .transpose()?;
        let themes = input
            .themes
            .as_deref()
            .map(|t| themes("input.themes", t))
            .transpose()?;

        let txn = write::begin(ctx.db()?).await?;
        let row = programme::Entity::find_by_id(key)
            .one(&txn)
            .await?
            .ok_or_else(|| ApiError::not_found("programme"))?;
        policy::may_write_programme(&txn, &viewer, row.id).await?;
        check_version("programme", row.version, input.version)?;
        let before = programme_snapshot(&txn, &row).await?;

        let mut am = row.clone().into_active_model();
        if let Some(v) = name {
            am.name = Set(v);
        }
        if let Some(v) = short_name {
            am.short_name = Set(v);
        }
        if let Some(v) = summary {
            am.summary = Set(v);
        }
        if let Some(v) = description {
            am.description = Set(v);
        }
        if let Some(v) = goals {
            am.goals = Set(encode_json(&v));
        }
        if let Some(v) = objectives {
            am.learning_objectives = Set(encode_json(&v));
        }
        if let Some(v) = areas {
            am.competence_areas = Set(encode_json(&v));
        }
        let rule_changed = min_percent.is_some_and(|p| p != row.completion_min_percent);
        if let Some(v) = min_percent {
            am.completion_min_percent = Set(v);
        }
        if let Some(v) = rule {
            am.completion_rule = Set(v);
        }
        if let Some(v) = source {
            am.source = Set(v);
        }
        let updated = update_versioned(&txn, am, input.version, "programme").await?;
        if let Some(kinds) = kinds {
            replace_service_kinds(&txn, row.id, &kinds).await?;
        }
        if let Some(themes) = themes {
            replace_themes(&txn, row.id, &themes).await?;
        }
        if rule_changed {
            completion::recompute_programme(&txn, row.id).await?;
        }

        let after = programme_snapshot(&txn, &updated).await?;
        record(
            &txn,
            &viewer,
            "updateProgramme",
            "Programme",
            row.id,
            Some(before),
            Some(after),
        )
        .await?;
        write::commit(txn).await?;
        Ok(UpdateProgrammePayload {
            programme: Programme(updated),
        })
    }

    /// Adds a milestone to a programme. ADMIN and the programme's providers
    /// only.
    async fn create_milestone(
        &self,
        ctx: &Context<'_>,
        input: CreateMilestoneInput,
    ) -> ApiResult<CreateMilestonePayload> {
        let viewer = viewer(ctx)?.clone();
        let programme_id = id::decode_as(&input.programme, "Programme", "input.programme")?;
        let year_from = year("input.yearFrom", input.year_from)?;
        let year_to = input.year_to.map(|y| year("input.yearTo", y)).transpose()?;
        years_in_order("input.yearTo", year_from, year_to)?;
        let body = text("input.text", &input.text, MAX_PROSE)?;
        let figure = input
            .figure
            .map(|f| non_negative("input.figure", f))
            .transpose()?;
        let unit = opt_text("input.unit", input.unit.as_deref(), MAX_SHORT)?;
        let source = opt_text("input.source", input.source.as_deref(), MAX_SHORT)?;
        figure_parts(
            figure,
            unit.is_some(),
            input.qualifier.is_some(),
            "input.unit",
            "input.qualifier",
        )?;
        let position = input.position.map(check_position).transpose()?;

        let txn = write::begin(ctx.db()?).await?;
        let exists = programme::Entity::find_by_id(programme_id)
            .count(&txn)
            .await?
            > 0;
        if !exists {
            return Err(ApiError::bad_input(
                "input.programme",
                "`input.programme` names no programme",
            ));
        }
        policy::may_write_programme(&txn, &viewer, programme_id).await?;

        let key = Uuid::now_v7();
        let position = place(&txn, programme_id, key, position).await?;
        let now = Utc::now();
        let row = milestone::ActiveModel {
            id: Set(key),
            programme_id: Set(programme_id),
            position: Set(position),
            year_from: Set(year_from),
            year_to: Set(year_to),
            text: Set(body),
            figure: Set(figure),
            unit: Set(unit),
            qualifier: Set(input.qualifier),
            source: Set(source),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&txn)
        .await?;
        write::audit(
            &txn,
            &viewer,
            "createMilestone",
            "Milestone",
            row.id,
            None,
            Some(&row),
        )
        .await?;
        write::commit(txn).await?;
        Ok(CreateMilestonePayload {
            milestone: Milestone(row),
        })
    }

    /// Changes a milestone. ADMIN and the programme's providers only.
    async fn update_milestone(
        &self,
        ctx: &Context<'_>,
        input: UpdateMilestoneInput,
    ) -> ApiResult<UpdateMilestonePayload> {
        let viewer = viewer(ctx)?.clone();
        let key = id::decode_as(&input.id, "Milestone", "input.id")?;
        let year_from = input
            .year_from
            .map(|y| year("input.yearFrom", y))
            .transpose()?;
        let year_to = match input.year_to {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(y) => Some(Some(year("input.yearTo", y)?)),
        };
        let body = input
            .text
            .as_deref()
            .map(|t| text("input.text", t, MAX_PROSE))
            .transpose()?;
        let figure = match input.figure {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(f) => Some(Some(non_negative("input.figure", f)?)),
        };
        let unit = maybe_text("input.unit", &input.unit, MAX_SHORT)?;
        let qualifier = match input.qualifier {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(q) => Some(Some(q)),
        };
        let source = maybe_text("input.source", &input.source, MAX_SHORT)?;
        let position = input.position.map(check_position).transpose()?;

        let txn = write::begin(ctx.db()?).await?;
        let row = milestone::Entity::find_by_id(key)
            .one(&txn)
            .await?
            .ok_or_else(|| ApiError::not_found("milestone"))?;
        policy::may_write_programme(&txn, &viewer, row.programme_id).await?;

        // The rules hold for the milestone as it will be.
        let new_from = year_from.unwrap_or(row.year_from);
        let new_to = year_to.unwrap_or(row.year_to);
        let to_field = if year_to.is_some() || year_from.is_none() {
            "input.yearTo"
        } else {
            "input.yearFrom"
        };
        years_in_order(to_field, new_from, new_to)?;
        let new_figure = figure.unwrap_or(row.figure);
        let unit_field = if unit.is_some() {
            "input.unit"
        } else {
            "input.figure"
        };
        let qualifier_field = if qualifier.is_some() {
            "input.qualifier"
        } else {
            "input.figure"
        };
        figure_parts(
            new_figure,
            unit.clone().unwrap_or(row.unit.clone()).is_some(),
            qualifier.unwrap_or(row.qualifier).is_some(),
            unit_field,
            qualifier_field,
        )?;
        check_version("milestone", row.version, input.version)?;

        let mut am = row.clone().into_active_model();
        if let Some(v) = year_from {
            am.year_from = Set(v);
        }
        if let Some(v) = year_to {
            am.year_to = Set(v);
        }
        if let Some(v) = body {
            am.text = Set(v);
        }
        if let Some(v) = figure {
            am.figure = Set(v);
        }
        if let Some(v) = unit {
            am.unit = Set(v);
        }
        if let Some(v) = qualifier {
            am.qualifier = Set(v);
        }
        if let Some(v) = source {
            am.source = Set(v);
        }
        if position.is_some() {
            am.position = Set(place(&txn, row.programme_id, row.id, position).await?);
        }
        let updated = update_versioned(&txn, am, input.version, "milestone").await?;
        write::audit(
            &txn,
            &viewer,
            "updateMilestone",
            "Milestone",
            row.id,
            Some(&row),
            Some(&updated),
        )
        .await?;
        write::commit(txn).await?;
        Ok(UpdateMilestonePayload {
            milestone: Milestone(updated),
        })
    }

    /// Deletes a milestone registered by mistake. ADMIN and the programme's
    /// providers only. The milestones after it move up one place. A stale
    /// `version` is CONFLICT and deletes nothing; the audit log keeps what
    /// it was.
    async fn delete_milestone(
        &self,
        ctx: &Context<'_>,
        input: DeleteMilestoneInput,
    ) -> ApiResult<DeleteMilestonePayload> {
        let viewer = viewer(ctx)?.clone();
        let key = id::decode_as(&input.id, "Milestone", "input.id")?;

        let txn = write::begin(ctx.db()?).await?;
        let row = milestone::Entity::find_by_id(key)
            .one(&txn)
            .await?
            .ok_or_else(|| ApiError::not_found("milestone"))?;
        policy::may_write_programme(&txn, &viewer, row.programme_id).await?;
        check_version("milestone", row.version, input.version)?;
        // Delete only the version the client saw: a concurrent change makes
        // this affect no row.
        let deleted = milestone::Entity::delete_many()
            .filter(milestone::Column::Id.eq(key))
            .filter(milestone::Column::Version.eq(input.version))
            .exec(&txn)
            .await?;
        if deleted.rows_affected == 0 {
            return Err(ApiError::Conflict(format!(
                "the milestone has changed since version {}; read it again and retry",
                input.version
            )));
        }
        renumber(&txn, row.programme_id, None).await?;
        write::audit::<milestone::Model>(
            &txn,
            &viewer,
            "deleteMilestone",
            "Milestone",
            row.id,
            Some(&row),
            None,
        )
        .await?;
        let parent = programme::Entity::find_by_id(row.programme_id)
            .one(&txn)
            .await?
            .ok_or_else(|| ApiError::internal("milestone without programme"))?;
        write::commit(txn).await?;
        Ok(DeleteMilestonePayload {
            deleted_id: id::encode("Milestone", key),
            programme: Programme(parent),
        })
    }
}

// --- Input checks ------------------------------------------------------------------

/// At most [`MAX_ITEMS`] items.
fn check_count(field: &str, len: usize) -> ApiResult<()> {
    if len > MAX_ITEMS {
        Err(ApiError::bad_input(
            field,
            format!("`{field}` may have at most {MAX_ITEMS} items"),
        ))
    } else {
        Ok(())
    }
}

/// Item `index` (0-based) of a list as a required text; the error names
/// the list and says which item.
fn item(field: &str, index: usize, value: &str, max: usize) -> ApiResult<String> {
    text(field, value, max).map_err(|e| match e {
        ApiError::BadUserInput { field, message } => ApiError::BadUserInput {
            message: format!("item {} of {message}", index + 1),
            field,
        },
        other => other,
    })
}

/// A list of prose items (goals, learning objectives), each trimmed.
fn prose_list(field: &str, items: &[String]) -> ApiResult<Vec<String>> {
    check_count(field, items.len())?;
    items
        .iter()
        .enumerate()
        .map(|(i, v)| item(field, i, v, MAX_PROSE))
        .collect()
}

/// Competence areas: a name each (1 to [`MAX_NAME`]) and an optional
/// description.
fn competence_areas(field: &str, areas: &[CompetenceAreaInput]) -> ApiResult<Vec<CompetenceArea>> {
    check_count(field, areas.len())?;
    areas
        .iter()
        .enumerate()
        .map(|(i, a)| {
            Ok(CompetenceArea {
                name: item(field, i, &a.name, MAX_NAME)?,
                description: opt_text(field, a.description.as_deref(), MAX_PROSE)?,
            })
        })
        .collect()
}

/// Themes: trimmed, 1 to [`MAX_THEME`] characters, repeats dropped (first
/// kept).
fn themes(field: &str, items: &[String]) -> ApiResult<Vec<String>> {
    check_count(field, items.len())?;
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (i, t) in items.iter().enumerate() {
        let t = item(field, i, t, MAX_THEME)?;
        if seen.insert(t.clone()) {
            out.push(t);
        }
    }
    Ok(out)
}

/// Service kinds as a set, in the order given.
fn service_kinds(field: &str, kinds: &[ServiceKind]) -> ApiResult<Vec<ServiceKind>> {
    check_count(field, kinds.len())?;
    let mut out: Vec<ServiceKind> = Vec::new();
    for k in kinds {
        if !out.contains(k) {
            out.push(*k);
        }
    }
    Ok(out)
}

/// Partner provider ids: well-formed, at most [`MAX_ITEMS`], none twice.
fn partner_ids(ids: &[ID]) -> ApiResult<Vec<Uuid>> {
    let field = "input.partners";
    check_count(field, ids.len())?;
    let mut out = Vec::new();
    for raw in ids {
        let key = id::decode_as(raw, "Provider", field)?;
        if out.contains(&key) {
            return Err(ApiError::bad_input(
                field,
                "`input.partners` names a provider twice",
            ));
        }
        out.push(key);
    }
    Ok(out)
}

/// The last year of a span is not before the first.
fn years_in_order(field: &str, from: i32, to: Option<i32>) -> ApiResult<()> {
    match to {
        Some(to) if to < from => Err(ApiError::bad_input(
            field,
            format!("the last year ({to}) is before the first ({from})"),
        )),
        _ => Ok(()),
    }
}

/// A figure is 0 or more.
fn non_negative(field: &str, value: i64) -> ApiResult<i64> {
    if value < 0 {
        Err(ApiError::bad_input(
            field,
            format!("`{field}` must not be negative"),
        ))
    } else {
        Ok(value)
    }
}

/// A unit and a qualifier describe a figure: neither without one.
fn figure_parts(
    figure: Option<i64>,
    has_unit: bool,
    has_qualifier: bool,
    unit_field: &str,
    qualifier_field: &str,
) -> ApiResult<()> {
    if figure.is_some() {
        return Ok(());
    }
    if has_unit {
        return Err(ApiError::bad_input(
            unit_field,
            "a unit needs a figure: give `figure`, or clear `unit` too",
        ));
    }
    if has_qualifier {
        return Err(ApiError::bad_input(
            qualifier_field,
            "a qualifier needs a figure: give `figure`, or clear `qualifier` too",
        ));
    }
    Ok(())
}

/// A milestone position: 1 or more.
fn check_position(p: i32) -> ApiResult<i32> {
    in_range("input.position", p, 1, MAX_POSITION)
}

// --- Database helpers ---------------------------------------------------------------

/// Whether a programme has the slug.
async fn slug_taken(db: &impl ConnectionTrait, slug: &str) -> ApiResult<bool> {
    Ok(programme::Entity::find()
        .filter(programme::Column::Slug.eq(slug))
        .count(db)
        .await?
        > 0)
}

fn slug_in_use(slug: &str) -> ApiError {
    ApiError::bad_input(
        "input.slug",
        format!("the slug \"{slug}\" is used by another programme"),
    )
}

/// A unique-key violation on insert: another request took the slug first.
fn slug_race(err: DbErr, slug: &str) -> ApiError {
    match err.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => slug_in_use(slug),
        _ => err.into(),
    }
}

/// Every id in `ids` names a provider, else BAD_USER_INPUT on `field`.
async fn require_providers(db: &impl ConnectionTrait, ids: &[Uuid], field: &str) -> ApiResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let found: Vec<Uuid> = provider::Entity::find()
        .select_only()
        .column(provider::Column::Id)
        .filter(provider::Column::Id.is_in(ids.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    if ids.iter().all(|i| found.contains(i)) {
        Ok(())
    } else {
        Err(ApiError::bad_input(
            field,
            format!("`{field}` names no provider"),
        ))
    }
}

/// Replaces the programme's target service kinds.
async fn replace_service_kinds(
    db: &impl ConnectionTrait,
    programme_id: Uuid,
    kinds: &[ServiceKind],
) -> ApiResult<()> {
    programme_service_kind::Entity::delete_many()
        .filter(programme_service_kind::Column::ProgrammeId.eq(programme_id))
        .exec(db)
        .await?;
    for kind in kinds {
        programme_service_kind::ActiveModel {
            id: Set(Uuid::now_v7()),
            programme_id: Set(programme_id),
            kind: Set(*kind),
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

/// Replaces the programme's themes.
async fn replace_themes(
    db: &impl ConnectionTrait,
    programme_id: Uuid,
    themes: &[String],
) -> ApiResult<()> {
    programme_theme::Entity::delete_many()
        .filter(programme_theme::Column::ProgrammeId.eq(programme_id))
        .exec(db)
        .await?;
    for theme in themes {
        programme_theme::ActiveModel {
            id: Set(Uuid::now_v7()),
            programme_id: Set(programme_id),
            theme: Set(theme.clone()),
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

/// A programme for the audit log: its row, and its providers, target
/// service kinds and themes (which live in tables of their own).
async fn programme_snapshot(
    db: &impl ConnectionTrait,
    row: &programme::Model,
) -> ApiResult<serde_json::Value> {
    let mut providers: Vec<(Uuid, ProviderRole)> = programme_provider::Entity::find()
        .select_only()
        .column(programme_provider::Column::ProviderId)
        .column(programme_provider::Column::Role)
        .filter(programme_provider::Column::ProgrammeId.eq(row.id))
        .into_tuple()
        .all(db)
        .await?;
    providers.sort_by_key(|(p, r)| (*p, r.to_string()));
    let mut kinds: Vec<ServiceKind> = programme_service_kind::Entity::find()
        .select_only()
        .column(programme_service_kind::Column::Kind)
        .filter(programme_service_kind::Column::ProgrammeId.eq(row.id))
        .into_tuple()
        .all(db)
        .await?;
    kinds.sort_by_key(|k| k.to_string());
    let mut themes: Vec<String> = programme_theme::Entity::find()
        .select_only()
        .column(programme_theme::Column::Theme)
        .filter(programme_theme::Column::ProgrammeId.eq(row.id))
        .into_tuple()
        .all(db)
        .await?;
    themes.sort();
    let mut snap = write::snapshot(row);
    if let Some(map) = snap.as_object_mut() {
        map.insert(
            "providers".into(),
            json!(
                providers
                    .iter()
                    .map(|(p, r)| json!({ "provider_id": p, "role": r }))
                    .collect::<Vec<_>>()
            ),
        );
        map.insert("service_kinds".into(), json!(kinds));
        map.insert("themes".into(), json!(themes));
    }
    Ok(snap)
}

/// Writes an audit entry from ready-made snapshots.
async fn record(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    action: &str,
    entity_type: &str,
    entity_id: Uuid,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> ApiResult<()> {
    audit::record(
        db,
        viewer,
        Change {
            action,
            entity_type,
            entity_id,
            change: json!({ "before": before, "after": after }),
        },
    )
    .await
}

/// Makes room for milestone `moving` at `target` (1-based; `None` or past
/// the end: last) among the other milestones of the programme, and
/// numbers those others 1, 2, … around it. Returns the position for
/// `moving`, which the caller writes.
async fn place(
    db: &impl ConnectionTrait,
    programme_id: Uuid,
    moving: Uuid,
    target: Option<i32>,
) -> ApiResult<i32> {
    let others = other_milestones(db, programme_id, Some(moving)).await?;
    let index = target
        .map(|t| usize::try_from(t - 1).unwrap_or(0).min(others.len()))
        .unwrap_or(others.len());
    for (i, (key, position)) in others.iter().enumerate() {
        let wanted = (if i < index { i + 1 } else { i + 2 }) as i32;
        set_position(db, *key, *position, wanted).await?;
    }
    Ok(index as i32 + 1)
}

/// Numbers the programme's milestones (but `except`) 1, 2, … in their
/// order, closing gaps.
async fn renumber(
    db: &impl ConnectionTrait,
    programme_id: Uuid,
    except: Option<Uuid>,
) -> ApiResult<()> {
    let others = other_milestones(db, programme_id, except).await?;
    for (i, (key, position)) in others.iter().enumerate() {
        set_position(db, *key, *position, i as i32 + 1).await?;
    }
    Ok(())
}

/// The programme's milestones but `except`, as (id, position) in order.
async fn other_milestones(
    db: &impl ConnectionTrait,
    programme_id: Uuid,
    except: Option<Uuid>,
) -> ApiResult<Vec<(Uuid, i32)>> {
    let mut select = milestone::Entity::find()
        .select_only()
        .column(milestone::Column::Id)
        .column(milestone::Column::Position)
        .filter(milestone::Column::ProgrammeId.eq(programme_id));
    if let Some(except) = except {
        select = select.filter(milestone::Column::Id.ne(except));
    }
    Ok(select
        .order_by_asc(milestone::Column::Position)
        .order_by_asc(milestone::Column::Id)
        .into_tuple()
        .all(db)
        .await?)
}

/// Moves a sibling milestone to `wanted` if it is elsewhere. Its version
/// stays: only its place in the list changed, not what it says.
async fn set_position(
    db: &impl ConnectionTrait,
    key: Uuid,
    current: i32,
    wanted: i32,
) -> ApiResult<()> {
    if current != wanted {
        milestone::Entity::update_many()
            .col_expr(milestone::Column::Position, Expr::val(wanted))
            .filter(milestone::Column::Id.eq(key))
            .exec(db)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(err: ApiError) -> String {
        match err {
            ApiError::BadUserInput { field, .. } => field,
            other => panic!("not BAD_USER_INPUT: {other:?}"),
        }
    }

    #[test]
    fn lists_are_checked_item_by_item() {
        let ok = prose_list("input.goals", &["  a ".into(), "b".into()]).unwrap();
        assert_eq!(ok, ["a", "b"]);
        let err = prose_list("input.goals", &["a".into(), " ".into()]).unwrap_err();
        assert!(err.to_string().starts_with("item 2 of"), "{err}");
        assert_eq!(field_of(err), "input.goals");
        let many: Vec<String> = (0..=MAX_ITEMS).map(|i| i.to_string()).collect();
        assert_eq!(
            field_of(prose_list("input.goals", &many).unwrap_err()),
            "input.goals"
        );
        assert_eq!(
            themes("input.themes", &["a".into(), " a".into(), "b".into()]).unwrap(),
            ["a", "b"]
        );
        assert!(themes("input.themes", &["x".repeat(81)]).is_err());
        assert_eq!(
            service_kinds(
                "k",
                &[
                    ServiceKind::Refugee,
                    ServiceKind::ChildWelfare,
                    ServiceKind::Refugee
                ]
            )
            .unwrap(),
            [ServiceKind::Refugee, ServiceKind::ChildWelfare]
        );
    }

    #[test]
    fn figures_need_their_parts() {
        assert!(figure_parts(Some(1), true, true, "u", "q").is_ok());
        assert!(figure_parts(None, false, false, "u", "q").is_ok());
        assert_eq!(
            field_of(figure_parts(None, true, false, "u", "q").unwrap_err()),
            "u"
        );
        assert_eq!(
            field_of(figure_parts(None, false, true, "u", "q").unwrap_err()),
            "q"
        );
        assert_eq!(
            field_of(years_in_order("t", 2015, Some(2014)).unwrap_err()),
            "t"
        );
        assert!(years_in_order("t", 2015, Some(2015)).is_ok());
        assert!(non_negative("f", -1).is_err());
    }
}
