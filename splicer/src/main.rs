//! The `splicer` command.

#![forbid(unsafe_code)]

use clap::{Parser, Subcommand};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

mod signals;

/// Splicer: a DPDK content-switching load balancer appliance.
#[derive(Parser, Debug)]
#[command(version, about, long_about = None)]
struct Cli {
    /// Log level: error, warn, info, debug or trace (RUST_LOG, when set, takes precedence).
    #[arg(long, global = true, default_value = "info")]
    log_level: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the appliance with a configuration file: SIGHUP reloads the file, SIGTERM or
    /// SIGINT stops gracefully (a second one at once).
    Run {
        /// Path of the TOML configuration.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Check a configuration file and exit: 0 when it is valid, else 2 with every problem
    /// found listed as file:line:column: key: message.
    Check {
        /// Path of the TOML configuration.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Run one command on the running appliance and print its answer: exit 0 on success,
    /// 1 with the error on stderr otherwise (e.g. `splicer ctl show stats`).
    Ctl {
        /// The control socket (the configuration's dataplane.control_socket).
        #[arg(long, default_value = splicer_config::defaults::CONTROL_SOCKET)]
        socket: PathBuf,
        /// Print the machine-readable data (JSON) instead of the text.
        #[arg(long)]
        json: bool,
        /// The command and its arguments, as in the shell (`help` lists them).
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        command: Vec<String>,
    },
    /// Interactive shell on the running appliance, with history, Tab completion and `?`.
    Shell {
        /// The control socket (the configuration's dataplane.control_socket).
        #[arg(long, default_value = splicer_config::defaults::CONTROL_SOCKET)]
        socket: PathBuf,
    },
}

/// Exit code for a configuration or start-up error.
const EXIT_CONFIG: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Ctl {
            socket,
            json,
            command,
        } => {
            return if splicer_commands::client::ctl(&socket, &command, json) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            };
        }
        Command::Shell { socket } => {
            return match splicer_commands::client::shell(&socket) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("splicer: error: {e}");
                    ExitCode::FAILURE
                }
            };
        }
        _ => {}
    }
    let set_log_level = init_logging(&cli.log_level);
    match cli.command {
        Command::Check { config } => check(&config),
        Command::Run { config } => {
            let path = config;
            let config = match splicer_config::Config::load(&path) {
                Ok(c) => c,
                Err(e) => return fail(e),
            };
            let requests = Arc::new(splicer_control::Requests::default());
            if let Err(e) = signals::install(requests.clone()) {
                return fail(format!("cannot install the signal handlers: {e}"));
            }
            let hooks = splicer_control::Hooks {
                set_log_level: Some(set_log_level),
                config_path: Some(path),
            };
            match splicer_control::run_with(&config, requests, hooks) {
                Ok(()) => {
                    tracing::info!("splicer stopped");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e),
            }
        }
        Command::Ctl { .. } | Command::Shell { .. } => unreachable!("handled above"),
    }
}

/// `splicer check`: every problem of the file, each as `file:line:column: key: message`.
fn check(path: &std::path::Path) -> ExitCode {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(error) => {
            return fail(splicer_config::ConfigError::Read {
                path: path.to_path_buf(),
                error,
            })
        }
    };
    match splicer_config::check(&text) {
        Ok(_) => {
            println!("{}: ok", path.display());
            ExitCode::SUCCESS
        }
        Err(problems) => {
            for p in &problems {
                eprintln!("splicer: error: {}:{p}", path.display());
            }
            ExitCode::from(EXIT_CONFIG)
        }
    }
}

fn fail(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("splicer: error: {e}");
    ExitCode::from(EXIT_CONFIG)
}

/// Installs the subscriber; returns how `log level` replaces its filter at runtime.
fn init_logging(level: &str) -> splicer_control::LogLevelHook {
    use tracing_subscriber::prelude::*;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    // A reload layer, so that the control socket can change the filter without a restart.
    let (filter, handle) = tracing_subscriber::reload::Layer::new(filter);
    tracing_subscriber::registry()
        .with(filter)
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(std::io::stderr().is_terminal()),
        )
        .init();
    Box::new(move |level| {
        handle
            .reload(tracing_subscriber::EnvFilter::new(level.as_str()))
            .map_err(|e| e.to_string())
    })
}
