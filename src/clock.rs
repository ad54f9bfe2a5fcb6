//! The one clock of the library.
//!
//! Every time the library records (a manifest's `created_at`, a transcript
//! record, a challenge's expiry, a SOPS file's `lastmodified`) comes from a
//! [`Clock`] the caller passes in. The command line passes [`SystemClock`];
//! tests pass a [`FixedClock`], so that what depends on time (expiry, the
//! bytes of a snapshot) can be checked exactly.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A source of the current time.
pub trait Clock: Send + Sync {
    /// Now, in UTC.
    fn now(&self) -> OffsetDateTime;

    /// Now, RFC 3339 UTC at second precision (`2026-12-01T08:42:53Z`): the
    /// form every file of ours records.
    fn now_rfc3339(&self) -> String {
        rfc3339_seconds(self.now())
    }
}

/// The operating system's clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that always says the same time (tests, reproducible output).
#[derive(Clone, Copy, Debug)]
pub struct FixedClock(pub OffsetDateTime);

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        self.0
    }
}

/// RFC 3339 UTC at second precision. Formatting a UTC time to RFC 3339
/// fails only for years outside 0..=9999, which no clock of ours gives.
pub fn rfc3339_seconds(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let t = t.replace_nanosecond(0).unwrap_or(t);
    t.format(&Rfc3339).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_clock_formats_to_seconds_in_utc() {
        let t = time::macros::datetime!(2026-12-01 08:42:53.75 +02:00);
        assert_eq!(FixedClock(t).now_rfc3339(), "2026-12-01T06:42:53Z");
    }
}
