//! What the gateway reads from and changes in OpenAI-style requests and responses: the
//! prompt text for the policy, the body each upstream gets, usage from answers and streams.

use bytes::{Bytes, BytesMut};
use memchr::memmem;
use serde_json::{Map, Value};

use crate::policy::RequestInfo;
use crate::privacy;

/// Which endpoint a request came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `/v1/chat/completions`.
    Chat,
    /// `/v1/completions`.
    Completion,
}

impl Kind {
    /// The path below an upstream's `/v1` base.
    pub fn path(self) -> &'static str {
        match self {
            Kind::Chat => "/chat/completions",
            Kind::Completion => "/completions",
        }
    }
}

/// A parsed client request.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// The body as JSON (an object).
    pub body: Map<String, Value>,
    /// What the policy reads.
    pub info: RequestInfo,
    /// The client asked for a stream.
    pub stream: bool,
    /// The client asked for the usage event in its stream.
    pub include_usage: bool,
}

/// Reads `body` sent to `kind`; `task_header` is `x-sizewise-task`.
pub fn parse(kind: Kind, body: &[u8], task_header: Option<&str>) -> Result<Parsed, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("invalid JSON body: {e}"))?;
    let Value::Object(body) = v else {
        return Err("the body must be a JSON object".into());
    };
    let requested = match body.get("model") {
        None | Some(Value::Null) => "auto".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err("`model` must be a string".into()),
    };
    let mut text = String::new();
    let messages = match kind {
        Kind::Chat => {
            let Some(Value::Array(msgs)) = body.get("messages") else {
                return Err("`messages` (an array) is required for /v1/chat/completions".into());
            };
            if msgs.is_empty() {
                return Err("`messages` must hold at least one message".into());
            }
            for m in msgs {
                let Some(m) = m.as_object() else {
                    return Err("each message must be an object with `role` and `content`".into());
                };
                push_content(&mut text, m.get("content"));
            }
            msgs.len()
        }
        Kind::Completion => {
            match body.get("prompt") {
                Some(Value::String(s)) => text.push_str(s),
                Some(Value::Array(parts)) => {
                    for p in parts {
                        if let Value::String(s) = p {
                            push_line(&mut text, s);
                        }
                    }
                }
                _ => return Err("`prompt` (a string) is required for /v1/completions".into()),
            }
            1
        }
    };
    let stream = match body.get("stream") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err("`stream` must be true or false".into()),
    };
    let include_usage = stream
        && body
            .get("stream_options")
            .and_then(|o| o.get("include_usage"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
    let max_tokens = match body.get("max_completion_tokens").or(body.get("max_tokens")) {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .filter(|&n| n > 0)
                .ok_or("`max_tokens` must be a positive integer")?,
        ),
    };
    let mut other_text = String::new();
    for (k, v) in &body {
        if !UNSCANNED.contains(&k.as_str()) && k != "messages" && k != "prompt" {
            collect_strings(v, &mut other_text);
        }
    }
    if let Some(Value::Array(msgs)) = body.get("messages") {
        for m in msgs.iter().filter_map(Value::as_object) {
            for (k, v) in m {
                if k != "content" && !UNSCANNED.contains(&k.as_str()) {
                    collect_strings(v, &mut other_text);
                }
            }
        }
    }
    let task = task_header
        .map(str::to_string)
        .or_else(|| {
            body.get("metadata")
                .and_then(|m| m.get("task"))
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .map(|t| t.trim().to_ascii_lowercase());
    Ok(Parsed {
        info: RequestInfo {
            requested,
            text,
            messages,
            task,
            max_tokens,
            other_text,
        },
        body,
        stream,
        include_usage,
    })
}

/// Fields that hold no user data: names of things, and the application's own schemas.
const UNSCANNED: &[&str] = &[
    "model",
    "role",
    "type",
    "tools",
    "response_format",
    "tool_choice",
];

/// Every string inside `v` (object keys excluded), one per line.
fn collect_strings(v: &Value, out: &mut String) {
    match v {
        Value::String(s) => push_line(out, s),
        Value::Array(a) => a.iter().for_each(|x| collect_strings(x, out)),
        Value::Object(o) => o
            .iter()
            .filter(|(k, _)| !UNSCANNED.contains(&k.as_str()))
            .for_each(|(_, x)| collect_strings(x, out)),
        _ => {}
    }
}

/// Replaces personal data in every string inside `v` but the unscanned fields.
fn redact_strings(v: &mut Value) {
    match v {
        Value::String(s) if privacy::first(s).is_some() => *s = privacy::redact(s).0,
        Value::Array(a) => a.iter_mut().for_each(redact_strings),
        Value::Object(o) => o
            .iter_mut()
            .filter(|(k, _)| !UNSCANNED.contains(&k.as_str()))
            .for_each(|(_, x)| redact_strings(x)),
        _ => {}
    }
}

fn push_line(text: &mut String, s: &str) {
    if !text.is_empty() {
        text.push('\n');
    }
    text.push_str(s);
}

fn push_content(text: &mut String, content: Option<&Value>) {
    match content {
        Some(Value::String(s)) => push_line(text, s),
        Some(Value::Array(parts)) => {
            for p in parts {
                if let Some(s) = p.get("text").and_then(Value::as_str) {
                    push_line(text, s);
                }
            }
        }
        _ => {}
    }
}

/// How the body sent upstream differs from the client's.
#[derive(Debug, Clone, Copy)]
pub struct Rewrite<'a> {
    /// Model name the upstream expects.
    pub model: &'a str,
    /// Replace personal data by placeholders.
    pub redact: bool,
    /// Set `max_tokens` (the client set none, and a budget needs a bound).
    pub max_tokens: Option<u64>,
    /// Ask a stream for its usage event.
    pub stream_usage: bool,
    /// Ask for the whole answer at once (a cascade's first call), whatever the client asked.
    pub whole: bool,
    /// Ask for the chosen tokens' log-probabilities.
    pub logprobs: bool,
}

/// The body for one upstream.
pub fn upstream_body(p: &Parsed, w: Rewrite<'_>) -> Bytes {
    let mut b = p.body.clone();
    b.insert("model".into(), Value::String(w.model.to_string()));
    if w.whole {
        b.insert("stream".into(), Value::Bool(false));
        b.remove("stream_options");
    }
    if w.logprobs {
        b.insert("logprobs".into(), Value::Bool(true));
    }
    if w.stream_usage && !w.whole {
        let opts = b
            .entry("stream_options")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(o) = opts {
            o.insert("include_usage".into(), Value::Bool(true));
        } else {
            *opts = serde_json::json!({"include_usage": true});
        }
    }
    if let Some(n) = w.max_tokens {
        b.insert("max_tokens".into(), Value::from(n));
    }
    // The task label is for the gateway; upstreams may reject unknown metadata.
    if let Some(Value::Object(m)) = b.get_mut("metadata") {
        m.remove("task");
        if m.is_empty() {
            b.remove("metadata");
        }
    }
    if w.redact {
        // Every string the user wrote: message contents, tool-call arguments, names,
        // `user`, metadata; not the model, roles, or the application's tool schemas.
        for (k, v) in b.iter_mut() {
            if !UNSCANNED.contains(&k.as_str()) {
                redact_strings(v);
            }
        }
    }
    Bytes::from(serde_json::to_vec(&Value::Object(b)).unwrap_or_default())
}

/// Token counts an upstream reported.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Prompt tokens.
    pub prompt: u64,
    /// Completion tokens.
    pub completion: u64,
}

