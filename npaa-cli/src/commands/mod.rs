//! One module per subcommand. Each takes its parsed arguments, calls npaa-core, and writes
//! its report on `out` (stdout); errors about single files of a multi-file command are
//! printed as they happen and turn the final status into [`Status::Failed`].

mod append;
mod check;
mod ensure;
mod info;
mod ragged;
mod raw;
mod recover;
mod show;
mod tail;

use std::io::Write;
use std::process::ExitCode;

use clap::CommandFactory;

use crate::cli::{Cli, Command};
use crate::progress;

/// How a command ended (errors that stop a command early are returned as `Err` instead).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Exit code 0.
    Ok,
    /// Exit code 1: `npaa check` found a problem.
    Problems,
    /// Exit code 2: some file could not be processed (already reported on stderr).
    Failed,
}

impl Status {
    /// The process exit code.
    pub fn exit_code(self) -> ExitCode {
        match self {
            Status::Ok => ExitCode::SUCCESS,
            Status::Problems => ExitCode::from(1),
            Status::Failed => ExitCode::from(2),
        }
    }
}

/// What every command may need besides its arguments.
#[derive(Clone, Copy, Debug)]
pub struct Ctx {
    /// `--quiet`: no success reports.
    pub quiet: bool,
    /// Whether progress bars may be drawn.
    pub progress: progress::Policy,
}

/// Runs the command `cli` asks for.
pub fn run(cli: &Cli, out: &mut dyn Write) -> anyhow::Result<Status> {
    let ctx = Ctx {
        quiet: cli.quiet,
        progress: progress::Policy::new(cli.quiet),
    };
    match &cli.command {
        Command::Info(args) => info::run(args, out),
        Command::Check(args) => check::run(args, ctx, out),
        Command::Recover(args) => recover::run(args, ctx, out),
        Command::EnsureAppendable(args) => ensure::run(args, ctx, out),
        Command::Append(args) if args.raw.is_some() => raw::run(args, ctx, out),
        Command::Append(args) => append::run(args, ctx, out),
        Command::Show(args) => show::run(args, out),
        Command::Tail(args) => tail::run(args, out),
        Command::Ragged(args) => ragged::run(args, ctx, out),
        Command::Completions(args) => {
            let mut command = Cli::command();
            clap_complete::generate(args.shell, &mut command, "npaa", out);
            Ok(Status::Ok)
        }
    }
}

/// Runs `each` on every file, reporting the errors of single files on stderr and going on
/// with the others. A closed stdout stops everything at once.
fn for_each_file(
    files: &[std::path::PathBuf],
    out: &mut dyn Write,
    mut each: impl FnMut(&std::path::Path, &mut dyn Write) -> anyhow::Result<Status>,
) -> anyhow::Result<Status> {
    let mut status = Status::Ok;
    for file in files {
        match each(file, out) {
            Ok(s) => status = status.max(s),
            Err(e) if crate::report::is_broken_pipe(&e) => return Err(e),
            Err(e) => {
                // Keep stdout and stderr in order on a terminal.
                out.flush()?;
                crate::report::error(&e);
                status = Status::Failed;
            }
        }
    }
    Ok(status)
}
