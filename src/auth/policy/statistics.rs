//! Who sees exact figures in statistics and coverage, and which cells are
//! suppressed.
//!
//! Statistics count facts about people: participations (participants,
//! completions) and attendance records. Each such fact either lies within
//! the viewer's rights ("own": ADMIN everything; a LEADER the people of its
//! service; a PROVIDER the people in runs of its programmes, lead or
//! partner; a FUNDER the people of services that cover a municipality in a
//! county of its office) or not. A figure is computed twice in SQL: in
//! full, and over the viewer's own facts only ([`own_people_facts`]).
//!
//! **Primary suppression** ([`Cell::primary_hidden`]): a people count is
//! hidden when the part of it *outside* the viewer's rights is between 1
//! and [`SUPPRESSION_THRESHOLD`]` - 1`. For a viewer without rights that is
//! the count itself (the rule of official statistics); a row made only of
//! the viewer's own facts is always exact; and a row mixing both cannot be
//! used to single out the few people outside the viewer's rights by
//! subtracting what the viewer knows exactly.
//!
//! **Secondary suppression** ([`protect_against_subtraction`]): in a
//! grouping, the cells that differ in one group key only (a "slice", e.g.
//! the counties of one year) add up to a total the viewer can ask for
//! separately. When exactly one cell of a slice is hidden, the shown cell
//! with the smallest part outside the viewer's rights (or else a zero) is
//! hidden too, and this is repeated until no slice has a single hidden
//! cell. When a slice has no such second cell, the hidden cell holds all of
//! the slice's people outside the viewer's rights, so the slice's total is
//! itself hidden under the primary rule.

use std::collections::HashMap;
use std::hash::Hash;

use sea_orm::Condition;
use sea_orm::sea_query::{Expr, ExprTrait, Query, SelectStatement};
use uuid::Uuid;

use super::SUPPRESSION_THRESHOLD;
use crate::auth::{Scope, Viewer};
use entity::programme_provider;

/// Which facts about people a viewer has full rights to.
#[derive(Debug, Clone)]
pub enum FactRights {
    /// All facts (ADMIN): nothing is suppressed.
    All,
    /// No facts (anonymous, STAFF): every small count is suppressed.
    Nothing,
    /// The facts meeting this SQL condition.
    Some(Condition),
}

/// The people facts (participations, attendance records) the viewer has
/// full rights to, as a SQL condition over the fact's run programme
/// (`programme`, a programme id) and the person's service (`service`, a
/// service id). `services_of_offices` gives the services covering a
/// municipality in a county of the given funder offices (a subquery
/// selecting service ids), so that a FUNDER's rights follow the same
/// (history-aware) coverage as the statistics themselves.
pub fn own_people_facts(
    viewer: &Viewer,
    programme: Expr,
    service: Expr,
    services_of_offices: impl Fn(&[Uuid]) -> SelectStatement,
) -> FactRights {
    if viewer.is_admin() {
        return FactRights::All;
    }
    let mut any = Condition::any();
    let mut some = false;
    for scope in &viewer.scopes {
        match *scope {
            Scope::Admin => return FactRights::All,
            Scope::Leader { service_id } => {
                any = any.add(service.clone().eq(service_id));
                some = true;
            }
            Scope::Provider { provider_id } => {
                any = any.add(
                    programme.clone().in_subquery(
                        Query::select()
                            .column(programme_provider::Column::ProgrammeId)
                            .from(programme_provider::Entity)
                            .and_where(
                                Expr::col(programme_provider::Column::ProviderId).eq(provider_id),
                            )
                            .to_owned(),
                    ),
                );
                some = true;
            }
            Scope::Funder { funder_office_id } => {
                any = any.add(
                    service
                        .clone()
                        .in_subquery(services_of_offices(&[funder_office_id])),
                );
                some = true;
            }
            Scope::Staff { .. } => {}
        }
    }
    if some {
        FactRights::Some(any)
    } else {
        FactRights::Nothing
    }
}

