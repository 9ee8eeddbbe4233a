//! The cascade: ask the small model first, check its whole answer, and escalate to the large
//! one when a check fails, as FrugalGPT does. The small answer is held until it passes, so
//! escalation always happens before any byte has gone to the client; a client that asked for
//! a stream gets the passing answer as a stream of events.

use std::sync::LazyLock;

use regex::Regex;
use serde::Deserialize;
use serde_json::{Value, json};

/// The cascade as written in `[cascade]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCascade {
    /// Upstream asked first (default: `policy.default`).
    #[serde(default)]
    pub from: Option<String>,
    /// Upstream escalated to (default: the large baseline).
    #[serde(default)]
    pub to: Option<String>,
    /// Checks to run: `json`, `refusal`, `logprob` (default: all three).
    #[serde(default)]
    pub checks: Option<Vec<String>>,
    /// Escalate when the answer's mean token log-probability is below this (default -1.0).
    #[serde(default)]
    pub min_mean_logprob: Option<f64>,
}

/// One check of the small answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// When the request asked for JSON (`response_format`), the answer must parse as JSON.
    Json,
    /// The answer must not be a refusal ("I can't help with that", "não posso ajudar").
    Refusal,
    /// The answer's mean token log-probability must reach the minimum (skipped when the
    /// upstream gives none).
    Logprob,
}

impl Check {
    /// The configuration spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Check::Json => "json",
            Check::Refusal => "refusal",
            Check::Logprob => "logprob",
        }
    }
}

/// The cascade, resolved.
#[derive(Debug, Clone)]
pub struct Cascade {
    /// Upstream index asked first.
    pub from: usize,
    /// Upstream index escalated to.
    pub to: usize,
    /// Checks in order.
    pub checks: Vec<Check>,
    /// Minimum mean log-probability.
    pub min_mean_logprob: f64,
}

impl Cascade {
    /// Resolves `raw`; `find` turns an upstream name into its index.
    pub fn resolve(
        raw: &RawCascade,
        default: usize,
        large: usize,
        find: &dyn Fn(&str, &str) -> Result<usize, String>,
    ) -> Result<Cascade, String> {
        let from = match &raw.from {
            Some(n) => find("cascade.from", n)?,
            None => default,
        };
        let to = match &raw.to {
            Some(n) => find("cascade.to", n)?,
            None => large,
        };
        if from == to {
            return Err("cascade.from and cascade.to are the same upstream".into());
        }
        let checks = match &raw.checks {
            None => vec![Check::Json, Check::Refusal, Check::Logprob],
            Some(list) => list
                .iter()
                .map(|c| match c.as_str() {
                    "json" => Ok(Check::Json),
                    "refusal" => Ok(Check::Refusal),
                    "logprob" => Ok(Check::Logprob),
                    o => Err(format!(
                        "cascade.checks: `{o}` is not one of json, refusal, logprob"
                    )),
                })
                .collect::<Result<_, _>>()?,
        };
        let min = raw.min_mean_logprob.unwrap_or(-1.0);
        if !(min.is_finite() && min <= 0.0) {
            return Err(format!(
                "cascade.min_mean_logprob must be 0 or below, got {min}"
            ));
        }
        Ok(Cascade {
            from,
            to,
            checks,
            min_mean_logprob: min,
        })
    }

    /// Whether the small call should ask for log-probabilities.
    pub fn wants_logprobs(&self) -> bool {
        self.checks.contains(&Check::Logprob)
    }
}

