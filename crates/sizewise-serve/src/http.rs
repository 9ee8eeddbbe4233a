//! The HTTP side: accept loop, routing, bodies, OpenAI-style answers and errors.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};
use sizewise_engine::{EngineError, GeneratedLogprobs, TokenLogprob};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::request::{self, BadRequest, Defaults, Kind};
use crate::worker::{EVENT_BUFFER, Event, Job, Outcome};
use crate::{Counters, SHUTDOWN_GRACE};

/// Bytes of an over-limit body read and thrown away before answering 413, so that a client
/// still writing gets the answer instead of a reset connection.
const DRAIN_CAP: u64 = 64 << 20;

/// State shared by every connection.
pub(crate) struct Shared {
    model_id: String,
    max_body_bytes: usize,
    context_tokens: u32,
    /// Taken out when the server stops, so that the workers see the queue close.
    queue: Mutex<Option<SyncSender<Job>>>,
    counters: Arc<Counters>,
    next_id: AtomicU64,
}

impl Shared {
    pub(crate) fn new(
        config: crate::ServeConfig,
        context_tokens: u32,
        queue: SyncSender<Job>,
        counters: Arc<Counters>,
    ) -> Shared {
        Shared {
            model_id: config.model_id,
            max_body_bytes: config.max_body_bytes,
            context_tokens,
            queue: Mutex::new(Some(queue)),
            counters,
            next_id: AtomicU64::new(0),
        }
    }

    fn close_queue(&self) {
        self.queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
    }

    /// Queues `job`; `Some` is the refusal when it could not be queued.
    fn enqueue(&self, job: Job) -> Option<Response<ServeBody>> {
        let queue = self
            .queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let sent = match queue.as_ref() {
            Some(queue) => queue.try_send(job),
            None => Err(TrySendError::Disconnected(job)),
        };
        match sent {
            Ok(()) => None,
            Err(TrySendError::Full(_)) => {
                self.counters.queue_full.fetch_add(1, Ordering::Relaxed);
                Some(error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "server_error",
                    Some("queue_full"),
                    None,
                    "every worker is busy and the queue is full; retry later",
                ))
            }
            Err(TrySendError::Disconnected(_)) => Some(shutting_down()),
        }
    }
}

/// Serves on `listener` until `shutdown` resolves, then lets in-flight requests finish for up
/// to [`SHUTDOWN_GRACE`] and closes the queue, which ends the workers.
pub(crate) async fn run(
    shared: Arc<Shared>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) {
    let handler = {
        let shared = shared.clone();
        move |req| handle(shared.clone(), req)
    };
    sizewise_simulate::accept_loop(listener, handler, shutdown, SHUTDOWN_GRACE).await;
    shared.close_queue();
}

/// A response body: a whole JSON document or a server-sent-event stream.
pub(crate) enum ServeBody {
    Full(Option<Bytes>),
    Sse(Box<SseBody>),
}

impl Body for ServeBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            ServeBody::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            ServeBody::Sse(sse) => sse.poll_event(cx).map(|b| b.map(|b| Ok(Frame::data(b)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            ServeBody::Full(bytes) => bytes.is_none(),
            ServeBody::Sse(sse) => sse.done,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            ServeBody::Full(Some(b)) => SizeHint::with_exact(b.len() as u64),
            ServeBody::Full(None) => SizeHint::with_exact(0),
            ServeBody::Sse(_) => SizeHint::default(),
        }
    }
}

/// What every answer to one request repeats.
struct Meta {
    kind: Kind,
    id: String,
    created: u64,
    model: Value,
}

impl Meta {
    fn object(&self, stream: bool) -> &'static str {
        match (self.kind, stream) {
            (Kind::Chat, true) => "chat.completion.chunk",
            (Kind::Chat, false) => "chat.completion",
            (Kind::Completion, _) => "text_completion",
        }
    }
}

/// A streamed answer: the worker's events as `data:` lines, ending with `data: [DONE]`.
///
/// Dropping it (the client went away) drops the event receiver, which stops the worker.
pub(crate) struct SseBody {
    events: mpsc::Receiver<Event>,
    /// The first event, read before answering so that an error can still get its status.
    head: Option<Event>,
    meta: Meta,
    include_usage: bool,
    /// Whether the request asked for log-probabilities.
    logprobs: bool,
    started: bool,
    done: bool,
}

