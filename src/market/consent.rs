//! The consent statement (MARKET.md "Consent"): what the seller signs, EIP-191, to agree that
//! exactly these bytes may be offered.
use crate::store::ItemId;

/// The statement, byte for byte: four lines, no trailing newline.
pub fn statement(item: ItemId, sha256_hex: &str, time: i64) -> String {
    format!("keybot consent v1\nitem: {item}\nsha256: {sha256_hex}\ntime: {time}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_statement_is_the_documented_format() {
        assert_eq!(
            super::statement(7, "ab", 1_700_000_000),
            "keybot consent v1\nitem: 7\nsha256: ab\ntime: 1700000000"
        );
    }
}
