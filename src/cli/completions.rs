//! Shell completions and the manual page, both generated from the one flag
//! definition in [`super::args`] (as rage and ripgrep do).

use anyhow::Result;
use clap::CommandFactory;

use super::args::{Cli, CompletionsArgs};
use super::output;

/// `ceremony completions SHELL`
pub fn completions(args: &CompletionsArgs) -> Result<()> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "ceremony", &mut script);
    output::product(&script)?;
    Ok(())
}

/// `ceremony manpage`
pub fn manpage() -> Result<()> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut page)?;
    output::product(&page)?;
    Ok(())
}
