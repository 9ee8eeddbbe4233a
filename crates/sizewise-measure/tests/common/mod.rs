//! A small mock OpenAI streaming server for the tests (127.0.0.1 only).
//!
//! Chat: a role chunk at once, then `max_tokens` content chunks, token k (1-based) at
//! `ttft + (k-1) * tpot` after the request arrived (absolute deadlines, so no drift), then a
//! finish chunk, a usage chunk when the request asks for it (and `usage` is on), then
//! `[DONE]`. Completions: the same without the role chunk. Faults are assigned to requests
//! in arrival order by cycling through `faults`. [`start_tls`] serves the same over TLS.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;

/// What a request gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// A normal stream.
    None,
    /// HTTP 500 with a short body.
    Http500,
    /// The connection is aborted halfway through the tokens.
    DropMidStream,
    /// One event halfway is not JSON (the stream otherwise completes).
    Malformed,
    /// Halfway, the server stops sending (for an hour).
    Stall,
    /// The body ends cleanly after the tokens, with no finish_reason and no `[DONE]`.
    NoDone,
    /// Usage claims 5 more completion tokens than were streamed.
    UsageOvercount,
}

/// Mock settings.
#[derive(Debug, Clone)]
pub struct Mock {
    pub ttft: Duration,
    pub tpot: Duration,
    /// Honour `stream_options.include_usage`.
    pub usage: bool,
    pub faults: Vec<Fault>,
}

impl Default for Mock {
    fn default() -> Self {
        Self {
            ttft: Duration::ZERO,
            tpot: Duration::ZERO,
            usage: true,
            faults: vec![Fault::None],
        }
    }
}

/// A running mock: its address and the number of requests it received.
pub struct Server {
    pub addr: SocketAddr,
    pub received: Arc<AtomicU64>,
}

impl Server {
    pub fn url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }
}

type Body = BoxBody<Bytes, std::io::Error>;

enum Step {
    At(Duration),
    Data(Bytes),
    Fail,
    Stall,
}

const CHAT_TOKEN: &[u8] = b"data: {\"id\":\"m\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"tok\"},\"finish_reason\":null}]}\n\n";
const TEXT_TOKEN: &[u8] = b"data: {\"id\":\"m\",\"object\":\"text_completion\",\"choices\":[{\"index\":0,\"text\":\"tok\",\"finish_reason\":null}]}\n\n";

fn plan(mock: &Mock, fault: Fault, chat: bool, n: u32, include_usage: bool) -> VecDeque<Step> {
    let mut s = VecDeque::new();
    if chat {
        s.push_back(Step::Data(Bytes::from_static(
            b"data: {\"id\":\"m\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n",
        )));
    }
    let half = n / 2;
    for k in 0..n {
        let at = mock.ttft + mock.tpot * k;
        if !at.is_zero() {
            s.push_back(Step::At(at));
        }
        if k == half {
            match fault {
                Fault::DropMidStream => {
                    s.push_back(Step::Fail);
                    return s;
                }
                Fault::Stall => {
                    s.push_back(Step::Stall);
                    return s;
                }
                Fault::Malformed => s.push_back(Step::Data(Bytes::from_static(
                    b"data: {\"choices\": [{\"delta\": {\"content\": \"t\n\n",
                ))),
                _ => {}
            }
        }
        s.push_back(Step::Data(Bytes::from_static(if chat {
            CHAT_TOKEN
        } else {
            TEXT_TOKEN
        })));
    }
    if fault == Fault::NoDone {
        return s;
    }
    s.push_back(Step::Data(Bytes::from_static(if chat {
        b"data: {\"id\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}]}\n\n"
    } else {
        b"data: {\"id\":\"m\",\"choices\":[{\"index\":0,\"text\":\"\",\"finish_reason\":\"length\"}]}\n\n"
    })));
    if include_usage && mock.usage {
        let c = if fault == Fault::UsageOvercount {
            n + 5
        } else {
            n
        };
        s.push_back(Step::Data(Bytes::from(format!(
            "data: {{\"id\":\"m\",\"choices\":[],\"usage\":{{\"prompt_tokens\":11,\"completion_tokens\":{c},\"total_tokens\":{}}}}}\n\n",
            c + 11
        ))));
    }
    s.push_back(Step::Data(Bytes::from_static(b"data: [DONE]\n\n")));
    s
}

