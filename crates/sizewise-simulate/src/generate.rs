//! One request's generation: admission into the running batch, then tokens at
//! absolute deadlines; and the response bodies that carry them.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use std::time::Instant;
use tokio::sync::{AcquireError, OwnedSemaphorePermit};

use tokio::time::Sleep;

use crate::precise::{Deadline, Timer};

use crate::server::Shared;
use crate::text;

type Acquire = Pin<Box<dyn Future<Output = Result<OwnedSemaphorePermit, AcquireError>> + Send>>;

/// A wait for one deadline.
enum Waiter {
    /// The precise timer thread.
    Precise(Arc<Deadline>),
    /// Tokio's timer (1 ms resolution), when the thread could not start.
    Coarse(Instant, Pin<Box<Sleep>>),
}

impl Waiter {
    fn new(at: Instant) -> Waiter {
        match Timer::get() {
            Some(t) => Waiter::Precise(t.at(at)),
            None => Waiter::Coarse(
                at,
                Box::pin(tokio::time::sleep_until(tokio::time::Instant::from_std(at))),
            ),
        }
    }

    fn is_for(&self, at: Instant) -> bool {
        match self {
            Waiter::Precise(d) => d.at() == at,
            Waiter::Coarse(a, _) => *a == at,
        }
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        match self {
            Waiter::Precise(d) => d.poll(cx),
            Waiter::Coarse(_, s) => s.as_mut().poll(cx),
        }
    }
}

enum Admission {
    Waiting(Acquire),
    /// Holds the batch slot until dropped.
    Admitted {
        _permit: OwnedSemaphorePermit,
    },
    Released,
}

/// The token schedule of one request.
pub(crate) struct Gen {
    shared: Arc<Shared>,
    admission: Admission,
    ttft: Duration,
    prompt_tokens: u64,
    n: u32,
    emitted: u32,
    /// Deadline of the next content event.
    next: Instant,
    /// The wait for `next`, once armed.
    waiter: Option<Waiter>,
    /// The stall is added after this many content events (0: none).
    stall_after: u32,
    tpot: Duration,
    tpot_batch: u32,
}

/// Why a generation could not go on.
#[derive(Debug, thiserror::Error)]
pub(crate) enum GenError {
    #[error("the simulator is shutting down")]
    Closed,
    #[error("stream dropped by fault injection (drop_stream_after)")]
    Dropped,
}

impl Gen {
    /// Starts the schedule of a request that arrived at `t0`.
    pub(crate) fn new(
        shared: Arc<Shared>,
        t0: Instant,
        ttft: Duration,
        tpot_1: Duration,
        prompt_tokens: u64,
        n: u32,
    ) -> Gen {
        let admission = match shared.slots.clone().try_acquire_owned() {
            Ok(p) => {
                shared.note_running();
                Admission::Admitted { _permit: p }
            }
            Err(_) => Admission::Waiting(Box::pin(shared.slots.clone().acquire_owned())),
        };
        let stall_after = if shared.cfg.stall_ms > 0 && n >= 2 {
            (n / 2).max(1)
        } else {
            0
        };
        Gen {
            admission,
            ttft,
            prompt_tokens,
            n,
            emitted: 0,
            next: t0 + ttft,
            waiter: None,
            stall_after,
            tpot: tpot_1,
            tpot_batch: 1,
            shared,
        }
    }

    /// Content events sent so far.
    pub(crate) fn emitted(&self) -> u32 {
        self.emitted
    }

    /// The gap after the current token, for the batch running now.
    fn gap(&mut self) -> Duration {
        if self.shared.clock.batch_dependent() {
            let b = self.shared.running();
            if b != self.tpot_batch
                && let Ok(t) = self
                    .shared
                    .clock
                    .tpot(self.prompt_tokens, u64::from(self.n), b)
            {
                self.tpot = t;
                self.tpot_batch = b;
            }
        }
        self.tpot
    }

    /// Polls for the next token: `Some(i)` when token `i` is due, `None` when
    /// all `n` were produced.
    pub(crate) fn poll_token(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Option<u32>, GenError>> {
        if let Admission::Waiting(f) = &mut self.admission {
            match f.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(_)) => return Poll::Ready(Err(GenError::Closed)),
                Poll::Ready(Ok(p)) => {
                    // Prefill starts when the request leaves the queue.
                    self.shared.note_running();
                    self.next = Instant::now() + self.ttft;
                    self.admission = Admission::Admitted { _permit: p };
                }
            }
        }
        if self.emitted >= self.n {
            self.admission = Admission::Released;
            return Poll::Ready(Ok(None));
        }
        if self.next > Instant::now() {
            let next = self.next;
            let waiter = match &mut self.waiter {
                Some(w) if w.is_for(next) => w,
                w => w.insert(Waiter::new(next)),
            };
            if waiter.poll(cx).is_pending() {
                return Poll::Pending;
            }
        }
        let i = self.emitted;
        self.emitted += 1;
        if self.emitted < self.n {
            let gap = self.gap();
            self.next += gap;
            if self.emitted == self.stall_after {
                self.next += Duration::from_millis(self.shared.cfg.stall_ms);
            }
        } else {
            // The last token leaves the batch at once.
            self.admission = Admission::Released;
        }
        Poll::Ready(Ok(Some(i)))
    }
}

