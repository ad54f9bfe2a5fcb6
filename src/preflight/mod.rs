//! The air gap, enforced by the tool.
//!
//! Before a root is created or any secret is rebuilt, the machine is checked:
//! a non-loopback network interface that is up, or a default route, means the
//! workstation is online and the command refuses unless the operator says
//! `--allow-online` out loud (and the override is recorded). Active swap is a
//! warning: a secret page could be written to disk. The process itself is
//! hardened: no core dumps, not dumpable (no ptrace by same-uid processes, no
//! /proc/PID/mem), and memory locked where the OS allows.
//!
//! The machine is read through a root path (`/` normally), so the checks are
//! tested against fake `/sys` and `/proc` trees.

mod netlink;
mod seccomp;

use std::fs;
use std::path::{Path, PathBuf};

pub use seccomp::{forbid_inet_sockets, inet_sockets_refused};

use crate::class::Class;
pub use crate::report::{Check, Report, Status};

/// Options of a preflight run.
#[derive(Clone, Debug)]
pub struct Options {
    /// Where `/sys` and `/proc` are read (normally `/`).
    pub system_root: PathBuf,
    /// Accept an online machine (recorded).
    pub allow_online: bool,
    /// Apply the process hardening (never in unit tests of the checks).
    pub harden_process: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            system_root: PathBuf::from("/"),
            allow_online: false,
            harden_process: true,
        }
    }
}

/// The outcome of the preflight checks on this machine. Only [`run`] makes
/// one, so an [`AirGapped`] token always stands for checks that really ran.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Preflight {
    report: Report,
    allow_online: bool,
    system_root: Option<String>,
}

impl Preflight {
    /// Every check, in order.
    pub fn report(&self) -> &Report {
        &self.report
    }

    /// Whether the ceremony may go on: no check failed without an override.
    pub fn passed(&self) -> bool {
        self.report.passed()
    }

    /// Whether an online check failed and was overridden (`--allow-online`).
    pub fn went_online(&self) -> bool {
        self.report.count(Status::Overridden) > 0
    }

    /// Whether the operator passed `--allow-online`.
    pub fn allow_online(&self) -> bool {
        self.allow_online
    }

    /// The system root read, when it was not `/` (tests of the checks).
    pub fn system_root(&self) -> Option<&str> {
        self.system_root.as_deref()
    }

    /// The gate: an [`AirGapped`] token if the machine passed (or the
    /// operator overrode the online checks), [`Online`] otherwise.
    pub fn gate(self) -> Result<AirGapped, Online> {
        if self.passed() {
            Ok(AirGapped { preflight: self })
        } else {
            Err(Online)
        }
    }
}

/// Proof that the preflight gate let this process through. Making a root,
/// and rebuilding any secret from shares, take one: the type system, not a
/// reviewer, makes sure no such step runs ungated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AirGapped {
    preflight: Preflight,
}

impl AirGapped {
    /// The checks that let it through (recorded in root.json).
    pub fn preflight(&self) -> &Preflight {
        &self.preflight
    }

    /// A token for the library's own unit tests, which exercise the steps
    /// behind the gate without a machine to check.
    #[cfg(test)]
    pub(crate) fn for_tests() -> Self {
        Self {
            preflight: Preflight {
                report: Report::new(),
                allow_online: false,
                system_root: Some("(unit test)".into()),
            },
        }
    }
}

/// The gate refused: the machine is online and `--allow-online` was not given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("this machine is online (see the preflight checks)")]
pub struct Online;

impl Online {
    /// Its class: a refusal.
    pub fn class(&self) -> Class {
        Class::Refused
    }

    /// What to do.
    pub fn hint(&self) -> &'static str {
        "disconnect the machine (take every interface down, remove the default route), or pass --allow-online to proceed anyway (recorded)"
    }
}

fn check(name: &'static str, status: Status, detail: impl Into<String>) -> Check {
    Check {
        check: name.into(),
        subject: String::new(),
        status,
        detail: detail.into().into(),
    }
}

// Interface flags from <linux/if.h>.
const IFF_UP: u32 = 0x1;
const IFF_LOOPBACK: u32 = 0x8;
// Route flags from <linux/route.h>.
const RTF_UP: u32 = 0x0001;
const RTF_REJECT: u32 = 0x0200;

