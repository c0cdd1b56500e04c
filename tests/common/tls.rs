//! TLS for the tests' local servers: a test CA and a certificate for 127.0.0.1 it signs (the
//! client trusts it through `SSL_CERT_FILE`, as the system's CA store), and a small `https://`
//! server of one file. Used by tests/model/model_cli.rs (an https Hub) and
//! tests/chain/market_cli.rs (a listing whose ciphertext is at an `https://` URI).
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A test CA and a server certificate for 127.0.0.1 signed by it: (the CA's PEM, the server's
/// TLS config).
pub fn test_pki() -> (String, rustls::ServerConfig) {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, SanType,
    };
    // The server side is rustls too, on the provider keybot installs.
    keybot::net::tls();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "keybot test CA");
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let mut leaf = CertificateParams::new(Vec::<String>::new()).unwrap();
    leaf.subject_alt_names = vec![SanType::IpAddress(std::net::Ipv4Addr::LOCALHOST.into())];
    let key = KeyPair::generate().unwrap();
    let cert = leaf.signed_by(&key, &ca).unwrap();
    let key = rustls::pki_types::PrivatePkcs8KeyDer::from(key.serialize_der());
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], key.into())
        .unwrap();
    (ca.pem(), config)
}

/// An `https://127.0.0.1:PORT/` server: every GET of `/NAME` answers with the bytes of the file
/// `dir/NAME` as they are at that moment (404 when there is none), so a test may start it before
/// the file exists. Lives as long as the test's process.
pub struct HttpsFiles {
    /// `https://127.0.0.1:PORT`, no trailing slash.
    pub url: String,
    /// How many requests had a file to answer with.
    served: Arc<AtomicUsize>,
}

impl HttpsFiles {
    pub fn serve(dir: PathBuf, config: rustls::ServerConfig) -> HttpsFiles {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("https://{}", listener.local_addr().unwrap());
        let config = Arc::new(config);
        let served = Arc::new(AtomicUsize::new(0));
        let count = served.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (config, dir, count) = (config.clone(), dir.clone(), count.clone());
                std::thread::spawn(move || {
                    let Ok(conn) = rustls::ServerConnection::new(config) else {
                        return;
                    };
                    let mut tls = rustls::StreamOwned::new(conn, stream);
                    // A request has no body here: the head is all there is to read.
                    let path = {
                        let mut reader = BufReader::new(&mut tls);
                        let mut line = String::new();
                        if reader.read_line(&mut line).is_err() {
                            return; // a client that refused the certificate
                        }
                        loop {
                            let mut h = String::new();
                            match reader.read_line(&mut h) {
                                Ok(n) if n > 0 && !h.trim().is_empty() => {}
                                _ => break,
                            }
                        }
                        line.split_whitespace().nth(1).unwrap_or("/").to_owned()
                    };
                    let name = path.trim_start_matches('/');
                    let file = (!name.is_empty() && !name.contains('/'))
                        .then(|| std::fs::read(dir.join(name)).ok())
                        .flatten();
                    let (status, body) = match file {
                        Some(b) => {
                            count.fetch_add(1, Ordering::SeqCst);
                            ("200 OK", b)
                        }
                        None => ("404 Not Found", Vec::new()),
                    };
                    let head = format!(
                        "HTTP/1.1 {status}\r\ncontent-type: application/octet-stream\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    );
                    if tls.write_all(head.as_bytes()).is_ok() && tls.write_all(&body).is_ok() {
                        tls.conn.send_close_notify();
                        let _ = tls.flush();
                    }
                });
            }
        });
        HttpsFiles { url, served }
    }

    /// How many requests were answered with a file.
    pub fn served(&self) -> usize {
        self.served.load(Ordering::SeqCst)
    }
}
