//! Semantic cache: responses keyed by prompt embedding, hit when a new prompt is similar enough.
//!
//! [`SemanticCache::lookup`] returns the stored value of the most similar live entry whose cosine
//! similarity reaches the threshold; entries older than the TTL are dead and dropped lazily.
//! The cache holds at most `capacity` entries and evicts the least recently used (inserted or
//! hit) one. All methods take `&self` and are safe to call from many threads. Lookup is a linear
//! scan (`capacity × dim` multiply-adds), fine for thousands of entries.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A monotonic time source, so tests can move time by hand.
pub trait Clock: Send + Sync {
    /// Time elapsed since some fixed origin.
    fn now(&self) -> Duration;
}

/// The real monotonic clock.
pub struct SystemClock {
    origin: Instant,
}

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock {
            origin: Instant::now(),
        }
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
}

/// A clock that only moves when told to (for tests).
#[derive(Default)]
pub struct ManualClock {
    millis: AtomicU64,
}

impl ManualClock {
    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        self.millis
            .fetch_add(by.as_millis() as u64, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_millis(self.millis.load(Ordering::SeqCst))
    }
}

/// A cache hit.
#[derive(Debug, Clone, PartialEq)]
pub struct CacheHit<V> {
    /// The stored value.
    pub value: V,
    /// Cosine similarity between the query and the entry's key.
    pub similarity: f32,
}

struct Entry<V> {
    key: Vec<f32>,
    value: V,
    inserted: Duration,
    last_used: u64,
}

struct Inner<V> {
    entries: Vec<Entry<V>>,
    tick: u64,
}

/// A thread-safe, size-bounded, TTL-expiring semantic cache.
pub struct SemanticCache<V> {
    inner: Mutex<Inner<V>>,
    threshold: f32,
    ttl: Duration,
    capacity: usize,
    clock: Arc<dyn Clock>,
}

fn normalized(v: &[f32]) -> Vec<f32> {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > 0.0 {
        v.iter().map(|x| x / n).collect()
    } else {
        v.to_vec()
    }
}

impl<V: Clone> SemanticCache<V> {
    /// A cache hitting at cosine ≥ `threshold`, forgetting entries after `ttl`, holding at most
    /// `capacity` entries (at least 1).
    pub fn new(threshold: f32, ttl: Duration, capacity: usize) -> Self {
        Self::with_clock(threshold, ttl, capacity, Arc::new(SystemClock::default()))
    }

