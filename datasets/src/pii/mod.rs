//! Synthetic PII token-classification data: presidio-evaluator templates filled with fake
//! identities and seeded generators, spans converted to BIO tags on the base model's
//! word pieces. Columns: `text`, `spans` (list of `{start, end, label}`, char offsets),
//! `tokens`, `tags` (same length), `group` (template id), `source`.

pub mod bio;
pub mod generators;
pub mod templates;

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, ListArray, RecordBatch, StringArray, StructArray};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, Field, Fields, Schema};

use crate::error::{Error, Result};
use crate::hashing::{stable_hash, SeededRng};
use crate::manifest::{bump, Counts, OutputRecord};
use crate::parquet_io::write_parquet_atomic;
use crate::sources::sha256_file;
use crate::split::{stratified_split, Split};

use bio::{bio_tags, PieceTokenizer};
use templates::{FilledText, PiiSources, Span};

/// Column: the sentence.
pub const TEXT: &str = "text";
/// Column: entity spans (char offsets).
pub const SPANS: &str = "spans";
/// Column: word pieces.
pub const TOKENS: &str = "tokens";
/// Column: BIO tag per word piece.
pub const TAGS: &str = "tags";
/// Column: template id.
pub const GROUP: &str = "group";
/// Column: source file.
pub const SOURCE: &str = "source";

/// How many times each template with placeholders is filled.
pub const FILLS_PER_TEMPLATE: usize = 20;

/// One token-classification row.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PiiRow {
    /// Template id (`presidio-template:L<line>`).
    pub group: String,
    /// Sentence.
    pub text: String,
    /// Entity spans.
    pub spans: Vec<Span>,
    /// Word pieces.
    pub tokens: Vec<String>,
    /// BIO tags.
    pub tags: Vec<String>,
    /// Source file.
    pub source: String,
}

/// Group id of a template line.
pub fn template_group(line: usize) -> String {
    format!("presidio-template:L{line:03}")
}

/// Fills every template [`FILLS_PER_TEMPLATE`] times (once when it has no placeholder) with a
/// generator seeded per template and fill, dropping exact duplicate sentences.
pub fn generate(sources: &PiiSources, seed: u64) -> Result<Vec<FilledText>> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for t in &sources.templates {
        let fills = if templates::placeholders(&t.text).is_empty() {
            1
        } else {
            FILLS_PER_TEMPLATE
        };
        for k in 0..fills {
            let mut rng = SeededRng::new(stable_hash(seed, format!("{}:{k}", t.line).as_bytes()));
            let filled = sources.fill(t, &mut rng)?;
            if seen.insert(filled.text.clone()) {
                out.push(filled);
            }
        }
    }
    Ok(out)
}

/// Tokenises and tags filled texts. Returns the rows and the number of tagged tokens that
/// stick out of their span (expected 0).
pub fn tag(
    filled: Vec<FilledText>,
    tokenizer: &PieceTokenizer,
    source: &str,
) -> Result<(Vec<PiiRow>, usize)> {
    let mut partial = 0;
    let mut rows = Vec::with_capacity(filled.len());
    for f in filled {
        let pieces = tokenizer.pieces(&f.text)?;
        let (tags, p) = bio_tags(&pieces.offsets, &f.spans);
        partial += p;
        rows.push(PiiRow {
            group: template_group(f.template_line),
            text: f.text,
            spans: f.spans,
            tokens: pieces.tokens,
            tags,
            source: source.to_string(),
        });
    }
    Ok((rows, partial))
}

/// Stratified 80/10/10 split by template (each template's fills are spread over the splits).
pub fn split_rows(rows: Vec<PiiRow>, seed: u64) -> BTreeMap<Split, Vec<PiiRow>> {
    let strata: Vec<&str> = rows.iter().map(|r| r.group.as_str()).collect();
    let keys: Vec<&str> = rows.iter().map(|r| r.text.as_str()).collect();
    let assignment = stratified_split(seed, &strata, &keys);
    let mut out: BTreeMap<Split, Vec<PiiRow>> = BTreeMap::new();
    for (row, split) in rows.into_iter().zip(assignment) {
        out.entry(split).or_default().push(row);
    }
    out
}

fn span_fields() -> Fields {
    Fields::from(vec![
        Field::new("start", DataType::Int64, false),
        Field::new("end", DataType::Int64, false),
        Field::new("label", DataType::Utf8, false),
    ])
}

fn string_list_type() -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Utf8, false)))
}

