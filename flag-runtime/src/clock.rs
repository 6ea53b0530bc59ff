//! The clock of the staleness check: milliseconds, monotonic, and cheap.
//!
//! Every check compares "now" with the refresh deadline, so the clock is on the hot path.
//! `Instant::now()` (`CLOCK_MONOTONIC`) costs about 20 ns on common VMs; Linux's
//! `CLOCK_MONOTONIC_COARSE` (read through `rustix`, from the vDSO) costs a few, at the
//! resolution of the kernel tick (1 to 4 ms): plenty for a TTL measured in seconds. Like
//! `CLOCK_MONOTONIC`, it keeps counting while a Lambda sandbox is frozen.
//!
//! One timeline only: should the coarse clock ever fail to read, `CLOCK_MONOTONIC` is read
//! instead, which is the same clock at a finer resolution (same origin, at most one tick apart),
//! so a deadline taken from one reading is never compared with a reading from another origin.
//! Should both fail (a broken kernel; `std::time::Instant` would panic there), the reading is 0:
//! the flags loaded so far keep being served and nothing panics.

/// Monotonic milliseconds since an arbitrary origin (never 0 while the clock works).
#[cfg(any(target_os = "linux", target_os = "android"))]
#[inline]
pub(crate) fn now_ms() -> u64 {
    use rustix::time::{clock_gettime_dynamic, ClockId, DynamicClockId};
    read_ms(
        || clock_gettime_dynamic(DynamicClockId::Known(ClockId::MonotonicCoarse)).ok(),
        || clock_gettime_dynamic(DynamicClockId::Known(ClockId::Monotonic)).ok(),
    )
}

/// Monotonic milliseconds since an arbitrary origin, never 0.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
#[inline]
pub(crate) fn now_ms() -> u64 {
    use std::sync::OnceLock;
    use std::time::Instant;
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    ORIGIN.get_or_init(Instant::now).elapsed().as_millis() as u64 + 1
}

/// The coarse reading, else the fine one (the same timeline), else 0.
#[cfg(any(target_os = "linux", target_os = "android"))]
#[inline]
fn read_ms(
    coarse: impl FnOnce() -> Option<rustix::time::Timespec>,
    fine: impl FnOnce() -> Option<rustix::time::Timespec>,
) -> u64 {
    match coarse() {
        Some(ts) => to_ms(ts),
        None => fallback(fine),
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
#[cold]
fn fallback(fine: impl FnOnce() -> Option<rustix::time::Timespec>) -> u64 {
    fine().map_or(0, to_ms)
}

#[cfg(any(target_os = "linux", target_os = "android"))]
#[inline]
fn to_ms(ts: rustix::time::Timespec) -> u64 {
    // Monotonic readings are never negative; `+ 1` keeps a working clock away from 0.
    let secs = u64::try_from(ts.tv_sec).unwrap_or(0);
    let nanos = u64::try_from(ts.tv_nsec).unwrap_or(0);
    secs.saturating_mul(1000)
        .saturating_add(nanos / 1_000_000)
        .saturating_add(1)
}

#[cfg(test)]
mod tests {
    #[test]
    fn advances_with_time() {
        let a = super::now_ms();
        std::thread::sleep(std::time::Duration::from_millis(30));
        let b = super::now_ms();
        assert!(a > 0);
        assert!((20..1000).contains(&(b - a)), "{a} -> {b}");
    }

    /// A failed coarse reading falls back to the same timeline: the value does not jump to
    /// another origin (the old fallback counted from its own first use, ~1 ms).
    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn a_failed_coarse_reading_stays_on_the_same_timeline() {
        use rustix::time::{clock_gettime_dynamic, ClockId, DynamicClockId};
        let fine = || clock_gettime_dynamic(DynamicClockId::Known(ClockId::Monotonic)).ok();
        let before = super::now_ms();
        let failed = super::read_ms(|| None, fine);
        let after = super::now_ms();
        // The coarse clock lags the fine one by at most a tick (<= 10 ms at HZ=100).
        assert!(
            failed + 10 >= before && failed <= after + 10,
            "{before} <= {failed} <= {after}"
        );
        assert_eq!(super::read_ms(|| None, || None), 0);
    }
}
