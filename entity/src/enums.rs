//! Enumerations stored as short upper-case strings (at most 40 characters).
//!
//! Each enum is at the same time a sea-orm active enum (the database value is
//! the `string_value`), a serde type (serialised in `SCREAMING_SNAKE_CASE`)
//! and a GraphQL enum (rendered in `SCREAMING_SNAKE_CASE`), so the database
//! string, the JSON string and the GraphQL name of a value are identical.

use sea_orm::entity::prelude::*;

/// Generates `as_str` (the database string of a value) and `ALL` (every
/// value in declaration order) for an enum.
macro_rules! db_strings {
    ($ty:ident { $($variant:ident => $value:literal),+ $(,)? }) => {
        impl $ty {
            /// Every value, in declaration order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            /// The string stored in the database (and used in JSON and GraphQL).
            pub fn as_str(&self) -> &'static str {
                match self {
                    $($ty::$variant => $value),+
                }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// The kind of municipal service (kommunal tjeneste) a service unit provides.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    serde::Serialize,
    serde::Deserialize,
    async_graphql::Enum,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(40))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ServiceKind {
    /// Child welfare service (barneverntjeneste).
    #[sea_orm(string_value = "CHILD_WELFARE")]
    ChildWelfare,
    /// Refugee service (flyktningtjeneste), settling and following up refugees.
    #[sea_orm(string_value = "REFUGEE")]
    Refugee,
    /// Mental health and substance-use service (psykisk helse og rus).
    #[sea_orm(string_value = "MENTAL_HEALTH")]
    MentalHealth,
    /// Health station and school health service (helsestasjon og skolehelsetjeneste).
    #[sea_orm(string_value = "HEALTH_STATION")]
    HealthStation,
    /// Educational-psychological service (pedagogisk-psykologisk tjeneste, PP-tjeneste).
    #[sea_orm(string_value = "EDUCATIONAL_PSYCHOLOGICAL")]
    EducationalPsychological,
    /// Any other kind of service.
    #[sea_orm(string_value = "OTHER")]
    Other,
}
db_strings!(ServiceKind {
    ChildWelfare => "CHILD_WELFARE",
    Refugee => "REFUGEE",
    MentalHealth => "MENTAL_HEALTH",
    HealthStation => "HEALTH_STATION",
    EducationalPsychological => "EDUCATIONAL_PSYCHOLOGICAL",
    Other => "OTHER",
});

/// The kind of organisation that provides competence-development programmes.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    serde::Serialize,
    serde::Deserialize,
    async_graphql::Enum,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(40))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ProviderKind {
    /// A regional resource centre on violence, traumatic stress and suicide
    /// prevention (regionalt ressurssenter om vold, traumatisk stress og
    /// selvmordsforebygging, RVTS).
    #[sea_orm(string_value = "RVTS")]
    Rvts,
    /// A national competence centre (nasjonalt kompetansesenter).
    #[sea_orm(string_value = "NATIONAL_CENTRE")]
    NationalCentre,
    /// A foundation or non-profit organisation (stiftelse).
    #[sea_orm(string_value = "FOUNDATION")]
    Foundation,
    /// A government directorate (direktorat).
    #[sea_orm(string_value = "DIRECTORATE")]
    Directorate,
    /// A university or university college (universitet eller høgskole).
    #[sea_orm(string_value = "UNIVERSITY")]
    University,
    /// Any other kind of provider.
    #[sea_orm(string_value = "OTHER")]
    Other,
}
db_strings!(ProviderKind {
    Rvts => "RVTS",
    NationalCentre => "NATIONAL_CENTRE",
    Foundation => "FOUNDATION",
    Directorate => "DIRECTORATE",
    University => "UNIVERSITY",
    Other => "OTHER",
});

/// The kind of network that services take part in.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    serde::Serialize,
    serde::Deserialize,
    async_graphql::Enum,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(40))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NetworkKind {
    /// A learning network (læringsnettverk) in which services develop
    /// competence together over time.
    #[sea_orm(string_value = "LEARNING_NETWORK")]
    LearningNetwork,
    /// A network for leaders of services (ledernettverk).
    #[sea_orm(string_value = "LEADER_NETWORK")]
    LeaderNetwork,
}
db_strings!(NetworkKind {
    LearningNetwork => "LEARNING_NETWORK",
    LeaderNetwork => "LEADER_NETWORK",
});

/// The geographic scope of a network.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    serde::Serialize,
    serde::Deserialize,
    async_graphql::Enum,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(40))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NetworkScope {
    /// The network covers one region, usually one county (regionalt).
    #[sea_orm(string_value = "REGIONAL")]
    Regional,
    /// The network covers the whole country (nasjonalt).
    #[sea_orm(string_value = "NATIONAL")]
    National,
}
db_strings!(NetworkScope {
    Regional => "REGIONAL",
    National => "NATIONAL",
});

