//! Plugins: per-decision actions applied when the decision wins.
//!
//! A decision's `plugins[]` entries are read as [`PluginEntry`] (`type` + free-form
//! `configuration`) and then typed into [`PluginConfig`]. routelab implements:
//!
//! | `type` | typed as | fields |
//! |---|---|---|
//! | `block` | [`PluginConfig::Block`] | `message`, `status` (default 403) |
//! | `fast_response` (vLLM) | [`PluginConfig::Block`] | `message`, `status` (default 200) |
//! | `system_prompt` | [`PluginConfig::SystemPrompt`] | `system_prompt`, `mode` (`replace` default, `insert`) |
//! | `semantic_cache`, `response_cache` | [`PluginConfig::SemanticCache`] | `similarity_threshold` (or `semantic.similarity_threshold`), `ttl_seconds`, `max_entries` |
//!
//! Every plugin honours `enabled: false` (the plugin is dropped). Other plugin types and other
//! configuration keys are reported as ignored by the config loader.

use serde::{Deserialize, Serialize};

/// One raw `plugins[]` entry as written in the YAML.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PluginEntry {
    /// Plugin type (`block`, `system_prompt`, ...).
    #[serde(rename = "type")]
    pub plugin_type: String,
    /// The plugin's settings, typed by [`PluginConfig::from_entry`].
    #[serde(default)]
    pub configuration: serde_norway::Value,
}

/// How a system prompt plugin combines its prompt with the request's own system message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SystemPromptMode {
    /// Replace any existing system message.
    #[default]
    Replace,
    /// Insert before the existing system message content.
    Insert,
}

/// A typed, enabled plugin.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PluginConfig {
    /// Answer immediately without calling a model.
    Block(BlockAction),
    /// Set the system prompt.
    SystemPrompt(SystemPromptAction),
    /// Cache responses by prompt similarity (the cache itself lives in serve).
    SemanticCache(SemanticCacheConfig),
}

/// What a block / fast_response plugin answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlockAction {
    /// The response text.
    pub message: String,
    /// HTTP status of the response.
    pub status: u16,
}

/// What a system_prompt plugin sets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SystemPromptAction {
    /// The system prompt text.
    pub system_prompt: String,
    /// Replace or insert.
    pub mode: SystemPromptMode,
}

/// Settings of a semantic / response cache plugin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SemanticCacheConfig {
    /// Minimum cosine similarity for a hit, in `[0, 1]` (default 0.9).
    pub similarity_threshold: f32,
    /// Entry lifetime in seconds (`None`: no expiry).
    pub ttl_seconds: Option<u64>,
    /// Maximum number of entries (`None`: unbounded).
    pub max_entries: Option<usize>,
}

/// Default status of a `block` plugin.
pub const DEFAULT_BLOCK_STATUS: u16 = 403;
/// Default status of a `fast_response` plugin.
pub const DEFAULT_FAST_RESPONSE_STATUS: u16 = 200;
/// Default similarity threshold of a cache plugin.
pub const DEFAULT_CACHE_SIMILARITY: f32 = 0.9;

/// Result of typing one plugin entry.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    /// A plugin routelab implements, enabled.
    Plugin(PluginConfig),
    /// `enabled: false`.
    Disabled,
    /// A plugin type routelab does not implement.
    Unsupported,
}

/// A field of a plugin configuration routelab read, used to report the rest as ignored.
const BLOCK_KEYS: &[&str] = &["enabled", "message", "status"];
const PROMPT_KEYS: &[&str] = &["enabled", "system_prompt", "mode"];
const CACHE_KEYS: &[&str] = &[
    "enabled",
    "similarity_threshold",
    "semantic",
    "ttl_seconds",
    "max_entries",
];

