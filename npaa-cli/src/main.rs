//! The `npaa` command-line tool: inspect, check, repair and grow NumPy `.npy` files.
//!
//! Parsing lives in [`cli`], the work in [`commands`] (which call npaa-core and format the
//! results), value formatting for `npaa show` in [`show`], progress bars in [`progress`], and
//! error messages in [`report`].
#![forbid(unsafe_code)]

mod cli;
mod commands;
mod progress;
mod report;
mod show;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use crate::cli::Cli;
use crate::commands::Status;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Usage errors exit 2 (clap's convention); --help and --version exit 0.
            let code = if e.use_stderr() { 2 } else { 0 };
            // Printing help into a closed pipe is not worth reporting.
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let result = commands::run(&cli, &mut out).and_then(|status| {
        out.flush()?;
        Ok(status)
    });
    match result {
        Ok(status) => status.exit_code(),
        Err(e) if report::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            // Whatever was printed before the error is still worth having.
            let _ = out.flush();
            report::error(&e);
            Status::Failed.exit_code()
        }
    }
}
