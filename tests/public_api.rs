//! The public API of each published crate, snapshotted: a change to it (an item, a method, a
//! variant, a field, a trait implemented, an auto trait lost) fails here until the snapshot in
//! `tests/public-api/<crate>.txt` is updated with `UPDATE_PUBLIC_API=1 cargo test --test
//! public_api`, so the surface never grows or breaks by accident.
//!
//! The surface is read from rustdoc's JSON output (`--output-format json`, unstable: enabled on
//! the stable toolchain with `RUSTC_BOOTSTRAP=1`, for this test only), walked from each crate's
//! root through its public modules and re-exports; `#[doc(hidden)]` items (`__private`) are not
//! part of it, as rustdoc leaves them out.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// Auto traits whose loss breaks users (`Freeze`, `UnsafeUnpin` are not theirs to name).
const AUTO_TRAITS: &[&str] = &["Send", "Sync", "Unpin", "UnwindSafe", "RefUnwindSafe"];

#[test]
fn the_public_api_is_the_snapshotted_one() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let update = std::env::var_os("UPDATE_PUBLIC_API").is_some();
    let mut changed = Vec::new();
    for krate in flag_e2e::PUBLISHED {
        let surface = surface(root, krate).join("\n") + "\n";
        let file = root.join(format!("tests/public-api/{krate}.txt"));
        let snapshot = std::fs::read_to_string(&file).unwrap_or_default();
        if surface == snapshot {
            continue;
        }
        if update {
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(&file, &surface).unwrap();
            continue;
        }
        let old: BTreeSet<&str> = snapshot.lines().collect();
        let new: BTreeSet<&str> = surface.lines().collect();
        let removed: Vec<_> = old.difference(&new).map(|l| format!("- {l}")).collect();
        let added: Vec<_> = new.difference(&old).map(|l| format!("+ {l}")).collect();
        changed.push(format!(
            "{krate}:\n{}\n{}",
            removed.join("\n"),
            added.join("\n")
        ));
    }
    assert!(
        changed.is_empty(),
        "the public API changed (UPDATE_PUBLIC_API=1 to accept):\n{}",
        changed.join("\n")
    );
}

/// One line per public item of `krate`, sorted: `kind path`.
fn surface(root: &Path, krate: &str) -> Vec<String> {
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), Into::into);
    let output = Command::new(env!("CARGO"))
        .current_dir(root)
        .env("RUSTC_BOOTSTRAP", "1")
        .env_remove("RUSTDOCFLAGS")
        .args(["rustdoc", "-q", "--lib", "-p", krate, "--target-dir"])
        .arg(&target)
        .args(["--", "-Z", "unstable-options", "--output-format", "json"])
        .output()
        .expect("running cargo rustdoc");
    assert!(
        output.status.success(),
        "cargo rustdoc -p {krate}:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json = target.join(format!("doc/{}.json", krate.replace('-', "_")));
    let doc: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let mut lines = BTreeSet::new();
    let name = krate.replace('-', "_");
    let root_id = doc["root"].to_string();
    walk(&doc, &root_id, &name, &mut lines);
    lines.into_iter().collect()
}

fn item<'a>(doc: &'a Value, id: &str) -> Option<&'a Value> {
    doc["index"].get(id)
}

fn kind(item: &Value) -> &str {
    item["inner"]
        .as_object()
        .and_then(|o| o.keys().next())
        .map_or("?", String::as_str)
}

/// The items of module `id` (at `path`), re-exports followed.
fn walk(doc: &Value, id: &str, path: &str, out: &mut BTreeSet<String>) {
    let Some(module) = item(doc, id) else { return };
    for child in module["inner"]["module"]["items"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let Some(child) = item(doc, &child.to_string()) else {
            continue;
        };
        if child["visibility"] != "public" {
            continue;
        }
        match kind(child) {
            "use" => {
                let using = &child["inner"]["use"];
                let name = using["name"].as_str().unwrap_or("?");
                match item(doc, &using["id"].to_string()) {
                    Some(target) => describe(doc, target, &format!("{path}::{name}"), out),
                    None => {
                        out.insert(format!("use {path}::{name} = {}", using["source"]));
                    }
                }
            }
            _ => {
                let name = child["name"].as_str().unwrap_or("?");
                describe(doc, child, &format!("{path}::{name}"), out);
            }
        }
    }
}

/// `item`, named `path`, and what hangs off it (methods, variants, fields, traits).
fn describe(doc: &Value, item_: &Value, path: &str, out: &mut BTreeSet<String>) {
    let kind = kind(item_);
    match kind {
        "module" => {
            out.insert(format!("mod {path}"));
            walk(doc, &item_["id"].to_string(), path, out);
        }
        "struct" | "enum" | "union" | "trait" => {
            out.insert(format!("{kind} {path}"));
            let inner = &item_["inner"][kind];
            for variant in inner["variants"].as_array().into_iter().flatten() {
                if let Some(v) = item(doc, &variant.to_string()) {
                    out.insert(format!(
                        "variant {path}::{}",
                        v["name"].as_str().unwrap_or("?")
                    ));
                }
            }
            let fields = inner["kind"]["plain"]["fields"].as_array();
            for field in fields.into_iter().flatten() {
                if let Some(f) = item(doc, &field.to_string()) {
                    if f["visibility"] == "public" {
                        out.insert(format!(
                            "field {path}.{}",
                            f["name"].as_str().unwrap_or("?")
                        ));
                    }
                }
            }
            for member in inner["items"].as_array().into_iter().flatten() {
                if let Some(m) = item(doc, &member.to_string()) {
                    out.insert(format!(
                        "trait item {path}::{}",
                        m["name"].as_str().unwrap_or("?")
                    ));
                }
            }
            for id in inner["impls"].as_array().into_iter().flatten() {
                let Some(imp) = item(doc, &id.to_string()) else {
                    continue;
                };
                let imp = &imp["inner"]["impl"];
                if !imp["blanket_impl"].is_null() {
                    continue;
                }
                match imp["trait"]["path"].as_str() {
                    Some(tr) if imp["is_synthetic"] == true && !AUTO_TRAITS.contains(&tr) => {}
                    Some(tr) => {
                        out.insert(format!("impl {tr} for {path}"));
                    }
                    None => {
                        for member in imp["items"].as_array().into_iter().flatten() {
                            let Some(m) = item(doc, &member.to_string()) else {
                                continue;
                            };
                            if m["visibility"] == "public" {
                                let what = if self::kind(m) == "function" {
                                    "fn"
                                } else {
                                    "const"
                                };
                                out.insert(format!(
                                    "{what} {path}::{}",
                                    m["name"].as_str().unwrap_or("?")
                                ));
                            }
                        }
                    }
                }
            }
        }
        "function" => {
            out.insert(format!("fn {path}"));
        }
        "proc_macro" => {
            let how = item_["inner"]["proc_macro"]["kind"].as_str().unwrap_or("?");
            out.insert(format!("proc macro ({how}) {path}"));
        }
        other => {
            out.insert(format!("{other} {path}"));
        }
    }
}
