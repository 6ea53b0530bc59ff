//! Fault injection, for testing clients against a misbehaving agent.

use std::sync::Mutex;
use std::time::Duration;

/// A way for the stand-in to misbehave on configuration requests (see
/// [`RunningAgent::set_fault`](crate::RunningAgent::set_fault)). `/ping` is never faulted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Answer this HTTP status with a JSON error body.
    Status(u16),
    /// Answer 200 with exactly this body and `Configuration-Version` (malformed JSON, a wrong
    /// shape, or a rolled-back version).
    Answer {
        /// The raw body.
        body: String,
        /// The `Configuration-Version` header, if any.
        version: Option<String>,
    },
    /// Accept the request and never answer.
    Hang,
    /// Answer normally, after this delay.
    Delay(Duration),
    /// Answer the normal body one byte per interval.
    Trickle(Duration),
    /// Send the headers and half the normal body, then drop the connection.
    ResetMidBody,
    /// Answer 200 with a valid JSON body of at least this many bytes, with a `Content-Length`.
    Oversized(usize),
    /// The same, streamed in chunks without a `Content-Length`.
    OversizedStream(usize),
}

#[derive(Debug, Default)]
pub(crate) struct FaultSlot(Mutex<Option<Fault>>);

impl FaultSlot {
    pub(crate) fn set(&self, fault: Option<Fault>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = fault;
    }

    pub(crate) fn get(&self) -> Option<Fault> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}
