//! Authentication at the edge: the `Authorization` header becomes a
//! [`Viewer`], once per request.
//!
//! No header: anonymous. A header that is not a valid bearer token is
//! UNAUTHENTICATED (HTTP 401), never a silent fall back to anonymous. A
//! token's role comes from its claims (`role` with `service_id`,
//! `provider_id`, `funder_office_id` or `person_id`); a token with only
//! `sub` (from an outside identity provider) gets the roles assigned to
//! that subject in the database.

use std::sync::Arc;

use entity::enums::Role;
use entity::{funder_office, person, provider, role_assignment, service};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
};
use uuid::Uuid;

use super::token::{Claims, TokenVerifier};
use super::{Scope, Viewer};
use crate::error::{ApiError, ApiResult};

/// Turns request credentials into viewers.
pub struct Authenticator {
    verifier: Arc<TokenVerifier>,
    db: DatabaseConnection,
}

impl Authenticator {
    pub fn new(verifier: Arc<TokenVerifier>, db: DatabaseConnection) -> Self {
        Self { verifier, db }
    }

    /// The viewer for the value of an `Authorization` header (if any).
    pub async fn viewer(&self, authorization: Option<&[u8]>) -> ApiResult<Viewer> {
        let Some(raw) = authorization else {
            return Ok(Viewer::anonymous());
        };
        let header = std::str::from_utf8(raw)
            .map_err(|_| unauthenticated("the Authorization header is not text"))?;
        let (scheme, token) = header.trim().split_once(' ').unwrap_or((header.trim(), ""));
        if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
            return Err(unauthenticated(
                "the Authorization header must be `Bearer <token>`",
            ));
        }
        let claims = self
            .verifier
            .verify(token.trim())
            .await
            .map_err(|e| unauthenticated(&format!("invalid token: {e}")))?;
        let scopes = match claims.role {
            Some(role) => vec![self.scope_from_claims(role, &claims).await?],
            None => self.assigned_scopes(&claims.sub).await?,
        };
        Ok(Viewer::new(claims.sub, scopes))
    }

    /// The scope a token states, checked against the register.
    async fn scope_from_claims(&self, role: Role, claims: &Claims) -> ApiResult<Scope> {
        let need = |id: Option<Uuid>, claim: &str| {
            id.ok_or_else(|| unauthenticated(&format!("a {role} token needs the `{claim}` claim")))
        };
        let scope = match role {
            Role::Admin => Scope::Admin,
            Role::Staff => Scope::Staff {
                person_id: need(claims.person_id, "person_id")?,
            },
            Role::Leader => Scope::Leader {
                service_id: need(claims.service_id, "service_id")?,
            },
            Role::Provider => Scope::Provider {
                provider_id: need(claims.provider_id, "provider_id")?,
            },
            Role::Funder => Scope::Funder {
                funder_office_id: need(claims.funder_office_id, "funder_office_id")?,
            },
        };
        let exists = scope_exists(&self.db, scope).await?;
        if exists {
            Ok(scope)
        } else {
            Err(unauthenticated(&format!(
                "the token's {role} scope names nothing in the register"
            )))
        }
    }

    /// The scopes assigned to a subject in the database.
    async fn assigned_scopes(&self, subject: &str) -> ApiResult<Vec<Scope>> {
        let rows = role_assignment::Entity::find()
            .filter(role_assignment::Column::Subject.eq(subject))
            .all(&self.db)
            .await?;
        Ok(rows.iter().filter_map(scope_of_assignment).collect())
    }
}

/// The scope a role assignment row grants (`None` for an incomplete row).
pub fn scope_of_assignment(row: &role_assignment::Model) -> Option<Scope> {
    let scope = match row.role {
        Role::Admin => Some(Scope::Admin),
        Role::Staff => row.person_id.map(|person_id| Scope::Staff { person_id }),
        Role::Leader => row
            .service_id
            .map(|service_id| Scope::Leader { service_id }),
        Role::Provider => row
            .provider_id
            .map(|provider_id| Scope::Provider { provider_id }),
        Role::Funder => row
            .funder_office_id
            .map(|funder_office_id| Scope::Funder { funder_office_id }),
    };
    if scope.is_none() {
        tracing::warn!(assignment = %row.id, "role assignment without its scope; ignored");
    }
    scope
}

/// Whether what a scope acts for exists in the register.
pub async fn scope_exists(db: &impl ConnectionTrait, scope: Scope) -> ApiResult<bool> {
    match scope {
        Scope::Admin => Ok(true),
        Scope::Staff { person_id } => {
            exists::<person::Entity>(db, person::Column::Id, person_id).await
        }
        Scope::Leader { service_id } => {
            exists::<service::Entity>(db, service::Column::Id, service_id).await
        }
        Scope::Provider { provider_id } => {
            exists::<provider::Entity>(db, provider::Column::Id, provider_id).await
        }
        Scope::Funder { funder_office_id } => {
            exists::<funder_office::Entity>(db, funder_office::Column::Id, funder_office_id).await
        }
    }
}

async fn exists<E: EntityTrait>(
    db: &impl ConnectionTrait,
    column: E::Column,
    id: Uuid,
) -> ApiResult<bool>
where
    E::Model: Sync,
{
    Ok(E::find().filter(column.eq(id)).count(db).await? > 0)
}

fn unauthenticated(message: &str) -> ApiError {
    ApiError::Unauthenticated(message.to_owned())
}