/// The `usage` of an answer or a stream's usage event.
pub fn usage_of(v: &Value) -> Option<Usage> {
    let u = v.get("usage")?;
    Some(Usage {
        prompt: u.get("prompt_tokens")?.as_u64()?,
        completion: u
            .get("completion_tokens")
            .and_then(Value::as_u64)
            .unwrap_or(0),
    })
}

/// A whole (non-streamed) answer: its usage and generated text, or why it is not an answer.
pub fn read_answer(body: &[u8]) -> Result<(Option<Usage>, String), String> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| format!("the answer is not JSON: {e}"))?;
    let choices = v
        .get("choices")
        .and_then(Value::as_array)
        .ok_or("the answer has no `choices`")?;
    let mut text = String::new();
    for c in choices {
        if let Some(s) = c
            .get("message")
            .and_then(|m| m.get("content"))
            .and_then(Value::as_str)
            .or_else(|| c.get("text").and_then(Value::as_str))
        {
            text.push_str(s);
        }
    }
    Ok((usage_of(&v), text))
}

/// What one chunk of an upstream stream gave the client.
#[derive(Debug, Default)]
pub struct Scanned {
    /// Bytes to send on (whole events only).
    pub out: Option<Bytes>,
    /// The upstream sent `data: [DONE]` (held back: the gateway sends it last).
    pub done: bool,
}

