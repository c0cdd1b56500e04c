//! Exact decimal amounts: "1.5" ETH is 1_500_000_000_000_000_000 wei, never a float.
//!
//! alloy's `parse_units` does the arithmetic; it silently truncates extra decimals and accepts
//! signs, so the text is checked here first: a wallet must never send less than was typed.
use alloy::primitives::U256;
use alloy::primitives::utils::{format_units, parse_units};

/// Why a typed amount is refused. The text is quoted as Rust's `{:?}` quotes it, so a control
/// character in it prints escaped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("amount {0:?}: expected a decimal number such as 1.5")]
    NotANumber(String),
    #[error("amount {text:?} has {places} decimal places; this asset has {decimals}")]
    TooManyDecimals {
        text: String,
        places: usize,
        decimals: u8,
    },
    #[error("amount {0:?} is too large")]
    TooLarge(String),
}

/// Parses a non-negative decimal with at most `decimals` fractional digits into base units.
pub fn parse(text: &str, decimals: u8) -> Result<U256, AmountError> {
    let t = text.trim();
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if t.is_empty() || (int.is_empty() && frac.is_empty()) || !digits(int) || !digits(frac) {
        return Err(AmountError::NotANumber(text.to_owned()));
    }
    if frac.len() > usize::from(decimals) {
        return Err(AmountError::TooManyDecimals {
            text: text.to_owned(),
            places: frac.len(),
            decimals,
        });
    }
    let normal = format!(
        "{}.{}",
        if int.is_empty() { "0" } else { int },
        if frac.is_empty() { "0" } else { frac }
    );
    match parse_units(&normal, decimals) {
        Ok(v) => Ok(v.get_absolute()),
        Err(_) => Err(AmountError::TooLarge(text.to_owned())),
    }
}

/// Formats base units as an exact decimal without trailing zeros ("1.5", "0.000001", "12").
pub fn format(value: U256, decimals: u8) -> String {
    let s = format_units(value, decimals).unwrap_or_else(|_| value.to_string());
    match s.split_once('.') {
        Some((int, frac)) => {
            let frac = frac.trim_end_matches('0');
            if frac.is_empty() {
                int.to_owned()
            } else {
                format!("{int}.{frac}")
            }
        }
        None => s,
    }
}

/// Gas prices are read in gwei.
pub fn format_gwei(wei: u128) -> String {
    format(U256::from(wei), 9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_round_trip() {
        let cases = [
            ("1.5", 18, "1500000000000000000"),
            ("0.000001", 6, "1"),
            ("12", 6, "12000000"),
            (".5", 1, "5"),
            ("7.", 2, "700"),
            ("0", 18, "0"),
            (
                "115792089237316195423570985008687907853269984665640564039457.584007913129639935",
                18,
                "115792089237316195423570985008687907853269984665640564039457584007913129639935",
            ),
        ];
        for (text, d, units) in cases {
            let v = parse(text, d).unwrap();
            assert_eq!(v.to_string(), units, "{text}");
        }
        assert_eq!(format(U256::from(1_500_000u64), 6), "1.5");
        assert_eq!(format(U256::from(1u64), 6), "0.000001");
        assert_eq!(format(U256::from(12_000_000u64), 6), "12");
        assert_eq!(format(U256::ZERO, 18), "0");
        assert_eq!(format_gwei(1_000_000_007), "1.000000007");
    }

    #[test]
    fn refuses_what_it_cannot_represent_exactly() {
        for bad in [
            "", ".", "-1", "+1", "1e18", "1,5", "0x10", " 1 2", "1.2.3", "NaN", "١",
        ] {
            assert!(parse(bad, 18).is_err(), "{bad:?}");
        }
        let e = parse("0.0000001", 6).unwrap_err().to_string();
        assert!(e.contains("7 decimal places") && e.contains("6"), "{e}");
        assert!(parse("1.5", 0).is_err());
        assert!(
            parse(&"9".repeat(80), 0)
                .unwrap_err()
                .to_string()
                .contains("too large")
        );
    }
}
