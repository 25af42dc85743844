//! Disclosure control: the one place where a figure about people becomes
//! what a viewer is shown.
//!
//! Every count of people or of their records that the API publishes
//! (`participationStats`, `Session.attendance`, `grantTotals`) is a
//! [`Figure`]: the count over all the facts behind it, the count over the
//! facts the viewer has full rights to, and the sum of the secret record
//! keys of those facts. [`Figure::protect`] turns it into a [`Protected`]
//! value under these rules (the cell key method of the Australian Bureau of
//! Statistics' TableBuilder, recommended by Eurostat for the 2021 census):
//!
//! 1. **Zero stays zero.** A figure with no facts behind it is `0`.
//! 2. **Full rights, exact figure.** When every fact behind the figure lies
//!    within the viewer's rights (ADMIN; a LEADER for its own staff; a
//!    PROVIDER for the people in runs of its programmes; a FUNDER for the
//!    services covering its counties), the figure is exact.
//! 3. **Everyone else, a perturbed figure**, on every row, also on rows
//!    that mix facts within and outside the viewer's rights, so that what
//!    a viewer knows exactly cannot be subtracted from what it is shown.
//!    The noise comes from the cell key: `(sum of the record keys + the
//!    measure's offset) mod 2^32`, looked up in a fixed perturbation table
//!    ([`noise`]). Each person has a random record key in `[0, 2^32)`,
//!    drawn once and kept in the database, never exposed; the same set of
//!    facts therefore always gets the same noise (asking again, through
//!    another grouping, filter or endpoint, or averaging, gives the same
//!    figure), while two different sets get independent noise, so that the
//!    difference of two published figures is not the difference of the
//!    true ones.
//! 4. **Small figures are suppressed.** A perturbed figure below
//!    [`THRESHOLD`] is not shown (`null`, with `suppressed: true`), so a
//!    figure shown to a viewer without full rights is 0 or at least 5.
//!
//! Figures about the records of a group (attendances, completions, the
//! attendance rate) are protected per person, not per record: the callers
//! suppress them whenever the group's people count is suppressed (see
//! [`Protected::gate`]).
//!
//! The perturbation table is a two-sided geometric distribution with ratio
//! [`NOISE_RATIO`]: noise `d` has probability `(1 - a) / (1 + a) * a^|d|`,
//! so `d = 0` about 43 % of the time, `|d| <= 1` about 77 %, `|d| <= 3`
//! about 96 %; its mean is 0 and its variance `2a / (1 - a)^2 = 2.2`. Its
//! support is not bounded by a small number: an attacker who knows the
//! table cannot rule out any nearby value from the edge of the noise
//! (which bounded tables allow when two extreme noises meet). Only the
//! record keys are secret; these parameters are public.

use std::sync::LazyLock;

/// A perturbed figure below this is suppressed (withheld).
pub const THRESHOLD: i64 = 5;

/// Record keys and cell keys lie in `[0, KEY_MODULUS)`.
pub const KEY_MODULUS: i64 = 1 << 32;

/// The ratio `a` of the two-sided geometric perturbation table.
pub const NOISE_RATIO: f64 = 0.4;

/// The largest noise the table holds: beyond it the probability is below
/// `2^-32`, the resolution of a cell key.
pub const MAX_NOISE: i64 = 26;

/// What a figure counts. Each measure offsets the cell key by its own
/// constant, so that two measures over the same people (participants and
/// completions when everyone completed) get independent noise; the same
/// measure gets the same noise on every endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// Participations (a person once per run).
    Participants,
    /// Distinct people.
    People,
    /// Completed participations.
    Completions,
    /// Attendance records, present or absent.
    Recorded,
    /// Attendance records marked present.
    Present,
    /// Attendance records marked absent.
    Absent,
    /// Distinct people present at a session of a run.
    Attendees,
}

impl Measure {
    /// The measure's offset to the cell key (fractional parts of multiples
    /// of the golden ratio, far apart in `[0, 2^32)`).
    fn offset(self) -> i64 {
        match self {
            Measure::Participants => 0,
            Measure::People => 0x9E37_79B9,
            Measure::Completions => 0x3C6E_F372,
            Measure::Recorded => 0xDAA6_6D2B,
            Measure::Present => 0x78DD_E6E4,
            Measure::Absent => 0x1715_609D,
            Measure::Attendees => 0xB54C_DA56,
        }
    }
}

