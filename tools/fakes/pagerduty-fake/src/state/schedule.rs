//! A schedule's final layer: rotation layers (a later layer on top of an earlier one) and overrides (on top of
//! every layer), and the contiguous on-call spans they produce. Times are whole epoch seconds.

/// The most spans one query renders, and the most turns one span is extended back across; a seed whose
/// rotation would need more (one user on a one-second turn for years) is cut there.
const MAX_STEPS: usize = 5000;
/// How far past the instant asked about a span is extended (PagerDuty computes on-calls at most 90 days ahead).
const HORIZON_SECS: i64 = 90 * 24 * 3600;

/// One rotation layer: `users` take turns of `turn` seconds counted from `virtual_start`, between `start`
/// and `end` (open-ended when `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Layer {
    pub(crate) start: i64,
    pub(crate) end: Option<i64>,
    pub(crate) virtual_start: i64,
    pub(crate) turn: i64,
    pub(crate) users: Vec<String>,
}

impl Layer {
    fn covers(&self, t: i64) -> bool {
        t >= self.start && self.end.is_none_or(|end| t < end)
    }

    fn user_at(&self, t: i64) -> Option<&str> {
        if !self.covers(t) || self.users.is_empty() {
            return None;
        }
        let turns = (t - self.virtual_start).div_euclid(self.turn);
        let n = i64::try_from(self.users.len()).unwrap_or(1);
        let index = usize::try_from(turns.rem_euclid(n)).unwrap_or(0);
        self.users.get(index).map(String::as_str)
    }

    /// The latest instant ≤ `t` at which who this layer puts on call may change.
    fn boundary_at_or_before(&self, t: i64) -> i64 {
        let turn = self.virtual_start + (t - self.virtual_start).div_euclid(self.turn) * self.turn;
        [Some(self.start), self.end]
            .into_iter()
            .flatten()
            .filter(|b| *b <= t)
            .fold(turn, i64::max)
    }

    /// The earliest instant > `t` at which who this layer puts on call may change.
    fn boundary_after(&self, t: i64) -> i64 {
        let turn =
            self.virtual_start + ((t - self.virtual_start).div_euclid(self.turn) + 1) * self.turn;
        [Some(self.start), self.end]
            .into_iter()
            .flatten()
            .filter(|b| *b > t)
            .fold(turn, i64::min)
    }
}

/// An override: `user` is on call from `start` until `end`, whatever the layers say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Override {
    pub(crate) id: String,
    pub(crate) user: String,
    pub(crate) start: i64,
    pub(crate) end: i64,
}

/// One contiguous stretch of one user on call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) user: String,
    pub(crate) start: i64,
    pub(crate) end: i64,
}

/// A schedule: its layers, bottom first, and its overrides, oldest first (a newer override wins).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Schedule {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) layers: Vec<Layer>,
    pub(crate) overrides: Vec<Override>,
}

impl Schedule {
    /// Who is on call at second `t`, if anyone.
    pub(crate) fn user_at(&self, t: i64) -> Option<&str> {
        if let Some(o) = self
            .overrides
            .iter()
            .rev()
            .find(|o| o.start <= t && t < o.end)
        {
            return Some(&o.user);
        }
        self.layers.iter().rev().find_map(|l| l.user_at(t))
    }

    fn boundary_at_or_before(&self, t: i64) -> i64 {
        let overrides = self
            .overrides
            .iter()
            .flat_map(|o| [o.start, o.end])
            .filter(|b| *b <= t);
        self.layers
            .iter()
            .map(|l| l.boundary_at_or_before(t))
            .chain(overrides)
            .max()
            .unwrap_or(i64::MIN)
    }

    fn boundary_after(&self, t: i64) -> i64 {
        let overrides = self
            .overrides
            .iter()
            .flat_map(|o| [o.start, o.end])
            .filter(|b| *b > t);
        self.layers
            .iter()
            .map(|l| l.boundary_after(t))
            .chain(overrides)
            .min()
            .unwrap_or(i64::MAX)
    }