/// Runs every check (and, if asked, hardens this process).
pub fn run(options: &Options) -> Preflight {
    let root = &options.system_root;
    let online = |check: Check| -> Check {
        if check.status == Status::Fail && options.allow_online {
            Check {
                status: Status::Overridden,
                detail: format!("{} (allowed by --allow-online)", check.detail).into(),
                ..check
            }
        } else {
            check
        }
    };
    let interfaces = if root == Path::new("/") {
        // This process's own network namespace, from the kernel.
        check_kernel_interfaces()
    } else {
        check_interfaces(root)
    };
    let mut checks = vec![
        online(interfaces),
        online(check_default_route(root)),
        check_swap(root),
    ];
    if options.harden_process {
        checks.push(online(check_inet_sockets()));
        checks.extend(harden());
    }
    Preflight {
        report: Report { checks },
        allow_online: options.allow_online,
        system_root: (root != Path::new("/")).then(|| root.display().to_string()),
    }
}

fn read(root: &Path, rel: &str) -> Option<String> {
    fs::read_to_string(root.join(rel)).ok()
}

/// The interfaces of this process's network namespace, as the kernel
/// reports them over netlink: any non-loopback interface up fails.
pub fn check_kernel_interfaces() -> Check {
    let name = "network-interfaces";
    let links = match netlink::links() {
        Ok(links) => links,
        Err(e) => {
            return check(
                name,
                Status::Fail,
                format!("cannot list this process's interfaces over netlink: {e}"),
            );
        }
    };
    let up: Vec<String> = links
        .iter()
        .filter(|l| l.flags & IFF_LOOPBACK == 0)
        .filter(|l| l.flags & IFF_UP != 0 || l.operstate == Some(netlink::IF_OPER_UP))
        .map(|l| {
            let state = if l.operstate == Some(netlink::IF_OPER_UP) {
                "up"
            } else {
                "administratively up"
            };
            format!("{} ({state})", l.name)
        })
        .collect();
    interfaces_outcome(name, &up)
}

fn interfaces_outcome(name: &'static str, up: &[String]) -> Check {
    if up.is_empty() {
        check(
            name,
            Status::Pass,
            "no network interface up besides loopback",
        )
    } else {
        check(
            name,
            Status::Fail,
            format!(
                "interface(s) up: {}; take them down (ip link set DEV down) or unplug",
                up.join(", ")
            ),
        )
    }
}

/// Whether this process can open an internet socket: it must not (the
/// no-network filter the command line installs at start).
pub fn check_inet_sockets() -> Check {
    match seccomp::inet_sockets_refused() {
        Ok(()) => check(
            "inet-sockets",
            Status::Pass,
            "this process cannot open IPv4 or IPv6 sockets (seccomp filter)",
        ),
        Err(why) => check(
            "inet-sockets",
            Status::Fail,
            format!("{why}: the no-network filter is not in place"),
        ),
    }
}

/// Non-loopback interfaces that are up (administratively or operationally),
/// read from a `/sys/class/net` tree under `root` (the fake trees of the
/// tests; the real machine is asked over netlink).
pub fn check_interfaces(root: &Path) -> Check {
    let name = "network-interfaces";
    let dir = root.join("sys/class/net");
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(_) => {
            return check(
                name,
                Status::Fail,
                format!(
                    "cannot read {}: the interfaces cannot be checked",
                    dir.display()
                ),
            );
        }
    };
    let mut up = Vec::new();
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut unreadable = Vec::new();
    for iface in &names {
        // An interface whose state cannot be read counts as up: the gate
        // fails closed.
        let flags = read(root, &format!("sys/class/net/{iface}/flags"))
            .and_then(|f| u32::from_str_radix(f.trim().trim_start_matches("0x"), 16).ok());
        let oper = read(root, &format!("sys/class/net/{iface}/operstate"));
        let Some(flags) = flags else {
            if iface != "lo" {
                unreadable.push(iface.clone());
            }
            continue;
        };
        if flags & IFF_LOOPBACK != 0 || iface == "lo" {
            continue;
        }
        let oper = oper.unwrap_or_else(|| "unknown".into());
        if flags & IFF_UP != 0 || oper.trim() == "up" {
            up.push(format!("{iface} ({})", oper.trim()));
        }
    }
    if !unreadable.is_empty() {
        return check(
            name,
            Status::Fail,
            format!(
                "cannot read the state of {}: the interfaces cannot be checked",
                unreadable.join(", ")
            ),
        );
    }
    interfaces_outcome(name, &up)
}

