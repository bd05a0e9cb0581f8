//! Knowledge-base signal, as the seed evaluates it (`pkg/classification/category_kb_*.go`,
//! `kbSignalMatchConfidence`).
//!
//! A knowledge base is a `labels.json` of labelled example sentences. Each label's examples are
//! embedded once, when the signal is built, and reduced to prototypes as embedding candidates
//! are ([`prototypes::prototypes`], with the knowledge base's `prototype_scoring`). Per request
//! the last user message (2,048-character window, [`super::text_window`]) is embedded and every
//! label scored ([`prototypes::score`] as `max`). Then:
//! * the best label is the highest score (ties: the smaller name); a label is matched when its
//!   score reaches its `label_thresholds` entry, else the knowledge base's `threshold`;
//! * a group scores its best member (0 at least); the best group is the highest (ties: the
//!   smaller name); a group is matched when one of its labels is.
//!
//! A rule with `match: best` matches when its target is the best label (confidence its score)
//! or the best group (confidence the group's score), with no threshold; otherwise when its
//! target is matched (confidence its score).
//!
//! The metrics projections read (`kb_metric` inputs; the seed's `computeMetricValues`) are
//! reported as values under `kb_metric:<kb>:<metric>` in lower case: `best_score` (the best
//! label's score), `best_matched_score` (the best matched label's, 0 when none is matched) and
//! each declared `group_margin` (the positive group's score minus the negative group's).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::prototypes::{self, dot, Settings};
use super::{Signal, SignalKind, SignalMatch, SignalResults, SignalValue};
use crate::config::{Aggregation, KbRule, KnowledgeBase};
use crate::inference::{Embedder, Stored};
use crate::request::RouteRequest;
use crate::{Error, Result};

/// The labels files of the seed's default knowledge bases, shipped with routelab (Apache-2.0,
/// `configs/vllm-sr/LICENSE`): used when a default path resolves to no file.
const BUILT_IN: [(&str, &str); 2] = [
    (
        "knowledge_bases/mmlu",
        include_str!("../../../configs/vllm-sr/knowledge_bases/mmlu/labels.json"),
    ),
    (
        "knowledge_bases/privacy",
        include_str!("../../../configs/vllm-sr/knowledge_bases/privacy/labels.json"),
    ),
];

/// A labels file: label name → example sentences (labels without examples left out).
#[derive(Debug, serde::Deserialize)]
struct LabelsFile {
    labels: BTreeMap<String, LabelDef>,
}

#[derive(Debug, serde::Deserialize)]
struct LabelDef {
    #[serde(default)]
    exemplars: Vec<String>,
}

/// Where the labels file of `kb` is: an absolute path as written; a relative one under
/// `<config dir>/.vllm-sr/` (for `knowledge_bases/…`), `<config dir>/` and
/// `$VLLM_SR_CONFIG_ASSET_ROOT/`, in that order (the seed's `candidateRoots`). `None` when no
/// candidate exists.
pub fn labels_path(kb: &KnowledgeBase, base_dir: &Path) -> Option<PathBuf> {
    let manifest = kb.source.manifest.as_deref().unwrap_or("labels.json");
    let rel = Path::new(&kb.source.path).join(manifest);
    if rel.is_absolute() {
        return rel.is_file().then_some(rel);
    }
    let mut roots = Vec::new();
    if kb.source.path.starts_with("knowledge_bases/") {
        roots.push(base_dir.join(".vllm-sr"));
    }
    roots.push(base_dir.to_path_buf());
    if let Some(root) = std::env::var_os("VLLM_SR_CONFIG_ASSET_ROOT") {
        roots.push(PathBuf::from(root));
    }
    roots
        .into_iter()
        .map(|r| r.join(&rel))
        .find(|p| p.is_file())
}

