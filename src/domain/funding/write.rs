//! Grant applications and decisions, written through the API.
//!
//! A grant goes DRAFT → SUBMITTED → GRANTED or REJECTED, a granted one →
//! PAID → REPORTED; a DRAFT or SUBMITTED application can be WITHDRAWN. A
//! step the state machine does not allow is CONFLICT, naming the current
//! status. The applicant side (`draftGrant`, `updateGrantDraft`,
//! `submitGrant`, `withdrawGrant`, `reportGrant`) is for the recipient's
//! LEADER (see [`policy::grants::may_apply`]); the office side
//! (`decideGrant`, `markGrantPaid`) for the FUNDER of the office the
//! application is addressed to; ADMIN may do both. Every change takes the
//! grant's `version` and writes an audit entry.

use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::Utc;
use entity::enums::{GrantStatus, RunStatus};
use entity::{
    funder_office, funder_office_county, funding_grant, municipality, network, programme,
    programme_run, service, service_municipality,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use super::{Grant, sql};
use crate::auth::policy::disclosure::{self, Measure};
use crate::auth::policy::grants::{GrantRecipientKey, may_apply, may_decide};
use crate::auth::{Viewer, policy, viewer};
use crate::domain::money::Kroner;
use crate::domain::write::{self, MAX_PROSE, maybe};
use crate::error::{ApiError, ApiResult};
use crate::graphql::{ContextExt, id};

// ---------------------------------------------------------------------------
// Inputs and payloads

/// Input of `draftGrant`: a new application, as a DRAFT only the applicant
/// sees until it is submitted.
#[derive(Debug, InputObject)]
pub struct DraftGrantInput {
    /// The service that applies (global id of a `Service`). Give exactly
    /// one of `recipientService`, `recipientMunicipality` and
    /// `recipientNetwork`.
    pub recipient_service: Option<ID>,
    /// The municipality that applies (global id of a `Municipality`);
    /// ADMIN only.
    pub recipient_municipality: Option<ID>,
    /// The network that applies (global id of a `Network`); its
    /// coordinating service's LEADER may apply for it.
    pub recipient_network: Option<ID>,
    /// The office applied to (global id of a `FunderOffice`). It must cover
    /// the recipient's county; left out, it is the office that does.
    pub funder_office: Option<ID>,
    /// The programme run the money is for (global id of a
    /// `ProgrammeRun`), if any; not a cancelled one. A run implies its
    /// programme.
    pub run: Option<ID>,
    /// The programme the money is for (global id of a `Programme`), if
    /// any; when `run` is given too it must be the run's programme.
    pub programme: Option<ID>,
    /// What the money is for, 1 to 10,000 characters.
    pub purpose: String,
    /// The budget year, 1990 to 2100.
    pub year: i32,
    /// Kroner applied for; more than 0.
    pub amount_applied: Kroner,
}

/// The result of `draftGrant`.
#[derive(SimpleObject)]
pub struct DraftGrantPayload {
    /// The new application, status DRAFT.
    pub grant: Grant,
}

/// Input of `updateGrantDraft`. Fields left out keep their value; `null`
/// clears `run` or `programme`.
#[derive(Debug, InputObject)]
pub struct UpdateGrantDraftInput {
    /// The application to change (global id of a `Grant`); it must be a
    /// DRAFT.
    pub id: ID,
    /// The `version` of the grant as you read it; a grant changed since is
    /// CONFLICT and nothing changes.
    pub version: i32,
    /// Another office to apply to (global id of a `FunderOffice`); it must
    /// cover the recipient's county.
    pub funder_office: Option<ID>,
    /// The run the money is for (global id of a `ProgrammeRun`); `null`
    /// for none. A new run brings its programme along unless `programme`
    /// is given too (then it must match).
    pub run: MaybeUndefined<ID>,
    /// The programme the money is for (global id of a `Programme`);
    /// `null` for none (a grant naming a run keeps the run's programme).
    pub programme: MaybeUndefined<ID>,
    /// What the money is for, 1 to 10,000 characters.
    pub purpose: Option<String>,
    /// The budget year, 1990 to 2100.
    pub year: Option<i32>,
    /// Kroner applied for; more than 0.
    pub amount_applied: Option<Kroner>,
}

/// The result of `updateGrantDraft`.
#[derive(SimpleObject)]
pub struct UpdateGrantDraftPayload {
    /// The application as changed, with its new `version`.
    pub grant: Grant,
}

/// Input of `submitGrant`.
#[derive(Debug, InputObject)]
pub struct SubmitGrantInput {
    /// The application to submit (global id of a `Grant`); it must be a
    /// DRAFT.
    pub id: ID,
    /// The `version` of the grant as you read it.
    pub version: i32,
}

/// The result of `submitGrant`.
#[derive(SimpleObject)]
pub struct SubmitGrantPayload {
    /// The application, now SUBMITTED (and visible to the office).
    pub grant: Grant,
}

/// Input of `withdrawGrant`.
#[derive(Debug, InputObject)]
pub struct WithdrawGrantInput {
    /// The application to withdraw (global id of a `Grant`); it must be a
    /// DRAFT or SUBMITTED.
    pub id: ID,
    /// The `version` of the grant as you read it.
    pub version: i32,
}

/// The result of `withdrawGrant`.
#[derive(SimpleObject)]
pub struct WithdrawGrantPayload {
    /// The application, now WITHDRAWN.
    pub grant: Grant,
}

/// The office's decision on an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum GrantDecision {
    /// The application is granted (possibly a smaller amount).
    Granted,
    /// The application is rejected; a reason is required.
    Rejected,
}

