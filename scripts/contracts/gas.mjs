// Sanity check and gas figures of DataMarket v2 on anvil, with v1's for the same calls. Usually
// run through scripts/contracts/gas.sh, which installs the pinned npm packages and finds anvil,
// cast and the v1 artifact.
//
//   node gas.mjs --node-modules DIR --anvil PATH --cast PATH --v1 FILE --v2 FILE --token FILE
//
// v2: buys with a real one-time key, delivers a wrong key (the challenge refunds) and a right key
// (the challenge reverts with KeyIsRight, the buyer decrypts K), pays with ETH and the test
// token, refunds an undelivered purchase, disputes with the one-time secret, settles and
// withdraws. v1: the same listings, purchases, deliveries, dispute, refund and withdrawals.
// Exits 1 when anything behaves otherwise than the contract promises. Prints a Markdown table.
import { spawn, execFileSync } from "node:child_process";
import { readFileSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { loadDelivery, hex } from "./delivery.mjs";

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, "")] = process.argv[i + 1];
for (const k of ["node-modules", "anvil", "cast", "v1", "v2", "token"]) {
  if (!args[k]) {
    console.error(`gas.mjs: missing --${k}`);
    process.exit(2);
  }
}
const d = loadDelivery(args["node-modules"]);
const artifact = (f) => JSON.parse(readFileSync(f, "utf8"));

function fail(msg) {
  console.error(`gas.mjs: FAILED: ${msg}`);
  anvil.kill();
  process.exit(1);
}

// anvil on a port the OS picks; its banner names it. Its output goes to a file, not a pipe: the
// execFileSync calls below block the event loop, and a pipe nobody reads would stall anvil.
const logDir = mkdtempSync(path.join(tmpdir(), "keybot-gas-"));
const logFile = path.join(logDir, "anvil.log");
const anvil = spawn(args.anvil, ["--port", "0", "--host", "127.0.0.1"], {
  stdio: ["ignore", openSync(logFile, "w"), "inherit"],
});
const url = await new Promise((resolve, reject) => {
  const poll = setInterval(() => {
    const m = readFileSync(logFile, "utf8").match(/Listening on (\S+:\d+)/);
    if (m) {
      clearInterval(poll);
      resolve(`http://${m[1]}`);
    }
  }, 50);
  anvil.on("exit", (c) => reject(new Error(`anvil exited (${c}); see ${logFile}`)));
});
process.on("exit", () => {
  anvil.kill();
  if (!process.env.GAS_DEBUG) rmSync(logDir, { recursive: true, force: true });
});

const castOffline = (...a) => execFileSync(args.cast, a, { encoding: "utf8" }).trim();
const cast = (...a) => execFileSync(args.cast, [...a, "--rpc-url", url], { encoding: "utf8" }).trim();
const rpc = (method, ...params) => JSON.parse(cast("rpc", method, ...params.map(String)));
const accounts = rpc("eth_accounts");
const [deployer, seller, buyer, other] = accounts;
const chainId = BigInt(cast("chain-id"));

