// The eciesjs side of tests/fast/ecies_interop.rs. eciesjs is loaded from the directory in
// KEYBOT_ECIESJS_DIR (where .ci/run installs package-lock.json's exact versions), not from the
// repository. Every value crosses as lower-case hex, one per line on stdout.
//
//   node interop.mjs public-key SECRET_HEX [uncompressed]  public key of a secret key
//   node interop.mjs encrypt PUBLIC_KEY_HEX MSG_HEX         eciesjs encrypts to a public key
//   node interop.mjs decrypt SECRET_HEX CIPHER_HEX          eciesjs decrypts with a secret key
//   node interop.mjs market-public-key [PASSPHRASE]         reads a BIP-39 phrase on stdin: the
//                                   compressed public key of its BIP-85 HEX index 1 child
//
// eciesjs runs with its default configuration (secp256k1, uncompressed ephemeral key and HKDF
// input, AES-256-GCM, 16-byte nonce), the scheme MARKET.md names.
import { createRequire } from "node:module";
import { createHmac, pbkdf2Sync } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const dir = process.env.KEYBOT_ECIESJS_DIR;
if (!dir) throw new Error("set KEYBOT_ECIESJS_DIR to the directory eciesjs is installed in");
const require = createRequire(join(dir, "package.json"));
const { encrypt, decrypt, PrivateKey } = require("eciesjs");

const hex = (b) => Buffer.from(b).toString("hex");
const bytes = (h) => Buffer.from(h, "hex");
const publicKey = (secret, compressed = true) =>
  new PrivateKey(secret).publicKey.toBytes(compressed);

// An implementation of the derivation independent of keybot's (bip39, coins-bip32, its BIP-85
// code): BIP-39 seed, BIP-32 master key, then only hardened steps, which need no point maths.
function marketSecret(phrase, passphrase) {
  const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
  const seed = pbkdf2Sync(
    phrase.normalize("NFKD"),
    ("mnemonic" + passphrase).normalize("NFKD"),
    2048,
    64,
    "sha512",
  );
  let I = createHmac("sha512", "Bitcoin seed").update(seed).digest();
  let key = I.subarray(0, 32);
  let chain = I.subarray(32);
  for (const step of [83696968, 128169, 32, 1]) {
    const data = Buffer.alloc(37);
    key.copy(data, 1);
    data.writeUInt32BE((step | 0x80000000) >>> 0, 33);
    I = createHmac("sha512", chain).update(data).digest();
    const k = (BigInt("0x" + hex(I.subarray(0, 32))) + BigInt("0x" + hex(key))) % n;
    key = bytes(k.toString(16).padStart(64, "0"));
    chain = I.subarray(32);
  }
  return createHmac("sha512", "bip-entropy-from-k").update(key).digest().subarray(0, 32);
}

const [cmd, a, b] = process.argv.slice(2);
switch (cmd) {
  case "public-key":
    console.log(hex(publicKey(bytes(a), b !== "uncompressed")));
    break;
  case "encrypt":
    console.log(hex(encrypt(bytes(a), bytes(b))));
    break;
  case "decrypt":
    console.log(hex(decrypt(bytes(a), bytes(b))));
    break;
  case "market-public-key":
    console.log(hex(publicKey(marketSecret(readFileSync(0, "utf8").trim(), a ?? ""))));
    break;
  default:
    throw new Error(`unknown command ${cmd}`);
}
