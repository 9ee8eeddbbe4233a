//! Request bodies: JSON to a prompt and generation parameters.
//!
//! The body is read as a [`Value`] and each field is checked on its own, so an error names the
//! field at fault and fields this server does not know are ignored.

use serde_json::{Map, Value};
use sizewise_engine::{ChatMessage, GenParams, MAX_TOP_LOGPROBS, Prompt};

/// Which endpoint a request came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `POST /v1/chat/completions`.
    Chat,
    /// `POST /v1/completions`.
    Completion,
}

/// Stop sequences a request may give; OpenAI allows 4, llama.cpp's server more.
const MAX_STOP: usize = 16;

/// A request the engine can run.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Parsed {
    pub(crate) prompt: Prompt,
    pub(crate) params: GenParams,
    pub(crate) stream: bool,
    pub(crate) include_usage: bool,
}

/// Why a request body was refused: the message and the field (OpenAI's `param`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadRequest {
    pub(crate) message: String,
    pub(crate) param: Option<&'static str>,
}

impl BadRequest {
    fn field(param: &'static str, message: impl Into<String>) -> BadRequest {
        BadRequest {
            message: message.into(),
            param: Some(param),
        }
    }
}

/// Defaults for fields a request leaves out.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Defaults {
    /// Output tokens without `max_tokens`: the context length, so generation runs to an
    /// end-of-generation token or the context's end, as OpenAI's API does.
    pub(crate) max_tokens: u32,
    /// Sampler seed without `seed`.
    pub(crate) seed: u32,
}

/// Parses a request body for `kind`.
pub(crate) fn parse(kind: Kind, body: &[u8], defaults: Defaults) -> Result<Parsed, BadRequest> {
    let value: Value = serde_json::from_slice(body).map_err(|err| BadRequest {
        message: format!("invalid JSON body: {err}"),
        param: None,
    })?;
    let Value::Object(obj) = value else {
        return Err(BadRequest {
            message: "the request body must be a JSON object".into(),
            param: None,
        });
    };
    let prompt = match kind {
        Kind::Chat => Prompt::Chat(messages(&obj)?),
        Kind::Completion => Prompt::Text(text_prompt(&obj)?),
    };
    if let Some(n) = opt_u64(&obj, "n")?
        && n != 1
    {
        return Err(BadRequest::field(
            "n",
            format!("only `n: 1` is supported, got {n}"),
        ));
    }
    // `max_completion_tokens` is the newer name; it wins when both are given.
    let max_tokens = match opt_u64(&obj, "max_completion_tokens")? {
        Some(n) => Some(("max_completion_tokens", n)),
        None => opt_u64(&obj, "max_tokens")?.map(|n| ("max_tokens", n)),
    };
    let max_tokens = match max_tokens {
        None => defaults.max_tokens,
        Some((name, 0)) => {
            return Err(BadRequest::field(
                name,
                format!("`{name}` must be at least 1"),
            ));
        }
        // Beyond u32 is beyond any context: the context's end stops generation anyway.
        Some((_, n)) => u32::try_from(n).unwrap_or(u32::MAX),
    };
    let temperature = opt_f64(&obj, "temperature")?.unwrap_or(1.0);
    if !(0.0..=2.0).contains(&temperature) {
        return Err(BadRequest::field(
            "temperature",
            format!("`temperature` must be between 0 and 2, got {temperature}"),
        ));
    }
    let top_p = opt_f64(&obj, "top_p")?.unwrap_or(1.0);
    if !(top_p > 0.0 && top_p <= 1.0) {
        return Err(BadRequest::field(
            "top_p",
            format!("`top_p` must be in (0, 1], got {top_p}"),
        ));
    }
    let seed = match obj.get("seed") {
        None | Some(Value::Null) => defaults.seed,
        // The engine's sampler takes 32 bits; wider seeds keep their low bits.
        Some(Value::Number(n)) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => u as u32,
            (None, Some(i)) => i as u32,
            _ => return Err(BadRequest::field("seed", "`seed` must be an integer")),
        },
        Some(_) => return Err(BadRequest::field("seed", "`seed` must be an integer")),
    };
    let stream = opt_bool(&obj, "stream")?.unwrap_or(false);
    let include_usage = match obj.get("stream_options") {
        None | Some(Value::Null) => false,
        Some(Value::Object(options)) => opt_bool(options, "include_usage")
            .map_err(|_| {
                BadRequest::field(
                    "stream_options",
                    "`stream_options.include_usage` must be a boolean",
                )
            })?
            .unwrap_or(false),
        Some(_) => {
            return Err(BadRequest::field(
                "stream_options",
                "`stream_options` must be an object",
            ));
        }
    };
    let top_logprobs = logprobs(kind, &obj)?;
    let params = GenParams {
        max_tokens,
        temperature: temperature as f32,
        top_p: top_p as f32,
        seed,
        stop: stop(&obj)?,
        ignore_eos: opt_bool(&obj, "ignore_eos")?.unwrap_or(false),
        // Each request is timed from a cold context, as a benchmark through the server expects.
        reuse_prefix: false,
        top_logprobs,
    };
    Ok(Parsed {
        prompt,
        params,
        stream,
        include_usage: stream && include_usage,
    })
}