/// Input of `decideGrant`.
#[derive(Debug, InputObject)]
pub struct DecideGrantInput {
    /// The application to decide (global id of a `Grant`); it must be
    /// SUBMITTED.
    pub id: ID,
    /// The `version` of the grant as you read it; a decision racing another
    /// on the same version gets CONFLICT.
    pub version: i32,
    /// GRANTED or REJECTED.
    pub decision: GrantDecision,
    /// Kroner granted: required when GRANTED, from 1 to the amount applied
    /// for; not given when REJECTED.
    pub amount_granted: Option<Kroner>,
    /// The office's reason: required when REJECTED, optional when GRANTED;
    /// at most 10,000 characters.
    pub reason: Option<String>,
}

/// The result of `decideGrant`.
#[derive(SimpleObject)]
pub struct DecideGrantPayload {
    /// The application, now GRANTED or REJECTED.
    pub grant: Grant,
}

/// Input of `markGrantPaid`.
#[derive(Debug, InputObject)]
pub struct MarkGrantPaidInput {
    /// The grant paid out (global id of a `Grant`); it must be GRANTED.
    pub id: ID,
    /// The `version` of the grant as you read it.
    pub version: i32,
}

/// The result of `markGrantPaid`.
#[derive(SimpleObject)]
pub struct MarkGrantPaidPayload {
    /// The grant, now PAID.
    pub grant: Grant,
}

/// Input of `reportGrant`.
#[derive(Debug, InputObject)]
pub struct ReportGrantInput {
    /// The grant reported on (global id of a `Grant`); it must be PAID.
    pub id: ID,
    /// The `version` of the grant as you read it.
    pub version: i32,
    /// What was done with the money, 1 to 10,000 characters.
    pub text: String,
    /// How many took part, 0 or more. Where the grant names a run and
    /// attendance is recorded for the recipient's people at it, at most
    /// the distinct persons recorded present at its sessions.
    pub participants: i32,
}

/// The result of `reportGrant`.
#[derive(SimpleObject)]
pub struct ReportGrantPayload {
    /// The grant, now REPORTED.
    pub grant: Grant,
}

