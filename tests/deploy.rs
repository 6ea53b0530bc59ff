//! The deployment, checked offline: `serverless package` renders serverless.yml into the
//! CloudFormation template that `serverless deploy` would submit (no AWS account or network
//! needed), cfn-lint validates it against the CloudFormation resource schemas, and the assertions
//! below check what the project relies on: runtime, architecture, the AppConfig extension layer of
//! the region, least-privilege IAM, the AppConfig resources, the flags document, the environment.
//!
//! * `npm run package:develop` on a fresh copy of the repository (no zip built) builds the arm64
//!   zip itself with cargo-lambda (deploy/cargo-lambda-build.js) and writes a lint-clean template;
//!   without cargo-lambda it stops saying how to install it.
//! * The layer table in serverless.yml is AWS's, for every region and both architectures, and
//!   every mapped region packages, lints clean and gets the arm64 layer of its own region.
//!
//! Tools: `npm ci` (Serverless Framework v3 in node_modules/), `pip install cfn-lint` and, for the
//! build, `pip install cargo-lambda`. Without them each test prints "skipped: ..." and passes,
//! unless FLAGS_REQUIRE_DEPLOY_TOOLS is set (CI sets it), which turns a missing tool into a failure.
//!
//! Each test packages in its own copy of the service (serverless.yml, package.json, deploy/,
//! example-lambda/flags.json, node_modules linked) under the test's temporary directory:
//! `serverless package` stages everything in `<service dir>/.serverless/`, so two runs in one
//! directory break each other. The region tests point CHECKOUT_LAMBDA_ZIP (read by serverless.yml)
//! at an empty placeholder zip, which also tells the build plugin there is nothing to build: the
//! build is the fresh-copy test's concern, the regions are theirs.

use std::collections::{BTreeMap, BTreeSet};
use std::env;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use flag_testkit::describe;
use serde_json::{json, Map, Value};

const STAGE: &str = "develop";
const BUILT_ZIP: &str = "target/lambda/example-lambda/bootstrap.zip";
const ZIP_OVERRIDE_ENV: &str = "CHECKOUT_LAMBDA_ZIP";
const FLAGS_FILE: &str = "example-lambda/flags.json";
const EXPERIMENTS_FILE: &str = "example-lambda/experiments.json";
/// Set for a deploy that should also start the experiments' runs (billed per hour).
const RUNS_ENV: &str = "DEPLOY_EXPERIMENT_RUNS";
/// Regions whose CloudFormation has no `AWS::AppConfig::ExperimentDefinition` (cfn-lint 1.58's
/// schemas), and those without `AWS::AppConfig::ExperimentRun` besides.
const NO_EXPERIMENTS: [&str; 2] = ["ap-southeast-5", "me-central-1"];
const NO_EXPERIMENT_RUNS: [&str; 1] = ["us-gov-east-1"];
const REQUIRE_TOOLS_ENV: &str = "FLAGS_REQUIRE_DEPLOY_TOOLS";
const TEMPLATE_FILE: &str = "cloudformation-template-update-stack.json";
/// What a service copy needs besides node_modules.
const SERVICE_FILES: [&str; 5] = [
    "serverless.yml",
    "package.json",
    "deploy",
    FLAGS_FILE,
    EXPERIMENTS_FILE,
];

/// An empty zip archive: just the end-of-central-directory record.
const EMPTY_ZIP: &[u8] = &[
    0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
];

const APPCONFIG_TYPES: [&str; 6] = [
    "AWS::AppConfig::Application",
    "AWS::AppConfig::Environment",
    "AWS::AppConfig::ConfigurationProfile",
    "AWS::AppConfig::HostedConfigurationVersion",
    "AWS::AppConfig::DeploymentStrategy",
    "AWS::AppConfig::Deployment",
];

/// The AWS AppConfig Agent Lambda extension layers: (region, publisher account, x86_64 layer
/// version, arm64 layer version): extension 2.0.20159 (the first that serves experiments) in the
/// 32 commercial regions a public deployment pinned to it lists, 2.0.17054.0 as AWS's tables
/// publish it in me-central-1, me-south-1, cn-* and us-gov-* (see serverless.yml for the
/// sources). This is the expectation, so it is written out here rather than read from
/// serverless.yml: a typo there, or a region dropped, fails the tests.
const LAYERS: [(&str, &str, u32, u32); 38] = [
    ("us-east-1", "027255383542", 329, 262),
    ("us-east-2", "728743619870", 280, 232),
    ("us-west-1", "958113053741", 404, 281),
    ("us-west-2", "359756378197", 378, 280),
    ("ca-central-1", "039592058896", 265, 185),
    ("ca-west-1", "436199621743", 175, 165),
    ("eu-central-1", "066940009817", 298, 241),
    ("eu-central-2", "758369105281", 223, 181),
    ("eu-west-1", "434848589818", 306, 244),
    ("eu-west-2", "282860088358", 249, 201),
    ("eu-west-3", "493207061005", 276, 195),
    ("eu-north-1", "646970417810", 370, 229),
    ("eu-south-1", "203683718741", 252, 180),
    ("eu-south-2", "586093569114", 217, 178),
    ("ap-east-1", "630222743974", 259, 187),
    ("ap-east-2", "730335625313", 150, 124),
    ("ap-northeast-1", "980059726660", 275, 228),
    ("ap-northeast-2", "826293736237", 279, 187),
    ("ap-northeast-3", "706869817123", 277, 192),
    ("ap-southeast-1", "421114256042", 261, 213),
    ("ap-southeast-2", "080788657173", 316, 259),
    ("ap-southeast-3", "418787028745", 259, 196),
    ("ap-southeast-4", "307021474294", 195, 180),
    ("ap-southeast-5", "631746059939", 164, 139),
    ("ap-southeast-6", "381491832265", 100, 90),
    ("ap-southeast-7", "851725616657", 137, 136),
    ("ap-south-1", "554480029851", 293, 235),
    ("ap-south-2", "489524808438", 220, 178),
    ("sa-east-1", "000010852771", 335, 223),
    ("mx-central-1", "891376990304", 145, 144),
    ("af-south-1", "574348263942", 263, 191),
    ("il-central-1", "895787185223", 191, 174),
    ("me-central-1", "662846165436", 212, 168),
    ("me-south-1", "559955524753", 254, 182),
    ("cn-north-1", "615057806174", 243, 165),
    ("cn-northwest-1", "615084187847", 241, 163),
    ("us-gov-east-1", "946561847325", 219, 165),
    ("us-gov-west-1", "946746059096", 220, 166),
];

