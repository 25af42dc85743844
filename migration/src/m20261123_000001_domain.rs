//! The complete domain: reference data (counties, municipalities, funder
//! offices, providers), services and networks, programmes and their runs,
//! participation and attendance, grants, role assignments and the audit log.
//!
//! Conventions: every table has a UUID (v7) primary key `id`; every mutable
//! row carries `version` (optimistic locking), `created_at` and `updated_at`;
//! every foreign key and filter column has an index; enumerations are stored
//! as short upper-case strings. Lists of prose (goals, learning objectives,
//! former names) are JSON arrays in a text column.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261123_000001_domain"
    }
}

/// Foreign-key behaviour when the referenced row is deleted.
#[derive(Clone, Copy)]
enum OnDelete {
    /// The referencing row cannot outlive the referenced one (membership rows).
    Cascade,
    /// Deleting the referenced row is refused while references exist.
    Restrict,
    /// The reference is optional and is cleared.
    SetNull,
}

/// A table under construction with its indexes.
struct Tbl {
    name: &'static str,
    create: TableCreateStatement,
    indexes: Vec<IndexCreateStatement>,
}

impl Tbl {
    /// A table with a UUID primary key `id`.
    fn entity(name: &'static str) -> Self {
        let mut create = Table::create();
        create.table(name).col(pk_uuid("id"));
        Self {
            name,
            create,
            indexes: Vec::new(),
        }
    }

    /// A link table whose primary key is the pair of its two references;
    /// both sides cascade on delete and the second side is indexed.
    fn link(
        name: &'static str,
        (a, a_ref): (&'static str, &'static str),
        (b, b_ref): (&'static str, &'static str),
    ) -> Self {
        let mut create = Table::create();
        create.table(name);
        let t = Self {
            name,
            create,
            indexes: Vec::new(),
        };
        let mut t = t
            .fk_inner(a, a_ref, false, OnDelete::Cascade, false)
            .fk_inner(b, b_ref, false, OnDelete::Cascade, true);
        t.create
            .primary_key(Index::create().name(format!("pk_{name}")).col(a).col(b));
        t
    }

    fn col(mut self, def: impl Into<ColumnDef>) -> Self {
        self.create.col(def.into());
        self
    }

    /// `version`, `created_at`, `updated_at`: the columns of a mutable row.
    fn mutable(self) -> Self {
        self.col(integer("version").default(1))
            .col(timestamp_with_time_zone("created_at").default(Expr::current_timestamp()))
            .col(timestamp_with_time_zone("updated_at").default(Expr::current_timestamp()))
    }

    /// A required reference to `target(id)`, indexed.
    fn fk(self, col: &'static str, target: &'static str, on_delete: OnDelete) -> Self {
        self.fk_inner(col, target, false, on_delete, true)
    }

    /// An optional reference to `target(id)`, indexed.
    fn fk_null(self, col: &'static str, target: &'static str, on_delete: OnDelete) -> Self {
        self.fk_inner(col, target, true, on_delete, true)
    }

    fn fk_inner(
        mut self,
        col: &'static str,
        target: &'static str,
        nullable: bool,
        on_delete: OnDelete,
        indexed: bool,
    ) -> Self {
        self.create
            .col(if nullable { uuid_null(col) } else { uuid(col) });
        let action = match on_delete {
            OnDelete::Cascade => ForeignKeyAction::Cascade,
            OnDelete::Restrict => ForeignKeyAction::Restrict,
            OnDelete::SetNull => ForeignKeyAction::SetNull,
        };
        self.create.foreign_key(
            ForeignKey::create()
                .name(format!("fk_{}_{}", self.name, col))
                .from(self.name, col)
                .to(target, "id")
                .on_delete(action)
                .on_update(ForeignKeyAction::Cascade),
        );
        if indexed {
            self = self.index(&[col]);
        }
        self
    }