// ---------------------------------------------------------------------------
// Mutations

/// Mutations of grant applications and decisions.
#[derive(Default)]
pub struct GrantMutation;

#[Object]
impl GrantMutation {
    /// Drafts an application for a grant, with status DRAFT (seen only by
    /// the applicant side until submitted). ADMIN, the LEADER of the
    /// recipient service, and the LEADER of the service coordinating a
    /// recipient network may call it; applications for a municipality are
    /// ADMIN's. The office must cover the recipient's county
    /// (BAD_USER_INPUT on `input.funderOffice` otherwise).
    async fn draft_grant(
        &self,
        ctx: &Context<'_>,
        input: DraftGrantInput,
    ) -> ApiResult<DraftGrantPayload> {
        let viewer = viewer(ctx)?.clone();
        let recipient = recipient_key(&input)?;
        let office_id = input
            .funder_office
            .as_ref()
            .map(|o| id::decode_as(o, "FunderOffice", "input.funderOffice"))
            .transpose()?;
        let run_id = input
            .run
            .as_ref()
            .map(|r| id::decode_as(r, "ProgrammeRun", "input.run"))
            .transpose()?;
        let programme_id = input
            .programme
            .as_ref()
            .map(|p| id::decode_as(p, "Programme", "input.programme"))
            .transpose()?;
        let purpose = write::text("input.purpose", &input.purpose, MAX_PROSE)?;
        let year = write::year("input.year", input.year)?;
        let amount = positive("input.amountApplied", input.amount_applied)?;

        let txn = write::begin(ctx.db()?).await?;
        let county = recipient_county(&txn, recipient).await?;
        may_apply(&txn, &viewer, recipient).await?;
        let (run_id, programme_id) = run_and_programme(&txn, run_id, programme_id, true).await?;
        let office_id = office_for(&txn, county, office_id).await?;

        let now = Utc::now();
        let row = funding_grant::ActiveModel {
            id: Set(Uuid::now_v7()),
            funder_office_id: Set(office_id),
            recipient_service_id: Set(match recipient {
                GrantRecipientKey::Service(k) => Some(k),
                _ => None,
            }),
            recipient_municipality_id: Set(match recipient {
                GrantRecipientKey::Municipality(k) => Some(k),
                _ => None,
            }),
            recipient_network_id: Set(match recipient {
                GrantRecipientKey::Network(k) => Some(k),
                _ => None,
            }),
            run_id: Set(run_id),
            programme_id: Set(programme_id),
            purpose: Set(purpose),
            year: Set(year),
            amount_applied: Set(Some(amount)),
            amount_granted: Set(None),
            status: Set(GrantStatus::Draft),
            decision_reason: Set(None),
            submitted_at: Set(None),
            decided_at: Set(None),
            paid_at: Set(None),
            reported_at: Set(None),
            report_text: Set(None),
            report_participants: Set(None),
            source: Set(None),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&txn)
        .await?;
        write::audit(
            &txn,
            &viewer,
            "draftGrant",
            "Grant",
            row.id,
            None,
            Some(&row),
        )
        .await?;
        write::commit(txn).await?;
        Ok(DraftGrantPayload { grant: Grant(row) })
    }

