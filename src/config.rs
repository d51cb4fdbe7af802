//! Where the token and base URL come from, and the credentials file shared with the official
//! OpenTrain CLI: `${XDG_CONFIG_HOME:-~/.config}/opentrain/cli.json`, that literal path on every
//! platform.
//!
//! Precedence: `OPENTRAIN_PERSONAL_API_TOKEN` wins outright, and then the file is not read for
//! calls at all; otherwise the file's `apiToken`; otherwise no token. The base URL is
//! `OPENTRAIN_API_BASE_URL`, else the file's `baseUrl` (only when the env token is not set, so a
//! file can never redirect an env token), else `https://app.opentrain.ai`.
//!
//! The file is read again whenever it changed (so `opentrain auth login` takes effect without a
//! restart) and written atomically: a temp file in the same directory, mode 0600, fsynced and
//! renamed over the old one, under an in-process mutex plus an advisory lock on `cli.json.lock`.
//! Keys this server does not know are kept on every write. A file that is not valid JSON is never
//! silently replaced.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

use serde_json::{Map, Value};
use url::Url;

use crate::secret::{Known, Secret};

pub const ENV_TOKEN: &str = "OPENTRAIN_PERSONAL_API_TOKEN";
pub const ENV_BASE_URL: &str = "OPENTRAIN_API_BASE_URL";
pub const DEFAULT_BASE_URL: &str = "https://app.opentrain.ai";

/// Keys of `cli.json` this server reads and writes. All others are preserved untouched.
pub const KEY_API_TOKEN: &str = "apiToken";
pub const KEY_BASE_URL: &str = "baseUrl";
pub const KEY_CLAIM_TOKEN: &str = "claimToken";

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "the credentials file {path} is not valid: {message}. Fix it, or delete it to start over \
         (it is shared with the OpenTrain CLI); it was not modified"
    )]
    Corrupt { path: PathBuf, message: String },
    #[error("could not {action} the credentials file {path}: {message}")]
    Io {
        path: PathBuf,
        action: &'static str,
        message: String,
    },
    #[error("the base URL {url:?} from {origin} is not usable: {reason}")]
    BaseUrl {
        origin: String,
        url: String,
        reason: String,
    },
    #[error("cannot locate the credentials file: neither XDG_CONFIG_HOME nor HOME is set")]
    NoHome,
}

/// Where the token in use came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenSource {
    Env,
    File(PathBuf),
    None,
}

impl std::fmt::Display for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenSource::Env => write!(f, "the {ENV_TOKEN} environment variable"),
            TokenSource::File(p) => write!(f, "the credentials file {}", p.display()),
            TokenSource::None => f.write_str("nowhere (no token configured)"),
        }
    }
}

/// What one call runs with.
#[derive(Clone, Debug)]
pub struct Settings {
    pub token: Option<Secret>,
    pub token_source: TokenSource,
    pub base_url: Url,
    /// `OPENTRAIN_API_BASE_URL`, `baseUrl in <path>`, or `the default`.
    pub base_url_origin: String,
}

/// The keys of the credentials file this server understands.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileCreds {
    pub api_token: Option<Secret>,
    pub base_url: Option<String>,
    pub claim_token: Option<Secret>,
    /// False when there is no file at all.
    pub exists: bool,
}

/// What to do when a write finds the existing file unparseable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnCorrupt {
    /// Refuse to write (the default: never replace a file we cannot read).
    Refuse,
    /// Move it aside to `cli.json.corrupt-<unix time>` and start from an empty object. Only for
    /// an explicit human or agent decision (`force`).
    MoveAside,
}

/// Identity of a file version: any write or rename changes at least one of these.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
    #[cfg(unix)]
    ino: u64,
    #[cfg(unix)]
    ctime: (i64, i64),
}

impl Stamp {
    fn of(meta: &fs::Metadata) -> Stamp {
        #[cfg(unix)]
        use std::os::unix::fs::MetadataExt;
        Stamp {
            len: meta.len(),
            modified: meta.modified().ok(),
            #[cfg(unix)]
            ino: meta.ino(),
            #[cfg(unix)]
            ctime: (meta.ctime(), meta.ctime_nsec()),
        }
    }
}

