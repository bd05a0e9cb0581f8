//! Parsing and validating an OpenAI chat-completions body.
//!
//! The body is kept as a JSON object so that every field routelab does not know travels to the
//! upstream unchanged; only the fields routing needs are read (and checked) here.

use router_core::request::{RequestError, RouteRequest};
use serde_json::{Map, Value};

use super::error::ApiError;

/// A validated chat-completions request.
#[derive(Debug, Clone)]
pub struct ChatRequest {
    /// The whole body, unknown fields included.
    pub body: Map<String, Value>,
    /// The requested model (`None` when the field is absent: treated as an auto name).
    pub model: Option<String>,
    /// Whether the client asked for a server-sent-events stream.
    pub stream: bool,
    /// What the router sees: the conversation and its tools.
    pub conversation: RouteRequest,
}

/// Decodes a body into a JSON object, with 400s for invalid UTF-8, malformed JSON and non-objects.
pub fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if let Err(e) = std::str::from_utf8(bytes) {
        return Err(ApiError::bad_request(
            format!("request body is not valid UTF-8 (byte {})", e.valid_up_to()),
            None,
        ));
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::bad_request(
            "request body must be a JSON object",
            None,
        )),
        Err(e) => Err(ApiError::bad_request(
            format!("request body is not valid JSON: {e}"),
            None,
        )),
    }
}

/// Parses and validates a chat-completions body.
pub fn parse_chat(bytes: &[u8]) -> Result<ChatRequest, ApiError> {
    let body = parse_object(bytes)?;
    let model = match body.get("model") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            return Err(ApiError::bad_request(
                "`model` must be a string",
                Some("model"),
            ))
        }
    };
    let stream = match body.get("stream") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(ApiError::bad_request(
                "`stream` must be a boolean",
                Some("stream"),
            ))
        }
    };
    let conversation = conversation(&body)?;
    Ok(ChatRequest {
        body,
        model,
        stream,
        conversation,
    })
}

/// The conversation of a body through router-core's one parser, errors as 400s naming the field.
pub fn conversation(body: &Map<String, Value>) -> Result<RouteRequest, ApiError> {
    router_core::request::parse_conversation(body).map_err(bad_conversation)
}

fn bad_conversation(e: RequestError) -> ApiError {
    ApiError::bad_request(e.to_string(), Some(&e.path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_string_and_part_contents() {
        let body = br#"{"model":"auto","stream":true,"temperature":0.2,
            "messages":[{"role":"system","content":"be brief"},
                        {"role":"user","content":[{"type":"text","text":"hello"},
                                                   {"type":"image_url","image_url":{"url":"x"}},
                                                   {"type":"text","text":"world"}]},
                        {"role":"assistant","content":null}]}"#;
        let req = parse_chat(body).unwrap();
        assert_eq!(req.model.as_deref(), Some("auto"));
        assert!(req.stream);
        let messages = &req.conversation.messages;
        assert_eq!(messages.len(), 3);
        assert_eq!(messages[1].content, "hello world");
        assert_eq!(messages[1].images, 1);
        assert_eq!(messages[2].content, "");
        assert_eq!(req.body["temperature"], 0.2);
        assert_eq!(req.conversation.user_text(), "hello world");
    }

    /// Every truncation and every single-byte corruption of a valid body parses or is a 400;
    /// none panics.
    #[test]
    fn mangled_bodies_never_panic() {
        let body = br#"{"model":"auto","stream":false,"messages":[{"role":"user","content":[{"type":"text","text":"h\u00e9"}]},{"role":"assistant","content":"x"}]}"#;
        assert!(parse_chat(body).is_ok());
        for cut in 0..body.len() {
            if let Err(e) = parse_chat(&body[..cut]) {
                assert_eq!(e.status, 400);
            }
        }
        for i in 0..body.len() {
            for b in [b'"', b'{', b']', b'0', 0xff, b' ', b'n'] {
                let mut m = body.to_vec();
                m[i] = b;
                if let Err(e) = parse_chat(&m) {
                    assert_eq!(e.status, 400);
                }
            }
        }
    }

    #[test]
    fn rejects_bad_shapes_with_the_field_named() {
        let cases: [(&[u8], Option<&str>); 9] = [
            (b"{not json", None),
            (b"[1,2]", None),
            (b"{\"messages\":[]}", Some("messages")),
            (b"{\"model\":\"auto\"}", Some("messages")),
            (b"{\"messages\":\"hi\"}", Some("messages")),
            (
                b"{\"model\":3,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
                Some("model"),
            ),
            (
                b"{\"stream\":\"yes\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
                Some("stream"),
            ),
            (
                b"{\"messages\":[{\"role\":\"user\",\"content\":5}]}",
                Some("messages[0].content"),
            ),
            (
                b"{\"messages\":[{\"content\":\"x\"}]}",
                Some("messages[0].role"),
            ),
        ];
        for (body, param) in cases {
            let err = parse_chat(body).unwrap_err();
            assert_eq!(err.status, 400, "{}", String::from_utf8_lossy(body));
            assert_eq!(
                err.param.as_deref(),
                param,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        let err =
            parse_chat(b"{\"messages\":[{\"role\":\"user\",\"content\":\"\xff\"}]}").unwrap_err();
        assert!(err.message.contains("UTF-8"), "{}", err.message);
        let err =
            parse_chat(br#"{"messages":[{"role":"user","content":[{"type":"text","text":1}]}]}"#)
                .unwrap_err();
        assert_eq!(err.param.as_deref(), Some("messages[0].content[0].text"));
    }
}