impl PluginConfig {
    /// Types a raw entry. Errors name the offending field (`configuration.status: ...`).
    pub fn from_entry(entry: &PluginEntry) -> Result<Parsed, String> {
        let cfg = &entry.configuration;
        if !matches!(
            cfg,
            serde_norway::Value::Mapping(_) | serde_norway::Value::Null
        ) {
            return Err("configuration: expected a mapping".into());
        }
        if let Some(enabled) = cfg.get("enabled") {
            match enabled.as_bool() {
                Some(false) => return Ok(Parsed::Disabled),
                Some(true) => {}
                None => return Err("configuration.enabled: expected true or false".into()),
            }
        }
        let plugin = match entry.plugin_type.as_str() {
            "block" | "fast_response" => {
                let default_status = if entry.plugin_type == "block" {
                    DEFAULT_BLOCK_STATUS
                } else {
                    DEFAULT_FAST_RESPONSE_STATUS
                };
                let message = get_str(cfg, "message")?.unwrap_or_default();
                let status = match get_u64(cfg, "status")? {
                    None => default_status,
                    Some(s) if (100..=599).contains(&s) => s as u16,
                    Some(s) => {
                        return Err(format!(
                            "configuration.status: {s} is not an HTTP status (100..=599)"
                        ))
                    }
                };
                PluginConfig::Block(BlockAction { message, status })
            }
            "system_prompt" => {
                let system_prompt =
                    get_str(cfg, "system_prompt")?.ok_or("configuration.system_prompt: missing")?;
                let mode = match get_str(cfg, "mode")?.as_deref() {
                    None | Some("replace") => SystemPromptMode::Replace,
                    Some("insert") => SystemPromptMode::Insert,
                    Some(other) => {
                        return Err(format!(
                        "configuration.mode: unknown mode {other:?} (expected insert or replace)"
                    ))
                    }
                };
                PluginConfig::SystemPrompt(SystemPromptAction {
                    system_prompt,
                    mode,
                })
            }
            "semantic_cache" | "response_cache" => {
                let nested = cfg
                    .get("semantic")
                    .map(|s| get_f64(s, "similarity_threshold"));
                let threshold = match (get_f64(cfg, "similarity_threshold")?, nested) {
                    (Some(t), _) => Some(t),
                    (None, Some(r)) => r.map_err(|e| format!("semantic.{e}"))?,
                    (None, None) => None,
                };
                let similarity_threshold = threshold.unwrap_or(DEFAULT_CACHE_SIMILARITY as f64);
                if !(0.0..=1.0).contains(&similarity_threshold) {
                    return Err(format!(
                        "configuration.similarity_threshold: {similarity_threshold} is outside [0, 1]"
                    ));
                }
                PluginConfig::SemanticCache(SemanticCacheConfig {
                    similarity_threshold: similarity_threshold as f32,
                    ttl_seconds: get_u64(cfg, "ttl_seconds")?,
                    max_entries: get_u64(cfg, "max_entries")?.map(|n| n as usize),
                })
            }
            _ => return Ok(Parsed::Unsupported),
        };
        Ok(Parsed::Plugin(plugin))
    }

    /// Configuration keys of `entry` that routelab does not read (for the ignored list).
    pub fn ignored_keys(entry: &PluginEntry) -> Vec<String> {
        let known: &[&str] = match entry.plugin_type.as_str() {
            "block" | "fast_response" => BLOCK_KEYS,
            "system_prompt" => PROMPT_KEYS,
            "semantic_cache" | "response_cache" => CACHE_KEYS,
            _ => return Vec::new(),
        };
        let mut out = Vec::new();
        if let serde_norway::Value::Mapping(m) = &entry.configuration {
            for (k, v) in m {
                let Some(k) = k.as_str() else { continue };
                if k == "semantic" && known.contains(&"semantic") {
                    if let serde_norway::Value::Mapping(inner) = v {
                        for ik in inner.keys().filter_map(|k| k.as_str()) {
                            if ik != "similarity_threshold" {
                                out.push(format!("semantic.{ik}"));
                            }
                        }
                    }
                } else if !known.contains(&k) {
                    out.push(k.to_string());
                }
            }
        }
        out
    }
}