type Loaded = Result<Arc<FileCreds>, ConfigError>;

pub struct Config {
    path: Option<PathBuf>,
    env_token: Option<Secret>,
    env_base_url: Option<String>,
    /// `env_base_url` parsed, on first use: it cannot change, and every call needs it.
    env_base_url_parsed: OnceLock<Result<Url, ConfigError>>,
    cache: Mutex<Option<(Option<Stamp>, Loaded)>>,
    write_lock: Mutex<()>,
    /// Every credential seen: the env token, each version of the file's tokens, tokens received.
    known: Arc<Known>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("path", &self.path)
            .field("env_token", &self.env_token)
            .field("env_base_url", &self.env_base_url)
            .finish_non_exhaustive()
    }
}

/// `$XDG_CONFIG_HOME/opentrain/cli.json` when that variable is set and absolute, else
/// `$HOME/.config/opentrain/cli.json` (falling back to the OS's idea of home when HOME is unset).
pub fn default_path(xdg_config_home: Option<&str>, home: Option<&str>) -> Option<PathBuf> {
    let base = match xdg_config_home.filter(|x| Path::new(x).is_absolute()) {
        Some(xdg) => PathBuf::from(xdg),
        None => {
            let home = home
                .filter(|h| !h.is_empty())
                .map(PathBuf::from)
                .or_else(dirs::home_dir)?;
            home.join(".config")
        }
    };
    Some(base.join("opentrain").join("cli.json"))
}

impl Config {
    /// Reads the environment once, at start-up.
    pub fn from_env() -> Config {
        let var = |k: &str| std::env::var(k).ok();
        Config::new(
            default_path(var("XDG_CONFIG_HOME").as_deref(), var("HOME").as_deref()),
            var(ENV_TOKEN).as_deref(),
            var(ENV_BASE_URL).as_deref(),
        )
    }

    /// A configuration with explicit inputs (tests use this; nothing global is read).
    pub fn new(
        path: Option<PathBuf>,
        env_token: Option<&str>,
        env_base_url: Option<&str>,
    ) -> Config {
        let env_token = env_token.and_then(Secret::new);
        let known = Arc::new(Known::default());
        if let Some(token) = &env_token {
            known.add(token);
        }
        Config {
            path,
            env_token,
            env_base_url: env_base_url
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
            env_base_url_parsed: OnceLock::new(),
            cache: Mutex::new(None),
            write_lock: Mutex::new(()),
            known,
        }
    }

    /// Every credential this configuration has known (see [`Known`]); the log writer shares it.
    pub fn known(&self) -> &Arc<Known> {
        &self.known
    }

    /// Remembers a credential this process received (registration, claim), so it is masked
    /// everywhere from now on, saved or not.
    pub fn remember(&self, secret: &Secret) {
        self.known.add(secret);
    }

