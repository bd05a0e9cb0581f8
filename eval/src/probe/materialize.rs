//! A probe's request, built as the seed's evaluator builds it
//! (`router_calibration_evaluation._build_request_payload`, `materialize_probe_text`,
//! `materialize_probe_messages`): the stripped query repeated one per line, padding lines before,
//! after or around it; or the messages as written, with a generated text part and image fixtures
//! materialised; the tools as given.

use router_core::request::{parse_conversation, RouteRequest};
use serde_json::{json, Map, Value};

use super::manifest::{GeneratedText, Manifest, Probe};

/// The request of `probe`; an error names what in the probe is wrong.
pub fn request(manifest: &Manifest, probe: &Probe) -> Result<RouteRequest, String> {
    let v = &probe.variant;
    let mut body = Map::new();
    match (&v.query, &v.messages) {
        (Some(q), None) => {
            let text = query_text(q.trim(), v.repeat.unwrap_or(1), v.padding.as_ref());
            body.insert(
                "messages".into(),
                json!([{"role": "user", "content": text}]),
            );
        }
        (None, Some(messages)) => {
            let mut messages = messages.clone();
            if let Some(g) = &v.generated_text {
                insert_generated_text(&mut messages, g)?;
            }
            for m in &mut messages {
                materialize_images(manifest, m)?;
            }
            body.insert("messages".into(), Value::Array(messages));
        }
        _ => return Err("exactly one of query and messages is required".into()),
    }
    if let Some(tools) = v.tools.as_ref().filter(|t| !t.is_empty()) {
        body.insert("tools".into(), Value::Array(tools.clone()));
    }
    parse_conversation(&body).map_err(|e| format!("{}: {}", e.path, e.message))
}

/// The query repeated `repeat` times, one per line, with the padding lines placed around it.
fn query_text(query: &str, repeat: u64, padding: Option<&super::manifest::Padding>) -> String {
    let query = vec![query; repeat.max(1) as usize].join("\n");
    let Some(p) = padding else { return query };
    let text = p.text.trim();
    let n = p.repeat.unwrap_or(1).max(1) as usize;
    let lines = vec![text; n];
    let placement = p.placement.as_deref().map(|s| s.trim().to_lowercase());
    let parts: Vec<&str> = match placement.as_deref() {
        Some("after") => std::iter::once(query.as_str()).chain(lines).collect(),
        Some("around") => {
            let mid = n / 2;
            let (before, after) = lines.split_at(mid);
            before
                .iter()
                .copied()
                .chain([query.as_str()])
                .chain(after.iter().copied())
                .collect()
        }
        _ => lines.into_iter().chain([query.as_str()]).collect(),
    };
    parts
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Inserts the text part that brings message `g.message_index`'s text to `g.target_text_bytes`.
fn insert_generated_text(messages: &mut [Value], g: &GeneratedText) -> Result<(), String> {
    let n = messages.len();
    let m = messages.get_mut(g.message_index).ok_or_else(|| {
        format!(
            "generated_text.message_index {} of {n} messages",
            g.message_index
        )
    })?;
    let content = m
        .get_mut("content")
        .and_then(Value::as_array_mut)
        .ok_or("generated_text: the message's content must be a list of parts")?;
    let existing: u64 = content.iter().map(text_part_bytes).sum();
    let missing = g
        .target_text_bytes
        .checked_sub(existing)
        .filter(|n| *n >= 1)
        .ok_or_else(|| {
            format!(
                "generated_text: the message already has {existing} text bytes, target {}",
                g.target_text_bytes
            )
        })?;
    let c = g.character.as_deref().unwrap_or("x");
    if c.len() != 1 || !c.is_ascii() {
        return Err(format!(
            "generated_text.character {c:?}: one printable ASCII character"
        ));
    }
    if g.content_index > content.len() {
        return Err(format!(
            "generated_text.content_index {} of {} parts",
            g.content_index,
            content.len()
        ));
    }
    let text = c.repeat(missing as usize);
    content.insert(g.content_index, json!({"type": "text", "text": text}));
    Ok(())
}

/// The UTF-8 bytes of a text part (no `type`, or `text` / `input_text` / `output_text`).
fn text_part_bytes(part: &Value) -> u64 {
    let is_text = match part.get("type") {
        None => true,
        Some(Value::String(t)) => matches!(
            t.trim().to_lowercase().as_str(),
            "" | "text" | "input_text" | "output_text"
        ),
        Some(_) => false,
    };
    match (is_text, part.get("text")) {
        (true, Some(Value::String(t))) => t.len() as u64,
        _ => 0,
    }
}

/// Replaces `{"type": "image_fixture", "fixture": NAME}` parts by data-URI image parts.
fn materialize_images(manifest: &Manifest, message: &mut Value) -> Result<(), String> {
    let Some(parts) = message.get_mut("content").and_then(Value::as_array_mut) else {
        return Ok(());
    };
    for part in parts {
        if part.get("type").and_then(Value::as_str) != Some("image_fixture") {
            continue;
        }
        let name = part
            .get("fixture")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .trim();
        let fixture = manifest
            .fixtures
            .as_ref()
            .and_then(|f| f.images.get(name))
            .ok_or_else(|| format!("image_fixture {name:?} is not in fixtures.images"))?;
        let data: String = fixture.data_base64.split_whitespace().collect();
        let url = format!(
            "data:{};base64,{data}",
            fixture.media_type.trim().to_lowercase()
        );
        *part = json!({"type": "image_url", "image_url": {"url": url}});
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::manifest::Padding;

    fn padding(text: &str, repeat: u64, placement: &str) -> Padding {
        Padding {
            text: text.into(),
            repeat: Some(repeat),
            placement: Some(placement.into()),
        }
    }

    /// The seed's `test_manifest_padding_places_one_trigger_in_long_input` and the placements
    /// of `materialize_probe_text`.
    #[test]
    fn repeat_and_padding_as_the_seed_joins_them() {
        let p = padding("benign context", 3, "before");
        assert_eq!(
            query_text("alice@example.com", 1, Some(&p)),
            "benign context\nbenign context\nbenign context\nalice@example.com"
        );
        assert_eq!(query_text("q", 3, None), "q\nq\nq");
        assert_eq!(
            query_text("q", 1, Some(&padding("p", 2, "after"))),
            "q\np\np"
        );
        // around: repeat // 2 before, the rest after.
        assert_eq!(
            query_text("q", 1, Some(&padding("p", 3, "around"))),
            "p\nq\np\np"
        );
    }

    #[test]
    fn generated_text_fills_the_message_to_its_target() {
        let mut messages =
            vec![json!({"role": "user", "content": [{"type": "text", "text": "héllo"}]})];
        let g = GeneratedText {
            message_index: 0,
            content_index: 1,
            target_text_bytes: 10,
            character: None,
        };
        insert_generated_text(&mut messages, &g).unwrap();
        // "héllo" is 6 bytes, so 4 more.
        assert_eq!(
            messages[0]["content"][1],
            json!({"type": "text", "text": "xxxx"})
        );
        let g = GeneratedText {
            target_text_bytes: 5,
            ..g
        };
        assert!(insert_generated_text(&mut messages, &g)
            .unwrap_err()
            .contains("already has 10"));
    }
}
