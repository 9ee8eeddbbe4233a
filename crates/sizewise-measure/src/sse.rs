//! Incremental server-sent-events parsing and classification of OpenAI stream chunks.
//!
//! The parser keeps two reusable buffers (a partial line and the current event's data), so
//! steady-state parsing allocates nothing. Chunk JSON is read through borrowed views that
//! record only string lengths, so classifying an event allocates nothing either (except a
//! `finish_reason` string, once per request).

use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

/// What one SSE event carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// Non-empty `delta.content` (chat) or `text` (completions): an output token event.
    Content,
    /// Non-empty `delta.reasoning_content` / `delta.reasoning` with no content: also an
    /// output token event.
    Reasoning,
    /// A `delta.role` with no text (typically the first chat chunk).
    Role,
    /// A `usage` object with no text (the `include_usage` chunk).
    Usage,
    /// A `finish_reason` with no text.
    Finish,
    /// Valid JSON that carried none of the above.
    Empty,
    /// An `{"error": ...}` object inside the stream.
    Error,
    /// `data:` that is not valid JSON and not `[DONE]`.
    Malformed,
    /// `data: [DONE]`.
    Done,
}

impl EventKind {
    /// True for events that carry output tokens (content or reasoning).
    pub fn is_token(self) -> bool {
        matches!(self, EventKind::Content | EventKind::Reasoning)
    }
}

/// Token counts reported by the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// `usage.prompt_tokens`.
    pub prompt_tokens: Option<u64>,
    /// `usage.completion_tokens`.
    pub completion_tokens: Option<u64>,
}

/// Reusable SSE line/event assembler.
#[derive(Debug, Default)]
pub(crate) struct SseParser {
    line: Vec<u8>,
    data: Vec<u8>,
    has_data: bool,
    data_t: u64,
}

impl SseParser {
    pub(crate) fn reset(&mut self) {
        self.line.clear();
        self.data.clear();
        self.has_data = false;
    }

    /// Feeds body bytes that arrived at `t_ns`; calls `on_event(data, t_ns_of_its_first_data_line)`
    /// for every complete event.
    pub(crate) fn feed(&mut self, chunk: &[u8], t_ns: u64, on_event: &mut impl FnMut(&[u8], u64)) {
        let mut rest = chunk;
        while let Some(pos) = memchr::memchr(b'\n', rest) {
            let seg = &rest[..pos];
            rest = &rest[pos + 1..];
            if self.line.is_empty() {
                self.line_done(seg, t_ns, on_event);
            } else {
                let mut line = std::mem::take(&mut self.line);
                line.extend_from_slice(seg);
                self.line_done(&line, t_ns, on_event);
                line.clear();
                self.line = line;
            }
        }
        self.line.extend_from_slice(rest);
    }

    /// End of body: a last event without its blank line is still delivered.
    pub(crate) fn finish(&mut self, t_ns: u64, on_event: &mut impl FnMut(&[u8], u64)) {
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.line_done(&line, t_ns, on_event);
        }
        self.line_done(b"", t_ns, on_event);
    }

    fn line_done(&mut self, line: &[u8], t_ns: u64, on_event: &mut impl FnMut(&[u8], u64)) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            if self.has_data {
                on_event(&self.data, self.data_t);
                self.data.clear();
                self.has_data = false;
            }
            return;
        }
        if line[0] == b':' {
            return;
        }
        let (name, value) = match memchr::memchr(b':', line) {
            Some(i) => {
                let v = &line[i + 1..];
                (&line[..i], v.strip_prefix(b" ").unwrap_or(v))
            }
            None => (line, &b""[..]),
        };
        if name == b"data" {
            if self.has_data {
                self.data.push(b'\n');
            } else {
                self.data_t = t_ns;
                self.has_data = true;
            }
            self.data.extend_from_slice(value);
        }
    }
}

