//! The order status state machine every status change goes through
//! (seed 002). An order moves forward along
//! `PENDING → PAID → ACCEPTED → PREPARING → READY → COMPLETED`, possibly
//! skipping steps (a POS that only reports "finalized" moves PAID straight
//! to COMPLETED), or is CANCELLED before it is completed. COMPLETED and
//! CANCELLED are final.

/// Every status, in order.
pub const STATUSES: [&str; 7] = [
    PENDING, PAID, ACCEPTED, PREPARING, READY, COMPLETED, CANCELLED,
];
/// Created, not paid yet (a QRIS charge is waiting).
pub const PENDING: &str = "PENDING";
pub const PAID: &str = "PAID";
pub const ACCEPTED: &str = "ACCEPTED";
pub const PREPARING: &str = "PREPARING";
pub const READY: &str = "READY";
pub const COMPLETED: &str = "COMPLETED";
pub const CANCELLED: &str = "CANCELLED";

/// Statuses a partner (or POS) may push; PENDING and PAID belong to
/// Plugboard's own payment flow.
pub const PARTNER_PUSHABLE: [&str; 5] = [ACCEPTED, PREPARING, READY, COMPLETED, CANCELLED];

/// Why a transition is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("unknown status {0:?}; one of PENDING, PAID, ACCEPTED, PREPARING, READY, COMPLETED, CANCELLED")]
    Unknown(String),
    #[error("an order that is {from} cannot become {to}")]
    NotAllowed { from: String, to: String },
    #[error("{0} cannot be set by a partner; partners may set ACCEPTED, PREPARING, READY, COMPLETED or CANCELLED")]
    NotPushable(String),
}

fn rank(status: &str) -> Option<usize> {
    [PENDING, PAID, ACCEPTED, PREPARING, READY, COMPLETED]
        .iter()
        .position(|s| *s == status)
}

/// Normalises a status as sent (case-insensitive) to its canonical name.
pub fn parse(status: &str) -> Result<&'static str, Refused> {
    let upper = status.trim().to_ascii_uppercase();
    STATUSES
        .iter()
        .copied()
        .find(|s| *s == upper)
        .ok_or_else(|| Refused::Unknown(status.to_string()))
}

/// Whether `from → to` is a transition (the same status is not one; the
/// service treats it as an idempotent repeat).
pub fn check(from: &str, to: &str) -> Result<(), Refused> {
    let refuse = || Refused::NotAllowed {
        from: from.to_string(),
        to: to.to_string(),
    };
    if from == COMPLETED || from == CANCELLED {
        return Err(refuse());
    }
    if to == CANCELLED {
        return Ok(());
    }
    match (rank(from), rank(to)) {
        (Some(a), Some(b)) if b > a => Ok(()),
        _ => Err(refuse()),
    }
}

/// Checks that a partner may push `to`.
pub fn pushable(to: &str) -> Result<(), Refused> {
    if PARTNER_PUSHABLE.contains(&to) {
        Ok(())
    } else {
        Err(Refused::NotPushable(to.to_string()))
    }
}

/// The event type a change to `status` is announced as (`order.paid`, …).
pub fn event_type(status: &str) -> String {
    format!("order.{}", status.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_moves_and_skips_are_allowed() {
        assert!(check(PAID, ACCEPTED).is_ok());
        assert!(check(PAID, COMPLETED).is_ok(), "POS reports only finalized");
        assert!(check(PENDING, PAID).is_ok());
        assert!(check(READY, COMPLETED).is_ok());
    }

    #[test]
    fn backward_moves_and_final_states_are_refused() {
        assert!(check(READY, PREPARING).is_err());
        assert!(check(COMPLETED, CANCELLED).is_err());
        assert!(check(CANCELLED, PAID).is_err());
        assert!(check(PAID, PAID).is_err(), "a repeat is not a transition");
        assert!(check(PAID, PENDING).is_err());
    }

    #[test]
    fn cancellation_is_possible_until_completion() {
        for from in [PENDING, PAID, ACCEPTED, PREPARING, READY] {
            assert!(check(from, CANCELLED).is_ok(), "{from}");
        }
    }

    #[test]
    fn partners_cannot_mark_orders_paid() {
        assert!(pushable(PAID).is_err());
        assert!(pushable(PENDING).is_err());
        assert!(pushable(COMPLETED).is_ok());
    }

    #[test]
    fn statuses_parse_case_insensitively() {
        assert_eq!(parse("completed").unwrap(), COMPLETED);
        assert!(matches!(parse("DONE"), Err(Refused::Unknown(_))));
        assert_eq!(event_type(PAID), "order.paid");
    }
}