/// The labels of `kb`, sorted by name: from its file, or the built-in copy of a default
/// knowledge base; a missing or malformed file is an error naming it.
fn labels(kb: &KnowledgeBase, base_dir: &Path, at: &str) -> Result<Vec<(String, Vec<String>)>> {
    let (origin, text) = match labels_path(kb, base_dir) {
        Some(p) => {
            let text = std::fs::read_to_string(&p).map_err(|e| Error::Config {
                location: p.display().to_string(),
                message: e.to_string(),
            })?;
            (p.display().to_string(), text)
        }
        None => {
            let key = kb.source.path.trim_end_matches('/');
            let manifest = kb.source.manifest.as_deref().unwrap_or("labels.json");
            let built_in = BUILT_IN
                .iter()
                .find(|(k, _)| *k == key && manifest == "labels.json");
            let Some((_, text)) = built_in else {
                return Err(Error::Config {
                    location: format!("{at}.source"),
                    message: format!(
                        "no {manifest} under {:?} (relative to {}, .vllm-sr/ or $VLLM_SR_CONFIG_ASSET_ROOT)",
                        kb.source.path,
                        base_dir.display()
                    ),
                });
            };
            (format!("built-in {key}/labels.json"), text.to_string())
        }
    };
    let file: LabelsFile = serde_json::from_str(&text).map_err(|e| Error::Config {
        location: origin.clone(),
        message: format!("not a knowledge-base labels file: {e}"),
    })?;
    let labels: Vec<(String, Vec<String>)> = file
        .labels
        .into_iter()
        .filter(|(_, d)| !d.exemplars.is_empty())
        .map(|(name, d)| (name, d.exemplars))
        .collect();
    if labels.is_empty() {
        return Err(Error::Config {
            location: origin,
            message: "no label has exemplars".into(),
        });
    }
    Ok(labels)
}

/// One knowledge base, compiled.
struct Base {
    /// Label names (sorted) and their prototypes.
    labels: Vec<(String, Vec<Vec<f32>>)>,
    /// Per label, the score it needs.
    thresholds: Vec<f32>,
    /// Group names (sorted) and their labels' indices.
    groups: Vec<(String, Vec<usize>)>,
    settings: Settings,
}

/// What a rule looks for.
#[derive(Debug, Clone, Copy)]
enum Target {
    Label(usize),
    Group(usize),
}

struct Rule {
    name: String,
    base: usize,
    target: Target,
    best: bool,
}

/// A metric of a knowledge base that a projection reads.
#[derive(Debug, Clone)]
struct Metric {
    /// `kb_metric:<kb>:<metric>`, lower case.
    key: String,
    base: usize,
    of: MetricKind,
}

#[derive(Debug, Clone, Copy)]
enum MetricKind {
    BestScore,
    BestMatchedScore,
    /// Positive and negative group indices.
    GroupMargin(usize, usize),
}

/// Compiled knowledge-base rules over one embedder.
pub struct KbSignal {
    model: Stored<Embedder>,
    bases: Vec<Base>,
    rules: Vec<Rule>,
    metrics: Vec<Metric>,
}

/// A request's scores on one knowledge base.
struct Scored {
    labels: Vec<f32>,
    best_label: usize,
    groups: Vec<f32>,
    best_group: Option<usize>,
}

