//! The request as the router sees it, and the one parser that builds it from OpenAI JSON.
//!
//! `routelab serve` (chat completions and `/v1/route`), `routelab route --messages` and the
//! replay of a log's `messages` column all call [`parse_conversation`] or
//! [`parse_conversation_json`], so a conversation routes the same online and offline.
//!
//! A message's `content` may be a string, `null` / absent (no text) or an array of content
//! parts. As the seed reads them (vLLM Semantic Router, `extproc/utils_fast.go`,
//! `extractTextFromContent` and `countImageContentParts`): parts of `type: text`, or with no
//! `type`, give text, joined with [`TEXT_PART_SEPARATOR`]; `image_url` and `input_image` parts are
//! counted in [`ChatMessage::images`]; every other part kind (audio, files, `input_text`, ...)
//! is counted in [`ChatMessage::other_parts`], so nothing is dropped silently. Assistant
//! `tool_calls`, `tool_call_id` on tool results and the request's `tools` (and legacy
//! `functions`) definitions are kept for the signals that look at the conversation's shape.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// What joins the text parts of one message's content-part array (a space, as in the seed).
pub const TEXT_PART_SEPARATOR: &str = " ";

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ChatMessage {
    /// `system`, `developer`, `user`, `assistant` or `tool`.
    pub role: String,
    /// The message text (text parts joined by [`TEXT_PART_SEPARATOR`]; empty for `null`).
    pub content: String,
    /// Image content parts.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub images: u32,
    /// Content parts that are neither text nor image (audio, files, ...).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub other_parts: u32,
    /// Tool calls of an assistant message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// The call a `tool` message answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl ChatMessage {
    /// A text message.
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Self {
        ChatMessage {
            role: role.into(),
            content: content.into(),
            ..ChatMessage::default()
        }
    }
}

impl ChatMessage {
    fn to_openai_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("role".into(), Value::String(self.role.clone()));
        let content = if self.images == 0 && self.other_parts == 0 {
            Value::String(self.content.clone())
        } else {
            let mut parts = Vec::new();
            if !self.content.is_empty() {
                parts.push(serde_json::json!({"type": "text", "text": self.content}));
            }
            for _ in 0..self.images {
                parts.push(serde_json::json!({"type": "image_url", "image_url": {"url": ""}}));
            }
            for _ in 0..self.other_parts {
                parts.push(serde_json::json!({"type": "file"}));
            }
            Value::Array(parts)
        };
        m.insert("content".into(), content);
        if !self.tool_calls.is_empty() {
            let calls = self
                .tool_calls
                .iter()
                .map(|c| {
                    let mut call = serde_json::json!({"type": "function",
                        "function": {"name": c.name, "arguments": c.arguments}});
                    if let Some(id) = &c.id {
                        call["id"] = Value::String(id.clone());
                    }
                    call
                })
                .collect();
            m.insert("tool_calls".into(), Value::Array(calls));
        }
        if let Some(id) = &self.tool_call_id {
            m.insert("tool_call_id".into(), Value::String(id.clone()));
        }
        Value::Object(m)
    }
}

/// One tool call of an assistant message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ToolCall {
    /// The call id (`call_...`), when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The function called.
    pub name: String,
    /// Its arguments, as the JSON text the model wrote.
    #[serde(default)]
    pub arguments: String,
}

/// One tool the client offers the model (`tools[i].function`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ToolDefinition {
    /// Function name.
    pub name: String,
    /// Function description (empty when absent).
    #[serde(default)]
    pub description: String,
}

/// What the router routes: the conversation (oldest message first) and the tools offered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct RouteRequest {
    /// All messages of the conversation, oldest first.
    pub messages: Vec<ChatMessage>,
    /// Tool definitions of the request.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<ToolDefinition>,
    /// The body's `metadata` object (string values), what metadata rules read.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

impl RouteRequest {
    /// A request made of a single user message.
    pub fn from_prompt(prompt: impl Into<String>) -> Self {
        RouteRequest {
            messages: vec![ChatMessage::new("user", prompt)],
            ..Default::default()
        }
    }

    /// The text that content signals classify: the last user message that has text (empty if
    /// there is none). A user turn with no text (only an image, or `null`) leaves the earlier one
    /// current, as in the seed (`recordFastExtractUserMessage`, `extproc/utils_fast.go`).
    pub fn user_text(&self) -> &str {
        self.user_turns().next_back().unwrap_or("")
    }

