//! Command-line definition, dispatch and exit codes.

mod alerts;
mod backfill;
mod cluster;
mod explain;
mod hunt;
mod import;
mod kql;
mod rules;
mod run;
mod scan;
mod setup;
mod status;
mod summary;
mod test;

use clap::{Parser, Subcommand};
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit codes, as documented in the README.
pub mod exit {
    /// Success.
    pub const OK: u8 = 0;
    /// A rule test failed, or the command could not do its work.
    pub const FAILURE: u8 = 1;
    /// The command line is invalid.
    pub const USAGE: u8 = 2;
    /// The command finished, but skipped something: invalid rules, unreadable input records,
    /// or fields a rule needed were unavailable in some documents.
    pub const PARTIAL: u8 = 3;
}

/// eshunt — detection hunting for AWS CloudTrail, in files and in Elasticsearch/OpenSearch.
#[derive(Debug, Parser)]
#[command(name = "eshunt", version, about, long_about = None)]
#[command(
    after_help = "Exit codes: 0 success; 1 a rule test failed (in `test`, also an invalid rule \
file) or the command could not run; 2 invalid command line; 3 finished but skipped something \
(invalid rule files, unreadable records, unavailable fields, missing privileges; in `status`, \
an open gap or an unresolved failure)."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log format on stderr (levels with ESHUNT_LOG, e.g. `ESHUNT_LOG=debug`).
    #[arg(long, global = true, value_enum, default_value = "text")]
    log_format: LogFormat,
}

/// How logs are written.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Set when logs are JSON: errors (invalid rules, fatal errors) then go to the log as events,
/// so a log pipeline parses every line.
static JSON_LOGS: std::sync::OnceLock<()> = std::sync::OnceLock::new();

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("ESHUNT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => {
            let _ = JSON_LOGS.set(());
            builder.json().init()
        }
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run every rule's tests, like a test runner (exit 1 on any failure).
    Test(test::Args),
    /// Hunt CloudTrail files: delivery files ({"Records":[…]}, .json/.json.gz, S3 export
    /// folders), JSON lines (.jsonl/.ndjson, optionally .gz) and Elasticsearch exports.
    Scan(scan::Args),
    /// List rules with their id, severity and schedule.
    Rules(rules::Args),
    /// The daemon: every enabled rule on its own schedule, gap-free, until SIGINT/SIGTERM.
    Run(run::Args),
    /// The rules over a date range of the cluster (chunked, resumable) or of files (--source).
    Backfill(backfill::Args),
    /// Per rule: checkpoint, lag, last run, failures, gaps, lease; per backfill: progress.
    Status(status::Args),
    /// Install the alert templates (idempotent) and check the configured user's privileges.
    Setup(setup::Args),
    /// One pass of the rules over a window of the cluster: search, evaluate, write alerts.
    Hunt(hunt::Args),
    /// Why a rule does or does not fire on one document (from a file, or --index/--id).
    Explain(explain::Args),
    /// Translate KQL to Elasticsearch query DSL exactly as Kibana does (exit 1 on invalid KQL).
    Kql(kql::Args),
    /// Import a checkout of Elastic's detection-rules or of Sigma's CloudTrail rules as eshunt
    /// rule files (idempotent; a summary tells what was imported and what was refused).
    Import(import::Args),
    /// Alerts one line each (time, severity, rule, title, source event), from alert files or
    /// the cluster, filtered by rule and severity.
    Alerts(alerts::Args),
}

/// Where rules are read from, shared by the commands that load rules.
#[derive(Debug, clap::Args)]
pub struct RulesDir {
    /// Folder of rule files (*.toml, searched recursively).
    #[arg(
        long = "rules",
        value_name = "DIR",
        env = "ESHUNT_RULES",
        default_value = "queries"
    )]
    pub dir: PathBuf,
}

/// `--rule ID`: the rules a hunting command runs, shared by `scan`, `hunt`, `run` and `backfill`.
#[derive(Debug, clap::Args)]
pub struct RuleFilter {
    /// Only the rule with this id (repeatable). Without it, every enabled rule runs.
    #[arg(long = "rule", value_name = "ID")]
    pub ids: Vec<String>,
}

/// Parses the command line and runs the command.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            });
        }
    };
    init_logging(cli.log_format);
    let code = match cli.command {
        Command::Test(args) => test::run(args),
        Command::Scan(args) => scan::run(args),
        Command::Rules(args) => rules::run(args),
        Command::Kql(args) => kql::run(args),
        Command::Import(args) => import::run(args),
        Command::Hunt(args) => hunt::run(args),
        Command::Setup(args) => setup::run(args),
        Command::Run(args) => run::run(args),
        Command::Backfill(args) => backfill::run(args),
        Command::Status(args) => status::run(args),
        Command::Explain(args) => explain::run(args),
        Command::Alerts(args) => alerts::run(args),
    };
    ExitCode::from(code)
}

