//! `kompetanse bench stats`: times the statistics queries on a synthetic
//! national dataset and prints the figures (a benchmark, not a test: it
//! asserts nothing and prints what it measured).
//!
//! It loads `seed --synthetic SCALE` into the database first when that
//! dataset is not there yet. It warms up by running every query several
//! times at once (so that every connection of the pool is open and has run
//! it), then runs each query `repeat` times measured, one after the other,
//! through the real schema with its loaders and row rules, and prints the
//! median, 95th percentile and slowest time, and beside them the median
//! time the database driver spent on the request's statements (the
//! database's own part; the rest is the API's).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use entity::{funder_office, service};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};

use crate::auth::{Scope, Viewer};
use crate::config::Limits;
use crate::graphql;

/// Who asks a measured query.
#[derive(Clone, Copy)]
enum Asker {
    /// No token: every people count between 1 and 4 suppressed.
    Anonymous,
    /// ADMIN: full rights everywhere.
    Admin,
    /// A county governor's office (the first by name): full rights on
    /// the services in its counties only, so that every row is checked
    /// against them.
    Funder,
}

/// One measured query.
struct Case {
    name: &'static str,
    asker: Asker,
    query: &'static str,
}

const CASES: &[Case] = &[
    Case {
        name: "national total (anonymous)",
        asker: Asker::Anonymous,
        query: "{ participationStats(groupBy: []) { runs sessions services municipalities participants attendances attendanceRate completions suppressed } }",
    },
    Case {
        name: "by programme (admin)",
        asker: Asker::Admin,
        query: "{ participationStats(groupBy: [PROGRAMME]) { programme { name } runs participants completions grantedKroner } }",
    },
    Case {
        name: "by county × year (anonymous)",
        asker: Asker::Anonymous,
        query: "{ participationStats(groupBy: [COUNTY, YEAR]) { county { name } year runs services participants attendances completions suppressed } }",
    },
    Case {
        name: "by municipality (anonymous)",
        asker: Asker::Anonymous,
        query: "{ participationStats(groupBy: [MUNICIPALITY]) { municipality { number } services participants suppressed } }",
    },
    Case {
        name: "by provider × service kind (admin)",
        asker: Asker::Admin,
        query: "{ participationStats(groupBy: [PROVIDER, SERVICE_KIND]) { provider { name } serviceKind runs participants attendanceRate } }",
    },
    Case {
        name: "by network × year (admin)",
        asker: Asker::Admin,
        query: "{ participationStats(groupBy: [NETWORK, YEAR]) { network { name } year runs participants completions } }",
    },
    Case {
        name: "by session kind × year (anonymous)",
        asker: Asker::Anonymous,
        query: "{ participationStats(groupBy: [SESSION_KIND, YEAR]) { sessionKind year sessions participants attendances suppressed } }",
    },
    Case {
        name: "county × year, all but people (admin)",
        asker: Asker::Admin,
        query: "{ participationStats(groupBy: [COUNTY, YEAR]) { county { name } year runs sessions services municipalities participants attendances attendanceRate completions grantedKroner suppressed } }",
    },
    Case {
        name: "session kind × year, all but people (admin)",
        asker: Asker::Admin,
        query: "{ participationStats(groupBy: [SESSION_KIND, YEAR]) { sessionKind year runs sessions services municipalities participants attendances attendanceRate completions grantedKroner suppressed } }",
    },
    Case {
        name: "distinct people by year (anonymous)",
        asker: Asker::Anonymous,
        query: "{ participationStats(groupBy: [YEAR]) { year participants people suppressed } }",
    },
    Case {
        name: "county × year, all but people (funder)",
        asker: Asker::Funder,
        query: "{ participationStats(groupBy: [COUNTY, YEAR]) { county { name } year runs sessions services municipalities participants attendances attendanceRate completions grantedKroner suppressed } }",
    },
    Case {
        name: "distinct people by county × year (funder)",
        asker: Asker::Funder,
        query: "{ participationStats(groupBy: [COUNTY, YEAR]) { county { name } year participants people suppressed } }",
    },
    Case {
        name: "distinct people by programme (admin)",
        asker: Asker::Admin,
        query: "{ participationStats(groupBy: [PROGRAMME]) { programme { name } participants people } }",
    },
    Case {
        name: "distinct people by session kind × year (admin)",
        asker: Asker::Admin,
        query: "{ participationStats(groupBy: [SESSION_KIND, YEAR]) { sessionKind year participants people } }",
    },
    Case {
        name: "coverage, national and per county",
        asker: Asker::Anonymous,
        query: "{ coverage { municipalitiesReached populationReached share counties { county { name } municipalitiesReached share } } }",
    },
    Case {
        name: "grant totals by county × year (admin)",
        asker: Asker::Admin,
        query: "{ grantTotals(groupBy: [COUNTY, YEAR]) { county { name } year grants applied granted paid kronerPerParticipant } }",
    },
];

