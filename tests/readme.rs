//! What the README promises a newcomer, checked on every run: its first lines are the two
//! commands, its `flags.json` is a valid document that agrees with the example's (the README's
//! Rust examples compile as doctests of `example-lambda`, against that file), every JSON
//! snippet parses, every local link resolves, and it stays a guide (about 400 lines).

use std::collections::BTreeSet;

use flag_e2e::root;
use flag_schema::Document;

fn readme() -> String {
    std::fs::read_to_string(root().join("README.md")).unwrap()
}

/// The fenced blocks of `text`: (info string, body).
fn blocks(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut open: Option<(String, String)> = None;
    for line in text.lines() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(info)) => open = Some((info.trim().to_owned(), String::new())),
            (Some(_), Some("")) => out.push(open.take().unwrap()),
            (Some((_, body)), _) => {
                body.push_str(line);
                body.push('\n');
            }
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "an unclosed code block");
    out
}

#[test]
fn the_first_lines_are_the_local_run_and_the_tests() {
    let text = readme();
    let first = &blocks(&text)[0];
    assert!(
        text.lines().take(3).any(|l| l == "```sh"),
        "the commands open the README"
    );
    let commands: Vec<&str> = first
        .1
        .lines()
        .map(|l| l.split('#').next().unwrap().trim())
        .collect();
    assert_eq!(
        commands,
        [
            "cargo run -p flag-local -- -p example-lambda",
            "cargo test --workspace"
        ]
    );
    // The same test command `.ci/run` runs.
    let ci = std::fs::read_to_string(root().join(".ci/run")).unwrap();
    assert!(ci.contains("cargo test --workspace"), "{ci}");
}

#[test]
fn the_flags_json_is_valid_and_agrees_with_the_examples() {
    let text = readme();
    let json: Vec<String> = blocks(&text)
        .into_iter()
        .filter(|(info, _)| info == "json")
        .map(|(_, body)| body)
        .collect();
    for body in &json {
        serde_json::from_str::<serde_json::Value>(body)
            .unwrap_or_else(|e| panic!("a JSON snippet does not parse: {e}\n{body}"));
    }
    let shown = json
        .iter()
        .find(|b| b.contains("\"version\": \"1\""))
        .expect("the README shows a flags.json");
    let shown = Document::parse(shown).unwrap_or_else(|e| panic!("the README's flags.json: {e}"));
    // A plain flag, attributes with constraints, a multi-variant flag.
    assert!(shown.values.values().any(|v| v.variants.is_none()));
    assert!(shown.values.values().any(|v| v.variants.is_some()));
    assert!(shown
        .flags
        .values()
        .any(|f| f.attributes.values().any(|a| a.constraints.is_some())));

    // Every flag, attribute (type and required) and variant it shows is the example's, so
    // the README's Rust examples, compiled against the example's file, are about this one.
    let example = std::fs::read_to_string(root().join("example-lambda/flags.json")).unwrap();
    let example = Document::parse(&example).unwrap();
    for (key, flag) in &shown.flags {
        let theirs = example
            .flag(key)
            .unwrap_or_else(|| panic!("`{key}` is not in example-lambda/flags.json"));
        for (name, attribute) in &flag.attributes {
            let other = &theirs.attributes[name];
            let kind = |a: &flag_schema::AttributeDefinition| {
                a.constraints
                    .as_ref()
                    .map(|c| (std::mem::discriminant(&c.kind), c.required))
            };
            assert_eq!(kind(attribute), kind(other), "{key}.{name}");
        }
        let variants = |d: &Document| -> BTreeSet<String> {
            d.values[key]
                .variants
                .iter()
                .flatten()
                .map(|v| v.name.clone())
                .collect()
        };
        assert_eq!(variants(&shown), variants(&example), "{key}'s variants");
    }
    // The context keys its rules read (the methods of `flags::context()` the README calls).
    let keys = |d: &Document| d.context_keys().into_keys().collect::<BTreeSet<_>>();
    assert!(keys(&shown).is_subset(&keys(&example)));
    assert!(!keys(&shown).is_empty());
}

#[test]
fn every_local_link_resolves() {
    // The README's, and those of the docs/ it sends readers to (relative to each file).
    let mut files = vec![root().join("README.md")];
    for entry in std::fs::read_dir(root().join("docs")).unwrap() {
        files.push(entry.unwrap().path());
    }
    let mut checked = 0;
    for file in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "md"))
    {
        let text = std::fs::read_to_string(file).unwrap();
        let dir = file.parent().unwrap();
        for (i, _) in text.match_indices("](") {
            let target = &text[i + 2..];
            let target = &target[..target.find(')').unwrap()];
            if target.starts_with("http") || target.starts_with('#') {
                continue;
            }
            let path = target.split('#').next().unwrap();
            assert!(
                dir.join(path).exists(),
                "{} links to missing `{target}`",
                file.display()
            );
            checked += 1;
        }
    }
    assert!(checked >= 20, "{checked} local links");
}

#[test]
fn it_stays_a_guide() {
    let lines = readme().lines().count();
    assert!(
        lines <= 420,
        "README.md has {lines} lines; internals go to docs/"
    );
}