impl KbSignal {
    /// Builds every rule of `rules` (the seed evaluates them all, referenced or not: a probe's
    /// expected signals may name any) and every metric whose key is in `measured` over the
    /// knowledge bases they name, embedding each label's examples once; files resolve against
    /// `base_dir`.
    pub fn new(
        model: impl Into<Stored<Embedder>>,
        kbs: &[KnowledgeBase],
        rules: &[KbRule],
        measured: &std::collections::BTreeSet<String>,
        base_dir: &Path,
    ) -> Result<Self> {
        let model = model.into();
        let mut bases: Vec<Base> = Vec::new();
        let mut index: BTreeMap<usize, usize> = BTreeMap::new();
        // The compiled base of kbs[k], compiled on first use.
        let mut base_of = |k: usize, bases: &mut Vec<Base>| -> Result<usize> {
            if let Some(b) = index.get(&k) {
                return Ok(*b);
            }
            let kb_at = format!("global.model_catalog.kbs[{k}]");
            bases.push(compile_base(&model, &kbs[k], base_dir, &kb_at)?);
            index.insert(k, bases.len() - 1);
            Ok(bases.len() - 1)
        };
        let mut compiled = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            let at = format!("routing.signals.kb[{i}]");
            let Some(k) = kbs.iter().position(|k| k.name == r.kb) else {
                return Err(config_error(
                    &format!("{at}.kb"),
                    format!("unknown knowledge base {:?}", r.kb),
                ));
            };
            let base = base_of(k, &mut bases)?;
            let b = &bases[base];
            let target = match r.target.kind.as_str() {
                "label" => b
                    .labels
                    .iter()
                    .position(|(n, _)| *n == r.target.value)
                    .map(Target::Label),
                "group" => b
                    .groups
                    .iter()
                    .position(|(n, _)| *n == r.target.value)
                    .map(Target::Group),
                _ => None,
            };
            let Some(target) = target else {
                let message = format!(
                    "{} {:?} is not in knowledge base {:?}",
                    r.target.kind, r.target.value, r.kb
                );
                return Err(config_error(&format!("{at}.target"), message));
            };
            compiled.push(Rule {
                name: r.name.clone(),
                base,
                target,
                best: r.best(),
            });
        }
        let mut metrics = Vec::new();
        for (k, kb) in kbs.iter().enumerate() {
            let declared = kb.metrics.iter().map(|m| m.name.as_str());
            for name in ["best_score", "best_matched_score"]
                .into_iter()
                .chain(declared)
            {
                let key = format!("kb_metric:{}:{name}", kb.name).to_lowercase();
                if !measured.contains(&key) {
                    continue;
                }
                let base = base_of(k, &mut bases)?;
                let Some(of) = metric_kind(kb, &bases[base], name) else {
                    let message =
                        format!("metric {name:?} is not a group_margin between two of its groups");
                    return Err(config_error(
                        &format!("global.model_catalog.kbs[{k}].metrics"),
                        message,
                    ));
                };
                metrics.push(Metric { key, base, of });
            }
        }
        Ok(KbSignal {
            model,
            bases,
            rules: compiled,
            metrics,
        })
    }
}

/// What metric `name` of `kb` computes on its compiled base `b`.
fn metric_kind(kb: &KnowledgeBase, b: &Base, name: &str) -> Option<MetricKind> {
    match name {
        "best_score" => Some(MetricKind::BestScore),
        "best_matched_score" => Some(MetricKind::BestMatchedScore),
        _ => {
            let m = kb
                .metrics
                .iter()
                .find(|m| m.name == name && m.kind == "group_margin")?;
            let group = |g: &str| b.groups.iter().position(|(n, _)| n == g);
            Some(MetricKind::GroupMargin(
                group(&m.positive_group)?,
                group(&m.negative_group)?,
            ))
        }
    }
}

fn config_error(location: &str, message: String) -> Error {
    Error::Config {
        location: location.to_string(),
        message,
    }
}

/// Loads and embeds one knowledge base.
fn compile_base(
    model: &Stored<Embedder>,
    kb: &KnowledgeBase,
    base_dir: &Path,
    at: &str,
) -> Result<Base> {
    let labels = labels(kb, base_dir, at)?;
    let settings = Settings::of(&kb.prototype_scoring);
    let all: Vec<&str> = labels
        .iter()
        .flat_map(|(_, ex)| ex.iter().map(String::as_str))
        .collect();
    // Examples are embedded by the model itself: the store keeps request outputs only.
    let mut vectors = Embedder::embed_batch(model, &all)?.into_iter();
    let mut compiled = Vec::with_capacity(labels.len());
    for (name, ex) in &labels {
        let v: Vec<Vec<f32>> = vectors.by_ref().take(ex.len()).collect();
        let keep = prototypes::prototypes(ex, &v, &settings);
        compiled.push((name.clone(), keep.iter().map(|&i| v[i].clone()).collect()));
    }
    let position = |label: &str| compiled.iter().position(|(n, _): &(String, _)| n == label);
    for (label, t) in &kb.label_thresholds {
        if position(label).is_none() {
            return Err(config_error(
                &format!("{at}.label_thresholds"),
                format!("unknown label {label:?} ({t})"),
            ));
        }
    }
    let mut groups = Vec::with_capacity(kb.groups.len());
    for (g, members) in &kb.groups {
        let idx: Option<Vec<usize>> = members.iter().map(|m| position(m)).collect();
        let Some(idx) = idx else {
            return Err(config_error(
                &format!("{at}.groups.{g}"),
                format!("a member of {members:?} is not a label of the knowledge base"),
            ));
        };
        groups.push((g.clone(), idx));
    }
    let thresholds = compiled
        .iter()
        .map(|(n, _)| kb.label_thresholds.get(n).copied().unwrap_or(kb.threshold))
        .collect();
    Ok(Base {
        labels: compiled,
        thresholds,
        groups,
        settings,
    })
}

