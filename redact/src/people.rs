//! People's names and places: the other people in a chat never consented to being sold.
//!
//! Candidates come from the lists (first names, surnames, places; [`crate::lists`]) and from
//! context, which decides:
//! - a **title** (`Mr`, `Dr.`, `Prof`, `Aunt`…) or a **relation** (`my wife`, `her colleague`)
//!   makes the capitalised words after it a name, listed or not;
//! - a **salutation** (`Hi Sam,`, `Thanks, Jo!`, `Dear Mrs Patel`) does the same;
//! - a **known first name** is a name, with the capitalised words that follow it ("Anna
//!   Kowalczyk"); one that is also a common word ("Will", "May", "Grace") only when a
//!   capitalised name follows, or with one of the contexts above, or as a possessive;
//! - a **listed place** is a place ("Lisbon", "New York"); one that is a common word ("Nice",
//!   "Reading") only after `in`, `near`, `from`…; and after `lives in`, `based in`, `moved to`…
//!   any capitalised words are a place;
//! - `Lake X`, `Mount X`, `X River`, `X Street` (and Road, Avenue…) are places.
//!
//! At a sentence's start every word is capitalised, so there a listed word that is also any
//! English word ("Bath", "Florence") needs context too. Months and weekdays never stand alone.
use crate::lists::{AMBIGUOUS, COMMON, FIRST, LISTS, PLACE, SURNAME, WORD, word_flags};
use crate::{Kind, Span};

const TITLES: &[&str] = &[
    "Mr",
    "Mrs",
    "Ms",
    "Miss",
    "Mx",
    "Dr",
    "Prof",
    "Professor",
    "Sir",
    "Madam",
    "Dame",
    "Lord",
    "Lady",
    "Rev",
    "Father",
    "Sister",
    "Brother",
    "Aunt",
    "Auntie",
    "Uncle",
    "Grandma",
    "Grandpa",
    "Granny",
    "Nana",
    "Herr",
    "Frau",
    "Monsieur",
    "Madame",
    "Mme",
    "Señor",
    "Señora",
    "Signor",
    "Signora",
    "Captain",
    "Coach",
    "Officer",
    "Judge",
    "Nurse",
];

const POSSESSIVES: &[&str] = &["my", "her", "his", "our", "their", "your"];

const RELATIONS: &[&str] = &[
    "wife",
    "husband",
    "son",
    "daughter",
    "mother",
    "father",
    "mom",
    "mum",
    "dad",
    "brother",
    "sister",
    "friend",
    "colleague",
    "boss",
    "neighbour",
    "neighbor",
    "doctor",
    "teacher",
    "partner",
    "boyfriend",
    "girlfriend",
    "cousin",
    "aunt",
    "uncle",
    "grandmother",
    "grandfather",
    "grandma",
    "grandpa",
    "nephew",
    "niece",
    "manager",
    "landlord",
    "landlady",
    "lawyer",
    "dentist",
    "therapist",
    "coworker",
    "classmate",
    "roommate",
    "flatmate",
    "fiancé",
    "fiancée",
    "ex",
    "kid",
    "child",
    "baby",
    "stepson",
    "stepdaughter",
    "assistant",
    "client",
    "nanny",
    "babysitter",
    "vet",
    "coach",
    "student",
    "tutor",
    "mentor",
    // People by their trade, for "the plumber, Theobald Fischer, comes at nine".
    "plumber",
    "electrician",
    "builder",
    "gardener",
    "cleaner",
    "mechanic",
    "driver",
    "courier",
    "accountant",
    "agent",
    "nurse",
    "surgeon",
    "midwife",
    "pharmacist",
    "receptionist",
    "secretary",
    "caretaker",
    "contractor",
    "architect",
    "notary",
];

/// The verbs whose object is a person ("Please tell Ugolino that…", "ask Ciriaco about it").
/// ("call" and "email" are left out: "call Kubernetes support", "email Sales".)
const ADDRESSING: &[&str] = &[
    "tell", "told", "ask", "asked", "remind", "reminded", "thank", "thanked", "invite", "invited",
    "meet", "met",
];

/// The small lower-case words inside people's names ("Sander van Suinvorde", "Marit van der
/// Laan", "Ayden le Floch", "Mr van de Leemput").
const NAME_PARTICLES: &[&str] = &[
    "van", "von", "de", "der", "den", "da", "di", "du", "del", "della", "dos", "das", "le", "la",
    "ter", "ten", "zu", "bin", "ibn", "al",
];

/// A place by the word before it ("East Dannymouth", "Port David", "New Marie"): the word after
/// it must be a listed name or place, or no English word at all ("New Year" and "North Star"
/// stay).
const COMPASS: &[&str] = &["North", "South", "East", "West", "New", "Port", "Fort"];

