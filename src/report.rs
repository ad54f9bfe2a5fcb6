//! Check reports: the one shape every verify-style command returns.
//!
//! `preflight`, `root verify`, `unseal verify`, `bootstrap verify`,
//! `handover verify` and `transcript verify` each produce a [`Report`]: an
//! ordered list of [`Check`]s, each naming what was checked, what it was
//! checked on, its [`Status`] and why. The command line renders every
//! report the same way (one line per check, or `--json`); the JSON form is
//! specified in `docs/formats/report.md`.
//!
//! A report passes when no check failed and none was skipped. A check that
//! was *not checked* (not asked for, or its material is elsewhere) or only
//! warns does not fail it; the rendering says so, so that a pass is never
//! read as covering more than it did.

use std::borrow::Cow;

use serde::Serialize;

/// The outcome of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// It held.
    Pass,
    /// It did not.
    Fail,
    /// Worth knowing; does not fail the report.
    Warn,
    /// It failed, but the operator explicitly allowed it (recorded).
    Overridden,
    /// Not evaluated because something it depends on failed. Fails the
    /// report: an unauthenticated input never shows a pass.
    Skipped,
    /// Not evaluated by choice: not asked for (a commitment without
    /// `--deep`), out of scope (a file that is not a manifest), or its
    /// material is elsewhere (a custodian's file they took home).
    NotChecked,
}

impl Status {
    /// The mark printed before a check's line.
    pub fn mark(self) -> &'static str {
        match self {
            Status::Pass => "✓",
            Status::Fail => "✗",
            Status::Warn => "!",
            Status::Overridden => "✗ (allowed)",
            Status::Skipped => "-",
            Status::NotChecked => "·",
        }
    }

    /// Whether a check with this status fails its report.
    pub fn fails(self) -> bool {
        matches!(self, Status::Fail | Status::Skipped)
    }
}

/// One line of a report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What kind of check: `signature`, `share set`, `sealed`, …
    pub check: Cow<'static, str>,
    /// What it is about: a file, a key path, an item id; empty for a check
    /// of the whole input.
    pub subject: String,
    /// The outcome.
    pub status: Status,
    /// Why, in words. Never a secret value. (Most are fixed words: a
    /// report of ten thousand files then holds one copy of them.)
    pub detail: Cow<'static, str>,
}

/// An ordered list of checks.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Every check, in the order it was made.
    pub checks: Vec<Check>,
}

impl Report {
    /// An empty report.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a check.
    pub fn push(
        &mut self,
        check: impl Into<Cow<'static, str>>,
        subject: impl Into<String>,
        status: Status,
        detail: impl Into<Cow<'static, str>>,
    ) {
        self.checks.push(Check {
            check: check.into(),
            subject: subject.into(),
            status,
            detail: detail.into(),
        });
    }

    /// Adds a check that held (`ok`) or failed.
    pub fn record(
        &mut self,
        check: impl Into<Cow<'static, str>>,
        subject: impl Into<String>,
        ok: bool,
        detail: impl Into<Cow<'static, str>>,
    ) {
        let status = if ok { Status::Pass } else { Status::Fail };
        self.push(check, subject, status, detail);
    }

    /// Appends every check of `other`.
    pub fn extend(&mut self, other: Report) {
        self.checks.extend(other.checks);
    }

    /// True when no check failed and none was skipped.
    pub fn passed(&self) -> bool {
        !self.checks.iter().any(|c| c.status.fails())
    }

    /// The checks that fail the report.
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.status.fails())
    }

    /// The checks with a given status.
    pub fn with_status(&self, status: Status) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(move |c| c.status == status)
    }

    /// How many checks have a given status.
    pub fn count(&self, status: Status) -> usize {
        self.with_status(status).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skipped_fails_and_not_checked_does_not() {
        let mut report = Report::new();
        report.record("a", "", true, "fine");
        report.push("b", "x", Status::NotChecked, "elsewhere");
        report.push("c", "", Status::Warn, "swap");
        assert!(report.passed());
        report.push("d", "", Status::Skipped, "depends on a");
        assert!(!report.passed());
        assert_eq!(report.failures().count(), 1);
    }

    #[test]
    fn json_shape_is_stable() {
        let mut report = Report::new();
        report.push("commitment", "ns/n/k", Status::NotChecked, "needs --deep");
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"checks": [{"check": "commitment", "subject": "ns/n/k", "status": "not_checked", "detail": "needs --deep"}]})
        );
    }
}
