//! The one access policy of the API (DOMAIN.md, "Roles").
//!
//! Catalogue data (counties, municipalities, providers, programmes,
//! networks, services, runs, sessions) is public. Personal data, grants,
//! role assignments and the audit log are not; counts about people are
//! suppressed below [`SUPPRESSION_THRESHOLD`] for viewers without full
//! rights. Each rule is a function of the [`Viewer`], and row rules are SQL
//! conditions.

use sea_orm::Condition;
use sea_orm::sea_query::{Expr, ExprTrait};

use super::Viewer;

/// Counts about people from 1 to this number minus one are not shown to
/// viewers without full rights on the row.
pub const SUPPRESSION_THRESHOLD: i64 = 5;

/// The grants a viewer may see, as a SQL condition.
pub fn visible_grants(viewer: &Viewer) -> Condition {
    match viewer {
        // Grants are money decisions of public offices about named
        // recipients: only the parties to a grant may read it.
        Viewer::Anonymous => nothing(),
    }
}

/// Whether the viewer may read this grant (the row rule of
/// [`visible_grants`] for one loaded row).
pub fn may_read_grant(viewer: &Viewer, _grant: &entity::funding_grant::Model) -> bool {
    match viewer {
        Viewer::Anonymous => false,
    }
}

/// A condition no row meets.
fn nothing() -> Condition {
    Condition::all().add(Expr::val(1).eq(0))
}

/// Whether the viewer has full rights on people counts (no suppression)
/// for the run or session at hand.
pub fn sees_exact_people_counts(viewer: &Viewer) -> bool {
    match viewer {
        Viewer::Anonymous => false,
    }
}

/// A people count as the viewer may see it: `None` when suppressed.
pub fn people_count(viewer: &Viewer, count: i64) -> Option<i64> {
    if sees_exact_people_counts(viewer) || count == 0 || count >= SUPPRESSION_THRESHOLD {
        Some(count)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_counts_are_suppressed_for_anonymous() {
        let v = Viewer::Anonymous;
        assert_eq!(people_count(&v, 0), Some(0));
        assert_eq!(people_count(&v, 1), None);
        assert_eq!(people_count(&v, 4), None);
        assert_eq!(people_count(&v, 5), Some(5));
    }
}
