//! Finding the JSON inside an LLM answer.
//!
//! Models wrap JSON in ```json fences, put prose before and after it, or answer with a
//! bare array. Every parser in the domain goes through [`json_candidates`] so that the
//! tolerance rules live in one place. LLM output is external input: nothing here panics.

use serde_json::Value;

/// Why a model answer could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("no JSON object or array found in the model's answer")]
    NoJson,
    #[error("the model's JSON has the wrong shape: {0}")]
    Shape(&'static str),
}

/// At most this many `{`/`[` positions are tried, so a pathological answer stays cheap.
const MAX_ATTEMPTS: usize = 64;

/// Every top-level JSON object or array found in `text`, in order of appearance.
///
/// Content of a fenced block (```json … ```) comes first, because a model that fences
/// its answer sometimes also quotes bits of JSON in the surrounding prose. A value found
/// is skipped over as a whole, so nested objects are not reported twice.
pub fn json_candidates(text: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for body in fenced_bodies(text) {
        scan(body, &mut out);
    }
    scan(text, &mut out);
    out
}

/// The first JSON object in `text` (arrays are skipped).
pub fn extract_object(text: &str) -> Option<serde_json::Map<String, Value>> {
    json_candidates(text).into_iter().find_map(|v| match v {
        Value::Object(map) => Some(map),
        _ => None,
    })
}

fn scan(text: &str, out: &mut Vec<Value>) {
    let mut pos = 0;
    let mut attempts = 0;
    while pos < text.len() && attempts < MAX_ATTEMPTS {
        let Some(rel) = text[pos..].find(['{', '[']) else {
            break;
        };
        let start = pos + rel;
        attempts += 1;
        let mut stream = serde_json::Deserializer::from_str(&text[start..]).into_iter::<Value>();
        match stream.next() {
            Some(Ok(value)) => {
                let end = start + stream.byte_offset();
                out.push(value);
                pos = end.max(start + 1);
            }
            // `{` and `[` are ASCII, so `start + 1` is a char boundary.
            _ => pos = start + 1,
        }
    }
}

/// Bodies of ``` fenced blocks, without the fence line (and its language tag).
fn fenced_bodies(text: &str) -> Vec<&str> {
    let mut bodies = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("```") {
        let after = &rest[open + 3..];
        let body_start = after.find('\n').map_or(0, |i| i + 1);
        let body = &after[body_start..];
        match body.find("```") {
            Some(close) => {
                bodies.push(&body[..close]);
                rest = &body[close + 3..];
            }
            None => {
                bodies.push(body);
                break;
            }
        }
    }
    bodies
}

/// A whole-number JSON value as i64 (`1`, `1.0`, `"+1"`); anything else is `None`.
pub fn as_integer(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15)
                .map(|f| f as i64)
        }),
        Value::String(s) => s.trim().trim_start_matches('+').parse().ok(),
        _ => None,
    }
}

/// A JSON number (or numeric string) as f64.
pub fn as_float(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|f: &f64| f.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The first object or array the parsers would see.
    fn first(text: &str) -> Option<Value> {
        json_candidates(text).into_iter().next()
    }

    #[test]
    fn finds_bare_object() {
        assert_eq!(first(r#"{"a":1}"#), Some(json!({"a":1})));
    }

    #[test]
    fn tolerates_fences_and_prose() {
        let text = "Sure! Here you go:\n```json\n{\"facts\": [{\"fact\": \"x\"}]}\n```\nHope that helps {:";
        assert_eq!(first(text), Some(json!({"facts":[{"fact":"x"}]})));
    }

    #[test]
    fn prefers_fenced_block_over_prose_brackets() {
        let text = "Result [see below]:\n```\n[1, 2]\n```";
        assert_eq!(first(text), Some(json!([1, 2])));
    }

    #[test]
    fn skips_broken_openers() {
        let text = "{not json} then {\"ok\": true} and {\"second\": 1}";
        let all = json_candidates(text);
        assert_eq!(all, vec![json!({"ok": true}), json!({"second": 1})]);
    }

    #[test]
    fn nested_values_are_not_repeated() {
        assert_eq!(json_candidates(r#"{"a":{"b":[1]}}"#).len(), 1);
    }

    #[test]
    fn nothing_in_plain_text() {
        assert_eq!(first("no json here, sorry"), None);
        assert_eq!(first(""), None);
        assert_eq!(first("```json\n"), None);
    }

    #[test]
    fn object_only() {
        assert!(extract_object("[1] {\"x\": 2}").is_some_and(|m| m.contains_key("x")));
    }

    #[test]
    fn integer_coercion() {
        assert_eq!(as_integer(&json!(2)), Some(2));
        assert_eq!(as_integer(&json!(-1.0)), Some(-1));
        assert_eq!(as_integer(&json!(0.5)), None);
        assert_eq!(as_integer(&json!("+1")), Some(1));
        assert_eq!(as_integer(&json!("lots")), None);
        assert_eq!(as_integer(&json!(null)), None);
    }
}
