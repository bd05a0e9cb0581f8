//! YAML path -> line number map, so validation errors can name the line of the offending node.
//!
//! Paths are written like serde_norway writes them: `routing.decisions[2].rules.conditions[1]`.
//! A mapping entry maps to the line of its key; a sequence item to the line of the item.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// Line numbers (1-based) of every node of a YAML document, by path.
#[derive(Debug, Default, Clone)]
pub struct LineMap {
    lines: HashMap<String, usize>,
}

enum Frame {
    Map { path: String, key: Option<String> },
    Seq { path: String, index: usize },
}

struct Builder {
    stack: Vec<Frame>,
    lines: HashMap<String, usize>,
}

impl Builder {
    /// Path of the node that starts now, or `None` if it is a mapping key.
    fn next_node_path(&mut self, line: usize) -> Option<String> {
        match self.stack.last_mut() {
            None => Some(String::new()),
            Some(Frame::Seq { path, index }) => {
                let p = format!("{path}[{index}]");
                *index += 1;
                self.lines.entry(p.clone()).or_insert(line);
                Some(p)
            }
            Some(Frame::Map { path, key }) => key.take().map(|k| join(path, &k)),
        }
    }
}

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let line = mark.line();
        match ev {
            // A mapping key: the entry's line is the key's line.
            Event::Scalar(value, ..) if self.next_node_path(line).is_none() => {
                if let Some(Frame::Map { path, key }) = self.stack.last_mut() {
                    let p = join(path, &value);
                    self.lines.entry(p).or_insert(line);
                    *key = Some(value);
                }
            }
            Event::Scalar(..) => {}
            Event::Alias(_) => {
                self.next_node_path(line);
            }
            Event::MappingStart(..) => {
                let path = self.next_node_path(line).unwrap_or_default();
                self.lines.entry(path.clone()).or_insert(line);
                self.stack.push(Frame::Map { path, key: None });
            }
            Event::SequenceStart(..) => {
                let path = self.next_node_path(line).unwrap_or_default();
                self.lines.entry(path.clone()).or_insert(line);
                self.stack.push(Frame::Seq { path, index: 0 });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            _ => {}
        }
    }
}

impl LineMap {
    /// Builds the map; a document yaml-rust2 cannot parse gives an empty map (serde_norway
    /// reports the syntax error itself).
    pub fn build(text: &str) -> Self {
        let mut b = Builder {
            stack: Vec::new(),
            lines: HashMap::new(),
        };
        let mut parser = Parser::new_from_str(text);
        if parser.load(&mut b, false).is_err() {
            return LineMap::default();
        }
        LineMap { lines: b.lines }
    }

    /// The line of `path`, or of its nearest ancestor that has one.
    pub fn line(&self, path: &str) -> Option<usize> {
        let mut p = path;
        loop {
            if let Some(&l) = self.lines.get(p) {
                return Some(l);
            }
            let cut = p.rfind(['.', '['])?;
            p = &p[..cut];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::LineMap;

    #[test]
    fn maps_paths_to_lines() {
        let y = "a:\n  b: 1\n  list:\n    - x: 1\n      y: [1, 2]\n    - name: z\nc: {d: 2}\n";
        let m = LineMap::build(y);
        assert_eq!(m.line("a"), Some(1));
        assert_eq!(m.line("a.b"), Some(2));
        assert_eq!(m.line("a.list[0]"), Some(4));
        assert_eq!(m.line("a.list[0].y"), Some(5));
        assert_eq!(m.line("a.list[0].y[1]"), Some(5));
        assert_eq!(m.line("a.list[1].name"), Some(6));
        assert_eq!(m.line("c.d"), Some(7));
        assert_eq!(m.line("a.list[1].missing"), Some(6));
        assert_eq!(m.line("nope"), None);
    }
}