impl SseBody {
    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        if self.done {
            return Poll::Ready(None);
        }
        let event = match self.head.take() {
            Some(event) => event,
            None => match ready!(self.events.poll_recv(cx)) {
                Some(event) => event,
                // The worker is gone without an end: end the stream without [DONE].
                None => {
                    self.done = true;
                    return Poll::Ready(None);
                }
            },
        };
        let mut out = Vec::with_capacity(256);
        if !self.started && self.meta.kind == Kind::Chat {
            self.chunk(&mut out, json!({"role": "assistant", "content": ""}), None);
        }
        self.started = true;
        match event {
            Event::Piece(piece) => self.content(&mut out, &piece, None),
            Event::Done(outcome) => {
                // A stream's log-probabilities come whole with its last chunk: clients join
                // the `content` arrays of all chunks.
                let logprobs = self.logprobs.then(|| logprobs_json(&outcome.logprobs));
                self.content_with(&mut out, "", Some(outcome.finish_reason), logprobs);
                if self.include_usage {
                    let usage = json!({
                        "id": self.meta.id,
                        "object": self.meta.object(true),
                        "created": self.meta.created,
                        "model": self.meta.model,
                        "choices": [],
                        "usage": usage(&outcome),
                    });
                    push_event(&mut out, &usage);
                }
                out.extend_from_slice(b"data: [DONE]\n\n");
                self.done = true;
            }
            Event::Failed(err) => {
                let (_, kind, code) = classify(&err);
                let body = json!({"error": {
                    "message": err.to_string(), "type": kind, "param": null, "code": code,
                }});
                push_event(&mut out, &body);
                self.done = true;
            }
        }
        Poll::Ready(Some(Bytes::from(out)))
    }

    /// A chunk carrying `text` (a chat delta or a completion's text).
    fn content(&self, out: &mut Vec<u8>, text: &str, finish: Option<&str>) {
        self.content_with(out, text, finish, None);
    }

    /// A chunk carrying `text`, and the choice's `logprobs` when given.
    fn content_with(
        &self,
        out: &mut Vec<u8>,
        text: &str,
        finish: Option<&str>,
        logprobs: Option<Value>,
    ) {
        let delta = match (self.meta.kind, finish) {
            (Kind::Chat, Some(_)) => json!({}),
            (Kind::Chat, None) => json!({"content": text}),
            (Kind::Completion, _) => Value::String(text.to_string()),
        };
        self.chunk_with(out, delta, finish, logprobs);
    }

    fn chunk(&self, out: &mut Vec<u8>, delta: Value, finish: Option<&str>) {
        self.chunk_with(out, delta, finish, None);
    }

    fn chunk_with(
        &self,
        out: &mut Vec<u8>,
        delta: Value,
        finish: Option<&str>,
        logprobs: Option<Value>,
    ) {
        let field = match self.meta.kind {
            Kind::Chat => "delta",
            Kind::Completion => "text",
        };
        let logprobs = logprobs.unwrap_or(Value::Null);
        let mut choice = json!({"index": 0, "logprobs": logprobs, "finish_reason": finish});
        choice[field] = delta;
        let mut chunk = json!({
            "id": self.meta.id,
            "object": self.meta.object(true),
            "created": self.meta.created,
            "model": self.meta.model,
            "choices": [choice],
        });
        if self.include_usage {
            chunk["usage"] = Value::Null;
        }
        push_event(out, &chunk);
    }
}

/// A chat completion's `logprobs` object, as OpenAI writes it.
fn logprobs_json(tokens: &[GeneratedLogprobs]) -> Value {
    let entry = |t: &TokenLogprob| json!({"token": t.token, "logprob": finite(t.logprob), "bytes": t.token.as_bytes()});
    let content: Vec<Value> = tokens
        .iter()
        .map(|t| {
            let mut e = entry(&t.chosen);
            e["top_logprobs"] = t.top.iter().map(entry).collect();
            e
        })
        .collect();
    json!({"content": content, "refusal": null})
}

/// JSON has no infinity: an impossible token gets OpenAI's floor of -9999.
fn finite(logprob: f64) -> f64 {
    if logprob.is_finite() {
        logprob
    } else {
        -9999.0
    }
}

fn push_event(out: &mut Vec<u8>, value: &Value) {
    out.extend_from_slice(b"data: ");
    out.extend_from_slice(value.to_string().as_bytes());
    out.extend_from_slice(b"\n\n");
}

