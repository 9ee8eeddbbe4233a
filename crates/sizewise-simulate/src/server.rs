//! The HTTP side: accept loop, routing, request parsing, responses.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body::Body;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::generate::{Events, Gen, Kind, Meta, SimBody, SseStream, run_to_end};
use crate::text::{self, count_tokens};
use crate::timing::Clock;
use crate::{SimConfig, SimError, StatsInner};

/// How long in-flight requests may go on after shutdown was asked.
pub(crate) const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// The largest `max_tokens` the simulator accepts.
pub const MAX_OUTPUT_TOKENS: u64 = 1 << 20;

/// State shared by every connection.
pub(crate) struct Shared {
    pub(crate) cfg: SimConfig,
    pub(crate) clock: Clock,
    pub(crate) slots: Arc<Semaphore>,
    pub(crate) stats: Arc<StatsInner>,
    model_json: String,
    counter: AtomicU64,
    fault_offset: f64,
    malformed_offset: f64,
}

impl Shared {
    pub(crate) fn new(cfg: SimConfig, stats: Arc<StatsInner>) -> Result<Shared, SimError> {
        cfg.validate()?;
        let clock = Clock::new(&cfg.timing)?;
        let model_json = serde_json::to_string(&cfg.served_model)
            .map_err(|e| SimError::Config(format!("served_model: {e}")))?;
        Ok(Shared {
            slots: Arc::new(Semaphore::new(cfg.max_batch as usize)),
            fault_offset: text::offset(cfg.seed, 0xFA17),
            malformed_offset: text::offset(cfg.seed, 0xBAD0),
            clock,
            stats,
            model_json,
            counter: AtomicU64::new(0),
            cfg,
        })
    }

    /// Requests holding a batch slot now.
    pub(crate) fn running(&self) -> u32 {
        let free = self
            .slots
            .available_permits()
            .min(self.cfg.max_batch as usize) as u32;
        self.cfg.max_batch - free
    }

    /// Records the running batch for the peak statistic.
    pub(crate) fn note_running(&self) {
        self.stats
            .peak_running
            .fetch_max(u64::from(self.running()), Ordering::Relaxed);
    }
}

/// Serves on `listener` until `shutdown` resolves.
pub(crate) async fn run(
    shared: Arc<Shared>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), SimError> {
    accept_loop(
        listener,
        move |req| handle(shared.clone(), req),
        shutdown,
        SHUTDOWN_GRACE,
    )
    .await;
    Ok(())
}

/// Serves each connection on `listener` with `handler` (HTTP/1.1, keep-alive) until
/// `shutdown` resolves, then lets open connections finish for up to `grace`. The accept loop
/// of `sizewise simulate` and of `sizewise serve`.
pub async fn accept_loop<H, Fut, B>(
    listener: TcpListener,
    handler: H,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) where
    H: Fn(Request<Incoming>) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<Response<B>, Infallible>> + Send + 'static,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new()).keep_alive(true);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    // Without it each small SSE write waits for a delayed ACK.
                    let _ = stream.set_nodelay(true);
                    let service = service_fn(handler.clone());
                    let conn = http.serve_connection(TokioIo::new(stream), service);
                    let conn = graceful.watch(conn);
                    tokio::spawn(async move {
                        let _ = conn.await;
                    });
                }
                // Out of file descriptors and the like: wait, then go on.
                Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(grace, graceful.shutdown()).await;
}

