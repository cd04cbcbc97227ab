//! The test harness: a real `tarantool` running the project's
//! `tarantool/init.lua`, and the real gateway on a free loopback port.

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant};

use actix_web::dev::ServerHandle;
use kv_gateway::settings::Settings;
use kv_gateway::startup::Application;
use reqwest::{Method, Response};
use serde_json::Value;

/// The password every test Tarantool gives the gateway's user.
pub const PASSWORD: &str = "test-password";

const INSTALL_HINT: &str = "the integration tests need a real `tarantool` (2.6 or newer) on PATH; \
     on Debian/Ubuntu: `sudo apt-get install -y tarantool`";

/// A `tarantool` process running `tarantool/init.lua` on a free loopback port.
pub struct TestTarantool {
    child: Option<Child>,
    port: u16,
    work_dir: tempfile::TempDir,
    env: Vec<(String, String)>,
    hooks: bool,
}

impl TestTarantool {
    /// Starts a private instance, for tests that kill or stall it.
    pub fn start() -> TestTarantool {
        TestTarantool::start_with(&[])
    }

    /// Starts a private instance with extra environment variables for init.lua.
    pub fn start_with(env: &[(&str, &str)]) -> TestTarantool {
        let mut tarantool = TestTarantool::prepare(env);
        tarantool.restart();
        tarantool
    }

    /// Picks a port and a work dir but does not start the process yet.
    pub fn prepare(env: &[(&str, &str)]) -> TestTarantool {
        TestTarantool {
            child: None,
            port: free_port(),
            work_dir: tempfile::tempdir().expect("a temp dir for Tarantool"),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            hooks: false,
        }
    }

    /// Starts a private instance with the test hooks of
    /// `tests/api/lua/test_hooks.lua` (a call counter, a raw insert, and the
    /// breakages its environment variables ask for).
    pub fn start_with_hooks(env: &[(&str, &str)]) -> TestTarantool {
        let mut tarantool = TestTarantool::prepare(env);
        tarantool.hooks = true;
        tarantool.restart();
        tarantool
    }

    /// `host:port` of the instance.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Sets an environment variable for the next `restart`.
    pub fn set_env(&mut self, name: &str, value: &str) {
        self.env.retain(|(n, _)| n != name);
        self.env.push((name.to_owned(), value.to_owned()));
    }

    /// Starts the process and returns what it wrote to stderr if it exits
    /// within `within` instead of listening (`None` if it listens).
    pub fn start_expecting_exit(&mut self, within: Duration) -> Option<String> {
        self.kill();
        let mut command = tarantool_command(self.port, self.work_dir.path(), self.hooks);
        command.envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        die_with_this_thread(&mut command);
        let mut child = command.spawn().expect("tarantool starts");
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                let mut stderr = String::new();
                if let Some(mut pipe) = child.stderr.take() {
                    let _ = pipe.read_to_string(&mut stderr);
                }
                return Some(stderr);
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                drop(child.stderr.take());
                self.child = Some(child);
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("tarantool neither exited nor listened within {within:?}");
    }

    /// The instance's work dir (snapshots and WAL).
    pub fn work_dir(&self) -> &Path {
        self.work_dir.path()
    }

    /// The process id of the running instance.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("Tarantool is running").id()
    }

    /// Kills the process with SIGKILL, as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// (Re)starts the process on its port and work dir; returns once it listens.
    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }

    /// Freezes the process (SIGSTOP): connections stay open, nothing answers.
    pub fn stall(&self) {
        self.signal(libc::SIGSTOP);
    }

    /// Thaws a stalled process (SIGCONT).
    pub fn resume(&self) {
        self.signal(libc::SIGCONT);
    }

    #[expect(
        unsafe_code,
        reason = "libc::kill to send SIGSTOP/SIGCONT to our own child"
    )]
    fn signal(&self, signal: libc::c_int) {
        let child = self.child.as_ref().expect("Tarantool is running");
        let pid = libc::pid_t::try_from(child.id()).expect("a pid fits pid_t");
        // SAFETY: kill(2) has no memory effects; pid is our own live child.
        let rc = unsafe { libc::kill(pid, signal) };
        assert_eq!(rc, 0, "kill({pid}, {signal}) failed");
    }

    fn launch(&mut self) {
        let mut command = tarantool_command(self.port, self.work_dir.path(), self.hooks);
        command.envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        die_with_this_thread(&mut command);
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => panic!("{INSTALL_HINT}"),
            Err(err) => panic!("cannot start tarantool: {err}"),
        };
        wait_until_listening(&mut child, self.port);
        self.child = Some(child);
    }
}

