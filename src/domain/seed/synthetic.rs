//! Synthetic persons, participations and attendance for the demo runs.
//!
//! The seed texts name no participants (and must not: they are personal
//! data), so the demo's people are made up, obviously so, and flagged
//! `synthetic = true` on every row. The generation is deterministic: the same
//! runs give the same names, e-mail addresses, leaders and attendance pattern
//! every time (only the UUIDs differ).
//!
//! Rules:
//! - a run gets participants only if it has both sessions and enrolled
//!   services;
//! - each service gets its staff once, however many runs it is enrolled in:
//!   `staff` persons when the data states how many take part (none of them a
//!   leader, as the texts then speak of "employees"), otherwise 3, 4 or 5
//!   persons in turn, the first one (two when five) being leaders;
//! - every person of an enrolled service takes part in the run, leaders in the
//!   role `LEADER`;
//! - `ALL_STAFF` sessions have an attendance row for every participant,
//!   `LEADERS` sessions for the leaders only; about one in six is absent, by a
//!   fixed pattern.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::enums::{Audience, ParticipationRole, ParticipationStatus};
use entity::{attendance, participation, person};
use uuid::Uuid;

/// A run to generate participants for.
#[derive(Clone, Debug)]
pub struct RunInput {
    /// The run.
    pub run_id: Uuid,
    /// The enrolled services, in enrolment order.
    pub services: Vec<ServiceInput>,
    /// The sessions, in position order.
    pub sessions: Vec<SessionInput>,
}

/// An enrolled service.
#[derive(Clone, Debug)]
pub struct ServiceInput {
    /// The service.
    pub service_id: Uuid,
    /// Its slug (used in e-mail addresses).
    pub slug: String,
    /// Its name (used in person names).
    pub name: String,
    /// How many of its staff take part, when the source says so.
    pub staff: Option<u32>,
}

/// A session of a run.
#[derive(Clone, Copy, Debug)]
pub struct SessionInput {
    /// The session.
    pub session_id: Uuid,
    /// Who the session is for.
    pub audience: Audience,
}

/// The generated rows, ready to insert (persons first).
#[derive(Clone, Debug, Default)]
pub struct Generated {
    /// Synthetic staff of the enrolled services.
    pub persons: Vec<person::Model>,
    /// One participation per person and run.
    pub participations: Vec<participation::Model>,
    /// Attendance of the participants at the sessions meant for them.
    pub attendance: Vec<attendance::Model>,
}

/// Generates the synthetic rows for `runs`; `now` stamps every row.
pub fn generate(runs: &[RunInput], now: DateTime<Utc>) -> Generated {
    let mut out = Generated::default();
    // Staff per service: (person id, is leader), created on first use.
    let mut staff: HashMap<Uuid, Vec<(Uuid, bool)>> = HashMap::new();
    let mut services_seen = 0usize;

    for run in runs {
        if run.sessions.is_empty() || run.services.is_empty() {
            continue;
        }
        let mut participants: Vec<(Uuid, bool)> = Vec::new();
        for service in &run.services {
            let people = staff.entry(service.service_id).or_insert_with(|| {
                let people = persons_of(service, services_seen, now);
                services_seen += 1;
                let ids = people.iter().map(|p| (p.id, p.is_leader)).collect();
                out.persons.extend(people);
                ids
            });
            participants.extend(people.iter().copied());
        }

        for &(person_id, is_leader) in &participants {
            out.participations.push(participation::Model {
                id: Uuid::now_v7(),
                person_id,
                run_id: run.run_id,
                role: if is_leader {
                    ParticipationRole::Leader
                } else {
                    ParticipationRole::Staff
                },
                status: ParticipationStatus::Active,
                synthetic: true,
                // Derived after insertion (see `people::completion`).
                sessions_attended: 0,
                sessions_required: 0,
                completed: false,
                version: 1,
                created_at: now,
                updated_at: now,
            });
        }

        for (s, session) in run.sessions.iter().enumerate() {
            for (p, &(person_id, is_leader)) in participants.iter().enumerate() {
                if session.audience == Audience::Leaders && !is_leader {
                    continue;
                }
                out.attendance.push(attendance::Model {
                    id: Uuid::now_v7(),
                    session_id: session.session_id,
                    person_id,
                    present: is_present(p, s),
                    synthetic: true,
                    recorded_at: now,
                    version: 1,
                    created_at: now,
                    updated_at: now,
                });
            }
        }
    }
    out
}

