//! The sale vault through the command line: a conversation holding an e-mail, a phone number
//! and a 24-word phrase goes into the vault; `preview` prints none of the three and every other
//! byte; `keep` on the phrase is refused; `consent` is a signature that `cast wallet verify`
//! accepts for the seller's address; bad input adds nothing.
use crate::common;

use std::path::Path;

use common::{ANVIL_PHRASE, keybot, snapshot, tool};
use keybot::store::{self, NewMessage, Role, Store, Timings};
use keybot_keystore::bip85::Purpose;
use keybot_keystore::{Phrase, Wallet};

const PW: &str = "correct horse battery staple";
const EMAIL: &str = "lena.fischer@example.org";
const PHONE: &str = "+49 30 12345678";
/// A valid 24-word phrase (BIP-39 test vector); the vault does not need the checksum.
const PHRASE24: &str = "legal winner thank year wave sausage worth useful legal winner thank year wave sausage worth useful legal winner thank year wave sausage worth title";
const ACCOUNT0: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

fn market(home: &Path) -> assert_cmd::Command {
    let mut c = keybot(home);
    c.env("KEYBOT_PASSWORD", PW).arg("market");
    c
}

fn stdout(c: &mut assert_cmd::Command) -> String {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn fails(c: &mut assert_cmd::Command) -> String {
    let out = c.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "one line of error: {err}");
    err
}

/// A conversation in the home's store, written as the app writes it.
fn conversation(home: &Path) -> i64 {
    let wallet = Wallet::new(Phrase::parse(ANVIL_PHRASE).unwrap(), "").unwrap();
    let key = wallet.purpose_key(Purpose::Database).unwrap();
    let mut store = Store::open(&home.join("data").join(store::FILE_NAME), &key).unwrap();
    let c = store
        .create_conversation("Moving to Berlin", "", "")
        .unwrap();
    let mut say = |role, text: &str| {
        store
            .add_message(
                c.id,
                &NewMessage {
                    role,
                    text,
                    timings: Timings::default(),
                },
            )
            .unwrap();
    };
    say(
        Role::User,
        &format!(
            "I'm moving on 2025-03-01. Write to {EMAIL} or call {PHONE}.\n\
             My wallet words, keep them safe: {PHRASE24}"
        ),
    );
    say(
        Role::Assistant,
        "Congratulations on the move! Register your address within 14 days (the Anmeldung), \
         and budget about 1,200 EUR for the deposit.",
    );
    c.id
}

