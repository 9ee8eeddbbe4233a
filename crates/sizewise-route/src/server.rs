//! The gateway's HTTP side: keys, the policy, budgets, forwarding with fallbacks, the ledger.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::json;
use tokio::sync::mpsc;

use crate::RouteError;
use crate::config::{Config, OnBudget};
use crate::keys::{KeyState, hash_key};
use crate::ledger::{Ledger, Row};
use crate::metrics::Metrics;
use crate::policy::{self, Counters, Decision};
use crate::request::{self, Kind, Parsed, Rewrite, SseScan};

/// Output tokens reserved against a budget when the client sets no `max_tokens` (the
/// gateway then sets it, so the reservation bounds the cost).
pub const DEFAULT_RESERVED_OUTPUT: u64 = 1024;
/// Tokens a chat template may add beyond the messages, in a reservation.
const TEMPLATE_SLACK: u64 = 64;
/// Largest answer body read from an upstream.
const MAX_ANSWER_BYTES: usize = 64 << 20;

/// Header that names the upstream that answered.
pub const ROUTE_HEADER: &str = "x-sizewise-route";
/// Header that says why.
pub const REASON_HEADER: &str = "x-sizewise-reason";

type UpstreamClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// The running gateway's state.
pub struct Gateway {
    pub(crate) cfg: Config,
    counters: Counters,
    client: UpstreamClient,
    pub(crate) ledger: Ledger,
    keys: Vec<KeyState>,
    anonymous: KeyState,
    pub(crate) metrics: Metrics,
    auth: Vec<Option<HeaderValue>>,
    boot: u64,
    seq: AtomicU64,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("listen", &self.cfg.listen)
            .finish()
    }
}

impl Gateway {
    /// Opens the ledger, reads what each key has spent, loads tokenizers and builds the
    /// upstream client. Returns warnings for the operator alongside.
    pub async fn new(cfg: Config) -> Result<(Gateway, Vec<String>), RouteError> {
        let ledger = Ledger::open(&cfg.ledger).await?;
        if let Ledger::Postgres(pg) = &ledger {
            for k in cfg.keys.iter().filter(|k| k.budget_usd.is_some()) {
                pg.ensure_key(&k.name)
                    .await
                    .map_err(|e| RouteError::Ledger(format!("{}: {e}", pg.describe())))?;
            }
        }
        let spent = ledger.spent_by_key().await?;
        let spent_of = |name: &str| spent.iter().find(|(k, _)| k == name).map_or(0.0, |s| s.1);
        let keys = cfg
            .keys
            .iter()
            .map(|k| KeyState::new(k.clone(), spent_of(&k.name)))
            .collect();
        let anonymous = KeyState::new(
            crate::config::Key {
                name: "-".into(),
                sha256: [0; 32],
                budget_usd: None,
                requests_per_minute: None,
            },
            0.0,
        );
        let counters = Counters::new(&cfg);
        let mut warnings = cfg.warnings.clone();
        warnings.extend(counters.preload(&cfg));
        let auth = auth_headers(&cfg);
        let client = build_client()?;
        let boot = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        Ok((
            Gateway {
                cfg,
                counters,
                client,
                ledger,
                keys,
                anonymous,
                metrics: Metrics::new(),
                auth,
                boot,
                seq: AtomicU64::new(0),
            },
            warnings,
        ))
    }

    /// The key a request carries, or the error code and message of a 401.
    fn authenticate(&self, headers: &HeaderMap) -> Result<&KeyState, (&'static str, &'static str)> {
        if self.keys.is_empty() {
            return Ok(&self.anonymous);
        }
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let Some(token) = token else {
            return Err((
                "missing_api_key",
                "this gateway needs a key: send `Authorization: Bearer <key>`",
            ));
        };
        let h = hash_key(token);
        self.keys.iter().find(|k| k.key.sha256 == h).ok_or((
            "invalid_api_key",
            "the key is not one of this gateway's keys",
        ))
    }

    /// USD `key` has left, when it has a budget: from the database with PostgreSQL (shared by
    /// every replica), else from this process.
    async fn left(&self, key: &KeyState) -> Result<Option<f64>, String> {
        match (&self.ledger, key.key.budget_usd) {
            (_, None) => Ok(None),
            (Ledger::Postgres(pg), Some(b)) => pg.left(&key.key.name, b).await.map(Some),
            (Ledger::Sqlite(_), Some(_)) => Ok(key.left()),
        }
    }

    /// Reserves `usd` against `key`'s budget; false when the budget cannot cover it.
    async fn reserve(&self, key: &KeyState, usd: f64) -> Result<bool, String> {
        match (&self.ledger, key.key.budget_usd) {
            // Zero-cost upstreams stay callable when the budget is spent.
            (_, None) => Ok(true),
            (_, Some(_)) if usd <= 0.0 => Ok(true),
            (Ledger::Postgres(pg), Some(b)) => pg.reserve(&key.key.name, usd, b).await,
            (Ledger::Sqlite(_), Some(_)) => Ok(key.reserve(usd).is_ok()),
        }
    }

    /// Replaces a reservation by the real cost.
    async fn settle(&self, key: &KeyState, reserved: f64, actual: f64) {
        match (&self.ledger, key.key.budget_usd) {
            (_, None) => {}
            (Ledger::Postgres(pg), Some(_)) => {
                if let Err(e) = pg.settle(&key.key.name, reserved, actual).await {
                    eprintln!(
                        "sizewise route: settling key `{}` failed: {e}",
                        key.key.name
                    );
                }
            }
            (Ledger::Sqlite(_), Some(_)) => key.settle(reserved, actual),
        }
    }

