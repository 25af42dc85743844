//! sea-orm entities of the kompetanse register.
//!
//! One module per table, named after the table; the schema itself is defined
//! by the `migration` crate (`m20261123_000001_domain`), which is the single
//! source of truth. Enumerated columns use the types in [`enums`]. Columns
//! holding lists of prose (`former_names`, `goals`, `learning_objectives`,
//! `competence_areas`) and `audit_log.change` are JSON text; read and write
//! them with [`decode_json_list`] and [`encode_json`].

pub mod enums;

pub mod attendance;
pub mod audit_log;
pub mod county;
pub mod enrolment;
pub mod funder_office;
pub mod funder_office_county;
pub mod funding_grant;
pub mod idempotency_key;
pub mod milestone;
pub mod municipality;
pub mod municipality_successor;
pub mod network;
pub mod network_member;
pub mod participation;
pub mod person;
pub mod programme;
pub mod programme_provider;
pub mod programme_run;
pub mod programme_service_kind;
pub mod programme_theme;
pub mod provider;
pub mod provider_region;
pub mod role_assignment;
pub mod service;
pub mod service_area;
pub mod service_municipality;
pub mod session;
pub mod stats_run_kind;
pub mod stats_run_person_kind;
pub mod stats_run_service;
pub mod stats_run_service_kind;

/// Every `Entity`, named after its table in UpperCamelCase.
pub mod prelude {
    pub use crate::attendance::Entity as Attendance;
    pub use crate::audit_log::Entity as AuditLog;
    pub use crate::county::Entity as County;
    pub use crate::enrolment::Entity as Enrolment;
    pub use crate::funder_office::Entity as FunderOffice;
    pub use crate::funder_office_county::Entity as FunderOfficeCounty;
    pub use crate::funding_grant::Entity as FundingGrant;
    pub use crate::idempotency_key::Entity as IdempotencyKey;
    pub use crate::milestone::Entity as Milestone;
    pub use crate::municipality::Entity as Municipality;
    pub use crate::municipality_successor::Entity as MunicipalitySuccessor;
    pub use crate::network::Entity as Network;
    pub use crate::network_member::Entity as NetworkMember;
    pub use crate::participation::Entity as Participation;
    pub use crate::person::Entity as Person;
    pub use crate::programme::Entity as Programme;
    pub use crate::programme_provider::Entity as ProgrammeProvider;
    pub use crate::programme_run::Entity as ProgrammeRun;
    pub use crate::programme_service_kind::Entity as ProgrammeServiceKind;
    pub use crate::programme_theme::Entity as ProgrammeTheme;
    pub use crate::provider::Entity as Provider;
    pub use crate::provider_region::Entity as ProviderRegion;
    pub use crate::role_assignment::Entity as RoleAssignment;
    pub use crate::service::Entity as Service;
    pub use crate::service_area::Entity as ServiceArea;
    pub use crate::service_municipality::Entity as ServiceMunicipality;
    pub use crate::session::Entity as Session;
    pub use crate::stats_run_kind::Entity as StatsRunKind;
    pub use crate::stats_run_person_kind::Entity as StatsRunPersonKind;
    pub use crate::stats_run_service::Entity as StatsRunService;
    pub use crate::stats_run_service_kind::Entity as StatsRunServiceKind;
}

/// A competence area of a programme, one element of the JSON array in
/// `programme.competence_areas`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CompetenceArea {
    /// Name of the area.
    pub name: String,
    /// What the area covers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Decodes a JSON array stored in a text column. Empty, malformed or
/// non-array text (including `null`) yields an empty vector.
pub fn decode_json_list<T: serde::de::DeserializeOwned>(text: &str) -> Vec<T> {
    serde_json::from_str::<Option<Vec<T>>>(text)
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// Encodes a value as compact JSON text for a text column. Serialisation of
/// the types stored here cannot fail; if it ever does, `null` is returned.
pub fn encode_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enums::*;
    use sea_orm::{ActiveEnum, Iterable};

    #[test]
    fn json_lists_round_trip() {
        let names = vec!["a".to_owned(), "b".to_owned()];
        let text = encode_json(&names);
        assert_eq!(text, r#"["a","b"]"#);
        assert_eq!(decode_json_list::<String>(&text), names);
        assert!(decode_json_list::<String>("").is_empty());
        assert!(decode_json_list::<String>("null").is_empty());
        assert!(decode_json_list::<String>("{}").is_empty());
        assert!(decode_json_list::<String>("[1").is_empty());
        let areas: Vec<CompetenceArea> =
            decode_json_list(r#"[{"name":"Traume"},{"name":"Vold","description":"d"}]"#);
        assert_eq!(areas.len(), 2);
        assert_eq!(areas[0].description, None);
        assert_eq!(encode_json(&areas[0]), r#"{"name":"Traume"}"#);
    }

    fn check<E>()
    where
        E: ActiveEnum<Value = String> + Iterable + serde::Serialize + Copy + std::fmt::Display,
    {
        for v in E::iter() {
            let db = v.to_value();
            assert_eq!(db, v.to_string());
            assert_eq!(serde_json::to_value(v).unwrap(), serde_json::json!(db));
            assert!(db.len() <= 40);
        }
    }

    #[test]
    fn enum_strings_agree() {
        check::<ServiceKind>();
        check::<ProviderKind>();
        check::<NetworkKind>();
        check::<NetworkScope>();
        check::<ProviderRole>();
        check::<RunStatus>();
        check::<EnrolmentStatus>();
        check::<SessionKind>();
        check::<Audience>();
        check::<ParticipationRole>();
        check::<ParticipationStatus>();
        check::<GrantStatus>();
        check::<Role>();
        check::<MunicipalityChange>();
        check::<FigureQualifier>();
        assert_eq!(ServiceKind::iter().count(), ServiceKind::ALL.len());
        assert_eq!(SessionKind::iter().count(), SessionKind::ALL.len());
        assert_eq!(GrantStatus::iter().count(), GrantStatus::ALL.len());
    }
}
