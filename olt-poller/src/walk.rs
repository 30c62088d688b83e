//! The GETBULK table walker, sans-IO: it says which request to send next and folds each response
//! in. Several columns are walked together (one varbind per unfinished column per request), and
//! max-repetitions adapts: it halves on tooBig, on a timeout and on a response larger than the
//! size budget, shrinks to what an agent that caps varbinds actually returns, and grows back by
//! a quarter after each full, small response.

use crate::error::OltError;
use crate::oid::Oid;
use crate::value::VarBind;

/// SNMP error-status tooBig.
pub const TOO_BIG: u32 = 1;

/// Walk limits and the adaptive max-repetitions range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalkLimits {
    /// First max-repetitions.
    pub initial_repetitions: u32,
    /// Upper bound of max-repetitions (never 0: a C300 V2.1.0 hangs on 0).
    pub max_repetitions: u32,
    /// Responses whose estimated size exceeds this make the walker back off.
    pub max_response_bytes: usize,
    /// Rows per column before the walk is refused (a looping or hostile agent).
    pub max_rows: usize,
}

impl Default for WalkLimits {
    fn default() -> Self {
        Self {
            initial_repetitions: 32,
            max_repetitions: 64,
            max_response_bytes: 16 * 1024,
            max_rows: 200_000,
        }
    }
}

/// One GETBULK to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkRequest {
    /// Start OIDs, one per column still being walked.
    pub oids: Vec<Oid>,
    /// Which column each OID belongs to.
    pub columns: Vec<usize>,
    /// max-repetitions (≥ 1).
    pub max_repetitions: u32,
}

/// Walk progress and results for a set of columns.
#[derive(Debug)]
pub struct TableWalk {
    roots: Vec<Oid>,
    cursors: Vec<Option<Oid>>,
    rows: Vec<Vec<VarBind>>,
    reps: u32,
    limits: WalkLimits,
    backoffs: u64,
}

impl TableWalk {
    /// Starts a walk of the given column roots.
    pub fn new(roots: Vec<Oid>, limits: WalkLimits) -> Self {
        let max = limits.max_repetitions.max(1);
        let cursors = roots.iter().cloned().map(Some).collect();
        let rows = roots.iter().map(|_| Vec::new()).collect();
        Self {
            roots,
            cursors,
            rows,
            reps: limits.initial_repetitions.clamp(1, max),
            limits: WalkLimits {
                max_repetitions: max,
                ..limits
            },
            backoffs: 0,
        }
    }

