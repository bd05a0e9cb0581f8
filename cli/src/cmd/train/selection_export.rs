//! What a selector export holds beside the selector: a routing config that uses it and the
//! held-out test split as a request log.

use std::path::Path;

use eval::log_schema::ModelField;
use eval::log_writer::RequestLogWriter;
use router_core::config::Calibration;
use router_core::export::selector::SELECTOR_CONFIG_FILE;
use router_core::selection::Rule;
use serde_json::json;
use train::selection::SelectionConfig;

use crate::cmd::selection_data::LogData;

/// Writes `routing.yaml`: one fallback decision whose `algorithm.type` is the method, its
/// modelRefs the log's models, the selector in this directory.
pub fn write_routing_config(
    dir: &Path,
    cfg: &SelectionConfig,
    models: &[String],
    weak_strong: Option<&(String, String)>,
    embedding_model: &Path,
    rule: Rule,
    calibration: Option<&Calibration>,
) -> anyhow::Result<()> {
    let method = cfg.method.as_str();
    let default_model = weak_strong.map_or(&models[0], |w| &w.0);
    let mut block = json!({"pretrained_path": "."});
    match rule {
        Rule::Threshold(t) => block["threshold"] = json!(t),
        Rule::CostWeight(l) => block["cost_weight"] = json!(l),
    }
    if let Some(c) = calibration {
        block["calibration"] = serde_json::to_value(c)?;
    }
    let embedding = std::path::absolute(embedding_model)?;
    let config = json!({
        "version": "v0.3",
        "providers": {
            "defaults": {"default_model": default_model},
            "models": models.iter().map(|m| json!({"name": m})).collect::<Vec<_>>(),
        },
        "global": {
            "model_catalog": {"embeddings": {"semantic": {"bert_model_path": embedding}}},
            "router": {"model_selection": {"ml": {method: block}}},
        },
        "routing": {
            "decisions": [{
                "name": format!("learned-{method}"),
                "description": format!("{method} selector trained by routelab"),
                "rules": {"operator": "AND", "conditions": []},
                "modelRefs": models.iter().map(|m| json!({"model": m})).collect::<Vec<_>>(),
                "algorithm": {"type": method},
            }],
        },
    });
    let header = format!(
        "# Written by `routelab train --task selection --method {method}`: the selector in this\n\
         # directory picks one modelRef per request. Set `threshold` (two models) or `cost_weight`\n\
         # with `routelab calibrate`; map another copy of the embedding model with\n\
         # `--model embedding=DIR`.\n"
    );
    let yaml = serde_norway::to_string(&config)?;
    std::fs::write(dir.join(SELECTOR_CONFIG_FILE), header + &yaml)?;
    Ok(())
}

/// Writes the rows `rows` of `data` (a split) as a request log at `path`.
pub fn write_split_log(path: &Path, data: &LogData, rows: &[usize]) -> anyhow::Result<()> {
    let with_messages = rows.iter().any(|&r| data.rows[r].messages.is_some());
    let mut w = RequestLogWriter::create(path, &data.models, &ModelField::ALL, with_messages)?;
    for &r in rows {
        w.push(data.rows[r].clone())?;
    }
    w.finish()?;
    Ok(())
}