/// The meaning of one event's data.
#[derive(Debug, Default)]
pub(crate) struct ChunkInfo {
    pub kind: Option<EventKind>,
    /// How many more tokens than events this event's text may stand for: a character of
    /// n UTF-8 bytes can be n byte-level tokens, and a server sends it whole, in one event.
    pub multibyte_slack: u32,
    pub usage: Option<Usage>,
    pub finish_reason: Option<String>,
    pub error: Option<String>,
}

/// Classifies one event's data.
pub(crate) fn classify(data: &[u8]) -> ChunkInfo {
    let trimmed = data.trim_ascii();
    if trimmed == b"[DONE]" {
        return ChunkInfo {
            kind: Some(EventKind::Done),
            ..ChunkInfo::default()
        };
    }
    let view: ChunkView = match serde_json::from_slice(trimmed) {
        Ok(v) => v,
        Err(_) => {
            return ChunkInfo {
                kind: Some(EventKind::Malformed),
                ..ChunkInfo::default()
            };
        }
    };
    let choice = view.choices.0;
    let (mut content, mut reasoning, mut role, mut finish) = (0, 0, false, None);
    let mut multibyte_slack = 0;
    if let Some(c) = choice {
        let mut add = |text: Option<StrLen>, to: &mut usize| {
            if let Some(t) = text {
                *to += t.len;
                multibyte_slack += t.multibyte_slack;
            }
        };
        add(c.text, &mut content);
        if let Some(d) = c.delta {
            add(d.content, &mut content);
            add(d.reasoning_content, &mut reasoning);
            add(d.reasoning, &mut reasoning);
            role = d.role.is_some();
        }
        finish = c.finish_reason;
    }
    let kind = if view.error.is_some() {
        EventKind::Error
    } else if content > 0 {
        EventKind::Content
    } else if reasoning > 0 {
        EventKind::Reasoning
    } else if finish.is_some() {
        EventKind::Finish
    } else if role {
        EventKind::Role
    } else if view.usage.is_some() {
        EventKind::Usage
    } else {
        EventKind::Empty
    };
    ChunkInfo {
        kind: Some(kind),
        multibyte_slack,
        usage: view.usage,
        finish_reason: finish,
        error: view.error.map(|e| {
            e.get("message")
                .and_then(|m| m.as_str())
                .map_or_else(|| e.to_string(), str::to_string)
        }),
    }
}

#[derive(Deserialize)]
struct ChunkView {
    #[serde(default)]
    choices: FirstChoice,
    #[serde(default)]
    usage: Option<Usage>,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct ChoiceView {
    #[serde(default)]
    delta: Option<DeltaView>,
    #[serde(default)]
    text: Option<StrLen>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct DeltaView {
    #[serde(default)]
    content: Option<StrLen>,
    #[serde(default)]
    reasoning_content: Option<StrLen>,
    #[serde(default)]
    reasoning: Option<StrLen>,
    #[serde(default)]
    role: Option<IgnoredAny>,
}

/// The length of a JSON string, read without allocating, and its multi-byte slack (the sum,
/// over its non-ASCII characters, of their UTF-8 length less one).
struct StrLen {
    len: usize,
    multibyte_slack: u32,
}

impl<'de> Deserialize<'de> for StrLen {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = StrLen;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<StrLen, E> {
                let slack = if v.is_ascii() {
                    0
                } else {
                    v.chars().map(|c| c.len_utf8() - 1).sum::<usize>()
                };
                Ok(StrLen {
                    len: v.len(),
                    multibyte_slack: u32::try_from(slack).unwrap_or(u32::MAX),
                })
            }
        }
        d.deserialize_str(V)
    }
}

/// The first element of `choices`, without collecting the array.
#[derive(Default)]
struct FirstChoice(Option<ChoiceView>);