    /// The whole span of the user on call at `t` (consecutive turns of the same user merged, as PagerDuty
    /// renders one on-call per contiguous stretch), or `None` when nobody is.
    pub(crate) fn span_at(&self, t: i64) -> Option<Span> {
        let user = self.user_at(t)?.to_owned();
        let mut start = self.boundary_at_or_before(t);
        for _ in 0..MAX_STEPS {
            if start == i64::MIN || self.user_at(start - 1) != Some(user.as_str()) {
                break;
            }
            start = self.boundary_at_or_before(start - 1);
        }
        let mut end = self.boundary_after(t);
        let horizon = t.saturating_add(HORIZON_SECS);
        for _ in 0..MAX_STEPS {
            if end >= horizon || self.user_at(end) != Some(user.as_str()) {
                break;
            }
            end = self.boundary_after(end);
        }
        Some(Span { user, start, end })
    }

    /// Every span that overlaps `[since, until]` (the span at `since` when they are equal), in time order.
    pub(crate) fn spans(&self, since: i64, until: i64) -> Vec<Span> {
        let mut spans = Vec::new();
        let mut t = since;
        while spans.len() < MAX_STEPS {
            match self.span_at(t) {
                Some(span) => {
                    t = span.end;
                    spans.push(span);
                }
                None => t = self.boundary_after(t),
            }
            if t >= until || t == i64::MAX {
                break;
            }
        }
        spans
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3600;

    fn rotation(users: &[&str]) -> Schedule {
        Schedule {
            id: "PS".into(),
            name: "S".into(),
            layers: vec![Layer {
                start: 0,
                end: None,
                virtual_start: 0,
                turn: 8 * H,
                users: users.iter().map(|u| (*u).to_owned()).collect(),
            }],
            overrides: Vec::new(),
        }
    }

    fn span(user: &str, start: i64, end: i64) -> Span {
        Span {
            user: user.into(),
            start,
            end,
        }
    }

    #[test]
    fn users_take_turns_and_a_span_runs_from_turn_to_turn() {
        let s = rotation(&["a", "b", "c"]);
        assert_eq!(s.span_at(H), Some(span("a", 0, 8 * H)));
        assert_eq!(s.span_at(8 * H), Some(span("b", 8 * H, 16 * H)));
        assert_eq!(s.span_at(25 * H), Some(span("a", 24 * H, 32 * H)));
        assert_eq!(s.span_at(-1), None);
    }

    #[test]
    fn consecutive_turns_of_one_user_are_one_span() {
        let s = rotation(&["a", "a", "b"]);
        assert_eq!(s.span_at(9 * H), Some(span("a", 0, 16 * H)));
        assert_eq!(
            s.spans(H, 20 * H),
            vec![span("a", 0, 16 * H), span("b", 16 * H, 24 * H)]
        );
    }

    #[test]
    fn an_override_wins_and_splits_the_span_it_covers() {
        let mut s = rotation(&["a", "b"]);
        s.overrides.push(Override {
            id: "PO".into(),
            user: "z".into(),
            start: 2 * H,
            end: 3 * H,
        });
        assert_eq!(
            s.spans(0, 8 * H),
            vec![
                span("a", 0, 2 * H),
                span("z", 2 * H, 3 * H),
                span("a", 3 * H, 8 * H)
            ]
        );
    }

    #[test]
    fn a_later_layer_lies_on_top_of_an_earlier_one() {
        let mut s = rotation(&["a"]);
        s.layers.push(Layer {
            start: 4 * H,
            end: Some(6 * H),
            virtual_start: 0,
            turn: H,
            users: vec!["x".into(), "y".into()],
        });
        assert_eq!(s.user_at(3 * H), Some("a"));
        assert_eq!(s.user_at(4 * H), Some("x"));
        assert_eq!(s.user_at(5 * H), Some("y"));
        let after = s.span_at(7 * H).unwrap();
        assert_eq!((after.user.as_str(), after.start), ("a", 6 * H));
        assert!(after.end >= 7 * H + HORIZON_SECS, "{after:?}");
        assert_eq!(s.span_at(7 * H).unwrap().start, 6 * H);
    }
}
