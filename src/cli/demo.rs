//! `ceremony demo`: the main job end to end, with throwaway custodians.
use anyhow::Result;

use super::args::DemoArgs;

pub fn run(_args: DemoArgs) -> Result<()> {
    Ok(())
}