/// A chat's `logprobs` (a boolean) and `top_logprobs` (0 to 20, only with `logprobs`), as
/// the engine's [`GenParams::top_logprobs`]. The legacy completions API's integer `logprobs`
/// is refused with a pointer to the chat endpoint.
fn logprobs(kind: Kind, obj: &Map<String, Value>) -> Result<Option<u32>, BadRequest> {
    if kind == Kind::Completion {
        return match obj.get("logprobs") {
            None | Some(Value::Null) | Some(Value::Bool(false)) => Ok(None),
            Some(_) => Err(BadRequest::field(
                "logprobs",
                "`logprobs` is served on /v1/chat/completions only (`\"logprobs\": true, \"top_logprobs\": N`)",
            )),
        };
    }
    let wanted = opt_bool(obj, "logprobs")?.unwrap_or(false);
    let top = opt_u64(obj, "top_logprobs")?;
    match (wanted, top) {
        (false, None | Some(0)) => Ok(None),
        (false, Some(_)) => Err(BadRequest::field(
            "top_logprobs",
            "`top_logprobs` needs `\"logprobs\": true`",
        )),
        (true, top) => {
            let top = top.unwrap_or(0);
            if top > u64::from(MAX_TOP_LOGPROBS) {
                return Err(BadRequest::field(
                    "top_logprobs",
                    format!("`top_logprobs` must be between 0 and {MAX_TOP_LOGPROBS}, got {top}"),
                ));
            }
            Ok(Some(top as u32))
        }
    }
}

/// The chat's `messages`: each with a `role` and text `content` (a string, null, or an array
/// of text parts).
fn messages(obj: &Map<String, Value>) -> Result<Vec<ChatMessage>, BadRequest> {
    const FIELD: &str = "messages";
    let list = match obj.get(FIELD) {
        None | Some(Value::Null) => {
            return Err(BadRequest::field(
                FIELD,
                "`messages` is required for /v1/chat/completions",
            ));
        }
        Some(Value::Array(list)) => list,
        Some(_) => return Err(BadRequest::field(FIELD, "`messages` must be an array")),
    };
    if list.is_empty() {
        return Err(BadRequest::field(
            FIELD,
            "`messages` must hold at least one message",
        ));
    }
    list.iter()
        .enumerate()
        .map(|(i, message)| {
            let role = match message.get("role") {
                Some(Value::String(role)) if !role.is_empty() => role.clone(),
                _ => {
                    return Err(BadRequest::field(
                        FIELD,
                        format!("`messages[{i}].role` must be a non-empty string"),
                    ));
                }
            };
            let content = match message.get("content") {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(text)) => text.clone(),
                Some(Value::Array(parts)) => content_parts(i, parts)?,
                Some(_) => {
                    return Err(BadRequest::field(
                        FIELD,
                        format!(
                            "`messages[{i}].content` must be a string or an array of text parts"
                        ),
                    ));
                }
            };
            Ok(ChatMessage::new(role, content))
        })
        .collect()
}

/// The text of a content-part array, parts joined in order; a model that reads text only
/// refuses other parts rather than answer without them.
fn content_parts(i: usize, parts: &[Value]) -> Result<String, BadRequest> {
    let mut text = String::new();
    for (j, part) in parts.iter().enumerate() {
        match (part.get("type").and_then(Value::as_str), part.get("text")) {
            (Some("text") | None, Some(Value::String(piece))) => text.push_str(piece),
            _ => {
                return Err(BadRequest::field(
                    "messages",
                    format!(
                        "`messages[{i}].content[{j}]` must be a text part ({{\"type\":\"text\",\"text\":...}}); this server reads text only"
                    ),
                ));
            }
        }
    }
    Ok(text)
}

/// The completions `prompt`: a string, or an array holding one string.
fn text_prompt(obj: &Map<String, Value>) -> Result<String, BadRequest> {
    const FIELD: &str = "prompt";
    match obj.get(FIELD) {
        None | Some(Value::Null) => Err(BadRequest::field(
            FIELD,
            "`prompt` is required for /v1/completions",
        )),
        Some(Value::String(text)) => Ok(text.clone()),
        Some(Value::Array(items)) => match items.as_slice() {
            [Value::String(text)] => Ok(text.clone()),
            _ => Err(BadRequest::field(
                FIELD,
                "`prompt` must be a string or an array of one string (no token ids, no batches)",
            )),
        },
        Some(_) => Err(BadRequest::field(FIELD, "`prompt` must be a string")),
    }
}

