//! The processes that npaa's tests start: writers that are killed with SIGKILL, traced with
//! strace, run under a file-size limit or as another user. `npaa-test-child ROLE`; the parent
//! (a test, through `npaa_testutil::child::command`) passes paths and modes in environment
//! variables. Each role prints what its parent waits for (`READY`, ...) on standard output.

mod capi;
mod core;
mod foreign;

use std::process::ExitCode;

/// The roles, each with the function that plays it.
const ROLES: [(&str, fn()); 11] = [
    ("crash-writer", core::crash_writer),
    ("append-files-writer", core::append_files_writer),
    ("capi-crash-writer", capi::crash_writer),
    ("mapped-writer", core::mapped_writer),
    ("durability", core::durability),
    ("lock-holder", core::lock_holder),
    ("lock-contender", core::lock_contender),
    ("placeholder-writer", foreign::placeholder_writer),
    ("ragged-crash-writer", core::ragged_crash_writer),
    ("shared-writer", core::shared_writer),
    ("shared-staller", core::shared_staller),
];

/// The roles that need Unix: a file-size limit, file modes and another user, the page size.
#[cfg(unix)]
const UNIX_ROLES: [(&str, fn()); 3] = [
    ("fsize", core::fsize),
    ("permission", core::permission),
    ("page-size", core::page_size),
];
#[cfg(not(unix))]
const UNIX_ROLES: [(&str, fn()); 0] = [];

fn main() -> ExitCode {
    let role = std::env::args().nth(1).unwrap_or_default();
    let roles = ROLES.iter().chain(&UNIX_ROLES);
    match roles.clone().find(|(name, _)| *name == role) {
        Some((_, play)) => {
            play();
            ExitCode::SUCCESS
        }
        None => {
            let names: Vec<&str> = roles.map(|(name, _)| *name).collect();
            eprintln!("npaa-test-child: unknown role {role:?}; roles: {names:?}");
            ExitCode::from(2)
        }
    }
}
