//! Role assignments (who may act in which role, for subjects whose tokens
//! carry no role) and the audit log: ADMIN only.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::enums::Role;
use entity::{audit_log, role_assignment};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set,
};
use serde_json::json;
use uuid::Uuid;

use crate::audit::{self, Change};
use crate::auth::authenticate::scope_exists;
use crate::auth::{Scope, policy, viewer};
use crate::domain::funding::FunderOffice;
use crate::domain::people::Person;
use crate::domain::provider::Provider;
use crate::domain::service::Service;
use crate::error::{ApiError, ApiResult};
use crate::graphql::pagination::{Conn, PageArgs, desc, page_cost, paginate};
use crate::graphql::{ContextExt, id};

/// Longest subject accepted.
const MAX_SUBJECT_LEN: usize = 255;

/// A role granted to a subject.
pub struct RoleAssignment(pub role_assignment::Model);

impl From<role_assignment::Model> for RoleAssignment {
    fn from(m: role_assignment::Model) -> Self {
        Self(m)
    }
}

/// A role granted to a subject (the `sub` of tokens from an outside
/// identity provider), with the scope it acts for. Managed by ADMIN.
#[Object]
impl RoleAssignment {
    /// Global id (use with `node`).
    pub async fn id(&self) -> ID {
        id::encode("RoleAssignment", self.0.id)
    }
    /// The token subject the role is granted to.
    async fn subject(&self) -> &str {
        &self.0.subject
    }
    /// The role.
    async fn role(&self) -> Role {
        self.0.role
    }
    /// The service, for a LEADER.
    async fn service(&self, ctx: &Context<'_>) -> ApiResult<Option<Service>> {
        match self.0.service_id {
            Some(id) => Ok(ctx.loaders()?.service.load_one(id).await?.map(Into::into)),
            None => Ok(None),
        }
    }
    /// The provider, for a PROVIDER.
    async fn provider(&self, ctx: &Context<'_>) -> ApiResult<Option<Provider>> {
        match self.0.provider_id {
            Some(id) => Ok(ctx.loaders()?.provider.load_one(id).await?.map(Into::into)),
            None => Ok(None),
        }
    }
    /// The county governor's office, for a FUNDER.
    async fn funder_office(&self, ctx: &Context<'_>) -> ApiResult<Option<FunderOffice>> {
        match self.0.funder_office_id {
            Some(id) => Ok(ctx
                .loaders()?
                .funder_office
                .load_one(id)
                .await?
                .map(Into::into)),
            None => Ok(None),
        }
    }
    /// The person, for STAFF.
    async fn person(&self, ctx: &Context<'_>) -> ApiResult<Option<Person>> {
        match self.0.person_id {
            Some(id) => Ok(ctx.loaders()?.person.load_one(id).await?.map(Person)),
            None => Ok(None),
        }
    }
    /// The row's version, for `revokeRole`.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When the role was granted.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// One entry of the audit log.
pub struct AuditEntry(pub audit_log::Model);

impl From<audit_log::Model> for AuditEntry {
    fn from(m: audit_log::Model) -> Self {
        Self(m)
    }
}

/// One entry of the audit log: who changed what, in which role, when.
#[Object]
impl AuditEntry {
    /// When the change was made.
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
    /// The subject of the token that made it.
    async fn subject(&self) -> Option<&str> {
        self.0.subject.as_deref()
    }
    /// The role that allowed it.
    async fn role(&self) -> Option<Role> {
        self.0.role
    }
    /// The mutation, e.g. `assignRole`.
    async fn action(&self) -> &str {
        &self.0.action
    }
    /// The type of the changed object, e.g. `RoleAssignment`.
    async fn entity_type(&self) -> &str {
        &self.0.entity_type
    }
    /// The global id of the changed object.
    async fn entity_id(&self) -> Option<ID> {
        self.0
            .entity_id
            .map(|key| id::encode(&self.0.entity_type, key))
    }
    /// The change as JSON: `{"before": …, "after": …}`.
    async fn change(&self) -> async_graphql::Json<serde_json::Value> {
        async_graphql::Json(serde_json::from_str(&self.0.change).unwrap_or(serde_json::Value::Null))
    }
}

/// Which role assignments to list.
#[derive(Debug, Default, InputObject)]
pub struct RoleAssignmentFilter {
    /// Only this subject.
    pub subject: Option<String>,
    /// Only this role.
    pub role: Option<Role>,
}

/// Which audit entries to list.
#[derive(Debug, Default, InputObject)]
pub struct AuditFilter {
    /// Only changes to objects of this type, e.g. `RoleAssignment`.
    pub entity_type: Option<String>,
    /// Only changes to this object (its global id).
    pub entity: Option<ID>,
    /// Only changes made by this subject.
    pub subject: Option<String>,
}

/// Root fields of access management (ADMIN only).
#[derive(Default)]
pub struct AssignmentQuery;

#[Object]
impl AssignmentQuery {
    /// Role assignments, newest first. ADMIN only.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn role_assignments(
        &self,
        ctx: &Context<'_>,
        filter: Option<RoleAssignmentFilter>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> ApiResult<Conn<RoleAssignment>> {
        policy::require_admin(viewer(ctx)?)?;
        let filter = filter.unwrap_or_default();
        let mut select = role_assignment::Entity::find();
        if let Some(subject) = filter.subject {
            select = select.filter(role_assignment::Column::Subject.eq(subject));
        }
        if let Some(role) = filter.role {
            select = select.filter(role_assignment::Column::Role.eq(role));
        }
        paginate(
            ctx.db()?,
            select,
            &[desc(role_assignment::Column::Id)],
            &PageArgs::new(after, before, first, last),
            ctx.limits()?,
        )
        .await
    }