/// The ARN partition of a region.
fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// The layer AWS publishes for `region` and `architecture` (`x86_64` or `arm64`).
fn expected_layer(region: &str, architecture: &str) -> String {
    let (_, publisher, x86_64, arm64) = LAYERS
        .iter()
        .find(|(name, ..)| *name == region)
        .unwrap_or_else(|| {
            panic!("no expected AppConfig extension layer written down for {region}")
        });
    let (name, version) = match architecture {
        "x86_64" => ("AWS-AppConfig-Extension", x86_64),
        "arm64" => ("AWS-AppConfig-Extension-Arm64", arm64),
        other => panic!("unknown architecture {other}"),
    };
    format!(
        "arn:{}:lambda:{region}:{publisher}:layer:{name}:{version}",
        partition(region)
    )
}

// ---------------------------------------------------------------------------------------------
// The tests

/// The table in serverless.yml, as Serverless resolves it (`serverless print`), is AWS's: every
/// region, both architectures, each ARN in its own region and partition.
#[test]
fn layer_table_is_the_user_guides_for_every_region_and_both_architectures() {
    let Some(tools) = tools(false) else { return };
    let service = ServiceCopy::new("print");
    let output = run(service
        .serverless(&tools)
        .args(["print", "--format", "json", "--stage", STAGE]));
    assert!(
        output.status.success(),
        "`serverless print` failed: {}",
        describe(&output)
    );
    let config: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "`serverless print` is not JSON ({e}): {}",
            describe(&output)
        )
    });
    let table = config["custom"]["appconfigExtensionLayers"]
        .as_object()
        .unwrap_or_else(|| panic!("no custom.appconfigExtensionLayers: {config}"));

    let mapped: BTreeSet<&str> = table.keys().map(String::as_str).collect();
    let published: BTreeSet<&str> = LAYERS.iter().map(|(region, ..)| *region).collect();
    assert_eq!(
        mapped, published,
        "the regions of custom.appconfigExtensionLayers should be those AWS publishes the extension in"
    );
    for (region, layers) in table {
        for architecture in ["x86_64", "arm64"] {
            let arn = layers[architecture].as_str().unwrap_or_else(|| {
                panic!("custom.appconfigExtensionLayers.{region}.{architecture} is not a string")
            });
            let own_region = format!("arn:{}:lambda:{region}:", partition(region));
            assert!(
                arn.starts_with(&own_region),
                "{region}.{architecture} is {arn}, not a layer of {region}"
            );
            assert_eq!(
                arn,
                expected_layer(region, architecture),
                "custom.appconfigExtensionLayers.{region}.{architecture}"
            );
        }
    }
}

/// `serverless package` for every mapped region (in parallel service copies), every template
/// lint-clean for its own region (one cfn-lint run), each with the arm64 layer of its region and
/// the project's resources, IAM scope and environment.
#[test]
fn every_mapped_region_packages_lint_clean_with_its_own_layer() {
    let Some(tools) = tools(false) else { return };
    let root = repo_root();
    let regions: Vec<&str> = LAYERS.iter().map(|(region, ..)| *region).collect();
    let workers = std::thread::available_parallelism()
        .map_or(2, usize::from)
        .clamp(2, 4);
    let next = AtomicUsize::new(0);
    let templates: Mutex<BTreeMap<String, PathBuf>> = Mutex::new(BTreeMap::new());
    std::thread::scope(|scope| {
        for worker in 0..workers {
            let (tools, regions, next, templates) = (&tools, &regions, &next, &templates);
            scope.spawn(move || {
                let service = ServiceCopy::new(&format!("regions-{worker}"));
                let placeholder = service.placeholder_zip();
                while let Some(region) = regions.get(next.fetch_add(1, Ordering::SeqCst)) {
                    let template = service.package(tools, region, Some(&placeholder));
                    templates
                        .lock()
                        .unwrap()
                        .insert(region.to_string(), template);
                }
            });
        }
    });
    let templates = templates.into_inner().unwrap();
    assert_eq!(templates.len(), regions.len(), "a region was not packaged");

    // One cfn-lint run for all templates, each linted for its own region (cfn-lint reads
    // per-template settings from Metadata.cfn-lint.config).
    let lint_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("deploy-lint");
    fresh_dir(&lint_dir);
    let mut lint_files = Vec::new();
    for (region, path) in &templates {
        let mut template = read_json(path);
        template
            .as_object_mut()
            .expect("a template is an object")
            .entry("Metadata")
            .or_insert_with(|| json!({}))["cfn-lint"] = json!({"config": {"regions": [region]}});
        let file = lint_dir.join(format!("{region}.json"));
        fs::write(&file, template.to_string()).unwrap();
        lint_files.push(file);
    }
    lint(&tools, &lint_files, None);

    for (region, path) in &templates {
        let template = read_json(path);
        let t = Template::new(&template, path);
        let ids = check_appconfig_resources(&t, &root);
        check_function(&t, &ids, region);
        check_iam(&t, &ids);
        check_experiments(&t, &ids, &root, region, false);
    }
}