    /// The texts of the user messages that have text, oldest first: the last is
    /// [`RouteRequest::user_text`], the others the earlier turns the re-ask signal compares it
    /// with (the seed's `PriorUserMessages`).
    pub fn user_turns(&self) -> impl DoubleEndedIterator<Item = &str> {
        self.messages
            .iter()
            .filter(|m| m.role == "user" && !m.content.is_empty())
            .map(|m| m.content.as_str())
    }

    /// The request as OpenAI JSON (`{"messages": [...], "tools": [...]}`), which
    /// [`parse_conversation_json`] reads back to an equal request. Image and other non-text
    /// parts are written as placeholders without their payload (a log keeps their count, not
    /// the image bytes).
    pub fn to_openai_json(&self) -> Value {
        let messages: Vec<Value> = self
            .messages
            .iter()
            .map(ChatMessage::to_openai_json)
            .collect();
        let mut out = Map::new();
        out.insert("messages".into(), Value::Array(messages));
        if !self.tools.is_empty() {
            let tools = self
                .tools
                .iter()
                .map(|t| {
                    serde_json::json!({"type": "function",
                        "function": {"name": t.name, "description": t.description}})
                })
                .collect();
            out.insert("tools".into(), Value::Array(tools));
        }
        if !self.metadata.is_empty() {
            let metadata = self
                .metadata
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            out.insert("metadata".into(), Value::Object(metadata));
        }
        Value::Object(out)
    }

    /// The system, developer and assistant messages that have text, in order (the seed's
    /// `nonUserMessages`, `extproc/request_signal_history.go`; tool results are not read).
    pub fn non_user_texts(&self) -> impl Iterator<Item = &str> {
        self.messages
            .iter()
            .filter(|m| matches!(m.role.as_str(), "system" | "developer" | "assistant"))
            .filter(|m| !m.content.is_empty())
            .map(|m| m.content.as_str())
    }

    /// What jailbreak and PII rules with `include_history` read beside the current user turn:
    /// the [`RouteRequest::non_user_texts`], then the earlier user turns, each text once (the
    /// seed's `historyForHistoryAwareSignals`, `classification/history_aware_signals.go`).
    pub fn history_texts(&self) -> Vec<&str> {
        let mut turns: Vec<&str> = self.user_turns().collect();
        turns.pop();
        let mut seen = std::collections::BTreeSet::new();
        self.non_user_texts()
            .chain(turns)
            .filter(|t| seen.insert(*t))
            .collect()
    }
}

