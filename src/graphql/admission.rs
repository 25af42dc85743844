//! Admission control: how much of the database one request, and all heavy
//! requests together, may hold at once.
//!
//! - Per request, at most [`ROOT_FIELDS_AT_ONCE`] root fields (with their
//!   whole selection) are resolved at a time, so that thirty aliased
//!   fields take two pooled connections in turn, not thirty at once.
//! - The heavy fields (statistics, coverage, grant totals) of one request
//!   run one after another, and all requests together run at most
//!   `KOMPETANSE_HEAVY_CONCURRENCY` of them at once: small queries keep a
//!   share of the pool while heavy ones queue.
//! - At most `KOMPETANSE_HEAVY_QUEUE` heavy fields wait for their turn. One
//!   more is refused at once with SERVICE_UNAVAILABLE and
//!   `extensions.retryAfter` (the HTTP answer is then 503 with
//!   `Retry-After`), never left to hang; one that waits is still bounded
//!   by the request timeout.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextResolve, ResolveInfo,
};
use async_graphql::{Context, ServerResult, Value};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{ApiError, ApiResult};

/// Root fields of one request resolved at a time.
pub const ROOT_FIELDS_AT_ONCE: usize = 2;

/// Seconds a client is asked to wait when the heavy queue is full.
pub const RETRY_AFTER_SECS: u64 = 2;

/// The server-wide bound on heavy fields (schema data).
pub struct Admission {
    heavy: Arc<Semaphore>,
    queue: usize,
    waiting: AtomicUsize,
    rows_per_request: usize,
}

impl Admission {
    /// At most `concurrency` heavy fields at once, `queue` more waiting;
    /// at most `rows_per_request` rows of aggregate answers (statistics,
    /// grant totals) in one request, whatever its aliases: with
    /// [`MAX_STATS_ROWS`] per answer, this bounds the memory one request
    /// can take.
    ///
    /// [`MAX_STATS_ROWS`]: crate::domain::statistics::MAX_STATS_ROWS
    pub fn new(concurrency: usize, queue: usize, rows_per_request: usize) -> Self {
        Self {
            heavy: Arc::new(Semaphore::new(concurrency.max(1))),
            queue,
            waiting: AtomicUsize::new(0),
            rows_per_request,
        }
    }

    /// Heavy fields running now (for tests and metrics).
    pub fn running(&self, concurrency: usize) -> usize {
        concurrency.saturating_sub(self.heavy.available_permits())
    }

    async fn enter(&self) -> ApiResult<OwnedSemaphorePermit> {
        if let Ok(permit) = self.heavy.clone().try_acquire_owned() {
            return Ok(permit);
        }
        // Count ourselves into the queue, or leave if it is full.
        let queued = self.waiting.fetch_add(1, Ordering::SeqCst);
        let _leave = Leave(&self.waiting);
        if queued >= self.queue {
            tracing::warn!(queue = self.queue, "heavy queue full; request refused");
            return Err(ApiError::Overloaded {
                retry_after: RETRY_AFTER_SECS,
            });
        }
        self.heavy
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| ApiError::internal("the heavy-request semaphore was closed"))
    }
}

/// Takes one off the queue count when dropped (also when the request is
/// cancelled while it waits).
struct Leave<'a>(&'a AtomicUsize);

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The per-request bounds (request data).
pub struct RequestSlots {
    root: Arc<Semaphore>,
    heavy: Arc<Semaphore>,
    rows: Arc<AtomicUsize>,
}

impl Default for RequestSlots {
    fn default() -> Self {
        Self {
            root: Arc::new(Semaphore::new(ROOT_FIELDS_AT_ONCE)),
            heavy: Arc::new(Semaphore::new(1)),
            rows: Arc::new(AtomicUsize::new(0)),
        }
    }
}

/// Held while a heavy field runs.
pub struct HeavyPermit {
    _request: OwnedSemaphorePermit,
    _server: OwnedSemaphorePermit,
    rows: Arc<AtomicUsize>,
    limit: usize,
}

impl HeavyPermit {
    /// Counts the rows of a heavy answer against the request's bound (see
    /// [`Admission::new`]): LIMIT_EXCEEDED once the request's answers
    /// would hold more.
    pub fn spend_rows(&self, rows: usize) -> ApiResult<()> {
        let before = self.rows.fetch_add(rows, Ordering::SeqCst);
        let limit = self.limit;
        if before.saturating_add(rows) > limit {
            return Err(ApiError::LimitExceeded(format!(
                "the statistics of this request would hold more than {limit} rows in \
                 all: ask for fewer groupings at once, group by fewer dimensions, or filter"
            )));
        }
        Ok(())
    }
}

/// Waits for the request's heavy slot, then for a server-wide one.
pub async fn heavy(ctx: &Context<'_>) -> ApiResult<HeavyPermit> {
    let slots = ctx
        .data::<RequestSlots>()
        .map_err(|_| ApiError::internal("no request slots in the request"))?;
    let admission = ctx
        .data::<Arc<Admission>>()
        .map_err(|_| ApiError::internal("no admission control in the schema"))?;
    let request = slots
        .heavy
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| ApiError::internal("the request's heavy slot was closed"))?;
    let server = admission.enter().await?;
    Ok(HeavyPermit {
        _request: request,
        _server: server,
        rows: slots.rows.clone(),
        limit: admission.rows_per_request,
    })
}

/// Resolves at most [`ROOT_FIELDS_AT_ONCE`] root fields of a request at a
/// time.
pub struct RootFields;

impl ExtensionFactory for RootFields {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(RootFields)
    }
}

#[async_trait::async_trait]
impl Extension for RootFields {
    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        if info.path_node.parent.is_some() {
            return next.run(ctx, info).await;
        }
        let Some(slots) = ctx.data_opt::<RequestSlots>() else {
            return next.run(ctx, info).await;
        };
        let _permit = slots.root.clone().acquire_owned().await;
        next.run(ctx, info).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_queue_refuses_at_once() {
        let admission = Arc::new(Admission::new(1, 1, 20_000));
        let first = admission.enter().await.unwrap();
        // One may wait ...
        let waiter = {
            let admission = admission.clone();
            tokio::spawn(async move { admission.enter().await.map(|_| ()) })
        };
        while admission.waiting.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        // ... the next is refused without waiting.
        let refused = admission.enter().await;
        assert!(matches!(
            refused,
            Err(ApiError::Overloaded { retry_after: 2 })
        ));
        drop(first);
        waiter.await.unwrap().unwrap();
        assert_eq!(admission.waiting.load(Ordering::SeqCst), 0);
        assert_eq!(admission.running(1), 0);
    }
}
