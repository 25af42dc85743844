//! The one access policy of the API (DOMAIN.md, "Roles").
//!
//! Catalogue data (counties, municipalities, providers, programmes,
//! networks, services, runs, sessions) is public. Personal data, grants,
//! role assignments and the audit log are not; figures about people go
//! through disclosure control ([`disclosure`]) for viewers without full
//! rights. Each rule is a function of the [`Viewer`], and row rules are SQL
//! conditions, so that every path to a row (a list, its `totalCount`, a
//! nested field, `node`) applies the same rule.
//!
//! Each table the API loads by key has its one row rule ([`RowRule`], in
//! [`rows`]), which every DataLoader of the table applies; attendance rows
//! and attendance figures per session are decided in [`attendance`].

use entity::{funder_office_county, participation, person, programme_provider, programme_run};
use sea_orm::sea_query::SelectStatement;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use super::{Scope, Viewer};
use crate::error::{ApiError, ApiResult};

pub mod attendance;
pub mod disclosure;
pub mod grants;
pub mod rows;
pub mod statistics;

pub use attendance::visible_attendance;
pub use grants::visible_grants;
pub use rows::{Exposure, RowRule};

/// The runs of a provider's programmes (lead or partner), as a subquery.
pub(crate) fn runs_of_provider(provider_id: uuid::Uuid) -> SelectStatement {
    Query::select()
        .column(programme_run::Column::Id)
        .from(programme_run::Entity)
        .and_where(
            programme_run::Column::ProgrammeId.in_subquery(
                Query::select()
                    .column(programme_provider::Column::ProgrammeId)
                    .from(programme_provider::Entity)
                    .and_where(programme_provider::Column::ProviderId.eq(provider_id))
                    .to_owned(),
            ),
        )
        .to_owned()
}

/// A row rule as the union of its rule for each scope of the viewer:
/// ADMIN sees every row, a viewer without scopes (anonymous, or a subject
/// without roles) none.
pub(crate) fn per_scope(viewer: &Viewer, rule: impl Fn(&Scope) -> Condition) -> Condition {
    if viewer.is_admin() {
        return Condition::all();
    }
    if viewer.scopes.is_empty() {
        return nothing();
    }
    viewer
        .scopes
        .iter()
        .fold(Condition::any(), |any, scope| any.add(rule(scope)))
}

/// The persons a viewer may see, as a SQL condition on `person`: STAFF
/// themselves, a LEADER the staff of its service, a PROVIDER the
/// participants of its runs (their names only, see
/// [`may_see_contact_details`]), an ADMIN everyone. Funders see counts
/// only; anonymous viewers nobody.
pub fn visible_persons(viewer: &Viewer) -> Condition {
    per_scope(viewer, |scope| match *scope {
        Scope::Admin => Condition::all(),
        Scope::Staff { person_id } => Condition::all().add(person::Column::Id.eq(person_id)),
        Scope::Leader { service_id } => {
            Condition::all().add(person::Column::ServiceId.eq(service_id))
        }
        Scope::Provider { provider_id } => Condition::all().add(
            person::Column::Id.in_subquery(
                Query::select()
                    .column(participation::Column::PersonId)
                    .from(participation::Entity)
                    .and_where(
                        participation::Column::RunId.in_subquery(runs_of_provider(provider_id)),
                    )
                    .to_owned(),
            ),
        ),
        Scope::Funder { .. } => nothing(),
    })
}

/// The participations a viewer may see, as a SQL condition on
/// `participation`: STAFF their own, a LEADER its staff's, a PROVIDER
/// those in its runs, an ADMIN all. (Attendance has a rule of its own,
/// [`visible_attendance`].)
pub fn visible_participations(viewer: &Viewer) -> Condition {
    per_scope(viewer, |scope| match *scope {
        Scope::Admin => Condition::all(),
        Scope::Staff { person_id } => {
            Condition::all().add(participation::Column::PersonId.eq(person_id))
        }
        Scope::Leader { service_id } => Condition::all().add(
            participation::Column::PersonId.in_subquery(
                Query::select()
                    .column(person::Column::Id)
                    .from(person::Entity)
                    .and_where(person::Column::ServiceId.eq(service_id))
                    .to_owned(),
            ),
        ),
        Scope::Provider { provider_id } => Condition::all()
            .add(participation::Column::RunId.in_subquery(runs_of_provider(provider_id))),
        Scope::Funder { .. } => nothing(),
    })
}

