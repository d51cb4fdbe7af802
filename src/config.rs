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

/// The largest credentials file read: a real one is a few hundred bytes, and a bigger file is
/// refused unread (so a huge or endless file cannot stall or swell the server).
pub const MAX_FILE_BYTES: u64 = 64 * 1024;

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
    /// `--http`: the bearer token of the HTTP request being served, and nothing else.
    Request,
    None,
}

impl std::fmt::Display for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenSource::Env => write!(f, "the {ENV_TOKEN} environment variable"),
            TokenSource::File(p) => write!(f, "the credentials file {}", p.display()),
            TokenSource::Request => f.write_str("the Authorization header of this HTTP request"),
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
    /// Sandbox mode: the base URL is the embedded sandbox's, the file its own credentials file.
    sandbox: bool,
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
            sandbox: false,
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

    /// Sandbox mode: the sandbox's own credentials file `<dir>/cli.json` and its loopback base
    /// URL. No environment variable and no `~/.config/opentrain/cli.json` is ever consulted.
    pub fn sandbox(dir: &Path, base_url: &str) -> Config {
        let mut config = Config::new(Some(dir.join("cli.json")), None, Some(base_url));
        config.sandbox = true;
        config
    }

    pub fn is_sandbox(&self) -> bool {
        self.sandbox
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
            let origin = if self.sandbox {
                "the sandbox"
            } else {
                ENV_BASE_URL
            };
            return parsed.clone().map(|u| (u, origin.to_owned()));
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

    /// The file's version now (`None`: absent), from its metadata only: nothing is opened.
    fn stamp(path: &Path) -> Result<Option<Stamp>, ConfigError> {
        match fs::metadata(path) {
            Ok(meta) => Ok(Some(Stamp::of(&meta))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error(path, "read", &e)),
        }
    }

    /// Whether [`Config::read`] would answer from its cache (one `stat`, nothing opened). The
    /// server calls it on its runtime thread and reads a changed file on a blocking thread.
    pub fn is_cached(&self) -> bool {
        let Some(path) = &self.path else {
            return true;
        };
        let Ok(stamp) = Self::stamp(path) else {
            return false;
        };
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.as_ref().is_some_and(|(cached, _)| *cached == stamp)
    }

    /// The file's contents as this server understands them (an absent file is empty). Cached;
    /// re-read when the file's size, times or inode change. Anything but a regular file of at
    /// most [`MAX_FILE_BYTES`] is refused without being read, and the read itself never waits
    /// (see [`read_bounded`]), so a FIFO or device there cannot stall the server.
    pub fn read(&self) -> Result<Arc<FileCreds>, ConfigError> {
        let path = self.require_path()?;
        let stamp = Self::stamp(path)?;
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((cached_stamp, loaded)) = cache.as_ref()
            && *cached_stamp == stamp
        {
            return loaded.clone();
        }
        let loaded = match stamp {
            None => Ok(Arc::new(FileCreds::default())),
            Some(_) => {
                warn_if_shared(path);
                load_file(path).map(Arc::new)
            }
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

    /// Checks, before anything that cannot be undone (a registration, a claim exchange), that
    /// [`Config::update`] could save credentials now: the directory exists or can be created, the
    /// lock file opens, the file is absent or a readable regular file (with `MoveAside`,
    /// anything that can be moved aside), and a temp file can be created next to it. Nothing is
    /// left behind but the directory and lock file a write creates anyway.
    pub fn check_saving(&self, on_corrupt: OnCorrupt) -> Result<PathBuf, ConfigError> {
        let path = self.require_path()?.to_path_buf();
        let _guard = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        let dir = path.parent().unwrap_or(Path::new("."));
        create_private_dir(dir).map_err(|e| io_error(dir, "create the directory of", &e))?;
        let lock_path = dir.join("cli.json.lock");
        open_private(&lock_path, false)
            .map_err(|e| io_error(&lock_path, "open the lock file of", &e))?;
        match read_bounded(&path) {
            Ok(Some(bytes)) => {
                if let Err(message) = parse_file(&bytes)
                    && on_corrupt == OnCorrupt::Refuse
                {
                    return Err(ConfigError::Corrupt { path, message });
                }
            }
            Ok(None) => {}
            Err(ConfigError::Corrupt { .. }) if on_corrupt == OnCorrupt::MoveAside => {}
            Err(e) => return Err(e),
        }
        let (tmp, file) = create_temp(&path).map_err(|e| io_error(&path, "write", &e))?;
        drop(file);
        let _ = fs::remove_file(&tmp);
        Ok(path)
    }

    /// Keeps credentials that could not be saved, so they are not lost: a new 0600 file
    /// `cli.json.unsaved-<unix time>` next to the credentials file (or in the temp directory
    /// when that directory takes no new file) holding what the file would have held. A human can
    /// move it into place. Returns its path.
    pub fn save_recovery(&self, object: &Map<String, Value>) -> std::io::Result<PathBuf> {
        let path = self.require_path().map_err(std::io::Error::other)?;
        let mut text = serde_json::to_string_pretty(object).map_err(std::io::Error::other)?;
        text.push('\n');
        let secs = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let dirs = [
            path.parent().unwrap_or(Path::new(".")).to_path_buf(),
            std::env::temp_dir(),
        ];
        let mut last = std::io::Error::other("no directory to write to");
        for dir in dirs {
            for n in 0..8 {
                let name = match n {
                    0 => format!("cli.json.unsaved-{secs}"),
                    n => format!("cli.json.unsaved-{secs}-{n}"),
                };
                let target = dir.join(name);
                let written = open_private(&target, true).and_then(|mut file| {
                    file.write_all(text.as_bytes())?;
                    file.sync_all()
                });
                match written {
                    Ok(()) => return Ok(target),
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = e,
                    Err(e) => {
                        let _ = fs::remove_file(&target);
                        last = e;
                        break;
                    }
                }
            }
        }
        Err(last)
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

        let mut object = match read_bounded(&path) {
            Ok(None) => Map::new(),
            Ok(Some(bytes)) => match parse_file(&bytes) {
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
            Err(e @ ConfigError::Corrupt { .. }) if on_corrupt == OnCorrupt::MoveAside => {
                let aside = corrupt_aside_path(&path);
                fs::rename(&path, &aside).map_err(|e| io_error(&path, "move aside", &e))?;
                tracing::warn!("{e}; moved it to {}", aside.display());
                Map::new()
            }
            Err(e) => return Err(e),
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

/// The file's bytes (`None` when it does not exist), if it is a regular file of at most
/// [`MAX_FILE_BYTES`]. It is opened non-blocking and checked on the open descriptor, so a FIFO or
/// a device is refused instead of waited on, and at most the limit plus one byte is read.
fn read_bounded(path: &Path) -> Result<Option<Vec<u8>>, ConfigError> {
    use std::io::Read;
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let corrupt = |message: String| ConfigError::Corrupt {
        path: path.to_path_buf(),
        message,
    };
    let file = match options.open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(path, "read", &e)),
    };
    let meta = file.metadata().map_err(|e| io_error(path, "read", &e))?;
    if !meta.is_file() {
        return Err(corrupt(format!(
            "it is {}, not a regular file, so it was not read",
            file_kind(&meta)
        )));
    }
    let too_large = |len: u64| {
        corrupt(format!(
            "it is {len} bytes, over the {MAX_FILE_BYTES}-byte limit for this file (a real one \
             is a few hundred bytes), so it was not read"
        ))
    };
    if meta.len() > MAX_FILE_BYTES {
        return Err(too_large(meta.len()));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io_error(path, "read", &e))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(Some(bytes))
}

/// What a file that is not a regular file is, for an error message.
fn file_kind(meta: &fs::Metadata) -> &'static str {
    let kind = meta.file_type();
    if kind.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if kind.is_socket() {
            return "a socket";
        }
        if kind.is_char_device() || kind.is_block_device() {
            return "a device";
        }
    }
    "not a regular file"
}

/// Warns once per process, on stderr, when the credentials file or its directory can be read by
/// other users (the token is then theirs too). `doctor` reports the same.
fn warn_if_shared(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        use std::sync::atomic::AtomicBool;
        static FILE_WARNED: AtomicBool = AtomicBool::new(false);
        static DIR_WARNED: AtomicBool = AtomicBool::new(false);
        let dir = path.parent().unwrap_or(Path::new("."));
        for (what, target, warned, fix) in [
            ("credentials file", path, &FILE_WARNED, "600"),
            ("directory of the credentials file", dir, &DIR_WARNED, "700"),
        ] {
            let Ok(meta) = fs::metadata(target) else {
                continue;
            };
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 && !warned.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    "the {what} {} has mode {mode:04o}: other users can read it{}. Run: chmod {fix} {}",
                    target.display(),
                    if what.starts_with("credentials") {
                        " and the token in it"
                    } else {
                        " or list it"
                    },
                    target.display()
                );
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

fn load_file(path: &Path) -> Result<FileCreds, ConfigError> {
    let bytes = read_bounded(path)?.unwrap_or_default();
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
        // A symlink planted at the lock or temp name is refused, never followed.
        options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
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

/// A new 0600 temp file next to `path`, under a fresh name: a name already taken (by a
/// directory, a symlink or another program's file) is skipped, never reused or followed.
fn create_temp(path: &Path) -> std::io::Result<(PathBuf, File)> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut last = None;
    for _ in 0..16 {
        let mut name = temp_prefix(path);
        name.push(format!(
            "{}.{}.tmp",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let tmp = dir.join(name);
        match open_private(&tmp, true) {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::ErrorKind::AlreadyExists.into()))
}

/// Writes `bytes` to a fresh 0600 temp file next to `path`, fsyncs it, renames it over `path`
/// and fsyncs the directory. A crash at any point leaves the old file or the new one.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let (tmp, file) = create_temp(path)?;
    let result = (|| {
        let mut file = file;
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
