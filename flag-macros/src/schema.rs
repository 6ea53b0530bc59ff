//! Finding, reading and validating the flags schema (once per compiler process) and the
//! experiments file beside it.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

use flag_schema::{Document, Experiments};
use proc_macro2::{Span, TokenStream};

/// Environment variable naming the schema file (relative to the crate's manifest dir, or absolute).
pub(crate) const ENV_SCHEMA: &str = "FEATURE_FLAGS_SCHEMA";
/// The schema's file name when neither `schema = ...` nor [`ENV_SCHEMA`] says otherwise.
pub(crate) const DEFAULT_FILE: &str = "flags.json";

/// Where the schema comes from, in order: `schema = "..."`, `$FEATURE_FLAGS_SCHEMA`,
/// `$CARGO_MANIFEST_DIR/flags.json`.
pub(crate) fn locate(argument: Option<&str>) -> PathBuf {
    let base = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_default();
    let given = argument.map(PathBuf::from).or_else(|| {
        std::env::var_os(ENV_SCHEMA)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    });
    match given {
        Some(path) if path.is_absolute() => path,
        Some(path) => base.join(path),
        None => base.join(DEFAULT_FILE),
    }
}

/// The path as shown in messages: relative to the manifest dir when inside it.
pub(crate) fn display(path: &Path) -> String {
    let base = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from);
    base.and_then(|b| path.strip_prefix(b).ok().map(|p| p.display().to_string()))
        .unwrap_or_else(|| path.display().to_string())
}

type Loaded = Result<Arc<Document>, Fault>;

/// A schema that cannot be used.
#[derive(Clone)]
pub(crate) struct Fault {
    /// The error, for the first macro of the crate being compiled that meets it (so one crate
    /// build reports it once, not once per call site); `None` for the others, which carry on
    /// quietly. rustc compiles one crate per process, so the first one there always reports it;
    /// a long-lived host (rust-analyzer) reports it once per crate and file version.
    pub message: Option<String>,
    /// What could be read of the file all the same ([`Document::recover`]): `flags!` generates
    /// it, so the error is not followed by another at every use of the module.
    pub recovered: Option<Arc<Document>>,
}

impl Fault {
    /// The error at `at`, or `None` when another macro reported it already.
    pub(crate) fn error(&self, at: Span) -> Option<syn::Error> {
        self.message.as_ref().map(|m| syn::Error::new(at, m))
    }
}

struct Entry {
    stamp: Option<(SystemTime, u64)>,
    loaded: Result<Arc<Document>, (String, Option<Arc<Document>>)>,
    /// The crates (see [`crate_id`]) whose build reported this version's fault already.
    reported: HashSet<String>,
}

/// The crate being compiled, as cargo names it to the compiler (and rust-analyzer to its
/// macro server): its manifest directory and crate name.
fn crate_id() -> String {
    let var = |name| std::env::var(name).unwrap_or_default();
    format!("{}#{}", var("CARGO_MANIFEST_DIR"), var("CARGO_CRATE_NAME"))
}

fn cache() -> &'static Mutex<HashMap<PathBuf, Entry>> {
    static CACHE: OnceLock<Mutex<HashMap<PathBuf, Entry>>> = OnceLock::new();
    CACHE.get_or_init(Mutex::default)
}

