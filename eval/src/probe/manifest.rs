//! The seed's probes files (`recipe-probes-v1.schema.json`): parsed with every unknown field
//! refused, YAML indirection refused, and flattened into one [`Probe`] per variant as the seed's
//! `load_grouped_probes` does (`tools/agent/scripts/router_calibration_probe.py`): decision-level
//! expectations copied to each variant, a variant's `expected_signals` replacing the decision's.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;

use crate::{EvalError, Result};

/// A probes file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// `v1`.
    pub schema_version: String,
    /// The recipe's name.
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// The recipe's config and DSL, as paths in the seed's repository.
    pub routing_assets: RoutingAssets,
    /// The seed's eval endpoint (unused offline).
    #[serde(default)]
    pub router_eval_endpoint: Option<String>,
    /// Timeouts and concurrency (unused offline).
    #[serde(default)]
    pub evaluation: Option<serde_json::Value>,
    /// Pass-rate minima.
    #[serde(default)]
    pub acceptance: Acceptance,
    /// Image fixtures, by name.
    #[serde(default)]
    pub fixtures: Option<Fixtures>,
    /// Coverage minima.
    pub coverage: Coverage,
    /// The probes, grouped by decision.
    pub decisions: Vec<DecisionProbes>,
}

/// `routing_assets`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingAssets {
    /// The recipe's config.
    pub yaml: String,
    /// The recipe's DSL.
    pub dsl: String,
}

/// `acceptance`: both default to 100.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Acceptance {
    /// Minimum share of passing probes, in percent.
    #[serde(default)]
    pub min_probe_pass_rate: Option<f64>,
    /// Default minimum pass rate of each decision's probes, in percent.
    #[serde(default)]
    pub min_decision_pass_rate: Option<f64>,
}

/// `fixtures`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixtures {
    /// Images by name.
    pub images: BTreeMap<String, ImageFixture>,
}

/// A named image, embedded in messages as a data URI.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageFixture {
    /// What the image shows.
    pub description: String,
    /// `image/png`, ...
    pub media_type: String,
    /// The image, base64.
    pub data_base64: String,
    /// `sha256:<hex>` of the decoded bytes.
    pub sha256: String,
}

/// `coverage`: minima of what the probes assert, and the tag counts they must reach.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Coverage {
    /// Share of configured signals (projection outputs included) some probe asserts.
    pub min_signal_assertion_percent: f64,
    /// Share of projection outputs some probe asserts.
    pub min_projection_assertion_percent: f64,
    /// Share of decisions whose algorithm some probe asserts.
    pub min_algorithm_assertion_percent: f64,
    /// Share of decision plugins some probe expects.
    pub min_plugin_assertion_percent: f64,
    /// Request shapes (`text`, `messages`, `tools`) some probe must have.
    pub required_request_shapes: Vec<String>,
    /// Minimum probes per tag category.
    pub min_tag_counts: BTreeMap<String, u64>,
    /// Minimum pass rate per tag category, in percent.
    pub min_tag_pass_rate: BTreeMap<String, f64>,
}

/// A decision's probes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionProbes {
    /// Group id.
    pub id: String,
    /// The decision every variant must route to.
    pub expected_decision: String,
    /// The model name sent (an entrypoint of a multi-recipe config).
    #[serde(default)]
    pub model: Option<String>,
    /// The recipe the request must resolve to.
    #[serde(default)]
    pub expected_recipe: Option<String>,
    /// The decision's algorithm.
    #[serde(default)]
    pub expected_algorithm: Option<String>,
    /// Plugins the decision must configure.
    #[serde(default)]
    pub expected_plugins: Vec<String>,
    /// Plugins it must not configure.
    #[serde(default)]
    pub forbidden_plugins: Vec<String>,
    /// `contains` (default) or `exact`.
    #[serde(default)]
    pub plugin_match: Option<String>,
    /// A model the decision must recommend.
    #[serde(default)]
    pub expected_alias: Option<String>,
    /// Signals that must match, by type.
    #[serde(default)]
    pub expected_signals: Option<BTreeMap<String, Vec<String>>>,
    /// Signals that must not match, by type.
    #[serde(default)]
    pub forbidden_signals: Option<BTreeMap<String, Vec<String>>>,
    /// `contains` (default) or `exact`.
    #[serde(default)]
    pub signal_match: Option<String>,
    /// `min_pass_rate` of this decision's probes.
    #[serde(default)]
    pub robustness: Option<Robustness>,
    /// Free text.
    #[serde(default)]
    pub objective: Option<String>,
    /// Free text.
    #[serde(default)]
    pub notes: Option<String>,
    /// The requests.
    pub variants: Vec<Variant>,
}

/// `robustness`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Robustness {
    /// Minimum pass rate, in percent.
    #[serde(default)]
    pub min_pass_rate: Option<f64>,
}

