//! Money: whole Norwegian kroner, never floating point.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};

/// The largest amount a client can send or receive: 2^53 − 1, the largest
/// integer a JavaScript number holds exactly.
pub const MAX_KRONER: i64 = (1 << 53) - 1;

/// An amount in whole Norwegian kroner (NOK).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Kroner(pub i64);

/// An amount of money in whole Norwegian kroner (NOK), as a JSON integer.
/// It is 64-bit (GraphQL's `Int` is 32-bit and too small for totals) and
/// never fractional: `1500000` is 1.5 million kroner. Values lie within
/// ±(2^53 − 1) so that JavaScript clients read them exactly.
#[Scalar(name = "Kroner")]
impl ScalarType for Kroner {
    fn parse(value: Value) -> InputValueResult<Self> {
        let Value::Number(n) = &value else {
            return Err(InputValueError::expected_type(value));
        };
        match n.as_i64() {
            Some(k) if (-MAX_KRONER..=MAX_KRONER).contains(&k) => Ok(Kroner(k)),
            Some(_) => Err(InputValueError::custom(format!(
                "an amount must lie within ±{MAX_KRONER} kroner"
            ))),
            None => Err(InputValueError::custom(
                "an amount is whole kroner: no decimals",
            )),
        }
    }

    fn to_value(&self) -> Value {
        Value::Number(self.0.into())
    }
}

impl From<i64> for Kroner {
    fn from(k: i64) -> Self {
        Kroner(k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_kroner_only() {
        assert_eq!(
            Kroner::parse(Value::from(1_500_000)).unwrap(),
            Kroner(1_500_000)
        );
        assert!(Kroner::parse(Value::from(12.5)).is_err());
        assert!(Kroner::parse(Value::from("100")).is_err());
        assert!(Kroner::parse(Value::from(MAX_KRONER + 1)).is_err());
        assert_eq!(Kroner(-3).to_value(), Value::from(-3));
    }
}