    /// Totals since start.
    pub fn totals(&self) -> crate::metrics::Totals {
        self.metrics.totals()
    }
}

/// Each upstream's `Authorization` header from its `api_key_env` (none when the variable is
/// not set, which the configuration already warned about).
pub(crate) fn auth_headers(cfg: &Config) -> Vec<Option<HeaderValue>> {
    cfg.upstreams
        .iter()
        .map(|u| {
            let key = std::env::var(u.api_key_env.as_ref()?).ok()?;
            let mut h = HeaderValue::from_str(&format!("Bearer {key}")).ok()?;
            h.set_sensitive(true);
            (!key.is_empty()).then_some(h)
        })
        .collect()
}

/// The pooled HTTP/1.1 client to upstreams: plain or TLS (ring, Mozilla's roots),
/// `TCP_NODELAY` on.
pub(crate) fn build_client() -> Result<UpstreamClient, RouteError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    http.enforce_http(false);
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_webpki_roots(provider)
        .map_err(|e| RouteError::Tls(e.to_string()))?
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(90))
        .pool_max_idle_per_host(1024)
        .build(https))
}

/// Asks upstreams directly, outside the policy (for `route eval`).
#[derive(Debug, Clone)]
pub struct Asker {
    client: UpstreamClient,
    auth: Vec<Option<HeaderValue>>,
}

impl Asker {
    /// A client for `cfg`'s upstreams.
    pub fn new(cfg: &Config) -> Result<Asker, RouteError> {
        Ok(Asker {
            client: build_client()?,
            auth: auth_headers(cfg),
        })
    }

    /// Sends chat `body` (its `model` replaced by the upstream's) to upstream `ui` without
    /// streaming; returns the answer's text and usage.
    pub async fn chat(
        &self,
        cfg: &Config,
        ui: usize,
        mut body: serde_json::Value,
    ) -> Result<(String, Option<request::Usage>), String> {
        let up = cfg.upstreams.get(ui).ok_or("no such upstream")?;
        body["model"] = json!(up.upstream_model);
        body["stream"] = json!(false);
        let bytes = serde_json::to_vec(&body).map_err(|e| e.to_string())?;
        let auth = self.auth.get(ui).cloned().flatten();
        let answer = call_whole(&self.client, auth, up, Kind::Chat, Bytes::from(bytes))
            .await
            .map_err(|e| format!("{}: {e}", up.name))?;
        request::read_answer(&answer)
            .map(|(usage, text)| (text, usage))
            .map_err(|e| format!("{}: {e}", up.name))
    }
}

/// One non-streamed call: the answer's body when the upstream says 2xx, else why not.
pub(crate) async fn call_whole(
    client: &UpstreamClient,
    auth: Option<HeaderValue>,
    up: &crate::config::Upstream,
    kind: Kind,
    body: Bytes,
) -> Result<Bytes, String> {
    let mut req = Request::new(Full::new(body));
    *req.method_mut() = Method::POST;
    *req.uri_mut() = format!("{}{}", up.url, kind.path())
        .parse()
        .map_err(|e| format!("bad URL: {e}"))?;
    req.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(a) = auth {
        req.headers_mut().insert(header::AUTHORIZATION, a);
    }
    let sent = Instant::now();
    // A whole answer's head comes when the answer is done: the whole-answer limit applies.
    let whole = Duration::from_secs_f64(up.timeout_s);
    let resp = tokio::time::timeout(whole, client.request(req))
        .await
        .map_err(|_| format!("no answer within {:.0} s", up.timeout_s))?
        .map_err(|e| format!("cannot reach {}: {}", up.url, error_chain(&e)))?;
    let status = resp.status();
    let left = Duration::from_secs_f64(up.timeout_s).saturating_sub(sent.elapsed());
    let body = http_body_util::Limited::new(resp.into_body(), MAX_ANSWER_BYTES);
    let bytes = tokio::time::timeout(left, body.collect())
        .await
        .map_err(|_| format!("the answer took longer than {:.0} s", up.timeout_s))?
        .map_err(|e| format!("the answer broke off: {e}"))?
        .to_bytes();
    if !status.is_success() {
        return Err(format!(
            "HTTP {}: {}",
            status.as_u16(),
            String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).trim()
        ));
    }
    Ok(bytes)
}

/// The response body: a whole answer, or a stream fed by the forwarding task.
#[derive(Debug)]
pub enum GwBody {
    /// A whole body (taken on the first poll).
    Full(Option<Bytes>),
    /// Chunks as the upstream sends them.
    Stream(mpsc::Receiver<Bytes>),
}

impl Body for GwBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            GwBody::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            GwBody::Stream(rx) => rx.poll_recv(cx).map(|o| o.map(|b| Ok(Frame::data(b)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, GwBody::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            GwBody::Full(Some(b)) => SizeHint::with_exact(b.len() as u64),
            GwBody::Full(None) => SizeHint::with_exact(0),
            GwBody::Stream(_) => SizeHint::default(),
        }
    }
}