/// How English and Germanic place names end ("Woodborough", "Nicholasfurt", "Gordonstad",
/// "Jacksonville"): a capitalised word in no list (so no English word) that ends so is a place.
const PLACE_ENDINGS: &[&str] = &[
    "burgh", "borough", "bury", "mouth", "ville", "stad", "furt", "chester", "shire", "haven",
    "berg", "town", "land", "fort",
];

/// The articles that open many Spanish, Italian and French places' names ("La Coruña", "Las
/// Palmas", "Le Havre"): a place after `in`, `to`… when a capitalised word follows.
const ARTICLES: &[&str] = &["la", "las", "los", "el", "le", "les", "il", "lo"];

/// How French and English hyphenated place names join ("Valentin-sur-Thomas",
/// "Stratford-upon-Avon", "Southend-on-Sea", "Frankfurt-am-Main").
const PLACE_JOINS: &[&str] = &[
    "-sur-", "-sous-", "-upon-", "-on-", "-en-", "-am-", "-les-", "-lès-",
];

const SALUTATIONS: &[&str] = &[
    "hi",
    "hello",
    "hey",
    "dear",
    "thanks",
    "thank",
    "cheers",
    "regards",
    "best",
    "love",
    "bye",
    "sincerely",
    "yours",
    "morning",
    "evening",
    "congrats",
    "congratulations",
    "sorry",
];

const PREPOSITIONS: &[&str] = &[
    "in", "near", "from", "to", "at", "around", "outside", "visiting", "via", "across", "towards",
    "toward",
];

/// `lives in X`, `based in X`: the words that make any capitalised word after `in`/`to` a place.
const SETTLING: &[&str] = &[
    "live",
    "lives",
    "lived",
    "living",
    "based",
    "born",
    "raised",
    "moved",
    "moving",
    "relocated",
    "relocating",
    "grew",
    "stay",
    "stays",
    "staying",
    "settled",
];

/// The small words inside place names ("Rio de Janeiro", "Frankfurt am Main", "Isle of Man").
const PARTICLES: &[&str] = &[
    "de", "da", "do", "di", "du", "del", "della", "dos", "das", "der", "den", "am", "an", "im",
    "la", "le", "el", "les", "los", "las", "of", "upon", "sur", "on", "y", "e",
];

const PLACE_BEFORE: &[&str] = &[
    "Lake", "Mount", "Mt", "Lago", "Loch", "Saint", "San", "Santa",
];
const PLACE_AFTER: &[&str] = &[
    "River",
    "Lake",
    "Valley",
    "Bay",
    "Island",
    "Islands",
    "Mountains",
    "Hills",
    "Forest",
    "Park",
    "Street",
    "Road",
    "Avenue",
    "Lane",
    "Drive",
    "Boulevard",
    "Square",
    "Terrace",
    "Crescent",
    "Parkway",
    "Highway",
    "Close",
    "Gardens",
    "Grove",
    "Way",
];

/// A word of the text: letters and digits, with an apostrophe or hyphen inside ("O'Brien",
/// "Anne-Marie").
#[derive(Clone, Copy, Debug)]
struct Tok {
    start: usize,
    end: usize,
    /// It starts with an upper-case letter: the only words looked at closely.
    upper: bool,
}

/// The words of `text` into `out` (cleared first; its capacity is reused line after line).
fn tokens_into(text: &str, out: &mut Vec<Tok>) {
    out.clear();
    let t = text.as_bytes();
    // The current word's start and whether it starts upper-case.
    let mut start: Option<(usize, bool)> = None;
    let mut i = 0;
    let alnum_after = |j: usize| {
        t.get(j).is_some_and(|b| {
            b.is_ascii_alphanumeric()
                || (*b >= 0x80 && text[j..].chars().next().is_some_and(char::is_alphanumeric))
        })
    };
    while i < t.len() {
        let b = t[i];
        // A run of ASCII letters and digits in one go: most of a chat.
        if b.is_ascii_alphanumeric() {
            if start.is_none() {
                start = Some((i, b.is_ascii_uppercase()));
            }
            i += 1;
            while i < t.len() && t[i].is_ascii_alphanumeric() {
                i += 1;
            }
            continue;
        }
        let (alnum, upper, len) = if b < 0x80 {
            (false, false, 1)
        } else {
            let c = text[i..].chars().next().unwrap_or(' ');
            (c.is_alphanumeric(), c.is_uppercase(), c.len_utf8())
        };
        if alnum {
            if start.is_none() {
                start = Some((i, upper));
            }
        } else {
            // An apostrophe or hyphen inside a word ("O'Brien", "Anne-Marie").
            let inner = start.is_some()
                && (b == b'\''
                    || b == b'-'
                    || (b == 0xE2 && t[i + 1..].starts_with(&[0x80, 0x99])))
                && alnum_after(i + len);
            if !inner && let Some((s, upper)) = start.take() {
                out.push(Tok {
                    start: s,
                    end: i,
                    upper,
                });
            }
        }
        i += len;
    }
    if let Some((s, upper)) = start {
        out.push(Tok {
            start: s,
            end: text.len(),
            upper,
        });
    }
}

