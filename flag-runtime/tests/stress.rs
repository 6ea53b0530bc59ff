//! Concurrency stress: many tasks check flags while the agent's answers flip and fault.
//! No deadlock (the run finishes within its deadline), no torn snapshot (every flag seen in one
//! snapshot comes from the same configuration version).

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use flag_agent::Fault;
use serde_json::{json, Value};

const FLAGS: usize = 8;

/// Every flag carries `generation`, so a snapshot mixing two answers would show two values.
fn generation_doc(generation: u64) -> Value {
    let mut flags = serde_json::Map::new();
    let mut values = serde_json::Map::new();
    for i in 0..FLAGS {
        flags.insert(format!("f{i}"), json!({"attributes": {"generation": {}}}));
        values.insert(
            format!("f{i}"),
            json!({"enabled": generation.is_multiple_of(2), "generation": generation}),
        );
    }
    json!({"version": "1", "flags": flags, "values": values})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_flips_and_faults_together() {
    let file = FlagsFile::new(&generation_doc(0));
    let agent = Arc::new(start_agent(&file).await);
    let flags = source(
        agent.addr().port(),
        Duration::from_millis(2),
        Duration::from_millis(100),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let checks = Arc::new(AtomicU64::new(0));

    let flipper = {
        let (agent, stop) = (Arc::clone(&agent), Arc::clone(&stop));
        let path = file.path().to_owned();
        tokio::spawn(async move {
            let mut generation = 0u64;
            while !stop.load(Ordering::Relaxed) {
                generation += 1;
                let tmp = path.with_extension("tmp");
                std::fs::write(&tmp, generation_doc(generation).to_string()).unwrap();
                std::fs::rename(&tmp, &path).unwrap();
                match generation % 10 {
                    3 => agent.set_fault(Fault::Status(503)),
                    6 => agent.set_fault(Fault::Delay(Duration::from_millis(150))),
                    8 => agent.set_fault(Fault::ResetMidBody),
                    _ => agent.clear_fault(),
                }
                tokio::time::sleep(Duration::from_millis(3)).await;
            }
            generation
        })
    };

    let mut readers = Vec::new();
    for task in 0..32 {
        let (flags, stop, checks) = (flags.clone(), Arc::clone(&stop), Arc::clone(&checks));
        readers.push(tokio::spawn(async move {
            let mut torn = 0u64;
            while !stop.load(Ordering::Relaxed) {
                if let Some(snapshot) = flags.snapshot().await {
                    let seen: Vec<u64> = snapshot
                        .flags()
                        .map(|(_, f)| f.attribute::<u64>("generation").unwrap_or(u64::MAX))
                        .collect();
                    if seen.windows(2).any(|w| w[0] != w[1]) {
                        torn += 1;
                    }
                    let on = snapshot.is_enabled("f0");
                    if (0..FLAGS).any(|i| snapshot.is_enabled(&format!("f{i}")) != on) {
                        torn += 1;
                    }
                }
                let name = format!("f{}", task % FLAGS);
                let _ = flags.is_enabled(&name).await;
                let _ = flags.is_enabled_now(&name);
                let _ = flags.flag(&name).await;
                checks.fetch_add(4, Ordering::Relaxed);
                tokio::task::yield_now().await;
            }
            torn
        }));
    }
    // Sync readers on blocking threads, too.
    for _ in 0..2 {
        let (flags, stop) = (flags.clone(), Arc::clone(&stop));
        readers.push(tokio::task::spawn_blocking(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += u64::from(flags.is_enabled_now("f1"));
            }
            let _ = n;
            0
        }));
    }

    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    let finished = tokio::time::timeout(Duration::from_secs(10), async {
        let mut torn = 0;
        for r in readers {
            torn += r.await.unwrap();
        }
        (torn, flipper.await.unwrap())
    })
    .await;
    let (torn, generations) = finished.expect("every reader finished: no deadlock");
    assert_eq!(torn, 0, "a snapshot mixed two configuration versions");
    assert!(
        generations > 50,
        "the flipper ran ({generations} generations)"
    );
    assert!(checks.load(Ordering::Relaxed) > 10_000);
    let version: u64 = flags.status().version.unwrap().parse().unwrap();
    assert!(
        version > 10,
        "many answers were published during the run ({version})"
    );
}
