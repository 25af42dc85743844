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

    /// Whatever a decoded id held, it is BAD_USER_INPUT or an id that
    /// encodes back to itself.
    fn check(text: &str) -> Result<(), proptest::test_runner::TestCaseError> {
        match decode(text, "id") {
            Ok((type_name, key)) => {
                let again = decode(&encode(&type_name, key), "id").expect("round trip");
                proptest::prop_assert_eq!(again, (type_name, key));
            }
            Err(err) => proptest::prop_assert_eq!(err.code(), "BAD_USER_INPUT"),
        }
        Ok(())
    }

    proptest::proptest! {
        #[test]
        fn prop_any_text_is_an_id_or_bad_input(text in "\\PC{0,80}|.{0,80}") {
            check(&text)?;
        }

        #[test]
        fn prop_any_encoded_text_is_an_id_or_bad_input(
            text in "[A-Za-z0-9]{0,12}:?[0-9a-fA-F-]{0,40}|\\PC{0,40}",
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..40),
        ) {
            check(&URL_SAFE_NO_PAD.encode(&text))?;
            check(&URL_SAFE_NO_PAD.encode(&bytes))?;
        }
    }
}