/// A default route, IPv4 or IPv6 (reject routes do not count).
pub fn check_default_route(root: &Path) -> Check {
    let name = "default-route";
    let mut found = Vec::new();
    let mut unreadable = Vec::new();
    for table in ["proc/net/route", "proc/net/ipv6_route"] {
        if read(root, table).is_none() {
            // A kernel without IPv6 has no ipv6_route; IPv4's table always exists.
            if table == "proc/net/route" || root.join("proc/net/if_inet6").exists() {
                unreadable.push(root.join(table).display().to_string());
            }
        }
    }
    if !unreadable.is_empty() {
        return check(
            name,
            Status::Fail,
            format!(
                "cannot read {}: the routes cannot be checked",
                unreadable.join(", ")
            ),
        );
    }
    if let Some(table) = read(root, "proc/net/route") {
        for line in table.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            // Iface Destination Gateway Flags RefCnt Use Metric Mask …
            if let [iface, "00000000", _, flags, _, _, _, "00000000", ..] = f.as_slice() {
                let flags = u32::from_str_radix(flags, 16).unwrap_or(0);
                if flags & RTF_UP != 0 && flags & RTF_REJECT == 0 {
                    found.push(format!("IPv4 via {iface}"));
                }
            }
        }
    }
    if let Some(table) = read(root, "proc/net/ipv6_route") {
        for line in table.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            // destination prefix-length source prefix-length next-hop
            // metric refcount use flags device
            if let [destination, "00", _, _, _, _, _, _, flags, device, ..] = f.as_slice() {
                let flags = u32::from_str_radix(flags, 16).unwrap_or(0);
                let default = destination.chars().all(|c| c == '0');
                if default && flags & RTF_UP != 0 && flags & RTF_REJECT == 0 && *device != "lo" {
                    found.push(format!("IPv6 via {device}"));
                }
            }
        }
    }
    if found.is_empty() {
        check(name, Status::Pass, "no default route")
    } else {
        check(
            name,
            Status::Fail,
            format!("default route present: {}", found.join(", ")),
        )
    }
}

/// Active swap: a page holding a secret could be written to disk.
pub fn check_swap(root: &Path) -> Check {
    let name = "swap";
    // Unread is not the same as none: say what was not checked.
    let Some(table) = read(root, "proc/swaps") else {
        return check(
            name,
            Status::Warn,
            format!(
                "cannot read {}: swap was not checked (secrets could be paged to disk)",
                root.join("proc/swaps").display()
            ),
        );
    };
    let swaps: Vec<String> = table
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect();
    if swaps.is_empty() {
        check(name, Status::Pass, "no active swap")
    } else {
        check(
            name,
            Status::Warn,
            format!(
                "swap active on {}: secrets could be paged to disk (swapoff -a, or encrypted swap)",
                swaps.join(", ")
            ),
        )
    }
}

/// Hardens this process: no core dumps, not dumpable, memory locked when the
/// OS allows it without risking later allocations.
#[allow(unsafe_code)]
fn harden() -> Vec<Check> {
    let mut checks = Vec::new();

    let zero = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: setrlimit reads a valid, initialised rlimit struct.
    let core = unsafe { libc::setrlimit(libc::RLIMIT_CORE, &zero) };
    checks.push(check(
        "core-dumps",
        if core == 0 {
            Status::Pass
        } else {
            Status::Warn
        },
        if core == 0 {
            "disabled for this process (RLIMIT_CORE = 0)".into()
        } else {
            format!(
                "could not set RLIMIT_CORE = 0: {}",
                std::io::Error::last_os_error()
            )
        },
    ));

    // SAFETY: PR_SET_DUMPABLE takes one integer argument; no memory is passed.
    let dumpable = unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
    checks.push(check(
        "not-dumpable",
        if dumpable == 0 { Status::Pass } else { Status::Warn },
        if dumpable == 0 {
            "process marked not dumpable (no core, no ptrace attach by other processes of this user)".into()
        } else {
            format!("PR_SET_DUMPABLE failed: {}", std::io::Error::last_os_error())
        },
    ));

    checks.push(lock_memory());
    checks
}

