//! `ceremony preflight`, and the same checks as a gate in front of every
//! command that makes a root or rebuilds a secret.

use std::path::PathBuf;

use anyhow::Result;
use ceremony::preflight::{self, Outcome, Report};

use super::args::PreflightArgs;
use super::io::CliError;

fn options(args: &PreflightArgs) -> preflight::Options {
    preflight::Options {
        system_root: args
            .system_root
            .clone()
            .unwrap_or_else(|| PathBuf::from("/")),
        allow_online: args.allow_online,
        harden_process: true,
    }
}

/// Prints a report, one line per check, to stderr.
pub fn print(report: &Report) {
    eprintln!("Preflight:");
    for check in &report.checks {
        let mark = match check.outcome {
            Outcome::Pass => "✓",
            Outcome::Warn => "!",
            Outcome::Fail => "✗",
            Outcome::Overridden => "✗ (allowed)",
        };
        eprintln!("  {mark} {:<20} {}", check.name, check.detail);
    }
    if let Some(root) = &report.system_root {
        eprintln!("  ! system root       checks read {root}, not this machine");
    }
    if report.went_online() {
        eprintln!(
            "  WARNING: --allow-online: this machine is ONLINE. Secrets handled now are exposed to the network; this is recorded."
        );
    }
}

/// Runs the checks and refuses to go on if the machine is online and
/// `--allow-online` was not given.
pub fn gate(args: &PreflightArgs) -> Result<Report> {
    let report = preflight::run(&options(args));
    print(&report);
    if !report.passed() {
        return Err(CliError::Online.into());
    }
    Ok(report)
}

/// `ceremony preflight`: report only; exits 6 when the gate would refuse.
pub fn run(args: &PreflightArgs) -> Result<()> {
    gate(args).map(|_| ())
}
