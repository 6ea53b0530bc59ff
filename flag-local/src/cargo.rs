//! Finding and building a Lambda binary with cargo, chosen with cargo's own options.

use std::fmt;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

// `cargo metadata` and cargo's build messages are read as JSON here rather than with the
// `cargo_metadata` crate: that crate turns on serde_json's `unbounded_depth` feature, which
// feature unification would switch on for the whole workspace, flag-runtime's parsing of agent
// answers included (no recursion limit: a deeply nested answer would overflow the stack).

/// Which binary to build, with the names cargo gives these options (`--manifest-path`,
/// `--package`, `--bin`, `--release`).
///
/// ```no_run
/// let built = flag_local::CargoBinary::new()
///     .manifest_path("path/to/my-lambda/Cargo.toml")
///     .build()?;
/// println!("{} from {}", built.name, built.executable.display());
/// # Ok::<(), flag_local::BuildError>(())
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct CargoBinary {
    manifest_path: Option<PathBuf>,
    package: Option<String>,
    bin: Option<String>,
    release: bool,
}

/// A binary [`CargoBinary::build`] built.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BuiltBinary {
    /// The executable cargo wrote.
    pub executable: PathBuf,
    /// The binary target's name.
    pub name: String,
    /// The name of the package it belongs to.
    pub package: String,
    /// The directory of that package's `Cargo.toml` (where `flags.json` and `events/` are looked
    /// for by default).
    pub package_dir: PathBuf,
    /// The package's `[package.metadata.flag-local]` table (`Value::Null` if it has none).
    pub settings: Value,
}

/// Why [`CargoBinary::build`] has no binary.
#[derive(Debug)]
#[non_exhaustive]
pub enum BuildError {
    /// `cargo metadata` failed (no manifest there, a malformed one, no cargo): what it said.
    Metadata(String),
    /// No package of that name in the workspace.
    NoSuchPackage {
        /// The `--package` given.
        package: String,
        /// The workspace's packages.
        known: Vec<String>,
    },
    /// Nothing to run: no binary target (of that name).
    NoBinary {
        /// What was searched, for the message.
        searched: String,
    },
    /// More than one binary could be meant.
    Ambiguous {
        /// `package/bin` of each candidate.
        candidates: Vec<String>,
    },
    /// `cargo build` could not start or failed (its diagnostics went to stderr).
    Build(std::io::Error),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::Metadata(why) => write!(f, "cannot read the cargo manifest: {why}"),
            BuildError::NoSuchPackage { package, known } => write!(
                f,
                "no package `{package}` in the workspace (packages: {})",
                known.join(", ")
            ),
            BuildError::NoBinary { searched } => {
                write!(f, "no bin target to run in {searched}")
            }
            BuildError::Ambiguous { candidates } => write!(
                f,
                "several binaries could be meant: {}; pick one with --package and/or --bin",
                candidates.join(", ")
            ),
            BuildError::Build(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BuildError::Build(e) => Some(e),
            _ => None,
        }
    }
}

impl CargoBinary {
    /// The binary of the package in the current directory (as `cargo run` finds it).
    pub fn new() -> Self {
        Self::default()
    }