fn json_response(status: StatusCode, body: Vec<u8>) -> Response<GwBody> {
    let mut r = Response::new(GwBody::Full(Some(Bytes::from(body))));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// An OpenAI-style error response.
pub(crate) fn error(status: StatusCode, kind: &str, code: &str, message: &str) -> Response<GwBody> {
    let v = json!({"error": {"message": message, "type": kind, "param": null, "code": code}});
    json_response(status, v.to_string().into_bytes())
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Serves one HTTP request.
pub(crate) async fn handle(
    gw: Arc<Gateway>,
    req: Request<Incoming>,
) -> Result<Response<GwBody>, Infallible> {
    let kind = match (req.method(), req.uri().path()) {
        (&Method::POST, "/v1/chat/completions") => Kind::Chat,
        (&Method::POST, "/v1/completions") => Kind::Completion,
        (&Method::GET, "/v1/models") => return Ok(models(&gw)),
        (&Method::GET, "/health") => {
            let v = json!({"status": "ok", "upstreams": gw.cfg.upstreams.len()});
            return Ok(json_response(StatusCode::OK, v.to_string().into_bytes()));
        }
        (&Method::GET, "/metrics") => {
            let mut r = Response::new(GwBody::Full(Some(Bytes::from(gw.metrics.render()))));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            return Ok(r);
        }
        (
            m,
            p
            @ ("/v1/chat/completions" | "/v1/completions" | "/v1/models" | "/health" | "/metrics"),
        ) => {
            return Ok(error(
                StatusCode::METHOD_NOT_ALLOWED,
                "invalid_request_error",
                "method_not_allowed",
                &format!("{m} is not allowed on {p}"),
            ));
        }
        (m, p) => {
            return Ok(error(
                StatusCode::NOT_FOUND,
                "invalid_request_error",
                "not_found",
                &format!(
                    "no route for {m} {p}; this gateway serves /v1/chat/completions, /v1/completions, /v1/models, /health and /metrics"
                ),
            ));
        }
    };
    // In a task of its own, so a client that hangs up does not cancel the request halfway:
    // every request reaches the ledger.
    let task = tokio::spawn(completion(gw, req, kind));
    Ok(task.await.unwrap_or_else(|_| {
        error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "internal",
            "the gateway failed while handling this request",
        )
    }))
}

fn models(gw: &Gateway) -> Response<GwBody> {
    let mut data = vec![
        json!({"id": "auto", "object": "model", "owned_by": "sizewise-route",
        "description": "the policy chooses the upstream"}),
    ];
    for u in &gw.cfg.upstreams {
        data.push(json!({
            "id": u.name, "object": "model", "owned_by": "sizewise-route",
            "model": u.model, "local": u.local, "context_window": u.context_window,
        }));
    }
    json_response(
        StatusCode::OK,
        json!({"object": "list", "data": data})
            .to_string()
            .into_bytes(),
    )
}

/// Per-request bookkeeping.
struct Ctx {
    gw: Arc<Gateway>,
    t0: Instant,
    row: Row,
    /// USD spent on a cascade's small answer that was not used.
    wasted_usd: f64,
}

impl Ctx {
    /// Refuses the request with an OpenAI-style error.
    async fn refuse_with(
        self,
        status: StatusCode,
        kind: &str,
        code: &str,
        message: &str,
    ) -> Response<GwBody> {
        self.refuse(error(status, kind, code, message), message)
            .await
    }

    /// Refuses the request with 429: the key's budget cannot pay for it.
    async fn budget_exhausted(self, message: &str) -> Response<GwBody> {
        self.refuse_with(
            StatusCode::TOO_MANY_REQUESTS,
            "insufficient_quota",
            "budget_exhausted",
            message,
        )
        .await
    }

    /// Ends a request the gateway answered itself (no upstream): ledger, metrics, response.
    async fn refuse(mut self, resp: Response<GwBody>, message: &str) -> Response<GwBody> {
        self.row.outcome = "rejected".into();
        self.row.status = resp.status().as_u16();
        self.row.error = message.to_string();
        self.row.total_ms = ms(self.t0.elapsed());
        self.row.overhead_ms = self.row.total_ms;
        self.row.ttfb_ms = self.row.total_ms;
        self.gw.metrics.finished(&self.row);
        let mut resp = resp;
        add_id(&mut resp, &self.row.id);
        if let Err(e) = self.gw.ledger.commit(self.row).await {
            eprintln!("sizewise route: {e}");
        }
        resp
    }
}

fn add_id(resp: &mut Response<GwBody>, id: &str) {
    if let Ok(v) = HeaderValue::from_str(id) {
        resp.headers_mut()
            .insert(HeaderName::from_static("x-sizewise-request-id"), v);
    }
}

fn status_message(status: StatusCode, e: &str) -> (Response<GwBody>, String) {
    let (kind, code) = match status {
        StatusCode::BAD_REQUEST => ("invalid_request_error", "invalid_request"),
        StatusCode::PAYLOAD_TOO_LARGE => ("invalid_request_error", "request_too_large"),
        _ => ("server_error", "internal"),
    };
    (error(status, kind, code, e), e.to_string())
}

async fn read_body(req: Request<Incoming>, limit: usize) -> Result<Bytes, (StatusCode, String)> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err((
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body is larger than {limit} bytes (max_body_bytes)"),
        ));
    }
    let limited = http_body_util::Limited::new(req.into_body(), limit);
    match limited.collect().await {
        Ok(b) => Ok(b.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err((
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body is larger than {limit} bytes (max_body_bytes)"),
        )),
        Err(e) => Err((
            StatusCode::BAD_REQUEST,
            format!("cannot read the request body: {e}"),
        )),
    }
}

