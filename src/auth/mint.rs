//! `kompetanse token`: development tokens for a role and scope.
//!
//! The scope is given by id (a UUID or a global id) or by name: a service
//! by slug or name, a provider by slug, short name, name or organisation
//! number, an office by name or organisation number, a person by e-mail.
//! The token is signed with the server's HS256 secret (the configured one,
//! or the development secret kept beside the SQLite database), so the
//! server started with the same settings accepts it.

use std::time::Duration;

use entity::enums::Role;
use entity::{funder_office, person, provider, service};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::dev_secret;
use super::token::{Claims, mint_hs256};
use crate::config::Settings;
use crate::graphql::id;

/// What a token should say.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    pub role: Role,
    pub service: Option<String>,
    pub provider: Option<String>,
    pub office: Option<String>,
    pub person: Option<String>,
    pub ttl: Duration,
    pub subject: Option<String>,
}

/// A minted token and what it grants, in words.
#[derive(Debug, Clone)]
pub struct MintedToken {
    pub token: String,
    pub role: Role,
    pub scope: String,
    pub subject: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// Why no token could be made.
#[derive(Debug, thiserror::Error)]
pub enum MintError {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("database: {0}")]
    Db(#[from] sea_orm::DbErr),
}

/// Parses a lifetime such as `90s`, `30m`, `8h` or `7d` (at most 365 days).
pub fn parse_ttl(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a lifetime such as 8h"))?;
    let seconds = match unit {
        "s" | "" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return Err(format!("unknown unit `{unit}`: use s, m, h or d")),
    };
    if seconds == 0 || seconds > 365 * 86_400 {
        return Err("a lifetime must be between 1 second and 365 days".into());
    }
    Ok(Duration::from_secs(seconds))
}

/// Makes a token for the request, resolving its scope in the database.
pub async fn mint(
    settings: &Settings,
    db: &DatabaseConnection,
    req: TokenRequest,
) -> Result<MintedToken, MintError> {
    let secret = match &settings.auth.jwt_secret {
        Some(secret) => secret.clone(),
        None => dev_secret::load_or_create(settings)?.ok_or_else(|| {
            MintError::Usage(
                "this server verifies tokens from an identity provider (KOMPETANSE_JWKS); \
                 set KOMPETANSE_JWT_SECRET as well to mint development tokens"
                    .into(),
            )
        })?,
    };
    let mut claims = Claims {
        sub: String::new(),
        exp: 0,
        iat: None,
        nbf: None,
        iss: Some(settings.auth.jwt_issuer.clone()),
        aud: Some(settings.auth.jwt_audience.clone()),
        role: Some(req.role),
        service_id: None,
        provider_id: None,
        funder_office_id: None,
        person_id: None,
    };
    let given = [&req.service, &req.provider, &req.office, &req.person]
        .iter()
        .filter(|o| o.is_some())
        .count();
    let wanted = usize::from(req.role != Role::Admin);
    if given != wanted {
        return Err(MintError::Usage(match req.role {
            Role::Admin => "an admin token takes no scope".into(),
            Role::Leader => "a leader token needs --service".into(),
            Role::Staff => "a staff token needs --person".into(),
            Role::Provider => "a provider token needs --provider".into(),
            Role::Funder => "a funder token needs --office".into(),
        }));
    }
    let (scope, scope_id) = match req.role {
        Role::Admin => ("everything".to_owned(), None),
        Role::Leader => {
            let s = find_service(db, req.service.as_deref().unwrap_or_default()).await?;
            claims.service_id = Some(s.id);
            (format!("service {} ({})", s.name, s.slug), Some(s.id))
        }
        Role::Provider => {
            let p = find_provider(db, req.provider.as_deref().unwrap_or_default()).await?;
            claims.provider_id = Some(p.id);
            (
                format!("provider {} ({})", p.short_name, p.slug),
                Some(p.id),
            )
        }
        Role::Funder => {
            let o = find_office(db, req.office.as_deref().unwrap_or_default()).await?;
            claims.funder_office_id = Some(o.id);
            (format!("office {} ({})", o.name, o.org_number), Some(o.id))
        }
        Role::Staff => {
            let p = find_person(db, req.person.as_deref().unwrap_or_default()).await?;
            claims.person_id = Some(p.id);
            (format!("person {}", p.id), Some(p.id))
        }
    };
    let now = chrono::Utc::now();
    let expires_at =
        now + chrono::Duration::from_std(req.ttl).unwrap_or(chrono::Duration::hours(8));
    claims.sub = req.subject.clone().unwrap_or_else(|| match scope_id {
        Some(id) => format!("dev:{}:{}", req.role.as_str().to_lowercase(), id.simple()),
        None => format!("dev:{}", req.role.as_str().to_lowercase()),
    });
    claims.iat = Some(now.timestamp());
    claims.exp = expires_at.timestamp();
    Ok(MintedToken {
        token: mint_hs256(&secret, &claims),
        role: req.role,
        scope,
        subject: claims.sub,
        expires_at,
    })
}

/// A UUID given directly or as a global id of the expected type.
fn as_id(text: &str, type_name: &str) -> Option<Uuid> {
    Uuid::try_parse(text.trim())
        .ok()
        .or_else(|| id::decode_as(text.trim(), type_name, "scope").ok())
}

/// The one row whose name matches (case-insensitively), or a clear error.
fn pick<T>(
    what: &str,
    wanted: &str,
    rows: Vec<T>,
    names: impl Fn(&T) -> Vec<String>,
) -> Result<T, MintError> {
    let needle = wanted.trim().to_lowercase();
    let mut hits: Vec<T> = rows
        .into_iter()
        .filter(|r| names(r).iter().any(|n| n.to_lowercase() == needle))
        .collect();
    match hits.len() {
        1 => Ok(hits.remove(0)),
        0 => Err(MintError::Usage(format!("no {what} named `{wanted}`"))),
        n => Err(MintError::Usage(format!(
            "`{wanted}` names {n} {what}s; give its id"
        ))),
    }
}

async fn find_service(db: &DatabaseConnection, wanted: &str) -> Result<service::Model, MintError> {
    if let Some(id) = as_id(wanted, "Service") {
        return service::Entity::find_by_id(id)
            .one(db)
            .await?
            .ok_or_else(|| MintError::Usage(format!("no service with id {wanted}")));
    }
    let rows = service::Entity::find().all(db).await?;
    pick("service", wanted, rows, |s| {
        vec![s.slug.clone(), s.name.clone()]
    })
}

async fn find_provider(
    db: &DatabaseConnection,
    wanted: &str,
) -> Result<provider::Model, MintError> {
    if let Some(id) = as_id(wanted, "Provider") {
        return provider::Entity::find_by_id(id)
            .one(db)
            .await?
            .ok_or_else(|| MintError::Usage(format!("no provider with id {wanted}")));
    }
    let digits: String = wanted.chars().filter(|c| c.is_ascii_digit()).collect();
    let rows = provider::Entity::find().all(db).await?;
    pick("provider", wanted, rows, |p| {
        let mut names = vec![p.slug.clone(), p.short_name.clone(), p.name.clone()];
        if let Some(org) = &p.org_number
            && *org == digits
        {
            names.push(wanted.to_owned());
        }
        names
    })
}

async fn find_office(
    db: &DatabaseConnection,
    wanted: &str,
) -> Result<funder_office::Model, MintError> {
    if let Some(id) = as_id(wanted, "FunderOffice") {
        return funder_office::Entity::find_by_id(id)
            .one(db)
            .await?
            .ok_or_else(|| MintError::Usage(format!("no funder office with id {wanted}")));
    }
    let digits: String = wanted.chars().filter(|c| c.is_ascii_digit()).collect();
    let rows = funder_office::Entity::find().all(db).await?;
    pick("funder office", wanted, rows, |o| {
        let mut names = vec![o.name.clone(), o.registered_name.clone()];
        if o.org_number == digits {
            names.push(wanted.to_owned());
        }
        names
    })
}

async fn find_person(db: &DatabaseConnection, wanted: &str) -> Result<person::Model, MintError> {
    let found = match as_id(wanted, "Person") {
        Some(id) => person::Entity::find_by_id(id).one(db).await?,
        None => {
            person::Entity::find()
                .filter(person::Column::Email.eq(wanted.trim()))
                .one(db)
                .await?
        }
    };
    found.ok_or_else(|| MintError::Usage(format!("no person with id or e-mail `{wanted}`")))
}

#[cfg(test)]
mod tests {
    use super::parse_ttl;
    use std::time::Duration;

    #[test]
    fn lifetimes() {
        assert_eq!(parse_ttl("8h").unwrap(), Duration::from_secs(8 * 3600));
        assert_eq!(parse_ttl("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_ttl("7d").unwrap(), Duration::from_secs(7 * 86_400));
        assert!(parse_ttl("0s").is_err());
        assert!(parse_ttl("8 weeks").is_err());
        assert!(parse_ttl("999d").is_err());
    }
}
