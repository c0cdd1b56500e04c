//! Market v2's delivery (MARKET.md "Version 2"): one-time buyer keys, the 96-byte delivery
//! `R ‖ c` that the contract can check, and the proof a buyer hands to `challenge` when the
//! delivered key is wrong.
//!
//! - Buyer key *j* is the seed's BIP-85 HEX child at index 2^24 + j read as a secp256k1 secret
//!   `b`; its public key `B = b·G` goes to `buy` as 64 bytes x ‖ y. A j whose B has x ≥ n (the
//!   group order) is skipped: the contract needs x < n for the `ecrecover` trick.
//! - The seller picks a fresh `r`, sends `R = r·G` and `c = K ⊕ mask(S)` with `S = r·B`; the
//!   buyer gets `S = b·R`. `mask(S) = keccak256("keybot delivery v2" ‖ S.x ‖ S.y ‖ chainId ‖
//!   market ‖ purchaseId)`, numbers 32 bytes big-endian, the address 20 bytes: a delivery made
//!   for one purchase, market or chain opens nothing anywhere else.
//! - A challenge publishes `b`, its inverse mod n, `B` and `S`, from which the contract recomputes
//!   `K'` itself. `b` is one-time: publishing it opens this purchase's key and nothing else.
//!
//! Secrets stay in zeroizing types; only public points, and `b` when the caller asks for a
//! challenge or dispute (which publish it), leave this crate.
use std::fmt;

use alloy::primitives::{Address, U256, keccak256};
use k256::elliptic_curve::PrimeField;
use k256::elliptic_curve::sec1::{FromEncodedPoint, ToEncodedPoint};
use k256::{AffinePoint, EncodedPoint, FieldBytes, ProjectivePoint, Scalar};
use zeroize::Zeroizing;

use crate::derive::Root;
use crate::secret::Secret32;
use crate::{Error, Result, bip85};

/// A v2 buyer key or delivery point: x ‖ y, 32 bytes each.
pub const POINT_LEN: usize = 64;
/// `R ‖ c`.
pub const DELIVERY_LEN: usize = POINT_LEN + 32;
/// BIP-85 index of buyer key 0 (MARKET.md "One-time buyer keys").
pub const FIRST_BUYER_INDEX: u32 = 1 << 24;
/// The highest j whose BIP-85 index is still a hardened index.
pub const MAX_BUYER_KEY: u32 = crate::MAX_INDEX - FIRST_BUYER_INDEX;
const DOMAIN: &[u8] = b"keybot delivery v2";

/// Why a point, a delivery or a proof was refused. Never carries secret bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    #[error("a point is {POINT_LEN} bytes (x ‖ y); this one is {0}")]
    PointLength(usize),
    #[error("the point is not on secp256k1")]
    NotOnCurve,
    #[error("the point's x is not below the group order, which the market contract refuses")]
    XNotBelowOrder,
    #[error("a delivery is {DELIVERY_LEN} bytes (R ‖ c); this one is {0}")]
    DeliveryLength(usize),
    #[error("buyer key {0} is beyond the last one a seed has")]
    IndexOutOfRange(u32),
    #[error("cannot get random bytes for the delivery")]
    Random,
}

/// What binds a delivery to one purchase: the chain, the market contract and the purchase id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binding {
    pub chain_id: u64,
    pub market: Address,
    pub purchase_id: u64,
}

impl Binding {
    /// `keccak256("keybot delivery v2" ‖ S.x ‖ S.y ‖ chainId ‖ market ‖ purchaseId)`.
    fn mask(&self, shared: &[u8; POINT_LEN]) -> [u8; 32] {
        let mut m = Zeroizing::new(Vec::with_capacity(DOMAIN.len() + 64 + 32 + 20 + 32));
        m.extend_from_slice(DOMAIN);
        m.extend_from_slice(shared);
        m.extend_from_slice(&U256::from(self.chain_id).to_be_bytes::<32>());
        m.extend_from_slice(self.market.as_slice());
        m.extend_from_slice(&U256::from(self.purchase_id).to_be_bytes::<32>());
        keccak256(&m[..]).0
    }
}

/// What `challenge` publishes: the one-time secret `b`, its inverse mod n, `B = b·G` and the
/// shared point `S = b·R`, each 32-byte big-endian or x ‖ y. Debug hides `b` and its inverse.
pub struct ChallengeProof {
    secret: Secret32,
    inverse: Secret32,
    pub buyer_key: [u8; POINT_LEN],
    pub shared: [u8; POINT_LEN],
}

impl ChallengeProof {
    /// `b`, published by the challenge (it opens this purchase's key and nothing else).
    pub fn secret(&self) -> &[u8; 32] {
        self.secret.expose()
    }
    /// `b⁻¹ mod n`.
    pub fn inverse(&self) -> &[u8; 32] {
        self.inverse.expose()
    }
}