/// One request of a decision's probes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    /// Id within the decision.
    pub id: String,
    /// A user prompt (exactly one of `query` and `messages`).
    #[serde(default)]
    pub query: Option<String>,
    /// A display text (unused offline).
    #[serde(default)]
    pub display_prompt: Option<String>,
    /// The dashboard's playground settings (unused offline).
    #[serde(default)]
    pub playground: Option<serde_json::Value>,
    /// An OpenAI conversation.
    #[serde(default)]
    pub messages: Option<Vec<serde_json::Value>>,
    /// OpenAI tool definitions.
    #[serde(default)]
    pub tools: Option<Vec<serde_json::Value>>,
    /// The query repeated this many times, one per line.
    #[serde(default)]
    pub repeat: Option<u64>,
    /// Filler lines around the query.
    #[serde(default)]
    pub padding: Option<Padding>,
    /// A text part that grows a message's text to an exact size.
    #[serde(default)]
    pub generated_text: Option<GeneratedText>,
    /// Tags (`language:zh`, `collision`, ...).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Free text.
    #[serde(default)]
    pub notes: Option<String>,
    /// Signals that must match, replacing the decision's.
    #[serde(default)]
    pub expected_signals: Option<BTreeMap<String, Vec<String>>>,
}

/// `padding`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Padding {
    /// One filler line.
    pub text: String,
    /// How many (default 1).
    #[serde(default)]
    pub repeat: Option<u64>,
    /// `before` (default), `after` or `around`.
    #[serde(default)]
    pub placement: Option<String>,
}

/// `generated_text`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeneratedText {
    /// The message (0-based).
    pub message_index: usize,
    /// Where the part is inserted in its content list.
    pub content_index: usize,
    /// The message's text bytes after insertion.
    pub target_text_bytes: u64,
    /// The filler character (default `x`).
    #[serde(default)]
    pub character: Option<String>,
}

/// A signal expectation: `(type, name)` pairs with the seed's response keys (`keywords`, `kb`,
/// `projection`, ...).
pub type SignalSet = BTreeSet<(String, String)>;

/// One probe: a variant with its decision's expectations.
#[derive(Debug, Clone)]
pub struct Probe {
    /// `decision_id:variant_id`.
    pub id: String,
    /// The decision group's id.
    pub decision_id: String,
    /// The decision expected.
    pub expected_decision: String,
    /// See [`DecisionProbes::model`].
    pub model: Option<String>,
    /// See [`DecisionProbes::expected_recipe`].
    pub expected_recipe: Option<String>,
    /// See [`DecisionProbes::expected_algorithm`].
    pub expected_algorithm: Option<String>,
    /// See [`DecisionProbes::expected_plugins`].
    pub expected_plugins: BTreeSet<String>,
    /// See [`DecisionProbes::forbidden_plugins`].
    pub forbidden_plugins: BTreeSet<String>,
    /// Plugins must be exactly the expected ones.
    pub plugins_exact: bool,
    /// See [`DecisionProbes::expected_alias`].
    pub expected_alias: Option<String>,
    /// The variant's expected signals, else the decision's.
    pub expected_signals: SignalSet,
    /// The decision's forbidden signals.
    pub forbidden_signals: SignalSet,
    /// Signals must be exactly the expected ones (any other match fails).
    pub signals_exact: bool,
    /// The variant.
    pub variant: Variant,
}

