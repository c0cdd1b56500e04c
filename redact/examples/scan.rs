use std::io::Read;
fn main() {
    let mut b = Vec::new();
    std::io::stdin().read_to_end(&mut b).unwrap();
    let s = String::from_utf8_lossy(&b).into_owned();
    let spans = keybot_redact::detect(&s, &Default::default());
    for sp in &spans {
        let lo = s[..sp.start].char_indices().rev().nth(20).map_or(0, |x| x.0);
        let hi = s[sp.end..].char_indices().nth(20).map_or(s.len(), |x| sp.end + x.0);
        println!("{:?}: {:?}   ctx {:?}", sp.kind, &s[sp.start..sp.end], &s[lo..hi]);
    }
    eprintln!("{} spans over {} bytes", spans.len(), s.len());
}