#[cfg(test)]
fn tokens(text: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    tokens_into(text, &mut out);
    out
}

/// One line of the text and its words: no rule looks past a line's end (a new line starts a
/// sentence, and a name's or a place's parts are joined by spaces).
struct Ctx<'a> {
    text: &'a str,
    toks: &'a [Tok],
    /// Per word: its list bits and the word after the end of the listed phrase it starts.
    hits: &'a [(u8, u32)],
}

impl<'a> Ctx<'a> {
    fn word(&self, i: usize) -> &'a str {
        &self.text[self.toks[i].start..self.toks[i].end]
    }

    /// The word without a possessive `'s`.
    fn bare(&self, i: usize) -> &'a str {
        let w = self.word(i);
        w.strip_suffix("'s")
            .or_else(|| w.strip_suffix("’s"))
            .unwrap_or(w)
    }

    fn possessive(&self, i: usize) -> bool {
        self.bare(i).len() != self.word(i).len()
    }

    /// What lies between word `i - 1` and word `i` (the text before the first word for 0).
    fn gap(&self, i: usize) -> &'a str {
        let from = if i == 0 { 0 } else { self.toks[i - 1].end };
        &self.text[from..self.toks[i].start]
    }

    /// Capitalised: an upper-case letter, then not only upper-case letters ("Anna", "O'Brien",
    /// "J"; not "NASA").
    fn capitalised(&self, i: usize) -> bool {
        if !self.toks[i].upper {
            return false;
        }
        let mut cs = self.word(i).chars();
        cs.next();
        let rest = cs.as_str();
        rest.is_empty() || !rest.chars().all(|c| c.is_uppercase() || !c.is_alphabetic())
    }

    /// Word `i` begins a sentence (or a line, a list item, a quote): there every word is
    /// capitalised, so capitals say nothing.
    fn sentence_start(&self, i: usize) -> bool {
        if i == 0 {
            return true;
        }
        let gap = self.gap(i);
        gap.contains('\n')
            || gap
                .trim_end_matches(|c: char| c.is_whitespace() || "\"'“‘*_([`>#-".contains(c))
                .ends_with(['.', '!', '?', ':', ';'])
    }

    /// Only spaces between words `i - 1` and `i` (a name's parts, "my wife Anna").
    fn spaced(&self, i: usize) -> bool {
        i > 0 && !self.gap(i).is_empty() && self.gap(i).chars().all(|c| c == ' ')
    }

    fn lower_is(&self, i: usize, set: &[&str]) -> bool {
        let w = self.word(i);
        set.iter().any(|s| s.eq_ignore_ascii_case(w))
    }

    fn is_title(&self, i: usize) -> bool {
        let w = self.word(i);
        TITLES.contains(&w) || (self.lower_is(i, &["aunt", "uncle", "grandma", "grandpa"]))
    }

    /// Word `i` comes right after a title ("Dr. Patel", "Aunt May").
    fn after_title(&self, i: usize) -> bool {
        i > 0 && self.is_title(i - 1) && matches!(self.gap(i), " " | ". ")
    }

    /// "my wife Anna", "her colleague, Tom", "the plumber, Theobald Fischer,".
    fn after_relation(&self, i: usize) -> bool {
        i > 1
            && self.lower_is(i - 1, RELATIONS)
            && ((self.lower_is(i - 2, POSSESSIVES) && matches!(self.gap(i), " " | ", "))
                || (self.lower_is(i - 2, &["the"]) && self.gap(i) == ", "))
    }

    /// "Hi Sam,", "Thanks, Jo!", "Thank you Maria." (a salutation opening its sentence, and
    /// punctuation or the end right after the name).
    fn saluted(&self, i: usize) -> bool {
        if i == 0 || !matches!(self.gap(i), " " | ", ") {
            return false;
        }
        let opener = (self.lower_is(i - 1, SALUTATIONS) && self.sentence_start(i - 1))
            || (i > 1
                && self.lower_is(i - 1, &["you"])
                && self.lower_is(i - 2, &["thank"])
                && self.sentence_start(i - 2));
        let after = &self.text[self.toks[i].end..];
        opener && (after.is_empty() || after.starts_with([',', '!', '.', ':', '\n', '?', ';']))
    }

    /// ", Mark." — after a comma, and the sentence ends right after the word.
    fn vocative(&self, i: usize) -> bool {
        let after = &self.text[self.toks[i].end..];
        i > 0
            && self.gap(i) == ", "
            && (after.is_empty() || after.starts_with(['.', '!', '?', '\n']))
    }

    fn after_preposition(&self, i: usize) -> bool {
        i > 0 && self.lower_is(i - 1, PREPOSITIONS) && self.gap(i) == " "
    }

    /// "lives in X", "based in X", "moved to X", "grew up in X".
    fn settled(&self, i: usize) -> bool {
        if i < 2 || !self.lower_is(i - 1, &["in", "to", "near"]) || self.gap(i) != " " {
            return false;
        }
        self.lower_is(i - 2, SETTLING)
            || (i > 2 && self.lower_is(i - 2, &["up"]) && self.lower_is(i - 3, &["grew", "grow"]))
    }

    /// The list flags of word `i` as a whole word (a possessive `'s` aside).
    fn flags(&self, i: usize) -> u8 {
        self.hits[i].0
    }

    /// A capitalised word that can be part of a name after its first part: listed as a name or
    /// unlisted; never a month, a weekday or a common word used as one.
    fn name_part(&self, i: usize) -> bool {
        if !self.capitalised(i) || self.sentence_start(i) {
            return false;
        }
        let w = self.bare(i);
        let f = self.flags(i);
        if f & (FIRST | SURNAME) != 0 {
            return !is_calendar(w);
        }
        // A town's name that is no English word is a surname as often ("Dante Desio", "Fidel
        // Agudo"); "Bath" or "Nice" after a first name is not.
        f & (AMBIGUOUS | WORD) == 0 && !TITLES.contains(&w)
    }

    /// Word `j` and the single-spaced words after it are a name's particles ("van der"), and a
    /// capitalised word that is no common English word follows them: the end after that word.
    fn particles_then_name(&self, j: usize) -> Option<usize> {
        let n = self.toks.len();
        let mut k = j;
        while k < n
            && k < j + 3
            && (k == j || self.spaced(k))
            && !self.toks[k].upper
            && NAME_PARTICLES.contains(&self.word(k))
        {
            k += 1;
        }
        let last = k > j
            && k < n
            && self.spaced(k)
            && self.capitalised(k)
            && self.flags(k) & (COMMON | AMBIGUOUS) == 0
            && !is_calendar(self.word(k));
        last.then_some(k + 1)
    }

    /// A listed first name or surname that is no common English word ("Maurice", "Roldán";
    /// not "Will").
    fn listed_name(&self, i: usize) -> bool {
        let f = self.flags(i);
        f & (FIRST | SURNAME) != 0 && f & AMBIGUOUS == 0 && !is_calendar(self.bare(i))
    }
}

