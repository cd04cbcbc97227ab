//! The kv-gateway binary: logger, settings, server.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use kv_gateway::{build_info, healthcheck, logging};

use kv_gateway::settings::Settings;
use kv_gateway::startup::Application;

const USAGE: &str = "usage: kv-gateway [--config FILE]              serve the API
       kv-gateway healthcheck [--config FILE]  exit 0 if the gateway answers GET /health
       kv-gateway --version                    print the version and exit
       kv-gateway --help                       print this text and exit

Serves the /kv HTTP API in front of Tarantool. Settings come from the built-in
defaults, then FILE, then KV__SECTION__KEY environment variables (for example
KV__TARANTOOL__PASSWORD, required to serve); see README.md. `healthcheck`
reads only server.bind and asks that address for GET /health.";

/// How long `healthcheck` waits for the server.
const HEALTHCHECK_TIMEOUT: Duration = Duration::from_secs(3);

/// What the command line asks for.
enum Command {
    Serve(Option<PathBuf>),
    Healthcheck(Option<PathBuf>),
    Usage,
    Version,
}

fn main() -> ExitCode {
    let log = logging::init();
    let code = run();
    log.flush();
    code
}

fn run() -> ExitCode {
    match parse_args(std::env::args().skip(1)) {
        Ok(Command::Serve(config)) => serve(config.as_deref()),
        Ok(Command::Healthcheck(config)) => check_health(config.as_deref()),
        Ok(Command::Usage) => print_out(USAGE),
        Ok(Command::Version) => print_out(&format!("kv-gateway {}", build_info::VERSION_LINE)),
        Err(message) => {
            eprintln!("kv-gateway: {message}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// Prints `text` to stdout; a closed stdout (`| head`) is no failure.
fn print_out(text: &str) -> ExitCode {
    let _ = writeln!(std::io::stdout(), "{text}");
    ExitCode::SUCCESS
}

fn serve(config: Option<&Path>) -> ExitCode {
    let settings = match Settings::load(config) {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("kv-gateway: {err}");
            return ExitCode::from(2);
        }
    };
    logging::set_format(settings.log.format);
    match actix_web::rt::System::new().block_on(run_server(settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("kv-gateway: {err}");
            ExitCode::FAILURE
        }
    }
}

fn check_health(config: Option<&Path>) -> ExitCode {
    let bind = match Settings::load_bind(config) {
        Ok(bind) => bind,
        Err(err) => {
            eprintln!("kv-gateway: {err}");
            return ExitCode::from(2);
        }
    };
    match healthcheck::target(&bind)
        .and_then(|target| healthcheck::check(target, HEALTHCHECK_TIMEOUT))
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("kv-gateway: unhealthy: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run_server(settings: Settings) -> std::io::Result<()> {
    let bind = settings.server.bind.clone();
    let app = Application::build(settings)
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {bind}: {e}")))?;
    log::info!(
        "kv-gateway {} listening on {bind} (port {})",
        build_info::VERSION_LINE,
        app.port()
    );
    app.run_until_stopped().await
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Command, String> {
    let mut config = None;
    let mut healthcheck = false;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" | "help" => return Ok(Command::Usage),
            "-V" | "--version" | "version" => return Ok(Command::Version),
            "healthcheck" if !healthcheck => healthcheck = true,
            "--config" => match args.next() {
                Some(path) => config = Some(PathBuf::from(path)),
                None => return Err("--config needs a file".into()),
            },
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(if healthcheck {
        Command::Healthcheck(config)
    } else {
        Command::Serve(config)
    })
}