    /// The next request, or `None` when every column is finished.
    pub fn next_request(&self) -> Option<BulkRequest> {
        let (columns, oids): (Vec<usize>, Vec<Oid>) = self
            .cursors
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.clone().map(|o| (i, o)))
            .unzip();
        (!oids.is_empty()).then_some(BulkRequest {
            oids,
            columns,
            max_repetitions: self.reps,
        })
    }

    /// Current max-repetitions.
    pub fn repetitions(&self) -> u32 {
        self.reps
    }

    /// How often the walker backed off.
    pub fn backoffs(&self) -> u64 {
        self.backoffs
    }

    /// A request timed out: large responses may be what the agent or path cannot carry.
    pub fn on_timeout(&mut self) {
        self.back_off(self.reps / 2);
    }

    fn back_off(&mut self, to: u32) {
        let to = to.max(1);
        if to < self.reps {
            self.reps = to;
            self.backoffs += 1;
        }
    }

    /// Folds a response to `req` in. Errors are fatal for the walk: an error status other than
    /// tooBig, tooBig at max-repetitions 1, an OID that does not increase, too many rows, or an
    /// empty response (no progress).
    pub fn on_response(
        &mut self,
        req: &BulkRequest,
        error_status: u32,
        error_index: u32,
        varbinds: Vec<VarBind>,
    ) -> Result<(), OltError> {
        if error_status == TOO_BIG {
            if self.reps == 1 {
                return Err(OltError::Peer("tooBig at max-repetitions 1".into()));
            }
            self.back_off(self.reps / 2);
            return Ok(());
        }
        if error_status != 0 {
            return Err(OltError::ErrorStatus {
                status: error_status,
                index: error_index,
            });
        }
        if varbinds.is_empty() {
            return Err(OltError::Peer("empty GETBULK response".into()));
        }
        let n = req.oids.len();
        let received = varbinds.len();
        let bytes: usize = varbinds.iter().map(VarBind::encoded_len).sum();
        let mut finished_now = false;
        for (i, vb) in varbinds.into_iter().enumerate() {
            let col = req.columns[i % n];
            let Some(cursor) = &self.cursors[col] else {
                continue;
            };
            if vb.value.is_exception() || !vb.oid.is_under(&self.roots[col]) {
                self.cursors[col] = None;
                finished_now = true;
                continue;
            }
            if vb.oid <= *cursor {
                return Err(OltError::Peer(format!(
                    "OID not increasing: {} after {cursor}",
                    vb.oid
                )));
            }
            if self.rows[col].len() >= self.limits.max_rows {
                return Err(OltError::TooManyRows(self.limits.max_rows));
            }
            self.cursors[col] = Some(vb.oid.clone());
            self.rows[col].push(vb);
        }
        let requested = n.saturating_mul(self.reps as usize);
        if bytes > self.limits.max_response_bytes {
            // Scale to the budget: the agent or the path may drop what is larger.
            let fit = (self.reps as usize * self.limits.max_response_bytes) / bytes.max(1);
            self.back_off(u32::try_from(fit).unwrap_or(u32::MAX));
        } else if received < requested && !finished_now {
            // The agent caps varbinds per response (snmpsim: 64): ask for what it gives.
            self.back_off(u32::try_from(received / n).unwrap_or(u32::MAX));
        } else if received >= requested && self.reps < self.limits.max_repetitions {
            self.reps = (self.reps + self.reps.div_ceil(4)).min(self.limits.max_repetitions);
        }
        Ok(())
    }

    /// The rows of each column, in walk order.
    pub fn into_rows(self) -> Vec<Vec<VarBind>> {
        self.rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::SnmpValue;

    fn oid(s: &str) -> Oid {
        s.parse().unwrap()
    }

    fn vb(s: &str, v: i64) -> VarBind {
        VarBind {
            oid: oid(s),
            value: SnmpValue::Integer(v),
        }
    }

    #[test]
    fn two_columns_interleaved_until_both_leave_their_subtree() {
        let mut w = TableWalk::new(vec![oid("1.1"), oid("1.2")], WalkLimits::default());
        let r = w.next_request().unwrap();
        assert_eq!(r.oids, vec![oid("1.1"), oid("1.2")]);
        let reply = vec![
            vb("1.1.5", 1),
            vb("1.2.5", 2),
            vb("1.1.6", 3),
            vb("1.2.6", 4),
            vb("1.2.5", 5), // column 1 left its subtree (next column's first row)
            vb("1.2.7", 6),
        ];
        w.on_response(&r, 0, 0, reply).unwrap();
        let r2 = w.next_request().unwrap();
        assert_eq!(r2.oids, vec![oid("1.2.7")]);
        assert_eq!(r2.columns, vec![1]);
        w.on_response(&r2, 0, 0, vec![vb("1.2.8", 7), vb("2.0", 0)])
            .unwrap();
        assert!(w.next_request().is_none());
        let rows = w.into_rows();
        assert_eq!(rows[0].len(), 2);
        assert_eq!(rows[1].len(), 4);
    }

    #[test]
    fn end_of_mib_inside_a_response_ends_the_column() {
        let mut w = TableWalk::new(vec![oid("1.1")], WalkLimits::default());
        let r = w.next_request().unwrap();
        let end = VarBind {
            oid: oid("1.1.9"),
            value: SnmpValue::EndOfMibView,
        };
        w.on_response(&r, 0, 0, vec![vb("1.1.1", 1), end.clone(), end])
            .unwrap();
        assert!(w.next_request().is_none());
    }

    #[test]
    fn too_big_halves_and_fails_at_one() {
        let limits = WalkLimits {
            initial_repetitions: 8,
            ..WalkLimits::default()
        };
        let mut w = TableWalk::new(vec![oid("1.1")], limits);
        for expect in [4, 2, 1] {
            let r = w.next_request().unwrap();
            w.on_response(&r, TOO_BIG, 0, vec![]).unwrap();
            assert_eq!(w.repetitions(), expect);
        }
        let r = w.next_request().unwrap();
        assert!(w.on_response(&r, TOO_BIG, 0, vec![]).is_err());
    }

    #[test]
    fn capped_agent_and_oversized_responses_shrink_repetitions() {
        let limits = WalkLimits {
            initial_repetitions: 32,
            max_response_bytes: 10_000,
            ..WalkLimits::default()
        };
        let mut w = TableWalk::new(vec![oid("1.1"), oid("1.2")], limits);
        let r = w.next_request().unwrap();
        // 20 varbinds for a request of 64: the agent caps at 20.
        let reply = (0..10)
            .flat_map(|i| [vb(&format!("1.1.{i}"), 0), vb(&format!("1.2.{i}"), 0)])
            .collect();
        w.on_response(&r, 0, 0, reply).unwrap();
        assert_eq!(w.repetitions(), 10);
        let r = w.next_request().unwrap();
        let big = SnmpValue::Octets(vec![b'x'; 900]);
        let reply = (10..20)
            .flat_map(|i| {
                [1, 2].map(|c| VarBind {
                    oid: oid(&format!("1.{c}.{i}")),
                    value: big.clone(),
                })
            })
            .collect();
        w.on_response(&r, 0, 0, reply).unwrap();
        assert!(
            w.repetitions() < 10 && w.repetitions() >= 1,
            "{}",
            w.repetitions()
        );
    }

    #[test]
    fn non_increasing_and_error_status_are_errors() {
        let mut w = TableWalk::new(vec![oid("1.1")], WalkLimits::default());
        let r = w.next_request().unwrap();
        assert!(
            w.on_response(&r, 0, 0, vec![vb("1.1.5", 0), vb("1.1.5", 0)])
                .is_err()
        );
        let mut w = TableWalk::new(vec![oid("1.1")], WalkLimits::default());
        let r = w.next_request().unwrap();
        assert!(matches!(
            w.on_response(&r, 5, 1, vec![vb("1.1.5", 0)]),
            Err(OltError::ErrorStatus { status: 5, .. })
        ));
        let mut w = TableWalk::new(vec![oid("1.1")], WalkLimits::default());
        let r = w.next_request().unwrap();
        assert!(w.on_response(&r, 0, 0, vec![]).is_err());
    }

    #[test]
    fn full_small_responses_grow_repetitions_to_the_cap() {
        let limits = WalkLimits {
            initial_repetitions: 4,
            max_repetitions: 6,
            ..WalkLimits::default()
        };
        let mut w = TableWalk::new(vec![oid("1.1")], limits);
        let mut next = 0;
        for _ in 0..4 {
            let r = w.next_request().unwrap();
            let reply = (0..r.max_repetitions)
                .map(|_| {
                    next += 1;
                    vb(&format!("1.1.{next}"), 0)
                })
                .collect();
            w.on_response(&r, 0, 0, reply).unwrap();
        }
        assert_eq!(w.repetitions(), 6);
        w.on_timeout();
        assert_eq!(w.repetitions(), 3);
        assert_eq!(w.backoffs(), 1);
    }
}