/// A capitalised word in no list that is shaped like a place's name: an English or Germanic
/// ending ("Woodborough"), or a French or English join ("Valentin-sur-Thomas").
fn shaped_like_a_place(c: &Ctx, i: usize) -> bool {
    if c.flags(i) != 0 || !c.capitalised(i) {
        return false;
    }
    let w = c.bare(i).as_bytes();
    let ends = |e: &str| {
        w.len() >= e.len() + 3 && w[w.len() - e.len()..].eq_ignore_ascii_case(e.as_bytes())
    };
    PLACE_ENDINGS.iter().any(|e| ends(e))
        || (w.contains(&b'-') && {
            let lower = c.bare(i).to_lowercase();
            PLACE_JOINS.iter().any(|j| lower.contains(j))
        })
}

/// An unlisted capitalised word that is no common English word ("Ugolino", "Colmschate"): what
/// context may make a name or a place.
fn rare(c: &Ctx, i: usize) -> bool {
    let w = c.bare(i);
    c.capitalised(i)
        && w.chars().count() >= 3
        && !is_calendar(w)
        && !TITLES.contains(&w)
        && c.flags(i) & (COMMON | AMBIGUOUS | WORD) == 0
}

fn is_calendar(w: &str) -> bool {
    matches!(
        w,
        "January"
            | "February"
            | "March"
            | "April"
            | "May"
            | "June"
            | "July"
            | "August"
            | "September"
            | "October"
            | "November"
            | "December"
            | "Monday"
            | "Tuesday"
            | "Wednesday"
            | "Thursday"
            | "Friday"
            | "Saturday"
            | "Sunday"
    )
}

pub(crate) fn find(text: &str, found: &mut Vec<Span>) {
    // Line by line, with the word buffers reused: a long export never holds a word list of its
    // whole length, and a line without a capital letter (most of a log, code, numbers) is passed
    // over at the speed of a byte scan.
    let mut toks = Vec::new();
    let mut hits = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let from = offset;
        offset += line.len();
        if !line.bytes().any(|b| b.is_ascii_uppercase() || b >= 0x80) {
            continue;
        }
        let line = line.strip_suffix('\n').unwrap_or(line);
        tokens_into(line, &mut toks);
        hits_into(line, &toks, &mut hits);
        let ctx = Ctx {
            text: line,
            toks: &toks,
            hits: &hits,
        };
        find_in_line(&ctx, from, found);
    }
}