/// Whether the viewer may see a person's contact details (e-mail, job
/// title): the person, the leader of the person's service, an admin. A
/// provider sees the names of its participants only.
pub fn may_see_contact_details(viewer: &Viewer, row: &person::Model) -> bool {
    viewer.scopes.iter().any(|scope| match *scope {
        Scope::Admin => true,
        Scope::Staff { person_id } => person_id == row.id,
        Scope::Leader { service_id } => service_id == row.service_id,
        Scope::Provider { .. } | Scope::Funder { .. } => false,
    })
}

/// The role assignments a viewer may see: all for ADMIN, none otherwise.
pub fn visible_role_assignments(viewer: &Viewer) -> Condition {
    if viewer.is_admin() {
        Condition::all()
    } else {
        nothing()
    }
}

/// Role assignments and the audit log: ADMIN only.
pub fn require_admin(viewer: &Viewer) -> ApiResult<()> {
    if viewer.is_admin() {
        Ok(())
    } else if viewer.is_authenticated() {
        Err(ApiError::Forbidden("only an ADMIN may do this".into()))
    } else {
        Err(ApiError::Unauthenticated(
            "this needs a token with the ADMIN role".into(),
        ))
    }
}

// ---------------------------------------------------------------------------
// Write rules. Each returns `Ok(())` when the viewer may make the change;
// otherwise UNAUTHENTICATED for anonymous viewers and FORBIDDEN for others.
// Rows the viewer may not even see (persons, participations) should be
// answered NOT_FOUND by the caller before asking these.

/// The refusal for a viewer: UNAUTHENTICATED without a token, else FORBIDDEN
/// saying who may do `what`.
pub fn refuse(viewer: &Viewer, what: &str) -> ApiError {
    if viewer.is_authenticated() {
        ApiError::Forbidden(what.to_owned())
    } else {
        ApiError::Unauthenticated(format!("sign in first: {what}"))
    }
}

/// The providers of a programme (lead and partners).
pub async fn providers_of_programme(
    db: &impl ConnectionTrait,
    programme_id: Uuid,
) -> ApiResult<Vec<Uuid>> {
    Ok(programme_provider::Entity::find()
        .select_only()
        .column(programme_provider::Column::ProviderId)
        .filter(programme_provider::Column::ProgrammeId.eq(programme_id))
        .into_tuple()
        .all(db)
        .await?)
}

/// Whether the viewer acts for one of the programme's providers.
async fn provides(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    programme_id: Uuid,
) -> ApiResult<bool> {
    let mine = viewer.providers();
    if mine.is_empty() {
        return Ok(false);
    }
    let theirs = providers_of_programme(db, programme_id).await?;
    Ok(mine.iter().any(|p| theirs.contains(p)))
}

/// A programme, its milestones, runs and sessions are changed by ADMIN and
/// by the programme's own providers (lead or partner).
pub async fn may_write_programme(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    programme_id: Uuid,
) -> ApiResult<()> {
    if viewer.is_admin() || provides(db, viewer, programme_id).await? {
        Ok(())
    } else {
        Err(refuse(
            viewer,
            "only ADMIN and the programme's providers may change a programme, its runs and sessions",
        ))
    }
}

/// The provider a new programme is registered under (as its lead), checked
/// against the viewer: ADMIN may name any provider or none; a PROVIDER may
/// name only its own, and without a name gets its own (if it has one).
pub fn lead_for_new_programme(
    viewer: &Viewer,
    requested: Option<Uuid>,
    field: &str,
) -> ApiResult<Option<Uuid>> {
    if viewer.is_admin() {
        return Ok(requested);
    }
    let mine = viewer.providers();
    match (requested, mine.as_slice()) {
        (_, []) => Err(refuse(
            viewer,
            "only ADMIN and providers may create programmes",
        )),
        (Some(p), _) if mine.contains(&p) => Ok(Some(p)),
        (Some(_), _) => Err(ApiError::Forbidden(format!(
            "`{field}` is not a provider you act for"
        ))),
        (None, [one]) => Ok(Some(*one)),
        (None, _) => Err(ApiError::bad_input(
            field,
            format!("you act for several providers: name one in `{field}`"),
        )),
    }
}