    /// The audit log, newest first. ADMIN only.
    #[graphql(complexity = "page_cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        filter: Option<AuditFilter>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
    ) -> ApiResult<Conn<AuditEntry>> {
        policy::require_admin(viewer(ctx)?)?;
        let filter = filter.unwrap_or_default();
        let mut select = audit_log::Entity::find();
        if let Some(t) = filter.entity_type {
            select = select.filter(audit_log::Column::EntityType.eq(t));
        }
        if let Some(entity) = filter.entity {
            let (type_name, key) = id::decode(&entity, "filter.entity")?;
            select = select
                .filter(audit_log::Column::EntityType.eq(type_name))
                .filter(audit_log::Column::EntityId.eq(key));
        }
        if let Some(subject) = filter.subject {
            select = select.filter(audit_log::Column::Subject.eq(subject));
        }
        paginate(
            ctx.db()?,
            select,
            &[desc(audit_log::Column::At), desc(audit_log::Column::Id)],
            &PageArgs::new(after, before, first, last),
            ctx.limits()?,
        )
        .await
    }
}

/// A role to grant.
#[derive(Debug, InputObject)]
pub struct AssignRoleInput {
    /// The token subject (`sub`) to grant it to.
    pub subject: String,
    /// The role.
    pub role: Role,
    /// The service (global id), for LEADER.
    pub service: Option<ID>,
    /// The provider (global id), for PROVIDER.
    pub provider: Option<ID>,
    /// The county governor's office (global id), for FUNDER.
    pub funder_office: Option<ID>,
    /// The person (global id), for STAFF.
    pub person: Option<ID>,
}

/// A role assignment to remove.
#[derive(Debug, InputObject)]
pub struct RevokeRoleInput {
    /// The assignment's global id.
    pub id: ID,
    /// The version last read; a stale one is CONFLICT.
    pub version: i32,
}

/// The result of `assignRole`.
#[derive(SimpleObject)]
pub struct AssignRolePayload {
    /// The new assignment.
    pub role_assignment: RoleAssignment,
}

/// The result of `revokeRole`.
#[derive(SimpleObject)]
pub struct RevokeRolePayload {
    /// The global id of the removed assignment.
    pub revoked_id: ID,
}

/// Mutations of access management (ADMIN only).
#[derive(Default)]
pub struct AssignmentMutation;

#[Object]
impl AssignmentMutation {
    /// Grants a role to a subject. ADMIN only. The scope must fit the role
    /// (a LEADER needs `service`, a PROVIDER `provider`, a FUNDER
    /// `funderOffice`, STAFF `person`, ADMIN none); granting the same role
    /// and scope twice is CONFLICT.
    async fn assign_role(
        &self,
        ctx: &Context<'_>,
        input: AssignRoleInput,
    ) -> ApiResult<AssignRolePayload> {
        let viewer = viewer(ctx)?.clone();
        policy::require_admin(&viewer)?;
        let subject = input.subject.trim().to_owned();
        if subject.is_empty() || subject.len() > MAX_SUBJECT_LEN {
            return Err(ApiError::bad_input(
                "input.subject",
                format!("the subject must be 1 to {MAX_SUBJECT_LEN} characters"),
            ));
        }
        // The one scope input the role takes: (its field, its type, its value).
        let (field, type_name, raw) = match input.role {
            Role::Admin => ("input", "", None),
            Role::Leader => ("input.service", "Service", input.service.as_ref()),
            Role::Provider => ("input.provider", "Provider", input.provider.as_ref()),
            Role::Funder => (
                "input.funderOffice",
                "FunderOffice",
                input.funder_office.as_ref(),
            ),
            Role::Staff => ("input.person", "Person", input.person.as_ref()),
        };
        let given = [
            &input.service,
            &input.provider,
            &input.funder_office,
            &input.person,
        ]
        .iter()
        .filter(|g| g.is_some())
        .count();
        let fits = match input.role {
            Role::Admin => given == 0,
            _ => given == 1 && raw.is_some(),
        };
        if !fits {
            let message = match input.role {
                Role::Admin => "an ADMIN role takes no scope".to_owned(),
                role => format!(
                    "a {role} role needs `{}` and no other scope",
                    field.trim_start_matches("input.")
                ),
            };
            return Err(ApiError::bad_input(field, message));
        }
        let scope = match raw {
            None => Scope::Admin,
            Some(raw) => {
                let key = id::decode_as(raw, type_name, field)?;
                match input.role {
                    Role::Leader => Scope::Leader { service_id: key },
                    Role::Provider => Scope::Provider { provider_id: key },
                    Role::Funder => Scope::Funder {
                        funder_office_id: key,
                    },
                    Role::Staff => Scope::Staff { person_id: key },
                    Role::Admin => Scope::Admin,
                }
            }
        };

        let txn = crate::domain::write::begin(ctx.db()?).await?;
        if !scope_exists(&txn, scope).await? {
            return Err(ApiError::bad_input(
                field,
                format!("`{field}` names no {type_name}"),
            ));
        }
        let scopes = scope_columns(scope);
        if duplicate_exists(&txn, &subject, input.role, scopes).await? {
            return Err(already_assigned());
        }
        let now = Utc::now();
        let row = role_assignment::ActiveModel {
            id: Set(Uuid::now_v7()),
            subject: Set(subject),
            role: Set(input.role),
            service_id: Set(scopes[0]),
            provider_id: Set(scopes[1]),
            funder_office_id: Set(scopes[2]),
            person_id: Set(scopes[3]),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
        };
        // The unique indexes settle a race between two identical grants
        // that both passed the check above.
        let row = row.insert(&txn).await.map_err(|err| match err.sql_err() {
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => already_assigned(),
            _ => err.into(),
        })?;
        audit::record(
            &txn,
            &viewer,
            Change {
                action: "assignRole",
                entity_type: "RoleAssignment",
                entity_id: row.id,
                change: json!({ "before": null, "after": assignment_json(&row) }),
            },
        )
        .await?;
        crate::domain::write::commit(txn).await?;
        Ok(AssignRolePayload {
            role_assignment: RoleAssignment(row),
        })
    }