fn usage(outcome: &Outcome) -> Value {
    json!({
        "prompt_tokens": outcome.prompt_tokens,
        "completion_tokens": outcome.output_tokens,
        "total_tokens": outcome.prompt_tokens + outcome.output_tokens,
    })
}

fn json_response(status: StatusCode, body: &Value) -> Response<ServeBody> {
    let mut r = Response::new(ServeBody::Full(Some(Bytes::from(body.to_string()))));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// An OpenAI-style error answer.
fn error(
    status: StatusCode,
    kind: &str,
    code: Option<&str>,
    param: Option<&str>,
    message: &str,
) -> Response<ServeBody> {
    let body = json!({"error": {"message": message, "type": kind, "param": param, "code": code}});
    json_response(status, &body)
}

fn shutting_down() -> Response<ServeBody> {
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "server_error",
        Some("shutting_down"),
        None,
        "the server is shutting down",
    )
}

/// The status, OpenAI error type and code for an engine error: the request's fault or ours.
fn classify(err: &EngineError) -> (StatusCode, &'static str, Option<&'static str>) {
    match err {
        EngineError::PromptTooLong { .. } => (
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            Some("context_length_exceeded"),
        ),
        EngineError::InvalidOption { .. } | EngineError::Chat { .. } | EngineError::EmptyPrompt => {
            (StatusCode::BAD_REQUEST, "invalid_request_error", None)
        }
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "server_error", None),
    }
}

fn engine_error(err: &EngineError) -> Response<ServeBody> {
    let (status, kind, code) = classify(err);
    error(status, kind, code, None, &err.to_string())
}

fn not_allowed(allow: &'static str) -> Response<ServeBody> {
    let mut r = error(
        StatusCode::METHOD_NOT_ALLOWED,
        "invalid_request_error",
        Some("method_not_allowed"),
        None,
        &format!("method not allowed; use {allow}"),
    );
    r.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    r
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<ServeBody>, Infallible> {
    let kind = match (req.uri().path(), req.method()) {
        ("/v1/chat/completions", &Method::POST) => Kind::Chat,
        ("/v1/completions", &Method::POST) => Kind::Completion,
        ("/v1/chat/completions" | "/v1/completions", _) => return Ok(not_allowed("POST")),
        ("/v1/models", &Method::GET) => {
            let body = json!({"object": "list", "data": [{
                "id": shared.model_id,
                "object": "model",
                "created": now_unix(),
                "owned_by": "sizewise-serve",
            }]});
            return Ok(json_response(StatusCode::OK, &body));
        }
        ("/health", &Method::GET) => {
            return Ok(json_response(StatusCode::OK, &json!({"status": "ok"})));
        }
        ("/v1/models" | "/health", _) => return Ok(not_allowed("GET")),
        (path, method) => {
            return Ok(error(
                StatusCode::NOT_FOUND,
                "invalid_request_error",
                Some("not_found"),
                None,
                &format!("no route for {method} {path}"),
            ));
        }
    };
    shared.counters.requests.fetch_add(1, Ordering::Relaxed);
    let response = completion(&shared, req, kind).await;
    if response.status().is_client_error() || response.status().is_server_error() {
        // Engine failures were counted by their worker; queue-full refusals on their own.
        let counted = response.status() == StatusCode::SERVICE_UNAVAILABLE;
        if !counted {
            shared.counters.failed.fetch_add(1, Ordering::Relaxed);
        }
    }
    Ok(response)
}

/// Why a body was not read.
enum BodyError {
    /// Over the limit; `drained` says whether the client's whole body was read.
    TooLarge { drained: bool },
    /// The connection failed while reading.
    Read(String),
}

/// The request body, at most `limit` bytes.
async fn read_body(req: Request<Incoming>, limit: usize) -> Result<Bytes, BodyError> {
    let limit = limit as u64;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let mut over = declared.is_some_and(|n| n > limit);
    let mut body = req.into_body();
    let mut buf = Vec::with_capacity(declared.unwrap_or(0).min(limit) as usize);
    let mut seen = 0u64;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|err| BodyError::Read(err.to_string()))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen += data.len() as u64;
        if seen > DRAIN_CAP {
            return Err(BodyError::TooLarge { drained: false });
        }
        over |= seen > limit;
        if over {
            buf = Vec::new();
        } else {
            buf.extend_from_slice(&data);
        }
    }
    if over {
        return Err(BodyError::TooLarge { drained: true });
    }
    Ok(Bytes::from(buf))
}

