//! No network, enforced in-process: a seccomp filter that makes every
//! `socket(AF_INET, …)` and `socket(AF_INET6, …)` fail with
//! `EAFNOSUPPORT`, installed by the command line before it does anything
//! else.
//!
//! The air-gap checks look at the machine; this makes the process itself
//! unable to open an internet socket whatever it links or a dependency
//! does, now or in a future version. Local sockets stay possible: Unix
//! sockets, and netlink, which the preflight uses to list interfaces.
//! `io_uring` is refused too (it can create sockets without the `socket`
//! system call), and so is every system call of another ABI (32-bit
//! compatibility or x32 calls from a 64-bit process), which the filter
//! would otherwise not see by number. The filter, and `no_new_privs`, are
//! inherited by every child process and cannot be removed: an age plugin
//! ceremony starts for a hardware token (`crate::plugin`) cannot open an
//! internet socket either, while the unix socket to `pcscd` that
//! `age-plugin-yubikey` needs stays open to it (tested in
//! `tests/plugins.rs`).
//!
//! Only Linux on x86_64 and aarch64 is covered; elsewhere
//! [`forbid_inet_sockets`] reports that it cannot install the filter.

/// Installs the filter for every thread of this process.
#[allow(unsafe_code)]
#[cfg(all(
    target_os = "linux",
    target_endian = "little",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
pub fn forbid_inet_sockets() -> std::io::Result<()> {
    // BPF opcodes (linux/bpf_common.h) and seccomp return values
    // (linux/seccomp.h).
    const LD_W_ABS: u16 = 0x20;
    const JEQ_K: u16 = 0x15;
    const JGE_K: u16 = 0x35;
    const RET_K: u16 = 0x06;
    const RET_ALLOW: u32 = 0x7fff_0000;
    const RET_ERRNO: u32 = 0x0005_0000;
    // struct seccomp_data: nr at 0, arch at 4, args[0] at 16 (its low 32
    // bits first on a little-endian machine).
    const NR: u32 = 0;
    const ARCH: u32 = 4;
    const ARG0_LOW: u32 = 16;
    #[cfg(target_arch = "x86_64")]
    const NATIVE_ARCH: u32 = 0xc000_003e; // AUDIT_ARCH_X86_64
    #[cfg(target_arch = "aarch64")]
    const NATIVE_ARCH: u32 = 0xc000_00b7; // AUDIT_ARCH_AARCH64
    // x32 system calls share the x86_64 arch value, with this bit set.
    const X32_BIT: u32 = 0x4000_0000;

    let stmt = |code: u16, k: u32| libc::sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    };
    let jump = |code: u16, k: u32, jt: u8, jf: u8| libc::sock_filter { code, jt, jf, k };
    let deny = |errno: i32| stmt(RET_K, RET_ERRNO | (errno as u32 & 0xffff));
    let program = [
        /* 0 */ stmt(LD_W_ABS, ARCH),
        /* 1 */ jump(JEQ_K, NATIVE_ARCH, 1, 0),
        /* 2 */ deny(libc::EPERM),
        /* 3 */ stmt(LD_W_ABS, NR),
        /* 4 */ jump(JGE_K, X32_BIT, 0, 1),
        /* 5 */ deny(libc::EPERM),
        /* 6 */ jump(JEQ_K, libc::SYS_io_uring_setup as u32, 0, 1),
        /* 7 */ deny(libc::ENOSYS),
        /* 8 */ jump(JEQ_K, libc::SYS_socket as u32, 1, 0),
        /* 9 */ stmt(RET_K, RET_ALLOW),
        /* 10 */ stmt(LD_W_ABS, ARG0_LOW),
        /* 11 */ jump(JEQ_K, libc::AF_INET as u32, 2, 0),
        /* 12 */ jump(JEQ_K, libc::AF_INET6 as u32, 1, 0),
        /* 13 */ stmt(RET_K, RET_ALLOW),
        /* 14 */ deny(libc::EAFNOSUPPORT),
    ];
    let prog = libc::sock_fprog {
        len: program.len() as u16,
        filter: program.as_ptr().cast_mut(),
    };
    // SAFETY: PR_SET_NO_NEW_PRIVS takes integers only. It is required to
    // install a filter without CAP_SYS_ADMIN, and it only ever removes
    // privileges (no setuid gain on exec).
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `prog` points at `program`, which outlives the call; the
    // kernel copies the filter. TSYNC applies it to every thread.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            1, // SECCOMP_SET_MODE_FILTER
            1, // SECCOMP_FILTER_FLAG_TSYNC
            &prog as *const libc::sock_fprog,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Where the filter is not available.
#[cfg(not(all(
    target_os = "linux",
    target_endian = "little",
    any(target_arch = "x86_64", target_arch = "aarch64")
)))]
pub fn forbid_inet_sockets() -> std::io::Result<()> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "the no-network seccomp filter exists for Linux on x86_64 and aarch64 only",
    ))
}

/// Tries to open an internet socket, as a dependency would: `Ok(())` when
/// the kernel refuses (the filter is in place), the socket error otherwise.
#[allow(unsafe_code)]
pub fn inet_sockets_refused() -> Result<(), String> {
    for family in [libc::AF_INET, libc::AF_INET6] {
        // SAFETY: integer arguments; a descriptor that opens is closed.
        let fd = unsafe { libc::socket(family, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
        if fd >= 0 {
            // SAFETY: `fd` was just opened here and is closed once.
            unsafe { libc::close(fd) };
            return Err(format!(
                "an {} socket could be opened",
                if family == libc::AF_INET {
                    "IPv4"
                } else {
                    "IPv6"
                }
            ));
        }
        let error = std::io::Error::last_os_error();
        if error.raw_os_error() != Some(libc::EAFNOSUPPORT) {
            return Err(format!("socket() failed, but not by the filter: {error}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// In a thread of its own (the filter without TSYNC would be per
    /// thread, but TSYNC covers every thread: so this runs in a child
    /// process instead, which is the test binary itself re-run).
    #[test]
    fn the_filter_refuses_inet_and_allows_local_sockets() {
        if std::env::var_os("CEREMONY_SECCOMP_CHILD").is_none() {
            let exe = std::env::current_exe().unwrap();
            let status = std::process::Command::new(exe)
                .args([
                    "--exact",
                    "preflight::seccomp::tests::the_filter_refuses_inet_and_allows_local_sockets",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env("CEREMONY_SECCOMP_CHILD", "1")
                .status()
                .unwrap();
            assert!(status.success(), "the child run failed");
            return;
        }
        assert!(inet_sockets_refused().is_err(), "before the filter");
        forbid_inet_sockets().unwrap();
        assert_eq!(inet_sockets_refused(), Ok(()));
        // Unix and netlink sockets still work.
        let unix = std::os::unix::net::UnixDatagram::unbound();
        assert!(unix.is_ok());
        assert!(super::super::netlink::links().is_ok());
    }
}