    /// Removes a role assignment. ADMIN only. A stale `version` is
    /// CONFLICT and changes nothing. The audit log keeps what it was.
    async fn revoke_role(
        &self,
        ctx: &Context<'_>,
        input: RevokeRoleInput,
    ) -> ApiResult<RevokeRolePayload> {
        let viewer = viewer(ctx)?.clone();
        policy::require_admin(&viewer)?;
        let key = id::decode_as(&input.id, "RoleAssignment", "input.id")?;
        let txn = crate::domain::write::begin(ctx.db()?).await?;
        let row = role_assignment::Entity::find_by_id(key)
            .one(&txn)
            .await?
            .ok_or_else(|| ApiError::not_found("role assignment"))?;
        // Delete only the version the client saw: a concurrent change makes
        // this affect no row.
        let deleted = role_assignment::Entity::delete_many()
            .filter(role_assignment::Column::Id.eq(key))
            .filter(role_assignment::Column::Version.eq(input.version))
            .exec(&txn)
            .await?;
        if deleted.rows_affected == 0 {
            return Err(ApiError::Conflict(format!(
                "the role assignment is at version {}, not {}",
                row.version, input.version
            )));
        }
        audit::record(
            &txn,
            &viewer,
            Change {
                action: "revokeRole",
                entity_type: "RoleAssignment",
                entity_id: row.id,
                change: json!({ "before": assignment_json(&row), "after": null }),
            },
        )
        .await?;
        crate::domain::write::commit(txn).await?;
        Ok(RevokeRolePayload {
            revoked_id: id::encode("RoleAssignment", key),
        })
    }
}

/// Whether the subject already has this role with this scope
/// (`[service, provider, funder office, person]`).
async fn duplicate_exists(
    db: &impl ConnectionTrait,
    subject: &str,
    role: Role,
    scopes: [Option<Uuid>; 4],
) -> ApiResult<bool> {
    let mut q = role_assignment::Entity::find()
        .filter(role_assignment::Column::Subject.eq(subject))
        .filter(role_assignment::Column::Role.eq(role));
    let columns = [
        role_assignment::Column::ServiceId,
        role_assignment::Column::ProviderId,
        role_assignment::Column::FunderOfficeId,
        role_assignment::Column::PersonId,
    ];
    for (col, value) in columns.into_iter().zip(scopes) {
        q = match value {
            Some(v) => q.filter(col.eq(v)),
            None => q.filter(col.is_null()),
        };
    }
    Ok(q.count(db).await? > 0)
}

/// The scope as the columns `[service, provider, funder office, person]`.
fn scope_columns(scope: Scope) -> [Option<Uuid>; 4] {
    match scope {
        Scope::Admin => [None; 4],
        Scope::Leader { service_id } => [Some(service_id), None, None, None],
        Scope::Provider { provider_id } => [None, Some(provider_id), None, None],
        Scope::Funder { funder_office_id } => [None, None, Some(funder_office_id), None],
        Scope::Staff { person_id } => [None, None, None, Some(person_id)],
    }
}

fn assignment_json(row: &role_assignment::Model) -> serde_json::Value {
    json!({
        "subject": row.subject,
        "role": row.role,
        "serviceId": row.service_id,
        "providerId": row.provider_id,
        "funderOfficeId": row.funder_office_id,
        "personId": row.person_id,
        "version": row.version,
    })
}

fn already_assigned() -> ApiError {
    ApiError::Conflict("the subject already has this role and scope".into())
}