// A transaction from an unlocked anvil account; returns the receipt. With `gas`, estimation is
// skipped, so a transaction meant to revert is mined and its gas counted.
function send(from, to, sig, params = [], { value, gas, create } = {}) {
  let r;
  if (gas !== undefined) {
    const tx = { from, to, data: castOffline("calldata", sig, ...params.map(String)), gas: "0x" + gas.toString(16) };
    const hash = rpc("eth_sendTransaction", JSON.stringify(tx));
    r = JSON.parse(cast("receipt", "--json", hash));
  } else {
    const a = ["send", "--rpc-url", url, "--unlocked", "--from", from, "--json"];
    if (value !== undefined) a.push("--value", String(value));
    if (create) a.push("--create", create);
    else a.push(to);
    if (sig) a.push(sig, ...params.map(String));
    try {
      r = JSON.parse(execFileSync(args.cast, a, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }));
    } catch (e) {
      fail(`${sig ?? "create"} from ${from}: ${e.stderr || e.message}`);
    }
  }
  r.gas = Number(BigInt(r.gasUsed));
  r.ok = BigInt(r.status) === 1n;
  if (!r.ok && gas === undefined) fail(`${sig} reverted`);
  return r;
}
// The revert data of a call that must revert, checked against an error name.
function reverts(from, to, sig, params, errorSig, value) {
  const a = ["call", "--from", from, to, sig, ...params.map(String)];
  if (value !== undefined) a.push("--value", String(value));
  let msg = "";
  try {
    execFileSync(args.cast, [...a, "--rpc-url", url], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    msg = String(e.stderr || e.message);
  }
  const selector = castOffline("sig", errorSig);
  if (!msg.includes(selector)) fail(`${sig} should revert with ${errorSig} (${selector}); got: ${msg || "success"}`);
}
const warp = (seconds) => {
  rpc("evm_increaseTime", seconds);
  rpc("evm_mine");
};
const balance = (who) => BigInt(cast("balance", who));
const tokenBalance = (tok, who) => BigInt(cast("call", tok, "balanceOf(address)(uint256)", who).split(" ")[0]);
const deploy = (art, ctorArgs = []) => {
  const sig = ctorArgs.length ? "constructor(address[])" : undefined;
  const r = send(deployer, null, sig, ctorArgs, { create: art.bytecode.object });
  return r.contractAddress;
};

const gas = {}; // call -> { v1, v2 }
const record = (call, version, r) => {
  (gas[call] ??= {})[version] = r.gas;
};

const ETH = "0x0000000000000000000000000000000000000000";
const PRICE = 10n ** 15n;
const TPRICE = 5_000_000n;
const ONE_DAY = 86400;
const data = hex(randomBytes(512));
const meta = '{"v":1,"title":"gas","tags":[],"bytes":512,"type":"text/plain"}';

const token = deploy(artifact(args.token));
send(deployer, token, "faucet(address,uint256)", [buyer, 1_000_000_000_000n]);

// ---------------- v2 ----------------
{
  const v = "v2";
  const market = deploy(artifact(args.v2), [`[${token}]`]);
  send(buyer, token, "approve(address,uint256)", [market, 2n ** 255n]);
  const K = hex(randomBytes(32));
  const commit = d.keyCommit(K);
  const listEth = send(seller, market, "list(uint256,address,bytes32,bytes32,bytes,string,string)", [
    PRICE, ETH, d.keyCommit(data), commit, data, "", meta,
  ]);
  record("list (512 B inline)", v, listEth);
  send(seller, market, "list(uint256,address,bytes32,bytes32,bytes,string,string)", [
    TPRICE, token, d.keyCommit(data), commit, data, "", meta,
  ]);

  const buy = (listing, key, value, label) => {
    const r = value
      ? send(buyer, market, "buy(uint256,bytes,uint256)", [listing, key.B, value], { value })
      : send(buyer, market, "buy(uint256,bytes,uint256)", [listing, key.B, TPRICE]);
    if (label) record(label, v, r);
    return Number(cast("call", market, "purchaseCount()(uint256)"));
  };
  const deliver = (id, key, k, label) => {
    const { delivery, S } = d.deliver({ B: key.B, K: k, chainId, market, purchaseId: id });
    const r = send(seller, market, "deliver(uint256,bytes)", [id, delivery]);
    if (label) record(label, v, r);
    return { delivery, S };
  };
  const challengeArgs = (id, key, dl) => [id, key.b, key.bInv, key.B, dl.S, dl.delivery];
  const SIG_CH = "challenge(uint256,uint256,uint256,bytes,bytes,bytes)";

  // Bad keys are refused at buy.
  reverts(buyer, market, "buy(uint256,bytes,uint256)", [1, "0x" + "11".repeat(64), PRICE], "BadBuyerKey()", PRICE);
  reverts(buyer, market, "buy(uint256,bytes,uint256)", [1, d.buyerKey().B, PRICE - 1n], "PriceAboveMax(uint256,uint256)", PRICE);

  // 1. ETH, wrong key delivered: the challenge refunds.
  const k1 = d.buyerKey();
  const p1 = buy(1, k1, PRICE, "buy (ETH)");
  const wrong = hex(randomBytes(32));
  const dl1 = deliver(p1, k1, wrong, "deliver");
  if (d.open({ b: k1.b, delivery: dl1.delivery, chainId, market, purchaseId: p1 }).K !== wrong) fail("buyer cannot open");
  const before = balance(buyer);
  const ch1 = send(buyer, market, SIG_CH, challengeArgs(p1, k1, dl1));
  record("challenge, key wrong: refund (ETH)", v, ch1);
  const after = balance(buyer);
  const fee = BigInt(ch1.gasUsed) * BigInt(ch1.effectiveGasPrice);
  if (after - before + fee !== PRICE) fail(`challenge refunded ${after - before + fee}, expected ${PRICE}`);
  if (!ch1.logs.some((l) => l.topics[0] === castOffline("keccak", "KeyProvenWrong(uint256,address,address,uint256)"))) {
    fail("no KeyProvenWrong event");
  }

  // 2. ETH, right key: the challenge reverts, the buyer decrypts K; a dispute with the secret.
  const k2 = d.buyerKey();
  const p2 = buy(1, k2, PRICE);
  const dl2 = deliver(p2, k2, K);
  if (d.open({ b: k2.b, delivery: dl2.delivery, chainId, market, purchaseId: p2 }).K !== K) fail("buyer got another K");
  reverts(buyer, market, SIG_CH, challengeArgs(p2, k2, dl2), "KeyIsRight()");
  // A challenge with another S or b is refused before the key is judged.
  reverts(buyer, market, SIG_CH, [p2, k2.b, k2.bInv, k2.B, dl1.S, dl2.delivery], "WrongSharedPoint()");
  reverts(buyer, market, SIG_CH, [p2, k1.b, k1.bInv, k2.B, dl2.S, dl2.delivery], "WrongSecret()");
  const ch2 = send(buyer, market, SIG_CH, challengeArgs(p2, k2, dl2), { gas: 200000 });
  if (ch2.ok) fail("a challenge of a right key succeeded");
  record("challenge, key right: reverts KeyIsRight", v, ch2);
  reverts(buyer, market, "dispute(uint256,uint256,string)", [p2, k1.b, "x"], "WrongSecret()");
  record("dispute (17-byte reason)", v, send(buyer, market, "dispute(uint256,uint256,string)", [p2, k2.b, "does not open, see"]));

  // 3. token, right key; 4. token, wrong key: the challenge refunds in tokens.
  const k3 = d.buyerKey();
  const p3 = buy(2, k3, 0, "buy (token)");
  deliver(p3, k3, K);
  const k4 = d.buyerKey();
  const p4 = buy(2, k4, 0);
  const dl4 = deliver(p4, k4, wrong);
  const tb = tokenBalance(token, buyer);
  record("challenge, key wrong: refund (token)", v, send(buyer, market, SIG_CH, challengeArgs(p4, k4, dl4)));
  if (tokenBalance(token, buyer) - tb !== TPRICE) fail("token challenge did not refund the price");

  // 5. ETH, never delivered: refund to another address after the deadline.
  const k5 = d.buyerKey();
  const p5 = buy(1, k5, PRICE);
  warp(3 * ONE_DAY + 1);
  reverts(seller, market, "deliver(uint256,bytes)", [p5, d.deliver({ B: k5.B, K, chainId, market, purchaseId: p5 }).delivery], "DeliveryTooLate(uint256,uint64)");
  const ob = balance(other);
  record("refund (ETH, to another address)", v, send(buyer, market, "refund(uint256,address)", [p5, other]));
  if (balance(other) - ob !== PRICE) fail("refund did not pay the recipient");

  // p2 and p3 were delivered 3 days ago: settled now; not before.
  reverts(buyer, market, SIG_CH, challengeArgs(p2, k2, dl2), "ChallengeWindowOver(uint256,uint64)");
  record("settle (1 purchase, ETH)", v, send(other, market, "settle(uint256[])", [`[${p2}]`]));
  if (BigInt(cast("call", market, "claimable(address,address)(uint256)", seller, ETH).split(" ")[0]) !== PRICE) {
    fail("claimable after settle");
  }
  record("withdraw (ETH, nothing to settle)", v, send(seller, market, "withdraw(address,address,uint256[])", [ETH, seller, "[]"]));
  record("withdraw (token, settles 1 first)", v, send(seller, market, "withdraw(address,address,uint256[])", [token, seller, `[${p3}]`]));
  for (const t of [ETH, token]) {
    const bal = t === ETH ? balance(market) : tokenBalance(token, market);
    if (bal !== 0n) fail(`market still holds ${bal} of ${t}`);
  }
}

// ---------------- v1 ----------------
{
  const v = "v1";
  const market = deploy(artifact(args.v1), [`[${token}]`]);
  send(buyer, token, "approve(address,uint256)", [market, 2n ** 255n]);
  const commit = d.keyCommit(hex(randomBytes(32)));
  record("list (512 B inline)", v, send(seller, market, "list(uint256,address,bytes32,bytes32,bytes,string,string)", [
    PRICE, ETH, d.keyCommit(data), commit, data, "", meta,
  ]));
  send(seller, market, "list(uint256,address,bytes32,bytes32,bytes,string,string)", [
    TPRICE, token, d.keyCommit(data), commit, data, "", meta,
  ]);
  const key33 = () => "0x02" + randomBytes(32).toString("hex");
  const ecies = () => hex(randomBytes(129));
  record("buy (ETH)", v, send(buyer, market, "buy(uint256,bytes)", [1, key33()], { value: PRICE }));
  record("deliver", v, send(seller, market, "deliver(uint256,bytes)", [1, ecies()]));
  record("dispute (17-byte reason)", v, send(buyer, market, "dispute(uint256,string)", [1, "does not open, see"]));
  record("buy (token)", v, send(buyer, market, "buy(uint256,bytes)", [2, key33()]));
  send(seller, market, "deliver(uint256,bytes)", [2, ecies()]);
  send(buyer, market, "buy(uint256,bytes)", [1, key33()], { value: PRICE });
  warp(3 * ONE_DAY + 1);
  record("refund (ETH, to another address)", v, send(buyer, market, "refund(uint256)", [3]));
  record("withdraw (ETH, nothing to settle)", v, send(seller, market, "withdraw(address)", [ETH]));
  record("withdraw (token, settles 1 first)", v, send(seller, market, "withdraw(address)", [token]));
}

anvil.kill();
const hardfork = "anvil 1.7.1 default hardfork";
console.log(`| call (${hardfork}) | v1 gas | v2 gas |`);
console.log("|---|---:|---:|");
for (const [call, g] of Object.entries(gas)) console.log(`| ${call} | ${g.v1 ?? "—"} | ${g.v2 ?? "—"} |`);
console.error("gas.mjs: v2 behaved as promised on every call");