/// The experiment runs are deployed only with [`RUNS_ENV`] set (a run is billed per hour while
/// it exists), lint-clean, without the local-only overrides; where CloudFormation has no runs,
/// only the definitions are.
#[test]
fn experiment_runs_are_deployed_only_when_asked_for() {
    let Some(tools) = tools(false) else { return };
    let root = repo_root();
    let service = ServiceCopy::new("experiment-runs");
    let placeholder = service.placeholder_zip();
    let mut lint_files = Vec::new();
    for region in ["eu-west-1", NO_EXPERIMENT_RUNS[0]] {
        let path = service.package_with(&tools, region, Some(&placeholder), &[(RUNS_ENV, "1")]);
        let template = read_json(&path);
        let t = Template::new(&template, &path);
        let ids = check_appconfig_resources(&t, &root);
        check_experiments(&t, &ids, &root, region, true);
        let mut template = template.clone();
        template["Metadata"] = json!({"cfn-lint": {"config": {"regions": [region]}}});
        let file = service.dir.join(format!("lint-{region}.json"));
        fs::write(&file, template.to_string()).unwrap();
        lint_files.push(file);
    }
    lint(&tools, &lint_files, None);
}

/// A region outside the table stops packaging with what to add and where to find it.
#[test]
fn an_unmapped_region_is_refused_with_what_to_add() {
    let Some(tools) = tools(false) else { return };
    let service = ServiceCopy::new("unmapped");
    let placeholder = service.placeholder_zip();
    let output = run(service
        .serverless(&tools)
        .args(["package", "--stage", STAGE, "--region", "eu-wset-1"])
        .env(ZIP_OVERRIDE_ENV, &placeholder));
    assert!(
        !output.status.success(),
        "packaged for eu-wset-1: {}",
        describe(&output)
    );
    let text = describe(&output);
    for wanted in [
        "No AWS AppConfig extension layer for region \"eu-wset-1\"",
        "custom.appconfigExtensionLayers.eu-wset-1.arm64",
        "appconfig-integration-lambda-extensions-versions.html",
    ] {
        assert!(text.contains(wanted), "no {wanted:?} in {text}");
    }
}

/// Issue #14's acceptance: on a fresh copy of the repository with no zip, `npm run
/// package:develop` builds the arm64 zip itself and writes a template cfn-lint passes.
///
/// The copy holds the repository's files (`git ls-files`: tracked and untracked-but-not-ignored,
/// so what a commit would hold) with node_modules linked to this checkout's (what `npm ci`
/// installs). Cargo's target directory is shared with this checkout's (CARGO_TARGET_DIR), so the
/// dependencies compiled for aarch64 before are reused (the copy's own crates are compiled once
/// for its path); the zip itself is written under the copy's own target/lambda/, which starts
/// empty.
#[test]
fn package_develop_on_a_fresh_clone_builds_the_zip_and_a_lint_clean_template() {
    let Some(tools) = tools(true) else { return };
    let root = repo_root();
    let clone = Path::new(env!("CARGO_TARGET_TMPDIR")).join("deploy-fresh-clone");
    fresh_dir(&clone);
    let listed = run(Command::new("git").current_dir(&root).args([
        "ls-files",
        "-z",
        "--cached",
        "--others",
        "--exclude-standard",
    ]));
    assert!(
        listed.status.success(),
        "git ls-files failed: {}",
        describe(&listed)
    );
    for file in String::from_utf8_lossy(&listed.stdout).split('\0') {
        let source = root.join(file);
        if file.is_empty() || !source.is_file() {
            continue; // a deleted but still tracked file
        }
        let target = clone.join(file);
        fs::create_dir_all(target.parent().unwrap()).unwrap();
        fs::copy(&source, &target)
            .unwrap_or_else(|e| panic!("cannot copy {}: {e}", source.display()));
        // Keep the modification time: the copy sits at the same path on every run, so cargo
        // rebuilds its crates only when they changed (the zip is written by every run).
        let modified = fs::metadata(&source).and_then(|m| m.modified()).unwrap();
        fs::File::options()
            .write(true)
            .open(&target)
            .and_then(|file| file.set_modified(modified))
            .unwrap_or_else(|e| panic!("cannot set the time of {}: {e}", target.display()));
    }
    link_node_modules(&clone);
    let zip = clone.join(BUILT_ZIP);
    assert!(
        !zip.exists(),
        "the fresh copy already has {}",
        zip.display()
    );

    let target_dir = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map_or_else(|| root.join("target"), |dir| root.join(dir));
    let output = run(Command::new("npm")
        .current_dir(&clone)
        .args(["run", "package:develop"])
        .env_remove(ZIP_OVERRIDE_ENV)
        .env("CARGO_TARGET_DIR", &target_dir)
        .env("SLS_TELEMETRY_DISABLED", "1")
        .env("SLS_NOTIFICATIONS_MODE", "off"));
    assert!(
        output.status.success(),
        "`npm run package:develop` failed on a fresh copy: {}",
        describe(&output)
    );
    assert!(
        zip.is_file(),
        "`npm run package:develop` wrote no {}: {}",
        zip.display(),
        describe(&output)
    );
    check_aarch64_bootstrap(&zip);

    let template_path = clone.join(".serverless").join(TEMPLATE_FILE);
    lint(
        &tools,
        std::slice::from_ref(&template_path),
        Some("eu-west-1"),
    );
    let template = read_json(&template_path);
    let t = Template::new(&template, &template_path);
    let ids = check_appconfig_resources(&t, &clone);
    check_function(&t, &ids, "eu-west-1");
    check_iam(&t, &ids);
    check_experiments(&t, &ids, &clone, "eu-west-1", false);
}