#[test]
fn a_conversation_is_previewed_without_its_contact_data_and_secrets_and_consented() {
    let home = common::fast_home(ANVIL_PHRASE, PW);
    let home = home.path();
    let chat = conversation(home);

    let listed = stdout(market(home).args(["chats", "--json"]));
    let chats: serde_json::Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(chats[0]["id"], chat);
    assert_eq!(chats[0]["messages"], 2);

    let added = stdout(market(home).args(["add", "--chat", &chat.to_string(), "--json"]));
    let added: serde_json::Value = serde_json::from_str(&added).unwrap();
    let id = added["id"].as_i64().unwrap().to_string();
    assert_eq!(added["title"], "Moving to Berlin");
    assert_eq!(added["redactions"]["email"], 1);
    assert_eq!(added["redactions"]["phone"], 1);
    assert_eq!(added["redactions"]["seed_phrase"], 1);
    // The town in the title is a place (the title is the item's first line).
    assert_eq!(added["redactions"]["place"], 1);

    // The preview: none of the three, each replaced by its marker, every other byte kept.
    let out = market(home).args(["preview", &id]).output().unwrap();
    assert!(out.status.success());
    let preview = String::from_utf8(out.stdout).unwrap();
    for secret in [EMAIL, PHONE, "sausage", "legal winner"] {
        assert!(
            !preview.contains(secret),
            "{secret:?} in the preview:\n{preview}"
        );
    }
    let expected = String::from(
        "Moving to [place]\n\nUser:\nI'm moving on 2025-03-01. Write to [email] or call [phone].\n\
         My wallet words, keep them safe: [seed phrase]\n\nAssistant:\nCongratulations on the \
         move! Register your address within 14 days (the Anmeldung), and budget about 1,200 EUR \
         for the deposit.\n",
    );
    assert_eq!(preview, expected);
    let summary = String::from_utf8(out.stderr).unwrap();
    assert!(
        summary.contains("1 seed phrase") && summary.contains("1 email"),
        "{summary}"
    );

    // The numbered preview names the spans; the phrase's number cannot be kept.
    let numbered = stdout(market(home).args(["preview", &id, "--numbered"]));
    let phrase_span = span_number(&numbered, "seed phrase");
    let err = fails(market(home).args(["keep", &id, &phrase_span.to_string()]));
    assert!(err.contains("secrets are always removed"), "{err}");
    assert_eq!(stdout(market(home).args(["preview", &id])), expected);

    // Consent: a signature cast accepts for account 0 over the documented statement.
    let items: serde_json::Value =
        serde_json::from_str(&stdout(market(home).args(["items", "--json"]))).unwrap();
    assert!(items[0]["consent"].is_null());
    let signature = stdout(market(home).args(["consent", &id, "--yes"]));
    let signature = signature.trim();
    let items: serde_json::Value =
        serde_json::from_str(&stdout(market(home).args(["items", "--json"]))).unwrap();
    let consent = &items[0]["consent"];
    assert_eq!(consent["valid"], true);
    assert_eq!(consent["account"], ACCOUNT0);
    assert_eq!(consent["signature"], signature);
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(expected.as_bytes()));
    assert_eq!(consent["sha256"], sha);
    let statement = format!(
        "keybot consent v1\nitem: {id}\nsha256: {sha}\ntime: {}",
        consent["time"]
    );
    if let Some(cast) = tool("cast") {
        let ok = std::process::Command::new(cast)
            .args([
                "wallet",
                "verify",
                "--address",
                ACCOUNT0,
                &statement,
                signature,
            ])
            .output()
            .unwrap();
        assert!(
            ok.status.success(),
            "cast wallet verify: {}{}",
            String::from_utf8_lossy(&ok.stdout),
            String::from_utf8_lossy(&ok.stderr)
        );
    }

    // Keeping the e-mail changes the bytes on offer and so withdraws the consent.
    let email_span = span_number(&numbered, "email");
    market(home)
        .args(["keep", &id, &email_span.to_string()])
        .assert()
        .success();
    assert!(stdout(market(home).args(["preview", &id])).contains(EMAIL));
    let items: serde_json::Value =
        serde_json::from_str(&stdout(market(home).args(["items", "--json"]))).unwrap();
    assert!(items[0]["consent"].is_null(), "{items}");

    // Text the detectors missed: removed by hand, everywhere it occurs.
    market(home)
        .args(["redact", &id, "--text", "Anmeldung"])
        .assert()
        .success();
    let preview = stdout(market(home).args(["preview", &id]));
    assert!(preview.contains("(the [redacted])"), "{preview}");

    market(home).args(["remove", &id]).assert().success();
    let err = fails(market(home).args(["preview", &id]));
    assert!(err.contains(&format!("no item {id}")), "{err}");
}

