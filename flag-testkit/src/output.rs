//! A finished process, as a failed assertion shows it.

use std::process::Output;

/// The exit status, stdout and stderr of `output`, for an assertion's message.
pub fn describe(output: &Output) -> String {
    format!(
        "{}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