/// Phrases that open a refusal or a non-answer, in English and Portuguese.
static REFUSAL: LazyLock<Option<Regex>> = LazyLock::new(|| {
    let verbs = r"(?:help|assist|provide|answer|respond|comply|do\s+that|share|give|tell|fulfil)";
    let verbos = r"(?:ajudar|responder|atender|fazer\s+isso|fornecer|dizer|informar)";
    Regex::new(&format!(
        r"(?i)^\W*(?:i\s*(?:'m|am)\s+(?:sorry|unable|not\s+able|not\s+sure)|i\s+(?:can(?:'|no)t|cannot|won't|will\s+not|am\s+not\s+able\s+to)\s+{verbs}|i\s+(?:don't|do\s+not)\s+know|as\s+an\s+ai\b|sorry,\s+(?:but\s+)?i\s+can|(?:desculpe|lamento|sinto\s+muito)[,.]?\s+(?:mas\s+)?(?:eu\s+)?n[ãa]o\s+(?:posso|consigo|sei)|n[ãa]o\s+(?:posso|consigo)\s+{verbos}|n[ãa]o\s+sei\s*(?:[.!,;]|$|a\s+resposta|responder))"
    ))
    .ok()
});

/// What the request's `response_format` asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Json {
    /// Nothing (or text).
    No,
    /// `json_object`: a JSON object.
    Object,
    /// `json_schema`: JSON (the schema itself is the upstream's to enforce).
    Schema,
}

/// The checks' verdict: which passed, or why the answer fails. `asked_json` is what the
/// request's `response_format` asked for.
pub fn judge(c: &Cascade, answer: &Value, asked_json: Json) -> Result<String, String> {
    let choice = answer
        .get("choices")
        .and_then(|c| c.get(0))
        .ok_or("the small answer has no choices")?;
    let message = choice.get("message");
    let text = message
        .and_then(|m| m.get("content"))
        .and_then(Value::as_str)
        .or_else(|| choice.get("text").and_then(Value::as_str))
        .unwrap_or("");
    let mut passed = Vec::new();
    for check in &c.checks {
        match check {
            Check::Json => match (asked_json, serde_json::from_str::<Value>(text.trim())) {
                (Json::No, _) => {}
                (Json::Object, Ok(Value::Object(_))) | (Json::Schema, Ok(_)) => {
                    passed.push("json".to_string());
                }
                (Json::Object, Ok(_)) => {
                    return Err("json: the answer is JSON but not an object".into());
                }
                (_, Err(_)) => return Err("json: the answer is not valid JSON".into()),
            },
            Check::Refusal => {
                let refused = message
                    .and_then(|m| m.get("refusal"))
                    .is_some_and(|r| r.as_str().is_some_and(|s| !s.is_empty()))
                    || REFUSAL.as_ref().is_some_and(|re| re.is_match(text));
                if refused {
                    return Err("refusal: the answer declines".into());
                }
                passed.push("refusal".into());
            }
            Check::Logprob => {
                let lps: Vec<f64> = choice
                    .get("logprobs")
                    .and_then(|l| l.get("content"))
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|t| t.get("logprob").and_then(Value::as_f64))
                            .collect()
                    })
                    .unwrap_or_default();
                if lps.is_empty() {
                    passed.push("logprob n/a".into());
                    continue;
                }
                let mean = lps.iter().sum::<f64>() / lps.len() as f64;
                if mean < c.min_mean_logprob {
                    return Err(format!(
                        "logprob: mean {mean:.2} below {:.2}",
                        c.min_mean_logprob
                    ));
                }
                passed.push(format!("logprob {mean:.2}"));
            }
        }
    }
    Ok(passed.join(", "))
}

/// What the request's `response_format` asks for.
pub fn asks_json(body: &serde_json::Map<String, Value>) -> Json {
    match body
        .get("response_format")
        .and_then(|f| f.get("type"))
        .and_then(Value::as_str)
    {
        Some("json_object") => Json::Object,
        Some("json_schema") => Json::Schema,
        _ => Json::No,
    }
}