/// The part a provider plays in delivering a programme.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    serde::Serialize,
    serde::Deserialize,
    async_graphql::Enum,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(40))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ProviderRole {
    /// The provider that owns and leads the programme.
    #[sea_orm(string_value = "LEAD")]
    Lead,
    /// A provider that contributes to the programme alongside the lead.
    #[sea_orm(string_value = "PARTNER")]
    Partner,
}
db_strings!(ProviderRole {
    Lead => "LEAD",
    Partner => "PARTNER",
});

/// The lifecycle status of a programme run.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    serde::Serialize,
    serde::Deserialize,
    async_graphql::Enum,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(40))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RunStatus {
    /// The run is planned but has not started.
    #[sea_orm(string_value = "PLANNED")]
    Planned,
    /// The run is in progress.
    #[sea_orm(string_value = "RUNNING")]
    Running,
    /// The run has finished.
    #[sea_orm(string_value = "COMPLETED")]
    Completed,
    /// The run was cancelled and will not be (or was not) completed.
    #[sea_orm(string_value = "CANCELLED")]
    Cancelled,
}
db_strings!(RunStatus {
    Planned => "PLANNED",
    Running => "RUNNING",
    Completed => "COMPLETED",
    Cancelled => "CANCELLED",
});

/// The status of a service's enrolment in a programme run.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    serde::Serialize,
    serde::Deserialize,
    async_graphql::Enum,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(40))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EnrolmentStatus {
    /// The service is enrolled in the run.
    #[sea_orm(string_value = "ENROLLED")]
    Enrolled,
    /// The service has withdrawn from the run.
    #[sea_orm(string_value = "WITHDRAWN")]
    Withdrawn,
}
db_strings!(EnrolmentStatus {
    Enrolled => "ENROLLED",
    Withdrawn => "WITHDRAWN",
});

/// The kind of session (gathering) in a programme run.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    serde::Serialize,
    serde::Deserialize,
    async_graphql::Enum,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(40))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SessionKind {
    /// A teaching day (undervisningsdag).
    #[sea_orm(string_value = "TEACHING_DAY")]
    TeachingDay,
    /// A professional day on a subject (fagdag).
    #[sea_orm(string_value = "PROFESSIONAL_DAY")]
    ProfessionalDay,
    /// A course day (kursdag).
    #[sea_orm(string_value = "COURSE_DAY")]
    CourseDay,
    /// Guidance for leaders (lederveiledning).
    #[sea_orm(string_value = "LEADER_GUIDANCE")]
    LeaderGuidance,
    /// A gathering for leaders (ledersamling).
    #[sea_orm(string_value = "LEADER_GATHERING")]
    LeaderGathering,
    /// A common gathering for all participants (fellessamling).
    #[sea_orm(string_value = "COMMON_GATHERING")]
    CommonGathering,
    /// Guidance for staff, individually or in groups (veiledning).
    #[sea_orm(string_value = "GUIDANCE")]
    Guidance,
    /// "Kick": a regional inspiration gathering.
    #[sea_orm(string_value = "KICK")]
    Kick,
    /// "Boost": a regional gathering.
    #[sea_orm(string_value = "BOOST")]
    Boost,
    /// Any other kind of session.
    #[sea_orm(string_value = "OTHER")]
    Other,
}
db_strings!(SessionKind {
    TeachingDay => "TEACHING_DAY",
    ProfessionalDay => "PROFESSIONAL_DAY",
    CourseDay => "COURSE_DAY",
    LeaderGuidance => "LEADER_GUIDANCE",
    LeaderGathering => "LEADER_GATHERING",
    CommonGathering => "COMMON_GATHERING",
    Guidance => "GUIDANCE",
    Kick => "KICK",
    Boost => "BOOST",
    Other => "OTHER",
});

/// Who a session is intended for.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    serde::Serialize,
    serde::Deserialize,
    async_graphql::Enum,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(40))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Audience {
    /// All staff of the participating services (alle ansatte).
    #[sea_orm(string_value = "ALL_STAFF")]
    AllStaff,
    /// Leaders of the participating services only (ledere).
    #[sea_orm(string_value = "LEADERS")]
    Leaders,
}
db_strings!(Audience {
    AllStaff => "ALL_STAFF",
    Leaders => "LEADERS",
});

/// The role in which a person takes part in a programme run.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    serde::Serialize,
    serde::Deserialize,
    async_graphql::Enum,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(40))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ParticipationRole {
    /// A staff member of the service (ansatt).
    #[sea_orm(string_value = "STAFF")]
    Staff,
    /// A leader of the service (leder).
    #[sea_orm(string_value = "LEADER")]
    Leader,
}
db_strings!(ParticipationRole {
    Staff => "STAFF",
    Leader => "LEADER",
});

