//! `ceremony preflight`, and the same checks as the gate in front of every
//! command that makes a root or rebuilds a secret.

use std::path::PathBuf;

use anyhow::Result;
use ceremony::preflight::{self, AirGapped, Preflight};

use super::args::{PreflightArgs, PreflightRunArgs};
use super::output::{self, note};

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

/// Prints the checks to stderr, as the gate of another command.
pub fn print(preflight: &Preflight) {
    note!("Preflight:");
    for line in output::report_lines(preflight.report(), "  ") {
        note!("{line}");
    }
    if let Some(root) = preflight.system_root() {
        note!("  ! system root       checks read {root}, not this machine");
    }
    if preflight.went_online() {
        note!(
            "  WARNING: --allow-online: this machine is ONLINE. Secrets handled now are exposed to the network; this is recorded."
        );
    }
}

/// Runs the checks, prints them, and lets the command through or refuses.
pub fn gate(args: &PreflightArgs) -> Result<AirGapped> {
    let preflight = preflight::run(&options(args));
    print(&preflight);
    Ok(preflight.gate()?)
}

/// `ceremony preflight`: the report on stdout; exits 6 when the gate would
/// refuse.
pub fn run(args: &PreflightRunArgs) -> Result<()> {
    let preflight = preflight::run(&options(&args.preflight));
    output::report(preflight.report(), "preflight", args.json)?;
    if preflight.went_online() {
        note!(
            "WARNING: --allow-online: this machine is ONLINE; the override is recorded by the commands that use it."
        );
    }
    preflight.gate()?;
    Ok(())
}
