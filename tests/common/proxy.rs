//! A JSON-RPC proxy in front of anvil for the tests of what keybot does when its RPC dies or
//! lies (tests/chain_anvil.rs, tests/market_anvil.rs).
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use serde_json::Value;

use super::read_http;

/// A JSON-RPC proxy in front of anvil that can "die" right around `eth_sendRawTransaction`.
pub struct Proxy {
    mode: Arc<AtomicU8>,
    stop: Arc<AtomicU8>,
    thread: Option<std::thread::JoinHandle<()>>,
}

pub const PASS: u8 = 0;
/// Forward the transaction to anvil, then die without answering.
pub const DIE_AFTER_SEND: u8 = 1;
/// Die on the transaction without forwarding it.
pub const DIE_BEFORE_SEND: u8 = 2;
/// A hostile node: eth_feeHistory says every block's base fee is 100 gwei, so the fee estimate
/// is ~100× what the latest block (eth_getBlockByNumber, passed through) really costs.
pub const HOSTILE_FEES: u8 = 3;
/// A hostile node: eth_estimateGas answers with a revert whose reason redraws the terminal.
pub const HOSTILE_REVERT: u8 = 4;

/// The JSON-RPC method and id of an HTTP request the proxy read.
fn method_and_id(req: &[u8]) -> (String, Value) {
    let text = String::from_utf8_lossy(req);
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    (
        v["method"].as_str().unwrap_or("").to_owned(),
        v["id"].clone(),
    )
}

fn http_json(body: &Value) -> Vec<u8> {
    let body = serde_json::to_vec(body).unwrap();
    let mut out = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend(body);
    out
}

/// What a hostile node answers instead of anvil's `resp`, if anything.
fn hostile(mode: u8, req: &[u8], resp: &[u8]) -> Option<Vec<u8>> {
    let (method, id) = method_and_id(req);
    match (mode, method.as_str()) {
        (HOSTILE_FEES, "eth_feeHistory") => {
            let text = String::from_utf8_lossy(resp);
            let body = text.split_once("\r\n\r\n")?.1;
            let mut v: Value = serde_json::from_str(body).ok()?;
            for b in v["result"]["baseFeePerGas"].as_array_mut()? {
                *b = Value::from("0x174876e800");
            }
            Some(http_json(&v))
        }
        (HOSTILE_REVERT, "eth_estimateGas") => Some(http_json(&serde_json::json!({
            "jsonrpc": "2.0", "id": id,
            "error": {"code": 3, "message":
                "execution reverted: \u{1b}[1A\u{1b}[2K    amount  0.0001 ETH\u{1b}]52;c;QUFBQQ==\u{7}"}
        }))),
        _ => None,
    }
}

impl Proxy {
    /// A proxy on a fresh port (0: the system picks it); `start` on that port again restarts it.
    pub fn bind(upstream: u16, mode: u8) -> (Proxy, u16) {
        let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        (Self::serve(listener, upstream, mode), port)
    }

    pub fn start(port: u16, upstream: u16, mode: u8) -> Proxy {
        Self::serve(
            TcpListener::bind(("127.0.0.1", port)).unwrap(),
            upstream,
            mode,
        )
    }

    fn serve(listener: TcpListener, upstream: u16, mode: u8) -> Proxy {
        listener.set_nonblocking(true).unwrap();
        let mode = Arc::new(AtomicU8::new(mode));
        let stop = Arc::new(AtomicU8::new(0));
        let (m, st) = (mode.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while st.load(Ordering::SeqCst) == 0 {
                let Ok((mut client, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                client.set_nonblocking(false).unwrap();
                let (m, st) = (m.clone(), st.clone());
                std::thread::spawn(move || {
                    while let Some(req) = read_http(&mut client) {
                        let is_send =
                            String::from_utf8_lossy(&req).contains("eth_sendRawTransaction");
                        let mode = m.load(Ordering::SeqCst);
                        if is_send && mode == DIE_BEFORE_SEND {
                            st.store(1, Ordering::SeqCst);
                            return;
                        }
                        let mut up = TcpStream::connect(("127.0.0.1", upstream)).unwrap();
                        up.write_all(&req).unwrap();
                        let resp = read_http(&mut up).unwrap();
                        let resp = hostile(mode, &req, &resp).unwrap_or(resp);
                        if is_send && mode == DIE_AFTER_SEND {
                            st.store(1, Ordering::SeqCst);
                            return;
                        }
                        if st.load(Ordering::SeqCst) != 0 || client.write_all(&resp).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Proxy {
            mode,
            stop,
            thread: Some(thread),
        }
    }

    /// Waits until the proxy has died (its listener is closed).
    pub fn wait_dead(mut self) {
        self.thread.take().unwrap().join().unwrap();
        let _ = &self.mode;
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(1, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
