//! Remote mode (`--http`) end to end: the real binary listening on loopback, nginx in front of it
//! with deploy/compose/nginx.conf, and the deploy/ files read as JSON (through PyYAML).

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

pub const BIN: &str = env!("CARGO_BIN_EXE_opentrain-mcp");

/// A file of the repository.
pub fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

pub fn read(path: &str) -> String {
    std::fs::read_to_string(repo(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// An executable on PATH (or in /usr/sbin, where Debian puts nginx).
pub fn tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/sbin")])
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// The Python of the venv .ci/deploy-tools.sh makes (kubernetes-validate, PyYAML, the MCP SDK);
/// `OPENTRAIN_DEPLOY_VENV` names another one.
pub fn deploy_venv() -> Option<PathBuf> {
    let venv = std::env::var_os("OPENTRAIN_DEPLOY_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo("target/ci-tools/venv-deploy"));
    venv.join("bin/python").is_file().then_some(venv)
}

/// The YAML documents of a file, as JSON values (PyYAML's safe loader, so anchors are resolved).
/// None when there is no venv with PyYAML.
pub fn yaml_documents(path: &str) -> Option<Vec<Value>> {
    let venv = deploy_venv()?;
    let out = Command::new(venv.join("bin/python"))
        .args([
            "-c",
            "import json, sys, yaml\nprint(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))",
        ])
        .arg(repo(path))
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "{path} is not valid YAML: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(serde_json::from_slice(&out.stdout).expect("JSON from python"))
}

/// A free port on 127.0.0.1 (for nginx, which cannot report the one it picked).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// deploy/compose/nginx.conf with the compose service names swapped for `upstreams` and the
/// listen port for `listen`, inside the little main configuration the nginx image would give it
/// (single process, everything under `dir`). The access log names the upstream(s) each request
/// went to and the X-Test-Client header.
pub fn nginx_config(upstreams: &[SocketAddr], listen: u16, dir: &Path) -> String {
    let mut site = read("deploy/compose/nginx.conf");
    for (n, addr) in upstreams.iter().enumerate() {
        let name = format!("server opentrain-mcp-{}:8080 ", n + 1);
        assert!(site.contains(&name), "nginx.conf has no `{name}`");
        site = site.replace(&name, &format!("server {addr} "));
    }
    assert!(
        !site.contains("opentrain-mcp-"),
        "nginx.conf lists more upstreams than {}",
        upstreams.len()
    );
    assert!(
        site.contains("    listen 8080;"),
        "nginx.conf listens on 8080"
    );
    site = site.replace(
        "    listen 8080;",
        &format!("    listen 127.0.0.1:{listen};"),
    );
    let d = dir.display();
    format!(
        "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log info;\n\
         events {{ worker_connections 512; }}\n\
         http {{\n\
         log_format upstreams '$upstream_addr|$status|$http_x_test_client|$http_mcp_method|$http_mcp_name';\n\
         access_log {d}/access.log upstreams;\n\
         client_body_temp_path {d}/client_body;\nproxy_temp_path {d}/proxy;\n\
         fastcgi_temp_path {d}/fastcgi;\nuwsgi_temp_path {d}/uwsgi;\nscgi_temp_path {d}/scgi;\n\
         {site}\n}}\n"
    )
}

/// Runs `nginx -t` on a configuration; Err with nginx's words when it refuses it.
pub fn nginx_test(nginx: &Path, conf: &Path, dir: &Path) -> Result<(), String> {
    let out = Command::new(nginx)
        .arg("-t")
        .arg("-p")
        .arg(dir)
        .arg("-e")
        .arg(dir.join("error.log"))
        .arg("-c")
        .arg(conf)
        .output()
        .expect("nginx runs");
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// nginx in the foreground, one process, in front of `upstreams`. Killed on drop.
pub struct Nginx {
    child: Child,
    pub port: u16,
    pub dir: TempDir,
}

impl Nginx {
    pub fn start(nginx: &Path, upstreams: &[SocketAddr]) -> Nginx {
        let dir = TempDir::new().unwrap();
        for attempt in 0.. {
            let port = free_port();
            let conf = dir.path().join("nginx.conf");
            std::fs::write(&conf, nginx_config(upstreams, port, dir.path())).unwrap();
            nginx_test(nginx, &conf, dir.path()).unwrap_or_else(|e| panic!("nginx -t: {e}"));
            let mut child = Command::new(nginx)
                .arg("-p")
                .arg(dir.path())
                .arg("-e")
                .arg(dir.path().join("error.log"))
                .arg("-c")
                .arg(&conf)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("nginx starts");
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Nginx { child, port, dir };
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
            // The port may have been taken between free_port() and nginx's bind: try another.
            assert!(
                attempt < 3,
                "nginx did not start: {}",
                std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default()
            );
        }
        unreachable!()
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/mcp", self.port)
    }

    /// The access log so far: one line per request, `upstream(s)|status|client|method|name`.
    pub fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("access.log")).unwrap_or_default()
    }

    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The real binary in remote mode: `--http 127.0.0.1:0` plus `args`, only `envs` (and PATH, a
/// private HOME) in its environment. `start` returns once it has written its listening line.
pub struct Instance {
    child: Child,
    pub addr: SocketAddr,
    stderr: Arc<Mutex<String>>,
    /// The thread reading stderr; `wait` joins it, so the last lines are in `stderr` then.
    reader: Option<std::thread::JoinHandle<()>>,
    _home: TempDir,
}

pub const LISTENING: &str = "opentrain-mcp: listening on http://";

impl Instance {
    pub fn start(args: &[&str], envs: &[(&str, &str)]) -> Instance {
        Instance::start_in(TempDir::new().unwrap(), args, envs)
    }

    /// [`Instance::start`] with `home` as its HOME (a credentials file placed there first).
    pub fn start_in(home: TempDir, args: &[&str], envs: &[(&str, &str)]) -> Instance {
        let mut cmd = Command::new(BIN);
        cmd.args(["--http", "127.0.0.1:0"])
            .args(args)
            .env_clear()
            .env("HOME", home.path())
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("binary starts");
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let pipe = child.stderr.take().unwrap();
        let sink = stderr.clone();
        let reader = std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.strip_prefix(LISTENING)
                    && let Some(t) = tx.take()
                {
                    let _ = t.send(rest.trim_end_matches("/mcp").to_string());
                }
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        let Ok(addr) = rx.recv_timeout(Duration::from_secs(20)) else {
            let _ = child.kill();
            let _ = child.wait();
            std::thread::sleep(Duration::from_millis(100));
            panic!(
                "no `{LISTENING}…` line on stderr; stderr:\n{}",
                stderr.lock().unwrap()
            );
        };
        let addr: SocketAddr = addr
            .parse()
            .unwrap_or_else(|e| panic!("listening address {addr:?}: {e}"));
        assert_eq!(addr.ip(), std::net::Ipv4Addr::LOCALHOST, "{addr}");
        Instance {
            child,
            addr,
            stderr,
            reader: Some(reader),
            _home: home,
        }
    }

    /// `http://127.0.0.1:PORT`
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn url(&self) -> String {
        format!("{}/mcp", self.base())
    }

    #[cfg(unix)]
    pub fn sigterm(&self) {
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: kill(2) on our own child's pid.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    }

    /// Waits for the process to end, at most `limit`.
    pub fn wait(&mut self, limit: Duration) -> std::process::ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // The process is gone, so its stderr ends: read it to the end.
                if let Some(reader) = self.reader.take() {
                    let _ = reader.join();
                }
                return status;
            }
            if start.elapsed() > limit {
                let _ = self.child.kill();
                panic!("still running after {limit:?}:\n{}", self.stderr());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// What it wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: the instance dies with whatever it was doing.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A plain HTTP/1.1 GET with a Host header; the status code and body.
pub fn http_get(addr: SocketAddr, path: &str, host: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {answer:?}"));
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}
