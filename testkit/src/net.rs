//! A lossy one-way link for tests and benches of the UDP carrier: a real UDP socket between
//! sender and receiver that drops a share of the datagrams and reorders the rest.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// Datagrams held back and released in a shuffled order.
const REORDER_WINDOW: usize = 8;

/// A link that forwards datagrams sent to [`LossyLink::address`] on to a receiver, dropping
/// `loss_per_mille` of them (from a fixed pseudo-random sequence, so runs repeat) and
/// reordering the rest within a window of eight.
pub struct LossyLink {
    /// Where to send: the link's own socket.
    pub address: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<(u64, u64)>>,
}

impl LossyLink {
    /// Starts a link forwarding to `to`.
    pub fn start(to: SocketAddr, loss_per_mille: u64) -> LossyLink {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("binding the link's socket");
        socket
            .set_read_timeout(Some(Duration::from_millis(20)))
            .expect("setting the link's read timeout");
        // A burst must be lost only where the test says: the default buffer (about 200 KB)
        // would drop datagrams of its own at tens of MB/s while this thread is not scheduled.
        // The kernel caps the size at net.core.rmem_max.
        let _ = rustix::net::sockopt::set_socket_recv_buffer_size(&socket, 16 << 20);
        let address = socket.local_addr().expect("the link's address");
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut state: u64 = 0x2545_f491_4f6c_dd1d;
            let mut next = move || {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state
            };
            let mut held: Vec<Vec<u8>> = Vec::new();
            let (mut passed, mut dropped) = (0u64, 0u64);
            let mut buffer = vec![0u8; 65_536];
            let forward = |held: &mut Vec<Vec<u8>>, pick: u64| {
                let pick = usize::try_from(pick).expect("a small number") % held.len();
                // A send that fails is one more datagram lost, as on a real link.
                let _ = socket.send_to(&held.swap_remove(pick), to);
            };
            while !stopping.load(Ordering::Relaxed) {
                match socket.recv_from(&mut buffer) {
                    Ok((n, _)) => {
                        if next() % 1000 < loss_per_mille {
                            dropped += 1;
                            continue;
                        }
                        held.push(buffer[..n].to_vec());
                        if held.len() >= REORDER_WINDOW {
                            forward(&mut held, next());
                            passed += 1;
                        }
                    }
                    // Quiet: let everything held through, in a shuffled order.
                    Err(_) => {
                        while !held.is_empty() {
                            forward(&mut held, next());
                            passed += 1;
                        }
                    }
                }
            }
            (passed, dropped)
        });
        LossyLink {
            address,
            stop,
            thread: Some(thread),
        }
    }

    /// Stops the link; returns how many datagrams it passed on and how many it dropped.
    pub fn stop(mut self) -> (u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread
            .take()
            .expect("started")
            .join()
            .expect("the link's thread")
    }
}