fn find_in_line(ctx: &Ctx, from: usize, found: &mut Vec<Span>) {
    let n = ctx.toks.len();
    let mut i = 0;
    while i < n {
        if !ctx.toks[i].upper {
            i += 1;
            continue;
        }
        // "Mr van de Leemput": the title stays, the particles go with the name.
        let titled = (i + 1 < n
            && !ctx.toks[i + 1].upper
            && ctx.is_title(i)
            && matches!(ctx.gap(i + 1), " " | ". "))
        .then(|| ctx.particles_then_name(i + 1))
        .flatten();
        let found_here = match titled {
            Some(end) => Some((i + 1, end, Kind::Name)),
            None => at(ctx, i).map(|(end, kind)| (i, end, kind)),
        };
        if let Some((first, end, kind)) = found_here {
            let (start, stop) = (from + ctx.toks[first].start, from + ctx.toks[end - 1].end);
            // The parts of one name or place found one by one ("Dante" "Desio") are one span.
            match found.last_mut() {
                Some(last)
                    if last.kind == kind
                        && last.end >= from
                        && last.end <= start
                        && &ctx.text[last.end - from..start - from] == " " =>
                {
                    last.end = stop;
                }
                _ => found.push(Span {
                    start,
                    end: stop,
                    kind,
                }),
            }
            i = end;
        } else {
            i += 1;
        }
    }
}

/// For each capitalised word: its own bits (a possessive `'s` aside), and the word after the
/// end of the longest listed phrase that starts with it (0 when none does). Other words are never
/// looked up.
fn hits_into(text: &str, toks: &[Tok], hits: &mut Vec<(u8, u32)>) {
    use aho_corasick::{Anchored, Input};
    let t = text.as_bytes();
    hits.clear();
    hits.resize(toks.len(), (0, 0));
    for (i, tok) in toks.iter().enumerate() {
        if !tok.upper {
            continue;
        }
        let word = &text[tok.start..tok.end];
        let bare = word
            .strip_suffix("'s")
            .or_else(|| word.strip_suffix("’s"))
            .unwrap_or(word);
        hits[i].0 = word_flags(bare);
        // A phrase only where a second word follows after one space, capitalised or a short
        // particle ("New York", "Rio de Janeiro", "Frankfurt am Main").
        let Some(next) = toks.get(i + 1) else {
            continue;
        };
        if next.start != tok.end + 1
            || t[tok.end] != b' '
            || !(next.upper || PARTICLES.contains(&&text[next.start..next.end]))
        {
            continue;
        }
        let Some(ac) = &LISTS.phrases else { continue };
        let input = Input::new(text)
            .span(tok.start..text.len())
            .anchored(Anchored::Yes);
        if let Ok(Some(m)) = ac.try_find(input)
            && let Some(j) = toks[i..]
                .iter()
                .position(|t| t.end >= m.end())
                .map(|k| i + k)
            && toks[j].end == m.end()
        {
            hits[i].1 = u32::try_from(j + 1).unwrap_or(0);
            hits[i].0 |= LISTS.phrase_flags[m.pattern().as_usize()] & PLACE;
        }
    }
}

