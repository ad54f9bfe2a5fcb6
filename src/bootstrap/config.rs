//! Finding and caching the `.sops.yaml` that governs each file: one parse
//! per configuration file per run, however many files it covers.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::Error;
use crate::fsio::{self, Cap};
use crate::sops::config::{self as sops_config, CreationRule, SopsConfig};

/// The configurations of one run.
#[derive(Debug, Default)]
pub struct Configs {
    forced: Option<SopsConfig>,
    by_dir: HashMap<PathBuf, Option<PathBuf>>,
    parsed: HashMap<PathBuf, SopsConfig>,
}

/// The creation rule that applies to a file.
#[derive(Debug, Clone, Copy)]
pub enum RuleLookup<'a> {
    /// No `.sops.yaml` (or one without `creation_rules`).
    NoConfig,
    /// The first rule that matches.
    Rule(&'a CreationRule),
    /// A `.sops.yaml` with rules, none of which matches.
    NotCovered,
}

impl<'a> RuleLookup<'a> {
    /// The rule, if one applies.
    pub fn rule(self) -> Option<&'a CreationRule> {
        match self {
            RuleLookup::Rule(rule) => Some(rule),
            _ => None,
        }
    }
}

impl Configs {
    /// Looks for `.sops.yaml` beside each file and above it, or uses the
    /// one named with `--config` for every file.
    pub fn new(forced: Option<&Path>) -> Result<Self, Error> {
        let forced = match forced {
            Some(path) => Some(load(path)?),
            None => None,
        };
        Ok(Self {
            forced,
            ..Self::default()
        })
    }

    /// The configuration that governs `file`, if any.
    pub fn for_file(&mut self, file: &Path) -> Result<Option<&SopsConfig>, Error> {
        if self.forced.is_some() {
            return Ok(self.forced.as_ref());
        }
        let dir = sops_config::absolute_clean(file)
            .parent()
            .map(Path::to_owned)
            .unwrap_or_default();
        let found = self
            .by_dir
            .entry(dir)
            .or_insert_with(|| sops_config::find_for_file(file))
            .clone();
        let Some(path) = found else {
            return Ok(None);
        };
        if !self.parsed.contains_key(&path) {
            let config = load(&path)?;
            self.parsed.insert(path.clone(), config);
        }
        Ok(self.parsed.get(&path))
    }

    /// The creation rule for `file`.
    pub fn rule_for(&mut self, file: &Path) -> Result<RuleLookup<'_>, Error> {
        let Some(config) = self.for_file(file)? else {
            return Ok(RuleLookup::NoConfig);
        };
        match config.rule_for(file) {
            Ok(Some(rule)) => Ok(RuleLookup::Rule(rule)),
            Ok(None) => Ok(RuleLookup::NoConfig),
            Err(crate::sops::Error::NoMatchingRule { .. }) => Ok(RuleLookup::NotCovered),
            Err(e) => Err(Error::Config(e)),
        }
    }

    /// Why `file` is not covered, in sops's words.
    pub fn not_covered_reason(&mut self, file: &Path) -> String {
        match self.for_file(file) {
            Ok(Some(config)) => match config.rule_for(file) {
                Err(e) => e.to_string(),
                Ok(_) => String::new(),
            },
            _ => String::new(),
        }
    }
}

fn load(path: &Path) -> Result<SopsConfig, Error> {
    let bytes = fsio::read_input(path, Cap::Document)?;
    SopsConfig::parse(path, &bytes).map_err(Error::Config)
}
