//! The kv-gateway binary: logger, settings, server.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use kv_gateway::{healthcheck, logging};

use kv_gateway::settings::Settings;
use kv_gateway::startup::Application;

const USAGE: &str = "usage: kv-gateway [--config FILE]
       kv-gateway healthcheck [--config FILE]

Serves the /kv HTTP API in front of Tarantool. Settings come from the built-in
defaults, then FILE, then KV__SECTION__KEY environment variables; see README.md.
`healthcheck` asks the gateway configured so for GET /health and exits 0 on 200.";

/// How long `healthcheck` waits for the server.
const HEALTHCHECK_TIMEOUT: Duration = Duration::from_secs(3);

/// What the command line asks for.
enum Command {
    Serve(Option<PathBuf>),
    Healthcheck(Option<PathBuf>),
    Usage,
}

fn main() -> ExitCode {
    let log = logging::init();
    let code = run();
    log.flush();
    code
}

fn run() -> ExitCode {
    let (config, healthcheck) = match parse_args(std::env::args().skip(1)) {
        Ok(Command::Serve(config)) => (config, false),
        Ok(Command::Healthcheck(config)) => (config, true),
        Ok(Command::Usage) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("kv-gateway: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let settings = match Settings::load(config.as_deref()) {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("kv-gateway: {err}");
            return ExitCode::from(2);
        }
    };
    if healthcheck {
        let target = healthcheck::target(settings.server.bind);
        return match healthcheck::check(target, HEALTHCHECK_TIMEOUT) {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                eprintln!("kv-gateway: unhealthy: {message}");
                ExitCode::FAILURE
            }
        };
    }
    match actix_web::rt::System::new().block_on(serve(settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("kv-gateway: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(settings: Settings) -> std::io::Result<()> {
    let bind = settings.server.bind;
    let app = Application::build(settings)
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {bind}: {e}")))?;
    log::info!("kv-gateway listening on {bind}");
    app.run_until_stopped().await
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Command, String> {
    let mut config = None;
    let mut healthcheck = false;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(Command::Usage),
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
