//! Facts about network addresses that the chat downloads and the chain client both need.

/// Whether `url` points at this machine: `localhost`, or a loopback address (127.0.0.0/8, ::1).
/// Plain `http://` is acceptable only there: anything further can be read and rewritten on the way.
pub fn is_loopback(url: &reqwest::Url) -> bool {
    // `host_str` writes an IPv6 address in brackets.
    let host = url.host_str().unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Whether this machine has no network address at all, not even loopback, read from the
/// kernel's tables for this process's network namespace (Linux's `/proc/self/net`) without
/// opening a socket; `None` where that cannot be told. (`/sys/class/net` would not do: it shows
/// the interfaces of the namespace that mounted `/sys`.)
pub fn no_network() -> Option<bool> {
    let v4 = std::fs::read_to_string("/proc/self/net/fib_trie").ok()?;
    let v6 = std::fs::read_to_string("/proc/self/net/if_inet6").unwrap_or_default();
    Some(!v4.contains("LOCAL") && v6.trim().is_empty())
}

/// Makes ring the process's TLS crypto provider, once. Every HTTP client (the chain's RPC, model
/// downloads) is reqwest on rustls without a built-in provider, so that one TLS stack is compiled
/// (no aws-lc-rs C build next to ring); reqwest refuses to build a client before this ran.
pub fn tls() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Err only when a provider is already installed, which is just as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