/// Without cargo-lambda, `serverless package` and `serverless deploy` stop with how to install it
/// (not with "Cannot access package artifact"): the build runs for both commands, before deploy
/// needs AWS at all. PATH holds only node and cargo, CARGO_HOME is empty (so `cargo lambda` is no
/// command here), and HOME is empty with no AWS_* variables (so no credentials could be used).
#[test]
fn package_and_deploy_without_cargo_lambda_say_how_to_install_it() {
    let Some(tools) = tools(false) else { return };
    let service = ServiceCopy::new("no-cargo-lambda");
    let bin = service.dir.join("bin");
    let cargo_home = service.dir.join("cargo-home");
    let home = service.dir.join("home");
    for dir in [&bin, &cargo_home, &home] {
        fs::create_dir_all(dir).unwrap();
    }
    let cargo = env::var_os("CARGO").map_or_else(|| which("cargo"), PathBuf::from);
    symlink(&cargo, &bin.join("cargo"));
    symlink(&which("node"), &bin.join("node"));
    for command in ["package", "deploy"] {
        let mut serverless = service.serverless(&tools);
        for (var, _) in env::vars_os() {
            if var.to_string_lossy().starts_with("AWS_") {
                serverless.env_remove(var);
            }
        }
        let output = run(serverless
            .args([command, "--stage", STAGE, "--region", "eu-central-2"])
            .env_remove(ZIP_OVERRIDE_ENV)
            .env("PATH", &bin)
            .env("CARGO_HOME", &cargo_home)
            .env("HOME", &home));
        let text = describe(&output);
        assert!(
            !output.status.success(),
            "{command} without cargo-lambda: {text}"
        );
        assert!(text.contains("needs cargo-lambda"), "{command}: {text}");
        assert!(
            text.contains("pip install cargo-lambda"),
            "{command}: {text}"
        );
        assert!(
            !text.contains("Cannot access package artifact"),
            "{command}: {text}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Tools and commands

struct Tools {
    serverless: PathBuf,
    cfn_lint: PathBuf,
}

fn repo_root() -> PathBuf {
    // The root package (flag-e2e) has its manifest at the repository root.
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The tools (and cargo-lambda if `build`), or `None` after saying why the test is skipped (a
/// panic when they are required).
fn tools(build: bool) -> Option<Tools> {
    let serverless = repo_root()
        .join("node_modules")
        .join(".bin")
        .join("serverless");
    let mut missing = Vec::new();
    if !serverless.is_file() {
        missing.push(serverless.display().to_string());
    }
    if runs_ok("node", &["--version"]).is_none() {
        missing.push("`node` on PATH".to_string());
    }
    if build && runs_ok("npm", &["--version"]).is_none() {
        missing.push("`npm` on PATH".to_string());
    }
    // Run it, not just look for it: a pyenv shim exists even where cfn-lint is not installed.
    let cfn_lint = runs_ok("cfn-lint", &["--version"]);
    if cfn_lint.is_none() {
        missing.push("`cfn-lint` on PATH".to_string());
    }
    if build && runs_ok("cargo-lambda", &["lambda", "--version"]).is_none() {
        missing.push("`cargo-lambda` on PATH".to_string());
    }
    if missing.is_empty() {
        let cfn_lint = cfn_lint.expect("cfn-lint was found");
        return Some(Tools {
            serverless,
            cfn_lint,
        });
    }

    let message = format!(
        "deployment test: missing {}; run `npm ci` and `pip install cfn-lint cargo-lambda`",
        missing.join(" and ")
    );
    let required = env::var_os(REQUIRE_TOOLS_ENV).is_some_and(|v| !v.is_empty() && v != "0");
    if required {
        panic!("{message} ({REQUIRE_TOOLS_ENV} is set, so a missing tool is a failure)");
    }
    note(&format!(
        "skipped: {message} (set {REQUIRE_TOOLS_ENV}=1 to make this a failure)"
    ));
    None
}

/// The full path of `program` on PATH.
fn which(program: &str) -> PathBuf {
    let path = env::var_os("PATH").unwrap_or_default();
    env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| panic!("`{program}` is not on PATH"))
}

/// The full path of `program` found on PATH, if it is there and `program args` exits 0.
fn runs_ok(program: &str, args: &[&str]) -> Option<PathBuf> {
    let path = env::var_os("PATH")?;
    let found = env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())?;
    let status = Command::new(&found)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .ok()?;
    status.success().then_some(found)
}

/// Straight to the process's stderr: unlike `eprintln!`, not captured (and so hidden) by the test
/// harness when the test passes, so a skip or a warning shows in `cargo test` and CI logs.
fn note(text: &str) {
    let _ = writeln!(io::stderr(), "{text}");
}

fn run(command: &mut Command) -> Output {
    let shown = format!("{command:?}");
    command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {shown}: {e}"))
}

fn fresh_dir(dir: &Path) {
    if dir.exists() {
        fs::remove_dir_all(dir).unwrap_or_else(|e| panic!("cannot clear {}: {e}", dir.display()));
    }
    fs::create_dir_all(dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
}

fn read_json(path: &Path) -> Value {
    let text =
        fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

#[cfg(unix)]
fn symlink(original: &Path, link: &Path) {
    std::os::unix::fs::symlink(original, link).unwrap_or_else(|e| {
        panic!(
            "cannot link {} to {}: {e}",
            link.display(),
            original.display()
        )
    });
}

#[cfg(not(unix))]
fn symlink(original: &Path, link: &Path) {
    std::os::windows::fs::symlink_dir(original, link).unwrap_or_else(|e| {
        panic!(
            "cannot link {} to {}: {e}",
            link.display(),
            original.display()
        )
    });
}

fn link_node_modules(dir: &Path) {
    symlink(&repo_root().join("node_modules"), &dir.join("node_modules"));
}

/// A copy of the service (serverless.yml, package.json, deploy/, the flags file) in its own
/// directory under the tests' temporary directory, with this checkout's node_modules linked.
struct ServiceCopy {
    dir: PathBuf,
}

impl ServiceCopy {
    fn new(name: &str) -> Self {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("deploy-{name}"));
        fresh_dir(&dir);
        let root = repo_root();
        for item in SERVICE_FILES {
            copy_tree(&root.join(item), &dir.join(item));
        }
        link_node_modules(&dir);
        ServiceCopy { dir }
    }

    fn placeholder_zip(&self) -> PathBuf {
        let zip = self.dir.join("placeholder-bootstrap.zip");
        fs::write(&zip, EMPTY_ZIP).unwrap();
        zip
    }

    fn serverless(&self, tools: &Tools) -> Command {
        let mut command = Command::new(&tools.serverless);
        command
            .current_dir(&self.dir)
            .env("SLS_TELEMETRY_DISABLED", "1")
            .env("SLS_NOTIFICATIONS_MODE", "off");
        command
    }

    /// `serverless package --stage develop --region REGION` into its own directory; returns the
    /// update-stack template.
    fn package(&self, tools: &Tools, region: &str, zip: Option<&Path>) -> PathBuf {
        self.package_with(tools, region, zip, &[])
    }

    /// [`package`](Self::package) with `env` set for the command (and [`RUNS_ENV`] unset
    /// unless given).
    fn package_with(
        &self,
        tools: &Tools,
        region: &str,
        zip: Option<&Path>,
        env: &[(&str, &str)],
    ) -> PathBuf {
        let out_dir = self.dir.join(format!("sls-{STAGE}-{region}"));
        let mut command = self.serverless(tools);
        command.env_remove(RUNS_ENV).envs(env.iter().copied());
        command
            .args(["package", "--stage", STAGE, "--region", region, "--package"])
            .arg(&out_dir);
        match zip {
            Some(zip) => command.env(ZIP_OVERRIDE_ENV, zip),
            None => command.env_remove(ZIP_OVERRIDE_ENV),
        };
        let output = run(&mut command);
        assert!(
            output.status.success(),
            "`serverless package --stage {STAGE} --region {region}` failed: {}",
            describe(&output)
        );
        let template = out_dir.join(TEMPLATE_FILE);
        assert!(
            template.is_file(),
            "`serverless package` succeeded but wrote no {}: {}",
            template.display(),
            describe(&output)
        );
        template
    }
}

fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        fs::create_dir_all(to).unwrap();
        for entry in fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            copy_tree(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        fs::create_dir_all(to.parent().unwrap()).unwrap();
        fs::copy(from, to).unwrap_or_else(|e| panic!("cannot copy {}: {e}", from.display()));
    }
}

/// The zip holds `bootstrap`, an aarch64 ELF executable (read with python3's zipfile, as
/// .ci/run does: cargo-lambda deflates it).
fn check_aarch64_bootstrap(zip: &Path) {
    let output = run(Command::new("python3")
        .arg("-c")
        .arg(
            "import sys, zipfile\n\
         elf = zipfile.ZipFile(sys.argv[1]).read('bootstrap')\n\
         assert elf[:4] == b'\\x7fELF', 'bootstrap is not an ELF file'\n\
         machine = int.from_bytes(elf[18:20], 'little')\n\
         assert machine == 183, f'bootstrap is for ELF machine {machine}, not aarch64 (183)'\n\
         print(len(elf))",
        )
        .arg(zip));
    assert!(
        output.status.success(),
        "{} does not hold an aarch64 bootstrap: {}",
        zip.display(),
        describe(&output)
    );
}

/// cfn-lint's exit code is a bit mask: 2 error, 4 warning, 8 informational; 1 means it could not
/// lint at all. Errors fail the test; warnings and notes are printed. `region`: the region to
/// lint for, unless each template names its own in Metadata.cfn-lint.config.regions.
fn lint(tools: &Tools, templates: &[PathBuf], region: Option<&str>) {
    let mut command = Command::new(&tools.cfn_lint);
    if let Some(region) = region {
        command.args(["--regions", region]);
    }
    let output = run(command.arg("--").args(templates));
    let code = output
        .status
        .code()
        .unwrap_or_else(|| panic!("cfn-lint was stopped by a signal: {}", describe(&output)));
    assert_eq!(
        code & 1,
        0,
        "cfn-lint could not lint {templates:?}: {}",
        describe(&output)
    );
    assert_eq!(
        code & 2,
        0,
        "cfn-lint reports errors in {templates:?}: {}",
        describe(&output)
    );
    if code != 0 {
        note(&format!(
            "cfn-lint warnings for {templates:?} (exit {code}): {}",
            describe(&output)
        ));
    }
}

// ---------------------------------------------------------------------------------------------
// Reading the template

struct Template<'a> {
    resources: &'a Map<String, Value>,
    path: &'a Path,
}

impl<'a> Template<'a> {
    fn new(template: &'a Value, path: &'a Path) -> Self {
        let resources = template
            .get("Resources")
            .and_then(Value::as_object)
            .unwrap_or_else(|| panic!("{} has no Resources object", path.display()));
        Template { resources, path }
    }

    fn of_type(&self, resource_type: &str) -> Vec<(&'a str, &'a Value)> {
        self.resources
            .iter()
            .filter(|(_, resource)| {
                resource.get("Type").and_then(Value::as_str) == Some(resource_type)
            })
            .map(|(logical_id, resource)| (logical_id.as_str(), resource))
            .collect()
    }

    /// The logical ID and properties of the only resource of `resource_type`.
    fn one(&self, resource_type: &str) -> (&'a str, &'a Map<String, Value>) {
        let found = self.of_type(resource_type);
        assert_eq!(
            found.len(),
            1,
            "{} should hold exactly one {resource_type}, found {:?}",
            self.path.display(),
            found.iter().map(|(id, _)| *id).collect::<Vec<_>>()
        );
        let (logical_id, resource) = found[0];
        (logical_id, properties(logical_id, resource))
    }
}

fn properties<'a>(logical_id: &str, resource: &'a Value) -> &'a Map<String, Value> {
    resource
        .get("Properties")
        .and_then(Value::as_object)
        .unwrap_or_else(|| panic!("resource {logical_id} has no Properties"))
}