fn get_str(v: &serde_norway::Value, key: &str) -> Result<Option<String>, String> {
    match v.get(key) {
        None | Some(serde_norway::Value::Null) => Ok(None),
        Some(serde_norway::Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("configuration.{key}: expected a string")),
    }
}

fn get_u64(v: &serde_norway::Value, key: &str) -> Result<Option<u64>, String> {
    match v.get(key) {
        None | Some(serde_norway::Value::Null) => Ok(None),
        Some(x) => x
            .as_u64()
            .map(Some)
            .ok_or_else(|| format!("configuration.{key}: expected a non-negative integer")),
    }
}

fn get_f64(v: &serde_norway::Value, key: &str) -> Result<Option<f64>, String> {
    match v.get(key) {
        None | Some(serde_norway::Value::Null) => Ok(None),
        Some(x) => x
            .as_f64()
            .map(Some)
            .ok_or_else(|| format!("configuration.{key}: expected a number")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(yaml: &str) -> PluginEntry {
        serde_norway::from_str(yaml).unwrap()
    }

    #[test]
    fn types_each_plugin() {
        let p = PluginConfig::from_entry(&entry(
            "type: block\nconfiguration: {message: no, status: 451}",
        ));
        assert_eq!(
            p,
            Ok(Parsed::Plugin(PluginConfig::Block(BlockAction {
                message: "no".into(),
                status: 451
            })))
        );
        let p =
            PluginConfig::from_entry(&entry("type: fast_response\nconfiguration: {message: hi}"));
        assert_eq!(
            p,
            Ok(Parsed::Plugin(PluginConfig::Block(BlockAction {
                message: "hi".into(),
                status: 200
            })))
        );
        let p = PluginConfig::from_entry(&entry(
            "type: system_prompt\nconfiguration: {system_prompt: be brief, mode: insert}",
        ));
        assert_eq!(
            p,
            Ok(Parsed::Plugin(PluginConfig::SystemPrompt(
                SystemPromptAction {
                    system_prompt: "be brief".into(),
                    mode: SystemPromptMode::Insert
                }
            )))
        );
        let e = entry(
            "type: response_cache\nconfiguration: {enabled: true, semantic: {similarity_threshold: 0.82, x: 1}, ttl_seconds: 7200, scope: user}",
        );
        assert_eq!(
            PluginConfig::from_entry(&e),
            Ok(Parsed::Plugin(PluginConfig::SemanticCache(
                SemanticCacheConfig {
                    similarity_threshold: 0.82,
                    ttl_seconds: Some(7200),
                    max_entries: None
                }
            )))
        );
        assert_eq!(PluginConfig::ignored_keys(&e), vec!["semantic.x", "scope"]);
        assert_eq!(
            PluginConfig::from_entry(&entry("type: tools\nconfiguration: {mode: none}")),
            Ok(Parsed::Unsupported)
        );
        assert_eq!(
            PluginConfig::from_entry(&entry("type: block\nconfiguration: {enabled: false}")),
            Ok(Parsed::Disabled)
        );
    }

    #[test]
    fn rejects_bad_fields() {
        let e = |y| PluginConfig::from_entry(&entry(y)).unwrap_err();
        assert_eq!(
            e("type: block\nconfiguration: {status: 42}"),
            "configuration.status: 42 is not an HTTP status (100..=599)"
        );
        assert_eq!(
            e("type: system_prompt\nconfiguration: {system_prompt: x, mode: append}"),
            "configuration.mode: unknown mode \"append\" (expected insert or replace)"
        );
        assert_eq!(
            e("type: system_prompt\nconfiguration: {mode: insert}"),
            "configuration.system_prompt: missing"
        );
        assert_eq!(
            e("type: semantic_cache\nconfiguration: {similarity_threshold: 1.5}"),
            "configuration.similarity_threshold: 1.5 is outside [0, 1]"
        );
    }
}
