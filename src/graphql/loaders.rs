//! The per-request registry of batched loaders: one for each node type by
//! id, and one for each relation the graph serves. Each caches what it
//! loaded for the rest of its request (and only that request), and each
//! loads only what the request's viewer may see: the rows its table's row
//! rule admits ([`RowRule`]), or figures under disclosure control.
//! [`Loaders::registry`] lists them all with their tables, for the tests
//! that check every loader of a guarded table against viewers without
//! rights.

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use entity::*;
use futures_util::future::BoxFuture;
use sea_orm::{DatabaseConnection, EntityName, IdenStatic, Order};
use std::time::Duration;
use uuid::Uuid;

use super::loader::{ByColumn, ById, LoadError};
use crate::auth::Viewer;
use crate::auth::policy::{Exposure, RowRule};
use crate::domain::run::{AttendanceCounts, AttendanceTally};

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

/// What a loader hands out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Serves {
    /// Rows of its table, under the table's row rule (public: every row).
    Rows(Exposure),
    /// Figures about rows of its table, under disclosure control: exact
    /// only over the records the viewer has full rights to.
    Figures,
}

/// One loader of the registry, for the tests that walk them all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoaderInfo {
    /// Its field in [`Loaders`].
    pub name: &'static str,
    /// The table it reads.
    pub table: &'static str,
    /// The column of that table its keys are matched against.
    pub key: &'static str,
    /// What it hands out.
    pub serves: Serves,
}

/// A loader of figures about rows under disclosure control (not of the
/// rows themselves).
pub trait FigureLoader: Loader<Uuid, Error = LoadError> {
    /// The loader for one request's viewer (its rights decide which
    /// figures are exact).
    fn for_viewer(db: DatabaseConnection, viewer: &Viewer) -> Self;

    /// How many of the records behind `value` the viewer sees exactly.
    fn exact_records(value: &Self::Value) -> i64;
}

impl FigureLoader for AttendanceCounts {
    fn for_viewer(db: DatabaseConnection, viewer: &Viewer) -> Self {
        Self::new(db, viewer)
    }

    fn exact_records(value: &AttendanceTally) -> i64 {
        value.registered.own
    }
}

macro_rules! loaders {
    (
        by_id { $($id_field:ident: $id_entity:ident,)* }
        by_column { $($rel_field:ident: $rel_entity:ident . $col:ident order [$($ord:ident),*],)* }
        figures { $($fig_field:ident: $fig_loader:ident over $fig_entity:ident . $fig_col:ident,)* }
    ) => {
        /// Batched loaders of one request. Each loads only the rows its
        /// viewer may see: the row rule of its table ([`RowRule`]) is part
        /// of its constructor.
        pub struct Loaders {
            $(pub $id_field: Id<$id_entity::Entity>,)*
            $(pub $rel_field: Children<$rel_entity::Entity>,)*
            $(pub $fig_field: DataLoader<$fig_loader, HashMapCache>,)*
        }

        impl Loaders {
            /// Fresh loaders (with empty caches) for one request, each
            /// applying the viewer's row rule of its table in its SQL.
            pub fn new(db: DatabaseConnection, viewer: &Viewer) -> Self {
                Self {
                    $($id_field: DataLoader::with_cache(
                        ById::new(db.clone(), $id_entity::Column::Id, viewer),
                        spawn_batch,
                        HashMapCache::default(),
                    )
                    .delay(Duration::ZERO),)*
                    $($rel_field: DataLoader::with_cache(
                        ByColumn::new(
                            db.clone(),
                            $rel_entity::Column::$col,
                            vec![$(($rel_entity::Column::$ord, Order::Asc)),*],
                            viewer,
                        ),
                        spawn_batch,
                        HashMapCache::default(),
                    )
                    .delay(Duration::ZERO),)*
                    $($fig_field: DataLoader::with_cache(
                        <$fig_loader as FigureLoader>::for_viewer(db.clone(), viewer),
                        spawn_batch,
                        HashMapCache::default(),
                    )
                    .delay(Duration::ZERO),)*
                }
            }

            /// Every loader: its name, the table and key column it reads,
            /// and what it hands out.
            pub fn registry() -> Vec<LoaderInfo> {
                vec![
                    $(LoaderInfo {
                        name: stringify!($id_field),
                        table: $id_entity::Entity.table_name(),
                        key: $id_entity::Column::Id.as_str(),
                        serves: Serves::Rows(<$id_entity::Entity as RowRule>::EXPOSURE),
                    },)*
                    $(LoaderInfo {
                        name: stringify!($rel_field),
                        table: $rel_entity::Entity.table_name(),
                        key: $rel_entity::Column::$col.as_str(),
                        serves: Serves::Rows(<$rel_entity::Entity as RowRule>::EXPOSURE),
                    },)*
                    $(LoaderInfo {
                        name: stringify!($fig_field),
                        table: $fig_entity::Entity.table_name(),
                        key: $fig_entity::Column::$fig_col.as_str(),
                        serves: Serves::Figures,
                    },)*
                ]
            }

            /// What the loader `name` hands this request's viewer for
            /// `keys`: the number of rows it loads for them all (for a
            /// figures loader, the number of records the viewer sees
            /// exactly); `None` for a name not in the
            /// [`registry`](Self::registry).
            pub async fn probe(&self, name: &str, keys: &[Uuid]) -> Result<Option<i64>, LoadError> {
                let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
                let keys = || keys.iter().copied();
                Ok(match name {
                    $(stringify!($id_field) => Some(count(
                        self.$id_field.load_many(keys()).await?.len(),
                    )),)*
                    $(stringify!($rel_field) => Some(count(
                        self.$rel_field.load_many(keys()).await?.values().map(Vec::len).sum(),
                    )),)*
                    $(stringify!($fig_field) => Some(
                        self.$fig_field
                            .load_many(keys())
                            .await?
                            .values()
                            .map(<$fig_loader as FigureLoader>::exact_records)
                            .sum(),
                    ),)*
                    _ => None,
                })
            }
        }
    };
}

// The public tables and the guarded ones alike: each loader takes its
// table's row rule from the policy (`RowRule`), so there is no way to
// declare one without it, and a table without a rule cannot have one.
// Figures go through loaders of their own (`FigureLoader`), whose rights
// are the policy's. Every field of `Loaders` comes from these lists, so
// `Loaders::registry` lists them all.
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
        person: person,
        participation: participation,
        role_assignment: role_assignment,
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
        persons_by_service: person.ServiceId order [Name, Id],
        participations_by_run: participation.RunId order [Id],
        participations_by_person: participation.PersonId order [Id],
        attendance_by_person: attendance.PersonId order [Id],
    }
    figures {
        attendance_by_session: AttendanceCounts over attendance.SessionId,
    }
}