/// A whole chat answer as the SSE events a streaming client expects: one content event,
/// the finish event, the usage event when asked; `[DONE]` is left to the caller.
pub fn as_events(answer: &Value, include_usage: bool) -> Vec<u8> {
    let id = answer
        .get("id")
        .cloned()
        .unwrap_or(json!("chatcmpl-cascade"));
    let created = answer.get("created").cloned().unwrap_or(json!(0));
    let model = answer.get("model").cloned().unwrap_or(json!(""));
    let choice = answer.get("choices").and_then(|c| c.get(0));
    let content = choice
        .and_then(|c| c.get("message"))
        .and_then(|m| m.get("content"))
        .cloned()
        .unwrap_or(json!(""));
    let finish = choice
        .and_then(|c| c.get("finish_reason"))
        .cloned()
        .unwrap_or(json!("stop"));
    let usage_null = if include_usage {
        Some(Value::Null)
    } else {
        None
    };
    let chunk = |delta: Value, finish: Value| {
        let mut v = json!({"id": id, "object": "chat.completion.chunk", "created": created,
            "model": model, "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]});
        if let Some(u) = &usage_null {
            v["usage"] = u.clone();
        }
        format!("data: {v}\n\n")
    };
    let mut out = chunk(
        json!({"role": "assistant", "content": content}),
        Value::Null,
    );
    out.push_str(&chunk(json!({}), finish));
    if include_usage && let Some(u) = answer.get("usage") {
        let v = json!({"id": id, "object": "chat.completion.chunk", "created": created,
            "model": model, "choices": [], "usage": u});
        out.push_str(&format!("data: {v}\n\n"));
    }
    out.into_bytes()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn cascade() -> Cascade {
        Cascade {
            from: 0,
            to: 1,
            checks: vec![Check::Json, Check::Refusal, Check::Logprob],
            min_mean_logprob: -1.0,
        }
    }

    fn answer(text: &str, lps: &[f64]) -> Value {
        let content: Vec<Value> = lps
            .iter()
            .map(|l| json!({"token": "x", "logprob": l}))
            .collect();
        json!({"id": "c1", "choices": [{"message": {"content": text}, "finish_reason": "stop",
            "logprobs": if lps.is_empty() { Value::Null } else { json!({"content": content}) }}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2}})
    }

    #[test]
    fn each_check_escalates_what_it_should() {
        let c = cascade();
        let judged = |text: &str, lps: &[f64], json: Json| judge(&c, &answer(text, lps), json);
        assert!(judged("{\"a\": 1}", &[-0.1], Json::Object).is_ok());
        assert!(
            judged("here: {\"a\": 1", &[], Json::Object)
                .unwrap_err()
                .starts_with("json")
        );
        assert!(
            judged("[1, 2]", &[], Json::Object)
                .unwrap_err()
                .contains("not an object")
        );
        assert!(judged("[1, 2]", &[], Json::Schema).is_ok());
        assert!(judged("not json but not asked", &[], Json::No).is_ok());
        for r in [
            "I'm sorry, but I can't help with that.",
            "I cannot provide that.",
            "As an AI, I do not",
            "Desculpe, mas não posso ajudar com isso.",
            "Não posso responder.",
            "I don't know.",
            "Não sei.",
            "Sinto muito, mas não consigo responder.",
            "I'm not sure.",
        ] {
            assert!(
                judged(r, &[], Json::No).unwrap_err().starts_with("refusal"),
                "{r}"
            );
        }
        for fine in [
            "Sorry for the delay: the answer is 4.",
            "I cannot stress enough how important it is: the answer is 42.",
            "Não sei se você sabe, mas a resposta é 4.",
        ] {
            assert!(judged(fine, &[], Json::No).is_ok(), "{fine}");
        }
        let e = judged("maybe", &[-3.0, -2.0], Json::No).unwrap_err();
        assert_eq!(e, "logprob: mean -2.50 below -1.00");
        assert_eq!(
            judged("sure", &[], Json::No).unwrap(),
            "refusal, logprob n/a"
        );
    }

    #[test]
    fn a_passing_answer_streams_as_events() {
        let ev = String::from_utf8(as_events(&answer("hi \"there\"", &[]), true)).unwrap();
        let events: Vec<&str> = ev.split("\n\n").filter(|e| !e.is_empty()).collect();
        assert_eq!(events.len(), 3);
        let first: Value = serde_json::from_str(events[0].trim_start_matches("data: ")).unwrap();
        assert_eq!(first["choices"][0]["delta"]["content"], "hi \"there\"");
        let last: Value = serde_json::from_str(events[2].trim_start_matches("data: ")).unwrap();
        assert_eq!(last["usage"]["completion_tokens"], 2);
    }
}