impl Base {
    /// The value of metric `of` for the scores `s`.
    fn metric(&self, of: MetricKind, s: &Scored) -> f32 {
        match of {
            MetricKind::BestScore => s.labels.get(s.best_label).copied().unwrap_or(0.0),
            MetricKind::BestMatchedScore => (0..s.labels.len())
                .filter(|&l| self.label_matched(s, l))
                .map(|l| s.labels[l])
                .reduce(f32::max)
                .unwrap_or(0.0),
            MetricKind::GroupMargin(pos, neg) => s.groups[pos] - s.groups[neg],
        }
    }

    /// The scores of the query embedding `q`.
    fn score(&self, q: &[f32]) -> Scored {
        let labels: Vec<f32> = self
            .labels
            .iter()
            .map(|(_, protos)| {
                let sims: Vec<f32> = protos.iter().map(|p| dot(q, p)).collect();
                prototypes::score(&sims, Aggregation::Max, &self.settings, None).unwrap_or(0.0)
            })
            .collect();
        let groups: Vec<f32> = self
            .groups
            .iter()
            .map(|(_, m)| m.iter().map(|&l| labels[l]).fold(0.0f32, f32::max))
            .collect();
        Scored {
            best_label: first_max(&labels).unwrap_or(0),
            best_group: first_max(&groups),
            labels,
            groups,
        }
    }

    fn label_matched(&self, s: &Scored, l: usize) -> bool {
        s.labels[l] >= self.thresholds[l]
    }
}

/// The index of the highest value, the first on a tie (names are sorted: the smaller name).
fn first_max(v: &[f32]) -> Option<usize> {
    (0..v.len()).reduce(|best, i| if v[i] > v[best] { i } else { best })
}

impl Rule {
    /// This rule's match on the scores `s` of its knowledge base `b`, with its confidence.
    fn matched(&self, b: &Base, s: &Scored) -> Option<(f32, String)> {
        match self.target {
            Target::Label(l) => {
                let hit = if self.best {
                    s.best_label == l
                } else {
                    b.label_matched(s, l)
                };
                hit.then(|| {
                    (
                        s.labels[l],
                        format!("label {:?} {:.3}", b.labels[l].0, s.labels[l]),
                    )
                })
            }
            Target::Group(g) => {
                let hit = if self.best {
                    s.best_group == Some(g)
                } else {
                    b.groups[g].1.iter().any(|&l| b.label_matched(s, l))
                };
                hit.then(|| {
                    (
                        s.groups[g],
                        format!("group {:?} {:.3}", b.groups[g].0, s.groups[g]),
                    )
                })
            }
        }
    }
}

impl Signal for KbSignal {
    fn kind(&self) -> SignalKind {
        SignalKind::Kb
    }

    fn evaluate(&self, request: &RouteRequest) -> Result<Vec<SignalMatch>> {
        Ok(self.evaluate_batch(&[request])?.remove(0))
    }

    fn evaluate_batch(&self, requests: &[&RouteRequest]) -> Result<Vec<Vec<SignalMatch>>> {
        Ok(super::matches_of(self.evaluate_results(requests)?))
    }

    fn evaluate_results(&self, requests: &[&RouteRequest]) -> Result<Vec<SignalResults>> {
        let any = !self.rules.is_empty() || !self.metrics.is_empty();
        super::text_window::match_embedded(&self.model, requests, any, |q| self.matches(q))
    }
}