async fn completion(shared: &Shared, req: Request<Incoming>, kind: Kind) -> Response<ServeBody> {
    let body = match read_body(req, shared.max_body_bytes).await {
        Ok(body) => body,
        Err(BodyError::TooLarge { drained }) => {
            let mut r = error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request_error",
                Some("request_too_large"),
                None,
                &format!(
                    "the request body is larger than {} bytes",
                    shared.max_body_bytes
                ),
            );
            if !drained {
                r.headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            return r;
        }
        Err(BodyError::Read(reason)) => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                None,
                None,
                &format!("cannot read the request body: {reason}"),
            );
        }
    };
    let n = shared.next_id.fetch_add(1, Ordering::Relaxed);
    let created = now_unix();
    let defaults = Defaults {
        max_tokens: shared.context_tokens,
        // Requests without a seed still differ from each other.
        seed: (n as u32).wrapping_mul(0x9E37_79B9) ^ created as u32,
    };
    let parsed = match request::parse(kind, &body, defaults) {
        Ok(parsed) => parsed,
        Err(BadRequest { message, param }) => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                None,
                param,
                &message,
            );
        }
    };
    drop(body);
    let wants_logprobs = parsed.params.top_logprobs.is_some();
    let (tx, mut rx) = mpsc::channel(EVENT_BUFFER);
    let job = Job {
        prompt: parsed.prompt,
        params: parsed.params,
        stream: parsed.stream,
        events: tx,
    };
    if let Some(response) = shared.enqueue(job) {
        return response;
    }
    let prefix = match kind {
        Kind::Chat => "chatcmpl",
        Kind::Completion => "cmpl",
    };
    let meta = Meta {
        kind,
        id: format!("{prefix}-{created:x}{n:06x}"),
        created,
        model: Value::String(shared.model_id.clone()),
    };

    // Wait for the first event before answering, so that a refused prompt still gets its
    // status code instead of an error inside a 200 stream.
    let first = loop {
        match rx.recv().await {
            // Only a stream gets pieces; the whole text comes with the end otherwise.
            Some(Event::Piece(_)) if !parsed.stream => {}
            Some(event) => break event,
            None => return shutting_down(),
        }
    };
    if let Event::Failed(err) = &first {
        return engine_error(err);
    }
    if parsed.stream {
        let sse = SseBody {
            events: rx,
            head: Some(first),
            meta,
            include_usage: parsed.include_usage,
            logprobs: wants_logprobs,
            started: false,
            done: false,
        };
        let mut r = Response::new(ServeBody::Sse(Box::new(sse)));
        let h = r.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/event-stream"),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        return r;
    }
    let Event::Done(outcome) = first else {
        return shutting_down();
    };
    let choice = match kind {
        Kind::Chat => json!({
            "index": 0,
            "message": {"role": "assistant", "content": outcome.text, "refusal": null},
            "logprobs": if wants_logprobs { logprobs_json(&outcome.logprobs) } else { Value::Null },
            "finish_reason": outcome.finish_reason,
        }),
        Kind::Completion => json!({
            "index": 0,
            "text": outcome.text,
            "logprobs": null,
            "finish_reason": outcome.finish_reason,
        }),
    };
    let body = json!({
        "id": meta.id,
        "object": meta.object(false),
        "created": meta.created,
        "model": meta.model,
        "choices": [choice],
        "usage": usage(&outcome),
    });
    json_response(StatusCode::OK, &body)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn sse(kind: Kind, include_usage: bool, events: Vec<Event>) -> String {
        sse_with(kind, include_usage, false, events)
    }

    fn sse_with(kind: Kind, include_usage: bool, logprobs: bool, events: Vec<Event>) -> String {
        let (tx, rx) = mpsc::channel(events.len().max(1));
        for event in events {
            tx.try_send(event).unwrap();
        }
        drop(tx);
        let mut body = SseBody {
            events: rx,
            head: None,
            meta: Meta {
                kind,
                id: "chatcmpl-1".into(),
                created: 1,
                model: Value::String("m".into()),
            },
            include_usage,
            logprobs,
            started: false,
            done: false,
        };
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        let mut out = String::new();
        while let Poll::Ready(Some(bytes)) = body.poll_event(&mut cx) {
            out.push_str(std::str::from_utf8(&bytes).unwrap());
        }
        out
    }

    fn done(finish_reason: &'static str) -> Event {
        Event::Done(Outcome {
            text: String::new(),
            prompt_tokens: 3,
            output_tokens: 2,
            finish_reason,
            logprobs: Vec::new(),
        })
    }

    #[test]
    fn a_stream_with_logprobs_sends_them_with_its_last_chunk() {
        let token = |t: &str, lp: f64| TokenLogprob {
            token: t.into(),
            logprob: lp,
        };
        let end = Event::Done(Outcome {
            text: String::new(),
            prompt_tokens: 3,
            output_tokens: 1,
            finish_reason: "length",
            logprobs: vec![GeneratedLogprobs {
                chosen: token("Hi", -0.1),
                top: vec![token("Hi", -0.1), token("Yo", f64::NEG_INFINITY)],
            }],
        });
        let text = sse_with(
            Kind::Chat,
            false,
            true,
            vec![Event::Piece("Hi".into()), end],
        );
        let lines = data_lines(&text);
        let chunks: Vec<Value> = lines[..lines.len() - 1]
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(chunks[1]["choices"][0]["logprobs"], Value::Null);
        let last = &chunks[chunks.len() - 1]["choices"][0];
        assert_eq!(last["finish_reason"], "length");
        let content = &last["logprobs"]["content"];
        assert_eq!(content[0]["token"], "Hi");
        assert_eq!(content[0]["bytes"], json!([72, 105]));
        assert_eq!(content[0]["top_logprobs"][1]["token"], "Yo");
        assert_eq!(content[0]["top_logprobs"][1]["logprob"], -9999.0);
    }

    fn data_lines(text: &str) -> Vec<&str> {
        text.split("\n\n")
            .filter(|l| !l.is_empty())
            .map(|l| l.strip_prefix("data: ").unwrap())
            .collect()
    }

    #[test]
    fn a_chat_stream_with_usage() {
        let text = sse(
            Kind::Chat,
            true,
            vec![
                Event::Piece("Hel".into()),
                Event::Piece("lo".into()),
                done("length"),
            ],
        );
        let lines = data_lines(&text);
        assert_eq!(lines.len(), 6, "{text}");
        assert_eq!(lines[5], "[DONE]");
        let chunks: Vec<Value> = lines[..5]
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
        assert_eq!(chunks[1]["choices"][0]["delta"]["content"], "Hel");
        assert_eq!(chunks[2]["object"], "chat.completion.chunk");
        assert_eq!(chunks[3]["choices"][0]["finish_reason"], "length");
        assert_eq!(chunks[3]["usage"], Value::Null);
        assert_eq!(chunks[4]["choices"], json!([]));
        assert_eq!(chunks[4]["usage"]["total_tokens"], 5);
    }

    #[test]
    fn a_completion_stream_without_usage() {
        let text = sse(
            Kind::Completion,
            false,
            vec![Event::Piece("a".into()), done("stop")],
        );
        let lines = data_lines(&text);
        assert_eq!(lines.len(), 3, "{text}");
        let first: Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(first["object"], "text_completion");
        assert_eq!(first["choices"][0]["text"], "a");
        assert!(first.get("usage").is_none());
        let last: Value = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(last["choices"][0]["finish_reason"], "stop");
    }

    #[test]
    fn a_failure_mid_stream_ends_without_done() {
        let failure = Event::Failed(EngineError::Decode {
            what: "a generated token".into(),
            reason: "test".into(),
        });
        let text = sse(Kind::Chat, false, vec![Event::Piece("a".into()), failure]);
        let lines = data_lines(&text);
        let last: Value = serde_json::from_str(lines[lines.len() - 1]).unwrap();
        assert_eq!(last["error"]["type"], "server_error");
        assert!(!text.contains("[DONE]"));
    }

    #[test]
    fn prompt_too_long_is_the_clients_fault() {
        let err = EngineError::PromptTooLong {
            prompt_tokens: 10,
            context_tokens: 8,
        };
        let (status, kind, code) = classify(&err);
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(kind, "invalid_request_error");
        assert_eq!(code, Some("context_length_exceeded"));
    }
}
