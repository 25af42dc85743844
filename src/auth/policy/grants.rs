//! Who may see and change grants (funding applications and decisions of
//! Statsforvalteren).
//!
//! The applicant side (drafting, changing a draft, submitting, withdrawing,
//! reporting) belongs to the recipient: the LEADER of a recipient service,
//! or of the service that coordinates a recipient network; grants to a
//! municipality are written by ADMIN only. The office side (deciding,
//! marking paid) belongs to the FUNDER the application is addressed to.
//! ADMIN may do everything.

use entity::enums::GrantStatus;
use entity::{funding_grant, network, programme_provider, programme_run};
use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait};
use uuid::Uuid;

use super::{nothing, per_scope, refuse};
use crate::auth::{Scope, Viewer};
use crate::error::ApiResult;

/// Grants the office side and the providers may see: everything but
/// drafts, and withdrawn drafts (an application is the applicant's own
/// until it is submitted).
fn submitted() -> Condition {
    Condition::all()
        .add(funding_grant::Column::Status.ne(GrantStatus::Draft))
        .add(
            Condition::any()
                .add(funding_grant::Column::Status.ne(GrantStatus::Withdrawn))
                .add(funding_grant::Column::SubmittedAt.is_not_null()),
        )
}

/// The grants a viewer may see, as a SQL condition on `funding_grant`:
/// a funder office its own office's submitted grants (never drafts), a
/// leader its service's (and those of networks its service coordinates),
/// a provider the submitted grants that name its programmes or their runs,
/// an admin all.
pub fn visible_grants(viewer: &Viewer) -> Condition {
    per_scope(viewer, |scope| match *scope {
        Scope::Admin => Condition::all(),
        Scope::Funder { funder_office_id } => Condition::all()
            .add(funding_grant::Column::FunderOfficeId.eq(funder_office_id))
            .add(submitted()),
        Scope::Leader { service_id } => Condition::any()
            .add(funding_grant::Column::RecipientServiceId.eq(service_id))
            .add(
                funding_grant::Column::RecipientNetworkId.in_subquery(
                    Query::select()
                        .column(network::Column::Id)
                        .from(network::Entity)
                        .and_where(network::Column::CoordinatorServiceId.eq(service_id))
                        .to_owned(),
                ),
            ),
        Scope::Provider { provider_id } => {
            let programmes = Query::select()
                .column(programme_provider::Column::ProgrammeId)
                .from(programme_provider::Entity)
                .and_where(programme_provider::Column::ProviderId.eq(provider_id))
                .to_owned();
            Condition::all().add(submitted()).add(
                Condition::any()
                    .add(funding_grant::Column::ProgrammeId.in_subquery(programmes.clone()))
                    .add(
                        funding_grant::Column::RunId.in_subquery(
                            Query::select()
                                .column(programme_run::Column::Id)
                                .from(programme_run::Entity)
                                .and_where(
                                    programme_run::Column::ProgrammeId.in_subquery(programmes),
                                )
                                .to_owned(),
                        ),
                    ),
            )
        }
        Scope::Staff { .. } => nothing(),
    })
}

/// The recipient of a grant, as the write rules see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantRecipientKey {
    /// A service (its id).
    Service(Uuid),
    /// A municipality (its id).
    Municipality(Uuid),
    /// A network (its id).
    Network(Uuid),
}

impl GrantRecipientKey {
    /// The recipient a grant row names (`None` for a row without one).
    pub fn of(row: &funding_grant::Model) -> Option<Self> {
        row.recipient_service_id
            .map(Self::Service)
            .or(row.recipient_municipality_id.map(Self::Municipality))
            .or(row.recipient_network_id.map(Self::Network))
    }
}

/// The applicant side of a grant — drafting, changing a draft, submitting,
/// withdrawing and reporting — is for ADMIN; for the LEADER of a recipient
/// service; and for the LEADER of the service that coordinates a recipient
/// network. Grants to a municipality are for ADMIN only.
pub async fn may_apply(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    recipient: GrantRecipientKey,
) -> ApiResult<()> {
    if viewer.is_admin() {
        return Ok(());
    }
    let led = viewer.led_services();
    let allowed = match recipient {
        GrantRecipientKey::Service(service_id) => led.contains(&service_id),
        GrantRecipientKey::Network(network_id) if !led.is_empty() => {
            network::Entity::find_by_id(network_id)
                .one(db)
                .await?
                .and_then(|n| n.coordinator_service_id)
                .is_some_and(|coordinator| led.contains(&coordinator))
        }
        GrantRecipientKey::Network(_) | GrantRecipientKey::Municipality(_) => false,
    };
    if allowed {
        Ok(())
    } else {
        Err(refuse(
            viewer,
            "only ADMIN, the recipient service's leader and the leader of the service coordinating a recipient network may apply for and report on a grant (grants to a municipality: ADMIN only)",
        ))
    }
}

/// The office side of a grant — deciding and marking paid — is for ADMIN
/// and for a FUNDER acting for the office the application is addressed to.
pub fn may_decide(viewer: &Viewer, funder_office_id: Uuid) -> ApiResult<()> {
    if viewer.is_admin() || viewer.funder_offices().contains(&funder_office_id) {
        Ok(())
    } else {
        Err(refuse(
            viewer,
            "only ADMIN and the funder office the application is addressed to may decide it or mark it paid",
        ))
    }
}
