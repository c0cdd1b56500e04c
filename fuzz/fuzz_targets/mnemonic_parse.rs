#![no_main]
//! Any text typed or pasted as a phrase: parsing never panics, and whatever parses round-trips.
use keybot_keystore::Phrase;
use keybot_keystore::mnemonic::check_word;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // A few words through the checker (an unknown word costs a scan of the word list for a
    // suggestion, by design); the parse below checks every word up to the first unknown one.
    for w in text.split_whitespace().take(3) {
        let _ = check_word(w);
    }
    if let Ok(p) = Phrase::parse(text) {
        let again = Phrase::parse(&p.to_phrase_string()).expect("a parsed phrase parses again");
        assert_eq!(*again.entropy(), *p.entropy());
    }
});
