//! Who may see and change grants (funding applications and decisions of
//! Statsforvalteren).

use entity::{funding_grant, network, programme_provider, programme_run};
use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, Condition};

use super::nothing;
use crate::auth::{Scope, Viewer};

/// The grants a viewer may see, as a SQL condition on `funding_grant`:
/// a funder office its own office's grants, a leader its service's (and
/// those of networks its service coordinates), a provider the grants that
/// name its programmes or their runs, an admin all.
pub fn visible_grants(viewer: &Viewer) -> Condition {
    let mut any = Condition::any();
    for scope in &viewer.scopes {
        any = any.add(match *scope {
            Scope::Admin => return Condition::all(),
            Scope::Funder { funder_office_id } => {
                Condition::all().add(funding_grant::Column::FunderOfficeId.eq(funder_office_id))
            }
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
                    )
            }
            Scope::Staff { .. } => nothing(),
        });
    }
    if viewer.scopes.is_empty() {
        nothing()
    } else {
        any
    }
}
