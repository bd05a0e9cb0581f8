//! The request as the router sees it: the text signals look at, plus the conversation size.

use serde::{Deserialize, Serialize};

/// One chat message in OpenAI shape (`role`, `content` as plain text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// `system`, `user`, `assistant` or `tool`.
    pub role: String,
    /// The message text.
    pub content: String,
}

/// What the router routes: the last user turn (what signals classify) and the whole conversation
/// (whose size drives the context-length signal).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteRequest {
    /// All messages of the conversation, oldest first.
    pub messages: Vec<ChatMessage>,
}

impl RouteRequest {
    /// A request made of a single user message.
    pub fn from_prompt(prompt: impl Into<String>) -> Self {
        RouteRequest {
            messages: vec![ChatMessage {
                role: "user".into(),
                content: prompt.into(),
            }],
        }
    }

    /// The text that content signals classify: the last user message (empty if there is none).
    pub fn user_text(&self) -> &str {
        self.messages
            .iter()
            .rev()
            .find(|m| m.role == "user")
            .map(|m| m.content.as_str())
            .unwrap_or("")
    }

    /// All message contents joined by newlines, for signals configured with `include_history`.
    pub fn conversation_text(&self) -> String {
        let mut out = String::new();
        for (i, m) in self.messages.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            out.push_str(&m.content);
        }
        out
    }
}
