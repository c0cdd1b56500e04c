//! Street addresses where they are recognisable:
//! - house number first (English, French): `221B Baker Street`, `1600 Pennsylvania Avenue NW`,
//!   `350 5th Ave`, `12 rue de la Paix`, `5 avenue des Champs-Élysées`;
//! - street first (German): `Hauptstraße 5`, `Musterstr. 12a`, `Berliner Straße 10`,
//!   `Am Birkenweg 3`;
//!
//! then, on the same line after a comma or on the next line, a postcode and city
//! (`10115 Berlin`, `75002 Paris`), a city and state with ZIP (`Washington, DC 20500`), a city and
//! a UK postcode (`London NW1 6XE`), or on the same line a city alone. A number followed by
//! ordinary words ("5 minutes", "3 Big Macs") has no street word and is kept; the street words of
//! English addresses count only capitalised, after a capitalised name.

use crate::scan::word_start;
use crate::{Kind, Span};

const EN_STREET: &[&str] = &[
    "Street",
    "St",
    "Road",
    "Rd",
    "Avenue",
    "Ave",
    "Lane",
    "Ln",
    "Boulevard",
    "Blvd",
    "Drive",
    "Dr",
    "Court",
    "Ct",
    "Way",
    "Place",
    "Pl",
    "Terrace",
    "Crescent",
    "Parkway",
    "Pkwy",
    "Highway",
    "Hwy",
    "Square",
    "Sq",
    "Close",
    "Row",
    "Mews",
    "Gardens",
    "Grove",
];
const EN_DIRECTION: &[&str] = &["N", "S", "E", "W", "NE", "NW", "SE", "SW"];
const FR_STREET: &[&str] = &[
    "rue",
    "avenue",
    "av",
    "boulevard",
    "bd",
    "place",
    "chemin",
    "allée",
    "impasse",
    "quai",
    "route",
    "cours",
];
const FR_JOINER: &[&str] = &[
    "de", "du", "des", "la", "le", "les", "et", "sur", "aux", "en",
];
/// German street words, as the end of the street's name (`Hauptstraße`) or a word of their own
/// (`Berliner Straße`). `str` only with its full stop.
const DE_STREET: &[&str] = &[
    "straße", "strasse", "str", "weg", "gasse", "allee", "platz", "damm", "ufer", "chaussee",
    "steig", "pfad",
];

/// Words that begin German street names before the street word: `Am Birkenweg`, `Alte Gasse`.
const DE_LEADING: &[&str] = &[
    "Am", "An", "Im", "Auf", "Zum", "Zur", "Unter", "Hinter", "Alte", "Alter", "Neue", "Neuer",
    "Große", "Kleine", "Obere", "Untere",
];

pub(crate) fn find(text: &str, out: &mut Vec<Span>) {
    let t = text.as_bytes();
    let mut i = 0;
    while i < t.len() {
        let b = t[i];
        if b.is_ascii_digit() && house_number_start(t, i) {
            if let Some(end) = number_first(text, i) {
                out.push(Span {
                    start: i,
                    end,
                    kind: Kind::StreetAddress,
                });
                i = end;
                continue;
            }
            i = skip_token(t, i);
            continue;
        }
        if is_letter(b) && word_start(t, i) && (i == 0 || t[i - 1] < 0x80) {
            let w_end = word_end(t, i);
            // Only a capitalised word starts a street's name (checked on the byte first: this
            // runs for every word).
            let may_be_capital = b.is_ascii_uppercase() || b >= 0x80;
            if may_be_capital && let Some((start, end)) = street_first(text, i, w_end) {
                out.push(Span {
                    start,
                    end,
                    kind: Kind::StreetAddress,
                });
                i = end;
                continue;
            }
            i = w_end.max(i + 1);
            continue;
        }
        i += 1;
    }
}

fn is_letter(b: u8) -> bool {
    b.is_ascii_alphabetic() || b >= 0x80
}

fn skip_token(t: &[u8], mut i: usize) -> usize {
    i += 1;
    while i < t.len() && t[i].is_ascii_alphanumeric() {
        i += 1;
    }
    i
}

fn house_number_start(t: &[u8], i: usize) -> bool {
    i == 0
        || matches!(
            t[i - 1],
            b' ' | b'\t' | b'\n' | b'\r' | b'(' | b'"' | b'\'' | b':' | b','
        )
}

/// The end of the word at `i`: letters (any script), inner hyphens and apostrophes.
fn word_end(t: &[u8], i: usize) -> usize {
    let mut j = i;
    while j < t.len() {
        let inner_mark =
            matches!(t[j], b'-' | b'\'') && t.get(j + 1).is_some_and(|&c| is_letter(c)) && j > i;
        if !(is_letter(t[j]) || inner_mark) {
            break;
        }
        j += 1;
    }
    j
}

