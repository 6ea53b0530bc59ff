//! A gated `#[async_trait]` method awaits the first load of the default source, like a native
//! gated `async fn` (its own test binary: the default source is process-wide, and this must be
//! its first check).

use flag_macros::feature_flag;
use flag_runtime::{Config, FlagSource};
use serde_json::json;

#[async_trait::async_trait]
trait Checkout {
    async fn pay(&self, cents: u64) -> String;
}

struct Shop;

impl Shop {
    async fn old_pay(&self, cents: u64) -> String {
        format!("old payment of {cents}")
    }
}

#[async_trait::async_trait]
impl Checkout for Shop {
    #[feature_flag("newCheckout", fallback = Shop::old_pay, schema = "tests/flags.json")]
    async fn pay(&self, cents: u64) -> String {
        format!("new payment of {cents}")
    }
}

#[tokio::test]
async fn the_first_call_awaits_the_first_load() {
    let dir = std::env::temp_dir().join(format!("flag-macros-async-trait-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("flags.json");
    let doc = json!({"version": "1", "flags": {"newCheckout": {}}, "values": {"newCheckout": {"enabled": true}}});
    std::fs::write(&file, doc.to_string()).unwrap();
    let agent = flag_agent::Agent::new(&file, "shop", "develop", "flags")
        .start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let config = Config::builder()
        .application("shop")
        .environment("develop")
        .configuration("flags")
        .port(agent.addr().port())
        .build()
        .unwrap();
    flag_runtime::install_default(FlagSource::new(config).unwrap()).unwrap();

    // Cold start: nothing loaded yet. The never-waiting check would answer "off" here.
    let shop: &(dyn Checkout + Sync) = &Shop;
    assert_eq!(shop.pay(5).await, "new payment of 5");
    let _ = std::fs::remove_dir_all(dir);
}
