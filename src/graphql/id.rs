//! Opaque global ids: base64url of `Type:uuid`.
//!
//! Clients treat ids as opaque strings; the server knows the type from the
//! prefix, so `node(id:)` can route to the right table and a county's id can
//! never be mistaken for a municipality's.

use async_graphql::ID;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};

/// Encodes a global id for an object of GraphQL type `type_name`.
pub fn encode(type_name: &str, id: Uuid) -> ID {
    ID(URL_SAFE_NO_PAD.encode(format!("{type_name}:{}", id.simple())))
}

/// Decodes a global id into its type name and key. `field` names the
/// argument for the BAD_USER_INPUT error of a malformed id.
pub fn decode(id: &str, field: &str) -> ApiResult<(String, Uuid)> {
    let malformed = || ApiError::bad_input(field, format!("`{field}` is not a valid id"));
    let bytes = URL_SAFE_NO_PAD
        .decode(id.trim().as_bytes())
        .map_err(|_| malformed())?;
    let text = String::from_utf8(bytes).map_err(|_| malformed())?;
    let (type_name, key) = text.split_once(':').ok_or_else(malformed)?;
    let key = Uuid::try_parse(key).map_err(|_| malformed())?;
    if type_name.is_empty() || !type_name.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(malformed());
    }
    Ok((type_name.to_owned(), key))
}

/// Decodes a global id that must name an object of `type_name`.
pub fn decode_as(id: &str, type_name: &str, field: &str) -> ApiResult<Uuid> {
    let (actual, key) = decode(id, field)?;
    if actual != type_name {
        return Err(ApiError::bad_input(
            field,
            format!("`{field}` is the id of a {actual}, expected a {type_name}"),
        ));
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let key = Uuid::now_v7();
        let id = encode("County", key);
        assert_eq!(decode(&id, "id").unwrap(), ("County".to_owned(), key));
        assert_eq!(decode_as(&id, "County", "id").unwrap(), key);
    }

    #[test]
    fn malformed_ids_are_bad_input() {
        for bad in [
            "",
            "!!!",
            "Q291bnR5",
            &URL_SAFE_NO_PAD.encode("County:nope"),
        ] {
            let err = decode(bad, "id").unwrap_err();
            assert_eq!(err.code(), "BAD_USER_INPUT", "{bad}");
        }
        let other = encode("Municipality", Uuid::now_v7());
        assert_eq!(
            decode_as(&other, "County", "id").unwrap_err().code(),
            "BAD_USER_INPUT"
        );
    }
}