impl Drop for TestTarantool {
    fn drop(&mut self) {
        if self.child.is_some() {
            // A stalled process cannot die of SIGKILL until resumed on some kernels.
            self.resume();
        }
        self.kill();
    }
}

/// The Tarantool shared by every test of this binary; tests isolate by key prefix.
pub fn shared_tarantool() -> &'static str {
    static ADDRESS: OnceLock<String> = OnceLock::new();
    ADDRESS.get_or_init(|| {
        // Spawned from a thread that lives as long as the test binary, so the
        // parent-death signal fires only when the binary exits.
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let tarantool = std::panic::catch_unwind(TestTarantool::start);
            match tarantool {
                Ok(tarantool) => {
                    let _ = tx.send(Ok(tarantool.address()));
                    loop {
                        std::thread::park();
                    }
                }
                Err(panic) => {
                    let message = panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default();
                    let _ = tx.send(Err(message));
                }
            }
        });
        match rx.recv().expect("the Tarantool keeper thread answers") {
            Ok(address) => address,
            Err(message) => panic!("{message}"),
        }
    })
}

fn project_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tarantool_command(port: u16, work_dir: &Path, hooks: bool) -> Command {
    let init = project_root().join("tarantool/init.lua");
    let mut command = Command::new("tarantool");
    if hooks {
        command.arg(project_root().join("tests/api/lua/test_hooks.lua"));
    }
    command
        .arg(init)
        .current_dir(work_dir)
        .env("TARANTOOL_LISTEN", format!("127.0.0.1:{port}"))
        .env("TARANTOOL_WORK_DIR", work_dir)
        .env("TARANTOOL_MEMTX_MEMORY", "67108864")
        .env("KV_GATEWAY_PASSWORD", PASSWORD)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

/// Makes the child die when the spawning thread does, so no Tarantool
/// outlives a test run that was interrupted.
#[expect(
    unsafe_code,
    reason = "prctl in pre_exec is the only way to set a parent-death signal"
)]
fn die_with_this_thread(command: &mut Command) {
    // SAFETY: prctl is async-signal-safe and touches no memory of ours.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}

fn wait_until_listening(child: &mut Child, port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            let mut stderr = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                let _ = pipe.read_to_string(&mut stderr);
            }
            panic!("tarantool exited with {status} before listening:\n{stderr}");
        }
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            // Its log is not needed any more; a full pipe must not block it.
            drop(child.stderr.take());
            return;
        }
        assert!(
            Instant::now() < deadline,
            "tarantool did not listen on {port} within 20 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A free loopback port (free when asked; good enough for tests).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free loopback port")
}

/// Test settings: loopback, a free port, two workers, `tarantool` as the store.
pub fn test_settings(tarantool: &str) -> Settings {
    let mut settings = Settings::from_toml(&format!(
        "[server]\nbind = \"127.0.0.1:0\"\nworkers = 2\n\
         [tarantool]\naddress = \"{tarantool}\"\npassword = \"{PASSWORD}\"\n\
         reconnect_interval_ms = 100\n"
    ))
    .expect("test settings are valid");
    settings.rate_limit.per_second = 0;
    settings
}

/// A running gateway and an HTTP client for it.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`
    pub address: String,
    /// A client with a timeout, so a hang fails the test instead of stalling it.
    pub client: reqwest::Client,
    prefix: String,
    handle: ServerHandle,
}

/// A gateway on the shared Tarantool with the default test settings.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(test_settings(shared_tarantool())).await
}

