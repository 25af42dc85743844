//! `funder_office`: a public office that administers grants
//! (tilskuddsforvalter), typically a county governor (statsforvalter).

use sea_orm::entity::prelude::*;

/// A funder office.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "funder_office")]
pub struct Model {
    /// Primary key (UUID v7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Nine-digit organisation number (organisasjonsnummer), unique.
    #[sea_orm(column_type = "Char(Some(9))", unique)]
    pub org_number: String,
    /// Common name, unique.
    #[sea_orm(unique)]
    pub name: String,
    /// Name in the register of legal entities (Enhetsregisteret).
    pub registered_name: String,
    /// Former names: JSON array of strings (see [`crate::decode_json_list`]).
    #[sea_orm(column_type = "Text")]
    pub former_names: String,
    /// Path segment of the office's web site, if any.
    pub web_slug: Option<String>,
    /// Optimistic-locking version, incremented on every update.
    pub version: i32,
    /// When the row was created.
    pub created_at: DateTimeUtc,
    /// When the row was last updated.
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// Links to the counties the office covers.
    #[sea_orm(
        has_many = "super::funder_office_county::Entity",
        via_rel = "Relation::FunderOffice"
    )]
    FunderOfficeCounty,
    /// Grants administered by the office.
    #[sea_orm(
        has_many = "super::funding_grant::Entity",
        via_rel = "Relation::FunderOffice"
    )]
    FundingGrant,
    /// Role assignments scoped to the office.
    #[sea_orm(
        has_many = "super::role_assignment::Entity",
        via_rel = "Relation::FunderOffice"
    )]
    RoleAssignment,
}

impl Related<super::funder_office_county::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::FunderOfficeCounty.def()
    }
}

impl Related<super::funding_grant::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::FundingGrant.def()
    }
}

impl Related<super::role_assignment::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::RoleAssignment.def()
    }
}

/// Counties the office covers, via `funder_office_county`.
impl Related<super::county::Entity> for Entity {
    fn to() -> RelationDef {
        super::funder_office_county::Relation::County.def()
    }

    fn via() -> Option<RelationDef> {
        Some(
            super::funder_office_county::Relation::FunderOffice
                .def()
                .rev(),
        )
    }
}

impl ActiveModelBehavior for ActiveModel {}
