//! The clock of the staleness check: monotonic milliseconds, cheap to read.
//!
//! Every check outside a scope compares "now" with the refresh deadline, so the clock is on the
//! hot path. `Instant::now()` (`CLOCK_MONOTONIC`) costs about 20 ns on common VMs; a coarse
//! clock costs a few, at the resolution of the kernel tick (1 to 16 ms): plenty for a TTL
//! measured in seconds. Where `coarsetime` reads a monotonic coarse clock (on Linux
//! `CLOCK_MONOTONIC_COARSE` from the vDSO, which keeps counting while a Lambda sandbox is
//! frozen) it is used; elsewhere `coarsetime` would read the wall clock, and `Instant` is read.

#[cfg(any(
    target_os = "linux",
    target_os = "android",
    target_os = "macos",
    windows
))]
#[inline]
pub(crate) fn now_ms() -> u64 {
    let ticks = coarsetime::Instant::now_without_cache_update().as_ticks();
    // Monotonic milliseconds since an arbitrary origin; `+ 1`: never 0.
    coarsetime::Duration::from_ticks(ticks)
        .as_millis()
        .saturating_add(1)
}

/// Monotonic milliseconds since the first reading, never 0.
#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "macos",
    windows
)))]
pub(crate) fn now_ms() -> u64 {
    use std::sync::OnceLock;
    use std::time::Instant;
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    let elapsed = ORIGIN.get_or_init(Instant::now).elapsed().as_millis();
    u64::try_from(elapsed).unwrap_or(u64::MAX).saturating_add(1)
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_milliseconds() {
        let a = super::now_ms();
        std::thread::sleep(std::time::Duration::from_millis(30));
        let b = super::now_ms();
        assert!(a > 0);
        assert!((20..1000).contains(&(b - a)), "{a} -> {b}");
    }
}
