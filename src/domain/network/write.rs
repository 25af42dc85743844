//! Networks and their member services, written through the API.
//!
//! Who may: ADMIN, and a FUNDER (a county governor's office) for the
//! regional networks of the counties its office covers
//! ([`policy::may_manage_network`]); national networks are ADMIN's only.
//! A network's kind, scope and county are fixed once it is registered: the
//! county decides who manages it.
//!
//! Memberships are history: a service that leaves keeps its row with
//! `left_on` set, and a service that rejoins gets a new row. Nothing is
//! deleted.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::{Datelike, NaiveDate, Utc};
use entity::enums::{NetworkKind, NetworkScope};
use entity::{county, network, network_member, service};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use super::{Network, NetworkMembership, today};
use crate::auth::{policy, viewer};
use crate::domain::write::{
    self, MAX_NAME, MAX_PROSE, check_version, opt_text, text, unique_as_conflict, update_versioned,
};
use crate::error::{ApiError, ApiResult};
use crate::graphql::{ContextExt, id};

/// Registers a network.
#[derive(Debug, InputObject)]
pub struct CreateNetworkInput {
    /// Stable, URL-safe key: lower-case letters a–z, digits and single
    /// hyphens (e.g. `laeringsnettverk-agder`), at most 120 characters;
    /// unique among networks.
    pub slug: String,
    /// The name of the network (1–200 characters).
    pub name: String,
    /// Learning network or leader network.
    pub kind: NetworkKind,
    /// Regional or national. Cannot be changed later.
    pub scope: NetworkScope,
    /// The county (`County` id) a REGIONAL network belongs to: required for
    /// REGIONAL, must be left out for NATIONAL, and must be a county in
    /// force today. Cannot be changed later.
    pub county: Option<ID>,
    /// The service (`Service` id) that coordinates the network.
    pub coordinator_service: Option<ID>,
    /// What the network is and does (at most 10 000 characters).
    pub description: Option<String>,
}

/// The registered network.
#[derive(SimpleObject)]
pub struct CreateNetworkPayload {
    /// The new network, with no members yet.
    pub network: Network,
}

/// Changes a network. Left-out fields keep their value; `null` clears an
/// optional one. Kind, scope and county cannot be changed.
#[derive(Debug, InputObject)]
pub struct UpdateNetworkInput {
    /// The network (`Network` id).
    pub id: ID,
    /// The version read; a stale one is CONFLICT and changes nothing.
    pub version: i32,
    /// The name of the network (1–200 characters).
    pub name: Option<String>,
    /// What the network is and does (at most 10 000 characters); `null`
    /// or an empty text clears it.
    pub description: MaybeUndefined<String>,
    /// The coordinating service (`Service` id); `null` clears it.
    pub coordinator_service: MaybeUndefined<ID>,
}

/// The changed network.
#[derive(SimpleObject)]
pub struct UpdateNetworkPayload {
    /// The network as saved.
    pub network: Network,
}

/// Adds a service to a network.
#[derive(Debug, InputObject)]
pub struct AddNetworkMemberInput {
    /// The network (`Network` id).
    pub network: ID,
    /// The service (`Service` id). It must not be a member already; a
    /// service that has left may join again.
    pub service: ID,
    /// The day the service joins; today when left out. It must not be
    /// before the day the service last left the network.
    pub joined_on: Option<NaiveDate>,
}

/// The new membership.
#[derive(SimpleObject)]
pub struct AddNetworkMemberPayload {
    /// The membership, a new row also for a service that rejoins (earlier
    /// memberships stay as history).
    pub membership: NetworkMembership,
}

/// Ends a service's membership of a network.
#[derive(Debug, InputObject)]
pub struct EndNetworkMembershipInput {
    /// The membership (`NetworkMembership` id).
    pub id: ID,
    /// The version read; a stale one is CONFLICT and changes nothing.
    pub version: i32,
    /// The day the service leaves; today when left out. Not before the day
    /// it joined. From that day the service is no longer a current member.
    pub left_on: Option<NaiveDate>,
}

/// The ended membership.
#[derive(SimpleObject)]
pub struct EndNetworkMembershipPayload {
    /// The membership with `leftOn` set; it is kept as history (see
    /// `Network.members(includeFormer: true)`).
    pub membership: NetworkMembership,
}

/// Writes of networks and their memberships.
#[derive(Default)]
pub struct NetworkMutation;