/// Networks and their members are managed by ADMIN, and by a FUNDER whose
/// office covers the network's county (`None`: a national network, ADMIN
/// only).
pub async fn may_manage_network(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    county_id: Option<Uuid>,
) -> ApiResult<()> {
    if viewer.is_admin() {
        return Ok(());
    }
    let offices = viewer.funder_offices();
    if let (Some(county), false) = (county_id, offices.is_empty()) {
        let covered = funder_office_county::Entity::find()
            .filter(funder_office_county::Column::FunderOfficeId.is_in(offices))
            .filter(funder_office_county::Column::CountyId.eq(county))
            .one(db)
            .await?
            .is_some();
        if covered {
            return Ok(());
        }
    }
    Err(refuse(
        viewer,
        "only ADMIN, and funders for networks in their office's counties, may manage a network",
    ))
}

/// A provider's own details (its contact details) are changed by ADMIN
/// and by the provider itself (PROVIDER scoped to it).
pub fn may_edit_provider(viewer: &Viewer, provider_id: Uuid) -> ApiResult<()> {
    if viewer.is_admin() || viewer.providers().contains(&provider_id) {
        Ok(())
    } else {
        Err(refuse(
            viewer,
            "only ADMIN and the provider itself may change its details",
        ))
    }
}

/// A service's staff (persons) are registered and changed by ADMIN and by
/// the service's LEADER.
pub fn may_manage_staff(viewer: &Viewer, service_id: Uuid) -> ApiResult<()> {
    if viewer.is_admin() || viewer.led_services().contains(&service_id) {
        Ok(())
    } else {
        Err(refuse(
            viewer,
            "only ADMIN and the service's leader may manage its staff",
        ))
    }
}

/// Enrolling a service in a run, signing its staff up and recording their
/// attendance is for ADMIN, the service's LEADER and the run's PROVIDER.
pub async fn may_write_participation(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    programme_id: Uuid,
    service_id: Uuid,
) -> ApiResult<()> {
    if viewer.is_admin()
        || viewer.led_services().contains(&service_id)
        || provides(db, viewer, programme_id).await?
    {
        Ok(())
    } else {
        Err(refuse(
            viewer,
            "only ADMIN, the service's leader and the run's provider may do this",
        ))
    }
}

/// A condition no row meets.
pub(crate) fn nothing() -> Condition {
    Condition::all().add(Expr::val(1).eq(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn admin_rights_are_checked() {
        assert_eq!(
            require_admin(&Viewer::anonymous()).unwrap_err().code(),
            "UNAUTHENTICATED"
        );
        let leader = Viewer::new(
            "l",
            vec![Scope::Leader {
                service_id: Uuid::now_v7(),
            }],
        );
        assert_eq!(require_admin(&leader).unwrap_err().code(), "FORBIDDEN");
        assert!(require_admin(&Viewer::new("a", vec![Scope::Admin])).is_ok());
    }
}

/// What a change to a person's record touches, for [`may_update_person`].
#[derive(Debug, Clone, Copy, Default)]
pub struct PersonChange {
    /// The name or the e-mail address.
    pub contact: bool,
    /// The job title or the leader flag.
    pub employment: bool,
}

/// Updating a person's record: ADMIN and the leader of the person's service
/// may change all of it; the person (STAFF) may correct their own name and
/// e-mail address (rectification), and nothing else.
pub fn may_update_person(
    viewer: &Viewer,
    row: &person::Model,
    change: PersonChange,
) -> ApiResult<()> {
    if may_manage_staff(viewer, row.service_id).is_ok() {
        return Ok(());
    }
    let own = viewer
        .scopes
        .iter()
        .any(|s| matches!(*s, Scope::Staff { person_id } if person_id == row.id));
    if own && !change.employment {
        Ok(())
    } else if own {
        Err(refuse(
            viewer,
            "a person may correct their own name and e-mail address; the job title and the leader flag are for their service's leader",
        ))
    } else {
        may_manage_staff(viewer, row.service_id)
    }
}