/// The status of a person's participation in a programme run.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    serde::Serialize,
    serde::Deserialize,
    async_graphql::Enum,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(40))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ParticipationStatus {
    /// The person takes part in the run.
    #[sea_orm(string_value = "ACTIVE")]
    Active,
    /// The person has withdrawn from the run.
    #[sea_orm(string_value = "WITHDRAWN")]
    Withdrawn,
}
db_strings!(ParticipationStatus {
    Active => "ACTIVE",
    Withdrawn => "WITHDRAWN",
});

/// The processing status of a funding grant (tilskudd) application.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    serde::Serialize,
    serde::Deserialize,
    async_graphql::Enum,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(40))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GrantStatus {
    /// The application is being written and has not been submitted.
    #[sea_orm(string_value = "DRAFT")]
    Draft,
    /// The application has been submitted and awaits a decision.
    #[sea_orm(string_value = "SUBMITTED")]
    Submitted,
    /// The application has been granted (innvilget).
    #[sea_orm(string_value = "GRANTED")]
    Granted,
    /// The application has been rejected (avslått).
    #[sea_orm(string_value = "REJECTED")]
    Rejected,
    /// The granted amount has been paid out (utbetalt).
    #[sea_orm(string_value = "PAID")]
    Paid,
    /// The recipient has reported on the use of the grant (rapportert).
    #[sea_orm(string_value = "REPORTED")]
    Reported,
    /// The applicant withdrew the application (trukket).
    #[sea_orm(string_value = "WITHDRAWN")]
    Withdrawn,
}
db_strings!(GrantStatus {
    Draft => "DRAFT",
    Submitted => "SUBMITTED",
    Granted => "GRANTED",
    Rejected => "REJECTED",
    Paid => "PAID",
    Reported => "REPORTED",
    Withdrawn => "WITHDRAWN",
});

/// An access role granted to an authenticated subject.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    serde::Serialize,
    serde::Deserialize,
    async_graphql::Enum,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(40))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    /// A staff member of a service, acting for themselves.
    #[sea_orm(string_value = "STAFF")]
    Staff,
    /// A leader of a service, acting for the service and its staff.
    #[sea_orm(string_value = "LEADER")]
    Leader,
    /// A user acting for a programme provider.
    #[sea_orm(string_value = "PROVIDER")]
    Provider,
    /// A user acting for a funder office (tilskuddsforvalter).
    #[sea_orm(string_value = "FUNDER")]
    Funder,
    /// An administrator of the register with full access.
    #[sea_orm(string_value = "ADMIN")]
    Admin,
}
db_strings!(Role {
    Staff => "STAFF",
    Leader => "LEADER",
    Provider => "PROVIDER",
    Funder => "FUNDER",
    Admin => "ADMIN",
});

/// How a municipality came to an end or changed identity in a municipal
/// reform (kommunereform).
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    serde::Serialize,
    serde::Deserialize,
    async_graphql::Enum,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(40))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MunicipalityChange {
    /// The municipality was merged with others into a new municipality
    /// (sammenslått).
    #[sea_orm(string_value = "MERGED")]
    Merged,
    /// The municipality was split between several municipalities (delt).
    #[sea_orm(string_value = "SPLIT")]
    Split,
    /// The municipality got a new number, usually because it moved to
    /// another county (nytt kommunenummer).
    #[sea_orm(string_value = "RENUMBERED")]
    Renumbered,
    /// The municipality got both a new number and a new name.
    #[sea_orm(string_value = "RENUMBERED_RENAMED")]
    RenumberedRenamed,
}
db_strings!(MunicipalityChange {
    Merged => "MERGED",
    Split => "SPLIT",
    Renumbered => "RENUMBERED",
    RenumberedRenamed => "RENUMBERED_RENAMED",
});

/// How precise a reported figure is, as stated by its source.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    serde::Serialize,
    serde::Deserialize,
    async_graphql::Enum,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(40))")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FigureQualifier {
    /// The figure is exact.
    #[sea_orm(string_value = "EXACT")]
    Exact,
    /// The figure is approximate ("about", "omtrent").
    #[sea_orm(string_value = "ABOUT")]
    About,
    /// The true value is slightly below the figure ("nearly", "nesten").
    #[sea_orm(string_value = "NEARLY")]
    Nearly,
    /// The true value is above the figure ("more than", "over").
    #[sea_orm(string_value = "MORE_THAN")]
    MoreThan,
    /// The true value is the figure or higher ("at least", "minst").
    #[sea_orm(string_value = "AT_LEAST")]
    AtLeast,
}
db_strings!(FigureQualifier {
    Exact => "EXACT",
    About => "ABOUT",
    Nearly => "NEARLY",
    MoreThan => "MORE_THAN",
    AtLeast => "AT_LEAST",
});
