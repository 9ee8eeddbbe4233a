//! HTTP/1.1 connections (hyper 1.x, TCP_NODELAY, reused), over TLS (rustls, ring) for
//! `https://`, and one streamed request.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HOST};
use http::{HeaderValue, Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{CertificateError, ClientConfig, RootCertStore};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::config::Endpoint;
use crate::record::{ErrorKind, Event, RequestError, RequestRecord};
use crate::sse::{EventKind, SseParser, classify};
use crate::{MeasureError, Result};

pub(crate) type Conn = SendRequest<Full<Bytes>>;

/// The trusted roots in a PEM file (`BenchConfig::ca_cert`). Fails on PEM that does not
/// parse, on a file without any `CERTIFICATE` block and on a certificate that cannot be a
/// trust anchor.
pub(crate) fn parse_ca_cert(pem: &[u8]) -> Result<RootCertStore> {
    let bad = |m: String| MeasureError::InvalidConfig(format!("ca_cert: {m}"));
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| bad(format!("not valid PEM: {}", pem_error(&e))))?;
    if certs.is_empty() {
        return Err(bad(
            "no certificate found (expected PEM with -----BEGIN CERTIFICATE----- blocks)".into(),
        ));
    }
    let mut roots = RootCertStore::empty();
    for (i, cert) in certs.into_iter().enumerate() {
        roots.add(cert).map_err(|e| {
            bad(format!(
                "certificate {} cannot be a trusted root: {e}",
                i + 1
            ))
        })?;
    }
    Ok(roots)
}

fn pem_error(e: &rustls::pki_types::pem::Error) -> String {
    use rustls::pki_types::pem::Error;
    match e {
        Error::MissingSectionEnd { end_marker } => format!(
            "a section has no \"-----END {}-----\" line",
            String::from_utf8_lossy(end_marker)
        ),
        Error::IllegalSectionStart { line } => {
            format!("malformed BEGIN line {:?}", String::from_utf8_lossy(line))
        }
        other => other.to_string(),
    }
}