impl fmt::Debug for ChallengeProof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChallengeProof")
            .field("secret", &"<redacted>")
            .field("inverse", &"<redacted>")
            .field("buyer_key", &alloy::hex::encode(self.buyer_key))
            .field("shared", &alloy::hex::encode(self.shared))
            .finish()
    }
}

/// Reads x ‖ y as a point the contract accepts: on the curve, not the identity, x < n.
pub fn parse_point(bytes: &[u8]) -> Result<AffinePoint, DeliveryError> {
    if bytes.len() != POINT_LEN {
        return Err(DeliveryError::PointLength(bytes.len()));
    }
    let encoded = EncodedPoint::from_affine_coordinates(
        FieldBytes::from_slice(&bytes[..32]),
        FieldBytes::from_slice(&bytes[32..]),
        false,
    );
    let point: Option<AffinePoint> = AffinePoint::from_encoded_point(&encoded).into();
    let point = point.ok_or(DeliveryError::NotOnCurve)?;
    if !x_below_order(&bytes[..32]) {
        return Err(DeliveryError::XNotBelowOrder);
    }
    Ok(point)
}

/// Whether a 32-byte big-endian x is below the group order n (a scalar's canonical form is).
fn x_below_order(x: &[u8]) -> bool {
    Option::<Scalar>::from(Scalar::from_repr(*FieldBytes::from_slice(x))).is_some()
}

fn to_bytes(point: &ProjectivePoint) -> [u8; POINT_LEN] {
    let encoded = point.to_affine().to_encoded_point(false);
    let mut out = [0u8; POINT_LEN];
    // Uncompressed SEC1 is 0x04 ‖ x ‖ y; the identity (never reached: scalars are non-zero and
    // the points on the curve) would encode as one byte and is refused by the length.
    out.copy_from_slice(&encoded.as_bytes()[1..]);
    out
}

/// Buyer key j's secret scalar, or None for the rare j whose public key has x ≥ n (or whose
/// BIP-85 output is no scalar, odds about 2^-128).
fn buyer_scalar(root: &Root, j: u32) -> Result<Option<(Zeroizing<Scalar>, [u8; POINT_LEN])>> {
    let index = FIRST_BUYER_INDEX
        .checked_add(j)
        .filter(|i| *i <= crate::MAX_INDEX)
        .ok_or(Error::Delivery(DeliveryError::IndexOutOfRange(j)))?;
    let entropy = bip85::hex_entropy(root, 32, index)?;
    let scalar: Option<Scalar> = Scalar::from_repr(*FieldBytes::from_slice(&entropy)).into();
    let Some(scalar) = scalar.filter(|s| !bool::from(s.is_zero())) else {
        return Ok(None);
    };
    let scalar = Zeroizing::new(scalar);
    let public = to_bytes(&(ProjectivePoint::GENERATOR * *scalar));
    if !x_below_order(&public[..32]) {
        return Ok(None);
    }
    Ok(Some((scalar, public)))
}

/// Buyer key j's public key (x ‖ y), or None when j is one of the skipped ones.
pub(crate) fn buyer_public_key(root: &Root, j: u32) -> Result<Option<[u8; POINT_LEN]>> {
    Ok(buyer_scalar(root, j)?.map(|(_, public)| public))
}

fn buyer_secret(root: &Root, j: u32) -> Result<(Zeroizing<Scalar>, [u8; POINT_LEN])> {
    buyer_scalar(root, j)?.ok_or_else(|| {
        Error::Derivation(format!("buyer key {j} is one of the skipped ones (x ≥ n)"))
    })
}

fn split(delivery: &[u8]) -> Result<(AffinePoint, [u8; 32]), DeliveryError> {
    if delivery.len() != DELIVERY_LEN {
        return Err(DeliveryError::DeliveryLength(delivery.len()));
    }
    let r = parse_point(&delivery[..POINT_LEN])?;
    let mut c = [0u8; 32];
    c.copy_from_slice(&delivery[POINT_LEN..]);
    Ok((r, c))
}

fn xor(a: &[u8; 32], b: &[u8; 32]) -> Secret32 {
    let mut out = Zeroizing::new([0u8; 32]);
    for i in 0..32 {
        out[i] = a[i] ^ b[i];
    }
    Secret32::new(*out)
}

