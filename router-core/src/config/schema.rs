//! The typed config: the parts of a vLLM Semantic Router v0.3 file that routelab reads.
//!
//! Every struct here is deserialized from YAML with serde; keys routelab does not read are
//! collected as ignored (see [`super::LoadedConfig::ignored`]) instead of failing the load.
//! routelab additions (all optional, so the vLLM shape stays valid): `providers.models[].latency`,
//! keyword `regex` / `regexes` / `word_boundary`, pii `pii_types_denied`, embeddings `top_k`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::tokens::TokenCount;
use crate::plugins::PluginEntry;
use crate::signals::SignalKind;

/// A whole config file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RouterConfig {
    /// Config format version (`v0.3`); informational.
    #[serde(default)]
    pub version: Option<String>,
    /// The models the router can send requests to.
    #[serde(default)]
    pub providers: Providers,
    /// Signals, decisions and the selection strategy.
    #[serde(default)]
    pub routing: Routing,
    /// Requested model names that select a recipe.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entrypoints: Vec<super::Entrypoint>,
    /// Named routing profiles beside the top-level one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recipes: Vec<super::Recipe>,
    /// Global settings; routelab reads only the model catalog.
    #[serde(default)]
    pub global: Global,
}

/// `providers`: model list and defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Providers {
    /// Defaults that apply to all models.
    #[serde(default)]
    pub defaults: ProviderDefaults,
    /// The models.
    #[serde(default)]
    pub models: Vec<ModelSpec>,
}

/// `providers.defaults`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProviderDefaults {
    /// Model used when no decision matches (must name a model of `providers.models`).
    #[serde(default)]
    pub default_model: String,
    /// Reasoning effort used when a decision turns reasoning on without naming an effort.
    #[serde(default)]
    pub default_reasoning_effort: Option<String>,
    /// How each reasoning family switches reasoning on in an OpenAI request body.
    #[serde(default)]
    pub reasoning_families: BTreeMap<String, ReasoningFamily>,
}

/// One reasoning family: which request parameter turns reasoning on and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReasoningFamily {
    /// How the parameter is set.
    #[serde(rename = "type")]
    pub kind: ReasoningFamilyKind,
    /// The parameter name; dots nest (`reasoning.effort` -> `{"reasoning": {"effort": ..}}`).
    pub parameter: String,
}

/// How a reasoning family's parameter is written into the request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasoningFamilyKind {
    /// `{"chat_template_kwargs": {<parameter>: true|false}}` (Qwen3, DeepSeek).
    ChatTemplateKwargs,
    /// `{<parameter>: <effort>}` with a dotted parameter path (`reasoning.effort`).
    ReasoningEffort,
    /// `{<parameter>: <effort>}` at the top level of the body (`reasoning_effort`).
    TopLevelReasoningEffort,
}

/// `providers.models[]`: one upstream model.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelSpec {
    /// Name decisions refer to (`modelRefs[].model`).
    pub name: String,
    /// Key into `providers.defaults.reasoning_families`.
    #[serde(default)]
    pub reasoning_family: Option<String>,
    /// The model id sent upstream (defaults to `name`).
    #[serde(default)]
    pub provider_model_id: Option<String>,
    /// Price per million tokens.
    #[serde(default)]
    pub pricing: Option<Pricing>,
    /// Where the model is served.
    #[serde(default)]
    pub backend_refs: Vec<BackendRef>,
    /// routelab addition: latency profile used by `routelab eval`.
    #[serde(default)]
    pub latency: Option<LatencyProfile>,
}

impl ModelSpec {
    /// The model id to send upstream: `provider_model_id`, else `name`.
    pub fn upstream_id(&self) -> &str {
        self.provider_model_id.as_deref().unwrap_or(&self.name)
    }
}

/// `pricing` of a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pricing {
    /// Currency code (`USD`).
    #[serde(default = "default_currency")]
    pub currency: String,
    /// Price of one million prompt tokens.
    #[serde(default)]
    pub prompt_per_1m: f64,
    /// Price of one million completion tokens.
    #[serde(default)]
    pub completion_per_1m: f64,
}

fn default_currency() -> String {
    "USD".into()
}

impl Pricing {
    /// Cost of one request with the given token counts.
    pub fn cost(&self, prompt_tokens: u64, completion_tokens: u64) -> f64 {
        (prompt_tokens as f64 * self.prompt_per_1m
            + completion_tokens as f64 * self.completion_per_1m)
            / 1e6
    }
}

