//! Whether a request's decision is settled by its rule signals alone: the same evaluation as
//! routing, over a table in which every model-based signal (and every kind routelab does not
//! compute) is *unknown*: it may match or not, with any confidence in `[0, 1]`. Rule trees
//! evaluate in three values with confidence intervals, projection scores as intervals, and a
//! decision is settled when it surely matches and surely outranks every decision that may
//! match. Such a request routes offline exactly as a router with the real models would.

/// What is known of one slot, or of a rule tree: whether it can match, whether it must, and
/// the interval its confidence lies in when it matches.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Tri {
    /// It may match.
    pub can: bool,
    /// It surely matches.
    pub must: bool,
    /// Lowest confidence when it matches.
    pub lo: f32,
    /// Highest confidence when it matches.
    pub hi: f32,
}

impl Tri {
    /// Surely not matched.
    pub const NO: Tri = Tri {
        can: false,
        must: false,
        lo: 0.0,
        hi: 0.0,
    };
    /// Anything.
    pub const UNKNOWN: Tri = Tri {
        can: true,
        must: false,
        lo: 0.0,
        hi: 1.0,
    };

    /// Surely matched with confidence `c`.
    pub fn known(c: f32) -> Tri {
        Tri {
            can: true,
            must: true,
            lo: c,
            hi: c,
        }
    }

    /// A known table value (negative: no match).
    pub fn of(v: f32) -> Tri {
        if v < 0.0 {
            Tri::NO
        } else {
            Tri::known(v)
        }
    }
}

/// How the routed decision of a request depends on its model signals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// This decision wins whatever the model signals say.
    Decision(String),
    /// No decision can match: the default model, whatever the model signals say.
    NoDecision,
    /// The model signals could change the decision.
    Open,
}

/// What the ranking of one decision needs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ranked<'a> {
    pub tri: Tri,
    pub tier: i64,
    pub priority: i64,
    pub name: &'a str,
}

/// Whether `e` surely outranks `d` under one ordering (`tiered`, else `by_confidence` or
/// priority first), as [`super::Router`]'s `better` / `better_tiered` order them.
fn surely_beats(e: &Ranked<'_>, d: &Ranked<'_>, tiered: bool, by_confidence: bool) -> bool {
    let point_equal = e.tri.lo == e.tri.hi && d.tri.lo == d.tri.hi && e.tri.lo == d.tri.lo;
    let conf_surely = e.tri.lo > d.tri.hi;
    let after_conf = |then: &dyn Fn() -> bool| conf_surely || (point_equal && then());
    let by_name = || e.name < d.name;
    if tiered {
        if e.tier != d.tier {
            return e.tier < d.tier;
        }
        return after_conf(&|| e.priority > d.priority || (e.priority == d.priority && by_name()));
    }
    if by_confidence {
        return after_conf(&|| e.priority > d.priority || (e.priority == d.priority && by_name()));
    }
    if e.priority != d.priority {
        return e.priority > d.priority;
    }
    after_conf(&by_name)
}

/// The settled outcome of decisions whose rule trees evaluated to `ranked`.
pub(crate) fn settle(ranked: &[Ranked<'_>], by_confidence: bool) -> Settled {
    let possible: Vec<&Ranked<'_>> = ranked.iter().filter(|r| r.tri.can).collect();
    if possible.is_empty() {
        return Settled::NoDecision;
    }
    for e in possible.iter().filter(|r| r.tri.must) {
        // Tiers decide when a matching decision has one: surely so when `e` has one, surely
        // not when no tiered decision can match; otherwise `e` must win under both orders.
        let tiered_sure = e.tier > 0 || possible.iter().any(|d| d.tier > 0 && d.tri.must);
        let untiered_sure = !possible.iter().any(|d| d.tier > 0);
        let wins = |tiered: bool| {
            possible
                .iter()
                .filter(|d| d.name != e.name)
                .all(|d| surely_beats(e, d, tiered, by_confidence))
        };
        let settled = match (tiered_sure, untiered_sure) {
            (true, _) => wins(true),
            (false, true) => wins(false),
            (false, false) => wins(true) && wins(false),
        };
        if settled {
            return Settled::Decision(e.name.to_string());
        }
    }
    Settled::Open
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(name: &str, tri: Tri, tier: i64, priority: i64) -> Ranked<'_> {
        Ranked {
            tri,
            tier,
            priority,
            name,
        }
    }

    #[test]
    fn a_sure_match_that_outranks_every_possible_one_is_settled() {
        // Tier 1 unknown outranks a sure tier-2 match: open.
        let ranked = [r("a", Tri::UNKNOWN, 1, 0), r("b", Tri::known(0.9), 2, 0)];
        assert_eq!(settle(&ranked, false), Settled::Open);
        // The tier-1 decision surely does not match: b is settled.
        let ranked = [r("a", Tri::NO, 1, 0), r("b", Tri::known(0.9), 2, 0)];
        assert_eq!(settle(&ranked, false), Settled::Decision("b".into()));
        // Same tier: b's confidence is above anything c may reach.
        let c = Tri {
            can: true,
            must: false,
            lo: 0.2,
            hi: 0.6,
        };
        let ranked = [r("b", Tri::known(0.9), 2, 0), r("c", c, 2, 5)];
        assert_eq!(settle(&ranked, false), Settled::Decision("b".into()));
        let c = Tri { hi: 0.95, ..c };
        let ranked = [r("b", Tri::known(0.9), 2, 0), r("c", c, 2, 5)];
        assert_eq!(settle(&ranked, false), Settled::Open);
        assert_eq!(settle(&[r("a", Tri::NO, 0, 0)], false), Settled::NoDecision);
    }

    #[test]
    fn untiered_priority_and_equal_confidences() {
        // Priority strategy: higher priority wins whatever the confidences.
        let ranked = [
            r("low", Tri::UNKNOWN, 0, 1),
            r("high", Tri::known(0.1), 0, 9),
        ];
        assert_eq!(settle(&ranked, false), Settled::Decision("high".into()));
        // Confidence strategy: an unknown may beat it.
        assert_eq!(settle(&ranked, true), Settled::Open);
        // Equal known confidences and priorities: the smaller name.
        let ranked = [r("b", Tri::known(1.0), 0, 1), r("a", Tri::known(1.0), 0, 1)];
        assert_eq!(settle(&ranked, false), Settled::Decision("a".into()));
    }
}