    /// Changes a DRAFT application: office, run, programme, purpose, year
    /// or amount applied for. The applicant side may call it (ADMIN, the
    /// recipient's LEADER as for `draftGrant`). A grant past DRAFT is
    /// CONFLICT.
    async fn update_grant_draft(
        &self,
        ctx: &Context<'_>,
        input: UpdateGrantDraftInput,
    ) -> ApiResult<UpdateGrantDraftPayload> {
        let viewer = viewer(ctx)?.clone();
        let key = id::decode_as(&input.id, "Grant", "input.id")?;
        let office_id = input
            .funder_office
            .as_ref()
            .map(|o| id::decode_as(o, "FunderOffice", "input.funderOffice"))
            .transpose()?;
        let run = maybe(&input.run, |r| {
            id::decode_as(r, "ProgrammeRun", "input.run")
        })?;
        let programme = maybe(&input.programme, |p| {
            id::decode_as(p, "Programme", "input.programme")
        })?;
        let purpose = input
            .purpose
            .as_deref()
            .map(|p| write::text("input.purpose", p, MAX_PROSE))
            .transpose()?;
        let year = input
            .year
            .map(|y| write::year("input.year", y))
            .transpose()?;
        let amount = input
            .amount_applied
            .map(|a| positive("input.amountApplied", a))
            .transpose()?;

        let txn = write::begin(ctx.db()?).await?;
        let row = load(&txn, &viewer, key).await?;
        applicant(&txn, &viewer, &row).await?;
        expect_status(&row, &[GrantStatus::Draft], "changed as a draft")?;
        write::check_version("grant", row.version, input.version)?;

        // The run and programme as they would be.
        let new_run = run.unwrap_or(row.run_id);
        let new_programme = match programme {
            Some(p) => p,
            // A new run brings its programme along; clearing the run keeps
            // the programme.
            None if matches!(run, Some(Some(_))) => None,
            None => row.programme_id,
        };
        let (new_run, new_programme) =
            run_and_programme(&txn, new_run, new_programme, run.is_some()).await?;
        let new_office = match office_id {
            Some(o) => {
                let county = recipient_county(&txn, recipient_of(&row)?).await?;
                Some(office_for(&txn, county, Some(o)).await?)
            }
            None => None,
        };

        let before = row.clone();
        let mut am = row.into_active_model();
        if let Some(o) = new_office {
            am.funder_office_id = Set(o);
        }
        am.run_id = Set(new_run);
        am.programme_id = Set(new_programme);
        if let Some(p) = purpose {
            am.purpose = Set(p);
        }
        if let Some(y) = year {
            am.year = Set(y);
        }
        if let Some(a) = amount {
            am.amount_applied = Set(Some(a));
        }
        let after = finish(
            &txn,
            &viewer,
            "updateGrantDraft",
            &before,
            am,
            input.version,
        )
        .await?;
        write::commit(txn).await?;
        Ok(UpdateGrantDraftPayload {
            grant: Grant(after),
        })
    }

    /// Submits a DRAFT application to its office (DRAFT → SUBMITTED); from
    /// now on the office sees it. The applicant side may call it.
    async fn submit_grant(
        &self,
        ctx: &Context<'_>,
        input: SubmitGrantInput,
    ) -> ApiResult<SubmitGrantPayload> {
        let viewer = viewer(ctx)?.clone();
        let key = id::decode_as(&input.id, "Grant", "input.id")?;
        let txn = write::begin(ctx.db()?).await?;
        let row = load(&txn, &viewer, key).await?;
        applicant(&txn, &viewer, &row).await?;
        expect_status(&row, &[GrantStatus::Draft], "submitted")?;
        write::check_version("grant", row.version, input.version)?;
        if row.amount_applied.is_none_or(|a| a <= 0) {
            return Err(ApiError::bad_input(
                "input.id",
                "the application names no amount applied for: set `amountApplied` with `updateGrantDraft` first",
            ));
        }
        let before = row.clone();
        let mut am = row.into_active_model();
        am.status = Set(GrantStatus::Submitted);
        am.submitted_at = Set(Some(Utc::now()));
        let after = finish(&txn, &viewer, "submitGrant", &before, am, input.version).await?;
        write::commit(txn).await?;
        Ok(SubmitGrantPayload {
            grant: Grant(after),
        })
    }