/// routelab addition `latency`: a simple latency model of a model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LatencyProfile {
    /// Time to first token, milliseconds.
    pub ttft_ms: f64,
    /// Time per output token, milliseconds.
    pub tpot_ms: f64,
}

impl LatencyProfile {
    /// Estimated end-to-end latency in ms for a completion of `completion_tokens` tokens.
    pub fn estimate_ms(&self, completion_tokens: u64) -> f64 {
        self.ttft_ms + self.tpot_ms * completion_tokens as f64
    }
}

/// `backend_refs[]`: one upstream endpoint of a model.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BackendRef {
    /// Backend name.
    #[serde(default)]
    pub name: Option<String>,
    /// `host:port` (used with `protocol`, path `/v1/chat/completions` unless `chat_path`).
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Full base URL including `/v1` (path `/chat/completions` unless `chat_path`).
    #[serde(default)]
    pub base_url: Option<String>,
    /// `http` or `https` for `endpoint` (default `http`).
    #[serde(default)]
    pub protocol: Option<String>,
    /// Chat completions path appended to the base.
    #[serde(default)]
    pub chat_path: Option<String>,
    /// Environment variable holding the API key.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// Literal API key (prefer `api_key_env`).
    #[serde(default)]
    pub api_key: Option<String>,
    /// Load-balancing weight.
    #[serde(default)]
    pub weight: Option<u32>,
}

impl BackendRef {
    /// The full chat-completions URL, or `None` if neither `base_url` nor `endpoint` is set.
    pub fn chat_url(&self) -> Option<String> {
        let (base, default_path) = if let Some(b) = &self.base_url {
            (b.trim_end_matches('/').to_string(), "/chat/completions")
        } else if let Some(e) = &self.endpoint {
            let proto = self.protocol.as_deref().unwrap_or("http");
            (format!("{proto}://{e}"), "/v1/chat/completions")
        } else {
            return None;
        };
        let path = self.chat_path.as_deref().unwrap_or(default_path);
        Some(format!("{base}{path}"))
    }
}

/// `routing`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Routing {
    /// How a winner is chosen among matching decisions (unset: `priority`; a recipe without
    /// one inherits the top level's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<Strategy>,
    /// Named signal rules per kind.
    #[serde(default)]
    pub signals: Signals,
    /// Signals derived from the other signals' results.
    #[serde(default)]
    pub projections: super::Projections,
    /// The decisions.
    #[serde(default)]
    pub decisions: Vec<Decision>,
    /// What the selection algorithms read of each model.
    #[serde(rename = "modelCards", default, skip_serializing_if = "Vec::is_empty")]
    pub model_cards: Vec<super::ModelCard>,
}

/// `routing.strategy`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// Highest priority wins; ties by confidence, then name.
    #[default]
    Priority,
    /// Highest confidence wins; ties by priority, then name.
    Confidence,
}

/// `routing.signals`: the kinds routelab implements.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Signals {
    /// Keyword / regex rules.
    #[serde(default)]
    pub keywords: Vec<KeywordRule>,
    /// Context-length bands.
    #[serde(default)]
    pub context: Vec<ContextRule>,
    /// Languages (ISO 639-1 names).
    #[serde(default)]
    pub language: Vec<LanguageRule>,
    /// Domain classifier categories.
    #[serde(default)]
    pub domains: Vec<DomainRule>,
    /// Jailbreak detectors.
    #[serde(default)]
    pub jailbreak: Vec<JailbreakRule>,
    /// PII detectors.
    #[serde(default)]
    pub pii: Vec<PiiRule>,
    /// Embedding-similarity rules.
    #[serde(default)]
    pub embeddings: Vec<EmbeddingRule>,
    /// Conversation-shape rules (message counts, tools, tool loops, images).
    #[serde(default)]
    pub conversation: Vec<ConversationRule>,
    /// Text-structure rules (regex / keyword counts, densities, ordered markers, size).
    #[serde(default)]
    pub structure: Vec<StructureRule>,
    /// Re-ask rules: the current user turn repeats the previous ones.
    #[serde(default)]
    pub reasks: Vec<ReaskRule>,
    /// Complexity rules: hard against easy example prompts.
    #[serde(default)]
    pub complexity: Vec<ComplexityRule>,
    /// Knowledge-base rules: a label or group of a knowledge base.
    #[serde(default)]
    pub kb: Vec<super::KbRule>,
    /// Fact-check rules: `needs_fact_check` or `no_fact_check_needed`, by a classifier.
    #[serde(default)]
    pub fact_check: Vec<LabelRule>,
    /// User-feedback rules: the feedback a follow-up turn gives (`wrong_answer`, ...), by a
    /// classifier.
    #[serde(default)]
    pub user_feedbacks: Vec<LabelRule>,
    /// Event reports in the request text.
    #[serde(default)]
    pub events: Vec<super::EventRule>,
    /// Predicates on the request's `metadata`.
    #[serde(default)]
    pub metadata: Vec<super::MetadataRule>,
}