fn get<'a>(props: &'a Map<String, Value>, owner: &str, key: &str) -> &'a Value {
    props.get(key).unwrap_or_else(|| {
        panic!(
            "{owner} has no {key}; it has {:?}",
            props.keys().collect::<Vec<_>>()
        )
    })
}

fn get_str<'a>(props: &'a Map<String, Value>, owner: &str, key: &str) -> &'a str {
    let value = get(props, owner, key);
    value
        .as_str()
        .unwrap_or_else(|| panic!("{owner}.{key} should be a string, is {value}"))
}

/// A value as it reads in `Fn::Sub` syntax: `{"Ref": "X"}` is `${X}`, `{"Fn::GetAtt": ["X", "A"]}`
/// is `${X.A}`, `Fn::Join` and `Fn::Sub` are expanded, plain strings stay.
fn sub_form(value: &Value) -> String {
    if let Some(text) = value.as_str() {
        return text.to_string();
    }
    let object = value
        .as_object()
        .filter(|object| object.len() == 1)
        .unwrap_or_else(|| panic!("unexpected value in a reference position: {value}"));
    let (function, argument) = object.iter().next().expect("one entry");
    match (function.as_str(), argument) {
        ("Ref", Value::String(name)) => format!("${{{name}}}"),
        ("Fn::GetAtt", Value::String(dotted)) => format!("${{{dotted}}}"),
        ("Fn::GetAtt", Value::Array(parts)) if parts.len() == 2 => {
            format!("${{{}.{}}}", sub_form(&parts[0]), sub_form(&parts[1]))
        }
        ("Fn::Sub", Value::String(text)) => text.clone(),
        ("Fn::Sub", Value::Array(parts)) if parts.len() == 2 => {
            let mut text = sub_form(&parts[0]);
            for (name, replacement) in parts[1].as_object().into_iter().flatten() {
                text = text.replace(&format!("${{{name}}}"), &sub_form(replacement));
            }
            text
        }
        ("Fn::Join", Value::Array(parts)) if parts.len() == 2 => {
            let delimiter = sub_form(&parts[0]);
            let pieces = parts[1]
                .as_array()
                .unwrap_or_else(|| panic!("Fn::Join without a list: {value}"));
            pieces
                .iter()
                .map(sub_form)
                .collect::<Vec<_>>()
                .join(&delimiter)
        }
        _ => panic!("unexpected intrinsic function in a reference position: {value}"),
    }
}

