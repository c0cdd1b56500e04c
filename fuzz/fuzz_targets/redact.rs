#![no_main]
//! Any text through the sale vault's detectors: no panic, spans sorted, disjoint, on char
//! boundaries and inside the text, and the preview is valid UTF-8 that keeps every byte outside
//! the spans.
use keybot_redact::{Options, detect, render};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // The seller's own address, taken from the input when it has 20 bytes to spare.
    let mut options = Options::default();
    if let Some(own) = data.get(..20) {
        options.own_addresses.push(own.try_into().expect("20 bytes"));
    }
    let spans = detect(&text, &options);
    let mut at = 0;
    for s in &spans {
        assert!(s.start >= at, "sorted and disjoint");
        assert!(s.start < s.end && s.end <= text.len(), "inside the text, not empty");
        assert!(text.is_char_boundary(s.start) && text.is_char_boundary(s.end));
        at = s.end;
    }
    let out = render(&text, &spans);
    assert!(std::str::from_utf8(out.as_bytes()).is_ok());
    // What lies between the spans is kept, byte for byte, in order.
    let mut rest = out.as_str();
    let mut at = 0;
    for s in &spans {
        let kept = &text[at..s.start];
        assert!(rest.starts_with(kept));
        rest = &rest[kept.len()..];
        let marker = format!("[{}]", s.kind.label());
        assert!(rest.starts_with(&marker));
        rest = &rest[marker.len()..];
        at = s.end;
    }
    assert_eq!(rest, &text[at..]);
});