/// The TLS client settings of a run: Mozilla's roots plus `ca_cert`, the ring provider,
/// TLS 1.2 and 1.3, ALPN `http/1.1` only (the client speaks HTTP/1.1).
fn tls_config(ca_cert: Option<&[u8]>) -> Result<Arc<ClientConfig>> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(pem) = ca_cert {
        roots.roots.extend(parse_ca_cert(pem)?.roots);
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| MeasureError::Internal(format!("TLS setup: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A TLS handshake failure, with its cause named and a hint where one helps.
fn tls_error(host: &str, e: &std::io::Error) -> String {
    let cause = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>());
    let hint = match cause {
        Some(rustls::Error::InvalidCertificate(c)) => match c {
            CertificateError::UnknownIssuer => {
                "the server's certificate is not signed by a trusted root; for a self-signed \
                 server or a TLS-intercepting proxy, trust its CA certificate with --ca-cert FILE.pem"
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                "the certificate is not issued for this host name; use the name it was issued for"
            }
            CertificateError::Expired
            | CertificateError::ExpiredContext { .. }
            | CertificateError::NotValidYet
            | CertificateError::NotValidYetContext { .. } => {
                "check the certificate's validity dates and this machine's clock"
            }
            _ => "",
        },
        Some(rustls::Error::InvalidMessage(_)) => {
            "the server did not answer in TLS; if it serves plain HTTP, use an http:// URL"
        }
        Some(rustls::Error::NoApplicationProtocol) => {
            "the server does not offer HTTP/1.1 over TLS (ALPN http/1.1)"
        }
        None if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            "the server closed the connection during the handshake; does it serve https on this port?"
        }
        _ => "",
    };
    if hint.is_empty() {
        format!("TLS handshake with {host}: {e}")
    } else {
        format!("TLS handshake with {host}: {e} ({hint})")
    }
}

/// The TLS side of an `https://` target.
struct Tls {
    connector: TlsConnector,
    /// SNI and the name the certificate must carry: the URL's host.
    server_name: ServerName<'static>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

/// Where requests go, resolved once.
#[derive(Debug)]
pub(crate) struct Target {
    addrs: Vec<SocketAddr>,
    host: HeaderValue,
    path: Uri,
    auth: Option<HeaderValue>,
    tls: Option<Tls>,
}

impl Target {
    /// Resolves `url` once per run; for `https://` also builds the TLS client settings
    /// (Mozilla's roots plus `ca_cert`, a PEM of extra roots; ignored for `http://`).
    pub(crate) async fn resolve(
        url: &str,
        endpoint: Endpoint,
        api_key: Option<&str>,
        ca_cert: Option<&[u8]>,
    ) -> Result<Self> {
        let bad = |m: String| MeasureError::Url(format!("{url}: {m}"));
        let uri: Uri = url.parse().map_err(|e| bad(format!("{e}")))?;
        let https = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            Some(s) => {
                return Err(bad(format!(
                    "scheme {s} is not supported; use http:// or https://"
                )));
            }
            None => {
                return Err(bad(
                    "needs http://host:port/prefix or https://host/prefix".into()
                ));
            }
        };
        let authority = uri
            .authority()
            .ok_or_else(|| bad("no host".into()))?
            .clone();
        let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        let tls = if https {
            let server_name = ServerName::try_from(host.to_string())
                .map_err(|e| bad(format!("host {host} cannot be a TLS server name: {e}")))?;
            Some(Tls {
                connector: TlsConnector::from(tls_config(ca_cert)?),
                server_name,
            })
        } else {
            None
        };
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| bad(format!("cannot resolve host: {e}")))?
            .collect();
        if addrs.is_empty() {
            return Err(bad("host resolved to no address".into()));
        }
        let prefix = uri.path().trim_end_matches('/');
        let suffix = match endpoint {
            Endpoint::Chat => "/chat/completions",
            Endpoint::Completions => "/completions",
        };
        let path: Uri = format!("{prefix}{suffix}")
            .parse()
            .map_err(|e| bad(format!("{e}")))?;
        let host = HeaderValue::from_str(authority.as_str()).map_err(|e| bad(format!("{e}")))?;
        let auth = api_key
            .map(|k| HeaderValue::from_str(&format!("Bearer {k}")))
            .transpose()
            .map_err(|_| {
                MeasureError::InvalidConfig("api key is not a valid header value".into())
            })?;
        Ok(Self {
            addrs,
            host,
            path,
            auth,
            tls,
        })
    }

    /// TCP (TCP_NODELAY), then for `https://` the TLS handshake, then the HTTP/1.1 handshake.
    async fn connect(&self) -> std::result::Result<Conn, String> {
        let stream = TcpStream::connect(&self.addrs[..])
            .await
            .map_err(|e| format!("TCP connect to {:?}: {e}", self.addrs))?;
        stream
            .set_nodelay(true)
            .map_err(|e| format!("TCP_NODELAY: {e}"))?;
        match &self.tls {
            None => http_handshake(stream).await,
            Some(tls) => {
                let stream = tls
                    .connector
                    .connect(tls.server_name.clone(), stream)
                    .await
                    .map_err(|e| tls_error(&tls.server_name.to_str(), &e))?;
                http_handshake(stream).await
            }
        }
    }

    fn request(&self, body: Bytes) -> std::result::Result<Request<Full<Bytes>>, String> {
        let mut b = Request::post(self.path.clone())
            .header(HOST, self.host.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header(ACCEPT, HeaderValue::from_static("text/event-stream"));
        if let Some(a) = &self.auth {
            b = b.header(AUTHORIZATION, a.clone());
        }
        b.body(Full::new(body)).map_err(|e| e.to_string())
    }
}

/// The HTTP/1.1 handshake on an open stream; the connection task runs on its own.
async fn http_handshake<I>(io: I) -> std::result::Result<Conn, String>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| format!("HTTP handshake: {e}"))?;
    tokio::spawn(async move {
        let _closed = conn.await;
    });
    Ok(sender)
}

/// Idle connections shared by open-loop requests.
#[derive(Default)]
pub(crate) struct Pool(Mutex<Vec<Conn>>);

impl Pool {
    pub(crate) fn take(&self) -> Option<Conn> {
        self.0.lock().ok().and_then(|mut v| v.pop())
    }
    pub(crate) fn put(&self, c: Option<Conn>) {
        if let (Some(c), Ok(mut v)) = (c, self.0.lock()) {
            v.push(c);
        }
    }
}

/// What one request needs besides its connection.
pub(crate) struct Job {
    pub index: u64,
    pub max_tokens: u32,
    pub body: Bytes,
    pub phase_start: Instant,
    pub planned: Instant,
}

/// Per-request settings shared by all requests.
pub(crate) struct Exec<'a> {
    pub target: &'a Target,
    pub timeout: Duration,
    pub strict_token_count: bool,
    /// Keep the text of token events (for a local tokenizer).
    pub capture_text: bool,
}

/// Appends the text of an event (`choices[0].text`, `delta.content`, `delta.reasoning_content`,
/// `delta.reasoning`) to `out`, and its `logprobs.content` entries to `logprobs`. A second
/// parse, done only when the text is wanted.
fn push_token_text(data: &[u8], out: &mut String, logprobs: &mut Vec<serde_json::Value>) {
    let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(data.trim_ascii()) else {
        return;
    };
    let choice = &mut v["choices"][0];
    if let serde_json::Value::Array(content) = choice["logprobs"]["content"].take() {
        logprobs.extend(content);
    }
    for t in [
        &choice["text"],
        &choice["delta"]["reasoning_content"],
        &choice["delta"]["reasoning"],
        &choice["delta"]["content"],
    ] {
        if let Some(t) = t.as_str() {
            out.push_str(t);
        }
    }
}

