//! The `Node` interface and the `node`/`nodes` root fields.

use async_graphql::{Context, ID, Interface, Object};

use crate::domain::access::assignments::RoleAssignment;
use crate::domain::funding::{FunderOffice, Grant};
use crate::domain::geography::{County, Municipality};
use crate::domain::network::{Network, NetworkMembership};
use crate::domain::people::{Participation, Person};
use crate::domain::programme::{Milestone, Programme};
use crate::domain::provider::Provider;
use crate::domain::run::{Enrolment, ProgrammeRun, Session};
use crate::domain::service::Service;
use crate::error::{ApiError, ApiResult};
use crate::graphql::{ContextExt, id};

/// An object with a global id, fetchable with `node(id:)`.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "The object's global id."))]
pub enum Node {
    County(County),
    Municipality(Municipality),
    FunderOffice(FunderOffice),
    Provider(Provider),
    Service(Service),
    Network(Network),
    NetworkMembership(NetworkMembership),
    Programme(Programme),
    Milestone(Milestone),
    ProgrammeRun(ProgrammeRun),
    Enrolment(Enrolment),
    Session(Session),
    Grant(Grant),
    Person(Person),
    Participation(Participation),
    RoleAssignment(RoleAssignment),
}

/// Most ids accepted by `nodes`.
const MAX_NODES: usize = 100;

/// Loads the object a global id names, if it exists and the viewer may see it.
async fn resolve(ctx: &Context<'_>, raw: &str, field: &str) -> ApiResult<Option<Node>> {
    let (type_name, key) = id::decode(raw, field)?;
    let l = ctx.loaders()?;
    let node = match type_name.as_str() {
        "County" => l
            .county
            .load_one(key)
            .await?
            .map(|m| Node::County(m.into())),
        "Municipality" => l
            .municipality
            .load_one(key)
            .await?
            .map(|m| Node::Municipality(m.into())),
        "FunderOffice" => l
            .funder_office
            .load_one(key)
            .await?
            .map(|m| Node::FunderOffice(m.into())),
        "Provider" => l
            .provider
            .load_one(key)
            .await?
            .map(|m| Node::Provider(m.into())),
        "Service" => l
            .service
            .load_one(key)
            .await?
            .map(|m| Node::Service(m.into())),
        "Network" => l
            .network
            .load_one(key)
            .await?
            .map(|m| Node::Network(m.into())),
        "NetworkMembership" => l
            .network_member
            .load_one(key)
            .await?
            .map(|m| Node::NetworkMembership(m.into())),
        "Programme" => l
            .programme
            .load_one(key)
            .await?
            .map(|m| Node::Programme(m.into())),
        "Milestone" => l
            .milestone
            .load_one(key)
            .await?
            .map(|m| Node::Milestone(m.into())),
        "ProgrammeRun" => l
            .run
            .load_one(key)
            .await?
            .map(|m| Node::ProgrammeRun(m.into())),
        "Enrolment" => l
            .enrolment
            .load_one(key)
            .await?
            .map(|m| Node::Enrolment(m.into())),
        "Session" => l
            .session
            .load_one(key)
            .await?
            .map(|m| Node::Session(m.into())),
        // Personal data and grants: the loaders carry the viewer's row
        // rule, so a row the viewer may not see loads as missing.
        "Person" => l
            .person
            .load_one(key)
            .await?
            .map(|m| Node::Person(m.into())),
        "Participation" => l
            .participation
            .load_one(key)
            .await?
            .map(|m| Node::Participation(m.into())),
        "RoleAssignment" => l
            .role_assignment
            .load_one(key)
            .await?
            .map(|m| Node::RoleAssignment(m.into())),
        "Grant" => l.grant.load_one(key).await?.map(|m| Node::Grant(m.into())),
        _ => {
            return Err(ApiError::bad_input(
                field,
                format!("`{field}` is not a valid id"),
            ));
        }
    };
    Ok(node)
}

/// The `node` and `nodes` root fields.
#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// The object with this global id. An id that names nothing (or nothing
    /// the viewer may see) is NOT_FOUND; a malformed id is BAD_USER_INPUT.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Node> {
        resolve(ctx, &id, "id")
            .await?
            .ok_or_else(|| ApiError::not_found("node"))
    }

    /// The objects with these global ids, in the same order; `null` where an
    /// id names nothing the viewer may see. At most 100 ids.
    async fn nodes(&self, ctx: &Context<'_>, ids: Vec<ID>) -> ApiResult<Vec<Option<Node>>> {
        if ids.len() > MAX_NODES {
            return Err(ApiError::bad_input(
                "ids",
                format!("at most {MAX_NODES} ids"),
            ));
        }
        let mut out = Vec::with_capacity(ids.len());
        for raw in &ids {
            out.push(resolve(ctx, raw, "ids").await?);
        }
        Ok(out)
    }
}
