//! Test overrides: forced flags without an agent, scoped so parallel tests do not leak.

use flag_runtime::{default_source, Overrides};

#[test]
fn thread_scope_forces_and_restores() {
    let flags = default_source();
    assert!(
        !flags.is_enabled_now("ovA"),
        "no agent, nothing forced: off"
    );
    {
        let _outer = Overrides::new()
            .enable("ovA")
            .attribute("ovA", "limit", 3)
            .apply();
        assert!(flags.is_enabled_now("ovA"));
        assert_eq!(
            flags.flag_now("ovA").unwrap().attribute::<u32>("limit"),
            Some(3)
        );
        {
            let _inner = Overrides::new().disable("ovA").apply();
            assert!(!flags.is_enabled_now("ovA"), "inner scope wins");
        }
        assert!(flags.is_enabled_now("ovA"), "outer restored");
    }
    assert!(!flags.is_enabled_now("ovA"), "all restored");
}

#[test]
fn other_threads_do_not_see_thread_overrides() {
    let _on = Overrides::new().enable("ovB").apply();
    assert!(default_source().is_enabled_now("ovB"));
    let seen = std::thread::spawn(|| default_source().is_enabled_now("ovB"))
        .join()
        .unwrap();
    assert!(!seen, "thread-scoped overrides stay on their thread");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_scope_follows_the_future_across_threads() {
    let a = Overrides::new().enable("ovC").scope(async {
        let mut seen = Vec::new();
        for _ in 0..20 {
            seen.push(default_source().is_enabled("ovC").await);
            tokio::task::yield_now().await;
        }
        seen
    });
    let b = Overrides::new().disable("ovC").scope(async {
        let mut seen = Vec::new();
        for _ in 0..20 {
            seen.push(default_source().is_enabled("ovC").await);
            tokio::task::yield_now().await;
        }
        seen
    });
    let (a, b) = tokio::join!(tokio::spawn(a), tokio::spawn(b));
    assert!(a.unwrap().iter().all(|on| *on));
    assert!(b.unwrap().iter().all(|on| !*on));
    assert!(
        !default_source().is_enabled("ovC").await,
        "outside any scope: off"
    );
}

#[tokio::test]
async fn nested_task_scopes_merge() {
    Overrides::new()
        .enable("ovD")
        .enable("ovE")
        .scope(async {
            Overrides::new()
                .disable("ovE")
                .scope(async {
                    assert!(default_source().is_enabled("ovD").await, "outer kept");
                    assert!(!default_source().is_enabled("ovE").await, "inner wins");
                })
                .await;
            assert!(default_source().is_enabled("ovE").await);
        })
        .await;
}
