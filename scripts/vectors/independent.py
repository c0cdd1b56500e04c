"""Recomputes the vectors that keybot's own crates once produced, with an independent
implementation (eth-account, pinned in requirements.txt), so the fixtures check keybot against
someone else's code instead of against itself.

    python3 -m venv /tmp/v && /tmp/v/bin/pip install -r scripts/vectors/requirements.txt
    /tmp/v/bin/python scripts/vectors/independent.py > tests/fixtures/independent_vectors.json
"""
import json
import sys

import eth_account
from eth_account import Account
from eth_account.messages import encode_defunct, _hash_eip191_message

Account.enable_unaudited_hdwallet_features()

PHRASE = "test test test test test test test test test test test junk"
KEY0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"

accounts = []
for i in range(10):
    path = f"m/44'/60'/0'/0/{i}"
    acct = Account.from_mnemonic(PHRASE, account_path=path)
    accounts.append({"index": i, "path": path, "address": acct.address,
                     "private_key": "0x" + acct.key.hex().removeprefix("0x")})

signed = []
for text in ["hello world", "hello world!", "", "keybot ✓"]:
    msg = encode_defunct(text=text)
    sig = Account.sign_message(msg, private_key=KEY0)
    signed.append({"message": text, "message_kind": "utf8",
                   "eip191_hash": "0x" + _hash_eip191_message(msg).hex().removeprefix("0x"),
                   "signature": "0x" + sig.signature.hex().removeprefix("0x")})

json.dump({
    "generator": f"eth-account {eth_account.__version__} (scripts/vectors/independent.py)",
    "mnemonic": PHRASE,
    "accounts": accounts,
    "personal_sign": {"private_key": KEY0, "address": Account.from_key(KEY0).address, "vectors": signed},
}, sys.stdout, indent=2, ensure_ascii=False)
print()