async fn handle(
    req: Request<Incoming>,
    mock: Arc<Mock>,
    received: Arc<AtomicU64>,
) -> Result<Response<Body>, Infallible> {
    let start = Instant::now();
    let i = received.fetch_add(1, Ordering::Relaxed);
    let fault = mock.faults[(i % mock.faults.len() as u64) as usize];
    let chat = req.uri().path().ends_with("/chat/completions");
    let body = req.into_body().collect().await.map(|b| b.to_bytes());
    let v: serde_json::Value = body
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let n = v["max_tokens"].as_u64().unwrap_or(16) as u32;
    let include_usage = v["stream_options"]["include_usage"].as_bool() == Some(true);
    if fault == Fault::Http500 {
        let b = Full::new(Bytes::from_static(b"{\"error\":\"boom\"}"))
            .map_err(|never| match never {})
            .boxed();
        return Ok(Response::builder().status(500).body(b).unwrap());
    }
    let steps = plan(&mock, fault, chat, n, include_usage);
    let stream = futures_util::stream::unfold(steps, move |mut steps| async move {
        loop {
            match steps.pop_front()? {
                Step::At(d) => {
                    let t = start + d;
                    if t > Instant::now() {
                        tokio::time::sleep_until(t).await;
                    }
                }
                Step::Data(b) => return Some((Ok(Frame::data(b)), steps)),
                Step::Fail => {
                    return Some((
                        Err(std::io::Error::other("mock drops the connection")),
                        steps,
                    ));
                }
                Step::Stall => tokio::time::sleep(Duration::from_secs(3600)).await,
            }
        }
    });
    let body = StreamBody::new(stream).boxed();
    Ok(Response::builder()
        .header("content-type", "text/event-stream")
        .body(body)
        .unwrap())
}

/// Serves HTTP/1.1 on one accepted stream (plain TCP or TLS) on a task of its own.
fn serve_io<I>(io: I, mock: &Arc<Mock>, received: &Arc<AtomicU64>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mock = Arc::clone(mock);
    let received = Arc::clone(received);
    tokio::spawn(async move {
        let svc = hyper::service::service_fn(move |req| {
            handle(req, Arc::clone(&mock), Arc::clone(&received))
        });
        let _ = hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(io), svc)
            .await;
    });
}

async fn serve(listener: tokio::net::TcpListener, mock: Arc<Mock>, received: Arc<AtomicU64>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        stream.set_nodelay(true).unwrap();
        serve_io(stream, &mock, &received);
    }
}

/// Starts the mock on its own thread with a single-threaded runtime.
pub fn start(mock: Mock) -> Server {
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    std_listener.set_nonblocking(true).unwrap();
    let addr = std_listener.local_addr().unwrap();
    let received = Arc::new(AtomicU64::new(0));
    let r = Arc::clone(&received);
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(std_listener).unwrap();
            serve(listener, Arc::new(mock), r).await;
        });
    });
    Server { addr, received }
}

/// What the TLS mock saw of one handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handshake {
    /// The SNI the client sent (none for an IP address).
    pub sni: Option<String>,
    /// The negotiated ALPN protocol.
    pub alpn: Option<Vec<u8>>,
    /// `Err` with the server's view of a failed handshake.
    pub result: Result<(), String>,
}

/// A running TLS mock: its address, the requests it received and every handshake.
pub struct TlsServer {
    pub addr: SocketAddr,
    pub received: Arc<AtomicU64>,
    pub handshakes: Arc<Mutex<Vec<Handshake>>>,
}

impl TlsServer {
    /// `https://HOST:PORT/v1`.
    pub fn url(&self, host: &str) -> String {
        format!("https://{host}:{}/v1", self.addr.port())
    }
}

/// Starts the mock behind TLS (`tls`) on its own thread with a single-threaded runtime.
pub fn start_tls(mock: Mock, tls: Arc<rustls::ServerConfig>) -> TlsServer {
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    std_listener.set_nonblocking(true).unwrap();
    let addr = std_listener.local_addr().unwrap();
    let received = Arc::new(AtomicU64::new(0));
    let handshakes = Arc::new(Mutex::new(Vec::new()));
    let (r, h) = (Arc::clone(&received), Arc::clone(&handshakes));
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(std_listener).unwrap();
            let acceptor = tokio_rustls::TlsAcceptor::from(tls);
            let mock = Arc::new(mock);
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                stream.set_nodelay(true).unwrap();
                let (acceptor, mock, r, h) = (
                    acceptor.clone(),
                    Arc::clone(&mock),
                    Arc::clone(&r),
                    Arc::clone(&h),
                );
                tokio::spawn(async move {
                    match acceptor.accept(stream).await {
                        Ok(tls) => {
                            let conn = tls.get_ref().1;
                            h.lock().unwrap().push(Handshake {
                                sni: conn.server_name().map(str::to_string),
                                alpn: conn.alpn_protocol().map(<[u8]>::to_vec),
                                result: Ok(()),
                            });
                            serve_io(tls, &mock, &r);
                        }
                        Err(e) => h.lock().unwrap().push(Handshake {
                            sni: None,
                            alpn: None,
                            result: Err(e.to_string()),
                        }),
                    }
                });
            }
        });
    });
    TlsServer {
        addr,
        received,
        handshakes,
    }
}