/// The Arrow schema of a PII file.
pub fn schema() -> Schema {
    Schema::new(vec![
        Field::new(TEXT, DataType::Utf8, false),
        Field::new(
            SPANS,
            DataType::List(Arc::new(Field::new(
                "item",
                DataType::Struct(span_fields()),
                false,
            ))),
            false,
        ),
        Field::new(TOKENS, string_list_type(), false),
        Field::new(TAGS, string_list_type(), false),
        Field::new(GROUP, DataType::Utf8, false),
        Field::new(SOURCE, DataType::Utf8, false),
    ])
}

fn string_list(values: Vec<&[String]>) -> ListArray {
    let lens = values.iter().map(|v| v.len());
    let offsets = OffsetBuffer::from_lengths(lens);
    let flat = StringArray::from_iter_values(values.iter().flat_map(|v| v.iter()));
    ListArray::new(
        Arc::new(Field::new("item", DataType::Utf8, false)),
        offsets,
        Arc::new(flat),
        None,
    )
}

/// Builds a batch from rows (in the given order).
pub fn to_batch(rows: &[PiiRow]) -> Result<RecordBatch> {
    let flat: Vec<&Span> = rows.iter().flat_map(|r| r.spans.iter()).collect();
    let spans_struct = StructArray::new(
        span_fields(),
        vec![
            Arc::new(Int64Array::from_iter_values(
                flat.iter().map(|s| s.start as i64),
            )) as ArrayRef,
            Arc::new(Int64Array::from_iter_values(
                flat.iter().map(|s| s.end as i64),
            )),
            Arc::new(StringArray::from_iter_values(
                flat.iter().map(|s| s.label.as_str()),
            )),
        ],
        None,
    );
    let spans = ListArray::new(
        Arc::new(Field::new("item", DataType::Struct(span_fields()), false)),
        OffsetBuffer::from_lengths(rows.iter().map(|r| r.spans.len())),
        Arc::new(spans_struct),
        None,
    );
    RecordBatch::try_new(
        Arc::new(schema()),
        vec![
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r.text.as_str()),
            )),
            Arc::new(spans),
            Arc::new(string_list(
                rows.iter().map(|r| r.tokens.as_slice()).collect(),
            )),
            Arc::new(string_list(
                rows.iter().map(|r| r.tags.as_slice()).collect(),
            )),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r.group.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r.source.as_str()),
            )),
        ],
    )
    .map_err(|e| Error::Parquet {
        path: "<in memory>".into(),
        message: e.to_string(),
    })
}

/// Writes `pii_<split>.parquet` for every split (rows sorted by group, text) and returns the
/// output records and `split -> entity type -> spans` counts (plus `rows`).
pub fn write_splits(
    dir: &Path,
    mut splits: BTreeMap<Split, Vec<PiiRow>>,
) -> Result<(Vec<OutputRecord>, Counts)> {
    let mut outputs = Vec::new();
    let mut counts = BTreeMap::new();
    for split in Split::ALL {
        let rows = splits.entry(split).or_default();
        rows.sort();
        let file = format!("pii_{}.parquet", split.name());
        let path = dir.join(&file);
        write_parquet_atomic(&path, &to_batch(rows)?, &[])?;
        for r in rows.iter() {
            bump(&mut counts, split.name(), "rows");
            for s in &r.spans {
                bump(&mut counts, split.name(), &format!("span:{}", s.label));
            }
        }
        outputs.push(OutputRecord {
            file,
            sha256: sha256_file(&path)?,
            rows: rows.len(),
        });
    }
    Ok((outputs, counts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_seeded_and_deduplicated() {
        let src = templates::tests::fixture();
        let a = generate(&src, 1).unwrap();
        let b = generate(&src, 1).unwrap();
        let c = generate(&src, 2).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        // the entity-free template is filled once
        assert_eq!(
            a.iter().filter(|f| f.text == "No entities here.").count(),
            1
        );
        let texts: HashSet<&str> = a.iter().map(|f| f.text.as_str()).collect();
        assert_eq!(texts.len(), a.len());
    }

    #[test]
    fn batch_has_the_documented_columns() {
        let row = PiiRow {
            group: template_group(7),
            text: "hi Anna".into(),
            spans: vec![Span {
                start: 3,
                end: 7,
                label: "PERSON".into(),
            }],
            tokens: vec!["hi".into(), "anna".into()],
            tags: vec!["O".into(), "B-PERSON".into()],
            source: "s".into(),
        };
        let batch = to_batch(&[row.clone(), row]).unwrap();
        let names: Vec<String> = batch
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        assert_eq!(
            names,
            ["text", "spans", "tokens", "tags", "group", "source"]
        );
        assert_eq!(batch.num_rows(), 2);
        assert_eq!(template_group(7), "presidio-template:L007");
    }
}
