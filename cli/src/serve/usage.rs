//! The `usage` of a streamed answer: the upstream reports it in one of the stream's
//! server-sent events (OpenAI sends it in the last chunk when asked with
//! `stream_options.include_usage`), so the relayed chunks are scanned as they pass, and what was
//! found is handed over when the stream ends or the client goes away.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::Stream;
use serde_json::Value;

/// Finds `usage` objects in SSE `data:` lines across chunk boundaries.
#[derive(Default)]
pub struct UsageScan {
    partial: Vec<u8>,
    usage: Option<Value>,
}

impl UsageScan {
    /// Reads one chunk of the stream.
    pub fn feed(&mut self, chunk: &[u8]) {
        self.partial.extend_from_slice(chunk);
        while let Some(end) = self.partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=end).collect();
            self.line(&line);
        }
    }

    fn line(&mut self, line: &[u8]) {
        let Ok(text) = std::str::from_utf8(line) else {
            return;
        };
        let Some(data) = text.trim().strip_prefix("data:") else {
            return;
        };
        let Ok(event) = serde_json::from_str::<Value>(data.trim()) else {
            return;
        };
        if let Some(u) = event.get("usage").filter(|u| u.is_object()) {
            self.usage = Some(u.clone());
        }
    }

    /// The last `usage` seen (a final line without its newline included).
    pub fn finish(mut self) -> Option<Value> {
        let rest = std::mem::take(&mut self.partial);
        self.line(&rest);
        self.usage
    }
}

/// Calls `on_end` once with the scan: at the stream's end, or when dropped before it (the
/// client left).
struct Guard<F: FnOnce(Option<Value>)> {
    scan: UsageScan,
    on_end: Option<F>,
}

impl<F: FnOnce(Option<Value>)> Guard<F> {
    fn fire(&mut self) {
        if let Some(f) = self.on_end.take() {
            f(std::mem::take(&mut self.scan).finish());
        }
    }
}

impl<F: FnOnce(Option<Value>)> Drop for Guard<F> {
    fn drop(&mut self) {
        self.fire();
    }
}

/// A stream whose chunks pass through a [`UsageScan`].
struct Watched<S, F: FnOnce(Option<Value>)> {
    inner: Pin<Box<S>>,
    guard: Guard<F>,
}

impl<S, E, F> Stream for Watched<S, F>
where
    S: Stream<Item = Result<Bytes, E>>,
    F: FnOnce(Option<Value>) + Unpin,
{
    type Item = Result<Bytes, E>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        match this.inner.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(b))) => {
                this.guard.scan.feed(&b);
                Poll::Ready(Some(Ok(b)))
            }
            // Before the end reaches the client, so what it sends next comes after.
            Poll::Ready(None) => {
                this.guard.fire();
                Poll::Ready(None)
            }
            other => other,
        }
    }
}

/// `stream`, passing each chunk through a [`UsageScan`]; `on_end` gets the usage found.
pub fn watch<S, E, F>(stream: S, on_end: F) -> impl Stream<Item = Result<Bytes, E>>
where
    S: Stream<Item = Result<Bytes, E>>,
    F: FnOnce(Option<Value>) + Unpin,
{
    Watched {
        inner: Box::pin(stream),
        guard: Guard {
            scan: UsageScan::default(),
            on_end: Some(on_end),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_is_found_across_chunk_boundaries() {
        let mut s = UsageScan::default();
        s.feed(b"data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}],\"usage\":null}\n\ndata: {\"choices\":[],\"us");
        s.feed(b"age\":{\"prompt_tokens\":12,\"completion_tokens\":3}}\n\ndata: [DONE]\n\n");
        let u = s.finish().unwrap();
        assert_eq!(u["prompt_tokens"], 12);
        assert_eq!(u["completion_tokens"], 3);
        let mut s = UsageScan::default();
        s.feed(b"data: {\"choices\":[]}\n");
        assert!(s.finish().is_none());
    }

    #[test]
    fn the_callback_runs_at_the_end_of_the_stream() {
        use futures::StreamExt;
        let got = std::sync::Arc::new(std::sync::Mutex::new(None));
        let g = got.clone();
        let chunks: Vec<Result<Bytes, ()>> = vec![Ok(Bytes::from_static(
            b"data: {\"usage\":{\"prompt_tokens\":5}}\n",
        ))];
        let s = watch(futures::stream::iter(chunks), move |u| {
            *g.lock().unwrap() = Some(u)
        });
        let collected: Vec<_> = futures::executor::block_on(s.collect::<Vec<_>>());
        assert_eq!(collected.len(), 1);
        let usage = got.lock().unwrap().clone().unwrap().unwrap();
        assert_eq!(usage["prompt_tokens"], 5);
    }
}
