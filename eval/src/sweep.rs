//! Threshold sweeps: `PARAM=start:end:steps` re-runs the replay with one config value set to
//! each of `steps` evenly spaced values from `start` to `end` (inclusive).
//!
//! `PARAM` is a path into the config YAML: dot-separated keys, where a key may carry a
//! selector `[i]` (list index) or `[NAME]` (the list element whose `name` is NAME), e.g.
//! `routing.decisions[math].priority`, `routing.signals.embeddings[code].threshold`,
//! `global.model_catalog.modules.classifier.domain.threshold`. The final key may be absent
//! (it is created), every other step must exist.

use serde_norway::{Mapping, Value};

use crate::error::{EvalError, Result};

/// A parsed `--sweep` argument.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepSpec {
    /// The config path.
    pub param: String,
    /// First value.
    pub start: f64,
    /// Last value.
    pub end: f64,
    /// Number of values (≥ 2, or 1 for just `start`).
    pub steps: usize,
}

impl std::str::FromStr for SweepSpec {
    type Err = EvalError;

    fn from_str(s: &str) -> Result<Self> {
        let bad = |why: &str| {
            EvalError::Invalid(format!(
                "--sweep `{s}`: {why} (expected PARAM=start:end:steps)"
            ))
        };
        let (param, range) = s.rsplit_once('=').ok_or_else(|| bad("no `=`"))?;
        let parts: Vec<&str> = range.split(':').collect();
        if parts.len() != 3 || param.is_empty() {
            return Err(bad("malformed"));
        }
        let num = |x: &str| {
            x.trim()
                .parse::<f64>()
                .map_err(|_| bad(&format!("`{x}` is not a number")))
        };
        let (start, end) = (num(parts[0])?, num(parts[1])?);
        let steps: usize = parts[2]
            .trim()
            .parse()
            .map_err(|_| bad("steps is not a positive integer"))?;
        if steps == 0 {
            return Err(bad("steps must be at least 1"));
        }
        parse_path(param).map_err(|e| bad(&e))?;
        Ok(SweepSpec {
            param: param.to_string(),
            start,
            end,
            steps,
        })
    }
}

impl SweepSpec {
    /// The swept values.
    pub fn values(&self) -> Vec<f64> {
        if self.steps == 1 {
            return vec![self.start];
        }
        (0..self.steps)
            .map(|i| self.start + (self.end - self.start) * i as f64 / (self.steps - 1) as f64)
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Selector {
    Index(usize),
    Name(String),
}

#[derive(Debug, Clone, PartialEq)]
struct Segment {
    key: String,
    selector: Option<Selector>,
}

fn parse_path(path: &str) -> std::result::Result<Vec<Segment>, String> {
    let mut segs = Vec::new();
    for part in path.split('.') {
        let (key, selector) = match part.split_once('[') {
            Some((k, rest)) => {
                let inner = rest
                    .strip_suffix(']')
                    .ok_or_else(|| format!("`{part}`: missing `]`"))?;
                let sel = match inner.parse::<usize>() {
                    Ok(i) => Selector::Index(i),
                    Err(_) => Selector::Name(inner.to_string()),
                };
                (k, Some(sel))
            }
            None => (part, None),
        };
        if key.is_empty() {
            return Err(format!("empty key in `{path}`"));
        }
        segs.push(Segment {
            key: key.to_string(),
            selector,
        });
    }
    Ok(segs)
}

/// Returns `yaml` with `path` set to `value` (written as an integer when it is integral).
pub fn set_param(yaml: &str, path: &str, value: f64) -> Result<String> {
    let mut doc: Value = serde_norway::from_str(yaml)
        .map_err(|e| EvalError::Invalid(format!("config is not YAML: {e}")))?;
    let segs = parse_path(path).map_err(EvalError::Invalid)?;
    let new = if value.fract() == 0.0 && value.abs() < 9e15 {
        Value::from(value as i64)
    } else {
        Value::from(value)
    };
    let mut cur = &mut doc;
    let last = segs.len() - 1;
    for (i, seg) in segs.iter().enumerate() {
        let here = segs[..=i]
            .iter()
            .map(|s| s.key.as_str())
            .collect::<Vec<_>>()
            .join(".");
        let map: &mut Mapping = cur.as_mapping_mut().ok_or_else(|| {
            EvalError::Invalid(format!("--sweep {path}: `{here}` is not inside a mapping"))
        })?;
        let key = Value::from(seg.key.clone());
        if i == last && seg.selector.is_none() {
            map.insert(key, new);
            return serde_norway::to_string(&doc).map_err(|e| EvalError::Invalid(e.to_string()));
        }
        let next = map.get_mut(&key).ok_or_else(|| {
            EvalError::Invalid(format!(
                "--sweep {path}: `{here}` does not exist in the config"
            ))
        })?;
        cur = match &seg.selector {
            None => next,
            Some(sel) => {
                let list = next.as_sequence_mut().ok_or_else(|| {
                    EvalError::Invalid(format!("--sweep {path}: `{here}` is not a list"))
                })?;
                let found = match sel {
                    Selector::Index(ix) => list.get_mut(*ix),
                    Selector::Name(n) => list
                        .iter_mut()
                        .find(|v| v.get("name").and_then(Value::as_str) == Some(n.as_str())),
                };
                found.ok_or_else(|| {
                    EvalError::Invalid(format!("--sweep {path}: no element {sel:?} in `{here}`"))
                })?
            }
        };
        if i == last {
            *cur = new;
            return serde_norway::to_string(&doc).map_err(|e| EvalError::Invalid(e.to_string()));
        }
    }
    unreachable!("the loop returns at the last segment")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_spec_and_values() {
        let s: SweepSpec = "routing.decisions[math].priority=0:100:5".parse().unwrap();
        assert_eq!(s.values(), vec![0.0, 25.0, 50.0, 75.0, 100.0]);
        assert!("x=1:2".parse::<SweepSpec>().is_err());
        assert!("x=1:2:0".parse::<SweepSpec>().is_err());
        assert!("x[=1:2:3".parse::<SweepSpec>().is_err());
    }

    #[test]
    fn sets_named_list_element_and_nested_keys() {
        let yaml = "routing:\n  decisions:\n    - name: a\n      priority: 1\n    - name: b\n      priority: 2\n";
        let out = set_param(yaml, "routing.decisions[b].priority", 50.0).unwrap();
        let v: Value = serde_norway::from_str(&out).unwrap();
        assert_eq!(v["routing"]["decisions"][1]["priority"], Value::from(50));
        assert_eq!(v["routing"]["decisions"][0]["priority"], Value::from(1));
        let out = set_param(yaml, "routing.decisions[0].threshold", 0.25).unwrap();
        let v: Value = serde_norway::from_str(&out).unwrap();
        assert_eq!(v["routing"]["decisions"][0]["threshold"], Value::from(0.25));
        assert!(set_param(yaml, "routing.decisions[zzz].priority", 1.0).is_err());
        assert!(set_param(yaml, "routing.nothing.x", 1.0).is_err());
    }
}
