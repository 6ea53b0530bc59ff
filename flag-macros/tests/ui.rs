//! Compile errors, snapshotted with trybuild (`TRYBUILD=overwrite` to update the `.stderr`).
//!
//! The schema comes from `FEATURE_FLAGS_SCHEMA`, which the macro reads when the test crates are
//! compiled: each group of cases runs with its own schema, one group at a time.

use std::path::Path;

fn with_schema(schema: &Path, cases: &[&str]) {
    std::env::set_var("FEATURE_FLAGS_SCHEMA", schema);
    let t = trybuild::TestCases::new();
    for case in cases {
        t.compile_fail(case);
    }
    drop(t); // runs the cases now, with this schema
}

#[test]
fn ui() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    with_schema(&dir.join("flags.json"), &["tests/ui/*.rs"]);
    for case in [
        "bad_json",
        "bad_version",
        "undefined_value",
        "broken_constraint",
        "bad_rule",
        "rule_warnings",
        "missing_file",
    ] {
        with_schema(
            &dir.join(format!("ui-schema/schemas/{case}.json")),
            &[&format!("tests/ui-schema/{case}.rs")],
        );
    }
    // `context = ...` on a multi-variant flag (ui-schema/schemas/context.json).
    with_schema(
        &dir.join("ui-schema/schemas/context.json"),
        &[
            "tests/ui-schema/context_missing_key.rs",
            "tests/ui-schema/context_wrong_type.rs",
            "tests/ui-schema/context_unknown_name.rs",
            "tests/ui-schema/context_moves_argument.rs",
            "tests/ui-schema/context_bad_value.rs",
        ],
    );
    // `flags!`: typed flags of tests/typed.json; schemas that cannot become Rust names.
    with_schema(
        &dir.join("typed.json"),
        &[
            "tests/ui-typed/misspelled_constant.rs",
            "tests/ui-typed/misspelled_field.rs",
            "tests/ui-typed/wrong_field_type.rs",
            "tests/ui-typed/deprecated_flag.rs",
            "tests/ui-typed/unknown_argument.rs",
            "tests/ui-typed/not_a_module.rs",
            "tests/ui-typed/gate_unknown_static.rs",
            "tests/ui-typed/context_keys.rs",
        ],
    );
    for case in [
        "collision",
        "attribute_collision",
        "schema_error",
        "trailing_comma",
        "context_unnamed",
    ] {
        with_schema(
            &dir.join(format!("ui-typed/schemas/{case}.json")),
            &[&format!("tests/ui-typed/{case}.rs")],
        );
    }
    // `flags!` with an experiments file (ui-typed/schemas/experiments/).
    with_schema(
        &dir.join("ui-typed/schemas/experiments/flags.json"),
        &[
            "tests/ui-typed/experiments_invalid.rs",
            "tests/ui-typed/experiments_missing.rs",
        ],
    );
}