/// A gateway with the given settings.
pub async fn spawn_app_with(settings: Settings) -> TestApp {
    let app = Application::build(settings).expect("the gateway builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let prefix = format!(
        "t{}-{}/",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    TestApp {
        address,
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("an HTTP client"),
        prefix,
        handle,
    }
}

impl TestApp {
    /// A key unique to this test.
    pub fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// Sends `method path` with an optional raw body.
    pub async fn request(&self, method: Method, path: &str, body: Option<Vec<u8>>) -> Response {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.address));
        if let Some(body) = body {
            request = request.body(body);
        }
        request.send().await.expect("the request gets an answer")
    }

    /// `POST /kv` with a JSON body.
    pub async fn create(&self, key: &str, value: &Value) -> Response {
        let body = serde_json::json!({ "key": key, "value": value });
        self.request(Method::POST, "/kv", Some(body.to_string().into_bytes()))
            .await
    }

    /// `POST /kv` with a raw body.
    pub async fn create_raw(&self, body: impl Into<Vec<u8>>) -> Response {
        self.request(Method::POST, "/kv", Some(body.into())).await
    }

    /// `GET /kv/{key}`, the key percent-encoded.
    pub async fn get(&self, key: &str) -> Response {
        self.request(Method::GET, &kv_path(key), None).await
    }

    /// `PUT /kv/{key}` with `{"value": value}`.
    pub async fn update(&self, key: &str, value: &Value) -> Response {
        let body = serde_json::json!({ "value": value });
        self.request(
            Method::PUT,
            &kv_path(key),
            Some(body.to_string().into_bytes()),
        )
        .await
    }

    /// `PUT /kv/{key}` with a raw body.
    pub async fn update_raw(&self, key: &str, body: impl Into<Vec<u8>>) -> Response {
        self.request(Method::PUT, &kv_path(key), Some(body.into()))
            .await
    }

    /// `DELETE /kv/{key}`.
    pub async fn delete(&self, key: &str) -> Response {
        self.request(Method::DELETE, &kv_path(key), None).await
    }

    /// Polls `GET /ready` until it is not 200; panics after `within`.
    pub async fn wait_not_ready(&self, within: Duration) {
        let deadline = Instant::now() + within;
        while self.request(Method::GET, "/ready", None).await.status() == 200 {
            assert!(
                Instant::now() < deadline,
                "the gateway was still ready after {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Polls `GET /ready` until it is 200; panics after `within`.
    pub async fn wait_ready(&self, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            if self.request(Method::GET, "/ready", None).await.status() == 200 {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the gateway was not ready within {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        // Best effort: the runtime may already be going away.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { handle.stop(false).await });
        }
    }
}

/// `/kv/` followed by `key` with every byte outside [A-Za-z0-9-_.~] escaped.
pub fn kv_path(key: &str) -> String {
    let mut path = String::from("/kv/");
    for byte in key.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            path.push(byte as char);
        } else {
            path.push_str(&format!("%{byte:02X}"));
        }
    }
    path
}

/// Sends `request_head` (the request line and headers, without the final
/// empty line) and `body` over a fresh TCP connection, as written, with no
/// client in between to normalise the path; returns the status and the
/// body of the answer.
pub fn raw_request(app: &TestApp, request_head: &str, body: &[u8]) -> RawResponse {
    use std::io::Write;
    let address = app.address.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).expect("the gateway accepts");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut head = request_head.to_owned();
    head.push_str("\r\nConnection: close\r\n\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    RawResponse::parse(&answer)
}

/// An HTTP answer read off the wire by `raw_request`.
#[derive(Debug)]
pub struct RawResponse {
    /// The status code.
    pub status: u16,
    /// Everything after the empty line.
    pub body: String,
}

impl RawResponse {
    fn parse(answer: &[u8]) -> RawResponse {
        let text = String::from_utf8_lossy(answer);
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head
            .lines()
            .next()
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("no status line in {text:?}"));
        RawResponse {
            status,
            body: body.to_owned(),
        }
    }
}

/// Asserts the status and the exact JSON body of a response.
pub async fn assert_json(response: Response, status: u16, body: Value) {
    assert_eq!(response.status().as_u16(), status, "status");
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap_or_default().to_owned());
    let text = response.text().await.expect("a body");
    let actual: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    assert_eq!(actual, body);
    assert_eq!(
        content_type.as_deref(),
        Some("application/json"),
        "content type"
    );
}

/// The body of a response, parsed as JSON.
/// The revision an `ETag` header names (`"17"` is 17).
pub fn revision_of(response: &Response) -> u64 {
    let tag = response
        .headers()
        .get("etag")
        .expect("an ETag")
        .to_str()
        .unwrap();
    tag.trim_matches('"')
        .parse()
        .unwrap_or_else(|_| panic!("{tag}"))
}

pub async fn json_of(response: Response) -> Value {
    response.json().await.expect("a JSON body")
}