    /// Withdraws a DRAFT or SUBMITTED application (→ WITHDRAWN). The
    /// applicant side may call it; a decided application cannot be
    /// withdrawn (CONFLICT).
    async fn withdraw_grant(
        &self,
        ctx: &Context<'_>,
        input: WithdrawGrantInput,
    ) -> ApiResult<WithdrawGrantPayload> {
        let viewer = viewer(ctx)?.clone();
        let key = id::decode_as(&input.id, "Grant", "input.id")?;
        let txn = write::begin(ctx.db()?).await?;
        let row = load(&txn, &viewer, key).await?;
        applicant(&txn, &viewer, &row).await?;
        expect_status(
            &row,
            &[GrantStatus::Draft, GrantStatus::Submitted],
            "withdrawn",
        )?;
        write::check_version("grant", row.version, input.version)?;
        let before = row.clone();
        let mut am = row.into_active_model();
        am.status = Set(GrantStatus::Withdrawn);
        let after = finish(&txn, &viewer, "withdrawGrant", &before, am, input.version).await?;
        write::commit(txn).await?;
        Ok(WithdrawGrantPayload {
            grant: Grant(after),
        })
    }

    /// Decides a SUBMITTED application (→ GRANTED with an amount from 1 to
    /// the amount applied for, or → REJECTED with a reason). ADMIN and the
    /// FUNDER of the office the application is addressed to may call it.
    /// Of two decisions racing on the same version, one wins and the other
    /// gets CONFLICT.
    async fn decide_grant(
        &self,
        ctx: &Context<'_>,
        input: DecideGrantInput,
    ) -> ApiResult<DecideGrantPayload> {
        let viewer = viewer(ctx)?.clone();
        let key = id::decode_as(&input.id, "Grant", "input.id")?;
        let reason = write::opt_text("input.reason", input.reason.as_deref(), MAX_PROSE)?;
        let (status, amount) = match input.decision {
            GrantDecision::Granted => {
                let amount = input.amount_granted.ok_or_else(|| {
                    ApiError::bad_input(
                        "input.amountGranted",
                        "`input.amountGranted` is required when the decision is GRANTED",
                    )
                })?;
                (
                    GrantStatus::Granted,
                    Some(positive("input.amountGranted", amount)?),
                )
            }
            GrantDecision::Rejected => {
                if input.amount_granted.is_some() {
                    return Err(ApiError::bad_input(
                        "input.amountGranted",
                        "a rejection grants nothing: leave `input.amountGranted` out",
                    ));
                }
                if reason.is_none() {
                    return Err(ApiError::bad_input(
                        "input.reason",
                        "`input.reason` is required when the decision is REJECTED",
                    ));
                }
                (GrantStatus::Rejected, None)
            }
        };

        let txn = write::begin(ctx.db()?).await?;
        let row = load(&txn, &viewer, key).await?;
        may_decide(&viewer, row.funder_office_id)?;
        expect_status(&row, &[GrantStatus::Submitted], "decided")?;
        if let (Some(granted), Some(applied)) = (amount, row.amount_applied)
            && granted > applied
        {
            return Err(ApiError::bad_input(
                "input.amountGranted",
                format!(
                    "`input.amountGranted` ({granted} kroner) is more than the {applied} kroner applied for"
                ),
            ));
        }
        write::check_version("grant", row.version, input.version)?;
        let before = row.clone();
        let mut am = row.into_active_model();
        am.status = Set(status);
        am.amount_granted = Set(amount);
        am.decision_reason = Set(reason);
        am.decided_at = Set(Some(Utc::now()));
        let after = finish(&txn, &viewer, "decideGrant", &before, am, input.version).await?;
        write::commit(txn).await?;
        Ok(DecideGrantPayload {
            grant: Grant(after),
        })
    }

