//! Who the viewer is (`me`), the roles it acts in, and (for ADMIN) role
//! assignments and the audit log.

pub mod assignments;

use async_graphql::{Context, Object};
use entity::enums::Role;

use crate::auth::{Scope, Viewer};
use crate::domain::funding::FunderOffice;
use crate::domain::people::Person;
use crate::domain::provider::Provider;
use crate::domain::service::Service;
use crate::error::ApiResult;
use crate::graphql::ContextExt;

/// The caller of the request, as the API sees it.
pub struct ViewerInfo(Viewer);

/// The caller of the request, as the API sees it: who it is (the token's
/// subject) and in which roles it acts.
#[Object(name = "Viewer")]
impl ViewerInfo {
    /// The token's subject (`sub`); empty for an anonymous request.
    async fn subject(&self) -> Option<&str> {
        self.0.subject.as_deref()
    }
    /// Whether the request carried a valid token.
    async fn authenticated(&self) -> bool {
        self.0.is_authenticated()
    }
    /// The roles the viewer acts in, each with what it acts for. A token
    /// that names a role has exactly one; a token with only a subject has
    /// those assigned to the subject; anonymous has none.
    async fn roles(&self) -> Vec<RoleScope> {
        self.0.scopes.iter().copied().map(RoleScope).collect()
    }
}

/// A role and what it acts for.
pub struct RoleScope(Scope);

/// A role and what it acts for: a LEADER its service, a PROVIDER its
/// provider, a FUNDER its county governor's office, STAFF a person, ADMIN
/// everything.
#[Object]
impl RoleScope {
    /// The role.
    async fn role(&self) -> Role {
        self.0.role()
    }
    /// The service a LEADER leads.
    async fn service(&self, ctx: &Context<'_>) -> ApiResult<Option<Service>> {
        match self.0 {
            Scope::Leader { service_id } => Ok(ctx
                .loaders()?
                .service
                .load_one(service_id)
                .await?
                .map(Into::into)),
            _ => Ok(None),
        }
    }
    /// The provider a PROVIDER acts for.
    async fn provider(&self, ctx: &Context<'_>) -> ApiResult<Option<Provider>> {
        match self.0 {
            Scope::Provider { provider_id } => Ok(ctx
                .loaders()?
                .provider
                .load_one(provider_id)
                .await?
                .map(Into::into)),
            _ => Ok(None),
        }
    }
    /// The person a STAFF viewer is.
    async fn person(&self, ctx: &Context<'_>) -> ApiResult<Option<Person>> {
        match self.0 {
            Scope::Staff { person_id } => {
                Ok(ctx.loaders()?.person.load_one(person_id).await?.map(Person))
            }
            _ => Ok(None),
        }
    }
    /// The office a FUNDER acts for; its counties are the FUNDER's scope.
    async fn funder_office(&self, ctx: &Context<'_>) -> ApiResult<Option<FunderOffice>> {
        match self.0 {
            Scope::Funder { funder_office_id } => Ok(ctx
                .loaders()?
                .funder_office
                .load_one(funder_office_id)
                .await?
                .map(Into::into)),
            _ => Ok(None),
        }
    }
}

/// Root fields about the viewer.
#[derive(Default)]
pub struct AccessQuery;

#[Object]
impl AccessQuery {
    /// The caller of this request: its subject and roles (anonymous
    /// without a token).
    async fn me(&self, ctx: &Context<'_>) -> ApiResult<ViewerInfo> {
        Ok(ViewerInfo(crate::auth::viewer(ctx)?.clone()))
    }
}
