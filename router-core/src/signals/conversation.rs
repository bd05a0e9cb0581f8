//! Conversation-shape signal: counts over the request's messages, tools and tool traffic.
//!
//! Semantics follow the seed (vLLM Semantic Router, `pkg/classification/
//! classifier_signal_conversation.go`: `resolveConversationRawCount`, `countMessagesByRole`,
//! `activeToolLoopCount`, `conversationPredicateMatches`; facts from `pkg/extproc/
//! utils_fast.go`: `consumeFastExtractMessage`, `countFastToolDefinitions`,
//! `countAssistantToolCalls`, `countImageContentParts`):
//!
//! * `message` counts messages by `role` (null content counts too): `user`, `assistant`,
//!   `system`, `tool` are counts; `developer` is 0 or 1; `non_user` is assistant + system +
//!   tool + developer; no role is all of them plus user. Other roles count nowhere.
//! * `tool_definition`: entries of `tools` plus legacy `functions`.
//! * `assistant_tool_call`: tool calls over all assistant messages (calls, not messages).
//! * `assistant_tool_cycle`: `tool` messages (tool results).
//! * `active_tool_loop`: 1 when the last message is a tool result, or the last message is a user
//!   turn right after a tool result, or tool calls outnumber tool results; else 0.
//! * `image_content`: image parts of user messages.
//!
//! `exists` turns the value into 1 when above 0 and matches then; `count` matches when every
//! comparator of `predicate` holds (no predicate: always). A match has confidence 1.

use super::{Signal, SignalKind, SignalMatch, SignalResults, SignalValue};
use crate::config::{ConversationRule, ConversationSource, FeatureType, SourceType};
use crate::request::RouteRequest;

/// The facts the rules read, computed once per request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConversationFacts {
    /// `user` messages.
    pub user: u64,
    /// `assistant` messages.
    pub assistant: u64,
    /// `system` messages.
    pub system: u64,
    /// `tool` messages (tool results).
    pub tool: u64,
    /// Whether a `developer` message is present.
    pub developer: bool,
    /// Tool definitions (`tools` and legacy `functions`).
    pub tool_definitions: u64,
    /// Tool calls over all assistant messages.
    pub tool_calls: u64,
    /// Image parts of user messages.
    pub user_images: u64,
    /// Whether the conversation is inside a tool loop (see the module docs).
    pub active_tool_loop: bool,
}

impl ConversationFacts {
    /// The facts of `request`.
    pub fn of(request: &RouteRequest) -> Self {
        let mut f = ConversationFacts {
            tool_definitions: request.tools.len() as u64,
            ..Self::default()
        };
        for m in &request.messages {
            match m.role.as_str() {
                "user" => {
                    f.user += 1;
                    f.user_images += u64::from(m.images);
                }
                "assistant" => {
                    f.assistant += 1;
                    f.tool_calls += m.tool_calls.len() as u64;
                }
                "system" => f.system += 1,
                "tool" => f.tool += 1,
                "developer" => f.developer = true,
                _ => {}
            }
        }
        let mut last = request.messages.iter().rev().map(|m| m.role.as_str());
        let (final_role, before) = (last.next(), last.next());
        let last_is_tool = final_role == Some("tool");
        let user_after_tool = final_role == Some("user") && before == Some("tool");
        f.active_tool_loop = last_is_tool || user_after_tool || f.tool_calls > f.tool;
        f
    }

    /// The raw value a source reads.
    pub fn value(&self, source: &ConversationSource) -> f64 {
        let developer = u64::from(self.developer);
        let v = match source.kind {
            SourceType::Message => match source.role.as_deref() {
                None => self.user + self.assistant + self.system + self.tool + developer,
                Some("user") => self.user,
                Some("assistant") => self.assistant,
                Some("system") => self.system,
                Some("tool") => self.tool,
                Some("developer") => developer,
                Some("non_user") => self.assistant + self.system + self.tool + developer,
                Some(_) => 0,
            },
            SourceType::ToolDefinition => self.tool_definitions,
            SourceType::AssistantToolCall => self.tool_calls,
            SourceType::AssistantToolCycle => self.tool,
            SourceType::ActiveToolLoop => u64::from(self.active_tool_loop),
            SourceType::ImageContent => self.user_images,
        };
        v as f64
    }
}

