//! `funding_grant`: a grant (tilskudd) application and its processing by a
//! funder office.

use sea_orm::entity::prelude::*;

use crate::enums::GrantStatus;

/// A funding grant. The recipient is a service, a municipality or a network;
/// the grant may be for a specific run and/or programme.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "funding_grant")]
pub struct Model {
    /// Primary key (UUID v7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The funder office administering the grant.
    pub funder_office_id: Uuid,
    /// Recipient service.
    pub recipient_service_id: Option<Uuid>,
    /// Recipient municipality.
    pub recipient_municipality_id: Option<Uuid>,
    /// Recipient network.
    pub recipient_network_id: Option<Uuid>,
    /// The programme run the grant is for.
    pub run_id: Option<Uuid>,
    /// The programme the grant is for.
    pub programme_id: Option<Uuid>,
    /// What the grant is for.
    #[sea_orm(column_type = "Text")]
    pub purpose: String,
    /// Grant year.
    pub year: i32,
    /// Amount applied for, in whole NOK.
    pub amount_applied: Option<i64>,
    /// Amount granted, in whole NOK.
    pub amount_granted: Option<i64>,
    /// Processing status.
    pub status: GrantStatus,
    /// Reason given with the decision.
    #[sea_orm(column_type = "Text", nullable)]
    pub decision_reason: Option<String>,
    /// When the application was submitted.
    pub submitted_at: Option<DateTimeUtc>,
    /// When the application was decided.
    pub decided_at: Option<DateTimeUtc>,
    /// When the grant was paid out.
    pub paid_at: Option<DateTimeUtc>,
    /// When the recipient reported on the grant.
    pub reported_at: Option<DateTimeUtc>,
    /// The recipient's report.
    #[sea_orm(column_type = "Text", nullable)]
    pub report_text: Option<String>,
    /// Number of participants stated in the report.
    pub report_participants: Option<i32>,
    /// Where the data came from.
    pub source: Option<String>,
    /// Optimistic-locking version, incremented on every update.
    pub version: i32,
    /// When the row was created.
    pub created_at: DateTimeUtc,
    /// When the row was last updated.
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The funder office (`funder_office_id`).
    #[sea_orm(
        belongs_to = "super::funder_office::Entity",
        from = "Column::FunderOfficeId",
        to = "super::funder_office::Column::Id",
        on_update = "Cascade",
        on_delete = "Restrict"
    )]
    FunderOffice,
    /// The recipient service (`recipient_service_id`).
    #[sea_orm(
        belongs_to = "super::service::Entity",
        from = "Column::RecipientServiceId",
        to = "super::service::Column::Id",
        on_update = "Cascade",
        on_delete = "Restrict"
    )]
    RecipientService,
    /// The recipient municipality (`recipient_municipality_id`).
    #[sea_orm(
        belongs_to = "super::municipality::Entity",
        from = "Column::RecipientMunicipalityId",
        to = "super::municipality::Column::Id",
        on_update = "Cascade",
        on_delete = "Restrict"
    )]
    RecipientMunicipality,
    /// The recipient network (`recipient_network_id`).
    #[sea_orm(
        belongs_to = "super::network::Entity",
        from = "Column::RecipientNetworkId",
        to = "super::network::Column::Id",
        on_update = "Cascade",
        on_delete = "Restrict"
    )]
    RecipientNetwork,
    /// The programme run (`run_id`).
    #[sea_orm(
        belongs_to = "super::programme_run::Entity",
        from = "Column::RunId",
        to = "super::programme_run::Column::Id",
        on_update = "Cascade",
        on_delete = "Restrict"
    )]
    Run,
    /// The programme (`programme_id`).
    #[sea_orm(
        belongs_to = "super::programme::Entity",
        from = "Column::ProgrammeId",
        to = "super::programme::Column::Id",
        on_update = "Cascade",
        on_delete = "Restrict"
    )]
    Programme,
}

impl Related<super::funder_office::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::FunderOffice.def()
    }
}

impl Related<super::service::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::RecipientService.def()
    }
}

impl Related<super::municipality::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::RecipientMunicipality.def()
    }
}

impl Related<super::network::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::RecipientNetwork.def()
    }
}

impl Related<super::programme_run::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Run.def()
    }
}

impl Related<super::programme::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Programme.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