/// One figure about people before protection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Figure {
    /// The count over all facts.
    pub total: i64,
    /// The count over the facts the viewer has full rights to.
    pub own: i64,
    /// The sum of the record keys of all facts counted in `total`.
    pub key: i64,
}

/// A figure as the viewer may see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protected {
    /// The true figure (zero, or every fact within the viewer's rights).
    Exact(i64),
    /// The figure with its cell key's noise (at least [`THRESHOLD`]).
    Perturbed(i64),
    /// Withheld.
    Suppressed,
}

impl Figure {
    /// A figure.
    pub fn new(total: i64, own: i64, key: i64) -> Self {
        Self { total, own, key }
    }

    /// The figure's cell key for `measure`, in `[0, 2^32)`.
    pub fn cell_key(&self, measure: Measure) -> u32 {
        // rem_euclid is in [0, 2^32), so the conversion cannot fail.
        u32::try_from((self.key + measure.offset()).rem_euclid(KEY_MODULUS)).unwrap_or(0)
    }

    /// The figure as the viewer may see it (the rules of the module).
    pub fn protect(&self, measure: Measure) -> Protected {
        if self.total <= 0 {
            return Protected::Exact(0);
        }
        if self.own >= self.total {
            return Protected::Exact(self.total);
        }
        let shown = self.total + noise(self.cell_key(measure));
        if shown < THRESHOLD {
            Protected::Suppressed
        } else {
            Protected::Perturbed(shown)
        }
    }

    /// The difference of two figures (`self` minus `other`), e.g. absences
    /// as records minus records present.
    pub fn minus(&self, other: &Figure) -> Figure {
        Figure::new(
            self.total - other.total,
            self.own - other.own,
            self.key - other.key,
        )
    }
}

impl Protected {
    /// The value shown, `None` when suppressed.
    pub fn value(self) -> Option<i64> {
        match self {
            Protected::Exact(v) | Protected::Perturbed(v) => Some(v),
            Protected::Suppressed => None,
        }
    }

    /// Whether the figure is withheld.
    pub fn is_suppressed(self) -> bool {
        self == Protected::Suppressed
    }

    /// This figure about the records of a group, given the protected people
    /// count of the group: withheld whenever that count is, so that the
    /// records of a few people are protected like their number.
    pub fn gate(self, people: Protected) -> Protected {
        if people.is_suppressed() {
            Protected::Suppressed
        } else {
            self
        }
    }
}

/// A rate `part / whole` from two protected figures, in `[0, 1]`: `None`
/// when either is withheld or the whole is zero.
pub fn rate(part: Protected, whole: Protected) -> Option<f64> {
    let (p, w) = (part.value()?, whole.value()?);
    (w > 0).then(|| (p as f64 / w as f64).clamp(0.0, 1.0))
}

/// The perturbation table: for each noise value from `-MAX_NOISE` to
/// `MAX_NOISE`, the first cell key that no longer maps to it. Computed once
/// with IEEE arithmetic only (no library functions), so it is the same on
/// every machine.
static TABLE: LazyLock<Vec<(i64, u64)>> = LazyLock::new(|| {
    let a = NOISE_RATIO;
    let mut weights = Vec::new();
    for d in -MAX_NOISE..=MAX_NOISE {
        let mut w = 1.0_f64;
        for _ in 0..d.unsigned_abs() {
            w *= a;
        }
        weights.push((d, w));
    }
    let sum: f64 = weights.iter().map(|(_, w)| w).sum();
    let modulus = KEY_MODULUS as f64;
    let mut cumulative = 0.0;
    let mut out = Vec::with_capacity(weights.len());
    for (d, w) in weights {
        cumulative += w / sum;
        let edge = if d == MAX_NOISE {
            KEY_MODULUS as u64
        } else {
            (cumulative * modulus).round() as u64
        };
        out.push((d, edge));
    }
    out
});

/// The noise of a cell key: the table's value for the key.
pub fn noise(cell_key: u32) -> i64 {
    let key = u64::from(cell_key);
    let table = &*TABLE;
    let i = table.partition_point(|&(_, edge)| edge <= key);
    table.get(i).map_or(0, |&(d, _)| d)
}