/// Whether the viewer may see granted amounts in statistics at all: those
/// who may see some grants (see [`super::visible_grants`], whose rule the
/// sums follow): everyone but anonymous and STAFF viewers.
pub fn sees_grant_sums(viewer: &Viewer) -> bool {
    viewer
        .scopes
        .iter()
        .any(|s| !matches!(s, Scope::Staff { .. }))
}

/// One people count of a statistics row: the full figure and the part of
/// it made of facts the viewer has full rights to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cell {
    /// The figure over all facts.
    pub total: i64,
    /// The figure over the viewer's own facts only.
    pub own: i64,
}

impl Cell {
    /// A cell.
    pub fn new(total: i64, own: i64) -> Self {
        Self { total, own }
    }

    /// The part of the figure outside the viewer's rights.
    pub fn foreign(&self) -> i64 {
        std::cmp::max(self.total - self.own, 0)
    }

    /// Whether the primary rule hides the cell: its part outside the
    /// viewer's rights is 1 to `SUPPRESSION_THRESHOLD - 1`.
    pub fn primary_hidden(&self) -> bool {
        let f = self.foreign();
        f > 0 && f < SUPPRESSION_THRESHOLD
    }

    /// The figure as the viewer may see it, given whether it is hidden.
    pub fn shown(&self, hidden: bool) -> Option<i64> {
        (!hidden).then_some(self.total)
    }
}

/// The slices of a grouping: for each grouped dimension, the sets of rows
/// (by index) that agree on every other key. `keys[i]` are the group keys
/// of row `i`, one per dimension in the same order for every row. Slices of
/// one row are left out (they need no protection beyond the primary rule).
pub fn slices<K: Hash + Eq + Clone>(keys: &[Vec<K>]) -> Vec<Vec<usize>> {
    let dims = keys.first().map_or(0, Vec::len);
    let mut out = Vec::new();
    for d in 0..dims {
        let mut by_rest: HashMap<Vec<K>, Vec<usize>> = HashMap::new();
        let mut order: Vec<Vec<K>> = Vec::new();
        for (i, row) in keys.iter().enumerate() {
            let rest: Vec<K> = row
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != d)
                .map(|(_, k)| k.clone())
                .collect();
            let entry = by_rest.entry(rest.clone()).or_default();
            if entry.is_empty() {
                order.push(rest);
            }
            entry.push(i);
        }
        for rest in order {
            let rows = by_rest.remove(&rest).unwrap_or_default();
            if rows.len() > 1 {
                out.push(rows);
            }
        }
    }
    out
}

/// Secondary suppression of one measure: `hidden[i]` says whether the
/// cell of row `i` is hidden (start with [`Cell::primary_hidden`]); cells
/// are added until no slice has exactly one hidden cell while it has a
/// shown cell that could cover it. The cover is the shown cell with the
/// smallest number of people outside the viewer's rights (the earliest row
/// on ties), or else a zero (hiding a zero hides that it is one). Cells
/// made only of the viewer's own facts are no cover: the viewer can ask
/// for them exactly.
pub fn protect_against_subtraction(cells: &[Cell], hidden: &mut [bool], slices: &[Vec<usize>]) {
    loop {
        let mut changed = false;
        for slice in slices {
            let hidden_here = slice.iter().filter(|&&i| hidden[i]).count();
            if hidden_here != 1 {
                continue;
            }
            let shown = || slice.iter().copied().filter(|&i| !hidden[i]);
            let candidate = shown()
                .filter(|&i| cells[i].foreign() > 0)
                .min_by_key(|&i| (cells[i].foreign(), i))
                .or_else(|| shown().find(|&i| cells[i].total == 0));
            if let Some(i) = candidate {
                hidden[i] = true;
                changed = true;
            }
        }
        if !changed {
            return;
        }
    }
}

