//! Scenario 4, sync: the first mirror of 10,000 TaurusDB accounts into StarRocks against
//! applying the same statements directly, and a no-op reconcile over them (time, statements
//! sent).
//!
//! It needs the sync reconciler and the MySQL engine, neither of which is in this build; the
//! scenario reports itself as not run until they are. Wiring it means: seed 10,000 accounts on
//! a source MariaDB, run the first reconcile onto a second MariaDB and time it, replay its
//! statements directly on a third (or the emptied second) for the reference, then reconcile
//! again and count the statements it sends (the target wants no write).

use crate::report::{Bound, Scenario};

pub const NOT_RUN: &str = "not run: the sync reconciler and the MySQL engine are not yet \
                           available in this build of starkeep";

pub fn run() -> Scenario {
    Scenario::new(
        4,
        "Sync",
        "the first mirror of 10,000 accounts from a source MariaDB into a second one, and a \
         no-op reconcile over the same 10,000 (time, and statements sent)",
        "the first mirror's statements applied directly to the target, in the same run",
    )
    .not_run(
        NOT_RUN,
        &[
            "first mirror of 10,000 accounts ≤ 1.5× the direct apply",
            "no-op reconcile of 10,000 accounts under 1 s, with no write statement",
        ],
        &[
            ("first mirror ÷ direct apply", Some(Bound::AtMost(1.5))),
            ("no-op reconcile ÷ 1 s budget", Some(Bound::AtMost(1.0))),
        ],
    )
}
