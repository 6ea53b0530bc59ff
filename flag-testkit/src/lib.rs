//! Test support shared by the workspace's tests (not published): the local agent on a free
//! loopback port and a [`FlagSource`](flag_runtime::FlagSource) on it, shared flags documents, a raw-HTTP hostile agent,
//! `tracing` capture, an in-memory writer, polling with a deadline, and a server's CPU use and recovery under
//! descriptor exhaustion.

mod agent;
mod documents;
mod lines;
mod logs;
mod output;
mod raw;
mod server;
mod wait;

pub use agent::{
    config, dead_port, serve_button_experiment, source, start_agent, APP, ENV, PROFILE,
};
pub use documents::{button_doc, button_experiments, tiers_doc};
pub use flag_agent::{Fault, FlagsFile};
pub use lines::Lines;
pub use logs::Logs;
pub use output::describe;
pub use raw::{http_ok, http_status, read_head, RawAgent};
pub use server::{answers_again, cpu_ticks};
pub use wait::wait_until;