/// Whether an attendance rate may be shown: the present count is shown,
/// and neither the records behind it nor the absences (records minus
/// present) have 1 to `SUPPRESSION_THRESHOLD - 1` people outside the
/// viewer's rights (a rate with its present count would reveal them).
pub fn rate_shown(present_hidden: bool, recorded: Cell, present: Cell) -> bool {
    let absent = Cell::new(recorded.total - present.total, recorded.own - present.own);
    !present_hidden && !recorded.primary_hidden() && !absent.primary_hidden()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::sea_query::{PostgresQueryBuilder, SqliteQueryBuilder};

    fn rights(viewer: &Viewer) -> FactRights {
        own_people_facts(
            viewer,
            Expr::col(("r", "programme_id")),
            Expr::col(("pe", "service_id")),
            |offices| {
                Query::select()
                    .column("service_id")
                    .from("area")
                    .and_where(Expr::col("office_id").is_in(offices.iter().copied()))
                    .to_owned()
            },
        )
    }

    #[test]
    fn rights_follow_the_scopes() {
        assert!(matches!(rights(&Viewer::anonymous()), FactRights::Nothing));
        let staff = Viewer::new(
            "s",
            vec![Scope::Staff {
                person_id: Uuid::nil(),
            }],
        );
        assert!(matches!(rights(&staff), FactRights::Nothing));
        assert!(matches!(
            rights(&Viewer::new("a", vec![Scope::Admin])),
            FactRights::All
        ));
        let provider = Viewer::new(
            "p",
            vec![Scope::Provider {
                provider_id: Uuid::nil(),
            }],
        );
        let FactRights::Some(cond) = rights(&provider) else {
            panic!("provider has some rights");
        };
        let sql = Query::select()
            .expr(Expr::val(1))
            .cond_where(cond)
            .to_string(PostgresQueryBuilder);
        assert!(
            sql.contains(
                "\"r\".\"programme_id\" IN (SELECT \"programme_id\" FROM \"programme_provider\""
            ),
            "{sql}"
        );
        let both = Viewer::new(
            "lf",
            vec![
                Scope::Leader {
                    service_id: Uuid::nil(),
                },
                Scope::Funder {
                    funder_office_id: Uuid::nil(),
                },
            ],
        );
        let FactRights::Some(cond) = rights(&both) else {
            panic!("leader and funder have some rights");
        };
        let sql = Query::select()
            .expr(Expr::val(1))
            .cond_where(cond)
            .to_string(SqliteQueryBuilder);
        assert!(sql.contains("\"pe\".\"service_id\" = "), "{sql}");
        assert!(sql.contains(" OR "), "{sql}");
        assert!(sql.contains("FROM \"area\""), "{sql}");
    }

    #[test]
    fn grant_sums_are_for_those_who_see_grants() {
        assert!(!sees_grant_sums(&Viewer::anonymous()));
        let staff = Viewer::new(
            "s",
            vec![Scope::Staff {
                person_id: Uuid::nil(),
            }],
        );
        assert!(!sees_grant_sums(&staff));
        assert!(sees_grant_sums(&Viewer::new("a", vec![Scope::Admin])));
        let leader = Viewer::new(
            "l",
            vec![Scope::Leader {
                service_id: Uuid::nil(),
            }],
        );
        assert!(sees_grant_sums(&leader));
    }

    #[test]
    fn primary_rule_looks_at_the_part_outside_the_rights() {
        // No rights: the count itself.
        assert!(!Cell::new(0, 0).primary_hidden());
        assert!(Cell::new(1, 0).primary_hidden());
        assert!(Cell::new(4, 0).primary_hidden());
        assert!(!Cell::new(5, 0).primary_hidden());
        // All own: exact.
        assert!(!Cell::new(3, 3).primary_hidden());
        // 20 own and 3 others: the 3 could be worked out.
        assert!(Cell::new(23, 20).primary_hidden());
        assert!(!Cell::new(25, 20).primary_hidden());
        assert_eq!(Cell::new(3, 0).shown(true), None);
        assert_eq!(Cell::new(3, 3).shown(false), Some(3));
    }

    #[test]
    fn slices_of_one_and_two_dimensions() {
        assert!(slices::<u8>(&[vec![]]).is_empty());
        assert_eq!(slices(&[vec![1], vec![2], vec![3]]), vec![vec![0, 1, 2]]);
        // county × year
        let keys = [
            vec!['a', '1'],
            vec!['a', '2'],
            vec!['b', '1'],
            vec!['c', '3'],
        ];
        let s = slices(&keys);
        // along county, within year 1: rows 0 and 2; along year, within a: 0 and 1.
        assert!(s.contains(&vec![0, 2]));
        assert!(s.contains(&vec![0, 1]));
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn one_hidden_cell_takes_the_next_smallest_with_it() {
        let cells = [
            Cell::new(3, 0),
            Cell::new(40, 0),
            Cell::new(9, 0),
            Cell::new(12, 0),
        ];
        let mut hidden: Vec<bool> = cells.iter().map(Cell::primary_hidden).collect();
        protect_against_subtraction(
            &cells,
            &mut hidden,
            &slices(&[vec![1], vec![2], vec![3], vec![4]]),
        );
        assert_eq!(hidden, [true, false, true, false]);
    }

    #[test]
    fn two_hidden_cells_need_nothing_more() {
        let cells = [Cell::new(3, 0), Cell::new(2, 0), Cell::new(9, 0)];
        let mut hidden: Vec<bool> = cells.iter().map(Cell::primary_hidden).collect();
        protect_against_subtraction(&cells, &mut hidden, &slices(&[vec![1], vec![2], vec![3]]));
        assert_eq!(hidden, [true, true, false]);
    }

    #[test]
    fn own_cells_are_no_cover_and_zeros_the_last_resort() {
        // The viewer knows row 1 exactly (all own); row 3 covers before
        // the zero of row 2.
        let cells = [
            Cell::new(3, 0),
            Cell::new(10, 10),
            Cell::new(0, 0),
            Cell::new(30, 24),
        ];
        let mut hidden: Vec<bool> = cells.iter().map(Cell::primary_hidden).collect();
        protect_against_subtraction(
            &cells,
            &mut hidden,
            &slices(&[vec![1], vec![2], vec![3], vec![4]]),
        );
        assert_eq!(hidden, [true, false, false, true]);
        // Without a cover the cell stays alone: the slice total holds all
        // its people outside the rights and is hidden itself.
        let cells = [Cell::new(3, 0), Cell::new(10, 10)];
        let mut hidden: Vec<bool> = cells.iter().map(Cell::primary_hidden).collect();
        protect_against_subtraction(&cells, &mut hidden, &slices(&[vec![1], vec![2]]));
        assert_eq!(hidden, [true, false]);
        // A zero is the last resort.
        let cells = [Cell::new(3, 0), Cell::new(10, 10), Cell::new(0, 0)];
        let mut hidden: Vec<bool> = cells.iter().map(Cell::primary_hidden).collect();
        protect_against_subtraction(&cells, &mut hidden, &slices(&[vec![1], vec![2], vec![3]]));
        assert_eq!(hidden, [true, false, true]);
        let total = Cell::new(13, 10);
        assert!(total.primary_hidden());
    }

    #[test]
    fn two_dimensions_are_protected_in_every_slice() {
        // county × year: a1 is small. Within year 1, b1 covers it; within
        // county a, a2; then b1 and a2 are alone in county b and year 2,
        // and b2 covers both: every slice has two hidden cells or none.
        let keys = [
            vec!['a', '1'],
            vec!['a', '2'],
            vec!['b', '1'],
            vec!['b', '2'],
        ];
        let cells = [
            Cell::new(2, 0),
            Cell::new(10, 0),
            Cell::new(20, 0),
            Cell::new(8, 0),
        ];
        let mut hidden: Vec<bool> = cells.iter().map(Cell::primary_hidden).collect();
        protect_against_subtraction(&cells, &mut hidden, &slices(&keys));
        assert_eq!(hidden, [true, true, true, true]);
    }

    #[test]
    fn rates_follow_their_counts() {
        // 10 present of 12 recorded: 2 absent would show through the rate.
        assert!(!rate_shown(false, Cell::new(12, 0), Cell::new(10, 0)));
        assert!(rate_shown(false, Cell::new(20, 0), Cell::new(10, 0)));
        assert!(!rate_shown(true, Cell::new(20, 0), Cell::new(10, 0)));
        assert!(rate_shown(false, Cell::new(12, 12), Cell::new(10, 10)));
        assert!(rate_shown(false, Cell::new(0, 0), Cell::new(0, 0)));
    }
}