#[Object]
impl NetworkMutation {
    /// Registers a learning or leader network. ADMIN may register any; a
    /// FUNDER may register regional networks in the counties its office
    /// covers. National networks are ADMIN's only. The member count a
    /// source reports and the source itself are not set through the API.
    async fn create_network(
        &self,
        ctx: &Context<'_>,
        input: CreateNetworkInput,
    ) -> ApiResult<CreateNetworkPayload> {
        let viewer = viewer(ctx)?.clone();
        let slug = write::new_slug("input.slug", &input.slug)?;
        let name = text("input.name", &input.name, MAX_NAME)?;
        let description = opt_text("input.description", input.description.as_deref(), MAX_PROSE)?;
        let county_id = match (input.scope, &input.county) {
            (NetworkScope::Regional, None) => {
                return Err(ApiError::bad_input(
                    "input.county",
                    "a REGIONAL network needs `input.county`",
                ));
            }
            (NetworkScope::National, Some(_)) => {
                return Err(ApiError::bad_input(
                    "input.county",
                    "a NATIONAL network has no county: leave `input.county` out",
                ));
            }
            (NetworkScope::Regional, Some(raw)) => {
                Some(id::decode_as(raw, "County", "input.county")?)
            }
            (NetworkScope::National, None) => None,
        };
        let coordinator = input
            .coordinator_service
            .as_ref()
            .map(|raw| id::decode_as(raw, "Service", "input.coordinatorService"))
            .transpose()?;

        let txn = write::begin(ctx.db()?).await?;
        if let Some(county_id) = county_id {
            current_county(&txn, county_id, "input.county").await?;
        }
        if let Some(service_id) = coordinator {
            service_exists(&txn, service_id, "input.coordinatorService").await?;
        }
        policy::may_manage_network(&txn, &viewer, county_id).await?;
        let taken = network::Entity::find()
            .filter(network::Column::Slug.eq(&slug))
            .one(&txn)
            .await?
            .is_some();
        if taken {
            return Err(ApiError::bad_input(
                "input.slug",
                format!("a network with the slug `{slug}` exists already"),
            ));
        }
        let now = Utc::now();
        let row = network::ActiveModel {
            id: Set(Uuid::now_v7()),
            slug: Set(slug),
            name: Set(name),
            kind: Set(input.kind),
            scope: Set(input.scope),
            county_id: Set(county_id),
            coordinator_service_id: Set(coordinator),
            description: Set(description),
            reported_member_count: Set(None),
            source: Set(None),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&txn)
        .await
        .map_err(|e| unique_as_conflict("network", e))?;
        write::audit(
            &txn,
            &viewer,
            "createNetwork",
            "Network",
            row.id,
            None,
            Some(&row),
        )
        .await?;
        write::commit(txn).await?;
        Ok(CreateNetworkPayload {
            network: Network(row),
        })
    }

    /// Changes a network's name, description or coordinating service
    /// (ADMIN; a FUNDER for regional networks in its office's counties).
    async fn update_network(
        &self,
        ctx: &Context<'_>,
        input: UpdateNetworkInput,
    ) -> ApiResult<UpdateNetworkPayload> {
        let viewer = viewer(ctx)?.clone();
        let key = id::decode_as(&input.id, "Network", "input.id")?;
        let name = input
            .name
            .as_deref()
            .map(|n| text("input.name", n, MAX_NAME))
            .transpose()?;
        let description = write::maybe_text("input.description", &input.description, MAX_PROSE)?;
        let coordinator = write::maybe(&input.coordinator_service, |raw| {
            id::decode_as(raw, "Service", "input.coordinatorService")
        })?;

        let txn = write::begin(ctx.db()?).await?;
        let row = network::Entity::find_by_id(key)
            .one(&txn)
            .await?
            .ok_or_else(|| ApiError::not_found("network"))?;
        if let Some(Some(service_id)) = coordinator {
            service_exists(&txn, service_id, "input.coordinatorService").await?;
        }
        policy::may_manage_network(&txn, &viewer, row.county_id).await?;
        check_version("network", row.version, input.version)?;
        let mut am = row.clone().into_active_model();
        if let Some(name) = name {
            am.name = Set(name);
        }
        if let Some(description) = description {
            am.description = Set(description);
        }
        if let Some(coordinator) = coordinator {
            am.coordinator_service_id = Set(coordinator);
        }
        let saved = update_versioned(&txn, am, input.version, "network").await?;
        write::audit(
            &txn,
            &viewer,
            "updateNetwork",
            "Network",
            row.id,
            Some(&row),
            Some(&saved),
        )
        .await?;
        write::commit(txn).await?;
        Ok(UpdateNetworkPayload {
            network: Network(saved),
        })
    }

