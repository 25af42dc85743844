//! Changes to providers: their contact details (`updateProviderContact`),
//! by ADMIN and by the provider itself.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use entity::provider;
use sea_orm::{ActiveValue::Set, EntityTrait, IntoActiveModel};

use super::Provider;
use crate::auth::{policy, viewer};
use crate::domain::write::{self, MAX_SHORT};
use crate::error::{ApiError, ApiResult};
use crate::graphql::{ContextExt, id};

/// The longest website address accepted.
const MAX_URL: usize = 500;

/// Input of `updateProviderContact`. Fields left out are kept; `null` or
/// an empty text clears one.
#[derive(Debug, InputObject)]
pub struct UpdateProviderContactInput {
    /// The provider (global id of a `Provider`).
    pub provider: ID,
    /// The `version` of the provider as you read it.
    pub version: i32,
    /// Website: an `https://` (or `http://`) address.
    pub website: MaybeUndefined<String>,
    /// The provider's general e-mail address (not a person's).
    pub email: MaybeUndefined<String>,
    /// Telephone number, as it should be shown, e.g. "23 20 58 00";
    /// digits, spaces, `+`, `-` and parentheses.
    pub phone: MaybeUndefined<String>,
    /// Visiting address on one line, e.g. "Essendrops gate 3, Oslo".
    pub visiting_address: MaybeUndefined<String>,
    /// Postal address on one line, e.g. "Postboks 7053 Majorstuen, 0306
    /// Oslo".
    pub postal_address: MaybeUndefined<String>,
}

/// The result of `updateProviderContact`.
#[derive(SimpleObject)]
pub struct UpdateProviderContactPayload {
    /// The provider as saved.
    pub provider: Provider,
}

/// Checks a website address: `https://` or `http://`, a host with a dot, no
/// spaces.
fn website(field: &str, value: &str) -> ApiResult<Option<String>> {
    let Some(value) = write::opt_text(field, Some(value), MAX_URL)? else {
        return Ok(None);
    };
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"));
    let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or(""));
    let ok = host.is_some_and(|h| {
        h.contains('.')
            && !h.starts_with('.')
            && !h.ends_with('.')
            && h.chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | ':'))
    }) && !value.contains(char::is_whitespace);
    if ok {
        Ok(Some(value))
    } else {
        Err(ApiError::bad_input(
            field,
            format!("`{field}` is not a web address (https://example.no)"),
        ))
    }
}

/// Checks a telephone number: 3 to 40 characters of digits, spaces, `+`,
/// `-` and parentheses, with at least three digits.
fn phone(field: &str, value: &str) -> ApiResult<Option<String>> {
    let Some(value) = write::opt_text(field, Some(value), 40)? else {
        return Ok(None);
    };
    let digits = value.chars().filter(char::is_ascii_digit).count();
    let ok = digits >= 3
        && value
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '(' | ')'));
    if ok {
        Ok(Some(value))
    } else {
        Err(ApiError::bad_input(
            field,
            format!("`{field}` is not a telephone number (digits, spaces, +, - and parentheses)"),
        ))
    }
}

/// One-line address: no line breaks.
fn address(field: &str, value: &str) -> ApiResult<Option<String>> {
    let value = write::opt_text(field, Some(value), MAX_SHORT)?;
    if value.as_deref().is_some_and(|v| v.contains(['\n', '\r'])) {
        return Err(ApiError::bad_input(
            field,
            format!("`{field}` must be one line"),
        ));
    }
    Ok(value)
}

/// Mutations of providers.
#[derive(Default)]
pub struct ProviderMutation;

#[Object]
impl ProviderMutation {
    /// Changes a provider's contact details (ADMIN, or PROVIDER for its
    /// own). Fields left out are kept; `null` or an empty text clears one.
    async fn update_provider_contact(
        &self,
        ctx: &Context<'_>,
        input: UpdateProviderContactInput,
    ) -> ApiResult<UpdateProviderContactPayload> {
        let viewer = viewer(ctx)?.clone();
        let key = id::decode_as(&input.provider, "Provider", "input.provider")?;
        let site =
            write::maybe(&input.website, |v| website("input.website", v))?.map(Option::flatten);
        let mail = write::maybe(&input.email, |v| write::email("input.email", Some(v)))?
            .map(Option::flatten);
        let tel = write::maybe(&input.phone, |v| phone("input.phone", v))?.map(Option::flatten);
        let visiting = write::maybe(&input.visiting_address, |v| {
            address("input.visitingAddress", v)
        })?
        .map(Option::flatten);
        let postal = write::maybe(&input.postal_address, |v| address("input.postalAddress", v))?
            .map(Option::flatten);
        policy::may_edit_provider(&viewer, key)?;
        let txn = write::begin(ctx.db()?).await?;
        let row = provider::Entity::find_by_id(key)
            .one(&txn)
            .await?
            .ok_or_else(|| ApiError::not_found("provider"))?;
        write::check_version("provider", row.version, input.version)?;
        let mut am = row.clone().into_active_model();
        if let Some(v) = site {
            am.website = Set(v);
        }
        if let Some(v) = mail {
            am.email = Set(v);
        }
        if let Some(v) = tel {
            am.phone = Set(v);
        }
        if let Some(v) = visiting {
            am.visiting_address = Set(v);
        }
        if let Some(v) = postal {
            am.postal_address = Set(v);
        }
        let saved = write::update_versioned(&txn, am, input.version, "provider").await?;
        write::audit(
            &txn,
            &viewer,
            "updateProviderContact",
            "Provider",
            row.id,
            Some(&row),
            Some(&saved),
        )
        .await?;
        write::commit(txn).await?;
        Ok(UpdateProviderContactPayload {
            provider: Provider(saved),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contact_fields_are_checked() {
        assert_eq!(
            website("w", " https://www.nubu.no/ ").unwrap().as_deref(),
            Some("https://www.nubu.no/")
        );
        assert_eq!(website("w", "").unwrap(), None);
        for bad in [
            "nubu.no",
            "javascript:alert(1)",
            "https://",
            "https://localhost",
            "https://a b.no",
            "ftp://x.no",
            "https://x.no/\u{0}",
        ] {
            assert!(website("w", bad).is_err(), "{bad}");
        }
        assert_eq!(
            phone("p", "23 20 58 00").unwrap().as_deref(),
            Some("23 20 58 00")
        );
        assert!(phone("p", "+47 (0) 23-20-58-00").is_ok());
        for bad in ["12", "call us", "23 20 58 00 ext. 5", &"1".repeat(41)] {
            assert!(phone("p", bad).is_err(), "{bad}");
        }
        assert!(address("a", "Essendrops gate 3, Oslo").is_ok());
        assert!(address("a", "line 1\nline 2").is_err());
    }
}
