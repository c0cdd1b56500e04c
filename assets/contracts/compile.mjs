// Compiles every *.sol in this directory and in test/ with solc-js (the exact version package.json
// pins) and writes one artifact per contract, <Contract>.json, beside its source. test/ holds
// TEST-ONLY contracts (attacks on DataMarket for tests/market_contract.rs); keybot itself never
// binds them. One compiler input for both is fine: a contract's bytecode and metadata depend only
// on the sources it imports, and nothing outside test/ imports from test/. Usually run through
// scripts/compile-contracts.sh, which installs the pinned npm packages first.
//
//   node compile.mjs [--check] [--node-modules DIR]
//
// DIR (or $KEYBOT_CONTRACTS_NODE_MODULES) is the node_modules holding `solc` and
// `@openzeppelin/contracts`. --check compiles in memory only and exits 1, naming each artifact
// that differs from the committed one or is missing.
//
// The artifact (Foundry-like; alloy's `sol!` reads `abi`, `bytecode.object` and
// `deployedBytecode.object` from it) is a pure function of the sources, the compiler version and
// SETTINGS: fixed key order, two-space indent, trailing newline.
import { readFileSync, readdirSync, writeFileSync, existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));

// Changing any of these changes the bytecode: recompile and commit the artifacts with it.
const SETTINGS = {
  evmVersion: "cancun",
  optimizer: { enabled: true, runs: 200 },
  // The IPFS hash of the metadata stays appended so a deployment can be matched to its source;
  // the metadata names sources by their import path, so the hash does not depend on where
  // node_modules is.
  metadata: { bytecodeHash: "ipfs" },
};

function die(msg) {
  console.error(`compile.mjs: ${msg}`);
  process.exit(2);
}

let check = false;
let nodeModules = process.env.KEYBOT_CONTRACTS_NODE_MODULES || "";
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--check") check = true;
  else if (args[i] === "--node-modules" && i + 1 < args.length) nodeModules = args[++i];
  else die(`unknown argument ${args[i]} (usage: compile.mjs [--check] [--node-modules DIR])`);
}
if (!nodeModules) die("no node_modules given (--node-modules DIR or KEYBOT_CONTRACTS_NODE_MODULES)");
nodeModules = path.resolve(nodeModules);

// The compiler must be the pinned one: a different solc gives different bytecode.
const pkg = JSON.parse(readFileSync(path.join(here, "package.json"), "utf8"));
const pinned = pkg.dependencies.solc;
const require = createRequire(path.join(nodeModules, "_"));
let solc;
try {
  solc = require("solc");
} catch (e) {
  die(`cannot load solc from ${nodeModules}: ${e.message}`);
}
const version = solc.version();
if (!version.startsWith(`${pinned}+`)) {
  die(`solc in ${nodeModules} is ${version}, package.json pins ${pinned}`);
}

// Source names are paths relative to this directory ("DataMarket.sol", "test/FeeOnTransferToken.sol").
const DIRS = ["", "test"];
const sources = {};
for (const dir of DIRS) {
  const abs = path.join(here, dir);
  if (!existsSync(abs)) continue;
  for (const f of readdirSync(abs).filter((f) => f.endsWith(".sol")).sort()) {
    sources[path.posix.join(dir, f)] = { content: readFileSync(path.join(abs, f), "utf8") };
  }
}
if (Object.keys(sources).length === 0) die(`no .sol files in ${here}`);

// Imports that are not one of our sources: another file here, else a package in node_modules.
function findImports(name) {
  for (const base of [here, nodeModules]) {
    const p = path.join(base, name);
    if (p.startsWith(base + path.sep) && existsSync(p)) {
      return { contents: readFileSync(p, "utf8") };
    }
  }
  return { error: `not found in ${here} or ${nodeModules}` };
}

const input = {
  language: "Solidity",
  sources,
  settings: {
    ...SETTINGS,
    outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } },
  },
};
const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));

let failed = false;
for (const e of output.errors || []) {
  console.error(e.formattedMessage || e.message);
  if (e.severity === "error") failed = true;
}
if (failed) die("compilation failed");

// One artifact for each contract defined in our own sources (not the imported library ones).
const artifacts = new Map();
for (const sourceName of Object.keys(sources)) {
  for (const [contractName, c] of Object.entries(output.contracts[sourceName] || {})) {
    // An interface or abstract contract: nothing to deploy or bind.
    if (c.evm.bytecode.object === "") continue;
    // `sol!` bindings are named by contract, so names are unique across both directories.
    const file = path.posix.join(path.posix.dirname(sourceName), `${contractName}.json`);
    if ([...artifacts.keys()].some((f) => path.posix.basename(f) === `${contractName}.json`)) {
      die(`two contracts named ${contractName}`);
    }
    const artifact = {
      contractName,
      sourceName,
      abi: c.abi,
      bytecode: { object: `0x${c.evm.bytecode.object}` },
      deployedBytecode: { object: `0x${c.evm.deployedBytecode.object}` },
      compiler: { name: "solc-js", version, settings: SETTINGS },
    };
    artifacts.set(file, JSON.stringify(artifact, null, 2) + "\n");
  }
}

if (check) {
  let bad = 0;
  for (const [file, text] of artifacts) {
    const p = path.join(here, file);
    if (!existsSync(p)) {
      console.error(`assets/contracts/${file}: missing (run scripts/compile-contracts.sh)`);
      bad++;
    } else if (readFileSync(p, "utf8") !== text) {
      console.error(
        `assets/contracts/${file}: differs from what solc ${version} builds from the sources ` +
          "(run scripts/compile-contracts.sh and commit the result)",
      );
      bad++;
    }
  }
  // An artifact whose contract is gone (renamed, deleted) would still bind in `sol!`.
  const stale = DIRS.flatMap((dir) =>
    existsSync(path.join(here, dir))
      ? readdirSync(path.join(here, dir)).map((f) => path.posix.join(dir, f))
      : [],
  ).filter((f) => f.endsWith(".json") && !f.startsWith("package") && !artifacts.has(f));
  for (const f of stale.sort()) {
    console.error(`assets/contracts/${f}: no contract of that name in the sources (delete it)`);
    bad++;
  }
  if (bad > 0) process.exit(1);
  console.log(`contract artifacts match solc ${version}: ${[...artifacts.keys()].join(", ")}`);
} else {
  for (const [file, text] of artifacts) {
    writeFileSync(path.join(here, file), text);
    console.log(`wrote assets/contracts/${file}`);
  }
}
