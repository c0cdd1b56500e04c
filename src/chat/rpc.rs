//! A model's layers on `rpc-server`s — llama.cpp's RPC backend on the user's other machines —
//! as they would go on a GPU (`chat --rpc`, the `model.rpc` setting).
//!
//! keybot's llama.cpp is built with ggml-rpc (`GGML_RPC` in .cargo/config.toml). llama-cpp-2
//! has no API for it, so an endpoint is added through ggml's backend registry (the
//! `keybot-llama-rpc` crate, the one place keybot calls C itself), as llama.cpp's own `--rpc`
//! does, and the devices a model loads onto are named per load ([`devices_for`]): a model loaded
//! without `--rpc` later in the same process stays on this machine.
//!
//! ggml-rpc aborts the whole process when it cannot reach a server it was given, so each
//! endpoint is first reached here with a timeout: a dead or wrong address is one line. (A server
//! that dies in the middle of an answer still takes the process down with it: ggml-rpc has no
//! other way to fail.) Only the names of devices are read, never their properties, which for an
//! RPC device means a round trip to its server.
use std::fmt;
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Mutex;
use std::time::Duration;

use keybot_llama_rpc::Kind;

/// ggml-rpc's `GGML_RPC_MAX_SERVERS`.
pub const MAX_ENDPOINTS: usize = 16;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// An `rpc-server` to put layers on: `host:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    host: String,
    port: u16,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl Endpoint {
    /// Whether it is this machine (the RPC protocol has neither encryption nor authentication).
    pub fn is_loopback(&self) -> bool {
        self.host == "localhost"
            || self
                .host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }
}

/// `host:port[,host:port…]` (an IPv6 address in brackets); empty is none. One line for
/// anything else.
pub fn parse_list(text: &str) -> Result<Vec<Endpoint>, String> {
    let mut out: Vec<Endpoint> = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let e = parse_one(part).ok_or_else(|| {
            format!(
                "rpc: {:?} is not host:port (an rpc-server's address, e.g. 192.168.1.20:50052)",
                crate::sanitize::clean_line(part)
            )
        })?;
        if !out.contains(&e) {
            out.push(e);
        }
    }
    if out.len() > MAX_ENDPOINTS {
        return Err(format!("rpc: at most {MAX_ENDPOINTS} servers"));
    }
    Ok(out)
}

fn parse_one(part: &str) -> Option<Endpoint> {
    let (host, port) = part.rsplit_once(':')?;
    let port: u16 = port.parse().ok().filter(|&p| p > 0)?;
    let host = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(v6) => v6.parse::<std::net::Ipv6Addr>().ok()?.to_string(),
        None => {
            let name_ok = !host.is_empty()
                && host.len() <= 253
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
            if !name_ok {
                return None;
            }
            host.to_owned()
        }
    };
    Some(Endpoint { host, port })
}

/// The endpoints added to ggml's registry in this process (it keeps them until exit).
static ADDED: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Adds `endpoints` to llama.cpp's devices, each reached first — on every load, added before or
/// not (a server can have gone since): one line for the first that cannot be.
pub fn attach(endpoints: &[Endpoint]) -> Result<(), String> {
    let mut added = ADDED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for e in endpoints {
        reach(e)?;
        let name = e.to_string();
        if !added.contains(&name) {
            add(&name)?;
            added.push(name);
        }
    }
    Ok(())
}

/// ggml-rpc's protocol version (`RPC_PROTO_MAJOR_VERSION`, ggml-rpc.h), its HELLO command and
/// the size of the capabilities a HELLO carries (`RPC_CONN_CAPS_SIZE`, transport.h).
const PROTO_MAJOR: u8 = 7;
const PROTO_MINOR: u8 = 0;
const CMD_HELLO: u8 = 14;
const CAPS: usize = 24;

/// `e` reached and greeted within the timeouts, as ggml-rpc will greet it, and the connection
/// closed: something else listening there, or a server of another protocol version, is one
/// line here instead of ggml-rpc's abort.
fn reach(e: &Endpoint) -> Result<(), String> {
    let addrs = (e.host.as_str(), e.port)
        .to_socket_addrs()
        .map_err(|_| format!("rpc-server {e}: no such host"))?;
    let mut sock = addrs
        .into_iter()
        .find_map(|a| TcpStream::connect_timeout(&a, CONNECT_TIMEOUT).ok())
        .ok_or_else(|| {
            format!(
                "rpc-server {e}: cannot connect (is `rpc-server -H HOST -p PORT` running there?)"
            )
        })?;
    let version = hello(&mut sock)
        .map_err(|_| format!("rpc-server {e}: it does not answer as an rpc-server"))?;
    match version {
        (major, minor) if speaks_ours(major, minor) => Ok(()),
        (major, minor) => Err(format!(
            "rpc-server {e}: it speaks RPC protocol {major}.{minor}, this keybot {PROTO_MAJOR}.{PROTO_MINOR} (run an rpc-server of the same llama.cpp version)"
        )),
    }
}