/// The name or place that starts at word `i`: where it ends (exclusive, in words) and its kind.
fn at(c: &Ctx, i: usize) -> Option<(usize, Kind)> {
    if !c.capitalised(i) {
        return None;
    }
    let word = c.bare(i);
    // A title stays (it says little); the name after it goes.
    if word.chars().count() < 2 || c.is_title(i) {
        return None;
    }
    let flags = c.flags(i);
    // Most capitalised words start a sentence and are common words ("The", "It"): nothing can
    // make them a name or a place but a context before them, a capital after them or a listed
    // phrase they start ("Isle of Man"). Asked first: it settles most capitalised words.
    let lone = flags & (FIRST | SURNAME | PLACE) == 0 && flags & (COMMON | WORD | AMBIGUOUS) != 0;
    if lone
        && c.hits[i].1 == 0
        && !(i + 1 < c.toks.len() && c.toks[i + 1].upper)
        && !(i > 0 && c.toks[i - 1].upper)
        && !(i > 1 && c.lower_is(i - 2, POSSESSIVES))
    {
        return None;
    }
    // Places first where the words say so, or a listed place of several words ("New York",
    // "Rio de Janeiro").
    if let Some(end) = place_phrase(c, i) {
        return Some((end, Kind::Place));
    }
    let listed = place_end(c, i);
    if listed > i + 1 {
        return Some((listed, Kind::Place));
    }
    // "East Dannymouth", "Port David", "New Marie": before a listed name or place, or a word in
    // no list ("New Year", "North Star" stay).
    if COMPASS.contains(&word) && i + 1 < c.toks.len() && c.spaced(i + 1) && c.capitalised(i + 1) {
        let f = c.flags(i + 1);
        let named = f & (FIRST | SURNAME | PLACE) != 0 && f & AMBIGUOUS == 0;
        if f == 0 || (named && !is_calendar(c.bare(i + 1))) {
            return Some((i + 2, Kind::Place));
        }
    }
    let calendar = is_calendar(word);
    let start_of_sentence = c.sentence_start(i);
    let common = flags & AMBIGUOUS != 0 || (start_of_sentence && flags & WORD != 0);
    // The contexts that make a name of any capitalised word.
    // ("Aunt May": after a title even a month is a name.)
    let named_by_context = c.after_title(i) || (!calendar && c.after_relation(i));
    if named_by_context {
        return Some((name_end(c, i), Kind::Name));
    }
    if shaped_like_a_place(c, i) {
        return Some((i + 1, Kind::Place));
    }
    // An unlisted word after a salutation only when a comma follows ("Hi Sam," but not
    // "Thanks Linux!").
    let comma_after = c.text[c.toks[i].end..].starts_with(',');
    let comma_before = c.gap(i) == ", ";
    if !calendar
        && c.saluted(i)
        && (c.flags(i) & FIRST != 0 || comma_after || (comma_before && rare(c, i)))
        && !c.lower_is(i, &["all", "everyone", "team", "guys"])
    {
        return Some((name_end(c, i), Kind::Name));
    }
    // Addressed at the end of a sentence: "See you on Friday, Mark.", "See you, Gereon."
    if !calendar && (c.flags(i) & FIRST != 0 || rare(c, i)) && c.vocative(i) {
        return Some((i + 1, Kind::Name));
    }
    // The person "tell", "ask" or "invite" take: "Please tell Ugolino that the car is ready."
    if !start_of_sentence && c.gap(i) == " " && c.lower_is(i - 1, ADDRESSING) && rare(c, i) {
        return Some((name_end(c, i), Kind::Name));
    }
    // A place after `lives in`, `based in`: listed or not.
    if c.settled(i) && !calendar && !c.lower_is(i, &["English", "French", "German", "Spanish"]) {
        let mut end = place_end(c, i);
        while end < c.toks.len()
            && end < i + 4
            && c.spaced(end)
            && c.capitalised(end)
            && !is_calendar(c.word(end))
        {
            end += 1;
        }
        return Some((end, Kind::Place));
    }
    by_list_or_neighbours(c, i, common)
}

/// The rest of [`at`]: word `i` (capitalised, no title, no context before it that names it)
/// by its lists and its neighbours. `common`: it is a common word here, or any English word
/// where a sentence starts.
fn by_list_or_neighbours(c: &Ctx, i: usize, common: bool) -> Option<(usize, Kind)> {
    let word = c.bare(i);
    let flags = c.flags(i);
    let calendar = is_calendar(word);
    let start_of_sentence = c.sentence_start(i);
    // A listed place, after a preposition when it is also a common word.
    let place_here = flags & PLACE != 0 && !calendar && (c.after_preposition(i) || !common);
    let first_here = flags & FIRST != 0 && !calendar;
    let followed = i + 1 < c.toks.len() && c.spaced(i + 1) && c.name_part(i + 1);
    // A first name with a surname after it is a name, even where a town has the same name
    // ("to Anna Kowalczyk").
    if first_here && (followed || (common && c.possessive(i))) {
        return Some((name_end(c, i), Kind::Name));
    }
    if place_here && word.chars().count() >= 3 {
        // After `in`, `to`…, the rest of a longer name too ("to Winterswijk Meddo").
        let end = place_end(c, i);
        let end = if c.after_preposition(i) {
            place_rest(c, end, i + 4)
        } else {
            end
        };
        return Some((end, Kind::Place));
    }
    if first_here && !common && word.chars().count() >= 3 {
        return Some((name_end(c, i), Kind::Name));
    }
    // A word before a listed name: one in no list ("Christelle Maurice", "Ainoa Bas"), or
    // mid-sentence one that is no common English word ("with Albino Roldán").
    let before_name = !calendar
        && i + 1 < c.toks.len()
        && c.spaced(i + 1)
        && c.capitalised(i + 1)
        && c.listed_name(i + 1)
        && (rare(c, i) || (!start_of_sentence && flags & (COMMON | AMBIGUOUS) == 0));
    if before_name {
        return Some((name_end(c, i), Kind::Name));
    }
    // Two or three rare capitalised words in a row are a person's name ("Romolo Norbiato",
    // "Thies Fröhlich"), unless a preposition makes them a place.
    let pair = rare(c, i) && i + 1 < c.toks.len() && c.spaced(i + 1) && rare(c, i + 1);
    if pair {
        let mut end = i + 2;
        while end < c.toks.len() && end < i + 3 && c.spaced(end) && rare(c, end) {
            end += 1;
        }
        let kind = if c.after_preposition(i) {
            Kind::Place
        } else {
            Kind::Name
        };
        return Some((end, kind));
    }
    // A rare capitalised word after `in`, `to`, `near`… mid-sentence is a place ("drove to
    // Marsdenmouth"); at a sentence's start ("In Ugolino's…") it says nothing.
    if rare(c, i) && c.after_preposition(i) && !c.sentence_start(i - 1) {
        return Some((place_rest(c, i + 1, i + 4), Kind::Place));
    }
    // An article opening a place's name, after `in`, `to`…: "to La Coruña", "in Las Palmas".
    if c.lower_is(i, ARTICLES)
        && c.after_preposition(i)
        && !c.sentence_start(i - 1)
        && i + 1 < c.toks.len()
        && c.spaced(i + 1)
        && (rare(c, i + 1) || c.flags(i + 1) & PLACE != 0)
    {
        return Some((place_rest(c, place_end(c, i + 1), i + 5), Kind::Place));
    }
    None
}