/// The probability of each noise value in the table (for the README's
/// figures and the tests).
pub fn noise_distribution() -> Vec<(i64, f64)> {
    let mut previous = 0_u64;
    TABLE
        .iter()
        .map(|&(d, edge)| {
            let p = (edge - previous) as f64 / KEY_MODULUS as f64;
            previous = edge;
            (d, p)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_stays_zero_and_full_rights_are_exact() {
        assert_eq!(
            Figure::new(0, 0, 0).protect(Measure::Present),
            Protected::Exact(0)
        );
        assert_eq!(
            Figure::new(3, 3, 17).protect(Measure::Participants),
            Protected::Exact(3)
        );
        assert_eq!(
            Figure::new(40, 40, 17).protect(Measure::Participants),
            Protected::Exact(40)
        );
    }

    #[test]
    fn small_figures_are_never_shown_to_others() {
        // Whatever the key, a figure of 1..4 is suppressed or perturbed to
        // at least the threshold; and a figure shown is never below it.
        for total in 1..=4 {
            for key in (0..KEY_MODULUS).step_by(9_973_771) {
                match Figure::new(total, 0, key).protect(Measure::Participants) {
                    Protected::Suppressed => {}
                    Protected::Perturbed(v) => assert!(v >= THRESHOLD),
                    Protected::Exact(_) => panic!("{total} shown exactly"),
                }
            }
        }
        // A mixed row is perturbed too: 20 own and 2 others.
        let mixed = Figure::new(22, 20, 5);
        assert!(!matches!(
            mixed.protect(Measure::Present),
            Protected::Exact(_)
        ));
    }

    #[test]
    fn the_same_facts_get_the_same_noise_and_other_facts_other_noise() {
        let f = Figure::new(30, 0, 123_456_789);
        assert_eq!(f.protect(Measure::Present), f.protect(Measure::Present));
        // The measure's offset makes participants and completions over the
        // same people independent.
        assert_ne!(
            f.cell_key(Measure::Participants),
            f.cell_key(Measure::Completions)
        );
        // Keys wrap modulo 2^32, whatever the sign of a difference.
        assert_eq!(
            Figure::new(1, 0, -1).cell_key(Measure::Participants),
            u32::MAX
        );
        assert_eq!(
            Figure::new(1, 0, KEY_MODULUS + 7).cell_key(Measure::Participants),
            7
        );
    }

    #[test]
    fn the_table_is_a_symmetric_geometric_distribution() {
        let dist = noise_distribution();
        assert_eq!(dist.len() as i64, 2 * MAX_NOISE + 1);
        let total: f64 = dist.iter().map(|(_, p)| p).sum();
        assert!((total - 1.0).abs() < 1e-9);
        let p = |d: i64| dist.iter().find(|(k, _)| *k == d).map_or(0.0, |x| x.1);
        let p0 = (1.0 - NOISE_RATIO) / (1.0 + NOISE_RATIO);
        assert!((p(0) - p0).abs() < 1e-6, "{}", p(0));
        assert!((p(1) - p(-1)).abs() < 1e-6);
        assert!((p(2) / p(1) - NOISE_RATIO).abs() < 1e-4);
        let mean: f64 = dist.iter().map(|(d, p)| *d as f64 * p).sum();
        assert!(mean.abs() < 1e-6);
        let var: f64 = dist.iter().map(|(d, p)| (*d as f64).powi(2) * p).sum();
        let expected = 2.0 * NOISE_RATIO / (1.0 - NOISE_RATIO).powi(2);
        assert!((var - expected).abs() < 1e-3, "{var}");
        // Every value from -3 to 3 is reachable.
        for d in -3..=3 {
            assert!(p(d) > 0.01, "{d}");
        }
        // The lookup follows the table at its edges.
        assert!(noise(0) <= -20, "{}", noise(0));
        assert!(noise(u32::MAX) >= 20, "{}", noise(u32::MAX));
        assert_eq!(noise(u32::MAX / 2), 0);
    }

    #[test]
    fn records_follow_their_people() {
        let people = Protected::Suppressed;
        assert_eq!(Protected::Perturbed(30).gate(people), Protected::Suppressed);
        assert_eq!(
            Protected::Exact(0).gate(Protected::Perturbed(6)),
            Protected::Exact(0)
        );
    }

    #[test]
    fn rates_come_from_the_protected_figures() {
        assert_eq!(rate(Protected::Exact(5), Protected::Exact(10)), Some(0.5));
        assert_eq!(rate(Protected::Suppressed, Protected::Exact(10)), None);
        assert_eq!(rate(Protected::Exact(0), Protected::Exact(0)), None);
        assert_eq!(
            rate(Protected::Perturbed(12), Protected::Perturbed(11)),
            Some(1.0)
        );
    }
}