/// [`sub_form`] with the ID attributes that equal the resource's `Ref` dropped, so that
/// `${Env.EnvironmentId}` and `${Env}` compare equal (both give the AppConfig ID).
fn id_form(value: &Value) -> String {
    let mut text = sub_form(value);
    for attribute in [
        "ApplicationId",
        "EnvironmentId",
        "ConfigurationProfileId",
        "VersionNumber",
        "Id",
    ] {
        text = text.replace(&format!(".{attribute}}}"), "}");
    }
    text
}

fn reference(logical_id: &str) -> String {
    format!("${{{logical_id}}}")
}

fn assert_refers_to(value: &Value, logical_id: &str, what: &str) {
    assert_eq!(
        id_form(value),
        reference(logical_id),
        "{what} should be the ID of {logical_id} (Ref or Fn::GetAtt), is {value}"
    );
}

// ---------------------------------------------------------------------------------------------
// The checks

/// Logical IDs of the AppConfig resources the function and its role must point at.
struct AppConfigIds {
    application: String,
    environment: String,
    profile: String,
    /// `Name` properties, for a template that passes names instead of IDs.
    names: [String; 3],
}

fn check_appconfig_resources(t: &Template, root: &Path) -> AppConfigIds {
    for resource_type in APPCONFIG_TYPES {
        assert!(
            !t.of_type(resource_type).is_empty(),
            "no {resource_type} in {}",
            t.path.display()
        );
    }

    let (application, app_props) = t.one("AWS::AppConfig::Application");
    let (environment, env_props) = t.one("AWS::AppConfig::Environment");
    assert_refers_to(
        get(env_props, environment, "ApplicationId"),
        application,
        "Environment.ApplicationId",
    );
    assert_eq!(
        get_str(env_props, environment, "Name"),
        STAGE,
        "the AppConfig environment is named after the stage"
    );

    let (profile, profile_props) = t.one("AWS::AppConfig::ConfigurationProfile");
    assert_refers_to(
        get(profile_props, profile, "ApplicationId"),
        application,
        "ConfigurationProfile.ApplicationId",
    );
    assert_eq!(
        get_str(profile_props, profile, "Type"),
        "AWS.AppConfig.FeatureFlags",
        "profile type"
    );
    assert_eq!(
        get_str(profile_props, profile, "LocationUri"),
        "hosted",
        "profile LocationUri"
    );

    let (version, version_props) = t.one("AWS::AppConfig::HostedConfigurationVersion");
    assert_refers_to(
        get(version_props, version, "ApplicationId"),
        application,
        "HostedConfigurationVersion.ApplicationId",
    );
    assert_refers_to(
        get(version_props, version, "ConfigurationProfileId"),
        profile,
        "HostedConfigurationVersion.ConfigurationProfileId",
    );
    assert_eq!(
        get_str(version_props, version, "ContentType"),
        "application/json",
        "hosted ContentType"
    );
    let content = get(version_props, version, "Content");
    let content = content.as_str().unwrap_or_else(|| {
        panic!(
            "HostedConfigurationVersion.Content must be a string (CloudFormation rejects an object, \
             which is what `${{file(./flags.json)}}` inlines); it is {content}"
        )
    });
    let deployed: Value = serde_json::from_str(content).unwrap_or_else(|e| {
        panic!("HostedConfigurationVersion.Content is not JSON ({e}): {content}")
    });
    let flags_path = root.join(FLAGS_FILE);
    let on_disk: Value = serde_json::from_str(
        &fs::read_to_string(&flags_path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", flags_path.display())),
    )
    .unwrap_or_else(|e| panic!("{} is not JSON: {e}", flags_path.display()));
    assert_eq!(
        deployed, on_disk,
        "the hosted flags document differs from {FLAGS_FILE}"
    );

    let (strategy, strategy_props) = t.one("AWS::AppConfig::DeploymentStrategy");
    let (deployment, deployment_props) = t.one("AWS::AppConfig::Deployment");
    assert_refers_to(
        get(deployment_props, deployment, "ApplicationId"),
        application,
        "Deployment.ApplicationId",
    );
    assert_refers_to(
        get(deployment_props, deployment, "EnvironmentId"),
        environment,
        "Deployment.EnvironmentId",
    );
    assert_refers_to(
        get(deployment_props, deployment, "ConfigurationProfileId"),
        profile,
        "Deployment.ConfigurationProfileId",
    );
    assert_refers_to(
        get(deployment_props, deployment, "ConfigurationVersion"),
        version,
        "Deployment.ConfigurationVersion (the hosted version of flags.json)",
    );
    let strategy_id = get(deployment_props, deployment, "DeploymentStrategyId");
    let predefined = strategy_id
        .as_str()
        .is_some_and(|id| id.starts_with("AppConfig."));
    if !predefined {
        assert_refers_to(strategy_id, strategy, "Deployment.DeploymentStrategyId");
    }
    assert_eq!(
        get_str(strategy_props, strategy, "ReplicateTo"),
        "NONE",
        "DeploymentStrategy.ReplicateTo"
    );

    let names = [
        get_str(app_props, application, "Name").to_string(),
        get_str(env_props, environment, "Name").to_string(),
        get_str(profile_props, profile, "Name").to_string(),
    ];
    AppConfigIds {
        application: application.to_string(),
        environment: environment.to_string(),
        profile: profile.to_string(),
        names,
    }
}

/// One `AWS::AppConfig::ExperimentDefinition` per entry of experiments.json, in
/// CloudFormation's flattened treatment shape, on this stack's application, environment and
/// profile, created after the flags' deployment; an `AWS::AppConfig::ExperimentRun` per `Run`
/// only when `runs` were asked for (and the region has them), never with overrides.
fn check_experiments(t: &Template, ids: &AppConfigIds, root: &Path, region: &str, runs: bool) {
    let definitions = t.of_type("AWS::AppConfig::ExperimentDefinition");
    let deployed_runs = t.of_type("AWS::AppConfig::ExperimentRun");
    if NO_EXPERIMENTS.contains(&region) {
        assert!(
            definitions.is_empty() && deployed_runs.is_empty(),
            "{region} has no AppConfig experiments, yet the template declares some"
        );
        return;
    }
    let path = root.join(EXPERIMENTS_FILE);
    let file: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    let experiments = file["experiments"]
        .as_array()
        .expect("an experiments array");
    assert_eq!(
        definitions.len(),
        experiments.len(),
        "one definition per experiment"
    );
    let (deployment, _) = t.one("AWS::AppConfig::Deployment");
    let flattened = |treatment: &Value| {
        let mut t = treatment.as_object().unwrap().clone();
        t.retain(|key, _| {
            ["Enabled", "Weight", "Description", "AttributeValues"].contains(&key.as_str())
        });
        Value::Object(t)
    };
    let mut expected_runs = 0;
    for experiment in experiments {
        let name = experiment["Name"].as_str().unwrap();
        let (id, resource) = definitions
            .iter()
            .find(|(_, r)| r["Properties"]["Name"] == name)
            .unwrap_or_else(|| panic!("no definition of experiment {name}"));
        let props = properties(id, resource);
        assert_refers_to(
            get(props, id, "ApplicationIdentifier"),
            &ids.application,
            "ApplicationIdentifier",
        );
        assert_refers_to(
            get(props, id, "EnvironmentIdentifier"),
            &ids.environment,
            "EnvironmentIdentifier",
        );
        assert_refers_to(
            get(props, id, "ConfigurationProfileIdentifier"),
            &ids.profile,
            "ConfigurationProfileIdentifier",
        );
        for key in [
            "FlagKey",
            "AudienceRule",
            "Hypothesis",
            "AudienceDescription",
            "LaunchCriteria",
        ] {
            assert_eq!(props.get(key), experiment.get(key), "{id}.{key}");
        }
        assert_eq!(
            get(props, id, "Control"),
            &flattened(&experiment["Control"]),
            "{id}.Control"
        );
        let treatments: Vec<Value> = experiment["Treatments"]
            .as_array()
            .unwrap()
            .iter()
            .map(flattened)
            .collect();
        assert_eq!(
            get(props, id, "Treatments"),
            &json!(treatments),
            "{id}.Treatments"
        );
        assert!(
            resource["DependsOn"]
                .as_array()
                .is_some_and(|d| d.contains(&json!(deployment))),
            "{id} must wait for {deployment}: an experiment names a deployed flag"
        );
        let run = deployed_runs.iter().find(|(_, r)| {
            r["Properties"]["ExperimentDefinitionIdentifier"] == json!({"Fn::GetAtt": [id, "Id"]})
        });
        // A run at 0 % exposure exposes nobody once deployed (overrides are local): not deployed.
        let wanted = runs
            && !NO_EXPERIMENT_RUNS.contains(&region)
            && experiment["Run"]["ExposurePercentage"]
                .as_f64()
                .is_some_and(|x| x > 0.0);
        match (wanted, run) {
            (true, Some((run_id, run))) => {
                expected_runs += 1;
                let run_props = properties(run_id, run);
                assert_eq!(
                    get(run_props, run_id, "ExposurePercentage"),
                    &experiment["Run"]["ExposurePercentage"]
                );
                assert!(
                    !run_props.contains_key("TreatmentOverrides"),
                    "overrides are local only"
                );
            }
            (false, None) => {}
            (wanted, run) => panic!("{id}: run wanted {wanted}, deployed {run:?} ({region})"),
        }
    }
    assert_eq!(
        deployed_runs.len(),
        expected_runs,
        "no stray experiment runs"
    );
}

fn check_function(t: &Template, ids: &AppConfigIds, region: &str) {
    let (function, props) = t.one("AWS::Lambda::Function");
    assert_eq!(
        get_str(props, function, "Runtime"),
        "provided.al2023",
        "{function}.Runtime"
    );
    assert_eq!(
        get(props, function, "Architectures"),
        &json!(["arm64"]),
        "{function}.Architectures"
    );

    let layers: Vec<&str> = get(props, function, "Layers")
        .as_array()
        .unwrap_or_else(|| panic!("{function}.Layers is not a list"))
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let expected_layer = expected_layer(region, "arm64");
    assert!(
        layers.contains(&expected_layer.as_str()),
        "{function}.Layers should hold the arm64 AppConfig extension of {region}, {expected_layer}; it is {layers:?}"
    );

    let variables = get(props, function, "Environment")
        .get("Variables")
        .and_then(Value::as_object)
        .unwrap_or_else(|| panic!("{function} has no Environment.Variables"));
    let var = |name: &str| get(variables, &format!("{function} environment"), name);

    // The three coordinates: the resources' IDs (Ref / GetAtt) or their names.
    let coordinates = [
        ("APPCONFIG_APPLICATION", &ids.application, &ids.names[0]),
        ("APPCONFIG_ENVIRONMENT", &ids.environment, &ids.names[1]),
        ("APPCONFIG_CONFIGURATION", &ids.profile, &ids.names[2]),
    ];
    let mut forms = Vec::new();
    for (name, logical_id, resource_name) in coordinates {
        let value = var(name);
        let form = id_form(value);
        assert!(
            form == reference(logical_id) || form == *resource_name,
            "{name} should be the ID of {logical_id} or its name {resource_name:?}, is {value}"
        );
        forms.push(form);
    }

    // The prefetch list names the same configuration, as `app:env:profile` or as the path.
    let prefetch = id_form(var("AWS_APPCONFIG_EXTENSION_PREFETCH_LIST"));
    let colon_form = forms.join(":");
    let path_form = format!(
        "/applications/{}/environments/{}/configurations/{}",
        forms[0], forms[1], forms[2]
    );
    assert!(
        prefetch.split(',').map(str::trim).any(|entry| entry == colon_form || entry == path_form),
        "AWS_APPCONFIG_EXTENSION_PREFETCH_LIST should list {colon_form:?} (or {path_form:?}), is {prefetch:?}"
    );

    let poll = var("AWS_APPCONFIG_EXTENSION_POLL_INTERVAL_SECONDS");
    let poll = poll
        .as_str()
        .map_or_else(|| poll.to_string(), str::to_string);
    let digits = poll.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    assert!(
        !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()),
        "AWS_APPCONFIG_EXTENSION_POLL_INTERVAL_SECONDS should be like 30, 30s or 5m, is {poll:?}"
    );

    let ttl = var("FLAGS_TTL_MS");
    let ttl_text = ttl.as_str().map_or_else(|| ttl.to_string(), str::to_string);
    assert!(
        ttl_text.parse::<u64>().is_ok(),
        "FLAGS_TTL_MS should be milliseconds, is {ttl}"
    );

    let log = var("RUST_LOG");
    assert!(
        log.as_str().is_some_and(|s| !s.is_empty()),
        "RUST_LOG should be set, is {log}"
    );
}

