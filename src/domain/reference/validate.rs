//! Checks of Norwegian official codes: organisation numbers (organisasjons-
//! nummer), county numbers (fylkesnummer) and municipality numbers
//! (kommunenummer).
//!
//! The checks are pure functions returning a human-readable message on
//! failure, so that they serve both the seeding (which turns the message into
//! a data error) and API input validation (which turns it into a
//! `BAD_USER_INPUT` error).

/// Weights of the mod-11 check of a Norwegian organisation number, applied to
/// its first eight digits (Brønnøysundregistrene's rule).
const ORG_NUMBER_WEIGHTS: [u32; 8] = [3, 2, 7, 6, 5, 4, 3, 2];

/// Removes the separators people write inside organisation numbers
/// (`985 638 187`, `985.638.187`, no-break spaces), leaving the digits and
/// anything else untouched for [`validate_org_number`] to judge.
pub fn normalize_org_number(input: &str) -> String {
    input
        .chars()
        .filter(|c| !matches!(c, ' ' | '.' | '\u{a0}' | '\u{202f}'))
        .collect()
}

/// Checks a Norwegian organisation number: exactly nine ASCII digits whose
/// last digit is the mod-11 check digit of the first eight (weights
/// 3,2,7,6,5,4,3,2). A remainder of 1 would need the check digit 10, so such
/// numbers are never issued and are rejected.
///
/// ```
/// use kompetanse::domain::reference::validate_org_number;
/// assert!(validate_org_number("985638187").is_ok()); // NUBU
/// assert!(validate_org_number("985638188").is_err());
/// ```
pub fn validate_org_number(number: &str) -> Result<(), String> {
    let digits = ascii_digits(number)
        .filter(|d| d.len() == 9)
        .ok_or_else(|| format!("organisation number {number:?} must be exactly 9 digits"))?;
    let sum: u32 = digits
        .iter()
        .zip(ORG_NUMBER_WEIGHTS)
        .map(|(d, w)| d * w)
        .sum();
    let expected = match sum % 11 {
        0 => 0,
        1 => {
            return Err(format!(
                "organisation number {number:?} is invalid: its first eight digits have no valid \
                 mod-11 check digit"
            ));
        }
        r => 11 - r,
    };
    if digits[8] == expected {
        Ok(())
    } else {
        Err(format!(
            "organisation number {number:?} fails the mod-11 check: the check digit should be \
             {expected}, not {}",
            digits[8]
        ))
    }
}

/// Checks a county number (fylkesnummer): exactly two ASCII digits, not `00`.
pub fn validate_county_number(number: &str) -> Result<(), String> {
    match ascii_digits(number) {
        Some(d) if d.len() == 2 && d != [0, 0] => Ok(()),
        _ => Err(format!(
            "county number {number:?} must be two digits (01–99)"
        )),
    }
}

/// Checks a municipality number (kommunenummer) against the number of the
/// county it belongs to: exactly four ASCII digits, the first two of which are
/// the (valid) county number.
///
/// ```
/// use kompetanse::domain::reference::validate_municipality_number;
/// assert!(validate_municipality_number("4020", "40").is_ok()); // Midt-Telemark
/// assert!(validate_municipality_number("4020", "38").is_err());
/// ```
pub fn validate_municipality_number(number: &str, county_number: &str) -> Result<(), String> {
    validate_county_number(county_number)?;
    match ascii_digits(number) {
        Some(d) if d.len() == 4 => {}
        _ => {
            return Err(format!(
                "municipality number {number:?} must be exactly 4 digits"
            ));
        }
    }
    if number.starts_with(county_number) {
        Ok(())
    } else {
        Err(format!(
            "municipality number {number:?} does not start with its county number {county_number:?}"
        ))
    }
}

/// The digits of `s` when it consists of ASCII digits only (and is not empty).
fn ascii_digits(s: &str) -> Option<Vec<u32>> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s.bytes().map(|b| u32::from(b - b'0')).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_org_numbers_pass() {
        for n in [
            "985638187", // NUBU (Nasjonalt utviklingssenter for barn og unge)
            "974761319", // Statsforvalteren i Østfold, Buskerud, Oslo og Akershus
            "986128433", // Bufdir
            "911705214", // Forandringsfabrikken Stiftelse
            "967311014", // Statsforvalteren i Troms og Finnmark
            "974764067", // Statsforvalteren i Møre og Romsdal
        ] {
            assert_eq!(validate_org_number(n), Ok(()), "{n}");
        }
    }

    #[test]
    fn bad_org_numbers_fail() {
        for n in [
            "985638188",   // wrong check digit
            "974761318",   // wrong check digit
            "98563818",    // 8 digits
            "9856381870",  // 10 digits
            "985 638 187", // separators are not digits (normalise first)
            "98563818X",
            "",
            "９８５６３８１８７", // full-width digits are not ASCII digits
        ] {
            assert!(validate_org_number(n).is_err(), "{n:?} should fail");
        }
    }

    #[test]
    fn remainder_one_is_invalid() {
        // 10000000x: weighted sum 3 → remainder 3, check 8 (valid control case).
        assert_eq!(validate_org_number("100000008"), Ok(()));
        // 40000000x: weighted sum 12 → remainder 1, no check digit exists.
        for last in 0..=9 {
            let n = format!("40000000{last}");
            assert!(validate_org_number(&n).is_err(), "{n}");
        }
        // Weighted sum 11 → remainder 0 → check digit 0: 0 0 0 0 0 0 1 4 → 3+8 = 11.
        assert_eq!(validate_org_number("000000140"), Ok(()));
    }

    #[test]
    fn separators_are_normalised() {
        assert_eq!(normalize_org_number("985.638.187"), "985638187");
        assert_eq!(normalize_org_number("985 638\u{a0}187"), "985638187");
        assert_eq!(
            validate_org_number(&normalize_org_number("985.638.187")),
            Ok(())
        );
    }

    #[test]
    fn municipality_numbers() {
        assert_eq!(validate_municipality_number("4020", "40"), Ok(()));
        assert_eq!(validate_municipality_number("0301", "03"), Ok(()));
        assert_eq!(validate_municipality_number("0821", "08"), Ok(()));
        assert_eq!(validate_municipality_number("3312", "33"), Ok(()));
        assert!(validate_municipality_number("4020", "38").is_err()); // wrong county
        assert!(validate_municipality_number("301", "03").is_err()); // leading zero lost
        assert!(validate_municipality_number("03011", "03").is_err());
        assert!(validate_municipality_number("40a0", "40").is_err());
        assert!(validate_municipality_number("4020", "4").is_err()); // bad county number
        assert!(validate_municipality_number("0001", "00").is_err());
        assert!(validate_municipality_number("", "40").is_err());
    }

    #[test]
    fn county_numbers() {
        assert_eq!(validate_county_number("03"), Ok(()));
        assert_eq!(validate_county_number("56"), Ok(()));
        assert!(validate_county_number("3").is_err());
        assert!(validate_county_number("00").is_err());
        assert!(validate_county_number("030").is_err());
        assert!(validate_county_number("o3").is_err());
    }
}