async fn completion(gw: Arc<Gateway>, req: Request<Incoming>, kind: Kind) -> Response<GwBody> {
    let t0 = Instant::now();
    let n = gw.seq.fetch_add(1, Ordering::Relaxed);
    let row = Row {
        id: format!("swr-{:x}-{n}", gw.boot),
        ts_ms: now_ms(),
        key: "-".into(),
        requested: String::new(),
        ..Row::default()
    };
    let ctx = Ctx {
        gw: gw.clone(),
        t0,
        row,
        wasted_usd: 0.0,
    };
    let key = match gw.authenticate(req.headers()) {
        Ok(k) => k,
        Err((code, message)) => {
            let r = error(
                StatusCode::UNAUTHORIZED,
                "authentication_error",
                code,
                message,
            );
            return ctx.refuse(r, message).await;
        }
    };
    let mut ctx = ctx;
    ctx.row.key = key.key.name.clone();
    if let Err(crate::keys::Refusal::Rate { retry_after_s }) = key.take_rate() {
        let mut r = error(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_error",
            "rate_limited",
            &format!(
                "key `{}` is over its {} requests per minute; retry in {retry_after_s:.1} s",
                key.key.name,
                key.key.requests_per_minute.unwrap_or(0)
            ),
        );
        if let Ok(v) = HeaderValue::from_str(&format!("{}", retry_after_s.ceil() as u64)) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return ctx.refuse(r, "rate limited").await;
    }
    let task_header = req
        .headers()
        .get("x-sizewise-task")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = match read_body(req, gw.cfg.max_body_bytes).await {
        Ok(b) => b,
        Err((s, m)) => {
            let (r, m) = status_message(s, &m);
            return ctx.refuse(r, &m).await;
        }
    };
    let parsed = match request::parse(kind, &body, task_header.as_deref()) {
        Ok(p) => p,
        Err(m) => {
            let (r, m) = status_message(StatusCode::BAD_REQUEST, &m);
            return ctx.refuse(r, &m).await;
        }
    };
    ctx.row.requested = parsed.info.requested.clone();
    ctx.row.stream = parsed.stream;
    if gw.cfg.log_prompts {
        eprintln!(
            "sizewise route: {} prompt: {}",
            ctx.row.id, parsed.info.text
        );
    }
    let decision = match policy::decide(&gw.cfg, &gw.counters, &parsed.info) {
        Ok(d) => d,
        Err(refusal) => {
            let (status, code) = match &refusal {
                policy::Refusal::UnknownModel(_) => (StatusCode::NOT_FOUND, "model_not_found"),
                policy::Refusal::Privacy(_) => (StatusCode::FORBIDDEN, "privacy_no_local_upstream"),
                policy::Refusal::Context(_) => (StatusCode::BAD_REQUEST, "context_length_exceeded"),
            };
            let r = error(status, "invalid_request_error", code, refusal.message());
            return ctx.refuse(r, refusal.message()).await;
        }
    };
    ctx.row.pii = decision
        .pii
        .iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(",");
    forward(ctx, key, parsed, kind, decision).await
}

/// One upstream's failure before any byte reached the client.
struct Failure {
    upstream: String,
    message: String,
    /// Skipped because the key's budget could not cover it.
    budget: bool,
}