/// Locks all current and future pages in RAM. With MCL_FUTURE, every later
/// allocation must fit under RLIMIT_MEMLOCK, so this is done only when the
/// limit cannot bite: the process holds CAP_IPC_LOCK or the limit is
/// unlimited. Otherwise it reports why memory stays unlocked.
///
/// Pages are locked as they are first touched (MCL_ONFAULT, Linux 4.4 and
/// later): every page that ever holds a secret is locked before it holds
/// it, while code and data never touched are not read in. Locking
/// everything up front made the peak memory of a gated command the size of
/// every mapping, the whole binary and its libraries included. A kernel
/// without the flag refuses it; then everything is locked at once.
#[allow(unsafe_code)]
fn lock_memory() -> Check {
    let name = "memory-lock";
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the valid rlimit struct we pass.
    let got = unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut limit) } == 0;
    let unlimited = got && limit.rlim_cur == libc::RLIM_INFINITY;
    if !(unlimited || has_cap_ipc_lock()) {
        return check(
            name,
            Status::Warn,
            format!(
                "memory not locked: RLIMIT_MEMLOCK is {} KiB and CAP_IPC_LOCK is not held (run as root or raise ulimit -l)",
                limit.rlim_cur / 1024
            ),
        );
    }
    let all = libc::MCL_CURRENT | libc::MCL_FUTURE;
    // SAFETY: mlockall takes flags only.
    let mut locked = unsafe { libc::mlockall(all | libc::MCL_ONFAULT) } == 0;
    let mut detail = "all memory locked in RAM, each page as it is first used (mlockall)";
    if !locked && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINVAL) {
        // SAFETY: as above.
        locked = unsafe { libc::mlockall(all) } == 0;
        detail = "all memory locked in RAM (mlockall)";
    }
    if locked {
        check(name, Status::Pass, detail)
    } else {
        check(
            name,
            Status::Warn,
            format!("mlockall failed: {}", std::io::Error::last_os_error()),
        )
    }
}