/// Every IAM statement in the template: (where it is, the statement).
fn policy_statements<'a>(t: &Template<'a>) -> Vec<(String, &'a Value)> {
    let mut documents: Vec<(String, &'a Value)> = Vec::new();
    for (role, resource) in t.of_type("AWS::IAM::Role") {
        let props = properties(role, resource);
        for policy in props
            .get("Policies")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(document) = policy.get("PolicyDocument") {
                documents.push((format!("role {role}"), document));
            }
        }
    }
    for policy_type in [
        "AWS::IAM::Policy",
        "AWS::IAM::ManagedPolicy",
        "AWS::IAM::RolePolicy",
    ] {
        for (policy, resource) in t.of_type(policy_type) {
            if let Some(document) = properties(policy, resource).get("PolicyDocument") {
                documents.push((format!("{policy_type} {policy}"), document));
            }
        }
    }
    let mut statements = Vec::new();
    for (place, document) in documents {
        match document.get("Statement") {
            Some(Value::Array(list)) => statements.extend(list.iter().map(|s| (place.clone(), s))),
            Some(single) if single.is_object() => statements.push((place, single)),
            _ => {}
        }
    }
    statements
}

fn as_list(value: Option<&Value>) -> Vec<&Value> {
    match value {
        None => Vec::new(),
        Some(Value::Array(items)) => items.iter().collect(),
        Some(single) => vec![single],
    }
}

