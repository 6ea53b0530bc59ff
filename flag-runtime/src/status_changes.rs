//! Notification of health changes: a waiter is woken after each completed refresh of the
//! context-free answer, and reads the [`Status`] then.

use crate::health::Status;
use crate::source::FlagSource;

/// Wakes after each completed refresh of a source's context-free answer (success or failure);
/// see [`FlagSource::status_changes`]. Refreshes completed while nobody waits are coalesced:
/// the waiter sees the status after the latest one.
///
/// Waiting needs no particular runtime: any executor can poll it.
#[derive(Debug, Clone)]
pub struct StatusChanges {
    source: FlagSource,
    receiver: tokio::sync::watch::Receiver<u64>,
}

impl StatusChanges {
    pub(crate) fn new(source: &FlagSource) -> Self {
        StatusChanges {
            receiver: source.health().changes.subscribe(),
            source: source.clone(),
        }
    }

    /// Waits until a refresh completes after the previous call (or, the first time, after this
    /// was created), then reports the source's [`Status`].
    ///
    /// ```no_run
    /// # async fn demo(flags: &flag_runtime::FlagSource) {
    /// let mut changes = flags.status_changes();
    /// loop {
    ///     let status = changes.changed().await;
    ///     println!("failure streak {}", status.failure_streak);
    /// }
    /// # }
    /// ```
    pub async fn changed(&mut self) -> Status {
        // The sender lives in the source this holds: it cannot be dropped while we wait.
        let _ = self.receiver.changed().await;
        self.source.status()
    }
}

impl FlagSource {
    /// A waiter for health changes: woken after each completed refresh of the context-free
    /// answer, for health checks, metrics and provider events.
    pub fn status_changes(&self) -> StatusChanges {
        StatusChanges::new(self)
    }
}