/// A place's name goes on from word `end` (up to word `limit`): over capitalised words that are
/// no English words, and over particles before one ("Santa Cruz de Tenerife", "Borgonuovo Di
/// Neive").
fn place_rest(c: &Ctx, mut end: usize, limit: usize) -> usize {
    let n = c.toks.len();
    while end < n && end < limit && c.spaced(end) {
        if rare(c, end) {
            end += 1;
            continue;
        }
        // One particle, any case, then such a word.
        let after = end + 1;
        if c.lower_is(end, PARTICLES)
            && c.word(end).len() <= 4
            && after < n
            && after < limit
            && c.spaced(after)
            && rare(c, after)
        {
            end = after + 1;
            continue;
        }
        break;
    }
    end
}

/// The name's last word + 1: its first part, then capitalised name parts after single spaces
/// (at most four in all), each perhaps after particles ("Marit van der Laan").
fn name_end(c: &Ctx, i: usize) -> usize {
    let mut end = i + 1;
    let mut parts = 1;
    while end < c.toks.len() && parts < 4 && !c.possessive(end - 1) {
        if c.spaced(end) && c.name_part(end) {
            end += 1;
        } else if c.spaced(end)
            && let Some(after) = c.particles_then_name(end)
        {
            end = after;
        } else {
            break;
        }
        parts += 1;
    }
    end
}

/// A place's last word + 1: "New York" is one list entry; unlisted, capitalised words after
/// single spaces that are not common words ("Bad Homburg", "Santa Cruz de Tenerife").
fn place_end(c: &Ctx, i: usize) -> usize {
    match c.hits[i] {
        (f, end) if f & PLACE != 0 && end as usize > i + 1 => end as usize,
        _ => i + 1,
    }
}