/// A request body that does not have the shape of an OpenAI conversation: the JSON path of
/// the offending value (`messages[2].content[0].text`) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{path}` {message}")]
pub struct RequestError {
    /// JSON path of the offending value.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

fn bad(path: impl Into<String>, message: impl Into<String>) -> RequestError {
    RequestError {
        path: path.into(),
        message: message.into(),
    }
}

/// The conversation of a chat-completions body: its `messages` (required, non-empty), its
/// `tools` (optional), the legacy `functions` (counted as tools, as the seed does in
/// `countFastToolDefinitions`) and its `metadata` ([`parse_metadata`]).
pub fn parse_conversation(body: &Map<String, Value>) -> Result<RouteRequest, RequestError> {
    let mut tools = parse_tools(body.get("tools"))?;
    tools.extend(parse_functions(body.get("functions"))?);
    Ok(RouteRequest {
        messages: parse_messages(body.get("messages"))?,
        tools,
        metadata: parse_metadata(body.get("metadata"))?,
    })
}

/// Most `metadata` entries, longest key and longest value in bytes (the seed's
/// `extractMetadataFast` limits, `extproc/utils_fast.go`, as OpenAI's).
pub const METADATA_LIMITS: (usize, usize, usize) = (32, 128, 1024);

/// A body's `metadata`: absent, or an object of at most 32 string values with keys of 1 to
/// 128 bytes and values of at most 1024 bytes; anything else is refused, as the seed refuses
/// the request.
pub fn parse_metadata(value: Option<&Value>) -> Result<BTreeMap<String, String>, RequestError> {
    let map = match value {
        None => return Ok(BTreeMap::new()),
        Some(Value::Object(m)) => m,
        Some(_) => return Err(bad("metadata", "must be an object of strings")),
    };
    let mut out = BTreeMap::new();
    for (k, v) in map {
        let Value::String(v) = v else {
            return Err(bad(format!("metadata.{k}"), "must be a string"));
        };
        out.insert(k.clone(), v.clone());
    }
    check_metadata(&out)?;
    Ok(out)
}

/// Whether `metadata` keeps to [`METADATA_LIMITS`] (the error names the entry that does not).
pub fn check_metadata(metadata: &BTreeMap<String, String>) -> Result<(), RequestError> {
    let (entries, key_bytes, value_bytes) = METADATA_LIMITS;
    if metadata.len() > entries {
        let message = format!(
            "has {} entries, at most {entries} are allowed",
            metadata.len()
        );
        return Err(bad("metadata", message));
    }
    for (k, v) in metadata {
        let at = format!("metadata.{k}");
        if k.is_empty() || k.len() > key_bytes {
            return Err(bad(at, format!("key must be 1 to {key_bytes} bytes")));
        }
        if v.len() > value_bytes {
            return Err(bad(at, format!("is longer than {value_bytes} bytes")));
        }
    }
    Ok(())
}

/// A conversation stored as JSON text (a log's `messages` column, `routelab route --messages`):
/// either an array of messages, or an object with `messages` and optionally `tools`.
pub fn parse_conversation_json(text: &str) -> Result<RouteRequest, RequestError> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| bad("$", format!("is not valid JSON: {e}")))?;
    match value {
        Value::Array(_) => Ok(RouteRequest {
            messages: parse_messages(Some(&value))?,
            ..Default::default()
        }),
        Value::Object(map) => parse_conversation(&map),
        _ => Err(bad(
            "$",
            "must be an array of messages or an object with `messages`",
        )),
    }
}

/// Parses `messages`: an array of at least one message object.
fn parse_messages(value: Option<&Value>) -> Result<Vec<ChatMessage>, RequestError> {
    let list = match value {
        Some(Value::Array(list)) => list,
        None | Some(Value::Null) => return Err(bad("messages", "is required")),
        Some(_) => return Err(bad("messages", "must be an array")),
    };
    if list.is_empty() {
        return Err(bad("messages", "must contain at least one message"));
    }
    list.iter()
        .enumerate()
        .map(|(i, m)| parse_message(&format!("messages[{i}]"), m))
        .collect()
}

fn parse_message(path: &str, value: &Value) -> Result<ChatMessage, RequestError> {
    let obj = value
        .as_object()
        .ok_or_else(|| bad(path, "must be an object"))?;
    let role = match obj.get("role") {
        Some(Value::String(r)) if !r.is_empty() => r.clone(),
        _ => return Err(bad(format!("{path}.role"), "must be a non-empty string")),
    };
    let mut message = ChatMessage {
        role,
        ..ChatMessage::default()
    };
    parse_content(&format!("{path}.content"), obj.get("content"), &mut message)?;
    message.tool_calls = parse_tool_calls(&format!("{path}.tool_calls"), obj.get("tool_calls"))?;
    message.tool_call_id =
        optional_string(&format!("{path}.tool_call_id"), obj.get("tool_call_id"))?;
    Ok(message)
}

/// Fills `content`, `images` and `other_parts` from a message's `content`.
fn parse_content(
    path: &str,
    value: Option<&Value>,
    message: &mut ChatMessage,
) -> Result<(), RequestError> {
    let parts = match value {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::String(s)) => {
            message.content.clone_from(s);
            return Ok(());
        }
        Some(Value::Array(parts)) => parts,
        Some(_) => {
            return Err(bad(
                path,
                "must be a string, an array of content parts or null",
            ))
        }
    };
    let mut texts = Vec::new();
    for (j, part) in parts.iter().enumerate() {
        let part_path = format!("{path}[{j}]");
        let obj = part
            .as_object()
            .ok_or_else(|| bad(&part_path, "must be an object"))?;
        let kind = match obj.get("type") {
            None | Some(Value::Null) => "text",
            Some(Value::String(kind)) => kind.as_str(),
            Some(_) => return Err(bad(format!("{part_path}.type"), "must be a string")),
        };
        match kind {
            "text" => match obj.get("text") {
                Some(Value::String(t)) if t.is_empty() => {}
                Some(Value::String(t)) => texts.push(t.as_str()),
                _ => return Err(bad(format!("{part_path}.text"), "must be a string")),
            },
            "image_url" | "input_image" => message.images += 1,
            _ => message.other_parts += 1,
        }
    }
    message.content = texts.join(TEXT_PART_SEPARATOR);
    Ok(())
}

