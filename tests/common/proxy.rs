//! A JSON-RPC proxy in front of anvil, for the tests of what keybot does when its RPC refuses,
//! dies or lies. Each test hands it a rule that sees every request and says what to answer:
//! [`faults`] (dying around `eth_sendRawTransaction`, hostile fees and reverts) for
//! tests/chain/chain_anvil.rs and tests/chain/market_anvil.rs; tests/chain/indexer_anvil.rs (refusing wide log
//! ranges) and tests/chain/market_earnings.rs (counting requests, stripping `blockTimestamp`) write
//! their own.
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{Value, json};

use super::read_http;

/// One request the proxy read.
pub struct Call<'a> {
    /// The HTTP request as it came.
    pub raw: &'a [u8],
    /// Its JSON-RPC body: an object, an array for a batch, Null when it is not JSON.
    pub body: Value,
    upstream: u16,
}

impl Call<'_> {
    pub fn method(&self) -> &str {
        self.body["method"].as_str().unwrap_or("")
    }

    /// Anvil's answer to this request.
    pub fn forward(&self) -> Vec<u8> {
        let mut up = TcpStream::connect(("127.0.0.1", self.upstream)).unwrap();
        up.write_all(self.raw).unwrap();
        read_http(&mut up).unwrap()
    }
}

/// What the proxy does with a request.
pub enum Reply {
    /// Answers with this HTTP response.
    Send(Vec<u8>),
    /// Closes this connection without an answer.
    Close,
    /// Closes it and stops listening: the RPC is gone ([`Proxy::wait_dead`] returns).
    Die,
}

pub struct Proxy {
    pub port: u16,
    pub url: String,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    /// Says when the accept loop has ended (closed, not sent to, when the loop ends).
    dead: Receiver<()>,
}

/// How long [`Proxy::wait_dead`] waits for the request the proxy dies on.
const DIE_WITHIN: Duration = Duration::from_secs(60);

impl Proxy {
    /// A proxy on `port` (0: the system picks one) in front of anvil on `upstream`, answering
    /// each request as `rule` says.
    pub fn serve(
        port: u16,
        upstream: u16,
        rule: impl Fn(&Call) -> Reply + Send + Sync + 'static,
    ) -> Proxy {
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let rule = Arc::new(rule);
        let stop = Arc::new(AtomicBool::new(false));
        let st = stop.clone();
        let (ended, dead) = std::sync::mpsc::channel::<()>();
        // A blocking accept, no polling: whoever stops the proxy connects once to wake it.
        let thread = std::thread::spawn(move || {
            // Dropped when the loop ends, which closes `dead`.
            let _ended = ended;
            for client in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(mut client) = client else { continue };
                let (rule, st) = (rule.clone(), st.clone());
                std::thread::spawn(move || {
                    while let Some(raw) = read_http(&mut client) {
                        let call = Call {
                            body: body_of(&raw),
                            raw: &raw,
                            upstream,
                        };
                        let reply = rule(&call);
                        // A proxy that died meanwhile answers nothing more.
                        if st.load(Ordering::SeqCst) {
                            return;
                        }
                        match reply {
                            Reply::Send(resp) => {
                                if client.write_all(&resp).is_err() {
                                    return;
                                }
                            }
                            Reply::Close => return,
                            Reply::Die => {
                                stop_listening(&st, port);
                                return;
                            }
                        }
                    }
                });
            }
        });
        Proxy {
            port,
            url: format!("http://127.0.0.1:{port}"),
            stop,
            thread: Some(thread),
            dead,
        }
    }

    /// [`faults`]`(mode)` on a port the system picks; [`Proxy::start`] on that port again
    /// restarts it.
    pub fn bind(upstream: u16, mode: u8) -> (Proxy, u16) {
        let proxy = Self::serve(0, upstream, faults(mode));
        let port = proxy.port;
        (proxy, port)
    }

    /// [`faults`]`(mode)` on `port`.
    pub fn start(port: u16, upstream: u16, mode: u8) -> Proxy {
        Self::serve(port, upstream, faults(mode))
    }

    /// Waits until a [`Reply::Die`] has closed the listener; panics after [`DIE_WITHIN`] (then
    /// keybot never sent the request the proxy dies on, and dropping the proxy stops it).
    pub fn wait_dead(mut self) {
        match self.dead.recv_timeout(DIE_WITHIN) {
            Err(RecvTimeoutError::Disconnected) => self.thread.take().unwrap().join().unwrap(),
            Ok(()) | Err(RecvTimeoutError::Timeout) => panic!(
                "the RPC proxy on port {} did not die within {DIE_WITHIN:?}: nothing sent it the request it dies on",
                self.port
            ),
        }
    }
}

/// Ends the accept loop of the proxy on `port`: the flag, then a connection to wake it.
fn stop_listening(stop: &AtomicBool, port: u16) {
    stop.store(true, Ordering::SeqCst);
    let _ = TcpStream::connect(("127.0.0.1", port));
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(t) = self.thread.take() {
            stop_listening(&self.stop, self.port);
            let _ = t.join();
        }
    }
}

/// The JSON body of an HTTP request or response; Null when there is none.
pub fn body_of(http: &[u8]) -> Value {
    String::from_utf8_lossy(http)
        .split_once("\r\n\r\n")
        .and_then(|(_, b)| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null)
}

/// An HTTP response with a JSON body.
pub fn http_json(status: u16, body: &Value) -> Vec<u8> {
    let body = serde_json::to_vec(body).unwrap();
    let reason = if status == 200 { "OK" } else { "Error" };
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend(body);
    out
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

/// The rule of one of the modes above.
pub fn faults(mode: u8) -> impl Fn(&Call) -> Reply + Send + Sync + 'static {
    move |call| {
        // In the raw request, so that a batch holding the transaction counts too.
        let is_send = String::from_utf8_lossy(call.raw).contains("eth_sendRawTransaction");
        if is_send && mode == DIE_BEFORE_SEND {
            return Reply::Die;
        }
        let resp = call.forward();
        if is_send && mode == DIE_AFTER_SEND {
            return Reply::Die;
        }
        Reply::Send(hostile(mode, call, &resp).unwrap_or(resp))
    }
}

/// What a hostile node answers instead of anvil's `resp`, if anything.
fn hostile(mode: u8, call: &Call, resp: &[u8]) -> Option<Vec<u8>> {
    match (mode, call.method()) {
        (HOSTILE_FEES, "eth_feeHistory") => {
            let mut v = body_of(resp);
            for b in v["result"]["baseFeePerGas"].as_array_mut()? {
                *b = Value::from("0x174876e800");
            }
            Some(http_json(200, &v))
        }
        (HOSTILE_REVERT, "eth_estimateGas") => Some(http_json(
            200,
            &json!({
                "jsonrpc": "2.0", "id": call.body["id"],
                "error": {"code": 3, "message":
                    "execution reverted: \u{1b}[1A\u{1b}[2K    amount  0.0001 ETH\u{1b}]52;c;QUFBQQ==\u{7}"}
            }),
        )),
        _ => None,
    }
}