/// `routing.signals.fact_check[]` and `user_feedbacks[]` (the seed's `FactCheckRule`,
/// `UserFeedbackRule`): a rule matches when the classifier's verdict is its name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LabelRule {
    /// The verdict it matches (`needs_fact_check`, `wrong_answer`, ...).
    pub name: String,
    /// What it means (not read).
    #[serde(default)]
    pub description: Option<String>,
}

/// `routing.signals.complexity[]` (the seed's `ComplexityRule`, `pkg/config/signal_config.go`):
/// the request is `hard`, `easy` or `medium` by how much closer it is to the hard examples
/// than to the easy ones. A decision leaf names `<rule>:<easy|medium|hard>`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ComplexityRule {
    /// Rule name.
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// Half-width of the `medium` band of the margin (hard score − easy score).
    #[serde(default)]
    pub threshold: f32,
    /// Examples of hard requests.
    #[serde(default)]
    pub hard: ComplexityCandidates,
    /// Examples of easy requests.
    #[serde(default)]
    pub easy: ComplexityCandidates,
    /// A condition over other signals that must hold for the rule's level to stay matched.
    #[serde(default)]
    pub composer: Option<RuleNode>,
}

/// `hard` / `easy` of a complexity rule.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ComplexityCandidates {
    /// Example texts.
    #[serde(default)]
    pub candidates: Vec<String>,
}

/// The signal kind a complexity composer's leaf reads: the seed's `composerLeafMatches`
/// (`pkg/classification/classifier_composers.go`) knows keyword, embedding, domain, fact_check,
/// user_feedback, reask, language, context, structure, kb and conversation (and preference and
/// modality, which routelab does not compute), by their exact lower-case name; any other leaf
/// is false.
pub fn composer_leaf_kind(t: &str) -> Option<SignalKind> {
    const KNOWN: [&str; 11] = [
        "keyword",
        "embedding",
        "domain",
        "fact_check",
        "user_feedback",
        "reask",
        "language",
        "context",
        "structure",
        "kb",
        "conversation",
    ];
    KNOWN.contains(&t).then(|| SignalKind::parse(t)).flatten()
}

/// The levels a complexity rule emits, as in its leaf names (`<rule>:<level>`).
pub const COMPLEXITY_LEVELS: [&str; 3] = ["easy", "medium", "hard"];

/// A complexity leaf name split at its last `:` into rule and level (`None` without a rule or
/// a level, as the seed's `validateComplexityConditionName`).
pub fn complexity_leaf(name: &str) -> Option<(&str, &str)> {
    let (rule, level) = name.rsplit_once(':')?;
    (!rule.is_empty() && !level.is_empty()).then_some((rule, level))
}

/// `routing.signals.reasks[]` (the seed's `ReaskRule`, `pkg/config/signal_config.go`): the
/// current user turn is at least `threshold` similar to each of the last `lookback_turns`
/// earlier user turns.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReaskRule {
    /// Rule name.
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// Minimum similarity per earlier turn (0 or absent: 0.8, as the seed's `WithDefaults`).
    #[serde(default)]
    pub threshold: Option<f32>,
    /// Earlier user turns, most recent first, that must all be repeats (0 or absent: 1).
    #[serde(default)]
    pub lookback_turns: Option<i64>,
}

impl ReaskRule {
    /// The threshold with the seed's default: 0 or absent means 0.8.
    pub fn threshold(&self) -> f32 {
        self.threshold.filter(|t| *t != 0.0).unwrap_or(0.8)
    }