/// Compiled conversation rules.
pub struct ConversationSignal {
    rules: Vec<ConversationRule>,
    /// Per rule, the key its value is reported under when a projection reads it.
    measured: Vec<Option<String>>,
}

impl ConversationSignal {
    /// The rules of `rules` named in `used` (all when `None`).
    pub fn new(
        rules: &[ConversationRule],
        used: Option<&std::collections::BTreeSet<String>>,
    ) -> Self {
        let rules: Vec<ConversationRule> = rules
            .iter()
            .filter(|r| used.is_none_or(|u| u.contains(&r.name)))
            .cloned()
            .collect();
        ConversationSignal {
            measured: vec![None; rules.len()],
            rules,
        }
    }

    /// Reports the value of each rule whose key is in `wanted` (the count, or 0/1 for
    /// `exists`, matched or not: the seed's `SignalValues["conversation:<rule>"]`).
    pub fn measuring(mut self, wanted: &std::collections::BTreeSet<String>) -> Self {
        self.measured = self
            .rules
            .iter()
            .map(|r| super::measured_key(wanted, SignalKind::Conversation, &r.name))
            .collect();
        self
    }
}

/// Whether `rule` matches a request with `facts`, and the value it read.
pub fn rule_matches(rule: &ConversationRule, facts: &ConversationFacts) -> (bool, f64) {
    let raw = facts.value(&rule.feature.source);
    match rule.feature.kind {
        FeatureType::Exists => {
            let v = if raw > 0.0 { 1.0 } else { 0.0 };
            (v > 0.0, v)
        }
        FeatureType::Count => {
            let ok = rule.predicate.as_ref().is_none_or(|p| p.holds(raw));
            (ok, raw)
        }
    }
}

impl Signal for ConversationSignal {
    fn kind(&self) -> SignalKind {
        SignalKind::Conversation
    }

    fn evaluate(&self, request: &RouteRequest) -> crate::Result<Vec<SignalMatch>> {
        Ok(self.results(request).matches)
    }

    fn evaluate_results(&self, requests: &[&RouteRequest]) -> crate::Result<Vec<SignalResults>> {
        Ok(requests.iter().map(|r| self.results(r)).collect())
    }
}