    /// Like [`SemanticCache::new`] with an explicit clock.
    pub fn with_clock(
        threshold: f32,
        ttl: Duration,
        capacity: usize,
        clock: Arc<dyn Clock>,
    ) -> Self {
        SemanticCache {
            inner: Mutex::new(Inner {
                entries: Vec::new(),
                tick: 0,
            }),
            threshold,
            ttl,
            capacity: capacity.max(1),
            clock,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<V>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn drop_expired(&self, inner: &mut Inner<V>, now: Duration) {
        inner
            .entries
            .retain(|e| now.saturating_sub(e.inserted) < self.ttl);
    }

    /// The value of the most similar live entry with similarity ≥ threshold, if any.
    pub fn lookup(&self, embedding: &[f32]) -> Option<CacheHit<V>> {
        let q = normalized(embedding);
        let now = self.clock.now();
        let mut inner = self.lock();
        self.drop_expired(&mut inner, now);
        inner.tick += 1;
        let tick = inner.tick;
        let best = inner
            .entries
            .iter_mut()
            .filter(|e| e.key.len() == q.len())
            .map(|e| (e.key.iter().zip(&q).map(|(a, b)| a * b).sum::<f32>(), e))
            .filter(|(s, _)| *s >= self.threshold)
            .max_by(|a, b| a.0.total_cmp(&b.0))?;
        let (similarity, entry) = best;
        entry.last_used = tick;
        Some(CacheHit {
            value: entry.value.clone(),
            similarity,
        })
    }

    /// Stores `value` under `embedding`, evicting the least recently used entry when full.
    pub fn insert(&self, embedding: &[f32], value: V) {
        let key = normalized(embedding);
        let now = self.clock.now();
        let mut inner = self.lock();
        self.drop_expired(&mut inner, now);
        if inner.entries.len() >= self.capacity {
            if let Some(lru) = inner
                .entries
                .iter()
                .enumerate()
                .min_by_key(|(_, e)| e.last_used)
                .map(|(i, _)| i)
            {
                inner.entries.swap_remove(lru);
            }
        }
        inner.tick += 1;
        let tick = inner.tick;
        inner.entries.push(Entry {
            key,
            value,
            inserted: now,
            last_used: tick,
        });
    }

    /// Number of stored entries (expired ones included until the next call drops them).
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether the cache holds no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes every entry.
    pub fn clear(&self) {
        self.lock().entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(clock: &Arc<ManualClock>, capacity: usize) -> SemanticCache<&'static str> {
        SemanticCache::with_clock(0.9, Duration::from_secs(60), capacity, clock.clone())
    }

    #[test]
    fn hit_needs_similarity_at_threshold() {
        let clock = Arc::new(ManualClock::default());
        let c = cache(&clock, 10);
        c.insert(&[1.0, 0.0], "east");
        c.insert(&[0.0, 2.0], "north");
        // cos([1, 0.4], [1, 0]) = 1/sqrt(1.16) = 0.928 >= 0.9.
        let hit = c.lookup(&[1.0, 0.4]).unwrap();
        assert_eq!(hit.value, "east");
        assert!((hit.similarity - 0.928_476_7).abs() < 1e-5);
        // cos([1, 0.6], [1, 0]) = 0.857 < 0.9 and cos(.., [0, 1]) = 0.514: miss.
        assert_eq!(c.lookup(&[1.0, 0.6]), None);
        // The more similar entry wins.
        assert_eq!(c.lookup(&[0.1, 1.0]).unwrap().value, "north");
        // Wrong dimension never matches.
        assert_eq!(c.lookup(&[1.0, 0.0, 0.0]), None);
    }

    #[test]
    fn entries_expire_after_ttl() {
        let clock = Arc::new(ManualClock::default());
        let c = cache(&clock, 10);
        c.insert(&[1.0, 0.0], "a");
        clock.advance(Duration::from_secs(59));
        assert!(c.lookup(&[1.0, 0.0]).is_some());
        clock.advance(Duration::from_secs(1));
        assert!(c.lookup(&[1.0, 0.0]).is_none());
        assert!(c.is_empty());
    }

    #[test]
    fn least_recently_used_is_evicted() {
        let clock = Arc::new(ManualClock::default());
        let c = cache(&clock, 2);
        c.insert(&[1.0, 0.0, 0.0], "x");
        c.insert(&[0.0, 1.0, 0.0], "y");
        assert!(c.lookup(&[1.0, 0.0, 0.0]).is_some()); // x is now more recent than y
        c.insert(&[0.0, 0.0, 1.0], "z"); // evicts y
        assert_eq!(c.len(), 2);
        assert!(c.lookup(&[0.0, 1.0, 0.0]).is_none());
        assert_eq!(c.lookup(&[1.0, 0.0, 0.0]).unwrap().value, "x");
        assert_eq!(c.lookup(&[0.0, 0.0, 1.0]).unwrap().value, "z");
        c.clear();
        assert!(c.is_empty());
    }

    #[test]
    fn concurrent_use_is_safe() {
        let c = Arc::new(SemanticCache::<usize>::new(
            0.99,
            Duration::from_secs(60),
            64,
        ));
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let c = c.clone();
                std::thread::spawn(move || {
                    for i in 0..100 {
                        let mut v = vec![0.0f32; 8];
                        v[(t + i) % 8] = 1.0;
                        c.insert(&v, t);
                        assert!(c.lookup(&v).is_some());
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert!(c.len() <= 64);
    }
}