#[cfg(test)]
thread_local! {
    /// How many times this thread actually read and validated a schema (for the cache's tests;
    /// per thread, so tests running in parallel do not count each other's reads).
    static PARSES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// The validated schema at `path`. Read and validated once per compiler process (and again only
/// if the file changes, which matters for long-lived hosts such as rust-analyzer); a fault is
/// reported by the first macro of each crate that meets it, per version of the file.
pub(crate) fn load(path: &Path) -> Loaded {
    load_for(path, crate_id())
}

/// [`load`] for the crate `krate`.
fn load_for(path: &Path, krate: String) -> Loaded {
    let stamp = std::fs::metadata(path)
        .ok()
        .map(|m| (m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len()));
    let mut cache = cache().lock().unwrap_or_else(|e| e.into_inner());
    let entry = match cache.get_mut(path) {
        Some(entry) if entry.stamp == stamp => entry,
        _ => {
            let entry = Entry {
                stamp,
                loaded: read(path),
                reported: HashSet::new(),
            };
            cache.insert(path.to_owned(), entry);
            cache.get_mut(path).expect("just inserted")
        }
    };
    match &entry.loaded {
        Ok(document) => Ok(document.clone()),
        Err((message, recovered)) => {
            let first = entry.reported.insert(krate);
            Err(Fault {
                message: first.then(|| message.clone()),
                recovered: recovered.clone(),
            })
        }
    }
}

fn read(path: &Path) -> Result<Arc<Document>, (String, Option<Arc<Document>>)> {
    #[cfg(test)]
    PARSES.with(|p| p.set(p.get() + 1));
    let shown = display(path);
    let text = std::fs::read_to_string(path).map_err(|e| {
        let message = format!(
            "cannot read the flags schema `{shown}`: {e}\n\
             help: put your AppConfig feature-flag document there, or point to it with \
             `schema = \"path\"` or the {ENV_SCHEMA} environment variable (relative to the crate's Cargo.toml)"
        );
        (message, None)
    })?;
    Document::parse(&text).map(Arc::new).map_err(|e| {
        let message = format!("invalid flags schema `{shown}`: {e}");
        (message, Document::recover(&text).map(Arc::new))
    })
}

/// The experiments file's name beside the schema, when `experiments = ...` does not say.
pub(crate) const EXPERIMENTS_FILE: &str = "experiments.json";

/// The experiments of `document`: from `argument` (relative to the crate's `Cargo.toml`; it
/// must exist), else from [`EXPERIMENTS_FILE`] beside the schema at `schema` when it exists
/// (`None` when it does not). Validated against the schema.
pub(crate) fn experiments(
    argument: Option<&str>,
    schema: &Path,
    document: &Document,
) -> Result<Option<(PathBuf, Experiments)>, String> {
    let path = match argument {
        Some(given) => {
            let base = std::env::var_os("CARGO_MANIFEST_DIR")
                .map(PathBuf::from)
                .unwrap_or_default();
            base.join(given)
        }
        None => {
            let beside = schema.with_file_name(EXPERIMENTS_FILE);
            if !beside.exists() {
                return Ok(None);
            }
            beside
        }
    };
    let shown = display(&path);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read the experiments file `{shown}`: {e}"))?;
    Experiments::parse(&text, document)
        .map(|experiments| Some((path, experiments)))
        .map_err(|e| format!("invalid experiments file `{shown}`: {e}"))
}

/// The schema's warnings (what AppConfig may accept but this project cannot fully check or
/// run: [`Document::warnings`]) about `flag` (every flag when `None`), as items that warn at
/// `at` through `#[deprecated]`, the only warning a proc macro has on stable Rust.
pub(crate) fn warnings(
    document: &Document,
    flag: Option<&str>,
    path: &Path,
    at: Span,
) -> TokenStream {
    let shown = display(path);
    document
        .warnings
        .iter()
        .filter(|w| {
            flag.is_none_or(|flag| {
                w.path
                    .strip_prefix("values.")
                    .and_then(|rest| rest.strip_prefix(flag))
                    .is_some_and(|rest| rest.starts_with('.'))
            })
        })
        .map(|w| {
            crate::context::warning("feature_flags_schema_warning", &format!("{shown}: {w}"), at)
        })
        .map(|warning| quote::quote!(const _: () = #warning;))
        .collect()
}

/// Items that make editing the schema at `path` rebuild the crate: rustc records included
/// files (and environment variables read through `option_env!`) in its dep-info, which cargo
/// watches.
pub(crate) fn tracking(path: &Path) -> TokenStream {
    let tracked = path.display().to_string();
    quote::quote! {
        const _: &[u8] = ::core::include_bytes!(#tracked);
        const _: ::core::option::Option<&str> = ::core::option_env!(#ENV_SCHEMA);
    }
}

/// The note of a flag's `#[deprecated]`: the schema marks flag `key` for removal.
pub(crate) fn deprecation_note(
    key: &str,
    deprecation: &flag_schema::Deprecation,
    path: &Path,
) -> String {
    let when = deprecation
        .date
        .as_deref()
        .map(|date| format!(" (removal planned {date})"))
        .unwrap_or_default();
    format!(
        "feature flag `{key}` is marked deprecated in `{}`{when}",
        display(path)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_once_per_process_until_the_file_changes() {
        let dir = std::env::temp_dir().join(format!("flag-macros-cache-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("flags.json");
        std::fs::write(&path, r#"{"version": "1", "flags": {"a": {}}}"#).unwrap();

        let before = PARSES.with(std::cell::Cell::get);
        for _ in 0..500 {
            assert!(load(&path).ok().unwrap().flag("a").is_some());
        }
        assert_eq!(
            PARSES.with(std::cell::Cell::get) - before,
            1,
            "500 expansions, one parse"
        );

        // A changed file (different length, so even coarse mtimes notice) is read again.
        std::fs::write(&path, r#"{"version": "1", "flags": {"a": {}, "bb": {}}}"#).unwrap();
        assert!(load(&path).ok().unwrap().flag("bb").is_some());
        assert_eq!(PARSES.with(std::cell::Cell::get) - before, 2);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn errors_name_the_file() {
        let missing = std::env::temp_dir().join("flag-macros-no-such-dir/flags.json");
        let Err(fault) = load(&missing) else {
            panic!("no such file")
        };
        let err = fault.message.unwrap();
        assert!(err.starts_with("cannot read the flags schema `"), "{err}");
        assert!(err.contains("flag-macros-no-such-dir/flags.json"), "{err}");
        // Reported once per compiler process: the next macro to meet it carries on quietly.
        let Err(again) = load(&missing) else {
            panic!("no such file")
        };
        assert!(again.message.is_none() && again.recovered.is_none());
    }

    #[test]
    fn a_broken_schema_is_reported_once_and_read_as_far_as_it_goes() {
        let dir = std::env::temp_dir().join(format!("flag-macros-fault-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("flags.json");
        std::fs::write(&path, r#"{"version": "1", "flags": {"a": {},}}"#).unwrap();
        let faults: Vec<Fault> = (0..3).map(|_| load(&path).err().unwrap()).collect();
        let messages: Vec<_> = faults.iter().filter_map(|f| f.message.as_ref()).collect();
        assert_eq!(messages.len(), 1, "{messages:?}");
        assert!(messages[0].contains("line 1, column"), "{}", messages[0]);
        assert!(faults
            .iter()
            .all(|f| f.recovered.as_ref().unwrap().flag("a").is_some()));
        // Another crate of the same build host (rust-analyzer) reading the same file: reported
        // to it too.
        let other = load_for(&path, "elsewhere#other_crate".to_owned());
        assert!(other.err().unwrap().message.is_some());
        // A new version of the file, broken again: reported again.
        std::fs::write(&path, r#"{"version": "1", "flags": {"a": {}, "b": {},}}"#).unwrap();
        assert!(load(&path).err().unwrap().message.is_some());
        let _ = std::fs::remove_dir_all(dir);
    }
}