impl ConversationSignal {
    fn results(&self, request: &RouteRequest) -> SignalResults {
        let facts = ConversationFacts::of(request);
        let mut out = SignalResults::default();
        for (rule, measured) in self.rules.iter().zip(&self.measured) {
            let (ok, value) = rule_matches(rule, &facts);
            if let Some(key) = measured {
                out.values.push(SignalValue {
                    key: key.clone(),
                    value,
                });
            }
            if ok {
                out.matches.push(SignalMatch {
                    kind: SignalKind::Conversation,
                    name: rule.name.clone(),
                    confidence: 1.0,
                    evidence: format!("{} = {value}", rule.feature.source.describe()),
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::NumericPredicate;
    use crate::request::parse_conversation_json;

    fn rule(kind: FeatureType, source: SourceType, role: Option<&str>) -> ConversationRule {
        ConversationRule {
            name: "r".into(),
            description: None,
            feature: crate::config::ConversationFeature {
                kind,
                source: ConversationSource {
                    kind: source,
                    role: role.map(str::to_string),
                },
            },
            predicate: None,
        }
    }

    /// An agent turn: system + developer, two user turns (one only an image), an assistant
    /// making two tool calls, one tool result, and the final user turn after it.
    const AGENT: &str = r#"{"tools": [{"function": {"name": "a"}}, {"function": {"name": "b"}}],
        "functions": [{"name": "legacy"}],
        "messages": [
          {"role": "system", "content": "s"}, {"role": "developer", "content": "d"},
          {"role": "developer", "content": "d2"},
          {"role": "user", "content": "hi"},
          {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}},
                                       {"type": "image_url", "image_url": {"url": "y"}}]},
          {"role": "assistant", "content": null, "tool_calls": [
             {"id": "1", "function": {"name": "a"}}, {"id": "2", "function": {"name": "b"}}]},
          {"role": "tool", "tool_call_id": "1", "content": "r"},
          {"role": "function", "content": "legacy role: counted nowhere"},
          {"role": "user", "content": "go on"}]}"#;

    #[test]
    fn facts_by_hand() {
        let f = ConversationFacts::of(&parse_conversation_json(AGENT).unwrap());
        assert_eq!(
            f,
            ConversationFacts {
                user: 3,
                assistant: 1,
                system: 1,
                tool: 1,
                developer: true,
                tool_definitions: 3,
                tool_calls: 2,
                user_images: 2,
                // 2 calls > 1 result (the last message is a user turn, but after `function`).
                active_tool_loop: true,
            }
        );
        let value = |source, role| f.value(&rule(FeatureType::Count, source, role).feature.source);
        assert_eq!(value(SourceType::Message, Some("developer")), 1.0);
        // non_user = assistant 1 + system 1 + tool 1 + developer 1.
        assert_eq!(value(SourceType::Message, Some("non_user")), 4.0);
        // every role: user 3 + the four above.
        assert_eq!(value(SourceType::Message, None), 7.0);
        assert_eq!(value(SourceType::Message, Some("unknown")), 0.0);
        assert_eq!(value(SourceType::AssistantToolCycle, None), 1.0);
    }

    #[test]
    fn active_tool_loop_cases() {
        let active = |json: &str| {
            ConversationFacts::of(&parse_conversation_json(json).unwrap()).active_tool_loop
        };
        let call = r#"{"role": "assistant", "tool_calls": [{"function": {"name": "a"}}]}"#;
        let result = r#"{"role": "tool", "content": "r"}"#;
        let user = r#"{"role": "user", "content": "u"}"#;
        let done = r#"{"role": "assistant", "content": "done"}"#;
        // The last message is a tool result.
        assert!(active(&format!("[{user}, {call}, {result}]")));
        // The last message is a user turn right after a tool result.
        assert!(active(&format!("[{user}, {call}, {result}, {user}]")));
        // More calls than results.
        assert!(active(&format!("[{user}, {call}]")));
        // The loop closed with an answer, then a new user turn.
        assert!(!active(&format!(
            "[{user}, {call}, {result}, {done}, {user}]"
        )));
        assert!(!active(&format!("[{user}]")));
    }

    #[test]
    fn exists_count_and_predicates() {
        let f = ConversationFacts::of(&parse_conversation_json(AGENT).unwrap());
        let exists = rule(FeatureType::Exists, SourceType::ImageContent, None);
        assert_eq!(rule_matches(&exists, &f), (true, 1.0));
        let mut count = rule(FeatureType::Count, SourceType::ToolDefinition, None);
        assert_eq!(
            rule_matches(&count, &f),
            (true, 3.0),
            "no predicate: always"
        );
        count.predicate = Some(NumericPredicate {
            gte: Some(3.0),
            lt: Some(4.0),
            ..Default::default()
        });
        assert!(rule_matches(&count, &f).0);
        count.predicate = Some(NumericPredicate {
            gt: Some(3.0),
            ..Default::default()
        });
        assert!(!rule_matches(&count, &f).0);
        let none = ConversationFacts::default();
        assert_eq!(rule_matches(&exists, &none), (false, 0.0));
        // A count rule with no predicate matches a zero count too (the seed's semantics).
        let zero = rule(FeatureType::Count, SourceType::AssistantToolCall, None);
        assert_eq!(rule_matches(&zero, &none), (true, 0.0));
    }

    #[test]
    fn predicate_problems_as_the_seed_reports_them() {
        let p = |gt, gte, lt, lte| NumericPredicate { gt, gte, lt, lte }.problem();
        assert_eq!(
            p(None, None, None, None),
            Some("predicate must set at least one comparator")
        );
        assert_eq!(
            p(Some(1.0), Some(1.0), None, None),
            Some("predicate cannot set both gt and gte")
        );
        assert_eq!(
            p(None, None, Some(1.0), Some(1.0)),
            Some("predicate cannot set both lt and lte")
        );
        assert_eq!(
            p(Some(f64::NAN), None, None, None),
            Some("predicate values must be finite")
        );
        assert_eq!(
            p(None, Some(3.0), Some(3.0), None),
            Some("predicate defines an empty numeric range")
        );
        assert_eq!(
            p(None, Some(5.0), None, Some(2.0)),
            Some("predicate defines an empty numeric range")
        );
        assert_eq!(p(None, Some(3.0), None, Some(3.0)), None);
    }
}