    fn remember_file(&self, creds: &FileCreds) {
        for secret in [&creds.api_token, &creds.claim_token].into_iter().flatten() {
            self.known.add(secret);
        }
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    fn require_path(&self) -> Result<&Path, ConfigError> {
        self.path.as_deref().ok_or(ConfigError::NoHome)
    }

    pub fn env_token(&self) -> Option<&Secret> {
        self.env_token.as_ref()
    }

    /// The token, its source and the base URL a call should use.
    pub fn settings(&self) -> Result<Settings, ConfigError> {
        if let Some(token) = &self.env_token {
            let (base_url, base_url_origin) = self.base_url(None)?;
            return Ok(Settings {
                token: Some(token.clone()),
                token_source: TokenSource::Env,
                base_url,
                base_url_origin,
            });
        }
        let file = self.read()?;
        let (base_url, base_url_origin) = self.base_url(Some(&file))?;
        let (token, token_source) = match (&file.api_token, &self.path) {
            (Some(t), Some(path)) => (Some(t.clone()), TokenSource::File(path.clone())),
            _ => (None, TokenSource::None),
        };
        Ok(Settings {
            token,
            token_source,
            base_url,
            base_url_origin,
        })
    }

    /// The base URL when no file is consulted (env, else default); used where the file is
    /// unreadable but a forced registration must still know where to go.
    pub fn base_url_without_file(&self) -> Result<(Url, String), ConfigError> {
        self.base_url(None)
    }

    fn base_url(&self, file: Option<&FileCreds>) -> Result<(Url, String), ConfigError> {
        if let Some(raw) = &self.env_base_url {
            let parsed = self
                .env_base_url_parsed
                .get_or_init(|| parse_base_url(raw, ENV_BASE_URL));
            return parsed.clone().map(|u| (u, ENV_BASE_URL.to_owned()));
        }
        if let Some(raw) = file.and_then(|f| f.base_url.as_deref()) {
            let origin = format!(
                "{KEY_BASE_URL} in {}",
                self.path
                    .as_deref()
                    .unwrap_or(Path::new("cli.json"))
                    .display()
            );
            return parse_base_url(raw, &origin).map(|u| (u, origin));
        }
        static DEFAULT: OnceLock<Result<Url, ConfigError>> = OnceLock::new();
        let url = DEFAULT
            .get_or_init(|| parse_base_url(DEFAULT_BASE_URL, "the default"))
            .clone()?;
        Ok((url, "the default".to_owned()))
    }

    /// The file's contents as this server understands them (an absent file is empty). Cached;
    /// re-read when the file's size, times or inode change.
    pub fn read(&self) -> Result<Arc<FileCreds>, ConfigError> {
        let path = self.require_path()?;
        let stamp = match fs::metadata(path) {
            Ok(meta) => Some(Stamp::of(&meta)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io_error(path, "read", &e)),
        };
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((cached_stamp, loaded)) = cache.as_ref()
            && *cached_stamp == stamp
        {
            return loaded.clone();
        }
        let loaded = match stamp {
            None => Ok(Arc::new(FileCreds::default())),
            Some(_) => load_file(path).map(Arc::new),
        };
        if let Ok(creds) = &loaded {
            self.remember_file(creds);
        }
        if let Err(e) = &loaded {
            tracing::warn!("{e}");
        }
        *cache = Some((stamp, loaded.clone()));
        loaded
    }

    /// Read-modify-write of the whole file under both locks. `edit` sees the current JSON object
    /// (unknown keys included) and changes what it must. Returns the path written.
    pub fn update(
        &self,
        on_corrupt: OnCorrupt,
        edit: impl FnOnce(&mut Map<String, Value>),
    ) -> Result<PathBuf, ConfigError> {
        let path = self.require_path()?.to_path_buf();
        let _guard = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        let dir = path.parent().unwrap_or(Path::new("."));
        create_private_dir(dir).map_err(|e| io_error(dir, "create the directory of", &e))?;
        let lock_path = dir.join("cli.json.lock");
        let lock_file = open_private(&lock_path, false)
            .map_err(|e| io_error(&lock_path, "open the lock file of", &e))?;
        lock_file
            .lock()
            .map_err(|e| io_error(&lock_path, "lock", &e))?;
        remove_stale_temp_files(&path);

        let mut object = match fs::read(&path) {
            Ok(bytes) => match parse_file(&bytes) {
                Ok((creds, object)) => {
                    // The tokens about to be replaced stay masked for the rest of the session.
                    self.remember_file(&creds);
                    object
                }
                Err(message) => match on_corrupt {
                    OnCorrupt::Refuse => return Err(ConfigError::Corrupt { path, message }),
                    OnCorrupt::MoveAside => {
                        let aside = corrupt_aside_path(&path);
                        fs::rename(&path, &aside).map_err(|e| io_error(&path, "move aside", &e))?;
                        tracing::warn!(
                            "moved the unreadable credentials file to {}",
                            aside.display()
                        );
                        Map::new()
                    }
                },
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Map::new(),
            Err(e) => return Err(io_error(&path, "read", &e)),
        };
        edit(&mut object);
        for key in [KEY_API_TOKEN, KEY_CLAIM_TOKEN] {
            if let Some(secret) = object
                .get(key)
                .and_then(Value::as_str)
                .and_then(Secret::new)
            {
                self.known.add(&secret);
            }
        }
        let mut text = serde_json::to_string_pretty(&Value::Object(object))
            .map_err(|e| io_error(&path, "serialize", &std::io::Error::other(e)))?;
        text.push('\n');
        write_atomically(&path, text.as_bytes()).map_err(|e| io_error(&path, "write", &e))?;
        drop(lock_file);
        // The next read sees a new inode and reloads; dropping the cache makes that certain even
        // on file systems with coarse timestamps.
        *self.cache.lock().unwrap_or_else(|p| p.into_inner()) = None;
        tracing::info!("saved credentials to {}", path.display());
        Ok(path)
    }
}

fn io_error(path: &Path, action: &'static str, e: &std::io::Error) -> ConfigError {
    ConfigError::Io {
        path: path.to_path_buf(),
        action,
        message: e.to_string(),
    }
}

fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, String> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(other) => Err(format!(
            "expected a JSON object, found {}",
            match other {
                Value::Array(_) => "an array",
                Value::String(_) => "a string",
                Value::Number(_) => "a number",
                Value::Bool(_) => "a boolean",
                _ => "null",
            }
        )),
        Err(e) => Err(format!("invalid JSON ({e})")),
    }
}

