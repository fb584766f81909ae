//! The `splicer` command.

#![forbid(unsafe_code)]

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

mod signals;

/// Splicer: a DPDK content-switching load balancer appliance.
///
/// Splicer terminates clients' TCP connections on its own DPDK ports, reads each HTTP
/// request, chooses a real server by the virtual service's rules and splices the request
/// onto a pooled connection to it. `splicer run` runs the appliance with a configuration
/// file, `splicer check` validates one, `splicer ctl` and `splicer shell` talk to the
/// running appliance through its control socket.
#[derive(Parser, Debug)]
#[command(version, about)]
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
    /// Withdraw every VIP the configuration's [announce] routes file announces: write it
    /// with no route and have BIRD reconfigure. For after Splicer stopped, a crash
    /// included (the systemd unit's ExecStopPost): exit 0 when BIRD confirmed or there is
    /// no [announce], 1 when BIRD did not confirm, 2 for a configuration error.
    Withdraw {
        /// Path of the TOML configuration.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Run the TCP handoff agent on a back end (docs/HANDOFF.md): bridges the back end's
    /// wire interface and its kernel, takes the connections Splicer hands off and
    /// translates them so that the kernel answers the clients directly. SIGTERM or
    /// SIGINT stops it.
    Agent {
        /// Path of the agent's TOML configuration.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Write the man pages or the shell completions into a folder (a packaging step:
    /// scripts/package.sh runs it before cargo-deb).
    #[command(hide = true)]
    Generate {
        /// What to write.
        what: Generated,
        /// The folder to write into (created when missing).
        dir: PathBuf,
    },
}

/// What `splicer generate` writes.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum Generated {
    /// splicer.1 and one page per subcommand (splicer-run.1, ...).
    Man,
    /// splicer.bash, _splicer (zsh) and splicer.fish.
    Completions,
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
        Command::Generate { what, dir } => {
            return match generate(what, &dir) {
                Ok(files) => {
                    for f in files {
                        println!("{}", f.display());
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("splicer: error: cannot write into {}: {e}", dir.display());
                    ExitCode::FAILURE
                }
            };
        }
        _ => {}
    }
    let set_log_level = init_logging(&cli.log_level);
    match cli.command {
        Command::Check { config } => check(&config),
        Command::Agent { config } => {
            let config = match splicer_agent::AgentConfig::load(&config) {
                Ok(c) => c,
                Err(e) => return fail(e),
            };
            match splicer_agent::run(&config) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(e),
            }
        }
        Command::Withdraw { config } => withdraw(&config),
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
            // SIGUSR1 reopens the access log's file (logrotate's postrotate); the
            // handler only sets a flag the control core reads every tick.
            let access_log_reopen = match signals::access_log_reopen() {
                Ok(flag) => flag,
                Err(e) => return fail(format!("cannot install the SIGUSR1 handler: {e}")),
            };
            let hooks = splicer_control::Hooks {
                set_log_level: Some(set_log_level),
                config_path: Some(path),
                access_log_reopen,
            };
            match splicer_control::run_with(&config, requests, hooks) {
                Ok(()) => {
                    tracing::info!("splicer stopped");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e),
            }
        }
        Command::Ctl { .. } | Command::Shell { .. } | Command::Generate { .. } => {
            unreachable!("handled above")
        }
    }
}

/// The sections of splicer(1) that clap does not know: files, signals, see also (roff).
const MAN_EXTRA: &str = r#".SH FILES
.TP
\fI/etc/splicer/splicer.toml\fR
The configuration (the package installs a commented example that runs without
hugepages on two TAP ports). Every key is described in
\fI/usr/share/doc/splicer/CONFIGURATION.md\fR.
.TP
\fI/run/splicer/splicer.sock\fR
The default control socket (\fBdataplane.control_socket\fR), used by
\fBsplicer ctl\fR and \fBsplicer shell\fR.
.TP
\fI/lib/systemd/system/splicer.service\fR
The systemd unit. The package does not enable or start it: configure hugepages and
the ports first (\fI/usr/share/doc/splicer/OPERATIONS.md\fR).
.SH SIGNALS
.TP
SIGTERM, SIGINT
A graceful stop: new connections are refused, requests in flight finish within
\fBdataplane.stop_timeout\fR; a second SIGTERM or SIGINT stops at once.
.TP
SIGHUP
Reload the configuration file (as \fBsplicer ctl reload\fR).
.TP
SIGUSR1
Reopen the access log's file (after logrotate moved it).
.SH EXIT STATUS
0 on success; 2 for a configuration or start\-up error; \fBsplicer ctl\fR exits 1
when the command fails.
.SH SEE ALSO
\fBsplicer\-run\fR(1), \fBsplicer\-check\fR(1), \fBsplicer\-ctl\fR(1),
\fBsplicer\-shell\fR(1), \fBsystemctl\fR(1); the documentation in
\fI/usr/share/doc/splicer/\fR (README.md, CONFIGURATION.md, CONTROL.md, COUNTERS.md,
OPERATIONS.md).
"#;

