//! Who is asking: the viewer of a request, and the access policy.
//!
//! Authentication happens once at the edge (the HTTP layer,
//! [`authenticate::Authenticator`]) and yields a [`Viewer`]; every resolver
//! asks [`policy`] what that viewer may see, and row rules are SQL
//! conditions so that counts and pages respect them.

pub mod authenticate;
pub mod dev_secret;
pub mod mint;
pub mod policy;
pub mod token;

use entity::enums::Role;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};

/// One capacity in which a viewer acts: a role and what it acts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// A staff member: sees their own participation.
    Staff { person_id: Uuid },
    /// A leader of a service.
    Leader { service_id: Uuid },
    /// A provider: its own programmes and their runs.
    Provider { provider_id: Uuid },
    /// A county governor's office: the counties it covers.
    Funder { funder_office_id: Uuid },
    /// Full rights.
    Admin,
}

impl Scope {
    /// The role of this scope.
    pub fn role(&self) -> Role {
        match self {
            Self::Staff { .. } => Role::Staff,
            Self::Leader { .. } => Role::Leader,
            Self::Provider { .. } => Role::Provider,
            Self::Funder { .. } => Role::Funder,
            Self::Admin => Role::Admin,
        }
    }
}

/// The caller of a request: anonymous (no token), or an authenticated
/// subject acting in zero or more scopes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Viewer {
    /// The token's `sub`; `None` for an anonymous request.
    pub subject: Option<String>,
    /// What the viewer may act as (from the token, or from the role
    /// assignments of its subject).
    pub scopes: Vec<Scope>,
}

impl Viewer {
    /// A request without credentials.
    pub fn anonymous() -> Self {
        Self::default()
    }

    /// An authenticated viewer.
    pub fn new(subject: impl Into<String>, scopes: Vec<Scope>) -> Self {
        Self {
            subject: Some(subject.into()),
            scopes,
        }
    }

    /// Whether the request carried a valid token.
    pub fn is_authenticated(&self) -> bool {
        self.subject.is_some()
    }

    /// Whether the viewer acts as ADMIN.
    pub fn is_admin(&self) -> bool {
        self.scopes.contains(&Scope::Admin)
    }

    /// The services the viewer leads.
    pub fn led_services(&self) -> Vec<Uuid> {
        self.scopes
            .iter()
            .filter_map(|s| match s {
                Scope::Leader { service_id } => Some(*service_id),
                _ => None,
            })
            .collect()
    }

    /// The providers the viewer acts for.
    pub fn providers(&self) -> Vec<Uuid> {
        self.scopes
            .iter()
            .filter_map(|s| match s {
                Scope::Provider { provider_id } => Some(*provider_id),
                _ => None,
            })
            .collect()
    }

    /// The funder offices the viewer acts for.
    pub fn funder_offices(&self) -> Vec<Uuid> {
        self.scopes
            .iter()
            .filter_map(|s| match s {
                Scope::Funder { funder_office_id } => Some(*funder_office_id),
                _ => None,
            })
            .collect()
    }
}

/// The viewer of the request a resolver runs in (set at the edge for every
/// request; its absence is a bug, reported as an internal error rather than
/// treated as anonymous).
pub fn viewer<'a>(ctx: &'a async_graphql::Context<'_>) -> ApiResult<&'a Viewer> {
    ctx.data::<Viewer>()
        .map_err(|_| ApiError::internal("no viewer in the request context"))
}