/// The one definition of a readable file: a JSON object whose known keys, when present, are
/// strings (or null). Returns what this server understands and the whole object.
fn parse_file(bytes: &[u8]) -> Result<(FileCreds, Map<String, Value>), String> {
    let object = parse_object(bytes)?;
    let string_key = |key: &str| -> Result<Option<String>, String> {
        match object.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(format!("\"{key}\" must be a string")),
        }
    };
    let creds = FileCreds {
        api_token: string_key(KEY_API_TOKEN)?.as_deref().and_then(Secret::new),
        base_url: string_key(KEY_BASE_URL)?.filter(|s| !s.trim().is_empty()),
        claim_token: string_key(KEY_CLAIM_TOKEN)?
            .as_deref()
            .and_then(Secret::new),
        exists: true,
    };
    Ok((creds, object))
}

fn load_file(path: &Path) -> Result<FileCreds, ConfigError> {
    let bytes = fs::read(path).map_err(|e| io_error(path, "read", &e))?;
    parse_file(&bytes)
        .map(|(creds, _)| creds)
        .map_err(|message| ConfigError::Corrupt {
            path: path.to_path_buf(),
            message,
        })
}

fn is_loopback(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    }
}

/// Checks a base URL: `https://`, or `http://` to a loopback host only; no user-info, query or
/// fragment. `origin` names where it came from, for the error message.
pub fn parse_base_url(raw: &str, origin: &str) -> Result<Url, ConfigError> {
    let fail = |reason: &str| ConfigError::BaseUrl {
        origin: origin.to_owned(),
        url: shown_url(raw),
        reason: reason.to_owned(),
    };
    let mut url = Url::parse(raw.trim()).map_err(|e| fail(&format!("not a URL ({e})")))?;
    let host = url.host().ok_or_else(|| fail("it has no host"))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&host) => {}
        "http" => {
            return Err(fail(
                "plain http is allowed only for localhost, 127.0.0.1 and ::1; use https",
            ));
        }
        other => return Err(fail(&format!("the scheme must be https, not {other}"))),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(fail("it must not contain a user name or password"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(fail("it must not contain a query or fragment"));
    }
    // `https://host/prefix/` and `https://host/prefix` mean the same origin + prefix.
    if url.path().ends_with('/') {
        let trimmed = url.path().trim_end_matches('/').to_owned();
        url.set_path(&trimmed);
    }
    Ok(url)
}