/// Why a command could not do its work: the message for stderr and the exit code. A command
/// whose stdout was closed also ends through here, quietly (see [`Fail::closed`]).
#[derive(Debug)]
pub struct Fail {
    code: u8,
    message: Option<String>,
}

impl Fail {
    /// An invalid command line (exit 2).
    pub fn usage(message: impl Into<String>) -> Fail {
        Fail {
            code: exit::USAGE,
            message: Some(message.into()),
        }
    }

    /// Stdout was closed by its reader (`eshunt … | head`): the command stops there, quietly and
    /// successfully, as `cat` and ripgrep do.
    pub fn closed() -> Fail {
        Fail {
            code: exit::OK,
            message: None,
        }
    }

    /// Writing `what` failed: a closed pipe is [`Fail::closed`], any other error a failure.
    pub fn writing(what: &str, error: io::Error) -> Fail {
        if error.kind() == io::ErrorKind::BrokenPipe {
            Fail::closed()
        } else {
            format!("writing {what}: {error}").into()
        }
    }
}

impl From<String> for Fail {
    fn from(message: String) -> Fail {
        Fail {
            code: exit::FAILURE,
            message: Some(message),
        }
    }
}

impl From<io::Error> for Fail {
    /// An error writing the command's output (`writeln!(out, …)?`), see [`Fail::writing`].
    fn from(error: io::Error) -> Fail {
        Fail::writing("the output", error)
    }
}

/// The exit code of a command's result, printing the error if there is one.
pub fn finish(result: Result<u8, Fail>) -> u8 {
    result.unwrap_or_else(|fail| {
        if let Some(message) = &fail.message {
            print_error(message);
        }
        fail.code
    })
}

/// Runs a command that prints its results on stdout, and returns its exit code. The command
/// writes through `out` with `writeln!(out, …)?` — never `println!`, which panics when stdout is
/// closed: here a closed stdout ends the command quietly ([`Fail::closed`]).
pub fn with_stdout(command: impl FnOnce(&mut dyn Write) -> Result<u8, Fail>) -> u8 {
    let mut out = io::stdout().lock();
    finish(command(&mut out).and_then(|code| {
        out.flush()?;
        Ok(code)
    }))
}

/// Prints an error on stderr: `error: …`, or a log event when logs are JSON.
fn print_error(error: &dyn std::fmt::Display) {
    if JSON_LOGS.get().is_some() {
        tracing::error!(error = %error);
    } else {
        eprintln!("error: {error}");
    }
}

/// Loads rules, printing every rule error to stderr. Returns the report.
pub fn load_rules(dir: &std::path::Path) -> eshunt::rule::LoadReport {
    let report = eshunt::rule::load_dir(dir);
    for error in &report.errors {
        print_error(error);
    }
    report
}

/// How a command chose its rules folder, so an error can say how to choose another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RulesFrom {
    /// `--rules DIR` or `ESHUNT_RULES`, default `queries` (`scan`, `rules`).
    OptionOrEnv,
    /// `--rules DIR`, default `queries` (`backfill --source`, `explain` without a config).
    Option,
    /// `[rules] dir` of the config file (the commands that talk to a cluster).
    Config,
    /// The `DIR` argument of `eshunt test`.
    Argument,
}

/// Where the rules were looked for (as an absolute path: an installed binary run elsewhere
/// looks in the working directory) and how to point eshunt at them.
pub fn rules_help(dir: &std::path::Path, from: RulesFrom) -> String {
    let looked = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let how = match from {
        RulesFrom::OptionOrEnv => "give the rules folder with --rules DIR or ESHUNT_RULES=DIR",
        RulesFrom::Option => "give the rules folder with --rules DIR",
        RulesFrom::Config => {
            "set `[rules] dir` in the config file (--config, ESHUNT_CONFIG; relative to that file)"
        }
        RulesFrom::Argument => "give the rules folder: eshunt test DIR",
    };
    format!(
        "eshunt looked for rule files in {}; {how} (the rules that come with eshunt are in the `queries` folder of its repository)",
        looked.display()
    )
}

/// The rules of `report` with these ids (every enabled rule when none is given). When there is
/// nothing to run, the error says where the rules were looked for and how to point eshunt
/// elsewhere.
pub fn select_from<'r>(
    report: &'r eshunt::rule::LoadReport,
    ids: &[String],
    dir: &std::path::Path,
    from: RulesFrom,
) -> Result<Vec<&'r eshunt::rule::Rule>, String> {
    report
        .select(ids)
        .map_err(|e| format!("{e} — {}", rules_help(dir, from)))
}