/// The seller's side: `R ‖ c` delivering `key` to the buyer key `buyer_key` (x ‖ y, as in the
/// `Purchased` event) for one purchase. Refuses a buyer key that is not a point the contract
/// would accept (it never is: `buy` checks the same), so a stranger's bytes cannot make this
/// panic.
pub fn deliver(
    buyer_key: &[u8],
    key: &Secret32,
    binding: &Binding,
) -> Result<[u8; DELIVERY_LEN], DeliveryError> {
    let b = ProjectivePoint::from(parse_point(buyer_key)?);
    loop {
        let mut bytes = Zeroizing::new([0u8; 32]);
        getrandom::fill(bytes.as_mut()).map_err(|_| DeliveryError::Random)?;
        let r: Option<Scalar> = Scalar::from_repr(*FieldBytes::from_slice(&bytes[..])).into();
        let Some(r) = r.filter(|r| !bool::from(r.is_zero())) else {
            continue;
        };
        let r = Zeroizing::new(r);
        let big_r = to_bytes(&(ProjectivePoint::GENERATOR * *r));
        // The contract refuses an R with x ≥ n (odds about 2^-128): draw again.
        if !x_below_order(&big_r[..32]) {
            continue;
        }
        let shared = Zeroizing::new(to_bytes(&(b * *r)));
        let mask = Zeroizing::new(binding.mask(&shared));
        let c = xor(key.expose(), &mask);
        let mut out = [0u8; DELIVERY_LEN];
        out[..POINT_LEN].copy_from_slice(&big_r);
        out[POINT_LEN..].copy_from_slice(c.expose());
        return Ok(out);
    }
}

/// The buyer's side: the content key out of `R ‖ c` with buyer key j. Whether it is the
/// listing's key is the caller's check (keccak256 against the listing's commitment).
pub(crate) fn open(root: &Root, j: u32, delivery: &[u8], binding: &Binding) -> Result<Secret32> {
    let (r, c) = split(delivery)?;
    let (b, _) = buyer_secret(root, j)?;
    let shared = Zeroizing::new(to_bytes(&(ProjectivePoint::from(r) * *b)));
    let mask = Zeroizing::new(binding.mask(&shared));
    Ok(xor(&c, &mask))
}

/// What a challenge of `delivery` with buyer key j publishes.
pub(crate) fn proof(root: &Root, j: u32, delivery: &[u8]) -> Result<ChallengeProof> {
    let (r, _) = split(delivery)?;
    let (b, buyer_key) = buyer_secret(root, j)?;
    let inverse: Option<Scalar> = b.invert().into();
    let inverse = Zeroizing::new(
        inverse.ok_or_else(|| Error::Derivation("a buyer key has no inverse".into()))?,
    );
    let shared = to_bytes(&(ProjectivePoint::from(r) * *b));
    Ok(ChallengeProof {
        secret: Secret32::new(b.to_repr().into()),
        inverse: Secret32::new(inverse.to_repr().into()),
        buyer_key,
        shared,
    })
}

/// Buyer key j's secret `b`, for a dispute (which publishes it).
pub(crate) fn dispute_secret(root: &Root, j: u32) -> Result<Secret32> {
    let (b, _) = buyer_secret(root, j)?;
    Ok(Secret32::new(b.to_repr().into()))
}

/// Whether `secret · G` is the point `buyer_key` (x ‖ y): how every client checks a published
/// dispute secret against the purchase's key as a whole point.
pub fn secret_opens(secret: &[u8; 32], buyer_key: &[u8]) -> bool {
    let s: Option<Scalar> = Scalar::from_repr(*FieldBytes::from_slice(secret)).into();
    let Some(s) = s.filter(|s| !bool::from(s.is_zero())) else {
        return false;
    };
    buyer_key.len() == POINT_LEN && to_bytes(&(ProjectivePoint::GENERATOR * s))[..] == *buyer_key
}