fn json_response(status: StatusCode, body: Vec<u8>) -> Response<SimBody> {
    let mut r = Response::new(SimBody::full(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// An OpenAI-style error response.
fn error(status: StatusCode, kind: &str, code: Option<&str>, message: &str) -> Response<SimBody> {
    let v = json!({"error": {"message": message, "type": kind, "param": null, "code": code}});
    json_response(status, v.to_string().into_bytes())
}

fn bad_request(shared: &Shared, message: &str) -> Response<SimBody> {
    shared.stats.rejected.fetch_add(1, Ordering::Relaxed);
    error(
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        None,
        message,
    )
}

async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<SimBody>, Infallible> {
    let t0 = Instant::now();
    let kind = match req.uri().path() {
        "/v1/chat/completions" => Kind::Chat,
        "/v1/completions" => Kind::Completion,
        "/v1/models" if req.method() == Method::GET => return Ok(models(&shared)),
        "/health" if req.method() == Method::GET => {
            return Ok(json_response(
                StatusCode::OK,
                b"{\"status\":\"ok\"}".to_vec(),
            ));
        }
        "/v1/models" | "/health" => return Ok(not_allowed("GET")),
        p => {
            return Ok(error(
                StatusCode::NOT_FOUND,
                "invalid_request_error",
                Some("not_found"),
                &format!("no route for {} {p}", req.method()),
            ));
        }
    };
    if req.method() != Method::POST {
        return Ok(not_allowed("POST"));
    }
    shared.stats.requests.fetch_add(1, Ordering::Relaxed);
    Ok(completion(shared, req, kind, t0).await)
}

fn not_allowed(allow: &'static str) -> Response<SimBody> {
    let mut r = error(
        StatusCode::METHOD_NOT_ALLOWED,
        "invalid_request_error",
        Some("method_not_allowed"),
        &format!("method not allowed; use {allow}"),
    );
    r.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    r
}

fn models(shared: &Shared) -> Response<SimBody> {
    let v = json!({"object": "list", "data": [{
        "id": shared.cfg.served_model,
        "object": "model",
        "created": now_unix(),
        "owned_by": "sizewise-simulate",
    }]});
    json_response(StatusCode::OK, v.to_string().into_bytes())
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn too_large(shared: &Shared) -> Response<SimBody> {
    shared.stats.rejected.fetch_add(1, Ordering::Relaxed);
    error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "invalid_request_error",
        Some("request_too_large"),
        &format!(
            "the request body is larger than {} bytes",
            shared.cfg.max_body_bytes
        ),
    )
}

#[derive(Deserialize)]
struct RawRequest {
    messages: Option<Vec<RawMessage>>,
    prompt: Option<Value>,
    max_tokens: Option<u64>,
    max_completion_tokens: Option<u64>,
    stream: Option<bool>,
    stream_options: Option<StreamOptions>,
    n: Option<u64>,
}

#[derive(Deserialize)]
struct RawMessage {
    role: String,
    #[serde(default)]
    content: Value,
}

#[derive(Deserialize)]
struct StreamOptions {
    #[serde(default)]
    include_usage: bool,
}

/// Tokens of a message's content: a string, or an array of parts whose `text`
/// fields count (images and other parts count 0).
/// The text of a message's `content` (a string or text parts).
fn content_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

fn content_tokens(v: &Value) -> Result<u64, String> {
    match v {
        Value::Null => Ok(0),
        Value::String(s) => Ok(count_tokens(s)),
        Value::Array(parts) => Ok(parts
            .iter()
            .map(|p| {
                p.get("text")
                    .and_then(Value::as_str)
                    .map_or(0, count_tokens)
            })
            .sum()),
        _ => Err("`content` must be a string or an array of content parts".into()),
    }
}

/// Tokens of a completions `prompt`: a string, an array of token ids, or an
/// array holding exactly one of those.
fn prompt_tokens(v: &Value) -> Result<u64, String> {
    match v {
        Value::String(s) => Ok(count_tokens(s)),
        Value::Array(items) if items.iter().all(Value::is_number) => Ok(items.len() as u64),
        Value::Array(items) if items.len() == 1 => {
            prompt_tokens(items.first().unwrap_or(&Value::Null))
        }
        Value::Array(_) => {
            Err("batched prompts are not supported: send one prompt per request".into())
        }
        _ => Err("`prompt` must be a string or an array of token ids".into()),
    }
}

struct Parsed {
    /// The last message's text (chat) or the prompt (completions), for answers.
    last: Option<String>,
    prompt_tokens: u64,
    n: u32,
    stream: bool,
    include_usage: bool,
}

fn parse(shared: &Shared, kind: Kind, body: &[u8]) -> Result<Parsed, String> {
    let raw: RawRequest =
        serde_json::from_slice(body).map_err(|e| format!("invalid JSON body: {e}"))?;
    let last;
    let prompt_tokens = match kind {
        Kind::Chat => {
            let msgs = raw
                .messages
                .ok_or("`messages` is required for /v1/chat/completions")?;
            if msgs.is_empty() {
                return Err("`messages` must hold at least one message".into());
            }
            let mut total = 0;
            last = msgs.last().map(|m| content_text(&m.content));
            for m in &msgs {
                if m.role.is_empty() {
                    return Err("each message needs a `role`".into());
                }
                total += content_tokens(&m.content)?;
            }
            total
        }
        Kind::Completion => {
            let prompt = raw
                .prompt
                .as_ref()
                .ok_or("`prompt` is required for /v1/completions")?;
            last = prompt.as_str().map(str::to_string);
            prompt_tokens(prompt)?
        }
    };
    if raw.n.is_some_and(|n| n != 1) {
        return Err("only `n: 1` is supported".into());
    }
    let max = raw
        .max_completion_tokens
        .or(raw.max_tokens)
        .unwrap_or(u64::from(shared.cfg.default_max_tokens));
    if max == 0 || max > MAX_OUTPUT_TOKENS {
        return Err(format!(
            "`max_tokens` must be between 1 and {MAX_OUTPUT_TOKENS}, got {max}"
        ));
    }
    if let Some(w) = shared.clock.context_window()
        && prompt_tokens + max > w
    {
        return Err(format!(
            "this model's maximum context length is {w} tokens; the request has {prompt_tokens} prompt tokens and asks for {max} output tokens"
        ));
    }
    let stream = raw.stream.unwrap_or(false);
    Ok(Parsed {
        last,
        prompt_tokens,
        n: max as u32,
        stream,
        include_usage: stream && raw.stream_options.is_some_and(|o| o.include_usage),
    })
}

/// Bytes of an over-limit body read and thrown away before answering 413, so
/// that the client, still writing, gets the answer instead of a reset.
const DRAIN_CAP: u64 = 64 << 20;

async fn read_body(shared: &Shared, req: Request<Incoming>) -> Result<Bytes, Response<SimBody>> {
    let limit = shared.cfg.max_body_bytes as u64;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let mut over = declared.is_some_and(|n| n > limit);
    let mut body = req.into_body();
    let mut buf = Vec::with_capacity(declared.unwrap_or(0).min(limit) as usize);
    let mut total = 0u64;
    let mut drained = true;
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(f) => f,
            Err(e) => {
                return Err(bad_request(
                    shared,
                    &format!("cannot read the request body: {e}"),
                ));
            }
        };
        if let Ok(data) = frame.into_data() {
            total += data.len() as u64;
            if total > limit {
                over = true;
                buf = Vec::new();
            } else if !over {
                buf.extend_from_slice(&data);
            }
            if total > DRAIN_CAP {
                drained = false;
                break;
            }
        }
    }
    if over {
        let mut r = too_large(shared);
        if !drained {
            r.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        return Err(r);
    }
    Ok(Bytes::from(buf))
}

async fn completion(
    shared: Arc<Shared>,
    req: Request<Incoming>,
    kind: Kind,
    t0: Instant,
) -> Response<SimBody> {
    let body = match read_body(&shared, req).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let mut p = match parse(&shared, kind, &body) {
        Ok(p) => p,
        Err(m) => return bad_request(&shared, &m),
    };
    // A suite's prompt gets its answer (right or wrong as drawn), cut at max_tokens.
    let fixed: Option<Arc<Vec<String>>> = match (&shared.cfg.answers, &p.last) {
        (Some(a), Some(last)) => a.answer(last).map(|text| {
            let mut pieces = crate::answers::pieces(text);
            if pieces.is_empty() {
                pieces.push(" ".into());
            }
            pieces.truncate(p.n as usize);
            Arc::new(pieces)
        }),
        _ => None,
    };
    if let Some(f) = &fixed {
        p.n = f.len() as u32;
    }
    let (ttft, tpot) = match (
        shared.clock.ttft(p.prompt_tokens, u64::from(p.n)),
        shared.clock.tpot(p.prompt_tokens, u64::from(p.n), 1),
    ) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return bad_request(&shared, &e.to_string()),
    };

    // Faults, from the request's arrival index.
    let index = shared.counter.fetch_add(1, Ordering::Relaxed);
    let cfg = &shared.cfg;
    let u = text::sequence(shared.fault_offset, text::STEP_FAULT, index);
    if u < cfg.error_rate {
        shared.stats.injected_errors.fetch_add(1, Ordering::Relaxed);
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            None,
            "The server had an error while processing your request (injected by sizewise-simulate: error_rate).",
        );
    }
    let drop_after = match cfg.drop_stream_after {
        Some(k) if p.stream && crate::in_drop_share(cfg.error_rate, u) => Some(k),
        _ => None,
    };
    let malformed =
        text::sequence(shared.malformed_offset, text::STEP_MALFORMED, index) < cfg.malformed_rate;

    let seed = text::hash_request(cfg.seed, &body);
    let id_hex = text::mix(seed ^ index);
    let created = now_unix();
    let mut sched = Gen::new(shared.clone(), t0, ttft, tpot, p.prompt_tokens, p.n);

    if p.stream {
        let id = match kind {
            Kind::Chat => format!("chatcmpl-{id_hex:016x}"),
            Kind::Completion => format!("cmpl-{id_hex:016x}"),
        };
        let meta = Meta {
            kind,
            id: &id,
            created,
            model_json: &shared.model_json,
        };
        let events = Events::new(
            meta,
            p.include_usage,
            seed,
            p.prompt_tokens,
            p.n,
            fixed.clone(),
        );
        let malformed_at = malformed.then_some(p.n / 2);
        let sse = SseStream::new(sched, events, drop_after, malformed_at);
        let mut r = Response::new(SimBody::Stream(Box::new(sse)));
        let h = r.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/event-stream"),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        return r;
    }

    if run_to_end(&mut sched).await.is_err() {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "server_error",
            None,
            "the simulator is shutting down",
        );
    }
    debug_assert_eq!(sched.emitted(), p.n);
    drop(sched);
    let text = match &fixed {
        Some(f) => f.concat(),
        None => text::text(seed, p.n),
    };
    let usage = json!({
        "prompt_tokens": p.prompt_tokens,
        "completion_tokens": p.n,
        "total_tokens": p.prompt_tokens + u64::from(p.n),
    });
    let v = match kind {
        Kind::Chat => json!({
            "id": format!("chatcmpl-{id_hex:016x}"),
            "object": "chat.completion",
            "created": created,
            "model": cfg.served_model,
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": null},
                "logprobs": null,
                "finish_reason": "length",
            }],
            "usage": usage,
        }),
        Kind::Completion => json!({
            "id": format!("cmpl-{id_hex:016x}"),
            "object": "text_completion",
            "created": created,
            "model": cfg.served_model,
            "choices": [{
                "index": 0,
                "text": text,
                "logprobs": null,
                "finish_reason": "length",
            }],
            "usage": usage,
        }),
    };
    let mut out = v.to_string().into_bytes();
    if malformed {
        out.truncate(out.len() / 2);
        shared.stats.malformed.fetch_add(1, Ordering::Relaxed);
    }
    shared.stats.completed.fetch_add(1, Ordering::Relaxed);
    json_response(StatusCode::OK, out)
}