fn capitalised(text: &str, i: usize) -> bool {
    text[i..].chars().next().is_some_and(char::is_uppercase)
}

/// A name word may have an uppercase letter after an apostrophe: `l'Église`, `d'Orsay`.
fn name_like(text: &str, i: usize, e: usize) -> bool {
    capitalised(text, i)
        || text[i..e]
            .find('\'')
            .is_some_and(|q| capitalised(text, i + q + 1))
}

fn eq_any(word: &str, list: &[&str]) -> bool {
    list.iter().any(|w| w.eq_ignore_ascii_case(word))
}

/// After a word at `e`: one space, the position after it (same line only).
fn one_space(t: &[u8], e: usize) -> Option<usize> {
    (t.get(e) == Some(&b' ')).then_some(e + 1)
}

/// `221B Baker Street`, `12 rue de la Paix`: the house number at `s`.
fn number_first(text: &str, s: usize) -> Option<usize> {
    let t = text.as_bytes();
    let mut p = s;
    while p < t.len() && t[p].is_ascii_digit() && p - s < 6 {
        p += 1;
    }
    if p - s > 5 {
        return None;
    }
    if t.get(p).is_some_and(u8::is_ascii_alphabetic)
        && !t.get(p + 1).is_some_and(u8::is_ascii_alphanumeric)
    {
        p += 1; // 221B, 12a
    }
    if t.get(p) == Some(&b',') {
        p += 1;
    }
    let mut p = one_space(t, p)?;
    // "12 bis rue …"
    for extra in ["bis ", "ter "] {
        if t[p..].starts_with(extra.as_bytes()) {
            p += extra.len();
        }
    }
    let w = p;
    let we = word_end(t, w);
    if we == w {
        // "350 5th Ave": an ordinal as the street's name.
        return en_street(text, p);
    }
    if eq_any(&text[w..we], FR_STREET) {
        let mut e = we;
        if t.get(e) == Some(&b'.') {
            e += 1; // "av."
        }
        return fr_name(text, e).map(|e| tail(text, e));
    }
    en_street(text, p)
}

/// French: after the street word, joiners and names up to the last name (`de la Paix`).
fn fr_name(text: &str, mut e: usize) -> Option<usize> {
    let t = text.as_bytes();
    let mut last = None;
    for _ in 0..6 {
        let Some(w) = one_space(t, e) else { break };
        let we = word_end(t, w);
        if we == w {
            break;
        }
        let word = &text[w..we];
        if name_like(text, w, we) {
            last = Some(we);
        } else if !eq_any(word, FR_JOINER) && !word.starts_with("l'") && !word.starts_with("d'") {
            break;
        }
        e = we;
    }
    last
}

/// English: 1–4 capitalised names (or an ordinal), a capitalised street word, a direction.
fn en_street(text: &str, mut p: usize) -> Option<usize> {
    let t = text.as_bytes();
    for names in 0..5 {
        let (w, we) = if t.get(p).is_some_and(u8::is_ascii_digit) {
            // 5th, 42nd, 1st, 3rd
            let d = p + t[p..]
                .iter()
                .take(3)
                .take_while(|b| b.is_ascii_digit())
                .count();
            let suffix = t.get(d..d + 2)?;
            if !matches!(suffix, b"st" | b"nd" | b"rd" | b"th") || word_end(t, d + 2) != d + 2 {
                return None;
            }
            (p, d + 2)
        } else {
            (p, word_end(t, p))
        };
        if we == w || !(t[w].is_ascii_digit() || name_like(text, w, we)) {
            return None;
        }
        if names > 0 && EN_STREET.contains(&&text[w..we]) {
            let mut e = we;
            // An abbreviation's full stop ("St."), not a sentence's after "Street".
            let abbreviation =
                we - w <= 4 && !matches!(&text[w..we], "Road" | "Lane" | "Way" | "Row" | "Mews");
            if abbreviation
                && t.get(e) == Some(&b'.')
                && t.get(e + 1).is_none_or(u8::is_ascii_whitespace)
            {
                e += 1;
            }
            if let Some(d) = one_space(t, e) {
                let de = word_end(t, d);
                if de > d && EN_DIRECTION.contains(&&text[d..de]) {
                    e = de;
                }
            }
            return Some(tail(text, e));
        }
        let mut e = we;
        if we - w == 1 && t.get(e) == Some(&b'.') {
            e += 1; // "N. Main St"
        }
        p = one_space(t, e)?;
    }
    None
}

