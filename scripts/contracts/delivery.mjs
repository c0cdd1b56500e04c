// The crypto of a market v2 purchase (MARKET.md, "Version 2"), independent of keybot's Rust code:
// one-time buyer keys, R ‖ c deliveries, and the arguments of `challenge`. Shared by gas.mjs
// (the anvil sanity check) and vectors.mjs (the constants of the invariant test).
//
//   const d = loadDelivery(nodeModules);   // @noble/curves + @noble/hashes from that tree
import path from "node:path";
import { createRequire } from "node:module";
import { randomBytes } from "node:crypto";

export const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

export const hex = (bytes) => "0x" + Buffer.from(bytes).toString("hex");
export const word = (v) => v.toString(16).padStart(64, "0");

export function loadDelivery(nodeModules) {
  const require = createRequire(path.join(path.resolve(nodeModules), "_"));
  const { secp256k1 } = require("@noble/curves/secp256k1");
  const { keccak_256 } = require("@noble/hashes/sha3");
  const G = secp256k1.ProjectivePoint.BASE;
  const keccak = (bytes) => Buffer.from(keccak_256(bytes));
  const bytesOf = (h) => Buffer.from(h.replace(/^0x/, ""), "hex");

  // A secret k in 1..n-1 whose public point has x < n (what `buy` and `deliver` accept), from
  // `rand` (32 bytes) or fresh randomness.
  function secret(rand) {
    for (;;) {
      const k = BigInt(hex(rand ?? randomBytes(32))) % N;
      rand = undefined;
      if (k === 0n) continue;
      const P = G.multiply(k).toAffine();
      if (P.x < N) return k;
    }
  }
  const point = (P) => {
    const a = P.toAffine ? P.toAffine() : P;
    return "0x" + word(a.x) + word(a.y);
  };
  const inverse = (k) => {
    // k^(n-2) mod n (n is prime).
    let r = 1n, b = k % N, e = N - 2n;
    while (e > 0n) {
      if (e & 1n) r = (r * b) % N;
      b = (b * b) % N;
      e >>= 1n;
    }
    return r;
  };

  // The mask c = K xor mask: keccak256("keybot delivery v2" ‖ S.x ‖ S.y ‖ chainId ‖ market ‖ purchaseId).
  function mask(S, chainId, market, purchaseId) {
    return keccak(
      Buffer.concat([
        Buffer.from("keybot delivery v2"),
        bytesOf(S),
        bytesOf(word(BigInt(chainId))),
        bytesOf(market),
        bytesOf(word(BigInt(purchaseId))),
      ]),
    );
  }

  return {
    secret,
    inverse,
    keccak,
    /// The buyer's one-time key: b, B = b·G (64 bytes), bInv.
    buyerKey(rand) {
      const b = secret(rand);
      return { b, bInv: inverse(b), B: point(G.multiply(b)) };
    },
    /// keyCommit of a content key K (32 bytes hex).
    keyCommit: (K) => hex(keccak(bytesOf(K))),
    /// What the seller delivers for content key K to buyer key B: R ‖ c (96 bytes), and S.
    deliver({ B, K, chainId, market, purchaseId, r }) {
      r = r ?? secret();
      const Bp = secp256k1.ProjectivePoint.fromHex("04" + B.slice(2));
      const S = point(Bp.multiply(r));
      const m = mask(S, chainId, market, purchaseId);
      const c = Buffer.from(bytesOf(K).map((x, i) => x ^ m[i]));
      return { delivery: point(G.multiply(r)) + c.toString("hex"), S, r };
    },
    /// What the buyer decrypts from a delivery with secret b: S = b·R and K.
    open({ b, delivery, chainId, market, purchaseId }) {
      const R = secp256k1.ProjectivePoint.fromHex("04" + delivery.slice(2, 130));
      const S = point(R.multiply(b));
      const m = mask(S, chainId, market, purchaseId);
      const c = bytesOf(delivery.slice(130));
      return { S, K: hex(c.map((x, i) => x ^ m[i])) };
    },
  };
}