    /// The lookback with the seed's default: 0 or absent means 1.
    pub fn lookback(&self) -> i64 {
        self.lookback_turns.filter(|l| *l != 0).unwrap_or(1)
    }
}

/// `routing.signals.structure[]`: a measure of the request text, compared with a predicate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StructureRule {
    /// Rule name.
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// What is measured.
    pub feature: StructureFeature,
    /// When the value matches (absent: when it is above 0).
    #[serde(default)]
    pub predicate: Option<NumericPredicate>,
}

/// `feature` of a structure rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StructureFeature {
    /// How the source's count becomes the value.
    #[serde(rename = "type")]
    pub kind: StructureFeatureType,
    /// What is counted.
    pub source: StructureSource,
}

/// How a structure source's count becomes the feature value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StructureFeatureType {
    /// 1 when the count is above 0.
    Exists,
    /// The count.
    Count,
    /// The count per multilingual text unit.
    Density,
    /// 1 when one of the marker sequences occurs in order (a `sequence` source).
    Sequence,
}

/// `feature.source` of a structure rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StructureSource {
    /// What is counted.
    #[serde(rename = "type")]
    pub kind: StructureSourceType,
    /// `regex`: the pattern (its non-overlapping matches are counted).
    #[serde(default)]
    pub pattern: Option<String>,
    /// `keyword_set`: the keywords (their occurrences are added up).
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Case-sensitive matching (default false).
    #[serde(default)]
    pub case_sensitive: bool,
    /// `sequence`: marker lists, each of at least two markers.
    #[serde(default)]
    pub sequences: Vec<Vec<String>>,
}

/// The sources a structure feature counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StructureSourceType {
    /// Regex matches.
    Regex,
    /// Keyword occurrences.
    KeywordSet,
    /// Whether a marker sequence occurs in order (0 or 1).
    Sequence,
    /// UTF-8 bytes of the current user message.
    TextBytes,
}

/// `routing.signals.conversation[]`: a count over the conversation, compared with a predicate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationRule {
    /// Rule name.
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// What is counted.
    pub feature: ConversationFeature,
    /// When a `count` matches (absent: always).
    #[serde(default)]
    pub predicate: Option<NumericPredicate>,
}

/// `feature` of a conversation rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationFeature {
    /// `count` (the raw value) or `exists` (1 when above 0).
    #[serde(rename = "type")]
    pub kind: FeatureType,
    /// What the value counts.
    pub source: ConversationSource,
}

/// How a feature's raw count becomes its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeatureType {
    /// The raw count, matched by the predicate.
    Count,
    /// 1 when the count is above 0 (matches then); takes no predicate.
    Exists,
}

/// `feature.source` of a conversation rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationSource {
    /// What is counted.
    #[serde(rename = "type")]
    pub kind: SourceType,
    /// For `message`: `user`, `assistant`, `system`, `developer`, `tool` or `non_user`
    /// (absent: every message).
    #[serde(default)]
    pub role: Option<String>,
}

impl ConversationSource {
    /// `message(user)`, `tool_definition`, ... for evidence strings.
    pub fn describe(&self) -> String {
        let kind = serde_json::to_value(self.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        match &self.role {
            Some(role) => format!("{kind}({role})"),
            None => kind,
        }
    }
}

/// The sources a conversation feature counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceType {
    /// Messages (of a role).
    Message,
    /// Tool definitions (`tools`, legacy `functions`).
    ToolDefinition,
    /// Tool calls of assistant messages.
    AssistantToolCall,
    /// Tool results (`tool` messages).
    AssistantToolCycle,
    /// Whether a tool loop is active (0 or 1).
    ActiveToolLoop,
    /// Image parts of user messages.
    ImageContent,
}

/// The roles a `message` source may name.
pub const CONVERSATION_ROLES: [&str; 6] = [
    "user",
    "assistant",
    "system",
    "developer",
    "tool",
    "non_user",
];

/// Comparators on a number; every one that is set must hold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct NumericPredicate {
    /// value > gt.
    #[serde(default)]
    pub gt: Option<f64>,
    /// value >= gte.
    #[serde(default)]
    pub gte: Option<f64>,
    /// value < lt.
    #[serde(default)]
    pub lt: Option<f64>,
    /// value <= lte.
    #[serde(default)]
    pub lte: Option<f64>,
}

