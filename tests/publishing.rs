//! What `cargo publish` does not check but a crates.io user meets: each published crate's
//! metadata, README and licence texts, read from `cargo metadata` (the dry run in `.ci/run`
//! checks that the packages build).

use std::path::Path;

use flag_e2e::{root, PUBLISHED};
use serde_json::Value;

fn packages() -> Vec<Value> {
    let output = std::process::Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(root())
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).unwrap();
    metadata["packages"].as_array().unwrap().clone()
}

#[test]
fn exactly_the_library_and_tool_crates_are_published() {
    let mut published: Vec<String> = packages()
        .iter()
        .filter(|p| p["publish"] != serde_json::json!([]))
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect();
    published.sort();
    let mut expected = PUBLISHED.map(str::to_owned).to_vec();
    expected.sort();
    assert_eq!(published, expected);
}

#[test]
fn every_published_crate_is_complete() {
    let root = root();
    let licence = |name: &str| std::fs::read(root.join(name)).unwrap();
    for package in packages() {
        let name = package["name"].as_str().unwrap();
        if !PUBLISHED.contains(&name) {
            continue;
        }
        let dir = Path::new(package["manifest_path"].as_str().unwrap())
            .parent()
            .unwrap();
        let text = |key: &str| package[key].as_str().unwrap_or_default().to_owned();
        assert!(text("description").len() > 20, "{name}: a description");
        assert_eq!(text("license"), "MIT OR Apache-2.0", "{name}");
        assert!(!text("rust_version").is_empty(), "{name}: rust-version");
        assert!(
            package["repository"].is_null() || !text("repository").contains(".invalid"),
            "{name}: a real repository or none"
        );
        let keywords = package["keywords"].as_array().unwrap();
        assert!((1..=5).contains(&keywords.len()), "{name}: 1 to 5 keywords");
        for keyword in keywords {
            let k = keyword.as_str().unwrap();
            assert!(
                k.len() <= 20
                    && k.starts_with(|c: char| c.is_ascii_alphabetic())
                    && k.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
                "{name}: keyword {k:?}"
            );
        }
        assert!(
            !package["categories"].as_array().unwrap().is_empty(),
            "{name}: categories"
        );
        // A README of its own, pointing to the docs, and both licence texts as real files
        // (a symlink would be packaged as a link's text on a checkout without symlinks).
        assert_eq!(text("readme"), "README.md", "{name}");
        let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
        assert!(
            readme.starts_with(&format!("# {name}\n")),
            "{name}: README title"
        );
        assert!(readme.contains("https://docs.rs/"), "{name}: README links");
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        for packaged in [
            "\"/src/**\"",
            "\"/README.md\"",
            "\"/LICENSE-MIT\"",
            "\"/LICENSE-APACHE\"",
        ] {
            assert!(
                manifest.contains(packaged),
                "{name}: `include` has {packaged}"
            );
        }
        for file in ["LICENSE-MIT", "LICENSE-APACHE"] {
            let path = dir.join(file);
            assert!(
                !path.symlink_metadata().unwrap().file_type().is_symlink(),
                "{name}/{file} is a copy, not a link"
            );
            assert_eq!(
                std::fs::read(&path).unwrap(),
                licence(file),
                "{name}/{file}"
            );
        }
    }
    assert!(root.join("CHANGELOG.md").is_file());
}