/// `Lake Geneva`, `Mount Rainier`, `Hudson River`, `Elm Street`: a place by its own words.
fn place_phrase(c: &Ctx, i: usize) -> Option<usize> {
    let n = c.toks.len();
    if PLACE_BEFORE.contains(&c.word(i))
        && i + 1 < n
        && c.spaced(i + 1)
        && c.capitalised(i + 1)
        && !c.sentence_start(i + 1)
    {
        let mut end = i + 2;
        while end < n
            && end < i + 4
            && c.spaced(end)
            && c.capitalised(end)
            && !PLACE_AFTER.contains(&c.word(end))
        {
            end += 1;
        }
        return Some(place_rest(c, end, i + 6));
    }
    // One or two capitalised words, then the place word.
    for len in 1..=2 {
        let j = i + len;
        if j >= n || !PLACE_AFTER.contains(&c.word(j)) {
            continue;
        }
        let parts =
            (i..j).all(|k| c.capitalised(k) && (k == i || c.spaced(k)) && !is_calendar(c.word(k)));
        if parts && c.spaced(j) && !c.is_title(i) {
            return Some(j + 1);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(text: &str) -> String {
        let mut found = Vec::new();
        find(text, &mut found);
        crate::render(text, &crate::merge(found))
    }

    #[test]
    fn names_by_list_and_by_context() {
        for (text, want) in [
            // A known first name, with the capitalised words after it.
            ("I met Anna Kowalczyk yesterday.", "I met [name] yesterday."),
            (
                "Winston Smith slipped through the doors.",
                "[name] slipped through the doors.",
            ),
            // Titles and relations name any capitalised word.
            ("Dr. Okonkwo will call.", "Dr. [name] will call."),
            ("Ask Mrs Patel about it.", "Ask Mrs [name] about it."),
            (
                "my neighbour Zbigniew fixed it",
                "my neighbour [name] fixed it",
            ),
            ("her colleague, Tomasz, left", "her colleague, [name], left"),
            ("Aunt May sends her love", "Aunt [name] sends her love"),
            // Salutations.
            ("Hi Sam, are you in?", "Hi [name], are you in?"),
            ("Thanks, Jo!", "Thanks, [name]!"),
            ("Thank you Maria.", "Thank you [name]."),
            // A common word is a name only with context.
            ("Will Smith was there", "[name] was there"),
            ("Grace Hopper wrote it", "[name] wrote it"),
            ("Will's car is red", "[name] car is red"),
            ("I will go. Will you?", "I will go. Will you?"),
            ("We hope so. Hope is good.", "We hope so. Hope is good."),
            (
                "It was a bright cold day in April.",
                "It was a bright cold day in April.",
            ),
            ("See you on Friday, Mark.", "See you on Friday, [name]."),
            // The person "tell", "ask", "invite"… take, listed or not ("call" is left out).
            (
                "Please tell Ugolino that the car is ready.",
                "Please tell [name] that the car is ready.",
            ),
            (
                "Call Kubernetes support if it dies.",
                "Call Kubernetes support if it dies.",
            ),
            // Particles inside a name, after a first name or a title.
            (
                "I had lunch with Wessel van Velzen yesterday.",
                "I had lunch with [name] yesterday.",
            ),
            ("Mr van de Leemput signed.", "Mr [name] signed."),
            // An appositive after a trade.
            (
                "The plumber, Theobald Fischer, comes at nine.",
                "The plumber, [name], comes at nine.",
            ),
            // An unlisted word before a listed name, even where a sentence starts.
            (
                "Notes: Christelle Maurice will present.",
                "Notes: [name] will present.",
            ),
            // A name listed without its accents; a town's name as a surname: one span.
            ("Please tell Frédéric.", "Please tell [name]."),
            ("Ask Dante Desio about it.", "Ask [name] about it."),
        ] {
            assert_eq!(render(text), want, "{text}");
        }
    }

    #[test]
    fn places_by_list_and_by_context() {
        for (text, want) in [
            (
                "My parents live in Lisbon now.",
                "My parents live in [place] now.",
            ),
            ("We flew to New York.", "We flew to [place]."),
            ("She is based in Zwolle.", "She is based in [place]."),
            (
                "He grew up in Bad Kleinkirchheim.",
                "He grew up in [place].",
            ),
            (
                "We moved to Nice last year.",
                "We moved to [place] last year.",
            ),
            ("That is a nice idea.", "That is a nice idea."),
            ("Reading is fun.", "Reading is fun."),
            ("swimming in Lake Constance", "swimming in [place]"),
            ("a walk along the Hudson River", "a walk along the [place]"),
            ("she lives on Elm Street", "she lives on [place]"),
            ("I love Berlin.", "I love [place]."),
            // A compass word or Port before a name, a place or a word in no list.
            (
                "We drove to East Dannymouth last weekend.",
                "We drove to [place] last weekend.",
            ),
            ("It is in Port David.", "It is in [place]."),
            (
                "Happy New Year! Follow the North Star.",
                "Happy New Year! Follow the North Star.",
            ),
            // Shaped like a place: an ending or a join, even where a sentence starts.
            ("Woodborough was cold.", "[place] was cold."),
            ("We met in Valentin-sur-Thomas.", "We met in [place]."),
            // An article opening it, particles inside it.
            ("We drove to La Coruña.", "We drove to [place]."),
            (
                "My parents live in Santa Cruz de Tenerife.",
                "My parents live in [place].",
            ),
        ] {
            assert_eq!(render(text), want, "{text}");
        }
    }

    #[test]
    fn ordinary_capitalised_words_stay() {
        for text in [
            "The market opened lower this morning.",
            "Please send any comments before Friday.",
            "However little known the feelings may be.",
            "Add the flour. Pour in the milk. Bake for twenty minutes.",
            "I think the Rust compiler is great; Linux too.",
            "THANKS FOR ALL THE HELP",
            "Hi everyone, thanks!",
        ] {
            assert_eq!(render(text), text);
        }
    }

    #[test]
    fn words_split_at_punctuation_and_keep_inner_apostrophes() {
        let t = tokens("O'Brien, Anne-Marie (Jo) 'quoted'");
        let words: Vec<&str> = t
            .iter()
            .map(|w| &"O'Brien, Anne-Marie (Jo) 'quoted'"[w.start..w.end])
            .collect();
        assert_eq!(words, ["O'Brien", "Anne-Marie", "Jo", "quoted"]);
    }
}