impl NumericPredicate {
    /// Whether `v` satisfies every comparator.
    pub fn holds(&self, v: f64) -> bool {
        self.gt.is_none_or(|x| v > x)
            && self.gte.is_none_or(|x| v >= x)
            && self.lt.is_none_or(|x| v < x)
            && self.lte.is_none_or(|x| v <= x)
    }

    /// What is wrong with the comparators, as the seed's `validateNumericPredicateContract`
    /// checks them; `None` when they are fine.
    pub fn problem(&self) -> Option<&'static str> {
        let set = [self.gt, self.gte, self.lt, self.lte];
        if set.iter().flatten().any(|x| !x.is_finite()) {
            return Some("predicate values must be finite");
        }
        if set.iter().all(Option::is_none) {
            return Some("predicate must set at least one comparator");
        }
        if self.gt.is_some() && self.gte.is_some() {
            return Some("predicate cannot set both gt and gte");
        }
        if self.lt.is_some() && self.lte.is_some() {
            return Some("predicate cannot set both lt and lte");
        }
        let (lo, lo_open) = match (self.gt, self.gte) {
            (Some(x), _) => (x, true),
            (_, Some(x)) => (x, false),
            _ => (f64::NEG_INFINITY, false),
        };
        let (hi, hi_open) = match (self.lt, self.lte) {
            (Some(x), _) => (x, true),
            (_, Some(x)) => (x, false),
            _ => (f64::INFINITY, false),
        };
        let empty = lo > hi || (lo == hi && (lo_open || hi_open));
        empty.then_some("predicate defines an empty numeric range")
    }
}

/// How a keyword rule combines its keywords.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeywordOperator {
    /// Any keyword present.
    #[default]
    #[serde(rename = "OR", alias = "ANY", alias = "or", alias = "any")]
    Or,
    /// All keywords present.
    #[serde(rename = "AND", alias = "ALL", alias = "and", alias = "all")]
    And,
    /// No keyword present.
    #[serde(rename = "NOR", alias = "NONE", alias = "nor", alias = "none")]
    Nor,
}

/// `routing.signals.keywords[]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KeywordRule {
    /// Rule name.
    pub name: String,
    /// Any / all / none.
    #[serde(default)]
    pub operator: KeywordOperator,
    /// Literal keywords (regexes when `regex: true`).
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Case-sensitive matching (default false).
    #[serde(default)]
    pub case_sensitive: bool,
    /// routelab: treat `keywords` as regular expressions.
    #[serde(default)]
    pub regex: bool,
    /// routelab: extra regular expressions, combined with `keywords` by `operator`.
    #[serde(default)]
    pub regexes: Vec<String>,
    /// routelab: literal keywords match whole words only (default true).
    #[serde(default = "yes")]
    pub word_boundary: bool,
    /// vLLM matching method: `regex` (the keywords are regular expressions, as the seed's
    /// maintained recipes write them), `bm25` or `ngram` (scored, see
    /// [`crate::signals::keyword_scored`]); none or `exact`: literal keywords.
    #[serde(default)]
    pub method: Option<String>,
    /// `bm25`: the score a keyword needs (0 or unset: 0.1).
    #[serde(default)]
    pub bm25_threshold: Option<f32>,
    /// `ngram`: the similarity a keyword needs (0 or unset: 0.4).
    #[serde(default)]
    pub ngram_threshold: Option<f32>,
    /// `ngram`: characters per n-gram (0 or unset: 3; at least 2).
    #[serde(default)]
    pub ngram_arity: Option<usize>,
    /// Literal and regex rules: a keyword the pattern misses is present when a word of the text
    /// is within `fuzzy_threshold` edits of it.
    #[serde(default)]
    pub fuzzy_match: bool,
    /// Edits allowed by `fuzzy_match` (0 or unset: 2).
    #[serde(default)]
    pub fuzzy_threshold: Option<usize>,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
}

impl KeywordRule {
    /// Whether the keywords are regular expressions: `regex: true` or `method: regex`.
    pub fn keywords_are_regexes(&self) -> bool {
        self.regex || self.method.as_deref() == Some("regex")
    }

    /// The `method` when routelab does not implement it (`fuzzy`, unknown ones): such a
    /// rule matches its keywords exactly instead.
    pub fn unimplemented_method(&self) -> Option<&str> {
        self.method.as_deref().filter(|m| {
            !matches!(
                m.to_lowercase().as_str(),
                "exact" | "regex" | "bm25" | "ngram"
            )
        })
    }
}