    /// Adds a service to a network (ADMIN; a FUNDER for regional networks
    /// in its office's counties). A service that is a member already is
    /// refused (BAD_USER_INPUT on `input.service`); one that has left may
    /// join again, on a new membership.
    async fn add_network_member(
        &self,
        ctx: &Context<'_>,
        input: AddNetworkMemberInput,
    ) -> ApiResult<AddNetworkMemberPayload> {
        let viewer = viewer(ctx)?.clone();
        let network_id = id::decode_as(&input.network, "Network", "input.network")?;
        let service_id = id::decode_as(&input.service, "Service", "input.service")?;
        if let Some(d) = input.joined_on {
            write::year("input.joinedOn", d.year())?;
        }
        let joined_on = input.joined_on.unwrap_or_else(today);

        let txn = write::begin(ctx.db()?).await?;
        // Locked (on PostgreSQL) so that two additions of the same service
        // cannot both pass the membership check below.
        let net = network::Entity::find_by_id(network_id)
            .lock_exclusive()
            .one(&txn)
            .await?
            .ok_or_else(|| {
                ApiError::bad_input("input.network", "`input.network` names no network")
            })?;
        service_exists(&txn, service_id, "input.service").await?;
        policy::may_manage_network(&txn, &viewer, net.county_id).await?;
        let earlier = network_member::Entity::find()
            .filter(network_member::Column::NetworkId.eq(network_id))
            .filter(network_member::Column::ServiceId.eq(service_id))
            .order_by_asc(network_member::Column::Id)
            .all(&txn)
            .await?;
        if earlier.iter().any(|m| m.left_on.is_none()) {
            return Err(already_member());
        }
        if let Some(last_left) = earlier.iter().filter_map(|m| m.left_on).max()
            && joined_on < last_left
        {
            return Err(ApiError::bad_input(
                "input.joinedOn",
                format!(
                    "`input.joinedOn` ({joined_on}) is before the service last left the network ({last_left})"
                ),
            ));
        }
        let now = Utc::now();
        let row = network_member::ActiveModel {
            id: Set(Uuid::now_v7()),
            network_id: Set(network_id),
            service_id: Set(service_id),
            joined_on: Set(Some(joined_on)),
            left_on: Set(None),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&txn)
        .await
        .map_err(|err| match err.sql_err() {
            // The index of current memberships: one addition won a race
            // that the network's row lock did not settle (SQLite).
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => already_member(),
            _ => err.into(),
        })?;
        write::audit(
            &txn,
            &viewer,
            "addNetworkMember",
            "NetworkMembership",
            row.id,
            None,
            Some(&row),
        )
        .await?;
        write::commit(txn).await?;
        Ok(AddNetworkMemberPayload {
            membership: NetworkMembership(row),
        })
    }

    /// Ends a service's membership of a network (ADMIN; a FUNDER for
    /// regional networks in its office's counties). The membership is kept
    /// with `leftOn` set; a membership that has ended already is refused
    /// (BAD_USER_INPUT on `input.id`).
    async fn end_network_membership(
        &self,
        ctx: &Context<'_>,
        input: EndNetworkMembershipInput,
    ) -> ApiResult<EndNetworkMembershipPayload> {
        let viewer = viewer(ctx)?.clone();
        let key = id::decode_as(&input.id, "NetworkMembership", "input.id")?;
        if let Some(d) = input.left_on {
            write::year("input.leftOn", d.year())?;
        }
        let left_on = input.left_on.unwrap_or_else(today);

        let txn = write::begin(ctx.db()?).await?;
        let row = network_member::Entity::find_by_id(key)
            .one(&txn)
            .await?
            .ok_or_else(|| ApiError::not_found("network membership"))?;
        let net = network::Entity::find_by_id(row.network_id)
            .one(&txn)
            .await?
            .ok_or_else(|| ApiError::internal("membership without network"))?;
        policy::may_manage_network(&txn, &viewer, net.county_id).await?;
        if let Some(left) = row.left_on {
            return Err(ApiError::bad_input(
                "input.id",
                format!("the membership has ended already (left on {left})"),
            ));
        }
        write::dates_in_order("input.leftOn", row.joined_on, Some(left_on))?;
        check_version("network membership", row.version, input.version)?;
        let mut am = row.clone().into_active_model();
        am.left_on = Set(Some(left_on));
        let saved = update_versioned(&txn, am, input.version, "network membership").await?;
        write::audit(
            &txn,
            &viewer,
            "endNetworkMembership",
            "NetworkMembership",
            row.id,
            Some(&row),
            Some(&saved),
        )
        .await?;
        write::commit(txn).await?;
        Ok(EndNetworkMembershipPayload {
            membership: NetworkMembership(saved),
        })
    }
}

/// Checks that `county_id` names a county in force today (not merged away
/// or dissolved): BAD_USER_INPUT naming `field` otherwise.
async fn current_county(
    db: &impl ConnectionTrait,
    county_id: Uuid,
    field: &str,
) -> ApiResult<county::Model> {
    let row = county::Entity::find_by_id(county_id)
        .one(db)
        .await?
        .ok_or_else(|| ApiError::bad_input(field, format!("`{field}` names no county")))?;
    let day = today();
    let in_force = row.valid_from.is_none_or(|d| d <= day) && row.valid_to.is_none_or(|d| d >= day);
    if !in_force {
        return Err(ApiError::bad_input(
            field,
            format!(
                "`{field}` names {} ({}), which is not a county today",
                row.name, row.number
            ),
        ));
    }
    Ok(row)
}

/// Checks that `service_id` names a service: BAD_USER_INPUT naming `field`
/// otherwise.
async fn service_exists(db: &impl ConnectionTrait, service_id: Uuid, field: &str) -> ApiResult<()> {
    let found = service::Entity::find_by_id(service_id)
        .select_only()
        .column(service::Column::Id)
        .into_tuple::<Uuid>()
        .one(db)
        .await?;
    match found {
        Some(_) => Ok(()),
        None => Err(ApiError::bad_input(
            field,
            format!("`{field}` names no service"),
        )),
    }
}

fn already_member() -> ApiError {
    ApiError::bad_input(
        "input.service",
        "the service is already a member of this network",
    )
}
