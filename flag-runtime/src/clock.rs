//! The clock of the staleness check: milliseconds, monotonic, and cheap.
//!
//! Every check compares "now" with the refresh deadline, so the clock is on the hot path.
//! `Instant::now()` (`CLOCK_MONOTONIC`) costs about 20 ns on common VMs; Linux's
//! `CLOCK_MONOTONIC_COARSE` costs about 3 ns, at the resolution of the kernel tick (1 to 4 ms),
//! which is plenty for a TTL measured in seconds. Like `CLOCK_MONOTONIC`, it keeps counting
//! while a Lambda sandbox is frozen.

/// Monotonic milliseconds since an arbitrary origin, never 0.
#[cfg(target_os = "linux")]
#[inline]
#[allow(unsafe_code)]
pub(crate) fn now_ms() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable `timespec`; the call only writes into it.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut ts) };
    if rc == 0 {
        (ts.tv_sec as u64) * 1000 + (ts.tv_nsec as u64) / 1_000_000 + 1
    } else {
        fallback_ms()
    }
}

/// Monotonic milliseconds since an arbitrary origin, never 0.
#[cfg(not(target_os = "linux"))]
#[inline]
pub(crate) fn now_ms() -> u64 {
    fallback_ms()
}

#[cold]
fn fallback_ms() -> u64 {
    use std::sync::OnceLock;
    use std::time::Instant;
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    ORIGIN.get_or_init(Instant::now).elapsed().as_millis() as u64 + 1
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
}