/// Whether `action` (possibly a wildcard) covers some AppConfig action.
fn covers_appconfig(action: &str) -> bool {
    let action = action.to_ascii_lowercase();
    match action.find(['*', '?']) {
        Some(at) => {
            let prefix = &action[..at];
            "appconfig:".starts_with(prefix) || prefix.starts_with("appconfig:")
        }
        None => action.starts_with("appconfig:"),
    }
}

fn check_iam(t: &Template, ids: &AppConfigIds) {
    let scoped = format!(
        "arn:${{AWS::Partition}}:appconfig:${{AWS::Region}}:${{AWS::AccountId}}:application/{}/environment/{}/configuration/{}",
        reference(&ids.application),
        reference(&ids.environment),
        reference(&ids.profile)
    );
    let wanted: BTreeSet<&str> = [
        "appconfig:GetLatestConfiguration",
        "appconfig:StartConfigurationSession",
    ]
    .into_iter()
    .collect();

    let mut granted: BTreeSet<String> = BTreeSet::new();
    for (place, statement) in policy_statements(t) {
        assert!(
            statement.get("NotAction").is_none() && statement.get("NotResource").is_none(),
            "{place}: NotAction / NotResource grant more than they say: {statement}"
        );
        let actions: Vec<&str> = as_list(statement.get("Action"))
            .into_iter()
            .filter_map(Value::as_str)
            .collect();
        let appconfig: Vec<&str> = actions
            .iter()
            .copied()
            .filter(|a| covers_appconfig(a))
            .collect();
        if appconfig.is_empty() {
            continue;
        }
        for action in &appconfig {
            assert!(
                !action.contains(['*', '?']),
                "{place}: wildcard action {action:?} grants AppConfig access: {statement}"
            );
        }
        if statement.get("Effect").and_then(Value::as_str) != Some("Allow") {
            continue;
        }
        let resources = as_list(statement.get("Resource"));
        assert!(
            !resources.is_empty(),
            "{place}: AppConfig statement without Resource: {statement}"
        );
        for resource in resources {
            let form = sub_form(resource);
            assert!(
                !form.contains('*'),
                "{place}: AppConfig resource with a wildcard: {form:?}"
            );
            assert_eq!(
                id_form(resource),
                scoped,
                "{place}: AppConfig actions must be granted on exactly this profile's configuration ARN"
            );
        }
        granted.extend(appconfig.iter().map(ToString::to_string));
    }
    let granted: BTreeSet<&str> = granted.iter().map(String::as_str).collect();
    assert_eq!(
        granted, wanted,
        "AppConfig actions allowed by the template's IAM policies"
    );
}