/// `stop`: a string or an array of strings.
fn stop(obj: &Map<String, Value>) -> Result<Vec<String>, BadRequest> {
    let list = match obj.get("stop") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::String(text)) => return Ok(vec![text.clone()]),
        Some(Value::Array(list)) => list,
        Some(_) => {
            return Err(BadRequest::field(
                "stop",
                "`stop` must be a string or an array of strings",
            ));
        }
    };
    if list.len() > MAX_STOP {
        return Err(BadRequest::field(
            "stop",
            format!("`stop` holds at most {MAX_STOP} sequences"),
        ));
    }
    list.iter()
        .map(|item| match item {
            Value::String(text) => Ok(text.clone()),
            _ => Err(BadRequest::field(
                "stop",
                "`stop` must be a string or an array of strings",
            )),
        })
        .collect()
}

fn opt_u64(obj: &Map<String, Value>, name: &'static str) -> Result<Option<u64>, BadRequest> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value.as_u64().map(Some).ok_or_else(|| {
            BadRequest::field(name, format!("`{name}` must be a non-negative integer"))
        }),
    }
}

fn opt_f64(obj: &Map<String, Value>, name: &'static str) -> Result<Option<f64>, BadRequest> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_f64()
            .map(Some)
            .ok_or_else(|| BadRequest::field(name, format!("`{name}` must be a number"))),
    }
}