/// How many runs of each case the warm-up starts at once: more than the
/// pool's connections (5 by default).
const WARM_UP_AT_ONCE: usize = 8;

/// Loads the synthetic dataset if missing, then times every case and
/// prints a table to standard output.
pub async fn stats(
    db: &DatabaseConnection,
    scale: f64,
    seed: u64,
    repeat: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let present = service::Entity::find()
        .filter(service::Column::Slug.starts_with(format!("syn-{seed}-")))
        .one(db)
        .await?
        .is_some();
    if present {
        println!(
            "synthetic data for seed {seed} is present; not loading (use an empty database for another scale)"
        );
    } else {
        println!("loading synthetic data, scale {scale}, seed {seed} …");
        let report = crate::domain::seed::seed_synthetic(db, scale, seed).await?;
        println!("{report}");
    }

    let funder_office = funder_office::Entity::find()
        .order_by_asc(funder_office::Column::Name)
        .one(db)
        .await?
        .ok_or("no funder office in the database")?
        .id;

    // The time the database driver spends on each request's statements,
    // summed per request: the database's own part of each figure, beside
    // the request's time through the API.
    let in_database = Arc::new(AtomicU64::new(0));
    let mut db = db.clone();
    {
        let in_database = Arc::clone(&in_database);
        db.set_metric_callback(move |info| {
            let nanos = u64::try_from(info.elapsed.as_nanos()).unwrap_or(u64::MAX);
            in_database.fetch_add(nanos, Ordering::Relaxed);
        });
    }
    let db = &db;
    let schema = graphql::build_schema(db.clone(), &Limits::default());
    let engine = format!("{:?}", db.get_database_backend());
    println!(
        "\nengine: {engine}; every query warmed up {WARM_UP_AT_ONCE} times at once, then run {repeat} times"
    );
    println!(
        "{:<48} {:>6} {:>9} {:>9} {:>9} {:>9}",
        "query", "rows", "p50 ms", "p95 ms", "max ms", "db p50"
    );
    let viewer = |asker: Asker| match asker {
        Asker::Anonymous => Viewer::anonymous(),
        Asker::Admin => Viewer::new("bench-admin", vec![Scope::Admin]),
        Asker::Funder => Viewer::new(
            "bench-funder",
            vec![Scope::Funder {
                funder_office_id: funder_office,
            }],
        ),
    };
    let run = |case: &'static Case| {
        let request = graphql::prepare_request(
            async_graphql::Request::new(case.query),
            db,
            viewer(case.asker),
        );
        let schema = &schema;
        async move {
            let started = Instant::now();
            let response = schema.execute(request).await;
            let elapsed = started.elapsed();
            match response.errors.first() {
                Some(err) => Err(format!("{}: {}", case.name, err.message)),
                None => Ok((response, elapsed)),
            }
        }
    };

    // Warm-up: every case, several at once, so that the pool opens all its
    // connections and each runs the statements before anything is timed
    // (a connection's first statements pay for the database's caches of
    // that connection, about 90 ms here).
    for case in CASES {
        for outcome in futures_util::future::join_all((0..WARM_UP_AT_ONCE).map(|_| run(case))).await
        {
            outcome?;
        }
    }

    for case in CASES {
        let (response, _) = run(case).await?;
        let rows = count_rows(&response.data.into_json().unwrap_or_default());
        let mut times = Vec::with_capacity(repeat);
        let mut database = Vec::with_capacity(repeat);
        for _ in 0..repeat {
            // One request at a time: the statements timed are its own.
            in_database.store(0, Ordering::Relaxed);
            times.push(run(case).await?.1);
            database.push(Duration::from_nanos(in_database.load(Ordering::Relaxed)));
        }
        times.sort();
        database.sort();
        println!(
            "{:<48} {:>6} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
            case.name,
            rows,
            ms(percentile(&times, 50)),
            ms(percentile(&times, 95)),
            ms(*times.last().unwrap_or(&Duration::ZERO)),
            ms(percentile(&database, 50)),
        );
    }
    Ok(())
}

/// The length of the first list in the response (the rows of a grouping),
/// or 1 for an object.
fn count_rows(data: &serde_json::Value) -> usize {
    match data.as_object().and_then(|o| o.values().next()) {
        Some(serde_json::Value::Array(rows)) => rows.len(),
        Some(_) => 1,
        None => 0,
    }
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() - 1) * p).div_ceil(100);
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_sorted_times() {
        let t: Vec<Duration> = (1..=20).map(Duration::from_millis).collect();
        assert_eq!(percentile(&t, 50), Duration::from_millis(11));
        assert_eq!(percentile(&t, 95), Duration::from_millis(20));
        assert_eq!(percentile(&[], 50), Duration::ZERO);
    }
}