    /// `--manifest-path`: the `Cargo.toml` of the crate or workspace.
    pub fn manifest_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.manifest_path = Some(path.into());
        self
    }

    /// `--package`: the package inside a workspace.
    pub fn package(mut self, package: impl Into<String>) -> Self {
        self.package = Some(package.into());
        self
    }

    /// `--bin`: the binary target, when the package has several.
    pub fn bin(mut self, bin: impl Into<String>) -> Self {
        self.bin = Some(bin.into());
        self
    }

    /// `--release`: the release profile.
    pub fn release(mut self, release: bool) -> Self {
        self.release = release;
        self
    }

    /// Chooses the binary (`cargo metadata`), builds it with the cargo that runs us (`$CARGO`,
    /// else `cargo` on PATH) and returns where it is. Cargo's own output goes to our stderr.
    pub fn build(&self) -> Result<BuiltBinary, BuildError> {
        let manifest = match &self.manifest_path {
            Some(path) => path.clone(),
            None => find_manifest()?,
        };
        let metadata = metadata(&manifest)?;
        let chosen = self.choose(&metadata, &manifest)?;

        let mut command = cargo();
        command
            .arg("build")
            .arg("--manifest-path")
            .arg(&chosen.manifest_path)
            .args(["--message-format=json-render-diagnostics", "--package"])
            .arg(&chosen.spec)
            .args(["--bin", &chosen.bin]);
        if self.release {
            command.arg("--release");
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| {
                BuildError::Build(std::io::Error::new(
                    e.kind(),
                    format!("cannot run cargo build: {e}"),
                ))
            })?;
        let mut executable = None;
        let stdout = BufReader::new(child.stdout.take().expect("piped"));
        for line in stdout.lines().map_while(Result::ok) {
            let Ok(message) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            let is_bin = message["target"]["kind"]
                .as_array()
                .is_some_and(|kinds| kinds.iter().any(|k| k == "bin"));
            if message["reason"] == "compiler-artifact"
                && message["target"]["name"] == chosen.bin.as_str()
                && is_bin
            {
                executable = message["executable"].as_str().map(PathBuf::from);
            }
        }
        let status = child.wait().map_err(BuildError::Build)?;
        if !status.success() {
            return Err(BuildError::Build(std::io::Error::other(format!(
                "cargo build of `{}` (package {}) failed",
                chosen.bin, chosen.package
            ))));
        }
        let executable = executable.ok_or_else(|| {
            BuildError::Build(std::io::Error::other(format!(
                "cargo build reported no executable for `{}`",
                chosen.bin
            )))
        })?;
        Ok(BuiltBinary {
            executable,
            name: chosen.bin,
            package: chosen.package,
            package_dir: chosen
                .manifest_path
                .parent()
                .map_or_else(PathBuf::new, Path::to_owned),
            settings: chosen.settings,
        })
    }

    /// The package and binary meant, as cargo would choose them: `--package` (else the package
    /// of the manifest, else, at the workspace root, the workspace's default members), then
    /// `--bin` (else the package's `default-run`, else the only one).
    fn choose(&self, metadata: &Value, manifest: &Path) -> Result<Chosen, BuildError> {
        let empty = Vec::new();
        let all = metadata["packages"].as_array().unwrap_or(&empty);
        let ids = |key: &str| -> Vec<&str> {
            metadata[key]
                .as_array()
                .map(|ids| ids.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default()
        };
        let members = ids("workspace_members");
        let workspace: Vec<&Value> = all
            .iter()
            .filter(|p| p["id"].as_str().is_some_and(|id| members.contains(&id)))
            .collect();
        let packages: Vec<&Value> = match &self.package {
            Some(name) => {
                let found = workspace
                    .iter()
                    .find(|p| p["name"] == name.as_str())
                    .ok_or_else(|| BuildError::NoSuchPackage {
                        package: name.clone(),
                        known: workspace.iter().map(|p| text(&p["name"])).collect(),
                    })?;
                vec![*found]
            }
            None => {
                let manifest = manifest
                    .canonicalize()
                    .unwrap_or_else(|_| manifest.to_owned());
                let root = workspace.iter().find(|p| {
                    p["manifest_path"]
                        .as_str()
                        .and_then(|path| Path::new(path).canonicalize().ok())
                        .is_some_and(|path| path == manifest)
                });
                let at_workspace_root = manifest.parent().is_some_and(|dir| {
                    Path::new(&text(&metadata["workspace_root"]))
                        .canonicalize()
                        .is_ok_and(|root| root == dir)
                });
                match root {
                    // A member's own manifest: that package, binaries or not (as `cargo run`).
                    Some(root) if !at_workspace_root => vec![*root],
                    // The workspace root: its default members (the root package unless
                    // `default-members` says otherwise).
                    _ => {
                        let defaults = ids("workspace_default_members");
                        workspace
                            .iter()
                            .filter(|p| {
                                defaults.is_empty()
                                    || p["id"].as_str().is_some_and(|id| defaults.contains(&id))
                            })
                            .copied()
                            .collect()
                    }
                }
            }
        };
        let mut candidates: Vec<(&Value, String)> = packages
            .iter()
            .flat_map(|package| {
                bins(package)
                    .into_iter()
                    .filter(|name| self.bin.as_deref().is_none_or(|bin| name == bin))
                    .map(move |name| (*package, name))
            })
            .collect();
        // One package with several binaries and a `default-run`: that one, as `cargo run`.
        if let ([package], None) = (packages.as_slice(), &self.bin) {
            if let Some(default_run) = package["default_run"].as_str() {
                if candidates.len() > 1 {
                    candidates.retain(|(_, name)| name == default_run);
                }
            }
        }
        match candidates.len() {
            1 => {
                let (package, bin) = candidates.remove(0);
                Ok(Chosen {
                    package: text(&package["name"]),
                    spec: format!("{}@{}", text(&package["name"]), text(&package["version"])),
                    bin,
                    manifest_path: PathBuf::from(text(&package["manifest_path"])),
                    settings: package["metadata"]["flag-local"].clone(),
                })
            }
            0 => Err(BuildError::NoBinary {
                searched: describe_search(
                    &packages,
                    self.bin.as_deref(),
                    Path::new(&text(&metadata["workspace_root"])),
                ),
            }),
            _ => Err(BuildError::Ambiguous {
                candidates: candidates
                    .iter()
                    .map(|(package, bin)| format!("{}/{bin}", text(&package["name"])))
                    .collect(),
            }),
        }
    }
}

