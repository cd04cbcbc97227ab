//! The real `kv-gateway` binary: configuration errors, layering, and logs.

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{free_port, shared_tarantool, TestTarantool, PASSWORD};

const BINARY: &str = env!("CARGO_BIN_EXE_kv-gateway");

pub(crate) fn gateway() -> Command {
    let mut command = Command::new(BINARY);
    for (name, _) in std::env::vars() {
        if name.starts_with("KV__") {
            command.env_remove(name);
        }
    }
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

fn fails_with(command: &mut Command) -> String {
    let output = command.output().expect("the binary runs");
    assert_eq!(output.status.code(), Some(2), "exit status");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A running binary, killed when dropped; its stderr is read on `stop`.
pub(crate) struct Running {
    pub(crate) child: Child,
    pub(crate) address: String,
}

impl Running {
    pub(crate) fn start(command: &mut Command, port: u16) -> Running {
        let child = command.spawn().expect("the binary starts");
        let running = Running {
            child,
            address: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "the gateway did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        running
    }

    /// Sends SIGTERM, as an orchestrator stopping the gateway would.
    #[expect(unsafe_code, reason = "libc::kill to send SIGTERM to our own child")]
    pub(crate) fn terminate(&mut self) {
        let pid = libc::pid_t::try_from(self.child.id()).unwrap();
        // SAFETY: kill(2) has no memory effects; pid is our own live child.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    }

    /// Waits for the process to exit by itself.
    pub(crate) fn wait_exit(&mut self, within: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "still running after {within:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the gateway as an orchestrator would (SIGTERM) and returns its stderr,
    /// which it writes out on the way down.
    pub(crate) fn stop(mut self) -> String {
        self.terminate();
        self.wait_exit(Duration::from_secs(15));
        let mut stderr = String::new();
        if let Some(mut pipe) = self.child.stderr.take() {
            let _ = pipe.read_to_string(&mut stderr);
        }
        stderr
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_missing_password_stops_start_up_naming_the_setting() {
    let stderr = fails_with(&mut gateway());
    assert!(stderr.contains("tarantool.password"), "{stderr}");
    assert!(stderr.contains("KV__TARANTOOL__PASSWORD"), "{stderr}");
}

#[test]
fn a_badly_typed_environment_value_stops_start_up_naming_the_key() {
    let stderr = fails_with(
        gateway()
            .env("KV__TARANTOOL__PASSWORD", "x")
            .env("KV__SERVER__WORKERS", "many"),
    );
    assert!(stderr.contains("server.workers"), "{stderr}");
    let stderr = fails_with(
        gateway()
            .env("KV__TARANTOOL__PASSWORD", "x")
            .env("KV__SERVER__BIND", "nowhere"),
    );
    assert!(stderr.contains("server.bind"), "{stderr}");
    let stderr = fails_with(
        gateway()
            .env("KV__TARANTOOL__PASSWORD", "x")
            .env("KV__RATE_LIMIT__TRUSTED_PROXIES", "10.0.0.0/8,bogus"),
    );
    assert!(
        stderr.contains("rate_limit.trusted_proxies") && stderr.contains("bogus"),
        "{stderr}"
    );
}

#[test]
fn a_missing_config_file_stops_start_up() {
    let stderr = fails_with(
        gateway()
            .env("KV__TARANTOOL__PASSWORD", "x")
            .args(["--config", "/nonexistent/kv.toml"]),
    );
    assert!(stderr.contains("/nonexistent/kv.toml"), "{stderr}");
}

#[tokio::test]
async fn the_config_file_overrides_defaults_and_the_environment_overrides_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kv.toml");
    let port = free_port();
    std::fs::write(
        &file,
        format!(
            "[server]\nbind = \"127.0.0.1:{port}\"\n[tarantool]\naddress = \"{}\"\npassword = \"wrong\"\n",
            shared_tarantool()
        ),
    )
    .unwrap();
    let running = Running::start(
        gateway()
            .arg("--config")
            .arg(&file)
            .env("KV__TARANTOOL__PASSWORD", PASSWORD),
        port,
    );
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = client
            .get(format!("{}/ready", running.address))
            .send()
            .await
            .unwrap()
            .status();
        if status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never ready: the environment password did not win"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    running.stop();
}

#[tokio::test]
async fn requests_are_logged_and_the_password_never_is() {
    let port = free_port();
    let running = Running::start(
        gateway()
            .env("RUST_LOG", "trace")
            .env("KV__SERVER__BIND", format!("127.0.0.1:{port}"))
            .env("KV__TARANTOOL__ADDRESS", shared_tarantool())
            .env("KV__TARANTOOL__PASSWORD", PASSWORD),
        port,
    );
    let client = reqwest::Client::new();
    let base = running.address.clone();
    let deadline = Instant::now() + Duration::from_secs(10);
    while client
        .get(format!("{base}/ready"))
        .send()
        .await
        .unwrap()
        .status()
        != 200
    {
        assert!(Instant::now() < deadline, "never ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let key = format!("logged-{port}");
    let response = client
        .post(format!("{base}/kv"))
        .body(json!({"key": key, "value": {}}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    client.get(format!("{base}/health")).send().await.unwrap();
    let stderr = running.stop();
    assert!(
        !stderr.contains(PASSWORD),
        "the password leaked into the log:\n{stderr}"
    );
    let line = stderr
        .lines()
        .find(|line| line.contains("kv_gateway::access") && line.contains(&key))
        .unwrap_or_else(|| panic!("no access line for {key}:\n{stderr}"));
    assert!(
        line.contains("POST") && line.contains("status=200") && line.contains("latency="),
        "{line}"
    );
    assert!(
        !stderr.contains("\"/health\""),
        "/health must not be access-logged"
    );
}

#[tokio::test]
async fn a_5xx_cause_is_logged_once_at_error() {
    let port = free_port();
    let running = Running::start(
        gateway()
            .env("KV__SERVER__BIND", format!("127.0.0.1:{port}"))
            .env(
                "KV__TARANTOOL__ADDRESS",
                format!("127.0.0.1:{}", free_port()),
            )
            .env("KV__TARANTOOL__PASSWORD", "x"),
        port,
    );
    let response = reqwest::get(format!("{}/kv/some-key", running.address))
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    let stderr = running.stop();
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("ERROR") && l.contains("storage unavailable"))
        .collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].contains("not connected to Tarantool"),
        "{}",
        errors[0]
    );
}

#[tokio::test]
async fn the_healthcheck_subcommand_reports_a_running_gateway() {
    let port = free_port();
    let bind = format!("127.0.0.1:{port}");
    let running = Running::start(
        gateway()
            .env("KV__SERVER__BIND", &bind)
            .env("KV__TARANTOOL__ADDRESS", shared_tarantool())
            .env("KV__TARANTOOL__PASSWORD", PASSWORD),
        port,
    );
    // No password: the healthcheck needs nothing but server.bind.
    let healthcheck = || {
        gateway()
            .arg("healthcheck")
            .env("KV__SERVER__BIND", &bind)
            .output()
            .unwrap()
    };
    let healthy = healthcheck();
    assert_eq!(healthy.status.code(), Some(0), "{healthy:?}");
    running.stop();
    let output = healthcheck();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("unhealthy"));
}

#[tokio::test]
async fn sigterm_finishes_in_flight_requests_and_exits_0() {
    let tarantool = TestTarantool::start();
    let port = free_port();
    let mut running = Running::start(
        gateway()
            .env("KV__SERVER__BIND", format!("127.0.0.1:{port}"))
            .env("KV__SERVER__WORKERS", "1")
            .env("KV__SERVER__SHUTDOWN_TIMEOUT_MS", "5000")
            .env("KV__TARANTOOL__ADDRESS", tarantool.address())
            .env("KV__TARANTOOL__PASSWORD", PASSWORD)
            .env("KV__TARANTOOL__REQUEST_TIMEOUT_MS", "5000"),
        port,
    );
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let base = running.address.clone();
    let key = format!("graceful-{port}");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let body = json!({"key": key, "value": {"v": 1}}).to_string();
        if client
            .post(format!("{base}/kv"))
            .body(body)
            .send()
            .await
            .unwrap()
            .status()
            == 200
        {
            break;
        }
        assert!(Instant::now() < deadline, "never ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A request held up inside Tarantool is in flight when SIGTERM arrives.
    tarantool.stall();
    let in_flight = tokio::spawn({
        let client = client.clone();
        let url = format!("{base}/kv/{key}");
        async move { client.get(url).send().await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    running.terminate();
    tokio::time::sleep(Duration::from_millis(300)).await;
    tarantool.resume();

    let response = in_flight
        .await
        .unwrap()
        .expect("the in-flight request is answered");
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), r#"{"value":{"v":1}}"#);
    let status = running.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "exit status after SIGTERM");
}

#[test]
fn version_and_help_print_and_exit_0() {
    let version = gateway()
        .arg("--version")
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(version.status.code(), Some(0));
    let text = String::from_utf8_lossy(&version.stdout);
    assert!(
        text.starts_with(&format!(
            "kv-gateway {} (commit ",
            env!("CARGO_PKG_VERSION")
        )),
        "{text}"
    );
    for flag in ["--help", "-h"] {
        let help = gateway().arg(flag).stdout(Stdio::piped()).output().unwrap();
        assert_eq!(help.status.code(), Some(0));
        let text = String::from_utf8_lossy(&help.stdout);
        for part in ["usage:", "healthcheck", "--config FILE", "--version"] {
            assert!(text.contains(part), "{flag}: {text}");
        }
    }
    let stderr = fails_with(gateway().arg("--bogus"));
    assert!(
        stderr.contains("unknown argument") && stderr.contains("usage:"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_host_name_in_server_bind_is_resolved() {
    let port = free_port();
    let bind = format!("localhost:{port}");
    let running = Running::start(
        gateway()
            .env("KV__SERVER__BIND", &bind)
            .env("KV__TARANTOOL__ADDRESS", shared_tarantool())
            .env("KV__TARANTOOL__PASSWORD", PASSWORD),
        port,
    );
    let health = reqwest::get(format!("{}/health", running.address))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let check = gateway()
        .arg("healthcheck")
        .env("KV__SERVER__BIND", &bind)
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(0), "{check:?}");
    running.stop();
}

#[test]
fn a_misspelled_setting_stops_start_up() {
    let stderr = fails_with(
        gateway()
            .env("KV__TARANTOOL__PASSWORD", "x")
            .env("KV__SERVER__WORKRS", "2"),
    );
    assert!(stderr.contains("workrs"), "{stderr}");
}

#[tokio::test]
async fn client_faults_actix_refuses_are_not_logged_as_errors() {
    use std::io::Write;
    let port = free_port();
    let running = Running::start(
        gateway()
            .env("RUST_LOG", "info")
            .env("KV__SERVER__BIND", format!("127.0.0.1:{port}"))
            .env("KV__TARANTOOL__ADDRESS", shared_tarantool())
            .env("KV__TARANTOOL__PASSWORD", PASSWORD),
        port,
    );
    for request in [
        "GARBAGE\r\n\r\n".to_owned(),
        format!(
            "GET /kv/x HTTP/1.1\r\nHost: t{}\r\n\r\n",
            (0..200)
                .map(|i| format!("\r\nX-H{i}: v"))
                .collect::<String>()
        ),
    ] {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut answer = String::new();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let _ = stream.read_to_string(&mut answer);
        assert!(answer.starts_with("HTTP/1.1 4"), "{answer}");
    }
    let stderr = running.stop();
    assert!(!stderr.contains("ERROR"), "{stderr}");
}