/// Splits an upstream's SSE stream into events, keeps the usage, holds back `[DONE]` and,
/// when the client did not ask for it, the usage-only event the gateway asked for.
#[derive(Debug)]
pub struct SseScan {
    buf: BytesMut,
    client_wants_usage: bool,
    /// Usage from the stream's usage event.
    pub usage: Option<Usage>,
    /// Events that carried generated text (a token count when usage is missing).
    pub content_events: u64,
    /// An event the upstream sent as an error.
    pub error: Option<String>,
}

/// Events larger than this without an end are an upstream fault, not an answer.
const MAX_EVENT_BYTES: usize = 16 << 20;

impl SseScan {
    /// A scanner for a client that did (or did not) ask for usage.
    pub fn new(client_wants_usage: bool) -> SseScan {
        SseScan {
            buf: BytesMut::new(),
            client_wants_usage,
            usage: None,
            content_events: 0,
            error: None,
        }
    }

    /// Takes one chunk; returns what to forward.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Scanned, String> {
        self.buf.extend_from_slice(chunk);
        let mut out = BytesMut::new();
        let mut done = false;
        loop {
            let (end, sep) = match (
                memmem::find(&self.buf, b"\n\n"),
                memmem::find(&self.buf, b"\r\n\r\n"),
            ) {
                (Some(a), Some(b)) if b < a => (b, 4),
                (Some(a), _) => (a, 2),
                (None, Some(b)) => (b, 4),
                (None, None) => break,
            };
            let event = self.buf.split_to(end + sep);
            let body = &event[..end];
            if self.handle_event(body, &mut done) {
                out.extend_from_slice(&event);
            }
        }
        if self.buf.len() > MAX_EVENT_BYTES {
            return Err(format!("an event longer than {MAX_EVENT_BYTES} bytes"));
        }
        Ok(Scanned {
            out: (!out.is_empty()).then(|| out.freeze()),
            done,
        })
    }

    /// Whether the event goes to the client.
    fn handle_event(&mut self, ev: &[u8], done: &mut bool) -> bool {
        // Events are `data: ...` lines (one in practice); comments and other fields pass.
        let data = ev
            .split(|&b| b == b'\n')
            .filter_map(|l| l.strip_prefix(b"data:"))
            .map(|l| l.strip_prefix(b" ").unwrap_or(l))
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
            .next();
        let Some(data) = data else { return true };
        if data == b"[DONE]" {
            *done = true;
            return false;
        }
        let has_usage = memmem::find(data, b"\"usage\":{").is_some()
            || memmem::find(data, b"\"usage\": {").is_some();
        let has_error = memmem::find(data, b"\"error\"").is_some();
        if !has_usage && !has_error {
            if memmem::find(data, b"\"content\":\"").is_some()
                || memmem::find(data, b"\"text\":\"").is_some()
            {
                self.content_events += 1;
            }
            return true;
        }
        let Ok(v) = serde_json::from_slice::<Value>(data) else {
            return true;
        };
        if let Some(e) = v.get("error") {
            self.error = Some(
                e.get("message")
                    .and_then(Value::as_str)
                    .map_or_else(|| e.to_string(), str::to_string),
            );
            return true;
        }
        if let Some(u) = usage_of(&v) {
            self.usage = Some(u);
        }
        let empty_choices = v
            .get("choices")
            .and_then(Value::as_array)
            .is_none_or(|c| c.is_empty());
        if !empty_choices
            && (memmem::find(data, b"\"content\":\"").is_some()
                || memmem::find(data, b"\"text\":\"").is_some())
        {
            self.content_events += 1;
        }
        self.client_wants_usage || !empty_choices
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn chat_text_tasks_and_limits_are_read() {
        let p = parse(
            Kind::Chat,
            br#"{"model":"auto","messages":[{"role":"system","content":"be brief"},{"role":"user","content":[{"type":"text","text":"hi"}]}],"max_tokens":7,"stream":true,"stream_options":{"include_usage":true},"metadata":{"task":"Code"}}"#,
            None,
        )
        .unwrap();
        assert_eq!(p.info.text, "be brief\nhi");
        assert_eq!(p.info.messages, 2);
        assert_eq!(p.info.max_tokens, Some(7));
        assert_eq!(p.info.task.as_deref(), Some("code"));
        assert!(p.stream && p.include_usage);
        let p = parse(Kind::Completion, br#"{"prompt":"x"}"#, Some("Math")).unwrap();
        assert_eq!(p.info.requested, "auto");
        assert_eq!(p.info.task.as_deref(), Some("math"));
        for bad in [
            &b"[1]"[..],
            b"{\"messages\":[]}",
            b"{\"messages\":[1]}",
            b"{",
            b"{\"model\":3,\"messages\":[{}]}",
        ] {
            assert!(
                parse(Kind::Chat, bad, None).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn upstream_bodies_name_the_upstream_model_and_redact_on_demand() {
        let p = parse(
            Kind::Chat,
            br#"{"model":"auto","messages":[{"role":"user","content":"mail ana@example.com"}],"stream":true,"metadata":{"task":"x"}}"#,
            None,
        )
        .unwrap();
        let b = upstream_body(
            &p,
            Rewrite {
                model: "gpt-4o",
                redact: true,
                max_tokens: Some(5),
                stream_usage: true,
                whole: false,
                logprobs: false,
            },
        );
        let v: Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(v["model"], "gpt-4o");
        assert_eq!(v["messages"][0]["content"], "mail [EMAIL]");
        assert_eq!(v["stream_options"]["include_usage"], true);
        assert_eq!(v["max_tokens"], 5);
        assert!(v.get("metadata").is_none());
    }

    #[test]
    fn personal_data_outside_message_text_is_seen_and_redacted() {
        let p = parse(
            Kind::Chat,
            br#"{"model":"auto","user":"ana@example.com","messages":[{"role":"assistant","content":null,
                "tool_calls":[{"type":"function","function":{"name":"lookup","arguments":"{\"cpf\":\"529.982.247-25\"}"}}]}],
                "tools":[{"type":"function","function":{"name":"lookup","description":"mail x@y.com"}}]}"#,
            None,
        )
        .unwrap();
        assert!(p.info.other_text.contains("ana@example.com"));
        assert!(p.info.other_text.contains("529.982.247-25"));
        assert!(
            !p.info.other_text.contains("x@y.com"),
            "tool schemas are the application's"
        );
        let b = upstream_body(
            &p,
            Rewrite {
                model: "m",
                redact: true,
                max_tokens: None,
                stream_usage: false,
                whole: false,
                logprobs: false,
            },
        );
        let text = String::from_utf8(b.to_vec()).unwrap();
        assert!(
            !text.contains("ana@example.com") && !text.contains("529.982.247-25"),
            "{text}"
        );
        assert!(text.contains("[CPF]") && text.contains("x@y.com"), "{text}");
    }

    #[test]
    fn streams_keep_usage_and_hold_back_done() {
        let mut s = SseScan::new(false);
        let a = s.push(b"data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}],\"usage\":null}\n\ndata: {\"choi").unwrap();
        assert!(a.out.unwrap().starts_with(b"data: {\"choices\""));
        let b = s
            .push(b"ces\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1}}\n\ndata: [DONE]\n\n")
            .unwrap();
        assert!(
            b.out.is_none(),
            "the usage event the client did not ask for is dropped"
        );
        assert!(b.done);
        assert_eq!(
            s.usage,
            Some(Usage {
                prompt: 3,
                completion: 1
            })
        );
        assert_eq!(s.content_events, 1);
        let mut s = SseScan::new(true);
        let c = s.push(b"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1}}\r\n\r\n").unwrap();
        assert!(c.out.is_some());
    }

    #[test]
    fn answers_without_choices_are_not_answers() {
        assert!(read_answer(b"{\"oops\":1}").is_err());
        assert!(read_answer(b"<html>").is_err());
        let (u, t) = read_answer(br#"{"choices":[{"message":{"content":"ok"}}],"usage":{"prompt_tokens":2,"completion_tokens":1}}"#).unwrap();
        assert_eq!(t, "ok");
        assert_eq!(
            u,
            Some(Usage {
                prompt: 2,
                completion: 1
            })
        );
    }
}
