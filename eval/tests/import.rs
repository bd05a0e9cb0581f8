//! RouteLLM and RouterBench importers.

mod common;

use common::*;
use eval::import::{import, ImportFormat};
use eval::log_reader::RequestLog;
use eval::log_schema::LogRow;

fn rows(p: &std::path::Path) -> Vec<LogRow> {
    RequestLog::open(p, 100)
        .unwrap()
        .flat_map(|b| b.unwrap())
        .collect()
}

#[test]
fn routellm_csvs_become_one_log_with_categories() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir(&src).unwrap();
    write(
        &src,
        "mmlu_anatomy.csv",
        "prompt,weak/m,strong\n\"Q1\nA. x\",True,True\nQ2,False,1\n",
    );
    write(&src, "mmlu_law.csv", "prompt,weak/m,strong\nQ3,,0.0\n");
    let out = dir.path().join("log.parquet");
    let s = import(ImportFormat::RouteLlm, &[src], &out).unwrap();
    assert_eq!((s.rows, s.null_quality), (3, 1));
    assert_eq!(s.models, vec!["weak/m", "strong"]);
    let r = rows(&out);
    assert_eq!(r[0].request_id, "anatomy-0");
    assert_eq!(r[0].prompt.as_deref(), Some("Q1\nA. x"));
    assert_eq!(r[0].category.as_deref(), Some("anatomy"));
    assert_eq!(
        (r[1].outcomes[0].quality, r[1].outcomes[1].quality),
        (Some(0.0), Some(1.0))
    );
    assert_eq!(r[2].category.as_deref(), Some("law"));
    assert_eq!(r[2].outcomes[0].quality, None, "empty cell = unscored");
}

#[test]
fn routellm_bad_cell_names_file_row_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "mmlu_x.csv", "prompt,m\nQ,True\nQ,maybe\n");
    let err = import(ImportFormat::RouteLlm, &[f], &dir.path().join("o.parquet"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("mmlu_x.csv")
            && err.contains("row 1")
            && err.contains("`m`")
            && err.contains("maybe"),
        "{err}"
    );
    assert!(!dir.path().join("o.parquet").exists(), "no partial output");
    let f = write(dir.path(), "noprompt.csv", "question,m\nQ,True\n");
    let err = import(ImportFormat::RouteLlm, &[f], &dir.path().join("o.parquet"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("missing column `prompt`"), "{err}");
}

#[test]
fn routerbench_wide_layout_keeps_costs() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "rb.csv",
        "sample_id,prompt,eval_name,gpt-4,gpt-4|total_cost,llama,llama|total_cost,oracle_model_to_route_to\n\
         s1,P1,mmlu-x,1.0,0.003,0.0,0.0001,gpt-4\n\
         s2,P2,gsm8k,0.5,0.004,,0.0002,gpt-4\n",
    );
    let out = dir.path().join("rb.parquet");
    let s = import(ImportFormat::RouterBench, &[f], &out).unwrap();
    assert_eq!(s.models, vec!["gpt-4", "llama"]);
    let r = rows(&out);
    assert_eq!(
        (r[0].request_id.as_str(), r[0].category.as_deref()),
        ("s1", Some("mmlu-x"))
    );
    assert_eq!(
        (r[0].outcomes[0].quality, r[0].outcomes[0].cost),
        (Some(1.0), Some(0.003))
    );
    assert_eq!(
        (r[1].outcomes[1].quality, r[1].outcomes[1].cost),
        (None, Some(0.0002))
    );
    let bad = write(
        dir.path(),
        "bad.csv",
        "sample_id,prompt,m|total_cost\ns,P,0.1\n",
    );
    let err = import(
        ImportFormat::RouterBench,
        &[bad],
        &dir.path().join("b.parquet"),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("missing column `m`"), "{err}");
}

#[test]
fn routerbench_parquet_input() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("rb.parquet");
    write_parquet(
        &src,
        vec![
            ("sample_id", strs(&[Some("a")])),
            ("prompt", strs(&[Some("P")])),
            ("m", f64s(&[Some(0.25)])),
            ("m|total_cost", f64s(&[Some(0.5)])),
        ],
    );
    let out = dir.path().join("log.parquet");
    import(ImportFormat::RouterBench, &[src], &out).unwrap();
    let r = rows(&out);
    assert_eq!(
        (r[0].outcomes[0].quality, r[0].outcomes[0].cost),
        (Some(0.25), Some(0.5))
    );
}
