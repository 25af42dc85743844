//! The per-request registry of batched loaders: one for each node type by
//! id, and one for each relation the graph serves. Each caches what it
//! loaded for the rest of its request (and only that request).

use async_graphql::dataloader::{DataLoader, HashMapCache};
use entity::*;
use futures_util::future::BoxFuture;
use sea_orm::{DatabaseConnection, Order};
use std::time::Duration;

use super::loader::{ByColumn, ById};
use crate::auth::{Viewer, policy};
use crate::domain::run::AttendanceCounts;

/// How often a batch yields to the scheduler before it loads, at most.
const BATCH_YIELDS: usize = 256;
/// How long a batch waits for its keys, at most (a guard against a worker
/// so busy that the yields would take long; an idle worker yields in
/// microseconds).
const BATCH_WAIT: Duration = Duration::from_millis(50);

/// Runs a DataLoader batch once the request has registered its keys.
///
/// async-graphql resolves the items of a list together but yields to the
/// scheduler every 32 items (and whenever tokio's cooperative budget runs
/// out); a batch that ran on a plain timer could start while later siblings
/// have yet to ask for their keys, splitting one load into several. Each
/// actix worker (like a `#[tokio::test]`) is a single-threaded runtime, so a
/// batch that first yields runs only after the request has gone round its
/// siblings: the keys of one level land in one statement, without sleeping
/// when the worker is idle. Under load the wait is capped by [`BATCH_WAIT`].
///
/// The batch runs in the span of the field that asked first, so that its
/// statements belong to the request's trace.
fn spawn_batch(batch: BoxFuture<'static, ()>) -> tokio::task::JoinHandle<()> {
    use tracing::Instrument;
    let span = tracing::Span::current();
    tokio::spawn(
        async move {
            let started = std::time::Instant::now();
            for _ in 0..BATCH_YIELDS {
                if started.elapsed() >= BATCH_WAIT {
                    break;
                }
                tokio::task::yield_now().await;
            }
            batch.await;
        }
        .instrument(span),
    )
}

type Id<E> = DataLoader<ById<E>, HashMapCache>;
type Children<E> = DataLoader<ByColumn<E>, HashMapCache>;

macro_rules! loaders {
    (
        by_id { $($id_field:ident: $id_entity:ident,)* }
        by_column { $($rel_field:ident: $rel_entity:ident . $col:ident order [$($ord:ident),*],)* }
        guarded_by_id { $($gid_field:ident: $gid_entity:ident where $gid_rule:path,)* }
        guarded_by_column {
            $($grel_field:ident: $grel_entity:ident . $gcol:ident order [$($gord:ident),*] where $grel_rule:path,)*
        }
    ) => {
        /// Batched loaders of one request.
        pub struct Loaders {
            $(pub $id_field: Id<$id_entity::Entity>,)*
            $(pub $rel_field: Children<$rel_entity::Entity>,)*
            $(pub $gid_field: Id<$gid_entity::Entity>,)*
            $(pub $grel_field: Children<$grel_entity::Entity>,)*
            /// Attendance figures per session.
            pub attendance_by_session: DataLoader<AttendanceCounts, HashMapCache>,
        }

        impl Loaders {
            /// Fresh loaders (with empty caches) for one request. Loaders of
            /// personal data apply the viewer's row rule in their SQL.
            pub fn new(db: DatabaseConnection, viewer: &Viewer) -> Self {
                Self {
                    $($id_field: DataLoader::with_cache(
                        ById::new(db.clone(), $id_entity::Column::Id),
                        spawn_batch,
                        HashMapCache::default(),
                    )
                    .delay(Duration::ZERO),)*
                    $($rel_field: DataLoader::with_cache(
                        ByColumn::new(
                            db.clone(),
                            $rel_entity::Column::$col,
                            vec![$(($rel_entity::Column::$ord, Order::Asc)),*],
                        ),
                        spawn_batch,
                        HashMapCache::default(),
                    )
                    .delay(Duration::ZERO),)*
                    $($gid_field: DataLoader::with_cache(
                        ById::new(db.clone(), $gid_entity::Column::Id).with_condition($gid_rule(viewer)),
                        spawn_batch,
                        HashMapCache::default(),
                    )
                    .delay(Duration::ZERO),)*
                    $($grel_field: DataLoader::with_cache(
                        ByColumn::new(
                            db.clone(),
                            $grel_entity::Column::$gcol,
                            vec![$(($grel_entity::Column::$gord, Order::Asc)),*],
                        )
                        .with_condition($grel_rule(viewer)),
                        spawn_batch,
                        HashMapCache::default(),
                    )
                    .delay(Duration::ZERO),)*
                    attendance_by_session: DataLoader::with_cache(
                        AttendanceCounts::new(db, viewer),
                        spawn_batch,
                        HashMapCache::default(),
                    )
                    .delay(Duration::ZERO),
                }
            }
        }
    };
}

loaders! {
    by_id {
        county: county,
        municipality: municipality,
        funder_office: funder_office,
        provider: provider,
        service: service,
        network: network,
        network_member: network_member,
        programme: programme,
        milestone: milestone,
        run: programme_run,
        enrolment: enrolment,
        session: session,
        grant: funding_grant,
    }
    by_column {
        municipalities_by_county: municipality.CountyId order [Number],
        counties_merged_into: county.MergedIntoId order [Number],
        successors_of_municipality: municipality_successor.MunicipalityId order [SuccessorId],
        predecessors_of_municipality: municipality_successor.SuccessorId order [MunicipalityId],
        office_links_by_office: funder_office_county.FunderOfficeId order [CountyId],
        office_links_by_county: funder_office_county.CountyId order [FunderOfficeId],
        region_links_by_provider: provider_region.ProviderId order [CountyId],
        region_links_by_county: provider_region.CountyId order [ProviderId],
        coverage_by_service: service_municipality.ServiceId order [MunicipalityId],
        coverage_by_municipality: service_municipality.MunicipalityId order [ServiceId],
        networks_by_county: network.CountyId order [Name, Id],
        members_by_network: network_member.NetworkId order [JoinedOn, Id],
        members_by_service: network_member.ServiceId order [JoinedOn, Id],
        provider_links_by_programme: programme_provider.ProgrammeId order [Role, ProviderId],
        provider_links_by_provider: programme_provider.ProviderId order [Role, ProgrammeId],
        themes_by_programme: programme_theme.ProgrammeId order [Theme],
        service_kinds_by_programme: programme_service_kind.ProgrammeId order [Kind],
        milestones_by_programme: milestone.ProgrammeId order [Position, Id],
        runs_by_programme: programme_run.ProgrammeId order [Year, StartsOn, Id],
        runs_by_network: programme_run.NetworkId order [Year, StartsOn, Id],
        enrolments_by_run: enrolment.RunId order [Id],
        enrolments_by_service: enrolment.ServiceId order [Id],
        sessions_by_run: session.RunId order [Position, Id],
    }
    guarded_by_id {
        person: person where policy::visible_persons,
        participation: participation where policy::visible_participations,
        role_assignment: role_assignment where policy::visible_role_assignments,
    }
    guarded_by_column {
        persons_by_service: person.ServiceId order [Name, Id] where policy::visible_persons,
        participations_by_run: participation.RunId order [Id] where policy::visible_participations,
        participations_by_person: participation.PersonId order [Id] where policy::visible_participations,
        attendance_by_person: attendance.PersonId order [Id] where policy::visible_attendance,
    }
}