fn has_cap_ipc_lock() -> bool {
    const CAP_IPC_LOCK: u32 = 14;
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("CapEff:"))
                .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        })
        .is_some_and(|caps| caps & (1 << CAP_IPC_LOCK) != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake system root with the given interfaces, routes and swaps.
    fn fake(
        ifaces: &[(&str, &str, &str)],
        route: &str,
        ipv6: &str,
        swaps: &str,
    ) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, oper, flags) in ifaces {
            let d = dir.path().join("sys/class/net").join(name);
            fs::create_dir_all(&d).unwrap();
            fs::write(d.join("operstate"), format!("{oper}\n")).unwrap();
            fs::write(d.join("flags"), format!("{flags}\n")).unwrap();
        }
        fs::create_dir_all(dir.path().join("sys/class/net")).unwrap();
        fs::create_dir_all(dir.path().join("proc/net")).unwrap();
        fs::write(dir.path().join("proc/net/route"), route).unwrap();
        fs::write(dir.path().join("proc/net/ipv6_route"), ipv6).unwrap();
        fs::write(dir.path().join("proc/swaps"), swaps).unwrap();
        dir
    }

    const ROUTE_HEADER: &str =
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n";
    const SWAPS_HEADER: &str = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n";
    // An IPv6 reject route on lo, as every Linux kernel lists.
    const V6_REJECT: &str = "00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo\n";

    fn offline() -> tempfile::TempDir {
        fake(
            &[("lo", "unknown", "0x9"), ("eth0", "down", "0x1002")],
            ROUTE_HEADER,
            V6_REJECT,
            SWAPS_HEADER,
        )
    }

    fn options(root: &Path, allow_online: bool) -> Options {
        Options {
            system_root: root.to_owned(),
            allow_online,
            harden_process: false,
        }
    }

    #[test]
    fn an_air_gapped_machine_passes() {
        let root = offline();
        let report = run(&options(root.path(), false));
        assert!(report.passed(), "{report:?}");
        assert!(!report.went_online());
        assert_eq!(report.report().checks.len(), 3);
        assert!(
            report
                .report()
                .checks
                .iter()
                .all(|c| c.status == Status::Pass)
        );
    }

    #[test]
    fn an_interface_up_fails_and_is_named() {
        let root = fake(
            &[("lo", "unknown", "0x9"), ("wlan0", "up", "0x1003")],
            ROUTE_HEADER,
            "",
            SWAPS_HEADER,
        );
        let check = check_interfaces(root.path());
        assert_eq!(check.status, Status::Fail);
        assert!(check.detail.contains("wlan0 (up)"), "{}", check.detail);
        // Administratively up without carrier still counts: plugging a cable in would bring it online.
        let root = fake(
            &[("eth1", "down", "0x1003")],
            ROUTE_HEADER,
            "",
            SWAPS_HEADER,
        );
        assert_eq!(check_interfaces(root.path()).status, Status::Fail);
    }

    #[test]
    fn default_routes_fail_but_reject_routes_do_not() {
        let v4 =
            format!("{ROUTE_HEADER}eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n");
        let root = fake(&[], &v4, V6_REJECT, SWAPS_HEADER);
        let check = check_default_route(root.path());
        assert_eq!(check.status, Status::Fail);
        assert!(check.detail.contains("IPv4 via eth0"));

        let v6 = format!(
            "{V6_REJECT}00000000000000000000000000000000 00 00000000000000000000000000000000 00 fd000000000000000000000000000001 00000400 00000002 00000000 00000003     eth0\n"
        );
        let root = fake(&[], ROUTE_HEADER, &v6, SWAPS_HEADER);
        let check = check_default_route(root.path());
        assert_eq!(check.status, Status::Fail);
        assert!(check.detail.contains("IPv6 via eth0"), "{}", check.detail);

        let root = fake(&[], ROUTE_HEADER, V6_REJECT, SWAPS_HEADER);
        assert_eq!(check_default_route(root.path()).status, Status::Pass);
    }

    #[test]
    fn online_is_refused_unless_overridden_and_the_override_is_recorded() {
        let v4 =
            format!("{ROUTE_HEADER}eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n");
        let root = fake(&[("eth0", "up", "0x1003")], &v4, "", SWAPS_HEADER);
        let refused = run(&options(root.path(), false));
        assert!(!refused.passed());
        let allowed = run(&options(root.path(), true));
        assert!(allowed.passed());
        assert!(allowed.went_online());
        assert!(allowed.allow_online());
        assert!(allowed.report().checks[0].detail.contains("--allow-online"));
        assert_eq!(allowed.system_root(), Some(root.path().to_str().unwrap()));
        assert!(allowed.gate().is_ok());
        assert_eq!(refused.gate(), Err(Online));
    }

    #[test]
    fn swap_warns() {
        let swaps = format!(
            "{SWAPS_HEADER}/dev/sda2                               partition\t8388604\t\t0\t\t-2\n"
        );
        let root = fake(&[], ROUTE_HEADER, "", &swaps);
        let check = check_swap(root.path());
        assert_eq!(check.status, Status::Warn);
        assert!(check.detail.contains("/dev/sda2"));
        let report = run(&options(root.path(), false));
        assert!(report.passed(), "a warning does not stop the ceremony");
    }

    #[test]
    fn unreadable_sources_fail_closed() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(check_interfaces(dir.path()).status, Status::Fail);
        assert_eq!(check_default_route(dir.path()).status, Status::Fail);
        // An interface whose flags cannot be read is not assumed down.
        let root = offline();
        fs::remove_file(root.path().join("sys/class/net/eth0/flags")).unwrap();
        let check = check_interfaces(root.path());
        assert_eq!(check.status, Status::Fail);
        assert!(
            check.detail.contains("cannot read the state of eth0"),
            "{}",
            check.detail
        );
        // No IPv6 on the machine: its table may be absent.
        let root = offline();
        fs::remove_file(root.path().join("proc/net/ipv6_route")).unwrap();
        assert_eq!(check_default_route(root.path()).status, Status::Pass);
        fs::write(root.path().join("proc/net/if_inet6"), "").unwrap();
        assert_eq!(check_default_route(root.path()).status, Status::Fail);
    }
}