fn optional_string(path: &str, value: Option<&Value>) -> Result<Option<String>, RequestError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(bad(path, "must be a string")),
    }
}

fn object_list<'a>(path: &str, value: Option<&'a Value>) -> Result<&'a [Value], RequestError> {
    match value {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(list)) => Ok(list),
        Some(_) => Err(bad(path, "must be an array")),
    }
}

/// The `function` object of a tool or a tool call, with its required `name`.
fn function<'a>(
    path: &str,
    value: &'a Value,
) -> Result<(&'a Map<String, Value>, String), RequestError> {
    let obj = value
        .as_object()
        .ok_or_else(|| bad(path, "must be an object"))?;
    let f = obj
        .get("function")
        .and_then(Value::as_object)
        .ok_or_else(|| bad(format!("{path}.function"), "must be an object"))?;
    match f.get("name") {
        Some(Value::String(n)) if !n.is_empty() => Ok((f, n.clone())),
        _ => Err(bad(
            format!("{path}.function.name"),
            "must be a non-empty string",
        )),
    }
}

fn parse_tool_calls(path: &str, value: Option<&Value>) -> Result<Vec<ToolCall>, RequestError> {
    let mut calls = Vec::new();
    for (i, call) in object_list(path, value)?.iter().enumerate() {
        let call_path = format!("{path}[{i}]");
        let (f, name) = function(&call_path, call)?;
        let arguments = match f.get("arguments") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            // Some clients send the arguments as an object: keep its JSON text.
            Some(other) => other.to_string(),
        };
        calls.push(ToolCall {
            id: optional_string(&format!("{call_path}.id"), call.get("id"))?,
            name,
            arguments,
        });
    }
    Ok(calls)
}

/// Parses a body's `tools`: an array of `{type: function, function: {name, description}}`.
fn parse_tools(value: Option<&Value>) -> Result<Vec<ToolDefinition>, RequestError> {
    let mut tools = Vec::new();
    for (i, tool) in object_list("tools", value)?.iter().enumerate() {
        let path = format!("tools[{i}]");
        let (f, name) = function(&path, tool)?;
        tools.push(tool_definition(&format!("{path}.function"), f, name)?);
    }
    Ok(tools)
}

/// The legacy `functions` array: `{name, description}` objects without the `function` wrapper.
fn parse_functions(value: Option<&Value>) -> Result<Vec<ToolDefinition>, RequestError> {
    let mut tools = Vec::new();
    for (i, f) in object_list("functions", value)?.iter().enumerate() {
        let path = format!("functions[{i}]");
        let obj = f
            .as_object()
            .ok_or_else(|| bad(&path, "must be an object"))?;
        let name = match obj.get("name") {
            Some(Value::String(n)) if !n.is_empty() => n.clone(),
            _ => return Err(bad(format!("{path}.name"), "must be a non-empty string")),
        };
        tools.push(tool_definition(&path, obj, name)?);
    }
    Ok(tools)
}

