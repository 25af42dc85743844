//! `person`: a person working in a service (personal data).

use sea_orm::entity::prelude::*;

/// A person.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "person")]
pub struct Model {
    /// Primary key (UUID v7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The service the person works in.
    pub service_id: Uuid,
    /// Full name.
    pub name: String,
    /// E-mail address.
    pub email: Option<String>,
    /// Job title (stillingstittel).
    pub job_title: Option<String>,
    /// Whether the person is a leader in the service.
    pub is_leader: bool,
    /// Whether the row is synthetic test data rather than a real person.
    pub synthetic: bool,
    /// The secret record key of disclosure control (the cell key method):
    /// a random whole number in `[0, 2^32)`, drawn once when the person is
    /// created (see `new_record_key`) and never exposed.
    pub record_key: i64,
    /// When the person's personal data was erased (name, e-mail and job
    /// title removed, identity links cut); `None` for a person on record.
    pub erased_at: Option<DateTimeUtc>,
    /// Optimistic-locking version, incremented on every update.
    pub version: i32,
    /// When the row was created.
    pub created_at: DateTimeUtc,
    /// When the row was last updated.
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The service (`service_id`).
    #[sea_orm(
        belongs_to = "super::service::Entity",
        from = "Column::ServiceId",
        to = "super::service::Column::Id",
        on_update = "Cascade",
        on_delete = "Restrict"
    )]
    Service,
    /// The person's participation in programme runs.
    #[sea_orm(
        has_many = "super::participation::Entity",
        via_rel = "Relation::Person"
    )]
    Participation,
    /// The person's attendance records.
    #[sea_orm(has_many = "super::attendance::Entity", via_rel = "Relation::Person")]
    Attendance,
    /// Role assignments scoped to the person.
    #[sea_orm(
        has_many = "super::role_assignment::Entity",
        via_rel = "Relation::Person"
    )]
    RoleAssignment,
}

impl Related<super::service::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Service.def()
    }
}

impl Related<super::participation::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Participation.def()
    }
}

impl Related<super::attendance::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Attendance.def()
    }
}

impl Related<super::role_assignment::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::RoleAssignment.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}

/// A fresh record key: a uniform draw from `[0, 2^32)` from the operating
/// system's random source.
pub fn new_record_key() -> i64 {
    let mut bytes = [0u8; 4];
    // The OS source does not fail on the platforms we run on; should it,
    // a key from the time-ordered UUID's random bits is still unguessable.
    if getrandom::fill(&mut bytes).is_err() {
        let id = Uuid::now_v7();
        bytes.copy_from_slice(&id.as_bytes()[12..16]);
    }
    i64::from(u32::from_le_bytes(bytes))
}
