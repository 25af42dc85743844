//! Who has full rights on the facts behind statistics, and who sees
//! granted amounts.
//!
//! Statistics count facts about people: participations (participants,
//! completions) and attendance records. Each such fact either lies within
//! the viewer's rights ("own": ADMIN everything; a LEADER the people of its
//! service; a PROVIDER the people in runs of its programmes, lead or
//! partner; a FUNDER the people of services that cover a municipality in a
//! county of its office) or not. A figure is computed twice in SQL: in
//! full, and over the viewer's own facts only ([`own_people_facts`]); the
//! two go through [`super::disclosure`], which decides what is shown.

use sea_orm::Condition;
use sea_orm::sea_query::{Expr, ExprTrait, Query, SelectStatement};
use uuid::Uuid;

use crate::auth::{Scope, Viewer};
use entity::{funder_office_county, programme_provider, service_area};

/// Which facts about people a viewer has full rights to.
#[derive(Debug, Clone)]
pub enum FactRights {
    /// All facts (ADMIN): nothing is suppressed.
    All,
    /// No facts (anonymous, STAFF): every small count is suppressed.
    Nothing,
    /// The facts meeting this SQL condition.
    Some(Condition),
}

/// The people facts (participations, attendance records) the viewer has
/// full rights to, as a SQL condition over the fact's run programme
/// (`programme`, a programme id) and the person's service (`service`, a
/// service id). `services_of_offices` gives the services covering a
/// municipality in a county of the given funder offices (a subquery
/// selecting service ids), so that a FUNDER's rights follow the same
/// (history-aware) coverage as the statistics themselves.
pub fn own_people_facts(
    viewer: &Viewer,
    programme: Expr,
    service: Expr,
    services_of_offices: impl Fn(&[Uuid]) -> SelectStatement,
) -> FactRights {
    if viewer.is_admin() {
        return FactRights::All;
    }
    let mut any = Condition::any();
    let mut some = false;
    for scope in &viewer.scopes {
        match *scope {
            Scope::Admin => return FactRights::All,
            Scope::Leader { service_id } => {
                any = any.add(service.clone().eq(service_id));
                some = true;
            }
            Scope::Provider { provider_id } => {
                any = any.add(
                    programme.clone().in_subquery(
                        Query::select()
                            .column(programme_provider::Column::ProgrammeId)
                            .from(programme_provider::Entity)
                            .and_where(
                                Expr::col(programme_provider::Column::ProviderId).eq(provider_id),
                            )
                            .to_owned(),
                    ),
                );
                some = true;
            }
            Scope::Funder { funder_office_id } => {
                any = any.add(
                    service
                        .clone()
                        .in_subquery(services_of_offices(&[funder_office_id])),
                );
                some = true;
            }
            Scope::Staff { .. } => {}
        }
    }
    if some {
        FactRights::Some(any)
    } else {
        FactRights::Nothing
    }
}

impl FactRights {
    /// The rights as a number per fact row: 1 within them, 0 outside.
    pub fn flag(&self) -> Expr {
        match self {
            FactRights::All => Expr::cust("1"),
            FactRights::Nothing => Expr::cust("0"),
            FactRights::Some(cond) => Expr::case(cond.clone(), 1).finally(0).into(),
        }
    }
}

/// Whether the viewer may see granted amounts in statistics at all: those
/// who may see some grants (see [`super::visible_grants`], whose rule the
/// sums follow): everyone but anonymous and STAFF viewers.
pub fn sees_grant_sums(viewer: &Viewer) -> bool {
    viewer
        .scopes
        .iter()
        .any(|s| !matches!(s, Scope::Staff { .. }))
}

/// The services covering a municipality in a county of the given funder
/// offices (a subquery selecting service ids), by the same
/// (history-aware) `service_area` as the statistics themselves.
pub fn services_of_offices(offices: &[Uuid]) -> SelectStatement {
    Query::select()
        .column(service_area::Column::ServiceId)
        .from(service_area::Entity)
        .and_where(
            Expr::col(service_area::Column::CountyId).in_subquery(
                Query::select()
                    .column(funder_office_county::Column::CountyId)
                    .from(funder_office_county::Entity)
                    .and_where(
                        Expr::col(funder_office_county::Column::FunderOfficeId)
                            .is_in(offices.iter().copied()),
                    )
                    .to_owned(),
            ),
        )
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::sea_query::{PostgresQueryBuilder, SqliteQueryBuilder};

    fn rights(viewer: &Viewer) -> FactRights {
        own_people_facts(
            viewer,
            Expr::col(("r", "programme_id")),
            Expr::col(("pe", "service_id")),
            |offices| {
                Query::select()
                    .column("service_id")
                    .from("area")
                    .and_where(Expr::col("office_id").is_in(offices.iter().copied()))
                    .to_owned()
            },
        )
    }

    #[test]
    fn rights_follow_the_scopes() {
        assert!(matches!(rights(&Viewer::anonymous()), FactRights::Nothing));
        let staff = Viewer::new(
            "s",
            vec![Scope::Staff {
                person_id: Uuid::nil(),
            }],
        );
        assert!(matches!(rights(&staff), FactRights::Nothing));
        assert!(matches!(
            rights(&Viewer::new("a", vec![Scope::Admin])),
            FactRights::All
        ));
        let provider = Viewer::new(
            "p",
            vec![Scope::Provider {
                provider_id: Uuid::nil(),
            }],
        );
        let FactRights::Some(cond) = rights(&provider) else {
            panic!("provider has some rights");
        };
        let sql = Query::select()
            .expr(Expr::val(1))
            .cond_where(cond)
            .to_string(PostgresQueryBuilder);
        assert!(
            sql.contains(
                "\"r\".\"programme_id\" IN (SELECT \"programme_id\" FROM \"programme_provider\""
            ),
            "{sql}"
        );
        let both = Viewer::new(
            "lf",
            vec![
                Scope::Leader {
                    service_id: Uuid::nil(),
                },
                Scope::Funder {
                    funder_office_id: Uuid::nil(),
                },
            ],
        );
        let FactRights::Some(cond) = rights(&both) else {
            panic!("leader and funder have some rights");
        };
        let sql = Query::select()
            .expr(Expr::val(1))
            .cond_where(cond)
            .to_string(SqliteQueryBuilder);
        assert!(sql.contains("\"pe\".\"service_id\" = "), "{sql}");
        assert!(sql.contains(" OR "), "{sql}");
        assert!(sql.contains("FROM \"area\""), "{sql}");
    }

    #[test]
    fn grant_sums_are_for_those_who_see_grants() {
        assert!(!sees_grant_sums(&Viewer::anonymous()));
        let staff = Viewer::new(
            "s",
            vec![Scope::Staff {
                person_id: Uuid::nil(),
            }],
        );
        assert!(!sees_grant_sums(&staff));
        assert!(sees_grant_sums(&Viewer::new("a", vec![Scope::Admin])));
        let leader = Viewer::new(
            "l",
            vec![Scope::Leader {
                service_id: Uuid::nil(),
            }],
        );
        assert!(sees_grant_sums(&leader));
    }
}