/// `Hauptstraße 5`, `Berliner Straße 10`, `Musterstr. 12a`: the word at `w..we`.
fn street_first(text: &str, w: usize, we: usize) -> Option<(usize, usize)> {
    let t = text.as_bytes();
    if !capitalised(text, w) {
        return None;
    }
    let word = &text[w..we];
    let suffix = DE_STREET.iter().find(|s| {
        word.len() >= s.len()
            && word.as_bytes()[word.len() - s.len()..].eq_ignore_ascii_case(s.as_bytes())
    })?;
    let mut e = we;
    if t.get(e) == Some(&b'.') {
        e += 1;
    } else if *suffix == "str" {
        return None;
    }
    let n = one_space(t, e)?;
    let mut p = n;
    while p < t.len() && t[p].is_ascii_digit() && p - n < 5 {
        p += 1;
    }
    if p == n || p - n > 4 {
        return None;
    }
    if t.get(p).is_some_and(u8::is_ascii_lowercase)
        && !t.get(p + 1).is_some_and(u8::is_ascii_alphanumeric)
    {
        p += 1; // 12a
    }
    if t.get(p) == Some(&b'-') && t.get(p + 1).is_some_and(u8::is_ascii_digit) {
        p += 1;
        while p < t.len() && t[p].is_ascii_digit() {
            p += 1;
        }
    }
    if t.get(p).is_some_and(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    // "Berliner Straße": the street word alone takes the capitalised word before it; "Am
    // Birkenweg": a preposition that begins street names does too.
    let mut start = w;
    if w >= 2 && t[w - 1] == b' ' {
        let mut q = w - 1;
        while q > 0 && is_letter(t[q - 1]) {
            q -= 1;
        }
        let whole = q < w - 1 && capitalised(text, q) && word_end(t, q) == w - 1;
        let before = &text[q..w - 1];
        if whole && (word.len() == suffix.len() || DE_LEADING.contains(&before)) {
            start = q;
        }
    }
    Some((start, tail(text, p)))
}

/// What may follow a street on the same line after a comma or on the next line: a postcode and
/// city, a city with a US state and ZIP or a UK postcode, or (same line) a city alone.
fn tail(text: &str, e: usize) -> usize {
    let t = text.as_bytes();
    let mut p = e;
    let comma = t.get(p) == Some(&b',');
    if comma {
        p += 1;
    }
    while t.get(p) == Some(&b' ') {
        p += 1;
    }
    let mut newline = false;
    if !comma && t.get(p) == Some(&b'\n') {
        newline = true;
        p += 1;
        while matches!(t.get(p), Some(b' ' | b'\t')) {
            p += 1;
        }
    }
    if p == e || (!comma && !newline) {
        return e;
    }
    // 10115 Berlin, 1010 Wien, 75002 Paris
    let d = p + t[p..]
        .iter()
        .take(6)
        .take_while(|b| b.is_ascii_digit())
        .count();
    if (4..=5).contains(&(d - p)) && t.get(d) == Some(&b' ') {
        if let Some(c) = city(text, d + 1) {
            return c;
        }
        return e;
    }
    if let Some(pc) = uk_postcode(t, p) {
        return pc;
    }
    // City (and floor, district…) parts separated by commas, then a state and ZIP or a UK
    // postcode: `Fifth Floor, Boston, MA 02110-1301`, `London NW1 6XE`.
    let mut q = p;
    let mut last = None;
    for _ in 0..4 {
        let Some(c) = unit(t, q).or_else(|| city(text, q)) else {
            break;
        };
        last = Some(c);
        let mut r = c;
        if t.get(r) == Some(&b',') {
            r += 1;
        }
        if t.get(r) == Some(&b' ') {
            r += 1;
            if let Some(z) = state_zip(t, r).or_else(|| uk_postcode(t, r)) {
                return z;
            }
        }
        if t.get(c) == Some(&b',') && t.get(c + 1) == Some(&b' ') {
            q = c + 2;
        } else {
            break;
        }
    }
    match last {
        // On the same line after a comma, a city alone.
        Some(c) if comma => c,
        _ => e,
    }
}

/// `Suite 330`, `Apt. 4B`, `Unit 7`, `Floor 3`, `Room 12`.
fn unit(t: &[u8], p: usize) -> Option<usize> {
    let rest = t.get(p..)?;
    let word = ["Suite ", "Apt. ", "Apt ", "Unit ", "Floor ", "Room "]
        .iter()
        .find(|w| rest.starts_with(w.as_bytes()))?;
    let d = p + word.len();
    let mut e = d;
    while e < t.len() && t[e].is_ascii_alphanumeric() && e - d < 6 {
        e += 1;
    }
    (e > d && t[d].is_ascii_digit() && !t.get(e).is_some_and(u8::is_ascii_alphanumeric))
        .then_some(e)
}

/// 1–3 capitalised words (`Berlin`, `New York`, `Saint-Étienne`).
fn city(text: &str, p: usize) -> Option<usize> {
    let t = text.as_bytes();
    let mut end = None;
    let mut q = p;
    for _ in 0..3 {
        let we = word_end(t, q);
        // A word glued to digits is a postcode's start (`NW1`), two capitals a US state (`IN`),
        // not a city's name.
        let state = we - q == 2 && t[q..we].iter().all(u8::is_ascii_uppercase);
        if we == q || !capitalised(text, q) || t.get(we).is_some_and(u8::is_ascii_digit) || state {
            break;
        }
        end = Some(we);
        match one_space(t, we) {
            Some(n) => q = n,
            None => break,
        }
    }
    end
}

/// `DC 20500`, `IL 62704-1234`.
fn state_zip(t: &[u8], p: usize) -> Option<usize> {
    let st = t.get(p..p + 3)?;
    if !(st[0].is_ascii_uppercase() && st[1].is_ascii_uppercase() && st[2] == b' ') {
        return None;
    }
    // One or two spaces before the ZIP (`MA  02110`, as old letterheads align it).
    let z = if t.get(p + 3) == Some(&b' ') {
        p + 4
    } else {
        p + 3
    };
    if !t.get(z..z + 5)?.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut e = z + 5;
    if t.get(e) == Some(&b'-')
        && t.get(e + 1..e + 5)
            .is_some_and(|z| z.iter().all(u8::is_ascii_digit))
    {
        e += 5;
    }
    (!t.get(e).is_some_and(u8::is_ascii_alphanumeric)).then_some(e)
}

/// A UK postcode: `SW1A 1AA`, `NW1 6XE`, `M1 1AE`.
fn uk_postcode(t: &[u8], p: usize) -> Option<usize> {
    let up = |q: usize| t.get(q).is_some_and(u8::is_ascii_uppercase);
    let dg = |q: usize| t.get(q).is_some_and(u8::is_ascii_digit);
    let mut q = p;
    if !up(q) {
        return None;
    }
    q += 1;
    if up(q) {
        q += 1;
    }
    if !dg(q) {
        return None;
    }
    q += 1;
    if up(q) || dg(q) {
        q += 1;
    }
    if t.get(q) != Some(&b' ') || !dg(q + 1) || !up(q + 2) || !up(q + 3) {
        return None;
    }
    let e = q + 4;
    (!t.get(e).is_some_and(u8::is_ascii_alphanumeric)).then_some(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<&str> {
        let mut out = Vec::new();
        find(text, &mut out);
        out.iter().map(|s| &text[s.start..s.end]).collect()
    }

    #[test]
    fn addresses_in_three_languages() {
        for a in [
            "221B Baker Street",
            "221B Baker Street, London NW1 6XE",
            "1600 Pennsylvania Avenue NW, Washington, DC 20500",
            "350 5th Ave",
            "42 N. Main St",
            "10 Downing Street\nLondon SW1A 2AA",
            "12 rue de la Paix, 75002 Paris",
            "5 avenue des Champs-Élysées",
            "8 place de l'Église\n69001 Lyon",
            "Hauptstraße 5",
            "Hauptstraße 5, 10115 Berlin",
            "Musterstr. 12a\n80331 München",
            "Berliner Straße 10",
            "Am Birkenweg 3-5",
            "Bahnhofstrasse 1, 8001 Zürich",
            "51 Franklin Street, Fifth Floor, Boston, MA  02110-1301",
            "59 Temple Place, Suite 330, Boston, MA  02111-1307",
            "5759 N. Guilford Ave\nIndianapolis IN 46220",
        ] {
            let t = format!("Send it to {a} please");
            assert_eq!(found(&t), [a], "{t}");
        }
    }

    #[test]
    fn numbers_and_words_that_are_no_address_are_kept() {
        for t in [
            "I walked 5 minutes down the road to 3 Big Macs",
            "In 2019 we moved. The street was quiet.",
            "take the 5 train to Main Street station",
            "room 12 on the first floor, Lane 3",
            "version 1.2 Street Fighter",
            "Spring 2024 and String 5",
            "the Weg is long",
            "12 rue",
            "Highway 61 Revisited",
            "my strategy: 5 steps",
            "12 Baker ",
            "12 Baker",
        ] {
            assert!(found(t).is_empty(), "{t}: {:?}", found(t));
        }
    }
}