    /// Records that a GRANTED grant has been paid out (→ PAID). ADMIN and
    /// the FUNDER of the grant's office may call it.
    async fn mark_grant_paid(
        &self,
        ctx: &Context<'_>,
        input: MarkGrantPaidInput,
    ) -> ApiResult<MarkGrantPaidPayload> {
        let viewer = viewer(ctx)?.clone();
        let key = id::decode_as(&input.id, "Grant", "input.id")?;
        let txn = write::begin(ctx.db()?).await?;
        let row = load(&txn, &viewer, key).await?;
        may_decide(&viewer, row.funder_office_id)?;
        expect_status(&row, &[GrantStatus::Granted], "marked paid")?;
        write::check_version("grant", row.version, input.version)?;
        let before = row.clone();
        let mut am = row.into_active_model();
        am.status = Set(GrantStatus::Paid);
        am.paid_at = Set(Some(Utc::now()));
        let after = finish(&txn, &viewer, "markGrantPaid", &before, am, input.version).await?;
        write::commit(txn).await?;
        Ok(MarkGrantPaidPayload {
            grant: Grant(after),
        })
    }

    /// Reports on a PAID grant (→ REPORTED): what was done and how many
    /// took part. The applicant side may call it. Where the grant names a
    /// run with attendance recorded for the recipient's people, the
    /// participants may not exceed the distinct persons recorded present
    /// (BAD_USER_INPUT on `input.participants`, naming that figure).
    async fn report_grant(
        &self,
        ctx: &Context<'_>,
        input: ReportGrantInput,
    ) -> ApiResult<ReportGrantPayload> {
        let viewer = viewer(ctx)?.clone();
        let key = id::decode_as(&input.id, "Grant", "input.id")?;
        let text = write::text("input.text", &input.text, MAX_PROSE)?;
        let participants = write::in_range("input.participants", input.participants, 0, i32::MAX)?;

        let txn = write::begin(ctx.db()?).await?;
        let row = load(&txn, &viewer, key).await?;
        applicant(&txn, &viewer, &row).await?;
        expect_status(&row, &[GrantStatus::Paid], "reported on")?;
        if row.run_id.is_some() {
            // The bound is the figure as the viewer may see it, so that
            // the check cannot be probed for a count it may not know.
            let (recorded, present) = sql::attendance_of_grant(&txn, &viewer, row.id).await?;
            let bound = present
                .protect(Measure::Attendees)
                .value()
                .unwrap_or(disclosure::THRESHOLD - 1);
            if recorded > 0 && i64::from(participants) > bound {
                return Err(ApiError::bad_input(
                    "input.participants",
                    format!(
                        "`input.participants` ({participants}) is more than the {bound} persons of the recipient recorded present at the run's sessions (as `grantTotals` shows them)"
                    ),
                ));
            }
        }
        write::check_version("grant", row.version, input.version)?;
        let before = row.clone();
        let mut am = row.into_active_model();
        am.status = Set(GrantStatus::Reported);
        am.report_text = Set(Some(text));
        am.report_participants = Set(Some(participants));
        am.reported_at = Set(Some(Utc::now()));
        let after = finish(&txn, &viewer, "reportGrant", &before, am, input.version).await?;
        write::commit(txn).await?;
        Ok(ReportGrantPayload {
            grant: Grant(after),
        })
    }
}

// ---------------------------------------------------------------------------
// Helpers

