//! How a model's reasoning family turns reasoning on in an OpenAI request body.

use serde_json::{Map, Value};

use super::schema::{ReasoningFamily, ReasoningFamilyKind, RouterConfig};

/// Effort used when reasoning is on and neither the decision nor the defaults name one.
const FALLBACK_EFFORT: &str = "medium";

impl RouterConfig {
    /// The reasoning family of model `model`, if it has one.
    pub fn reasoning_family(&self, model: &str) -> Option<&ReasoningFamily> {
        let fam = self.model(model)?.reasoning_family.as_deref()?;
        self.providers.defaults.reasoning_families.get(fam)
    }

    /// The effort to use when reasoning is on: `effort`, else the provider default, else `medium`.
    pub fn effective_effort<'a>(&'a self, effort: Option<&'a str>) -> &'a str {
        effort
            .or(self.providers.defaults.default_reasoning_effort.as_deref())
            .unwrap_or(FALLBACK_EFFORT)
    }

    /// The JSON object to deep-merge ([`merge_json`]) into an OpenAI chat request body for
    /// `model` with reasoning on/off. Empty object when the model has no reasoning family, or
    /// when reasoning is off for effort-style families (they have no "off" value).
    ///
    /// * `chat_template_kwargs`: `{"chat_template_kwargs": {<parameter>: <use_reasoning>}}`
    /// * `reasoning_effort`: `<parameter>` split on dots, e.g. `{"reasoning": {"effort": "high"}}`
    /// * `top_level_reasoning_effort`: `{<parameter>: "high"}`
    pub fn reasoning_patch(&self, model: &str, use_reasoning: bool, effort: Option<&str>) -> Value {
        let Some(fam) = self.reasoning_family(model) else {
            return Value::Object(Map::new());
        };
        match fam.kind {
            ReasoningFamilyKind::ChatTemplateKwargs => {
                let mut inner = Map::new();
                inner.insert(fam.parameter.clone(), Value::Bool(use_reasoning));
                let mut outer = Map::new();
                outer.insert("chat_template_kwargs".into(), Value::Object(inner));
                Value::Object(outer)
            }
            _ if !use_reasoning => Value::Object(Map::new()),
            ReasoningFamilyKind::ReasoningEffort => {
                let effort = Value::String(self.effective_effort(effort).to_string());
                fam.parameter.rsplit('.').fold(effort, |acc, part| {
                    let mut m = Map::new();
                    m.insert(part.to_string(), acc);
                    Value::Object(m)
                })
            }
            ReasoningFamilyKind::TopLevelReasoningEffort => {
                let mut m = Map::new();
                m.insert(
                    fam.parameter.clone(),
                    Value::String(self.effective_effort(effort).to_string()),
                );
                Value::Object(m)
            }
        }
    }
}

/// Deep-merges `patch` into `body`: objects merge key by key, anything else replaces.
pub fn merge_json(body: &mut Value, patch: &Value) {
    match (body, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p {
                match b.get_mut(k) {
                    Some(existing) => merge_json(existing, v),
                    None => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, p) => *b = p.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::merge_json;
    use crate::config::schema::RouterConfig;

    fn cfg() -> RouterConfig {
        serde_norway::from_str(
            r#"
providers:
  defaults:
    default_model: q
    default_reasoning_effort: low
    reasoning_families:
      qwen3: {type: chat_template_kwargs, parameter: enable_thinking}
      gpt: {type: reasoning_effort, parameter: reasoning.effort}
      mistral: {type: top_level_reasoning_effort, parameter: reasoning_effort}
  models:
    - {name: q, reasoning_family: qwen3}
    - {name: g, reasoning_family: gpt}
    - {name: m, reasoning_family: mistral}
    - {name: plain}
"#,
        )
        .unwrap()
    }

    #[test]
    fn patches_per_family() {
        let c = cfg();
        assert_eq!(
            c.reasoning_patch("q", true, None),
            json!({"chat_template_kwargs": {"enable_thinking": true}})
        );
        assert_eq!(
            c.reasoning_patch("q", false, None),
            json!({"chat_template_kwargs": {"enable_thinking": false}})
        );
        assert_eq!(
            c.reasoning_patch("g", true, Some("high")),
            json!({"reasoning": {"effort": "high"}})
        );
        assert_eq!(
            c.reasoning_patch("g", true, None),
            json!({"reasoning": {"effort": "low"}})
        );
        assert_eq!(c.reasoning_patch("g", false, Some("high")), json!({}));
        assert_eq!(
            c.reasoning_patch("m", true, None),
            json!({"reasoning_effort": "low"})
        );
        assert_eq!(c.reasoning_patch("plain", true, None), json!({}));
        assert_eq!(c.reasoning_patch("unknown", true, None), json!({}));
    }

    #[test]
    fn merges_deeply() {
        let mut body = json!({"model": "x", "chat_template_kwargs": {"a": 1}, "n": 1});
        merge_json(
            &mut body,
            &json!({"chat_template_kwargs": {"enable_thinking": true}, "n": 2}),
        );
        assert_eq!(
            body,
            json!({"model": "x", "chat_template_kwargs": {"a": 1, "enable_thinking": true}, "n": 2})
        );
    }
}