fn yes() -> bool {
    true
}

/// `routing.signals.context[]`: a band of conversation sizes in tokens.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContextRule {
    /// Rule name.
    pub name: String,
    /// Lower bound, inclusive (default 0). Accepts `32K`, `1M`.
    #[serde(default)]
    pub min_tokens: Option<TokenCount>,
    /// Upper bound, inclusive (default unbounded).
    #[serde(default)]
    pub max_tokens: Option<TokenCount>,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
}

/// `routing.signals.language[]`: the rule name is the language code (`zh`, `es`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LanguageRule {
    /// ISO 639-1 code (ISO 639-3 accepted too).
    pub name: String,
    /// Minimum detector confidence in `[0, 1]` (default 0).
    #[serde(default)]
    pub threshold: Option<f32>,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
}

/// `routing.signals.domains[]`: one category of the domain classifier.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DomainRule {
    /// Rule name.
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// Classifier labels that count as this domain (default: the rule name).
    #[serde(default)]
    pub mmlu_categories: Vec<String>,
}

/// `routing.signals.jailbreak[]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JailbreakRule {
    /// Rule name.
    pub name: String,
    /// Minimum classifier score in `[0, 1]`.
    #[serde(default)]
    pub threshold: Option<f32>,
    /// Also read the system, developer and assistant messages and the earlier user turns (not
    /// only the current user turn).
    #[serde(default)]
    pub include_history: bool,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// `contrastive`: similarity to `jailbreak_patterns` against `benign_patterns`; any other
    /// value, or none, the prompt-guard classifier (as the seed runs it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Examples of attacks (`method: contrastive`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub jailbreak_patterns: Vec<String>,
    /// Examples of ordinary requests (`method: contrastive`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub benign_patterns: Vec<String>,
}

impl JailbreakRule {
    /// Whether the rule runs the contrastive method.
    pub fn is_contrastive(&self) -> bool {
        self.method.as_deref() == Some("contrastive")
    }
}

/// `routing.signals.pii[]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PiiRule {
    /// Rule name.
    pub name: String,
    /// Minimum token score in `[0, 1]`.
    #[serde(default)]
    pub threshold: Option<f32>,
    /// PII types that do not trigger the rule.
    #[serde(default)]
    pub pii_types_allowed: Vec<String>,
    /// routelab addition: only these PII types trigger the rule (empty = all not allowed).
    #[serde(default)]
    pub pii_types_denied: Vec<String>,
    /// Also classify each system, developer and assistant message (not only the last user turn).
    #[serde(default)]
    pub include_history: bool,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
}

/// How an embedding rule aggregates similarities to its candidates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Aggregation {
    /// Best candidate similarity.
    #[default]
    Max,
    /// Mean similarity over candidates.
    Mean,
    /// Any candidate over the threshold.
    Any,
}

/// `routing.signals.embeddings[]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingRule {
    /// Rule name.
    pub name: String,
    /// Minimum similarity in `[0, 1]`.
    #[serde(default)]
    pub threshold: f32,
    /// How candidate similarities combine.
    #[serde(default)]
    pub aggregation_method: Aggregation,
    /// Example sentences.
    #[serde(default)]
    pub candidates: Vec<String>,
    /// routelab addition: the number of most similar prototypes averaged (the `mean` method's
    /// count, `max` / `any`'s support size).
    #[serde(default)]
    pub top_k: Option<usize>,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
}

/// `routing.decisions[]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// Decision name.
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// Higher wins under the priority strategy.
    #[serde(default)]
    pub priority: i64,
    /// Ranking tier (0 = none). When any matching decision has a tier above 0, the lowest
    /// tier wins, then confidence, priority and name (the seed's `decisionResultLess`).
    #[serde(default)]
    pub tier: i64,
    /// The rule tree. Absent, empty (`{}`) or an `AND` with no conditions: a fallback that
    /// matches every request with confidence 0.
    #[serde(default)]
    pub rules: RuleNode,
    /// Candidate models; the first is used.
    #[serde(rename = "modelRefs", default)]
    pub model_refs: Vec<ModelRef>,
    /// Plugins applied when this decision wins.
    #[serde(default)]
    pub plugins: Vec<PluginEntry>,
    /// How the decision picks among its models (`static`: the first; see
    /// [`super::AlgorithmKind`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<super::DecisionAlgorithm>,
}

