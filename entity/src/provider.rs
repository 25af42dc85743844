//! `provider`: an organisation that provides competence-development
//! programmes (for example an RVTS or a national competence centre).

use sea_orm::entity::prelude::*;

use crate::enums::ProviderKind;

/// A programme provider.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "provider")]
pub struct Model {
    /// Primary key (UUID v7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// URL-safe identifier, unique.
    #[sea_orm(column_type = "String(StringLen::N(80))", unique)]
    pub slug: String,
    /// Nine-digit organisation number (organisasjonsnummer), unique when set.
    #[sea_orm(column_type = "Char(Some(9))", nullable, unique)]
    pub org_number: Option<String>,
    /// Full name.
    pub name: String,
    /// Short name or abbreviation (e.g. "RVTS Øst"), unique.
    #[sea_orm(unique)]
    pub short_name: String,
    /// Kind of organisation.
    pub kind: ProviderKind,
    /// Former names: JSON array of strings (see [`crate::decode_json_list`]).
    #[sea_orm(column_type = "Text")]
    pub former_names: String,
    /// Free-text description.
    #[sea_orm(column_type = "Text", nullable)]
    pub description: Option<String>,
    /// Website (an `https://` URL).
    #[sea_orm(column_type = "Text", nullable)]
    pub website: Option<String>,
    /// The provider's general e-mail address (not a person's).
    #[sea_orm(column_type = "Text", nullable)]
    pub email: Option<String>,
    /// Telephone number, as written (e.g. "23 20 58 00").
    #[sea_orm(column_type = "Text", nullable)]
    pub phone: Option<String>,
    /// Visiting address (besøksadresse), one line.
    #[sea_orm(column_type = "Text", nullable)]
    pub visiting_address: Option<String>,
    /// Postal address (postadresse), one line.
    #[sea_orm(column_type = "Text", nullable)]
    pub postal_address: Option<String>,
    /// Optimistic-locking version, incremented on every update.
    pub version: i32,
    /// When the row was created.
    pub created_at: DateTimeUtc,
    /// When the row was last updated.
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// Links to the counties in the provider's region.
    #[sea_orm(
        has_many = "super::provider_region::Entity",
        via_rel = "Relation::Provider"
    )]
    ProviderRegion,
    /// Links to the programmes the provider takes part in.
    #[sea_orm(
        has_many = "super::programme_provider::Entity",
        via_rel = "Relation::Provider"
    )]
    ProgrammeProvider,
    /// Role assignments scoped to the provider.
    #[sea_orm(
        has_many = "super::role_assignment::Entity",
        via_rel = "Relation::Provider"
    )]
    RoleAssignment,
}

impl Related<super::provider_region::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ProviderRegion.def()
    }
}

impl Related<super::programme_provider::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ProgrammeProvider.def()
    }
}

impl Related<super::role_assignment::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::RoleAssignment.def()
    }
}

/// Counties in the provider's region, via `provider_region`.
impl Related<super::county::Entity> for Entity {
    fn to() -> RelationDef {
        super::provider_region::Relation::County.def()
    }

    fn via() -> Option<RelationDef> {
        Some(super::provider_region::Relation::Provider.def().rev())
    }
}

/// Programmes the provider takes part in, via `programme_provider`.
impl Related<super::programme::Entity> for Entity {
    fn to() -> RelationDef {
        super::programme_provider::Relation::Programme.def()
    }

    fn via() -> Option<RelationDef> {
        Some(super::programme_provider::Relation::Provider.def().rev())
    }
}

impl ActiveModelBehavior for ActiveModel {}