impl<'de> Deserialize<'de> for FirstChoice {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = FirstChoice;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of choices or null")
            }
            fn visit_unit<E: de::Error>(self) -> Result<FirstChoice, E> {
                Ok(FirstChoice(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<FirstChoice, E> {
                Ok(FirstChoice(None))
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<FirstChoice, D2::Error> {
                d.deserialize_seq(V)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<FirstChoice, A::Error> {
                let first = seq.next_element::<ChoiceView>()?;
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(FirstChoice(first))
            }
        }
        d.deserialize_option(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(chunks: &[&[u8]]) -> Vec<(Vec<u8>, u64)> {
        let mut p = SseParser::default();
        let mut out = Vec::new();
        for (i, c) in chunks.iter().enumerate() {
            p.feed(c, i as u64, &mut |d: &[u8], t| out.push((d.to_vec(), t)));
        }
        p.finish(99, &mut |d: &[u8], t| out.push((d.to_vec(), t)));
        out
    }

    #[test]
    fn splits_across_chunks_crlf_comments_and_multiline() {
        let ev = events(&[
            b": keepalive\n\nda",
            b"ta: {\"a\":1}\r\n\r\ndata: x\ndata:y\n",
            b"\nevent: ping\nid: 3\n\ndata: [DONE]",
        ]);
        assert_eq!(
            ev,
            vec![
                (b"{\"a\":1}".to_vec(), 1),
                (b"x\ny".to_vec(), 1),
                (b"[DONE]".to_vec(), 99)
            ]
        );
    }

    #[test]
    fn classifies_openai_chunks() {
        let k = |s: &str| classify(s.as_bytes()).kind;
        assert_eq!(
            k(
                r#"{"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}"#
            ),
            Some(EventKind::Role)
        );
        assert_eq!(
            k(r#"{"choices":[{"delta":{"content":"hi \"x\""}}]}"#),
            Some(EventKind::Content)
        );
        assert_eq!(
            k(r#"{"choices":[{"text":"hi","finish_reason":null}]}"#),
            Some(EventKind::Content)
        );
        assert_eq!(
            k(r#"{"choices":[{"delta":{"reasoning_content":"hm"}}]}"#),
            Some(EventKind::Reasoning)
        );
        assert_eq!(k(r#"{"choices":[],"usage":null}"#), Some(EventKind::Empty));
        assert_eq!(k(r#"{"choices":null}"#), Some(EventKind::Empty));
        assert_eq!(k("[DONE]"), Some(EventKind::Done));
        assert_eq!(k("{\"choices\": [{\"delta\""), Some(EventKind::Malformed));
        let f = classify(br#"{"choices":[{"delta":{},"finish_reason":"length"},{"x":1}]}"#);
        assert_eq!(f.kind, Some(EventKind::Finish));
        assert_eq!(f.finish_reason.as_deref(), Some("length"));
        let u = classify(br#"{"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":32,"total_tokens":39}}"#);
        assert_eq!(u.kind, Some(EventKind::Usage));
        assert_eq!(
            u.usage,
            Some(Usage {
                prompt_tokens: Some(7),
                completion_tokens: Some(32)
            })
        );
        let e = classify(br#"{"error":{"message":"overloaded","code":503}}"#);
        assert_eq!(e.kind, Some(EventKind::Error));
        assert_eq!(e.error.as_deref(), Some("overloaded"));
    }

    #[test]
    fn multi_byte_characters_give_slack_for_joined_tokens() {
        let slack = |s: &str| classify(s.as_bytes()).multibyte_slack;
        assert_eq!(slack(r#"{"choices":[{"delta":{"content":" It"}}]}"#), 0);
        // U+1F331 is 4 UTF-8 bytes: up to 4 byte-level tokens in one event.
        assert_eq!(slack(r#"{"choices":[{"delta":{"content":"🌱.."}}]}"#), 3);
        // The same character escaped in JSON, and a 3-byte one in a completion's text.
        assert_eq!(
            slack(r#"{"choices":[{"delta":{"content":"\ud83c\udf31"}}]}"#),
            3
        );
        assert_eq!(slack(r#"{"choices":[{"text":"ℚ"}]}"#), 2);
        // Reasoning text counts too; a role chunk carries none.
        assert_eq!(
            slack(r#"{"choices":[{"delta":{"reasoning_content":"é"}}]}"#),
            1
        );
        assert_eq!(slack(r#"{"choices":[{"delta":{"role":"assistant"}}]}"#), 0);
    }
}