/// Tries the decision's upstreams in order until one answers.
async fn forward(
    mut ctx: Ctx,
    key: &KeyState,
    parsed: Parsed,
    kind: Kind,
    decision: Decision,
) -> Response<GwBody> {
    let gw = ctx.gw.clone();
    let cfg = &gw.cfg;
    let info = &parsed.info;
    // A bound on the prompt's tokens in any tokenizer: tokens never outnumber bytes.
    let prompt_bound = info.text.len() as u64 + 8 * info.messages as u64 + TEMPLATE_SLACK;
    let budgeted = key.key.budget_usd.is_some();
    let out_bound = info.max_tokens.unwrap_or(DEFAULT_RESERVED_OUTPUT);
    let mut reason = decision.reason.clone();
    let mut order = decision.order.clone();
    // Upstreams asked before the loop below (a cascade's small one), for the ledger.
    let mut asked_first = String::new();
    // The budget sent the request to a zero-cost upstream: nothing to escalate to.
    let mut budget_bound = false;

    // Budgets last: a key that cannot pay for the choice goes to a zero-cost upstream, or
    // is refused.
    let left = match gw.left(key).await {
        Ok(l) => l,
        Err(e) => {
            let m = format!("the ledger database cannot tell the key's budget: {e}");
            return ctx
                .refuse_with(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "server_error",
                    "ledger_unavailable",
                    &m,
                )
                .await;
        }
    };
    if let Some(left) = left {
        let first = &cfg.upstreams[order[0]];
        if first.cost(prompt_bound, out_bound) > left {
            // Any allowed upstream that costs nothing, fallbacks on or off.
            let free: Vec<usize> = decision
                .allowed
                .iter()
                .copied()
                .filter(|&i| cfg.upstreams[i].cost(prompt_bound, out_bound) == 0.0)
                .collect();
            if cfg.on_budget == OnBudget::Small && !free.is_empty() {
                reason = format!(
                    "budget: key `{}` has US${left:.4} left, less than this request may cost on {} (US${:.4}), sent to a zero-cost upstream",
                    key.key.name,
                    first.name,
                    first.cost(prompt_bound, out_bound)
                );
                order = free;
                budget_bound = true;
            } else {
                let m = format!(
                    "key `{}` has US${left:.4} left of its budget, less than this request may cost on `{}` (US${:.4}){}",
                    key.key.name,
                    first.name,
                    first.cost(prompt_bound, out_bound),
                    if cfg.on_budget == OnBudget::Small {
                        "; no zero-cost upstream can take it"
                    } else {
                        ""
                    }
                );
                return ctx.budget_exhausted(&m).await;
            }
        }
    }

    // The cascade: the small upstream answers first, whole; a failed check escalates.
    if let Some(c) = &cfg.cascade
        && kind == Kind::Chat
        && !decision.pinned
        && !budget_bound
        && order.first() == Some(&c.from)
        && decision.allowed.contains(&c.to)
    {
        let small = &cfg.upstreams[c.from];
        let reservation = if budgeted {
            small.cost(prompt_bound, out_bound)
        } else {
            0.0
        };
        if gw.reserve(key, reservation).await.unwrap_or(false) {
            let pre_upstream = ctx.t0.elapsed();
            let cap =
                (budgeted && info.max_tokens.is_none() && reservation > 0.0).then_some(out_bound);
            let body = request::upstream_body(
                &parsed,
                Rewrite {
                    model: &small.upstream_model,
                    redact: decision.redact && !small.local,
                    max_tokens: cap,
                    stream_usage: false,
                    whole: true,
                    logprobs: c.wants_logprobs(),
                },
            );
            let auth = gw.auth.get(c.from).cloned().flatten();
            let answer = call_whole(&gw.client, auth, small, Kind::Chat, body)
                .await
                .and_then(|b| {
                    serde_json::from_slice::<serde_json::Value>(&b)
                        .map_err(|e| format!("the answer is not JSON: {e}"))
                });
            let usage = answer.as_ref().ok().and_then(request::usage_of);
            let cost = usage.map_or(0.0, |u| small.cost(u.prompt, u.completion));
            gw.settle(key, reservation, cost).await;
            let verdict = match answer {
                Ok(a) => crate::cascade::judge(c, &a, crate::cascade::asks_json(&parsed.body))
                    .map(|passed| (a, passed)),
                Err(e) => Err(format!("{} failed: {e}", small.name)),
            };
            match verdict {
                Ok((a, passed)) => {
                    let reason = format!("{reason}; cascade: {} passed ({passed})", small.name);
                    let answer = CascadeAnswer {
                        ui: c.from,
                        answer: a,
                        usage,
                        reason,
                        pre_upstream,
                    };
                    return answer.respond(ctx, &parsed).await;
                }
                Err(why) => {
                    gw.metrics.fallback(&small.name);
                    reason = format!(
                        "{reason}; cascade: escalated to {} ({why})",
                        cfg.upstreams[c.to].name
                    );
                    ctx.wasted_usd += cost;
                    asked_first = format!("{},", small.name);
                    // The large upstream first; with fallbacks on, the others after and the
                    // small one last again.
                    let mut next = vec![c.to];
                    if cfg.fallback {
                        next.extend(order.iter().copied().filter(|&i| i != c.to && i != c.from));
                        next.push(c.from);
                    }
                    order = next;
                }
            }
        }
    }

    let pre_upstream = ctx.t0.elapsed();
    let mut failures: Vec<Failure> = Vec::new();
    for &ui in &order {
        let up = &cfg.upstreams[ui];
        let reservation = if budgeted {
            up.cost(prompt_bound, out_bound)
        } else {
            0.0
        };
        if !gw.reserve(key, reservation).await.unwrap_or(false) {
            failures.push(Failure {
                upstream: up.name.clone(),
                message: "skipped: the key's budget cannot cover it".into(),
                budget: true,
            });
            continue;
        }
        let attempt = Attempt {
            key,
            parsed: &parsed,
            kind,
            ui,
            reservation,
            // With a budget, the reservation must bound the cost: cap the output.
            cap: (budgeted && info.max_tokens.is_none() && reservation > 0.0).then_some(out_bound),
            redact: decision.redact && !up.local,
            reason: with_failures(&reason, &failures),
            tried: format!("{asked_first}{}", tried(&failures, &up.name)),
            pre_upstream,
            prompt_bound,
        };
        match attempt.run(ctx).await {
            Ok(r) => return r,
            Err((back, message)) => {
                ctx = back;
                gw.settle(key, reservation, 0.0).await;
                gw.metrics.fallback(&up.name);
                failures.push(Failure {
                    upstream: up.name.clone(),
                    message,
                    budget: false,
                });
            }
        }
    }

    // Every upstream was skipped because the key could not pay: other requests on the same
    // key reserved the rest of its budget since the check above.
    if !failures.is_empty() && failures.iter().all(|f| f.budget) {
        let m = format!(
            "key `{}` has no budget left for this request (other requests on it hold the rest)",
            key.key.name
        );
        return ctx.budget_exhausted(&m).await;
    }
    // Every upstream failed before its first byte.
    let detail: Vec<String> = failures
        .iter()
        .map(|f| format!("{}: {}", f.upstream, f.message))
        .collect();
    let m = format!(
        "every upstream failed: {} (the policy: {reason})",
        detail.join("; ")
    );
    ctx.row.tried = format!(
        "{asked_first}{}",
        failures
            .iter()
            .map(|f| f.upstream.as_str())
            .collect::<Vec<_>>()
            .join(",")
    );
    ctx.row.reason = reason.clone();
    ctx.row.outcome = "error".into();
    ctx.row.error = m.clone();
    ctx.row.overhead_ms = ms(pre_upstream);
    let mut r = error(
        StatusCode::BAD_GATEWAY,
        "upstream_error",
        "all_upstreams_failed",
        &m,
    );
    let tried = ctx.row.tried.clone();
    route_headers(
        &mut r,
        &tried,
        &with_failures(&reason, &failures),
        pre_upstream,
    );
    finish(ctx, r).await
}

