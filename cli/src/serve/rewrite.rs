//! Edits to the outgoing request body: model name and system prompt (the reasoning parameter
//! is a patch from router-core, merged with `router_core::config::merge_json`).

use router_core::plugins::SystemPromptMode;
use serde_json::{json, Map, Value};

/// Sets `model`.
pub fn set_model(body: &mut Map<String, Value>, model: &str) {
    body.insert("model".into(), Value::String(model.to_owned()));
}

/// Applies a system prompt: edits the first system message, or inserts one at the front.
pub fn apply_system_prompt(body: &mut Map<String, Value>, prompt: &str, mode: SystemPromptMode) {
    let Some(Value::Array(messages)) = body.get_mut("messages") else {
        return;
    };
    let existing = messages
        .iter_mut()
        .find(|m| m.get("role").and_then(Value::as_str) == Some("system"));
    match existing {
        None => messages.insert(0, json!({"role": "system", "content": prompt})),
        Some(message) => {
            let new_content = match (mode, message.get("content")) {
                (SystemPromptMode::Insert, Some(Value::String(old))) if !old.is_empty() => {
                    Value::String(format!("{prompt}\n\n{old}"))
                }
                (SystemPromptMode::Insert, Some(Value::Array(parts))) => {
                    let mut parts = parts.clone();
                    parts.insert(0, json!({"type": "text", "text": prompt}));
                    Value::Array(parts)
                }
                _ => Value::String(prompt.to_owned()),
            };
            if let Some(obj) = message.as_object_mut() {
                obj.insert("content".into(), new_content);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn sets_model() {
        let mut b = obj(json!({"model": "auto", "n": 1}));
        set_model(&mut b, "qwen3-8b-instruct");
        assert_eq!(
            Value::Object(b),
            json!({"model": "qwen3-8b-instruct", "n": 1})
        );
    }

    #[test]
    fn system_prompt_insert_and_replace() {
        let base = obj(json!({"messages": [{"role": "user", "content": "hi"}]}));
        let mut b = base.clone();
        apply_system_prompt(&mut b, "Be terse.", SystemPromptMode::Insert);
        assert_eq!(
            b["messages"],
            json!([{"role": "system", "content": "Be terse."}, {"role": "user", "content": "hi"}])
        );
        let with_sys = obj(json!({"messages": [
            {"role": "system", "content": "Old."}, {"role": "user", "content": "hi"}]}));
        let mut b = with_sys.clone();
        apply_system_prompt(&mut b, "New.", SystemPromptMode::Insert);
        assert_eq!(b["messages"][0]["content"], "New.\n\nOld.");
        assert_eq!(b["messages"].as_array().unwrap().len(), 2);
        let mut b = with_sys;
        apply_system_prompt(&mut b, "New.", SystemPromptMode::Replace);
        assert_eq!(b["messages"][0]["content"], "New.");
        let mut b = obj(json!({"messages": [
            {"role": "system", "content": [{"type": "text", "text": "Old."}]}]}));
        apply_system_prompt(&mut b, "New.", SystemPromptMode::Insert);
        assert_eq!(
            b["messages"][0]["content"],
            json!([{"type": "text", "text": "New."}, {"type": "text", "text": "Old."}])
        );
    }
}