/// How long to wait for the end of the HTTP body after `[DONE]` before giving the
/// connection up (the request itself is already complete).
const POST_DONE_GRACE: Duration = Duration::from_millis(200);

fn ns_between(a: Instant, b: Instant) -> u64 {
    u64::try_from(b.saturating_duration_since(a).as_nanos()).unwrap_or(u64::MAX)
}

impl Exec<'_> {
    /// Runs one streamed request. `conn` holds a reusable connection on entry (or none) and on
    /// exit (only when the response ended cleanly). Never runs past `timeout`.
    pub(crate) async fn execute(
        &self,
        job: Job,
        conn: &mut Option<Conn>,
        parser: &mut SseParser,
    ) -> RequestRecord {
        let send = Instant::now();
        let deadline = send + self.timeout;
        let sleep = tokio::time::sleep_until(deadline.into());
        tokio::pin!(sleep);
        let mut rec = RequestRecord {
            index: job.index,
            max_tokens: job.max_tokens,
            planned_ns: ns_between(job.phase_start, job.planned),
            sent_ns: ns_between(job.phase_start, send),
            connect_ns: None,
            headers_ns: None,
            status: None,
            // Capped: max_tokens is only an upper bound, and a huge one must not allocate up front.
            events: Vec::with_capacity(job.max_tokens.min(4096) as usize + 4),
            end_ns: 0,
            usage: None,
            finish_reason: None,
            error: None,
            text: String::new(),
            local_tokens: None,
            logprobs: Vec::new(),
        };
        let fail = |rec: &mut RequestRecord, kind: ErrorKind, message: String| {
            rec.end_ns = ns_between(send, Instant::now());
            rec.error = Some(RequestError { kind, message });
        };
        let timeout_msg = || format!("no end of stream within {:?}", self.timeout);

        // Connection and response headers; one retry on a fresh connection when a reused
        // one turns out to be closed (the keep-alive race every pooled client handles).
        let mut reused = conn.take();
        let response = loop {
            let was_reused = reused.is_some();
            let mut sender = match reused.take() {
                Some(mut c) => {
                    let ready = tokio::select! {
                        biased;
                        r = c.ready() => r.is_ok(),
                        () = &mut sleep => { fail(&mut rec, ErrorKind::Timeout, timeout_msg()); return rec; }
                    };
                    if ready {
                        c
                    } else {
                        continue;
                    }
                }
                None => {
                    let t = Instant::now();
                    let r = tokio::select! {
                        biased;
                        r = self.target.connect() => r,
                        () = &mut sleep => { fail(&mut rec, ErrorKind::Timeout, timeout_msg()); return rec; }
                    };
                    match r {
                        Ok(c) => {
                            rec.connect_ns = Some(ns_between(t, Instant::now()));
                            c
                        }
                        Err(m) => {
                            fail(&mut rec, ErrorKind::Connect, m);
                            return rec;
                        }
                    }
                }
            };
            let req = match self.target.request(job.body.clone()) {
                Ok(r) => r,
                Err(m) => {
                    fail(
                        &mut rec,
                        ErrorKind::Connect,
                        format!("building the request: {m}"),
                    );
                    return rec;
                }
            };
            let r = tokio::select! {
                biased;
                r = sender.send_request(req) => r,
                () = &mut sleep => { fail(&mut rec, ErrorKind::Timeout, timeout_msg()); return rec; }
            };
            match r {
                Ok(resp) => break (sender, resp),
                Err(_) if was_reused => {}
                Err(e) => {
                    fail(
                        &mut rec,
                        ErrorKind::Connect,
                        format!("request failed before response headers: {e}"),
                    );
                    return rec;
                }
            }
        };
        let (sender, resp) = response;
        rec.headers_ns = Some(ns_between(send, Instant::now()));
        let status = resp.status();
        rec.status = Some(status.as_u16());
        let content_type = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let mut body = resp.into_body();

        if !status.is_success() {
            let mut text = Vec::new();
            loop {
                let f = tokio::select! {
                    biased;
                    f = body.frame() => f,
                    () = &mut sleep => None,
                };
                match f {
                    Some(Ok(frame)) => {
                        if let Ok(d) = frame.into_data() {
                            text.extend_from_slice(&d[..d.len().min(4096 - text.len().min(4096))]);
                        }
                    }
                    _ => break,
                }
            }
            let msg = String::from_utf8_lossy(&text).trim().to_string();
            fail(
                &mut rec,
                ErrorKind::Http(status.as_u16()),
                format!("HTTP {status}: {msg}"),
            );
            return rec;
        }

        parser.reset();
        let done = std::sync::atomic::AtomicBool::new(false);
        let mut first_error: Option<RequestError> = None;
        let mut n_events = 0usize;
        // Tokens that whole characters may have joined into one event (emoji, CJK): a
        // server sends text, not bytes, so these never count against the strict check.
        let mut multibyte_slack: u64 = 0;
        let mut on_event = |data: &[u8], t: u64| {
            if done.load(std::sync::atomic::Ordering::Relaxed) {
                return;
            }
            n_events += 1;
            let info = classify(data);
            let kind = info.kind.unwrap_or(EventKind::Empty);
            if kind.is_token() {
                multibyte_slack += u64::from(info.multibyte_slack);
            }
            rec.events.push(Event {
                t_ns: t,
                kind,
                bytes: u32::try_from(data.len()).unwrap_or(u32::MAX),
            });
            if info.usage.is_some() {
                rec.usage = info.usage;
            }
            if info.finish_reason.is_some() {
                rec.finish_reason = info.finish_reason;
            }
            if self.capture_text
                && (kind.is_token() || matches!(kind, EventKind::Finish | EventKind::Empty))
            {
                push_token_text(data, &mut rec.text, &mut rec.logprobs);
            }
            let err = match kind {
                EventKind::Done => {
                    done.store(true, std::sync::atomic::Ordering::Relaxed);
                    rec.end_ns = t;
                    None
                }
                EventKind::Malformed => Some(RequestError {
                    kind: ErrorKind::MalformedEvent,
                    message: format!(
                        "event {n_events} is not JSON: {}",
                        String::from_utf8_lossy(&data[..data.len().min(80)])
                    ),
                }),
                EventKind::Error => Some(RequestError {
                    kind: ErrorKind::StreamError,
                    message: info.error.unwrap_or_default(),
                }),
                _ => None,
            };
            if first_error.is_none() {
                first_error = err;
            }
        };
        // Ok(true): body ended cleanly; Ok(false): timed out; Err: connection broke.
        let ended: std::result::Result<bool, String> = loop {
            let f = if done.load(std::sync::atomic::Ordering::Relaxed) {
                // After [DONE] only drain the body end (to reuse the connection), briefly.
                let until = deadline.min(Instant::now() + POST_DONE_GRACE);
                match tokio::time::timeout_at(until.into(), body.frame()).await {
                    Ok(f) => f,
                    Err(_) => break Ok(false),
                }
            } else {
                tokio::select! {
                    biased;
                    f = body.frame() => f,
                    () = &mut sleep => break Ok(false),
                }
            };
            match f {
                None => {
                    parser.finish(ns_between(send, Instant::now()), &mut on_event);
                    break Ok(true);
                }
                Some(Err(e)) => break Err(e.to_string()),
                Some(Ok(frame)) => {
                    if let Ok(d) = frame.into_data() {
                        parser.feed(&d, ns_between(send, Instant::now()), &mut on_event);
                    }
                }
            }
        };
        let now = ns_between(send, Instant::now());
        let error = if let Some(e) = first_error {
            Some(e)
        } else if done.load(std::sync::atomic::Ordering::Relaxed) {
            None
        } else {
            match &ended {
                Ok(false) => Some(RequestError {
                    kind: ErrorKind::Timeout,
                    message: format!("{} after {} events", timeout_msg(), rec.events.len()),
                }),
                Err(e) => Some(RequestError {
                    kind: ErrorKind::TruncatedStream,
                    message: format!(
                        "connection broke after {} events, before [DONE]: {e}",
                        rec.events.len()
                    ),
                }),
                Ok(true) if rec.finish_reason.is_none() => Some(RequestError {
                    kind: ErrorKind::TruncatedStream,
                    message: format!(
                        "stream ended after {} events without [DONE] or finish_reason (content-type {content_type:?})",
                        rec.events.len()
                    ),
                }),
                Ok(true) => None,
            }
        };
        let error = error.or_else(|| {
            let used = rec.usage.and_then(|u| u.completion_tokens)?;
            let seen = rec.token_events();
            (self.strict_token_count && seen + multibyte_slack < used).then(|| RequestError {
                kind: ErrorKind::TruncatedStream,
                message: format!(
                    "usage says {used} completion tokens but only {seen} token events arrived, \
                     and their multi-byte characters explain at most {multibyte_slack} more \
                     (a server that sends several tokens per event needs --lenient-token-count, \
                     strict_token_count = false in the library)"
                ),
            })
        });
        if !done.load(std::sync::atomic::Ordering::Relaxed) {
            rec.end_ns = now;
        }
        if error.is_some() {
            rec.end_ns = now;
        }
        rec.error = error;
        if ended == Ok(true) && status.is_success() {
            *conn = Some(sender);
        }
        rec
    }
}