/// A cascade's small answer that passed its checks.
struct CascadeAnswer {
    ui: usize,
    answer: serde_json::Value,
    usage: Option<request::Usage>,
    reason: String,
    pre_upstream: Duration,
}

impl CascadeAnswer {
    /// Sends it as the client asked: the JSON answer, or its events and `[DONE]`.
    async fn respond(mut self, mut ctx: Ctx, parsed: &Parsed) -> Response<GwBody> {
        let gw = ctx.gw.clone();
        let cfg = &gw.cfg;
        let up = &cfg.upstreams[self.ui];
        // The log-probabilities were the gateway's question, not the client's.
        if parsed
            .body
            .get("logprobs")
            .and_then(serde_json::Value::as_bool)
            != Some(true)
            && let Some(choices) = self
                .answer
                .get_mut("choices")
                .and_then(|c| c.as_array_mut())
        {
            for ch in choices {
                ch["logprobs"] = serde_json::Value::Null;
            }
        }
        let (p, c) = match self.usage {
            Some(u) => (u.prompt, u.completion),
            None => {
                let text = self.answer["choices"][0]["message"]["content"]
                    .as_str()
                    .unwrap_or("")
                    .to_string();
                (
                    gw.counters.count(cfg, self.ui, &parsed.info),
                    gw.counters.count(
                        cfg,
                        self.ui,
                        &policy::RequestInfo {
                            text,
                            ..Default::default()
                        },
                    ),
                )
            }
        };
        fill_usage(&mut ctx.row, cfg, self.ui, p, c, 0.0);
        ctx.row.route = up.name.clone();
        ctx.row.reason = self.reason.clone();
        ctx.row.tried = up.name.clone();
        ctx.row.outcome = "ok".into();
        gw.metrics.decision(&up.name, &self.reason);
        let mut r = if parsed.stream {
            let mut events = crate::cascade::as_events(&self.answer, parsed.include_usage);
            events.extend_from_slice(b"data: [DONE]\n\n");
            let mut r = Response::new(GwBody::Full(Some(Bytes::from(events))));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/event-stream"),
            );
            r
        } else {
            json_response(StatusCode::OK, self.answer.to_string().into_bytes())
        };
        route_headers(&mut r, &up.name, &self.reason, self.pre_upstream);
        ctx.row.ttfb_ms = ms(ctx.t0.elapsed());
        finish(ctx, r).await
    }
}

/// One try of one upstream.
struct Attempt<'a> {
    key: &'a KeyState,
    parsed: &'a Parsed,
    kind: Kind,
    ui: usize,
    reservation: f64,
    cap: Option<u64>,
    redact: bool,
    reason: String,
    tried: String,
    pre_upstream: Duration,
    prompt_bound: u64,
}

