//! The agent's answer for a feature-flag profile, as the runtime reads it on every refresh.
//! Properties: `Snapshot::parse` never panics, and a snapshot it returns can be read.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(snapshot) = flag_runtime::Snapshot::parse(data, None) else {
        return;
    };
    for (name, _flag) in snapshot.flags() {
        let _ = snapshot.is_enabled(name);
    }
    let _ = snapshot.is_enabled("");
    let _ = snapshot.is_enabled("notInTheAnswer");
});