fn opt_bool(obj: &Map<String, Value>, name: &'static str) -> Result<Option<bool>, BadRequest> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_bool()
            .map(Some)
            .ok_or_else(|| BadRequest::field(name, format!("`{name}` must be a boolean"))),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use proptest::prelude::*;

    use super::*;

    const DEFAULTS: Defaults = Defaults {
        max_tokens: 2048,
        seed: 7,
    };

    fn chat(body: &str) -> Result<Parsed, BadRequest> {
        parse(Kind::Chat, body.as_bytes(), DEFAULTS)
    }

    fn param_of(body: &str) -> Option<&'static str> {
        chat(body).unwrap_err().param
    }

    #[test]
    fn a_full_chat_request() {
        let p = chat(
            r#"{"model":"x","messages":[{"role":"system","content":"Be brief."},
                {"role":"user","content":[{"type":"text","text":"Hi"},{"type":"text","text":"!"}]}],
                "max_tokens":8,"temperature":0,"top_p":0.5,"seed":-1,"stop":["\n","."],
                "stream":true,"stream_options":{"include_usage":true},"ignore_eos":true,
                "logit_bias":{},"user":"u"}"#,
        )
        .unwrap();
        assert_eq!(
            p.prompt,
            Prompt::chat([("system", "Be brief."), ("user", "Hi!")])
        );
        assert_eq!(
            p.params,
            GenParams {
                max_tokens: 8,
                temperature: 0.0,
                top_p: 0.5,
                seed: u32::MAX,
                stop: vec!["\n".into(), ".".into()],
                ignore_eos: true,
                reuse_prefix: false,
                top_logprobs: None,
            }
        );
        assert!(p.stream && p.include_usage);
    }

    #[test]
    fn logprobs_follow_openai_rules() {
        let hi = r#""messages":[{"role":"user","content":"Hi"}]"#;
        let top = |extra: &str| chat(&format!("{{{hi},{extra}}}")).map(|p| p.params.top_logprobs);
        assert_eq!(top(r#""logprobs":true"#), Ok(Some(0)));
        assert_eq!(top(r#""logprobs":true,"top_logprobs":20"#), Ok(Some(20)));
        assert_eq!(top(r#""logprobs":false"#), Ok(None));
        assert_eq!(top(r#""logprobs":false,"top_logprobs":0"#), Ok(None));
        for (extra, field) in [
            (r#""top_logprobs":3"#, "top_logprobs"),
            (r#""logprobs":true,"top_logprobs":21"#, "top_logprobs"),
            (r#""logprobs":true,"top_logprobs":-1"#, "top_logprobs"),
            (r#""logprobs":1"#, "logprobs"),
        ] {
            assert_eq!(top(extra).unwrap_err().param, Some(field), "{extra}");
        }
        let legacy = parse(
            Kind::Completion,
            br#"{"prompt":"a","logprobs":2}"#,
            DEFAULTS,
        );
        assert_eq!(legacy.unwrap_err().param, Some("logprobs"));
        let none = parse(
            Kind::Completion,
            br#"{"prompt":"a","logprobs":null}"#,
            DEFAULTS,
        );
        assert_eq!(none.unwrap().params.top_logprobs, None);
    }

    #[test]
    fn defaults_apply_to_a_bare_request() {
        let p = chat(r#"{"messages":[{"role":"user","content":"Hi"}]}"#).unwrap();
        assert_eq!(p.params.max_tokens, 2048);
        assert_eq!(p.params.seed, 7);
        assert_eq!(p.params.temperature, 1.0);
        assert!(!p.stream && !p.include_usage);
    }

    #[test]
    fn usage_is_asked_only_with_a_stream() {
        let p = chat(
            r#"{"messages":[{"role":"user","content":"Hi"}],"stream_options":{"include_usage":true}}"#,
        )
        .unwrap();
        assert!(!p.include_usage);
    }

    #[test]
    fn max_completion_tokens_wins() {
        let p = chat(
            r#"{"messages":[{"role":"user","content":"Hi"}],"max_tokens":5,"max_completion_tokens":3}"#,
        )
        .unwrap();
        assert_eq!(p.params.max_tokens, 3);
    }

    #[test]
    fn completions_take_a_string_or_one_string_in_an_array() {
        for body in [r#"{"prompt":"Once"}"#, r#"{"prompt":["Once"],"stop":"."}"#] {
            let p = parse(Kind::Completion, body.as_bytes(), DEFAULTS).unwrap();
            assert_eq!(p.prompt, Prompt::text("Once"));
        }
        for body in [r#"{"prompt":[1,2]}"#, r#"{"prompt":["a","b"]}"#, "{}"] {
            let err = parse(Kind::Completion, body.as_bytes(), DEFAULTS).unwrap_err();
            assert_eq!(err.param, Some("prompt"), "{body}");
        }
    }

    #[test]
    fn errors_name_the_field() {
        let hi = r#""messages":[{"role":"user","content":"Hi"}]"#;
        for (body, field) in [
            ("{}".to_string(), "messages"),
            (r#"{"messages":[]}"#.to_string(), "messages"),
            (r#"{"messages":"Hi"}"#.to_string(), "messages"),
            (r#"{"messages":[{"content":"Hi"}]}"#.to_string(), "messages"),
            (
                r#"{"messages":[{"role":"user","content":5}]}"#.to_string(),
                "messages",
            ),
            (
                r#"{"messages":[{"role":"user","content":[{"type":"image_url"}]}]}"#.to_string(),
                "messages",
            ),
            (format!(r#"{{{hi},"max_tokens":"8"}}"#), "max_tokens"),
            (format!(r#"{{{hi},"max_tokens":0}}"#), "max_tokens"),
            (format!(r#"{{{hi},"max_tokens":-1}}"#), "max_tokens"),
            (
                format!(r#"{{{hi},"max_completion_tokens":1.5}}"#),
                "max_completion_tokens",
            ),
            (format!(r#"{{{hi},"temperature":3}}"#), "temperature"),
            (format!(r#"{{{hi},"temperature":"hot"}}"#), "temperature"),
            (format!(r#"{{{hi},"top_p":0}}"#), "top_p"),
            (format!(r#"{{{hi},"seed":1.5}}"#), "seed"),
            (format!(r#"{{{hi},"stop":[1]}}"#), "stop"),
            (format!(r#"{{{hi},"stream":"yes"}}"#), "stream"),
            (
                format!(r#"{{{hi},"stream_options":{{"include_usage":1}}}}"#),
                "stream_options",
            ),
            (format!(r#"{{{hi},"ignore_eos":1}}"#), "ignore_eos"),
            (format!(r#"{{{hi},"n":2}}"#), "n"),
        ] {
            assert_eq!(param_of(&body), Some(field), "{body}");
        }
    }

    #[test]
    fn bad_json_is_refused_without_a_field() {
        for body in ["", "{", "[1]", "null", "\"x\""] {
            let err = chat(body).unwrap_err();
            assert_eq!(err.param, None, "{body}");
        }
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            "[a-z_]{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec(
                    (
                        prop_oneof![
                            Just("messages".to_string()),
                            Just("role".to_string()),
                            Just("content".to_string()),
                            Just("prompt".to_string()),
                            Just("max_tokens".to_string()),
                            Just("stop".to_string()),
                            Just("stream_options".to_string()),
                            Just("temperature".to_string()),
                            Just("seed".to_string()),
                            "[a-z]{1,8}",
                        ],
                        inner
                    ),
                    0..6
                )
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn arbitrary_json_never_panics(value in json_value()) {
            let body = value.to_string();
            for kind in [Kind::Chat, Kind::Completion] {
                if let Ok(p) = parse(kind, body.as_bytes(), DEFAULTS) {
                    prop_assert!(p.params.max_tokens >= 1);
                    prop_assert!(p.params.top_p > 0.0 && p.params.top_p <= 1.0);
                }
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            let _ = parse(Kind::Chat, &bytes, DEFAULTS);
        }
    }
}