impl Attempt<'_> {
    /// The response for the client, or the request context back with why this upstream
    /// failed before any byte reached the client (the caller then tries the next one).
    async fn run(self, mut ctx: Ctx) -> Result<Response<GwBody>, (Ctx, String)> {
        let gw = ctx.gw.clone();
        let cfg = &gw.cfg;
        let up = &cfg.upstreams[self.ui];
        let body = request::upstream_body(
            self.parsed,
            Rewrite {
                model: &up.upstream_model,
                redact: self.redact,
                max_tokens: self.cap,
                stream_usage: self.parsed.stream,
                whole: false,
                logprobs: false,
            },
        );
        let mut req = Request::new(Full::new(body));
        *req.method_mut() = Method::POST;
        match format!("{}{}", up.url, self.kind.path()).parse::<hyper::Uri>() {
            Ok(u) => *req.uri_mut() = u,
            Err(e) => return Err((ctx, format!("bad URL: {e}"))),
        }
        req.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(a) = gw.auth.get(self.ui).cloned().flatten() {
            req.headers_mut().insert(header::AUTHORIZATION, a);
        }
        let sent = Instant::now();
        let deadline = sent + Duration::from_secs_f64(up.timeout_s);
        let first_byte = Duration::from_secs_f64(up.first_byte_timeout_s);
        // A stream's head comes at once; a whole answer's only when it is done, so only the
        // whole-answer limit applies to it.
        let head_limit = if self.parsed.stream {
            first_byte
        } else {
            Duration::from_secs_f64(up.timeout_s)
        };
        let resp = match tokio::time::timeout(head_limit, gw.client.request(req)).await {
            Err(_) => {
                let m = format!("no answer within {:.1} s", head_limit.as_secs_f64());
                return Err((ctx, m));
            }
            Ok(Err(e)) => {
                let m = format!("cannot reach {}: {}", up.url, error_chain(&e));
                return Err((ctx, m));
            }
            Ok(Ok(r)) => r,
        };
        let status = resp.status();
        // 404 too: the upstream's URL or model name is wrong, which the next upstream can
        // make up for; other 4xx are about the request itself and go to the client.
        if status.is_server_error()
            || status == StatusCode::TOO_MANY_REQUESTS
            || status == StatusCode::REQUEST_TIMEOUT
            || status == StatusCode::NOT_FOUND
        {
            let text = short_body(resp.into_body()).await;
            return Err((ctx, format!("HTTP {}: {text}", status.as_u16())));
        }
        ctx.row.route = up.name.clone();
        ctx.row.reason = self.reason.clone();
        ctx.row.tried = self.tried.clone();
        if !status.is_success() {
            // The upstream refused the request itself: the client's to see, not a fallback.
            gw.metrics.decision(&up.name, &self.reason);
            let text = short_body(resp.into_body()).await;
            gw.settle(self.key, self.reservation, 0.0).await;
            ctx.row.outcome = "error".into();
            ctx.row.error = format!(
                "upstream `{}` answered HTTP {}: {text}",
                up.name,
                status.as_u16()
            );
            let mut r = json_response(status, text.into_bytes());
            route_headers(&mut r, &up.name, &self.reason, self.pre_upstream);
            return Ok(finish(ctx, r).await);
        }
        let is_stream = self.parsed.stream
            && resp
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("text/event-stream"));
        if !is_stream {
            let left = deadline.saturating_duration_since(Instant::now());
            let body = http_body_util::Limited::new(resp.into_body(), MAX_ANSWER_BYTES);
            let bytes = match tokio::time::timeout(left, body.collect()).await {
                Ok(Ok(b)) => b.to_bytes(),
                Ok(Err(e)) => return Err((ctx, format!("the answer broke off: {e}"))),
                Err(_) => {
                    let m = format!("the answer took longer than {:.0} s", up.timeout_s);
                    return Err((ctx, m));
                }
            };
            let (usage, text) = match request::read_answer(&bytes) {
                Ok(a) => a,
                Err(m) => return Err((ctx, m)),
            };
            gw.metrics.decision(&up.name, &self.reason);
            let upstream_wait = sent.elapsed();
            let info = &self.parsed.info;
            let (p, c) = match usage {
                Some(u) => (u.prompt, u.completion),
                None => (
                    gw.counters.count(cfg, self.ui, info),
                    gw.counters.count(
                        cfg,
                        self.ui,
                        &policy::RequestInfo {
                            text,
                            ..Default::default()
                        },
                    ),
                ),
            };
            gw.settle(self.key, self.reservation, up.cost(p, c)).await;
            let wasted = ctx.wasted_usd;
            fill_usage(&mut ctx.row, cfg, self.ui, p, c, wasted);
            ctx.row.outcome = "ok".into();
            let mut r = json_response(status, bytes.to_vec());
            route_headers(&mut r, &up.name, &self.reason, self.pre_upstream);
            ctx.row.ttfb_ms = ms(ctx.t0.elapsed());
            ctx.row.overhead_ms = ms(ctx.t0.elapsed().saturating_sub(upstream_wait));
            return Ok(finish(ctx, r).await);
        }

        // A stream: wait for its first chunk before answering, so that an upstream that
        // fails now still lets the next one try.
        let mut body = resp.into_body();
        let first = loop {
            let left = first_byte.saturating_sub(sent.elapsed());
            match tokio::time::timeout(left, body.frame()).await {
                Err(_) => {
                    let m = format!("no first event within {:.1} s", up.first_byte_timeout_s);
                    return Err((ctx, m));
                }
                Ok(None) => return Err((ctx, "the stream closed before its first event".into())),
                Ok(Some(Err(e))) => {
                    return Err((ctx, format!("the stream broke before its first event: {e}")));
                }
                Ok(Some(Ok(f))) => match f.into_data() {
                    Ok(d) if !d.is_empty() => break d,
                    _ => continue,
                },
            }
        };
        gw.metrics.decision(&up.name, &self.reason);
        let first_at = Instant::now();
        let (tx, rx) = mpsc::channel::<Bytes>(64);
        let mut r = Response::new(GwBody::Stream(rx));
        *r.status_mut() = status;
        let h = r.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/event-stream"),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        route_headers(&mut r, &up.name, &self.reason, self.pre_upstream);
        add_id(&mut r, &ctx.row.id);
        ctx.row.status = status.as_u16();
        let key = key_index(&gw, self.key);
        let job = StreamJob {
            ctx,
            ui: self.ui,
            reservation: self.reservation,
            include_usage: self.parsed.include_usage,
            deadline,
            pre_upstream: self.pre_upstream,
            first_at,
            prompt_fallback: self.prompt_bound,
        };
        tokio::spawn(job.run(key, body, first, tx));
        Ok(r)
    }
}

/// Which key (by index; `None`: anonymous) a stream task settles against.
fn key_index(gw: &Gateway, key: &KeyState) -> Option<usize> {
    gw.keys.iter().position(|k| std::ptr::eq(k, key))
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        s.push_str(": ");
        s.push_str(&c.to_string());
        src = c.source();
    }
    s
}

/// The first KiB of an error body, as text, read within one second.
async fn short_body(body: Incoming) -> String {
    let limited = http_body_util::Limited::new(body, 64 << 10);
    match tokio::time::timeout(Duration::from_secs(1), limited.collect()).await {
        Ok(Ok(b)) => {
            let b = b.to_bytes();
            let t = String::from_utf8_lossy(&b[..b.len().min(1024)]).to_string();
            t.trim().to_string()
        }
        _ => String::new(),
    }
}

fn with_failures(reason: &str, failures: &[Failure]) -> String {
    let mut s = reason.to_string();
    for f in failures {
        s.push_str(&format!(
            "; fallback: {} failed ({})",
            f.upstream, f.message
        ));
    }
    let mut s = policy::ascii(&s);
    s.truncate(512);
    s
}

fn tried(failures: &[Failure], last: &str) -> String {
    let mut t: Vec<&str> = failures.iter().map(|f| f.upstream.as_str()).collect();
    t.push(last);
    t.join(",")
}

