//! The deployment, checked offline: `serverless package` renders serverless.yml into the
//! CloudFormation template that `serverless deploy` would submit (no AWS account or network
//! needed), cfn-lint validates it against the CloudFormation resource schemas, and the assertions
//! below check what the project relies on: runtime, architecture, the AppConfig extension layer of
//! the region, least-privilege IAM, the AppConfig resources, the flags document, the environment.
//!
//! Tools: `npm ci` (Serverless Framework v3 in node_modules/) and `pip install cfn-lint`. Without
//! them each test prints "skipped: ..." and passes, unless FLAGS_REQUIRE_DEPLOY_TOOLS is set (CI
//! sets it), which turns a missing tool into a failure.
//!
//! `serverless package` refuses to run unless the function's zip exists (it checks the path and
//! hashes the file for the Lambda version resource). When target/lambda/example-lambda/bootstrap.zip
//! has not been built (`cargo lambda build --release --arm64 --output-format zip -p example-lambda`),
//! these tests point CHECKOUT_LAMBDA_ZIP (read by serverless.yml) at an empty placeholder zip under
//! target/. A real `serverless deploy` needs the real zip.

use std::collections::BTreeSet;
use std::env;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;

use serde_json::{json, Map, Value};

const STAGE: &str = "develop";
const BUILT_ZIP: &str = "target/lambda/example-lambda/bootstrap.zip";
const ZIP_OVERRIDE_ENV: &str = "CHECKOUT_LAMBDA_ZIP";
const FLAGS_FILE: &str = "example-lambda/flags.json";
const REQUIRE_TOOLS_ENV: &str = "FLAGS_REQUIRE_DEPLOY_TOOLS";
const TEMPLATE_FILE: &str = "cloudformation-template-update-stack.json";

/// `serverless package` stages everything in `<service dir>/.serverless/` (deleting what is
/// there) and only then moves it to the `--package` directory, so two runs in the same service
/// directory at once break each other (ENOENT / ENOTEMPTY on .serverless, or one region's template
/// landing in the other's directory). Distinct `--package` directories are not enough: runs are
/// serialised through this lock. (A run also removes a .serverless/ left by `npm run package:develop`.)
static SERVERLESS_RUN: Mutex<()> = Mutex::new(());

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

#[test]
fn develop_stack_in_eu_west_1() {
    check_stack("eu-west-1");
}

#[test]
fn develop_stack_in_us_east_1() {
    check_stack("us-east-1");
}

/// The arm64 AWS AppConfig extension layer the template must use in `region` (AppConfig user
/// guide, "Available versions of the AWS AppConfig Agent Lambda extension", 2.0.17054.0). This is
/// the expectation, so it is written out here rather than read from serverless.yml.
fn expected_arm64_layer(region: &str) -> String {
    let (publisher, layer_version) = match region {
        "eu-west-1" => ("434848589818", 241),
        "us-east-1" => ("027255383542", 254),
        other => panic!("no expected AppConfig extension layer written down for {other}"),
    };
    format!(
        "arn:aws:lambda:{region}:{publisher}:layer:AWS-AppConfig-Extension-Arm64:{layer_version}"
    )
}

fn check_stack(region: &str) {
    let Some(tools) = tools() else { return };
    let root = repo_root();

    let template_path = package(&tools, &root, region);
    lint(&tools, &template_path, region);

    let text = fs::read_to_string(&template_path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", template_path.display()));
    let template: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", template_path.display()));
    let t = Template::new(&template, &template_path);

    let ids = check_appconfig_resources(&t, &root);
    check_function(&t, &ids, region);
    check_iam(&t, &ids);
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

/// The tools, or `None` after saying why the test is skipped (a panic when they are required).
fn tools() -> Option<Tools> {
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
    // Run it, not just look for it: a pyenv shim exists even where cfn-lint is not installed.
    let cfn_lint = runs_ok("cfn-lint", &["--version"]);
    if cfn_lint.is_none() {
        missing.push("`cfn-lint` on PATH".to_string());
    }
    if missing.is_empty() {
        let cfn_lint = cfn_lint.expect("cfn-lint was found");
        return Some(Tools {
            serverless,
            cfn_lint,
        });
    }

    let message = format!(
        "deployment template test: missing {}; run `npm ci` and `pip install cfn-lint`",
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

fn describe(output: &Output) -> String {
    format!(
        "{}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `serverless package --stage develop --region REGION` into its own directory under target/
/// (so tests for different regions can run in parallel); returns the update-stack template.
fn package(tools: &Tools, root: &Path, region: &str) -> PathBuf {
    let target = root.join("target");
    let out_dir = target.join(format!("sls-{STAGE}-{region}"));
    if out_dir.exists() {
        fs::remove_dir_all(&out_dir)
            .unwrap_or_else(|e| panic!("cannot clear {}: {e}", out_dir.display()));
    }
    fs::create_dir_all(&target)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", target.display()));

    let mut command = Command::new(&tools.serverless);
    command
        .current_dir(root)
        .args(["package", "--stage", STAGE, "--region", region, "--package"])
        .arg(&out_dir)
        .env("SLS_TELEMETRY_DISABLED", "1")
        .env("SLS_NOTIFICATIONS_MODE", "off");
    if root.join(BUILT_ZIP).is_file() {
        command.env_remove(ZIP_OVERRIDE_ENV);
    } else {
        let placeholder = target.join(format!("sls-{STAGE}-{region}-placeholder-bootstrap.zip"));
        fs::write(&placeholder, EMPTY_ZIP)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", placeholder.display()));
        note(&format!(
            "note: {BUILT_ZIP} is not built, and `serverless package` needs the zip to exist; \
             packaging with the placeholder {} instead (build the real one with `cargo lambda \
             build --release --arm64 --output-format zip -p example-lambda`; deploying needs it)",
            placeholder.display()
        ));
        command.env(ZIP_OVERRIDE_ENV, &placeholder);
    }

    let output = {
        // A test that panicked while holding the lock left nothing half-done that matters here.
        let _serialised = SERVERLESS_RUN
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        run(&mut command)
    };
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

/// cfn-lint's exit code is a bit mask: 2 error, 4 warning, 8 informational; 1 means it could not
/// lint at all. Errors fail the test; warnings and notes are printed.
fn lint(tools: &Tools, template: &Path, region: &str) {
    let output = run(Command::new(&tools.cfn_lint)
        .args(["--regions", region, "--"])
        .arg(template));
    let code = output
        .status
        .code()
        .unwrap_or_else(|| panic!("cfn-lint was stopped by a signal: {}", describe(&output)));
    assert_eq!(
        code & 1,
        0,
        "cfn-lint could not lint {}: {}",
        template.display(),
        describe(&output)
    );
    assert_eq!(
        code & 2,
        0,
        "cfn-lint reports errors in {}: {}",
        template.display(),
        describe(&output)
    );
    if code != 0 {
        note(&format!(
            "cfn-lint warnings for {} (exit {code}): {}",
            template.display(),
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
    let expected_layer = expected_arm64_layer(region);
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