/// Writes the man pages or the completions for the command line as clap knows it, so
/// they never disagree with `--help`; returns the files written.
fn generate(what: Generated, dir: &std::path::Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    match what {
        Generated::Man => {
            // No page for `help`: `--help` and these pages cover it.
            let mut cmd = Cli::command().disable_help_subcommand(true);
            cmd.build();
            let mut out = Vec::new();
            let man = clap_mangen::Man::new(cmd.clone());
            man.render_title(&mut out)?;
            man.render_name_section(&mut out)?;
            man.render_synopsis_section(&mut out)?;
            man.render_description_section(&mut out)?;
            man.render_options_section(&mut out)?;
            man.render_subcommands_section(&mut out)?;
            out.extend_from_slice(MAN_EXTRA.as_bytes());
            man.render_version_section(&mut out)?;
            let mut pages = vec![("splicer".to_string(), out)];
            for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
                let name = format!("splicer-{}", sub.get_name());
                // The page's NAME and SYNOPSIS say `splicer-run`; the version comes from
                // the parent.
                let sub = sub
                    .clone()
                    .name(name.clone())
                    .version(cmd.get_version().unwrap_or_default().to_string());
                let mut out = Vec::new();
                clap_mangen::Man::new(sub).render(&mut out)?;
                pages.push((name, out));
            }
            for (name, text) in pages {
                let path = dir.join(format!("{name}.1"));
                std::fs::write(&path, text)?;
                written.push(path);
            }
        }
        Generated::Completions => {
            use clap_complete::Shell;
            // clap_complete offers hidden subcommands too: complete a copy without them.
            let full = Cli::command();
            let mut cmd = clap::Command::new("splicer")
                .version(full.get_version().unwrap_or_default().to_string())
                .args(full.get_arguments().cloned())
                .subcommands(full.get_subcommands().filter(|s| !s.is_hide_set()).cloned());
            for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
                written.push(clap_complete::generate_to(shell, &mut cmd, "splicer", dir)?);
            }
        }
    }
    Ok(written)
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

fn withdraw(path: &std::path::Path) -> ExitCode {
    let config = match splicer_config::Config::load(path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("splicer: error: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let Some(announce) = &config.announce else {
        println!("{}: no [announce]: nothing to withdraw", path.display());
        return ExitCode::SUCCESS;
    };
    match splicer_control::withdraw(announce) {
        Ok(answer) => {
            println!(
                "withdrawn: {} written empty; BIRD: {answer}",
                announce.routes_file.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("splicer: error: withdraw: {e}");
            ExitCode::FAILURE
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

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("splicer-gen-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn man_pages_for_the_command_and_each_visible_subcommand() {
        let dir = tmp("man");
        let files = generate(Generated::Man, &dir).unwrap();
        let names: Vec<String> = files
            .iter()
            .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            [
                "splicer.1",
                "splicer-run.1",
                "splicer-check.1",
                "splicer-ctl.1",
                "splicer-shell.1",
                "splicer-withdraw.1",
                "splicer-agent.1"
            ]
        );
        let main = std::fs::read_to_string(dir.join("splicer.1")).unwrap();
        assert!(main.contains("\n.TH splicer 1 "), "no title line");
        for section in [
            ".SH NAME",
            ".SH SYNOPSIS",
            ".SH FILES",
            ".SH SEE ALSO",
            ".SH VERSION",
        ] {
            assert!(main.contains(section), "{section} missing");
        }
        // The hidden `generate` and the `help` subcommand get no page and no mention.
        assert!(!main.contains("generate") && !main.contains("splicer\\-help"));
        let ctl = std::fs::read_to_string(dir.join("splicer-ctl.1")).unwrap();
        assert!(ctl.contains("\\-\\-socket") && ctl.contains("/run/splicer/splicer.sock"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn completions_for_bash_zsh_and_fish_know_the_subcommands() {
        let dir = tmp("comp");
        let files = generate(Generated::Completions, &dir).unwrap();
        assert_eq!(files.len(), 3);
        for f in ["splicer.bash", "_splicer", "splicer.fish"] {
            let text = std::fs::read_to_string(dir.join(f)).unwrap();
            let (config, socket) = match f {
                "splicer.fish" => ("-l config", "-l socket"),
                _ => ("--config", "--socket"),
            };
            for sub in ["run", "check", "ctl", "shell", config, socket] {
                assert!(text.contains(sub), "{f}: {sub} missing");
            }
            assert!(!text.contains("generate"), "{f} offers the hidden generate");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn generate_into_a_file_path_fails_with_the_io_error() {
        let dir = tmp("file");
        std::fs::write(&dir, b"not a folder").unwrap();
        assert!(generate(Generated::Man, &dir).is_err());
        std::fs::remove_file(&dir).unwrap();
    }
}