/// The one recipient of a new application.
fn recipient_key(input: &DraftGrantInput) -> ApiResult<GrantRecipientKey> {
    let given = [
        input.recipient_service.is_some(),
        input.recipient_municipality.is_some(),
        input.recipient_network.is_some(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(ApiError::bad_input(
            "input.recipientService",
            "give exactly one of `recipientService`, `recipientMunicipality` and `recipientNetwork`",
        ));
    }
    if let Some(s) = &input.recipient_service {
        return Ok(GrantRecipientKey::Service(id::decode_as(
            s,
            "Service",
            "input.recipientService",
        )?));
    }
    if let Some(m) = &input.recipient_municipality {
        return Ok(GrantRecipientKey::Municipality(id::decode_as(
            m,
            "Municipality",
            "input.recipientMunicipality",
        )?));
    }
    let n = input.recipient_network.as_ref().expect("one recipient");
    Ok(GrantRecipientKey::Network(id::decode_as(
        n,
        "Network",
        "input.recipientNetwork",
    )?))
}

fn recipient_of(row: &funding_grant::Model) -> ApiResult<GrantRecipientKey> {
    GrantRecipientKey::of(row).ok_or_else(|| ApiError::internal("grant without recipient"))
}

/// An amount above 0.
fn positive(field: &str, amount: Kroner) -> ApiResult<i64> {
    if amount.0 > 0 {
        Ok(amount.0)
    } else {
        Err(ApiError::bad_input(
            field,
            format!("`{field}` must be more than 0 kroner"),
        ))
    }
}

/// The county of a recipient (checked to exist: BAD_USER_INPUT on its
/// field otherwise): the municipality's, the network's (none for a
/// national network), the service's host municipality's (or, without a
/// host, that of the first municipality it covers). The same rule as
/// [`sql::recipient_county`].
async fn recipient_county(
    db: &impl ConnectionTrait,
    recipient: GrantRecipientKey,
) -> ApiResult<Option<Uuid>> {
    match recipient {
        GrantRecipientKey::Municipality(k) => municipality::Entity::find_by_id(k)
            .one(db)
            .await?
            .map(|m| Some(m.county_id))
            .ok_or_else(|| {
                ApiError::bad_input(
                    "input.recipientMunicipality",
                    "`input.recipientMunicipality` names no municipality",
                )
            }),
        GrantRecipientKey::Network(k) => network::Entity::find_by_id(k)
            .one(db)
            .await?
            .map(|n| n.county_id)
            .ok_or_else(|| {
                ApiError::bad_input(
                    "input.recipientNetwork",
                    "`input.recipientNetwork` names no network",
                )
            }),
        GrantRecipientKey::Service(k) => {
            let s = service::Entity::find_by_id(k)
                .one(db)
                .await?
                .ok_or_else(|| {
                    ApiError::bad_input(
                        "input.recipientService",
                        "`input.recipientService` names no service",
                    )
                })?;
            if let Some(host) = s.host_municipality_id {
                return Ok(municipality::Entity::find_by_id(host)
                    .one(db)
                    .await?
                    .map(|m| m.county_id));
            }
            Ok(municipality::Entity::find()
                .filter(
                    municipality::Column::Id.in_subquery(
                        sea_orm::sea_query::Query::select()
                            .column(service_municipality::Column::MunicipalityId)
                            .from(service_municipality::Entity)
                            .and_where(service_municipality::Column::ServiceId.eq(k))
                            .to_owned(),
                    ),
                )
                .order_by_asc(municipality::Column::Number)
                .one(db)
                .await?
                .map(|m| m.county_id))
        }
    }
}

/// The office of an application: the one named, which must cover the
/// recipient's county (any office for a recipient without a county), or
/// the office covering that county.
async fn office_for(
    db: &impl ConnectionTrait,
    county: Option<Uuid>,
    named: Option<Uuid>,
) -> ApiResult<Uuid> {
    const FIELD: &str = "input.funderOffice";
    match (named, county) {
        (Some(office), county) => {
            if funder_office::Entity::find_by_id(office)
                .one(db)
                .await?
                .is_none()
            {
                return Err(ApiError::bad_input(
                    FIELD,
                    "`input.funderOffice` names no funder office",
                ));
            }
            if let Some(county) = county {
                let covers = funder_office_county::Entity::find()
                    .filter(funder_office_county::Column::FunderOfficeId.eq(office))
                    .filter(funder_office_county::Column::CountyId.eq(county))
                    .one(db)
                    .await?
                    .is_some();
                if !covers {
                    return Err(ApiError::bad_input(
                        FIELD,
                        "the office does not cover the recipient's county: apply to the office that does (or leave `funderOffice` out)",
                    ));
                }
            }
            Ok(office)
        }
        (None, Some(county)) => funder_office_county::Entity::find()
            .select_only()
            .column(funder_office_county::Column::FunderOfficeId)
            .filter(funder_office_county::Column::CountyId.eq(county))
            .order_by_asc(funder_office_county::Column::FunderOfficeId)
            .into_tuple::<Uuid>()
            .one(db)
            .await?
            .ok_or_else(|| {
                ApiError::bad_input(FIELD, "no funder office covers the recipient's county")
            }),
        (None, None) => Err(ApiError::bad_input(
            FIELD,
            "the recipient has no county (a national network): name the office in `funderOffice`",
        )),
    }
}

/// Checks a grant's run and programme: both must exist (BAD_USER_INPUT on
/// their fields), the run not be cancelled, and a run's programme is the
/// grant's (filled in when the programme is left out; a different one is
/// BAD_USER_INPUT on `input.programme`). `check_run_state`: only a newly
/// named run is checked for cancellation.
async fn run_and_programme(
    db: &impl ConnectionTrait,
    run_id: Option<Uuid>,
    programme_id: Option<Uuid>,
    check_run_state: bool,
) -> ApiResult<(Option<Uuid>, Option<Uuid>)> {
    if let Some(p) = programme_id
        && programme::Entity::find_by_id(p).one(db).await?.is_none()
    {
        return Err(ApiError::bad_input(
            "input.programme",
            "`input.programme` names no programme",
        ));
    }
    let Some(run_id) = run_id else {
        return Ok((None, programme_id));
    };
    let run = programme_run::Entity::find_by_id(run_id)
        .one(db)
        .await?
        .ok_or_else(|| ApiError::bad_input("input.run", "`input.run` names no programme run"))?;
    if check_run_state && run.status == RunStatus::Cancelled {
        return Err(ApiError::bad_input(
            "input.run",
            "the run is CANCELLED: a grant cannot pay for it",
        ));
    }
    match programme_id {
        Some(p) if p != run.programme_id => Err(ApiError::bad_input(
            "input.programme",
            "`input.programme` is not the programme of `input.run`",
        )),
        _ => Ok((Some(run.id), Some(run.programme_id))),
    }
}

/// The grant, locked for the change, if the viewer may see it (else
/// NOT_FOUND: an office never learns of another's applications, nor of
/// drafts).
async fn load(
    txn: &DatabaseTransaction,
    viewer: &Viewer,
    key: Uuid,
) -> ApiResult<funding_grant::Model> {
    funding_grant::Entity::find_by_id(key)
        .filter(policy::visible_grants(viewer))
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or_else(|| ApiError::not_found("grant"))
}

async fn applicant(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    row: &funding_grant::Model,
) -> ApiResult<()> {
    may_apply(db, viewer, recipient_of(row)?).await
}

/// CONFLICT unless the grant is in one of `allowed`, naming its status.
fn expect_status(row: &funding_grant::Model, allowed: &[GrantStatus], what: &str) -> ApiResult<()> {
    if allowed.contains(&row.status) {
        return Ok(());
    }
    let allowed: Vec<&str> = allowed.iter().map(GrantStatus::as_str).collect();
    Err(ApiError::Conflict(format!(
        "the grant is {}: only a {} grant can be {what}",
        row.status,
        allowed.join(" or ")
    )))
}

/// Saves the change at the version the client read and writes the audit
/// entry.
async fn finish(
    txn: &DatabaseTransaction,
    viewer: &Viewer,
    action: &str,
    before: &funding_grant::Model,
    am: funding_grant::ActiveModel,
    version: i32,
) -> ApiResult<funding_grant::Model> {
    let after = write::update_versioned(txn, am, version, "grant").await?;
    write::audit(
        txn,
        viewer,
        action,
        "Grant",
        after.id,
        Some(before),
        Some(&after),
    )
    .await?;
    Ok(after)
}
