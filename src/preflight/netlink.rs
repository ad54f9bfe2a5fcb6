//! The network interfaces of this process's own network namespace, asked of
//! the kernel over rtnetlink (`RTM_GETLINK`).
//!
//! `/sys/class/net` shows the namespace of whoever mounted that sysfs, not
//! necessarily this process's: inside `unshare -n` it still lists the host's
//! `eth0`. A netlink socket is created in the caller's namespace, so its
//! answer is the truth for this process. Netlink is a local kernel
//! interface, not a network: the no-network filter
//! ([`super::seccomp`]) leaves it open for exactly this.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// One interface as the kernel reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// Its name (`eth0`).
    pub name: String,
    /// `IFF_*` flags.
    pub flags: u32,
    /// `IF_OPER_*` state, if reported.
    pub operstate: Option<u8>,
}

const NLMSG_HDRLEN: usize = 16;
const IFINFOMSG_LEN: usize = 16;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const RTM_NEWLINK: u16 = 16;
const RTM_GETLINK: u16 = 18;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_DUMP: u16 = 0x300;
const IFLA_IFNAME: u16 = 3;
const IFLA_OPERSTATE: u16 = 16;

/// Operational state "up" (`IF_OPER_UP`).
pub const IF_OPER_UP: u8 = 6;

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn invalid(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, format!("netlink: {what}"))
}

/// Every interface of this process's network namespace.
#[allow(unsafe_code)]
pub fn links() -> std::io::Result<Vec<Link>> {
    // SAFETY: socket takes integer arguments only; the descriptor it
    // returns is owned here and closed on drop.
    let raw = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::NETLINK_ROUTE,
        )
    };
    if raw < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `raw` is a descriptor we just opened and nothing else owns.
    let socket = unsafe { OwnedFd::from_raw_fd(raw) };

    let mut request = [0u8; NLMSG_HDRLEN + IFINFOMSG_LEN];
    let len = request.len() as u32;
    request[0..4].copy_from_slice(&len.to_ne_bytes());
    request[4..6].copy_from_slice(&RTM_GETLINK.to_ne_bytes());
    request[6..8].copy_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    request[8..12].copy_from_slice(&1u32.to_ne_bytes());
    // SAFETY: the buffer is valid for its whole length for the call.
    let sent = unsafe {
        libc::send(
            socket.as_raw_fd(),
            request.as_ptr().cast(),
            request.len(),
            0,
        )
    };
    if sent < 0 {
        return Err(std::io::Error::last_os_error());
    }

    let mut out = Vec::new();
    let mut buffer = vec![0u8; 64 * 1024];
    // A dump ends with NLMSG_DONE; the number of reads is bounded so that
    // a misbehaving kernel answer cannot keep us here.
    for _ in 0..4096 {
        // SAFETY: the buffer is valid for writes of its whole length.
        let n = unsafe {
            libc::recv(
                socket.as_raw_fd(),
                buffer.as_mut_ptr().cast(),
                buffer.len(),
                0,
            )
        };
        if n < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let data = buffer
            .get(..usize::try_from(n).unwrap_or(0))
            .ok_or_else(|| invalid("short read"))?;
        let mut at = 0;
        while at + NLMSG_HDRLEN <= data.len() {
            let len = u32_at(data, at).ok_or_else(|| invalid("header"))? as usize;
            let kind = u16_at(data, at + 4).ok_or_else(|| invalid("header"))?;
            if len < NLMSG_HDRLEN || at + len > data.len() {
                return Err(invalid("message length"));
            }
            let message = data.get(at..at + len).ok_or_else(|| invalid("message"))?;
            match kind {
                NLMSG_DONE => return Ok(out),
                NLMSG_ERROR => {
                    let code =
                        u32_at(message, NLMSG_HDRLEN).ok_or_else(|| invalid("error"))? as i32;
                    if code != 0 {
                        return Err(std::io::Error::from_raw_os_error(-code));
                    }
                }
                RTM_NEWLINK => out.push(parse_link(message)?),
                _ => {}
            }
            at += align4(len);
        }
    }
    Err(invalid("the dump did not end"))
}

fn parse_link(message: &[u8]) -> std::io::Result<Link> {
    let flags = u32_at(message, NLMSG_HDRLEN + 8).ok_or_else(|| invalid("ifinfomsg"))?;
    let mut name = None;
    let mut operstate = None;
    let mut at = NLMSG_HDRLEN + IFINFOMSG_LEN;
    while at + 4 <= message.len() {
        let len = usize::from(u16_at(message, at).ok_or_else(|| invalid("attribute"))?);
        let kind = u16_at(message, at + 2).ok_or_else(|| invalid("attribute"))?;
        if len < 4 || at + len > message.len() {
            return Err(invalid("attribute length"));
        }
        let value = message.get(at + 4..at + len).unwrap_or_default();
        match kind {
            IFLA_IFNAME => {
                let text = value.split(|&b| b == 0).next().unwrap_or_default();
                name = Some(String::from_utf8_lossy(text).into_owned());
            }
            IFLA_OPERSTATE => operstate = value.first().copied(),
            _ => {}
        }
        at += align4(len);
    }
    Ok(Link {
        name: name.ok_or_else(|| invalid("a link without a name"))?,
        flags,
        operstate,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_namespace_has_a_loopback() {
        let links = links().expect("rtnetlink answers");
        assert!(
            links
                .iter()
                .any(|l| l.flags & (libc::IFF_LOOPBACK as u32) != 0),
            "{links:?}"
        );
    }
}