/// Chat or text completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Chat,
    Completion,
}

/// The fixed parts of a request's SSE events.
pub(crate) struct Events {
    kind: Kind,
    /// `data: {"id":..,"object":..,"created":..,"model":..`
    base: String,
    /// `,"logprobs":null,"finish_reason":null}]` plus `,"usage":null` when usage is asked, and `}\n\n`.
    tail: String,
    usage_null: bool,
    seed: u64,
    prompt_tokens: u64,
    n: u32,
    /// Pieces of a suite answer, JSON-escaped, streamed instead of filler words.
    fixed: Option<Vec<String>>,
}

/// What every event of a response repeats.
pub(crate) struct Meta<'a> {
    pub(crate) kind: Kind,
    pub(crate) id: &'a str,
    pub(crate) created: u64,
    /// The served model's name as a JSON string.
    pub(crate) model_json: &'a str,
}

impl Events {
    pub(crate) fn new(
        meta: Meta<'_>,
        include_usage: bool,
        seed: u64,
        prompt_tokens: u64,
        n: u32,
        fixed: Option<Arc<Vec<String>>>,
    ) -> Events {
        let Meta {
            kind,
            id,
            created,
            model_json,
        } = meta;
        let object = match kind {
            Kind::Chat => "chat.completion.chunk",
            Kind::Completion => "text_completion",
        };
        let base = format!(
            "data: {{\"id\":\"{id}\",\"object\":\"{object}\",\"created\":{created},\"model\":{model_json}"
        );
        let usage = if include_usage { ",\"usage\":null" } else { "" };
        let tail = format!(",\"logprobs\":null,\"finish_reason\":null}}]{usage}}}\n\n");
        Events {
            kind,
            base,
            tail,
            usage_null: include_usage,
            seed,
            prompt_tokens,
            n,
            fixed: fixed.map(|f| {
                f.iter()
                    .map(|p| {
                        let q = serde_json::to_string(p).unwrap_or_default();
                        q.get(1..q.len().saturating_sub(1))
                            .unwrap_or("")
                            .to_string()
                    })
                    .collect()
            }),
        }
    }

