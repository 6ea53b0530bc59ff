//! The clock of the staleness check: monotonic milliseconds from `coarsetime`.
//!
//! Every check outside a scope compares "now" with the refresh deadline, so the clock is on the
//! hot path. `Instant::now()` (`CLOCK_MONOTONIC`) costs about 20 ns on common VMs; the coarse
//! clock (`CLOCK_MONOTONIC_COARSE` on Linux, from the vDSO) costs a few, at the resolution of
//! the kernel tick (1 to 4 ms): plenty for a TTL measured in seconds. It keeps counting while a
//! Lambda sandbox is frozen, and reading it never panics.

/// Monotonic milliseconds since an arbitrary origin, never 0.
#[inline]
pub(crate) fn now_ms() -> u64 {
    let ticks = coarsetime::Instant::now_without_cache_update().as_ticks();
    coarsetime::Duration::from_ticks(ticks)
        .as_millis()
        .saturating_add(1)
}