fn tool_definition(
    path: &str,
    f: &Map<String, Value>,
    name: String,
) -> Result<ToolDefinition, RequestError> {
    let description = optional_string(&format!("{path}.description"), f.get("description"))?;
    Ok(ToolDefinition {
        name,
        description: description.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(json: &str) -> Map<String, Value> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn parses_every_content_shape_tools_and_tool_calls() {
        let req = parse_conversation(&body(
            r#"{"tools":[{"type":"function","function":{"name":"get_weather","description":"d"}}],
                "messages":[{"role":"system","content":"be brief"},
                  {"role":"user","content":[{"type":"text","text":"hello"},
                     {"type":"image_url","image_url":{"url":"x"}},
                     {"type":"input_audio","input_audio":{}},{"text":"world"},
                     {"type":"input_text","text":"not read by the seed"}]},
                  {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function",
                     "function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
                  {"role":"tool","tool_call_id":"c1","content":"sunny"}]}"#,
        ))
        .unwrap();
        assert_eq!(
            req.tools,
            [ToolDefinition {
                name: "get_weather".into(),
                description: "d".into()
            }]
        );
        let m = &req.messages;
        assert_eq!(m[1].content, "hello world");
        assert_eq!((m[1].images, m[1].other_parts), (1, 2));
        assert_eq!(m[2].content, "");
        assert_eq!(m[2].tool_calls[0].name, "get_weather");
        assert_eq!(m[2].tool_calls[0].id.as_deref(), Some("c1"));
        assert_eq!(m[2].tool_calls[0].arguments, r#"{"city":"Paris"}"#);
        assert_eq!(m[3].tool_call_id.as_deref(), Some("c1"));
        assert_eq!(req.user_text(), "hello world");
        // A later user turn without text leaves the earlier one current.
        let req = parse_conversation(&body(
            r#"{"messages":[{"role":"user","content":"first"},
                {"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}],
                "functions":[{"name":"legacy"}]}"#,
        ))
        .unwrap();
        assert_eq!(req.user_text(), "first");
        assert_eq!(req.messages[1].images, 1);
        assert_eq!(req.tools[0].name, "legacy");
    }

    #[test]
    fn stored_json_is_an_array_or_an_object_and_round_trips() {
        let from_array = parse_conversation_json(r#"[{"role":"user","content":"hi"}]"#).unwrap();
        assert_eq!(from_array, RouteRequest::from_prompt("hi"));
        let from_object = parse_conversation_json(
            r#"{"messages":[{"role":"user","content":"hi"}],"tools":[{"function":{"name":"f"}}]}"#,
        )
        .unwrap();
        assert_eq!(from_object.tools[0].name, "f");
    }

    #[test]
    fn openai_json_parses_back_to_the_same_request() {
        let req = parse_conversation(&body(
            r#"{"tools":[{"type":"function","function":{"name":"get_weather","description":"d"}}],
                "messages":[{"role":"system","content":"s"},
                  {"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"},
                     {"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}},
                     {"type":"input_audio","input_audio":{}}]},
                  {"role":"user","content":[{"type":"image_url","image_url":{"url":"u"}}]},
                  {"role":"assistant","content":null,"tool_calls":[
                     {"id":"c1","type":"function","function":{"name":"get_weather","arguments":"{}"}},
                     {"type":"function","function":{"name":"noid","arguments":{"k":1}}}]},
                  {"role":"tool","tool_call_id":"c1","content":"sunny"}]}"#,
        ))
        .unwrap();
        let written = serde_json::to_string(&req.to_openai_json()).unwrap();
        assert!(!written.contains("base64"), "{written}");
        assert_eq!(parse_conversation_json(&written).unwrap(), req);
    }

    #[test]
    fn errors_name_the_json_path() {
        let cases = [
            (r#"{"model":"auto"}"#, "messages"),
            (r#"{"messages":[]}"#, "messages"),
            (r#"{"messages":[{"content":"x"}]}"#, "messages[0].role"),
            (
                r#"{"messages":[{"role":"user","content":5}]}"#,
                "messages[0].content",
            ),
            (
                r#"{"messages":[{"role":"user","content":[{"type":"text","text":1}]}]}"#,
                "messages[0].content[0].text",
            ),
            (
                r#"{"messages":[{"role":"user","content":[{"type":1,"text":"x"}]}]}"#,
                "messages[0].content[0].type",
            ),
            (
                r#"{"messages":[{"role":"user"}],"functions":[{}]}"#,
                "functions[0].name",
            ),
            (
                r#"{"messages":[{"role":"assistant","tool_calls":[{"function":{}}]}]}"#,
                "messages[0].tool_calls[0].function.name",
            ),
            (
                r#"{"messages":[{"role":"tool","tool_call_id":3}]}"#,
                "messages[0].tool_call_id",
            ),
            (r#"{"messages":[{"role":"user"}],"tools":{}}"#, "tools"),
            (
                r#"{"messages":[{"role":"user"}],"tools":[{"type":"function"}]}"#,
                "tools[0].function",
            ),
        ];
        for (json, path) in cases {
            assert_eq!(
                parse_conversation(&body(json)).unwrap_err().path,
                path,
                "{json}"
            );
        }
        assert_eq!(parse_conversation_json("3").unwrap_err().path, "$");
        assert!(parse_conversation_json("[{")
            .unwrap_err()
            .message
            .contains("JSON"));
    }
}