impl Decision {
    /// The algorithm's type, `static` when none is set.
    pub fn algorithm_type(&self) -> &str {
        self.algorithm
            .as_ref()
            .map_or("static", |a| a.kind.as_str())
    }
}

/// Boolean operator of a rule node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RuleOperator {
    /// All children match; confidence is their mean.
    #[serde(rename = "AND")]
    And,
    /// Any child matches; confidence is the best matching child's.
    #[serde(rename = "OR")]
    Or,
    /// Exactly one child, which must not match; confidence 1.
    #[serde(rename = "NOT")]
    Not,
}

/// A node of a decision's rule tree: an operator node (`operator` + `conditions`) or a leaf
/// (`type` + `name`). Kept close to the YAML so validation can report every problem; the engine
/// compiles it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RuleNode {
    /// The operator, for an inner node; with neither `operator` nor `type`, the node is empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<RuleOperator>,
    /// Children of an inner node.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<RuleNode>,
    /// Signal kind of a leaf (`keyword`, `domain`, ...).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub signal_type: Option<String>,
    /// Signal rule name of a leaf.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl RuleNode {
    /// Whether this node matches every request with confidence 0, as the seed evaluates it:
    /// an empty node (no `operator`, `type` or `name`: rules absent or `{}`,
    /// `RuleNode.IsEmpty` in the seed's `pkg/config`) or an `AND` with no conditions
    /// (`evalAND` in the seed's `pkg/decision/engine.go`).
    pub fn is_fallback(&self) -> bool {
        let empty = self.signal_type.is_none() && self.name.is_none() && self.conditions.is_empty();
        empty && matches!(self.operator, None | Some(RuleOperator::And))
    }
}

/// `modelRefs[]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelRef {
    /// A model of `providers.models`.
    pub model: String,
    /// Turn reasoning on.
    #[serde(default)]
    pub use_reasoning: bool,
    /// Reasoning effort (`low`, `medium`, `high`); defaults to the provider default.
    #[serde(default)]
    pub reasoning_effort: Option<String>,
    /// LoRA adapter to request.
    #[serde(default)]
    pub lora_name: Option<String>,
}

/// `global`: routelab reads `model_catalog` and `router.model_selection`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Global {
    /// Where classifier and embedding models live.
    #[serde(default)]
    pub model_catalog: ModelCatalog,
    /// Router settings (learned model selection).
    #[serde(default)]
    pub router: super::GlobalRouter,
}

/// `global.model_catalog`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelCatalog {
    /// Task classifiers.
    #[serde(default)]
    pub system: SystemModels,
    /// Embedding models.
    #[serde(default)]
    pub embeddings: EmbeddingModels,
    /// Module settings (thresholds).
    #[serde(default)]
    pub modules: Modules,
    /// Knowledge bases (absent: the seed's defaults, [`super::default_kbs`]).
    #[serde(default)]
    pub kbs: Option<Vec<super::KnowledgeBase>>,
}

impl ModelCatalog {
    /// The knowledge bases: those declared, else the seed's defaults.
    pub fn knowledge_bases(&self) -> std::borrow::Cow<'_, [super::KnowledgeBase]> {
        match &self.kbs {
            Some(k) => std::borrow::Cow::Borrowed(k.as_slice()),
            None => std::borrow::Cow::Owned(super::default_kbs()),
        }
    }
}

/// `global.model_catalog.system`: model directories, relative to the config file's directory.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SystemModels {
    /// Domain classifier directory.
    #[serde(default)]
    pub domain_classifier: Option<String>,
    /// Jailbreak classifier directory.
    #[serde(default)]
    pub prompt_guard: Option<String>,
    /// PII token classifier directory.
    #[serde(default)]
    pub pii_classifier: Option<String>,
    /// Fact-check classifier directory.
    #[serde(default)]
    pub fact_check_classifier: Option<String>,
    /// User-feedback classifier directory.
    #[serde(default)]
    pub feedback_detector: Option<String>,
}

/// `global.model_catalog.embeddings`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingModels {
    /// Semantic embedding models.
    #[serde(default)]
    pub semantic: SemanticEmbeddings,
}

