//! The derivation of kompetanse's stable ids: UUIDv5 in kompetanse's own
//! namespace of `"{kind}:{key}"`, where `kind` is the table and `key` the
//! row's natural key (a county's or municipality's number, an office's
//! organisation number, a slug …).
//!
//! It lives here, in the migration crate, because a migration
//! (`m20261206_000001_stable_ids`) moves the reference rows of existing
//! databases to these ids; the seed (`kompetanse::domain::seed::ids`)
//! derives the ids of new installations from the same namespace, and a test
//! there checks that both derivations agree. Never change either: every
//! stable id of every installation derives from them.

use uuid::Uuid;

/// The namespace of kompetanse's stable ids.
pub const NAMESPACE: Uuid = uuid::uuid!("a31020e3-387e-4095-90dd-78ec9688c660");

/// The stable id of the row of `kind` (a table name) with natural key `key`.
pub fn stable(kind: &str, key: &str) -> Uuid {
    Uuid::new_v5(&NAMESPACE, format!("{kind}:{key}").as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned() {
        // County 40 (Telemark): its global id is quoted in the README.
        assert_eq!(
            stable("county", "40").simple().to_string(),
            "cd155631dbc1532ab1d3e2f558f9abdf"
        );
        assert_eq!(stable("provider", "nubu").get_version_num(), 5);
        assert_ne!(stable("county", "40"), stable("municipality", "40"));
    }
}