fn route_headers(r: &mut Response<GwBody>, route: &str, reason: &str, pre: Duration) {
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(route) {
        h.insert(HeaderName::from_static(ROUTE_HEADER), v);
    }
    if let Ok(v) = HeaderValue::from_str(reason) {
        h.insert(HeaderName::from_static(REASON_HEADER), v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("{:.3}", ms(pre))) {
        h.insert(HeaderName::from_static("x-sizewise-overhead-ms"), v);
    }
}

/// Tokens and cost of the answer `ui` gave, plus `wasted` USD on a cascade's unused answer.
fn fill_usage(row: &mut Row, cfg: &Config, ui: usize, prompt: u64, completion: u64, wasted: f64) {
    row.prompt_tokens = prompt;
    row.completion_tokens = completion;
    row.cost_usd = cfg.upstreams[ui].cost(prompt, completion) + wasted;
    row.large_cost_usd = cfg.upstreams[cfg.large].cost(prompt, completion);
}

/// Commits the row, counts it, and hands the response back.
async fn finish(mut ctx: Ctx, mut r: Response<GwBody>) -> Response<GwBody> {
    ctx.row.total_ms = ms(ctx.t0.elapsed());
    if ctx.row.ttfb_ms == 0.0 {
        ctx.row.ttfb_ms = ctx.row.total_ms;
    }
    ctx.row.status = r.status().as_u16();
    add_id(&mut r, &ctx.row.id);
    ctx.gw.metrics.finished(&ctx.row);
    if let Err(e) = ctx.gw.ledger.commit(ctx.row).await {
        eprintln!("sizewise route: {e}");
    }
    r
}

/// A stream in flight: forwards events, keeps usage, and ends with `[DONE]` only after the
/// ledger row is committed, or with an explicit error event.
struct StreamJob {
    ctx: Ctx,
    ui: usize,
    reservation: f64,
    include_usage: bool,
    deadline: Instant,
    pre_upstream: Duration,
    first_at: Instant,
    prompt_fallback: u64,
}

impl StreamJob {
    async fn run(
        mut self,
        key: Option<usize>,
        mut body: Incoming,
        first: Bytes,
        tx: mpsc::Sender<Bytes>,
    ) {
        let gw = self.ctx.gw.clone();
        let up = &gw.cfg.upstreams[self.ui];
        let mut scan = SseScan::new(self.include_usage);
        let mut failure: Option<String> = None;
        let mut client_gone = false;
        let mut done = false;
        let mut chunk = Some(first);
        let mut first_sent: Option<Instant> = None;
        let mut last_upstream = self.first_at;
        loop {
            let Some(data) = chunk.take() else { break };
            match scan.push(&data) {
                Ok(s) => {
                    done |= s.done;
                    if let Some(out) = s.out {
                        if tx.send(out).await.is_err() {
                            client_gone = true;
                            break;
                        }
                        first_sent.get_or_insert_with(Instant::now);
                    }
                }
                Err(m) => {
                    failure = Some(m);
                    break;
                }
            }
            if done {
                break;
            }
            let left = self.deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, body.frame()).await {
                Err(_) => {
                    failure = Some(format!("the stream took longer than {:.0} s", up.timeout_s))
                }
                Ok(None) => failure = Some("the stream ended without [DONE]".into()),
                Ok(Some(Err(e))) => failure = Some(format!("the stream broke: {e}")),
                Ok(Some(Ok(f))) => {
                    last_upstream = Instant::now();
                    chunk = Some(f.into_data().unwrap_or_default());
                    continue;
                }
            }
            break;
        }
        if failure.is_none()
            && let Some(e) = scan.error.take()
        {
            failure = Some(format!("the upstream sent an error event: {e}"));
        }
        let (p, c) = match scan.usage {
            Some(u) => (u.prompt, u.completion),
            None => (self.prompt_fallback, scan.content_events),
        };
        let cost = up.cost(p, c);
        match key.and_then(|i| gw.keys.get(i)) {
            Some(k) => gw.settle(k, self.reservation, cost).await,
            None => gw.settle(&gw.anonymous, self.reservation, cost).await,
        }
        let wasted = self.ctx.wasted_usd;
        fill_usage(&mut self.ctx.row, &gw.cfg, self.ui, p, c, wasted);
        let now = Instant::now();
        let t0 = self.ctx.t0;
        self.ctx.row.ttfb_ms = ms(first_sent.unwrap_or(now).duration_since(t0));
        self.ctx.row.total_ms = ms(now.duration_since(t0));
        self.ctx.row.overhead_ms = ms(self.pre_upstream
            + first_sent.map_or(Duration::ZERO, |f| {
                f.saturating_duration_since(self.first_at)
            })
            + now.saturating_duration_since(last_upstream));
        let end: Option<Bytes> = if client_gone {
            self.ctx.row.outcome = "error".into();
            self.ctx.row.error = "the client closed the stream".into();
            None
        } else if let Some(m) = failure {
            self.ctx.row.outcome = "error".into();
            let msg = format!("upstream `{}` failed after the stream began: {m}", up.name);
            self.ctx.row.error = msg.clone();
            let ev = json!({"error": {"message": msg, "type": "upstream_error", "code": "stream_interrupted"}});
            Some(Bytes::from(format!("data: {ev}\n\n")))
        } else {
            self.ctx.row.outcome = "ok".into();
            Some(Bytes::from_static(b"data: [DONE]\n\n"))
        };
        gw.metrics.finished(&self.ctx.row);
        // The row is settled before the client sees the end of the answer.
        if let Err(e) = gw.ledger.commit(self.ctx.row).await {
            eprintln!("sizewise route: {e}");
        }
        if let Some(end) = end {
            let _ = tx.send(end).await;
        }
    }
}