/// The number in `[N:label]` (or `[N,M:label]`) for the first marker of `label`.
fn span_number(numbered: &str, label: &str) -> usize {
    let end = numbered
        .find(&format!(":{label}]"))
        .unwrap_or_else(|| panic!("no {label} marker in {numbered}"));
    let start = numbered[..end].rfind('[').unwrap() + 1;
    numbered[start..end]
        .split(',')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn what_is_not_a_text_file_is_refused_and_nothing_is_added() {
    let home = common::fast_home(ANVIL_PHRASE, PW);
    let home = home.path();
    let files = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let p = files.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let cases = [
        (write("empty.txt", b""), "empty"),
        (
            write("image.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
            "not text",
        ),
        (write("latin1.txt", b"caf\xe9"), "not UTF-8"),
        (
            write("ansi.txt", b"red \x1b[31malert\x1b[0m"),
            "control character",
        ),
        (write("big.txt", &vec![b'a'; (1 << 20) + 1]), "1 MiB"),
        (files.path().to_owned(), "not a file"),
        (files.path().join("missing.txt"), "cannot read"),
    ];
    // The store exists before the snapshot (the first command creates it).
    stdout(market(home).arg("items"));
    let before = snapshot(home);
    for (path, why) in cases {
        let err = fails(market(home).args(["add", "--file"]).arg(&path));
        assert!(err.contains(why), "{}: {err}", path.display());
    }
    let err = fails(market(home).args(["add", "--chat", "42"]));
    assert!(err.contains("no conversation 42"), "{err}");
    assert_eq!(snapshot(home), before, "a refused add changed the home");
    let items = stdout(market(home).args(["items", "--json"]));
    assert_eq!(items.trim(), "[]");

    // A text file is taken; `--title` names it; the id is alone on standard output.
    let note = write(
        "note.txt",
        b"no secrets here, version 1.2.3, order #123456\n",
    );
    let id = stdout(
        market(home)
            .args(["add", "--file"])
            .arg(&note)
            .args(["--title", "A note"]),
    );
    assert_eq!(id.trim(), "1");
    assert_eq!(
        stdout(market(home).args(["preview", "1"])),
        "no secrets here, version 1.2.3, order #123456\n"
    );
    // A consent without --yes and without a terminal is refused before anything is signed.
    let err = fails(market(home).args(["consent", "1"]));
    assert!(err.contains("--yes"), "{err}");
}

/// A chat that names other people and places: the preview, byte for byte, has each of them
/// replaced by `[name]` or `[place]` and nothing else touched; the summary and the JSON counts
/// say so, and a name can be kept like contact data.
#[test]
fn people_and_places_in_a_chat_are_removed_and_counted() {
    let home = common::fast_home(ANVIL_PHRASE, PW);
    let home = home.path();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chat.txt");
    std::fs::write(
        &path,
        "User: My neighbour Zbigniew Kowalczyk waters the plants while we are in Lisbon.\n\
         Assistant: Say thanks to Dr. Okafor too. Will you be back by May?\n\
         User: Yes, my parents live in Ghent and we fly home on Friday. Hi Mark, see you then!\n",
    )
    .unwrap();
    let added = stdout(
        market(home)
            .args(["add", "--file"])
            .arg(&path)
            .arg("--json"),
    );
    let added: serde_json::Value = serde_json::from_str(&added).unwrap();
    assert_eq!(added["redactions"]["name"], 3, "{added}");
    assert_eq!(added["redactions"]["place"], 2, "{added}");
    let id = added["id"].as_i64().unwrap().to_string();
    let out = market(home).args(["preview", &id]).output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "User: My neighbour [name] waters the plants while we are in [place].\n\
         Assistant: Say thanks to Dr. [name] too. Will you be back by May?\n\
         User: Yes, my parents live in [place] and we fly home on Friday. Hi [name], see you then!\n"
    );
    let summary = String::from_utf8(out.stderr).unwrap();
    assert!(
        summary.contains("3 name") && summary.contains("2 place"),
        "{summary}"
    );
    // The neighbour agreed to be named: span 1 is kept, like contact data.
    stdout(market(home).args(["keep", &id, "1"]));
    let preview = stdout(market(home).args(["preview", &id]));
    assert!(
        preview.starts_with("User: My neighbour Zbigniew Kowalczyk waters"),
        "{preview}"
    );
    assert!(preview.contains("Dr. [name]"), "{preview}");
}