/// `global.model_catalog.embeddings.semantic`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SemanticEmbeddings {
    /// BERT-family sentence embedding model directory.
    #[serde(default)]
    pub bert_model_path: Option<String>,
    /// How embedding matches are reported.
    #[serde(default)]
    pub embedding_config: EmbeddingOutput,
}

/// `global.model_catalog.embeddings.semantic.embedding_config`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingOutput {
    /// How many matched embedding rules stay matched, the most confident first (the seed's
    /// `limitMatchedSignalsByTopK`): unset 1, 0 all.
    #[serde(default)]
    pub top_k: Option<usize>,
    /// When no rule reaches its own threshold, the rules scoring at least this match (soft
    /// matching; unset or ≤ 0: 0.5).
    #[serde(default)]
    pub min_score_threshold: Option<f32>,
    /// Whether soft matching is on (default true).
    #[serde(default)]
    pub enable_soft_matching: Option<bool>,
    /// How candidates become prototypes and similarities a score.
    #[serde(default)]
    pub prototype_scoring: PrototypeScoring,
}

/// `embedding_config.prototype_scoring` (defaults applied by
/// [`crate::signals::prototypes::Settings::of`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PrototypeScoring {
    /// Cluster candidates into prototypes (default true).
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Similarity at which a candidate joins a cluster's seed (default 0.9).
    #[serde(default)]
    pub cluster_similarity_threshold: Option<f32>,
    /// Prototypes kept per rule (default 8).
    #[serde(default)]
    pub max_prototypes: Option<usize>,
    /// Weight of the best similarity in `max` / `any` scoring (default 0.75).
    #[serde(default)]
    pub best_weight: Option<f32>,
    /// Similarities averaged as support (default 2).
    #[serde(default)]
    pub top_m: Option<usize>,
}

impl EmbeddingOutput {
    /// The effective limit (`None`: no limit).
    pub fn limit(&self) -> Option<usize> {
        match self.top_k {
            None => Some(1),
            Some(0) => None,
            Some(k) => Some(k),
        }
    }
}

/// `global.model_catalog.modules`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Modules {
    /// `modules.classifier`.
    #[serde(default)]
    pub classifier: ClassifierModules,
    /// `modules.prompt_guard`.
    #[serde(default)]
    pub prompt_guard: Option<PromptGuardModule>,
    /// `modules.complexity`.
    #[serde(default)]
    pub complexity: ComplexityModule,
    /// `modules.hallucination_mitigation` (routelab reads its `fact_check.threshold`).
    #[serde(default)]
    pub hallucination_mitigation: HallucinationModule,
    /// `modules.feedback_detector`.
    #[serde(default)]
    pub feedback_detector: FeedbackModule,
}

/// `global.model_catalog.modules.prompt_guard`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PromptGuardModule {
    /// Minimum jailbreak probability in `[0, 1]`.
    #[serde(default)]
    pub threshold: Option<f32>,
    /// The classifier labels whose probabilities add up to the jailbreak risk (the seed's
    /// `positive_labels`); unset: the one label naming a jailbreak.
    #[serde(default)]
    pub positive_labels: Vec<String>,
}

/// `global.model_catalog.modules.hallucination_mitigation`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HallucinationModule {
    /// The fact-check classifier's settings.
    #[serde(default)]
    pub fact_check: Option<ThresholdModule>,
}

/// `global.model_catalog.modules.feedback_detector`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FeedbackModule {
    /// Whether user-feedback rules run (the seed's default: yes).
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Minimum top-label probability; below it the verdict is `satisfied`.
    #[serde(default)]
    pub threshold: Option<f32>,
}

/// `global.model_catalog.modules.complexity`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ComplexityModule {
    /// How the complexity rules' examples become prototypes and are scored.
    #[serde(default)]
    pub prototype_scoring: PrototypeScoring,
}

/// `global.model_catalog.modules.classifier`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClassifierModules {
    /// Domain classifier settings.
    #[serde(default)]
    pub domain: Option<ThresholdModule>,
    /// PII classifier settings.
    #[serde(default)]
    pub pii: Option<ThresholdModule>,
}

/// A module block of which routelab reads only the threshold.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ThresholdModule {
    /// Minimum score in `[0, 1]`.
    #[serde(default)]
    pub threshold: Option<f32>,
}