    fn open_choice(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.base.as_bytes());
        out.extend_from_slice(b",\"choices\":[{\"index\":0,");
    }

    /// The chat role event that precedes the first token.
    fn role(&self, out: &mut Vec<u8>) {
        self.open_choice(out);
        out.extend_from_slice(b"\"delta\":{\"role\":\"assistant\",\"content\":\"\"}");
        out.extend_from_slice(self.tail.as_bytes());
    }

    /// The content event of token `i`.
    fn token(&self, out: &mut Vec<u8>, i: u32) {
        self.open_choice(out);
        match self.kind {
            Kind::Chat => out.extend_from_slice(b"\"delta\":{\"content\":\""),
            Kind::Completion => out.extend_from_slice(b"\"text\":\""),
        }
        match self.fixed.as_ref().and_then(|f| f.get(i as usize)) {
            Some(piece) => out.extend_from_slice(piece.as_bytes()),
            None => text::push_token(out, self.seed, i),
        }
        match self.kind {
            Kind::Chat => out.extend_from_slice(b"\"}"),
            Kind::Completion => out.push(b'"'),
        }
        out.extend_from_slice(self.tail.as_bytes());
    }

    /// An event whose data is not valid JSON (a truncated chunk).
    fn malformed(&self, out: &mut Vec<u8>) {
        self.open_choice(out);
        out.extend_from_slice(b"\"delta\":{\"content\":\"\n\n");
    }

    /// The finish event, the usage event when asked, and `[DONE]`.
    fn end(&self, out: &mut Vec<u8>) {
        self.open_choice(out);
        match self.kind {
            Kind::Chat => out.extend_from_slice(b"\"delta\":{}"),
            Kind::Completion => out.extend_from_slice(b"\"text\":\"\""),
        }
        out.extend_from_slice(b",\"logprobs\":null,\"finish_reason\":\"length\"}]");
        if self.usage_null {
            out.extend_from_slice(b",\"usage\":null}\n\n");
            out.extend_from_slice(self.base.as_bytes());
            let p = self.prompt_tokens;
            let c = u64::from(self.n);
            out.extend_from_slice(
                format!(
                    ",\"choices\":[],\"usage\":{{\"prompt_tokens\":{p},\"completion_tokens\":{c},\"total_tokens\":{}}}}}\n\n",
                    p + c
                )
                .as_bytes(),
            );
        } else {
            out.extend_from_slice(b"}\n\n");
        }
        out.extend_from_slice(b"data: [DONE]\n\n");
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StreamState {
    Running,
    /// The drop point was reached: flush what was written, then fail.
    Dropping {
        flushed: bool,
    },
    Done,
}

/// An SSE stream of one request.
pub(crate) struct SseStream {
    sched: Gen,
    events: Events,
    state: StreamState,
    drop_after: Option<u32>,
    malformed_at: Option<u32>,
}

impl SseStream {
    pub(crate) fn new(
        sched: Gen,
        events: Events,
        drop_after: Option<u32>,
        malformed_at: Option<u32>,
    ) -> SseStream {
        SseStream {
            sched,
            events,
            state: StreamState::Running,
            drop_after,
            malformed_at,
        }
    }

    fn poll_stream(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, GenError>>> {
        let mut buf: Vec<u8> = Vec::new();
        let frame = |buf: Vec<u8>| Poll::Ready(Some(Ok(Frame::data(Bytes::from(buf)))));
        loop {
            match self.state {
                StreamState::Done => {
                    return if buf.is_empty() {
                        Poll::Ready(None)
                    } else {
                        frame(buf)
                    };
                }
                StreamState::Dropping { flushed } => {
                    if !buf.is_empty() {
                        return frame(buf);
                    }
                    if !flushed {
                        // Let the connection flush the events already written
                        // before the error closes it.
                        self.state = StreamState::Dropping { flushed: true };
                        cx.waker().wake_by_ref();
                        return Poll::Pending;
                    }
                    self.sched
                        .shared
                        .stats
                        .dropped_streams
                        .fetch_add(1, Ordering::Relaxed);
                    self.state = StreamState::Done;
                    return Poll::Ready(Some(Err(GenError::Dropped)));
                }
                StreamState::Running => {}
            }
            match self.sched.poll_token(cx) {
                Poll::Pending => {
                    return if buf.is_empty() {
                        Poll::Pending
                    } else {
                        frame(buf)
                    };
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(Ok(Some(i))) => {
                    if self.drop_after == Some(i) {
                        // The connection dies when token i was due.
                        self.state = StreamState::Dropping { flushed: false };
                        continue;
                    }
                    if i == 0 && self.events.kind == Kind::Chat {
                        self.events.role(&mut buf);
                    }
                    self.events.token(&mut buf, i);
                    if self.malformed_at == Some(i) {
                        self.events.malformed(&mut buf);
                        self.sched
                            .shared
                            .stats
                            .malformed
                            .fetch_add(1, Ordering::Relaxed);
                    }
                    if buf.len() >= 64 * 1024 {
                        return frame(buf);
                    }
                }
                Poll::Ready(Ok(None)) => {
                    self.events.end(&mut buf);
                    self.sched
                        .shared
                        .stats
                        .completed
                        .fetch_add(1, Ordering::Relaxed);
                    self.state = StreamState::Done;
                }
            }
        }
    }
}

/// Every response body of the simulator.
pub(crate) enum SimBody {
    /// A complete body (JSON).
    Full(Option<Bytes>),
    /// A server-sent-event stream.
    Stream(Box<SseStream>),
}

impl SimBody {
    pub(crate) fn full(b: impl Into<Bytes>) -> SimBody {
        SimBody::Full(Some(b.into()))
    }
}

impl Body for SimBody {
    type Data = Bytes;
    type Error = GenError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        match self.get_mut() {
            SimBody::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            SimBody::Stream(s) => s.poll_stream(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            SimBody::Full(b) => b.is_none(),
            SimBody::Stream(s) => s.state == StreamState::Done,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            SimBody::Full(Some(b)) => SizeHint::with_exact(b.len() as u64),
            SimBody::Full(None) => SizeHint::with_exact(0),
            SimBody::Stream(_) => SizeHint::default(),
        }
    }
}

/// Drives `sched` to its end (for non-streaming responses).
pub(crate) async fn run_to_end(sched: &mut Gen) -> Result<(), GenError> {
    std::future::poll_fn(|cx| {
        loop {
            match sched.poll_token(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(Some(_))) => {}
                Poll::Ready(Ok(None)) => return Poll::Ready(Ok(())),
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            }
        }
    })
    .await
}
