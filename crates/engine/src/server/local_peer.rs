//! Which account of this machine is at the other end of a loopback connection (Linux): every local account
//! connects from 127.0.0.1, so the failure limit keys local clients by their user id instead of their address.
//! Otherwise another account could lock the owner out by guessing ten times a minute.
//!
//! The kernel lists every TCP socket of this network namespace with its owner's uid in `/proc/net/tcp` and
//! `/proc/net/tcp6`; the client's socket is the one whose local address is our peer and whose remote address is
//! our own end. Reading the table costs time in proportion to the open sockets, so the caller asks only when it
//! needs to (a failed token, or a check while local failures are being counted).

use std::net::{IpAddr, SocketAddr};

/// The uid owning the client socket of the loopback connection `peer` → `local`, if the kernel says.
pub(crate) fn uid(peer: SocketAddr, local: SocketAddr) -> Option<u32> {
    if !peer.ip().is_loopback() {
        return None;
    }
    #[cfg(target_os = "linux")]
    {
        let table = match peer.ip() {
            IpAddr::V4(_) => "/proc/net/tcp",
            IpAddr::V6(_) => "/proc/net/tcp6",
        };
        let text = std::fs::read_to_string(table).ok()?;
        find_uid(&text, peer, local)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = local;
        None
    }
}

/// The uid column of the line of a `/proc/net/tcp{,6}` table whose local address is `peer` and remote address is
/// `local`.
fn find_uid(table: &str, peer: SocketAddr, local: SocketAddr) -> Option<u32> {
    let (want_local, want_remote) = (encode(peer), encode(local));
    table.lines().skip(1).find_map(|line| {
        let mut fields = line.split_whitespace();
        let (_slot, from, to) = (fields.next()?, fields.next()?, fields.next()?);
        if !from.eq_ignore_ascii_case(&want_local) || !to.eq_ignore_ascii_case(&want_remote) {
            return None;
        }
        // state, tx:rx queues, timer, retransmits, then the uid.
        fields.nth(4)?.parse().ok()
    })
}

/// An address as the kernel prints it there: the IP as 32-bit words in host byte order (little-endian on every
/// machine SimRelay runs on), in hex, then `:` and the port in hex.
fn encode(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(v4) => format!("{:08X}", u32::from_le_bytes(v4.octets())),
        IpAddr::V6(v6) => v6
            .octets()
            .chunks(4)
            .map(|word| {
                let word: [u8; 4] = word.try_into().unwrap_or_default();
                format!("{:08X}", u32::from_le_bytes(word))
            })
            .collect(),
    };
    format!("{ip}:{:04X}", addr.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:2223 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 11 1 0000 100 0 0 10 0
   1: 0100007F:D431 0100007F:2223 01 00000000:00000000 00:00000000 00000000  1001        0 12 1 0000 20 4 30 10 -1
   2: 0100007F:2223 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 13 1 0000 20 4 30 10 -1
";

    #[test]
    fn the_client_socket_names_its_owner() {
        let server: SocketAddr = "127.0.0.1:8739".parse().expect("addr");
        let client: SocketAddr = "127.0.0.1:54321".parse().expect("addr");
        assert_eq!(encode(server), "0100007F:2223");
        assert_eq!(find_uid(TABLE, client, server), Some(1001));
        // Our own end of the connection is not the client.
        assert_eq!(find_uid(TABLE, server, client), Some(0));
        assert_eq!(
            find_uid(TABLE, "127.0.0.1:1".parse().expect("addr"), server),
            None
        );
        assert_eq!(
            encode("[::1]:8731".parse().expect("addr")),
            "00000000000000000000000001000000:221B"
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_real_loopback_connection_is_ours() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let server = listener.local_addr().expect("addr");
        let client = std::net::TcpStream::connect(server).expect("connect");
        let (_accepted, peer) = listener.accept().expect("accept");
        assert_eq!(peer, client.local_addr().expect("addr"));
        let status = std::fs::read_to_string("/proc/self/status").expect("status");
        let me: u32 = status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|uid| uid.parse().ok())
            .expect("effective uid");
        assert_eq!(uid(peer, server), Some(me));
        assert_eq!(uid("192.0.2.1:5".parse().expect("addr"), server), None);
    }
}
