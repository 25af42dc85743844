//! Stable ids for the rows the seed loads: UUIDv5 in kompetanse's own
//! namespace, derived from each row's natural key, so that county 40,
//! municipality 4020, NUBU or the demo programme `tjenestestotteprogrammet`
//! have the same id (and global id) on every installation, and ids can be
//! carried between a test and a production database.
//!
//! Rows written through the API keep getting UUIDv7 ids (time-ordered);
//! only the seed's rows are derived.
//!
//! The namespace is the migration crate's ([`migration::stable_ids`]): the
//! migration `m20261206_000001_stable_ids` moves the reference rows of
//! databases seeded before to these same ids, and the tests below check
//! that its derivation and the seed's agree.

use uuid::Uuid;

/// The namespace of kompetanse's stable ids. Never change it: every stable
/// id derives from it.
pub const NAMESPACE: Uuid = migration::stable_ids::NAMESPACE;

/// The stable id of the row of `kind` (a table name) with natural key `key`.
pub fn stable(kind: &str, key: &str) -> Uuid {
    Uuid::new_v5(&NAMESPACE, format!("{kind}:{key}").as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_ids_are_fixed_forever() {
        // Pinned: a change here changes the ids of every installation.
        assert_eq!(
            NAMESPACE,
            uuid::uuid!("a31020e3-387e-4095-90dd-78ec9688c660")
        );
        assert_eq!(
            stable("county", "40").to_string(),
            Uuid::new_v5(&NAMESPACE, b"county:40").to_string()
        );
        assert_eq!(
            stable("county", "40").simple().to_string(),
            "cd155631dbc1532ab1d3e2f558f9abdf"
        );
        assert_eq!(stable("county", "40").get_version_num(), 5);
        assert_ne!(stable("county", "40"), stable("municipality", "40"));
        assert_eq!(stable("provider", "nubu"), stable("provider", "nubu"));
    }

    /// The migration that moves older databases derives the ids the seed
    /// gives new ones.
    #[test]
    fn the_migration_derives_the_seeds_ids() {
        let samples = [
            ("county", "03"),
            ("county", "40"),
            ("county", "08"),
            ("municipality", "4020"),
            ("municipality", "0821"),
            ("funder_office", "974762501"),
            ("provider", "nubu"),
            ("provider", "rvts-sor"),
            ("service", "hamar-barneverntjeneste"),
            ("programme", "tjenestestotteprogrammet"),
            ("funding_grant", "974762501:2025:0"),
            ("provider", "æøå"),
            ("provider", ""),
        ];
        for (kind, key) in samples {
            assert_eq!(
                stable(kind, key),
                migration::stable_ids::stable(kind, key),
                "{kind}:{key}"
            );
        }
    }
}