impl KbSignal {
    fn matches(&self, q: &[f32]) -> SignalResults {
        let scored: Vec<Scored> = self.bases.iter().map(|b| b.score(q)).collect();
        let values = self
            .metrics
            .iter()
            .map(|m| SignalValue {
                key: m.key.clone(),
                value: f64::from(self.bases[m.base].metric(m.of, &scored[m.base])),
            })
            .collect();
        let matches = self
            .rules
            .iter()
            .filter_map(|r| {
                let (confidence, evidence) = r.matched(&self.bases[r.base], &scored[r.base])?;
                Some(SignalMatch {
                    kind: SignalKind::Kb,
                    name: r.name.clone(),
                    confidence: confidence.clamp(0.0, 1.0),
                    evidence,
                })
            })
            .collect();
        SignalResults { matches, values }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A knowledge base over 2-D unit vectors (default prototype settings).
    fn base(
        labels: &[(&str, &[[f32; 2]])],
        threshold: f32,
        label_thresholds: &[(&str, f32)],
        groups: &[(&str, &[usize])],
    ) -> Base {
        let settings = Settings::default();
        let labels: Vec<(String, Vec<Vec<f32>>)> = labels
            .iter()
            .map(|(name, ex)| {
                let v: Vec<Vec<f32>> = ex.iter().map(|x| x.to_vec()).collect();
                let texts: Vec<String> = (0..v.len()).map(|i| format!("{name}{i}")).collect();
                let keep = prototypes::prototypes(&texts, &v, &settings);
                (
                    name.to_string(),
                    keep.iter().map(|&i| v[i].clone()).collect(),
                )
            })
            .collect();
        let thresholds = labels
            .iter()
            .map(|(n, _)| {
                label_thresholds
                    .iter()
                    .find(|(l, _)| l == n)
                    .map_or(threshold, |(_, t)| *t)
            })
            .collect();
        Base {
            labels,
            thresholds,
            groups: groups
                .iter()
                .map(|(g, m)| (g.to_string(), m.to_vec()))
                .collect(),
            settings,
        }
    }

    fn rule(target: Target, best: bool) -> Rule {
        Rule {
            name: "r".into(),
            base: 0,
            target,
            best,
        }
    }

    /// Worked from `category_kb_classifier.go` / `prototype_scoring.go`: label A has two
    /// prototypes (0.6 apart) scoring 0.75 · 1 + 0.25 · 0.8 = 0.95 for q = (1, 0); B three,
    /// 0.75 · 0.8 + 0.25 · 0.4 = 0.7; C one, 0.6. With threshold 0.65 and A's own 0.96 only B
    /// is matched; group g1 = {A} scores 0.95 and is the best, g2 = {B, C} 0.7 and is matched.
    #[test]
    fn labels_groups_and_rules_score_as_the_seed() {
        let b = base(
            &[
                ("A", &[[1.0, 0.0], [0.6, 0.8]]),
                ("B", &[[0.8, 0.6], [0.0, 1.0], [-0.6, 0.8]]),
                ("C", &[[0.6, -0.8]]),
            ],
            0.65,
            &[("A", 0.96)],
            &[("g1", &[0]), ("g2", &[1, 2])],
        );
        let s = b.score(&[1.0, 0.0]);
        let close = |a: f32, b: f32| (a - b).abs() < 1e-6;
        assert!(close(s.labels[0], 0.95) && close(s.labels[1], 0.7) && close(s.labels[2], 0.6));
        assert_eq!((s.best_label, s.best_group), (0, Some(0)));
        assert!(close(s.groups[0], 0.95) && close(s.groups[1], 0.7));
        let conf = |t: Target, best: bool| rule(t, best).matched(&b, &s).map(|m| m.0);
        let some = |c: Option<f32>, want: f32| c.is_some_and(|c| close(c, want));
        assert!(some(conf(Target::Label(0), true), 0.95));
        assert_eq!(conf(Target::Label(0), false), None);
        assert!(some(conf(Target::Label(1), false), 0.7));
        assert_eq!(conf(Target::Label(1), true), None);
        assert!(some(conf(Target::Group(0), true), 0.95));
        assert_eq!(conf(Target::Group(0), false), None);
        assert!(some(conf(Target::Group(1), false), 0.7));
        assert_eq!(conf(Target::Group(1), true), None);
    }

    /// The metrics of the same scores (`computeMetricValues`): best_score 0.95 (A),
    /// best_matched_score 0.7 (B, the only label at its threshold), group_margin(g1, g2) =
    /// 0.95 − 0.7; with every threshold above every score, best_matched_score is 0; a group
    /// scores 0 at least, so a margin against a group of negative scores is the other's score.
    #[test]
    fn metrics_as_the_seed_computes_them() {
        let labels: [(&str, &[[f32; 2]]); 3] = [
            ("A", &[[1.0, 0.0], [0.6, 0.8]]),
            ("B", &[[0.8, 0.6], [0.0, 1.0], [-0.6, 0.8]]),
            ("C", &[[0.6, -0.8]]),
        ];
        let groups: [(&str, &[usize]); 2] = [("g1", &[0]), ("g2", &[1, 2])];
        let b = base(&labels, 0.65, &[("A", 0.96)], &groups);
        let s = b.score(&[1.0, 0.0]);
        let close = |a: f32, b: f32| (a - b).abs() < 1e-6;
        assert!(close(b.metric(MetricKind::BestScore, &s), 0.95));
        assert!(close(b.metric(MetricKind::BestMatchedScore, &s), 0.7));
        assert!(close(b.metric(MetricKind::GroupMargin(0, 1), &s), 0.25));
        assert!(close(b.metric(MetricKind::GroupMargin(1, 0), &s), -0.25));
        let strict = base(&labels, 0.99, &[], &groups);
        let s = strict.score(&[1.0, 0.0]);
        assert_eq!(strict.metric(MetricKind::BestMatchedScore, &s), 0.0);
        // q = (-1, 0): A scores 0.75 · (−0.6) + 0.25 · (−0.8) = −0.65, B 0.75 · 0.6 +
        // 0.25 · 0.3 = 0.525; g1 is floored at 0, so g1 − g2 = −0.525.
        let s = strict.score(&[-1.0, 0.0]);
        assert!(close(s.labels[0], -0.65) && close(s.labels[1], 0.525));
        assert!(close(
            strict.metric(MetricKind::GroupMargin(0, 1), &s),
            -0.525
        ));
    }

    /// Ties go to the smaller name (`bestScoredName`); labels are kept sorted.
    #[test]
    fn ties_go_to_the_first_name() {
        assert_eq!(first_max(&[0.82, 0.82, 0.79]), Some(0));
        assert_eq!(first_max(&[0.1, 0.3, 0.3]), Some(1));
        assert_eq!(first_max(&[]), None);
    }

    #[test]
    fn the_default_knowledge_bases_are_built_in() {
        let dir = tempfile::tempdir().unwrap();
        for kb in crate::config::default_kbs() {
            assert_eq!(labels_path(&kb, dir.path()), None);
            let l = labels(&kb, dir.path(), "kbs").unwrap();
            assert!(l.len() >= 14, "{}: {}", kb.name, l.len());
            // Every group member is a label of the file.
            for members in kb.groups.values() {
                assert!(members.iter().all(|m| l.iter().any(|(n, _)| n == m)));
            }
        }
        let mut missing = crate::config::default_kbs().remove(0);
        missing.source.path = "knowledge_bases/nowhere/".into();
        let err = labels(&missing, dir.path(), "global.model_catalog.kbs[0]").unwrap_err();
        assert!(err.to_string().contains("no labels.json under"), "{err}");
        std::fs::write(dir.path().join("bad.json"), "{\"labels\": 3}").unwrap();
        missing.source.path = dir.path().display().to_string();
        missing.source.manifest = Some("bad.json".into());
        let err = labels(&missing, dir.path(), "kbs").unwrap_err();
        assert!(
            err.to_string().contains("not a knowledge-base labels file"),
            "{err}"
        );
    }
}