/// The fixed absence pattern: participant `p` misses session `s` when
/// `(p + 2s) mod 6 = 5`, i.e. about one in six, spread over people and
/// sessions.
pub fn is_present(participant: usize, session: usize) -> bool {
    (participant + 2 * session) % 6 != 5
}

/// The synthetic staff of one service; `ordinal` is the service's place among
/// the services generated so far.
fn persons_of(service: &ServiceInput, ordinal: usize, now: DateTime<Utc>) -> Vec<person::Model> {
    let (count, leaders) = match service.staff {
        Some(n) => (n as usize, 0),
        None => {
            let n = 3 + ordinal % 3;
            (n, if n >= 5 { 2 } else { 1 })
        }
    };
    (1..=count)
        .map(|i| {
            let is_leader = i <= leaders;
            person::Model {
                id: Uuid::now_v7(),
                service_id: service.service_id,
                name: format!("Testperson {i} {}", service.name),
                email: Some(format!("testperson{i}.{}@example.invalid", service.slug)),
                job_title: Some(if is_leader { "Leder" } else { "Ansatt" }.to_owned()),
                is_leader,
                synthetic: true,
                record_key: person::new_record_key(),
                erased_at: None,
                version: 1,
                created_at: now,
                updated_at: now,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(slug: &str, staff: Option<u32>) -> ServiceInput {
        ServiceInput {
            service_id: Uuid::now_v7(),
            slug: slug.to_owned(),
            name: slug.to_owned(),
            staff,
        }
    }

    fn sessions(audiences: &[Audience]) -> Vec<SessionInput> {
        audiences
            .iter()
            .map(|&audience| SessionInput {
                session_id: Uuid::now_v7(),
                audience,
            })
            .collect()
    }

    #[test]
    fn generation_follows_the_rules() {
        let shared = service("b", None);
        let runs = vec![
            RunInput {
                run_id: Uuid::now_v7(),
                services: vec![service("a", None), shared.clone(), service("c", Some(2))],
                sessions: sessions(&[Audience::AllStaff, Audience::Leaders]),
            },
            // Same service again: its persons are reused.
            RunInput {
                run_id: Uuid::now_v7(),
                services: vec![shared],
                sessions: sessions(&[Audience::AllStaff]),
            },
            // No sessions: no participants.
            RunInput {
                run_id: Uuid::now_v7(),
                services: vec![service("d", None)],
                sessions: vec![],
            },
        ];
        let g = generate(&runs, Utc::now());
        // a: 3 (1 leader), b: 4 (1 leader), c: 2 (no leader); d none.
        assert_eq!(g.persons.len(), 9);
        assert!(g.persons.iter().all(|p| p.synthetic));
        assert!(g.persons.iter().all(|p| {
            p.email
                .as_deref()
                .is_some_and(|e| e.ends_with("@example.invalid"))
        }));
        assert_eq!(g.persons.iter().filter(|p| p.is_leader).count(), 2);
        assert_eq!(g.participations.len(), 9 + 4);
        assert!(g.participations.iter().all(|p| p.synthetic));
        // Run 1: 9 all-staff rows + 2 leader rows; run 2: 4 rows.
        assert_eq!(g.attendance.len(), 9 + 2 + 4);
        assert!(g.attendance.iter().all(|a| a.synthetic));
        assert!(g.attendance.iter().any(|a| !a.present));

        // Deterministic apart from ids.
        let again = generate(&runs, Utc::now());
        let names = |g: &Generated| g.persons.iter().map(|p| p.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&g), names(&again));
        let pattern = |g: &Generated| g.attendance.iter().map(|a| a.present).collect::<Vec<_>>();
        assert_eq!(pattern(&g), pattern(&again));
    }
}