    fn index(mut self, cols: &[&'static str]) -> Self {
        let mut idx = Index::create();
        idx.name(format!("ix_{}_{}", self.name, cols.join("_")))
            .table(self.name);
        for c in cols {
            idx.col(*c);
        }
        self.indexes.push(idx);
        self
    }

    fn unique(mut self, cols: &[&'static str]) -> Self {
        let mut idx = Index::create();
        idx.name(format!("ux_{}_{}", self.name, cols.join("_")))
            .table(self.name)
            .unique();
        for c in cols {
            idx.col(*c);
        }
        self.indexes.push(idx);
        self
    }
}

/// Short upper-case enumeration value.
fn enumeration(col: &'static str) -> ColumnDef {
    string_len(col, 40)
}

/// A JSON array of strings (or objects) stored as text, `[]` when empty.
fn json_list(col: &'static str) -> ColumnDef {
    text(col).default("[]").take()
}

/// The tables in creation order (every table after the ones it references).
fn tables() -> Vec<Tbl> {
    use OnDelete::*;
    vec![
        // --- Reference data -------------------------------------------------
        Tbl::entity("county")
            .col(char_len("number", 2))
            .col(string("name"))
            .col(string("official_name"))
            .col(big_integer_null("population"))
            .col(integer_null("population_year"))
            .col(date_null("valid_from"))
            .col(date_null("valid_to"))
            .fk_null("merged_into_id", "county", SetNull)
            .mutable()
            .unique(&["number"])
            .index(&["name"])
            .index(&["valid_to"]),
        Tbl::entity("municipality")
            .col(char_len("number", 4))
            .col(string("name"))
            .col(string("official_name"))
            .col(string("display_name"))
            .fk("county_id", "county", Restrict)
            .col(big_integer_null("population"))
            .col(integer_null("population_year"))
            .col(date_null("valid_from"))
            .col(date_null("valid_to"))
            .col(string_len_null("change_type", 40))
            .mutable()
            .unique(&["number"])
            .index(&["name"])
            .index(&["valid_to"]),
        Tbl::link(
            "municipality_successor",
            ("municipality_id", "municipality"),
            ("successor_id", "municipality"),
        ),
        Tbl::entity("funder_office")
            .col(char_len("org_number", 9))
            .col(string("name"))
            .col(string("registered_name"))
            .col(json_list("former_names"))
            .col(string_null("web_slug"))
            .mutable()
            .unique(&["org_number"])
            .unique(&["name"]),
        Tbl::link(
            "funder_office_county",
            ("funder_office_id", "funder_office"),
            ("county_id", "county"),
        ),
        Tbl::entity("provider")
            .col(string_len("slug", 80))
            .col(char_len_null("org_number", 9))
            .col(string("name"))
            .col(string("short_name"))
            .col(enumeration("kind"))
            .col(json_list("former_names"))
            .col(text_null("description"))
            .mutable()
            .unique(&["slug"])
            .unique(&["org_number"])
            .unique(&["short_name"])
            .index(&["kind"]),
        Tbl::link(
            "provider_region",
            ("provider_id", "provider"),
            ("county_id", "county"),
        ),
        // --- Services and networks -----------------------------------------
        Tbl::entity("service")
            .col(string_len("slug", 120))
            .col(string("name"))
            .col(enumeration("kind"))
            .fk_null("host_municipality_id", "municipality", Restrict)
            .col(text_null("notes"))
            .col(string_null("source"))
            .mutable()
            .unique(&["slug"])
            .index(&["kind"])
            .index(&["name"]),
        Tbl::link(
            "service_municipality",
            ("service_id", "service"),
            ("municipality_id", "municipality"),
        ),
        Tbl::entity("network")
            .col(string_len("slug", 120))
            .col(string("name"))
            .col(enumeration("kind"))
            .col(enumeration("scope"))
            .fk_null("county_id", "county", Restrict)
            .fk_null("coordinator_service_id", "service", SetNull)
            .col(text_null("description"))
            .col(integer_null("reported_member_count"))
            .col(string_null("source"))
            .mutable()
            .unique(&["slug"])
            .index(&["kind"])
            .index(&["name"]),
        Tbl::entity("network_member")
            .fk("network_id", "network", Cascade)
            .fk("service_id", "service", Restrict)
            .col(date_null("joined_on"))
            .col(date_null("left_on"))
            .mutable(),
        // --- Programmes --------------------------------------------------------
        Tbl::entity("programme")
            .col(string_len("slug", 120))
            .col(string("name"))
            .col(string_null("short_name"))
            .col(text_null("summary"))
            .col(text_null("description"))
            .col(json_list("goals"))
            .col(json_list("learning_objectives"))
            .col(json_list("competence_areas"))
            .col(integer_null("completion_min_percent"))
            .col(text_null("completion_rule"))
            .col(string_null("source"))
            .mutable()
            .unique(&["slug"])
            .index(&["name"]),
        Tbl::link(
            "programme_provider",
            ("programme_id", "programme"),
            ("provider_id", "provider"),
        )
        .col(enumeration("role"))
        .index(&["role"]),
        Tbl::entity("programme_theme")
            .fk("programme_id", "programme", Cascade)
            .col(string_len("theme", 80))
            .unique(&["programme_id", "theme"])
            .index(&["theme"]),
        Tbl::entity("programme_service_kind")
            .fk("programme_id", "programme", Cascade)
            .col(enumeration("kind"))
            .unique(&["programme_id", "kind"])
            .index(&["kind"]),
        Tbl::entity("milestone")
            .fk("programme_id", "programme", Cascade)
            .col(integer("position"))
            .col(integer("year_from"))
            .col(integer_null("year_to"))
            .col(text("text"))
            .col(big_integer_null("figure"))
            .col(string_null("unit"))
            .col(string_len_null("qualifier", 40))
            .col(string_null("source"))
            .mutable()
            .index(&["year_from"]),
        // --- Runs and sessions ---------------------------------------------------
        Tbl::entity("programme_run")
            .fk("programme_id", "programme", Restrict)
            .fk_null("network_id", "network", Restrict)
            .col(string("title"))
            .col(enumeration("status"))
            .col(integer_null("year"))
            .col(date_null("starts_on"))
            .col(date_null("ends_on"))
            .col(string_null("period"))
            .col(text_null("notes"))
            .col(string_null("source"))
            .mutable()
            .index(&["status"])
            .index(&["year"])
            .index(&["starts_on"]),
        Tbl::entity("enrolment")
            .fk("run_id", "programme_run", Restrict)
            .fk("service_id", "service", Restrict)
            .col(enumeration("status"))
            .col(date_null("enrolled_on"))
            .col(date_null("withdrawn_on"))
            .mutable()
            .unique(&["run_id", "service_id"])
            .index(&["status"]),
        Tbl::entity("session")
            .fk("run_id", "programme_run", Restrict)
            .col(integer("position"))
            .col(string("title"))
            .col(enumeration("kind"))
            .col(enumeration("audience"))
            .col(date_null("date"))
            .col(timestamp_with_time_zone_null("starts_at"))
            .col(string_null("period"))
            .col(integer_null("duration_minutes"))
            .col(string_null("place"))
            .col(text_null("pre_work"))
            .col(integer_null("reported_attendance"))
            .col(boolean("reported_attendance_approximate").default(false))
            .mutable()
            .index(&["kind"])
            .index(&["audience"])
            .index(&["date"]),
        // --- People and participation (personal data) ------------------------
        Tbl::entity("person")
            .fk("service_id", "service", Restrict)
            .col(string("name"))
            .col(string_null("email"))
            .col(string_null("job_title"))
            .col(boolean("is_leader").default(false))
            .col(boolean("synthetic").default(false))
            .mutable()
            .index(&["email"])
            .index(&["name"]),
        Tbl::entity("participation")
            .fk("person_id", "person", Restrict)
            .fk("run_id", "programme_run", Restrict)
            .col(enumeration("role"))
            .col(enumeration("status"))
            .col(boolean("synthetic").default(false))
            .mutable()
            .unique(&["person_id", "run_id"])
            .index(&["status"]),
        Tbl::entity("attendance")
            .fk("session_id", "session", Restrict)
            .fk("person_id", "person", Restrict)
            .col(boolean("present"))
            .col(boolean("synthetic").default(false))
            .col(timestamp_with_time_zone("recorded_at").default(Expr::current_timestamp()))
            .mutable()
            .unique(&["session_id", "person_id"])
            .index(&["present"]),
        // --- Funding ---------------------------------------------------------------
        Tbl::entity("funding_grant")
            .fk("funder_office_id", "funder_office", Restrict)
            .fk_null("recipient_service_id", "service", Restrict)
            .fk_null("recipient_municipality_id", "municipality", Restrict)
            .fk_null("recipient_network_id", "network", Restrict)
            .fk_null("run_id", "programme_run", Restrict)
            .fk_null("programme_id", "programme", Restrict)
            .col(text("purpose"))
            .col(integer("year"))
            .col(big_integer_null("amount_applied"))
            .col(big_integer_null("amount_granted"))
            .col(enumeration("status"))
            .col(text_null("decision_reason"))
            .col(timestamp_with_time_zone_null("submitted_at"))
            .col(timestamp_with_time_zone_null("decided_at"))
            .col(timestamp_with_time_zone_null("paid_at"))
            .col(timestamp_with_time_zone_null("reported_at"))
            .col(text_null("report_text"))
            .col(integer_null("report_participants"))
            .col(string_null("source"))
            .mutable()
            .index(&["year"])
            .index(&["status"]),
        // --- Access and accountability ------------------------------------------
        Tbl::entity("role_assignment")
            .col(string("subject"))
            .col(enumeration("role"))
            .fk_null("funder_office_id", "funder_office", Cascade)
            .fk_null("provider_id", "provider", Cascade)
            .fk_null("service_id", "service", Cascade)
            .fk_null("person_id", "person", Cascade)
            .mutable()
            .index(&["subject"])
            .index(&["role"]),
        Tbl::entity("audit_log")
            .col(timestamp_with_time_zone("at").default(Expr::current_timestamp()))
            .col(string_null("subject"))
            .col(string_len_null("role", 40))
            .col(string("action"))
            .col(string_len("entity_type", 80))
            .col(uuid_null("entity_id"))
            .col(text("change").default("{}"))
            .index(&["at"])
            .index(&["subject"])
            .index(&["entity_type", "entity_id"]),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in tables() {
            manager.create_table(t.create).await?;
            for idx in t.indexes {
                manager.create_index(idx).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Dropping a table drops its indexes; drop in reverse creation order.
        for t in tables().into_iter().rev() {
            manager
                .drop_table(Table::drop().table(t.name).to_owned())
                .await?;
        }
        Ok(())
    }
}