/// A refused base URL as an error may quote it: any user-info (`user:password@`) replaced by
/// `***@`, any OpenTrain credential masked (a token pasted into the wrong variable), cut to 200
/// characters. Works on the text, so it also covers what does not parse as a URL.
fn shown_url(raw: &str) -> String {
    let raw = raw.trim();
    let mut text = raw.to_owned();
    if let Some(scheme_end) = raw.find("://") {
        let start = scheme_end + 3;
        let end = raw[start..]
            .find(['/', '?', '#'])
            .map_or(raw.len(), |i| start + i);
        if let Some(at) = raw[start..end].rfind('@') {
            text = format!("{}***{}", &raw[..start], &raw[start + at..]);
        }
    }
    crate::text::truncate_chars(&crate::secret::redact_credentials(&text), 200)
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    fs::create_dir_all(dir)
}

fn open_private(path: &Path, create_new: bool) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).read(true);
    if create_new {
        options.create_new(true);
    } else {
        options.create(true).truncate(false);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

fn corrupt_aside_path(path: &Path) -> PathBuf {
    let secs = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".corrupt-{secs}"));
    path.with_file_name(name)
}

/// The prefix of this server's temp files for `path`: `.cli.json.`.
fn temp_prefix(path: &Path) -> std::ffi::OsString {
    let mut name = std::ffi::OsString::from(".");
    name.push(path.file_name().unwrap_or_default());
    name.push(".");
    name
}

/// Removes temp files a killed writer left behind (they may hold a token). Called under the
/// lock, when no writer of ours can be mid-write.
fn remove_stale_temp_files(path: &Path) {
    let dir = path.parent().unwrap_or(Path::new("."));
    let prefix = temp_prefix(path);
    let prefix = prefix.to_string_lossy();
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(prefix.as_ref()) && name.ends_with(".tmp") {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Writes `bytes` to a fresh 0600 temp file next to `path`, fsyncs it, renames it over `path`
/// and fsyncs the directory. A crash at any point leaves the old file or the new one.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut name = temp_prefix(path);
    name.push(format!(
        "{}.{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let tmp = dir.join(name);
    let result = (|| {
        let mut file = open_private(&tmp, true)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)?;
        #[cfg(unix)]
        File::open(dir)?.sync_all()?;
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_rules() {
        assert_eq!(
            default_path(Some("/x/cfg"), Some("/home/u")).unwrap(),
            PathBuf::from("/x/cfg/opentrain/cli.json")
        );
        // A relative XDG_CONFIG_HOME is ignored, as the XDG spec says.
        assert_eq!(
            default_path(Some("rel/cfg"), Some("/home/u")).unwrap(),
            PathBuf::from("/home/u/.config/opentrain/cli.json")
        );
        assert_eq!(
            default_path(None, Some("/home/u")).unwrap(),
            PathBuf::from("/home/u/.config/opentrain/cli.json")
        );
    }

    #[test]
    fn base_url_rules() {
        assert_eq!(
            parse_base_url("https://app.opentrain.ai/", "x")
                .unwrap()
                .as_str(),
            "https://app.opentrain.ai/"
        );
        assert!(parse_base_url("http://127.0.0.1:3000", "x").is_ok());
        assert!(parse_base_url("http://localhost:3000", "x").is_ok());
        assert!(parse_base_url("http://[::1]:3000", "x").is_ok());
        let e = parse_base_url("https://me:hunter2@example.com/x", "F").unwrap_err();
        assert!(
            e.to_string().contains("\"https://***@example.com/x\"")
                && !e.to_string().contains("hunter2"),
            "{e}"
        );
        let e = parse_base_url("ot_pat_abcdefghijklmnop1234", "F").unwrap_err();
        assert!(e.to_string().contains("ot_pat_…1234"), "{e}");
        for bad in [
            "http://example.com",
            "ftp://example.com",
            "https://u:p@example.com",
            "https://example.com/?a=1",
            "file:///etc/passwd",
            "not a url",
        ] {
            let e = parse_base_url(bad, "OPENTRAIN_API_BASE_URL").unwrap_err();
            assert!(e.to_string().contains("OPENTRAIN_API_BASE_URL"), "{e}");
        }
    }
}
