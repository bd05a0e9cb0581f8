//! RouteLLM (MMLU and GSM8K layouts), RouterBench and MT-Bench importers, and the contaminated-prompts filter.

mod common;

use common::*;
use eval::import::{import, Filter, ImportFormat};
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
    let s = import(ImportFormat::RouteLlm, &[src], &out, &Filter::default()).unwrap();
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
    let err = import(
        ImportFormat::RouteLlm,
        &[f],
        &dir.path().join("o.parquet"),
        &Filter::default(),
    )
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
    let err = import(
        ImportFormat::RouteLlm,
        &[f],
        &dir.path().join("o.parquet"),
        &Filter::default(),
    )
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
    let s = import(ImportFormat::RouterBench, &[f], &out, &Filter::default()).unwrap();
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
        &Filter::default(),
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
    import(ImportFormat::RouterBench, &[src], &out, &Filter::default()).unwrap();
    let r = rows(&out);
    assert_eq!(
        (r[0].outcomes[0].quality, r[0].outcomes[0].cost),
        (Some(0.25), Some(0.5))
    );
}

#[test]
fn routellm_gsm8k_response_columns_are_not_models() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "gsm8k_responses.csv",
        "prompt,gpt-4,gpt-4_response,mixtral,mixtral_response\nQ1,True,\"The answer is 4\",False,\"5\"\nQ2,False,x,True,y\n",
    );
    let out = dir.path().join("o.parquet");
    let s = import(ImportFormat::RouteLlm, &[f], &out, &Filter::default()).unwrap();
    assert_eq!(s.models, vec!["gpt-4", "mixtral"]);
    assert_eq!(s.not_imported, vec!["gpt-4_response", "mixtral_response"]);
    let r = rows(&out);
    assert_eq!(r[0].request_id, "gsm8k_responses-0");
    assert_eq!(
        (r[0].outcomes[0].quality, r[0].outcomes[1].quality),
        (Some(1.0), Some(0.0))
    );
}

#[test]
fn contaminated_prompts_are_dropped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let c = write(
        dir.path(),
        "contaminated_prompts.jsonl",
        "{\"train_prompt\": \"T\", \"eval_prompt\": \"Q2\", \"train_idx\": 1, \"eval_idx\": 2}\n",
    );
    let f = write(
        dir.path(),
        "mmlu_a.csv",
        "prompt,m\nQ1,True\nQ2,False\nQ3,True\n",
    );
    let filter = Filter {
        contaminated: eval::import::contaminated::read(&c).unwrap(),
    };
    let out = dir.path().join("o.parquet");
    let s = import(ImportFormat::RouteLlm, &[f], &out, &filter).unwrap();
    assert_eq!((s.rows, s.contaminated), (2, 1));
    let ids: Vec<String> = rows(&out).into_iter().map(|r| r.request_id).collect();
    assert_eq!(ids, ["a-0", "a-2"], "ids keep the source row");
    let bad = write(dir.path(), "bad.jsonl", "{\"train_prompt\": \"T\"}\n\n{}\n");
    let err = eval::import::contaminated::read(&bad)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("bad.jsonl") && err.contains("row 1") && err.contains("eval_prompt"),
        "{err}"
    );
}

#[test]
fn mtbench_turn_one_scores_become_quality() {
    let dir = tempfile::tempdir().unwrap();
    let q = write(
        dir.path(),
        "question.jsonl",
        "{\"question_id\": 81, \"category\": \"writing\", \"turns\": [\"Write a poem.\", \"Shorter.\"]}\n\
         {\"question_id\": 82, \"category\": \"math\", \"turns\": [\"2+2?\"]}\n",
    );
    let j = write(
        dir.path(),
        "gpt-4_single.jsonl",
        "{\"question_id\": 81, \"model\": \"gpt-4\", \"judge\": [\"gpt-4\", \"single-v1\"], \"score\": 10, \"turn\": 1}\n\
         {\"question_id\": 81, \"model\": \"llama\", \"judge\": [\"gpt-4\", \"single-v1\"], \"score\": 4, \"turn\": 1}\n\
         {\"question_id\": 81, \"model\": \"gpt-4\", \"judge\": [\"gpt-4\", \"single-v1\"], \"score\": 9, \"turn\": 2}\n\
         {\"question_id\": 82, \"model\": \"gpt-4\", \"judge\": [\"gpt-4\", \"single-v1\"], \"score\": -1, \"turn\": 1}\n",
    );
    let out = dir.path().join("o.parquet");
    let s = import(
        ImportFormat::MtBench,
        &[j.clone(), q.clone()],
        &out,
        &Filter::default(),
    )
    .unwrap();
    assert_eq!(s.models, vec!["gpt-4", "llama"]);
    assert_eq!(
        (s.rows, s.null_quality),
        (2, 2),
        "-1 and the missing llama score"
    );
    assert_eq!(
        s.not_imported,
        vec!["1 judgements of turns after the first"]
    );
    let r = rows(&out);
    assert_eq!(r[0].request_id, "mtbench-81");
    assert_eq!(r[0].prompt.as_deref(), Some("Write a poem."));
    assert_eq!(r[0].category.as_deref(), Some("writing"));
    assert_eq!(r[0].outcomes[0].quality, Some(1.0));
    assert!((r[0].outcomes[1].quality.unwrap() - 3.0 / 9.0).abs() < 1e-12);
    assert_eq!(r[1].outcomes[0].quality, None);
    // A score out of range names the file, line and field.
    let bad = write(
        dir.path(),
        "bad_single.jsonl",
        "{\"question_id\": 81, \"model\": \"m\", \"score\": 5, \"turn\": 1}\n{\"question_id\": 82, \"model\": \"m\", \"score\": 11, \"turn\": 1}\n",
    );
    let err = import(ImportFormat::MtBench, &[bad, q], &out, &Filter::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("bad_single.jsonl") && err.contains("row 2") && err.contains("`score`"),
        "{err}"
    );
}