/// The content key that a published secret opens from `R ‖ c` (what a third party computes
/// to check a dispute). None when the delivery is not well formed.
pub fn open_with_secret(secret: &[u8; 32], delivery: &[u8], binding: &Binding) -> Option<Secret32> {
    let (r, c) = split(delivery).ok()?;
    let s: Option<Scalar> = Scalar::from_repr(*FieldBytes::from_slice(secret)).into();
    let s = Zeroizing::new(s.filter(|s| !bool::from(s.is_zero()))?);
    let shared = Zeroizing::new(to_bytes(&(ProjectivePoint::from(r) * *s)));
    Some(xor(&c, &binding.mask(&shared)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mnemonic::Phrase;

    const ABOUT: &str = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";

    fn root() -> Root {
        Root::from_seed(&Phrase::parse(ABOUT).unwrap().to_seed("")[..]).unwrap()
    }

    fn binding(purchase_id: u64) -> Binding {
        Binding {
            chain_id: 31337,
            market: Address::repeat_byte(0x42),
            purchase_id,
        }
    }

    #[test]
    fn a_delivery_opens_to_the_key_for_its_buyer_and_purchase_only() {
        let root = root();
        let b0 = buyer_public_key(&root, 0).unwrap().unwrap();
        let b1 = buyer_public_key(&root, 1).unwrap().unwrap();
        assert_ne!(b0, b1, "one key per purchase");
        let key = Secret32::new([7u8; 32]);
        let d = deliver(&b0, &key, &binding(3)).unwrap();
        assert_eq!(
            open(&root, 0, &d, &binding(3)).unwrap().expose(),
            &[7u8; 32]
        );
        // Another buyer key, another purchase id, chain or market: another (wrong) key.
        assert_ne!(
            open(&root, 1, &d, &binding(3)).unwrap().expose(),
            &[7u8; 32]
        );
        assert_ne!(
            open(&root, 0, &d, &binding(4)).unwrap().expose(),
            &[7u8; 32]
        );
        let mut other_chain = binding(3);
        other_chain.chain_id = 1;
        assert_ne!(
            open(&root, 0, &d, &other_chain).unwrap().expose(),
            &[7u8; 32]
        );
        // Fresh r each time.
        assert_ne!(d, deliver(&b0, &key, &binding(3)).unwrap());
    }

    #[test]
    fn the_proof_is_what_the_contract_checks() {
        let root = root();
        let b = buyer_public_key(&root, 2).unwrap().unwrap();
        let key = Secret32::new([9u8; 32]);
        let d = deliver(&b, &key, &binding(1)).unwrap();
        let p = proof(&root, 2, &d).unwrap();
        assert_eq!(p.buyer_key, b);
        let secret: Scalar = Scalar::from_repr(*FieldBytes::from_slice(p.secret())).unwrap();
        let inverse: Scalar = Scalar::from_repr(*FieldBytes::from_slice(p.inverse())).unwrap();
        assert_eq!(secret * inverse, Scalar::ONE);
        assert!(secret_opens(p.secret(), &b));
        assert!(!secret_opens(
            p.secret(),
            &buyer_public_key(&root, 3).unwrap().unwrap()
        ));
        // S = b·R: a third party with the secret opens the same key.
        let k = open_with_secret(p.secret(), &d, &binding(1)).unwrap();
        assert_eq!(k.expose(), &[9u8; 32]);
        assert!(format!("{p:?}").contains("<redacted>"));
        assert!(!format!("{p:?}").contains(&alloy::hex::encode(p.secret())));
        assert_eq!(dispute_secret(&root, 2).unwrap().expose(), p.secret());
    }

    #[test]
    fn points_the_contract_refuses_are_refused_here() {
        assert_eq!(
            parse_point(&[1u8; 63]).unwrap_err(),
            DeliveryError::PointLength(63)
        );
        // x = 1 has no y with y² = 2 mod p... any y that is not its root is off the curve.
        let mut off = [0u8; 64];
        off[31] = 1;
        off[63] = 1;
        assert_eq!(parse_point(&off).unwrap_err(), DeliveryError::NotOnCurve);
        // A point with x ≥ n: x = n + 1 .. p−1 has points; find one by trying small offsets.
        let n = U256::from_str_radix(
            "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141",
            16,
        )
        .unwrap();
        let high = (1u64..200)
            .find_map(|i| {
                let x = (n + U256::from(i)).to_be_bytes::<32>();
                let compressed: Vec<u8> = std::iter::once(2u8).chain(x).collect();
                let p: Option<AffinePoint> =
                    AffinePoint::from_encoded_point(&EncodedPoint::from_bytes(&compressed).ok()?)
                        .into();
                p.map(|p| {
                    let e = p.to_encoded_point(false);
                    let mut out = [0u8; 64];
                    out.copy_from_slice(&e.as_bytes()[1..]);
                    out
                })
            })
            .expect("some x just above n is on the curve");
        assert_eq!(
            parse_point(&high).unwrap_err(),
            DeliveryError::XNotBelowOrder
        );
        let key = Secret32::new([1u8; 32]);
        assert_eq!(
            deliver(&high, &key, &binding(1)).unwrap_err(),
            DeliveryError::XNotBelowOrder
        );
        assert_eq!(
            deliver(&off, &key, &binding(1)).unwrap_err(),
            DeliveryError::NotOnCurve
        );
        assert!(matches!(
            open(&root(), 0, &[0u8; 95], &binding(1)),
            Err(Error::Delivery(DeliveryError::DeliveryLength(95)))
        ));
        assert!(!secret_opens(&[0u8; 32], &high));
    }

    #[test]
    fn buyer_keys_stop_at_the_last_hardened_index() {
        let root = root();
        assert!(matches!(
            buyer_public_key(&root, MAX_BUYER_KEY + 1),
            Err(Error::Delivery(DeliveryError::IndexOutOfRange(_)))
        ));
        assert!(buyer_public_key(&root, MAX_BUYER_KEY).is_ok());
    }
}