/// The package and binary [`CargoBinary::choose`] settled on.
struct Chosen {
    package: String,
    /// `name@version`: unambiguous even when a dependency has the same name.
    spec: String,
    bin: String,
    manifest_path: PathBuf,
    settings: Value,
}

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

/// The names of a package's binary targets.
fn bins(package: &Value) -> Vec<String> {
    package["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| {
            t["kind"]
                .as_array()
                .is_some_and(|kinds| kinds.iter().any(|k| k == "bin"))
        })
        .map(|t| text(&t["name"]))
        .collect()
}

/// The `Cargo.toml` cargo would use here: the nearest one in this directory or above.
fn find_manifest() -> Result<PathBuf, BuildError> {
    let here = std::env::current_dir()
        .map_err(|e| BuildError::Metadata(format!("no current directory: {e}")))?;
    here.ancestors()
        .map(|dir| dir.join("Cargo.toml"))
        .find(|manifest| manifest.is_file())
        .ok_or_else(|| {
            BuildError::Metadata(format!(
                "could not find `Cargo.toml` in `{}` or any parent directory; pass --manifest-path",
                here.display()
            ))
        })
}

/// `cargo metadata --no-deps` of `manifest`.
fn metadata(manifest: &Path) -> Result<Value, BuildError> {
    let output = cargo()
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--manifest-path",
        ])
        .arg(manifest)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| BuildError::Metadata(format!("cannot run cargo metadata: {e}")))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(BuildError::Metadata(
            stderr.trim().trim_start_matches("error: ").to_owned(),
        ));
    }
    serde_json::from_slice(&output.stdout)
        .map_err(|e| BuildError::Metadata(format!("cargo metadata printed no JSON: {e}")))
}

fn describe_search(packages: &[&Value], bin: Option<&str>, root: &Path) -> String {
    let names: Vec<String> = packages.iter().map(|p| text(&p["name"])).collect();
    let what = match bin {
        Some(bin) => format!(" named `{bin}`"),
        None => String::new(),
    };
    format!(
        "{}{what} (workspace {})",
        if names.is_empty() {
            "no package".to_owned()
        } else {
            format!("package(s) {}", names.join(", "))
        },
        root.display()
    )
}