impl Manifest {
    /// Reads and checks a probes file.
    pub fn load(path: &Path) -> Result<Manifest> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|cause| EvalError::Io {
            path: p.clone(),
            cause,
        })?;
        let bad = |message: String| EvalError::Format {
            path: p.clone(),
            message,
        };
        if let Some((line, what)) = yaml_indirection(&text) {
            return Err(bad(format!(
                "line {line}: {what} (probes files may not use YAML anchors, aliases, merge keys or tags)"
            )));
        }
        let m: Manifest = serde_norway::from_str(&text).map_err(|e| bad(e.to_string()))?;
        m.check().map_err(bad)?;
        Ok(m)
    }

    /// The schema's rules serde does not see.
    fn check(&self) -> std::result::Result<(), String> {
        if self.schema_version != "v1" {
            return Err(format!(
                "schema_version {:?}: only v1 is supported",
                self.schema_version
            ));
        }
        if self.decisions.is_empty() {
            return Err("decisions: at least one is required".into());
        }
        let mut ids = BTreeSet::new();
        for (i, d) in self.decisions.iter().enumerate() {
            let at = format!("decisions[{i}] ({:?})", d.id);
            if !ids.insert(d.id.trim()) {
                return Err(format!("{at}: duplicate decision id"));
            }
            if d.variants.is_empty() {
                return Err(format!("{at}: variants: at least one is required"));
            }
            for mode in [&d.plugin_match, &d.signal_match].into_iter().flatten() {
                if !matches!(mode.trim().to_lowercase().as_str(), "contains" | "exact") {
                    return Err(format!("{at}: match mode {mode:?} (contains or exact)"));
                }
            }
            let mut vids = BTreeSet::new();
            for (j, v) in d.variants.iter().enumerate() {
                let at = format!("{at}.variants[{j}] ({:?})", v.id);
                if !vids.insert(v.id.trim()) {
                    return Err(format!("{at}: duplicate variant id"));
                }
                let query = v.query.as_deref().is_some_and(|q| !q.trim().is_empty());
                let messages = v.messages.as_ref().is_some_and(|m| !m.is_empty());
                if query == messages {
                    return Err(format!(
                        "{at}: exactly one of query and messages is required"
                    ));
                }
                if v.generated_text.is_some() && !messages {
                    return Err(format!("{at}: generated_text needs messages"));
                }
            }
        }
        Ok(())
    }

    /// The probes, one per variant, in file order.
    pub fn probes(&self) -> Vec<Probe> {
        let mut out = Vec::new();
        for d in &self.decisions {
            let exact = |m: &Option<String>| {
                m.as_deref()
                    .is_some_and(|m| m.trim().eq_ignore_ascii_case("exact"))
            };
            for v in &d.variants {
                let expected = v.expected_signals.as_ref().or(d.expected_signals.as_ref());
                out.push(Probe {
                    id: format!("{}:{}", d.id.trim(), v.id.trim()),
                    decision_id: d.id.trim().to_string(),
                    expected_decision: d.expected_decision.trim().to_string(),
                    model: trimmed(&d.model),
                    expected_recipe: trimmed(&d.expected_recipe),
                    expected_algorithm: trimmed(&d.expected_algorithm),
                    expected_plugins: strings(&d.expected_plugins),
                    forbidden_plugins: strings(&d.forbidden_plugins),
                    plugins_exact: exact(&d.plugin_match),
                    expected_alias: trimmed(&d.expected_alias),
                    expected_signals: signal_set(expected),
                    forbidden_signals: signal_set(d.forbidden_signals.as_ref()),
                    signals_exact: exact(&d.signal_match),
                    variant: v.clone(),
                });
            }
        }
        out
    }
}

fn trimmed(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
}

fn strings(v: &[String]) -> BTreeSet<String> {
    v.iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn signal_set(m: Option<&BTreeMap<String, Vec<String>>>) -> SignalSet {
    m.into_iter()
        .flatten()
        .flat_map(|(t, names)| {
            names
                .iter()
                .map(move |n| (t.trim().to_string(), n.trim().to_string()))
        })
        .collect()
}

/// The first anchor, alias, merge key or tag of `text`: `(line, what)`. These can only start a
/// node (a mapping value, a sequence item, a flow collection item), so only node starts are
/// looked at; block scalars (`|`, `>`) are text.
fn yaml_indirection(text: &str) -> Option<(usize, &'static str)> {
    let mut block_parent: Option<usize> = None;
    for (i, line) in text.lines().enumerate() {
        let indent = line.len() - line.trim_start().len();
        let body = line.trim();
        if let Some(parent) = block_parent {
            if body.is_empty() || indent > parent {
                continue;
            }
            block_parent = None;
        }
        if body.is_empty() || body.starts_with('#') {
            continue;
        }
        let mut rest = body;
        while let Some(r) = rest
            .strip_prefix('-')
            .filter(|r| r.is_empty() || r.starts_with(' '))
        {
            rest = r.trim_start();
        }
        if rest.starts_with("<<:") {
            return Some((i + 1, "a merge key (<<)"));
        }
        let value = mapping_value(rest).unwrap_or(rest);
        let what = node_property(value).or_else(|| flow_property(value));
        if let Some(what) = what {
            return Some((i + 1, what));
        }
        if value.starts_with('|') || value.starts_with('>') {
            block_parent = Some(indent);
        }
    }
    None
}

/// The value of a `key: value` line (the text after the first `: ` outside quotes).
fn mapping_value(line: &str) -> Option<&str> {
    let mut quote = None;
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') if i == 0 => quote = Some(c),
            (None, ':') if line[i + 1..].is_empty() || line[i + 1..].starts_with(' ') => {
                return Some(line[i + 1..].trim_start());
            }
            _ => {}
        }
    }
    None
}

/// What a node starting with `value` declares, if it is an anchor, alias or tag.
fn node_property(value: &str) -> Option<&'static str> {
    value.chars().next().and_then(property)
}

/// The node property a node's first character starts, if any.
fn property(c: char) -> Option<&'static str> {
    match c {
        '&' => Some("an anchor (&)"),
        '*' => Some("an alias (*)"),
        '!' => Some("a tag (!)"),
        _ => None,
    }
}

/// A property at the start of an item of a flow collection (`[a, *b]`, `{k: &c v}`).
fn flow_property(value: &str) -> Option<&'static str> {
    if !(value.starts_with('[') || value.starts_with('{')) {
        return None;
    }
    let mut quote = None;
    let mut at_start = true;
    for c in value.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '[' | '{' | ',' | ':') => at_start = true,
            (None, ' ') => {}
            (None, c) if at_start => {
                if let Some(what) = property(c) {
                    return Some(what);
                }
                at_start = false;
            }
            _ => {}
        }
    }
    None
}
