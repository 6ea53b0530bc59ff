//! The shape of `src/`: every module opens with a doc comment saying what it holds, and no
//! module imports one that imports it back, directly or through others (the crate root
//! included: a module that names `crate::Item` re-exported there depends on the root).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Each module of `src/` and the modules it names (`crate::name`), outside comments.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let modules: BTreeMap<String, String> = std::fs::read_dir(&src)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "rs"))
        .map(|path| {
            let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
            (name, std::fs::read_to_string(&path).unwrap())
        })
        .collect();
    let mut graph = BTreeMap::new();
    for (name, text) in &modules {
        assert!(
            text.starts_with("//!"),
            "src/{name}.rs must open with a module doc saying what it holds"
        );
        let mut names = BTreeSet::new();
        for line in text.lines() {
            let code = line.split("//").next().unwrap_or("");
            for (at, _) in code.match_indices("crate::") {
                let rest = &code[at + "crate::".len()..];
                let end = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '{'))
                    .unwrap_or(rest.len());
                for item in rest[..end].trim_start_matches('{').split(['{', ',']) {
                    let item = item.trim();
                    if item.is_empty() || item == "self" {
                        continue;
                    }
                    // A module of `src/`, or an item of the root (a re-export).
                    let target = if modules.contains_key(item) {
                        item
                    } else {
                        "lib"
                    };
                    if target != name {
                        names.insert(target.to_owned());
                    }
                }
            }
        }
        graph.insert(name.clone(), names);
    }
    graph
}

/// A cycle through `node`, if any, as the path that closes it.
fn cycle(
    graph: &BTreeMap<String, BTreeSet<String>>,
    node: &str,
    path: &mut Vec<String>,
    done: &mut BTreeSet<String>,
) -> Option<Vec<String>> {
    if let Some(at) = path.iter().position(|n| n == node) {
        let mut found = path[at..].to_vec();
        found.push(node.to_owned());
        return Some(found);
    }
    if done.contains(node) {
        return None;
    }
    path.push(node.to_owned());
    for next in graph.get(node).into_iter().flatten() {
        if let Some(found) = cycle(graph, next, path, done) {
            return Some(found);
        }
    }
    path.pop();
    done.insert(node.to_owned());
    None
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let graph = imports();
    assert!(graph.len() > 10, "the modules of src/ were read: {graph:?}");
    assert!(
        graph["source"].contains("pins") && graph["pins"].contains("shared"),
        "the imports were read: {graph:?}"
    );
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        if let Some(found) = cycle(&graph, node, &mut Vec::new(), &mut done) {
            panic!("an import cycle: {}", found.join(" -> "));
        }
    }
}