/// ggml-rpc's own rule: the same major version, a minor one no newer than ours.
#[expect(
    clippy::absurd_extreme_comparisons,
    reason = "while our minor version is 0 the rule reads as equality; it stays right for any"
)]
fn speaks_ours(major: u8, minor: u8) -> bool {
    major == PROTO_MAJOR && minor <= PROTO_MINOR
}

/// Sends HELLO (`| cmd: 1 byte | size: u64 | no capabilities |`) and reads the answer's
/// protocol version (`| size: u64 | major, minor, patch, padding, capabilities |`).
fn hello(sock: &mut TcpStream) -> std::io::Result<(u8, u8)> {
    use std::io::{Read, Write};
    sock.set_read_timeout(Some(CONNECT_TIMEOUT))?;
    sock.set_write_timeout(Some(CONNECT_TIMEOUT))?;
    let mut req = vec![CMD_HELLO];
    req.extend_from_slice(&(CAPS as u64).to_le_bytes());
    req.extend_from_slice(&[0; CAPS]);
    sock.write_all(&req)?;
    let mut size = [0u8; 8];
    sock.read_exact(&mut size)?;
    if u64::from_le_bytes(size) != 4 + CAPS as u64 {
        return Err(std::io::ErrorKind::InvalidData.into());
    }
    let mut rsp = [0u8; 4 + CAPS];
    sock.read_exact(&mut rsp)?;
    Ok((rsp[0], rsp[1]))
}

/// The server added to ggml's devices, one line if it cannot be.
fn add(name: &str) -> Result<(), String> {
    keybot_llama_rpc::add_server(name).map_err(|e| format!("rpc-server {name}: {e}"))
}

/// Whether any endpoint was added in this process.
fn any_added() -> bool {
    !ADDED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .is_empty()
}

/// The devices a model loads onto (for `LlamaModelParams::with_devices`): `endpoints`' own,
/// first (as llama.cpp orders them), then this machine's GPUs as llama.cpp picks them. `None`
/// where no endpoint was ever added: llama.cpp's own choice is then the same.
pub fn devices_for(endpoints: &[Endpoint]) -> Option<Vec<usize>> {
    if !any_added() {
        return None;
    }
    let names: Vec<String> = endpoints.iter().map(ToString::to_string).collect();
    let all = keybot_llama_rpc::devices();
    let of = |kind| -> Vec<usize> {
        all.iter()
            .filter(|d| !d.rpc && d.kind == kind)
            .map(|d| d.index)
            .collect()
    };
    let mut out: Vec<usize> = all
        .iter()
        .filter(|d| d.rpc && names.contains(&d.description))
        .map(|d| d.index)
        .collect();
    let gpus = of(Kind::Gpu);
    if gpus.is_empty() {
        out.extend(of(Kind::IntegratedGpu));
    } else {
        out.extend(gpus);
    }
    Some(out)
}

/// This machine's first GPU-type device (an RPC server's are not), without asking any RPC
/// server: its name and description.
pub fn first_local_gpu() -> Option<(String, String)> {
    keybot_llama_rpc::devices()
        .into_iter()
        .find(|d| !d.rpc && matches!(d.kind, Kind::Gpu | Kind::IntegratedGpu))
        .map(|d| (d.name, d.description))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_host_and_port_and_nothing_else() {
        let l = parse_list(" 127.0.0.1:50052, box.lan:1 ,[::1]:50052,127.0.0.1:50052").unwrap();
        let shown: Vec<String> = l.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["127.0.0.1:50052", "box.lan:1", "[::1]:50052"]);
        assert!(l[0].is_loopback() && !l[1].is_loopback() && l[2].is_loopback());
        assert_eq!(parse_list("").unwrap(), []);
        for bad in [
            "127.0.0.1",
            "127.0.0.1:0",
            "127.0.0.1:70000",
            "http://box:50052",
            "box:50052/x",
            "[zz]:1",
            "a b:1",
            "bo\u{1b}x:1",
        ] {
            let e = parse_list(bad).unwrap_err();
            assert!(!e.chars().any(char::is_control), "{e:?}");
        }
        let many = (1..=17)
            .map(|p| format!("h:{p}"))
            .collect::<Vec<_>>()
            .join(",");
        assert!(parse_list(&many).is_err());
    }

    #[test]
    fn a_dead_endpoint_is_one_line_and_adds_nothing() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let e = parse_list(&format!("127.0.0.1:{port}")).unwrap();
        let err = attach(&e).unwrap_err();
        assert!(err.contains("cannot connect"), "{err}");
        assert!(!any_added());

        // Something else listening there: it answers, but not as an rpc-server.
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let other = std::thread::spawn(move || {
            use std::io::{Read, Write};
            let (mut c, _) = l.accept().unwrap();
            let mut first = [0u8; 33];
            c.read_exact(&mut first).unwrap();
            c.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").unwrap();
            first
        });
        let e = parse_list(&format!("localhost:{port}")).unwrap();
        let err = attach(&e).unwrap_err();
        assert!(err.contains("does not answer as an rpc-server"), "{err}");
        // What it was sent is ggml-rpc's HELLO: command 14, 24 bytes of no capabilities.
        let first = other.join().unwrap();
        assert_eq!(first[0], 14);
        assert_eq!(first[1..9], 24u64.to_le_bytes());
        assert!(!any_added());
    }
}
