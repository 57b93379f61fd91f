//! Accepting and holding connections within bounds, so that clients who open connections and
//! then send nothing, or a header a byte at a time (slowloris), cannot use up the process's file
//! descriptors or keep a normal client from being answered.
//!
//! - **Global cap** ([`ConnectionLimits::max_connections`], lowered at start to what the
//!   process's open-file limit leaves room for). A connection arriving at the cap takes the
//!   place of the open connection that has been waiting longest without a request being
//!   handled on it; when every connection is handling a request, the new one is closed at once.
//! - **Per-client cap** ([`ConnectionLimits::max_connections_per_client`]): connections from
//!   one IP address beyond it are closed as soon as they are accepted.
//! - **Header-read timeout**: a request's head must arrive within
//!   [`ConnectionLimits::header_read_timeout`] of the connection waiting for it (hyper's own
//!   timer).
//! - **Idle timeout**: a connection with no request being handled, before its first request or
//!   between two, is closed after [`ConnectionLimits::idle_timeout`].
//! - **Accept errors** (out of file descriptors above all) never stop the loop nor make it
//!   spin: the connection waiting longest is closed to free a descriptor, and the loop pauses
//!   briefly before accepting again.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tower::ServiceExt as _;

use crate::config::Limits;

/// File descriptors kept free of connections at start: the listener, the SQLite database and
/// its WAL and shared-memory files, standard streams, the runtime's own, with room to spare.
pub const RESERVED_DESCRIPTORS: u64 = 64;

/// Pause after an accept error before the next attempt (the loop neither spins nor stalls).
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(10);

/// The bounds on connections, as the service applies them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Most connections open at once.
    pub max_connections: usize,
    /// Most connections open at once from one IP address.
    pub max_connections_per_client: usize,
    /// Time a request's head may take to arrive.
    pub header_read_timeout: Duration,
    /// Time a connection may stay open with no request being handled.
    pub idle_timeout: Duration,
}

impl ConnectionLimits {
    /// The configured limits, with the global cap lowered (and a warning logged) when the
    /// process may open fewer than `max_connections` + [`RESERVED_DESCRIPTORS`] files.
    pub fn for_this_process(limits: &Limits) -> ConnectionLimits {
        let configured = limits.max_connections;
        let open_files = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
        let room = open_files
            .map(|n| usize::try_from(n.saturating_sub(RESERVED_DESCRIPTORS)).unwrap_or(usize::MAX))
            .unwrap_or(usize::MAX)
            .max(1);
        if room < configured {
            tracing::warn!(
                configured,
                open_file_limit = open_files,
                applied = room,
                "limits.max_connections is more than the open-file limit leaves room for; \
                 raise LimitNOFILE or lower the setting"
            );
        }
        ConnectionLimits {
            max_connections: configured.min(room),
            max_connections_per_client: limits.max_connections_per_client,
            header_read_timeout: Duration::from_secs(limits.header_read_timeout_secs),
            idle_timeout: Duration::from_secs(limits.idle_timeout_secs),
        }
    }
}

/// One open connection as the accept loop sees it.
struct Connection {
    client: IpAddr,
    /// Requests being handled on it now.
    busy: AtomicUsize,
    /// When it opened or last finished handling a request.
    idle_since: Mutex<Instant>,
    /// Closes it.
    close: Notify,
}

impl Connection {
    fn idle_since(&self) -> Instant {
        *self
            .idle_since
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn touch(&self) {
        *self
            .idle_since
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Instant::now();
    }
}

/// Every open connection, and how many each client has.
#[derive(Default)]
struct Registry {
    open: HashMap<u64, Arc<Connection>>,
    per_client: HashMap<IpAddr, usize>,
}

impl Registry {
    fn add(&mut self, id: u64, connection: Arc<Connection>) {
        *self.per_client.entry(connection.client).or_default() += 1;
        self.open.insert(id, connection);
    }

    fn remove(&mut self, id: u64) {
        if let Some(connection) = self.open.remove(&id)
            && let Some(count) = self.per_client.get_mut(&connection.client)
        {
            *count -= 1;
            if *count == 0 {
                self.per_client.remove(&connection.client);
            }
        }
    }

    /// Tells the connection that has waited longest with no request being handled to close;
    /// false if every connection is handling one.
    fn close_longest_waiting(&mut self) -> bool {
        let longest = self
            .open
            .iter()
            .filter(|(_, c)| c.busy.load(Ordering::Acquire) == 0)
            .min_by_key(|(_, c)| c.idle_since())
            .map(|(&id, c)| (id, Arc::clone(c)));
        let Some((id, connection)) = longest else {
            return false;
        };
        // Out of the counts now, so the next arrival does not pick it again.
        self.remove(id);
        connection.close.notify_one();
        true
    }
}

/// The registry, locked. No code panics while holding it, and a poisoned lock is still the
/// best account of the open connections there is.
fn lock(registry: &Mutex<Registry>) -> std::sync::MutexGuard<'_, Registry> {
    registry
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Counts of connections refused or closed early, for the log and for tests.
#[derive(Debug, Default)]
pub struct ConnectionCounters {
    /// Connections refused because their client was at its cap.
    pub refused_per_client: AtomicU64,
    /// Connections refused because every connection was handling a request.
    pub refused_full: AtomicU64,
    /// Waiting connections closed to make room for a new one.
    pub closed_for_room: AtomicU64,
    /// Accept calls that failed.
    pub accept_errors: AtomicU64,
}

impl ConnectionCounters {
    /// The counters in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::from(
            "# HELP sluice_outer_connections_refused_total Connections closed as soon as \
             accepted, by the cap that refused them.\n\
             # TYPE sluice_outer_connections_refused_total counter\n",
        );
        for (cap, counter) in [
            ("per_client", &self.refused_per_client),
            ("all_busy", &self.refused_full),
        ] {
            out.push_str(&format!(
                "sluice_outer_connections_refused_total{{cap=\"{cap}\"}} {}\n",
                counter.load(Ordering::Relaxed)
            ));
        }
        out.push_str(&format!(
            "# HELP sluice_outer_connections_closed_for_room_total Waiting connections closed to \
             make room for a new one.\n\
             # TYPE sluice_outer_connections_closed_for_room_total counter\n\
             sluice_outer_connections_closed_for_room_total {}\n\
             # HELP sluice_outer_accept_errors_total Failed accepts (out of file descriptors, \
             mostly).\n\
             # TYPE sluice_outer_accept_errors_total counter\n\
             sluice_outer_accept_errors_total {}\n",
            self.closed_for_room.load(Ordering::Relaxed),
            self.accept_errors.load(Ordering::Relaxed)
        ));
        out
    }
}

/// Serves `router` on `listener` within `limits` until `shutdown` changes to true; then stops
/// accepting, lets every connection finish the request it is handling, and returns.
pub async fn serve_bounded(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    counters: Arc<ConnectionCounters>,
    mut shutdown: watch::Receiver<bool>,
) {
    let registry = Arc::new(Mutex::new(Registry::default()));
    let mut tasks = tokio::task::JoinSet::new();
    let mut next_id: u64 = 0;
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.wait_for(|stop| *stop) => break,
            // Reap finished connection tasks so the set does not grow.
            Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                counters.accept_errors.fetch_add(1, Ordering::Relaxed);
                if !is_connection_error(&error) {
                    tracing::warn!(%error, "accepting a connection failed; closing the connection \
                        waiting longest and trying again");
                    lock(&registry).close_longest_waiting();
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                }
                continue;
            }
        };
        let client = peer.ip();
        let connection = {
            let mut open = lock(&registry);
            if open.per_client.get(&client).copied().unwrap_or(0)
                >= limits.max_connections_per_client
            {
                counters.refused_per_client.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(%client, "connection refused: the client is at its cap");
                continue;
            }
            if open.open.len() >= limits.max_connections {
                if open.close_longest_waiting() {
                    counters.closed_for_room.fetch_add(1, Ordering::Relaxed);
                } else {
                    counters.refused_full.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(%client, "connection refused: every connection is busy");
                    continue;
                }
            }
            let connection = Arc::new(Connection {
                client,
                busy: AtomicUsize::new(0),
                idle_since: Mutex::new(Instant::now()),
                close: Notify::new(),
            });
            next_id += 1;
            open.add(next_id, Arc::clone(&connection));
            connection
        };
        let id = next_id;
        let registry = Arc::clone(&registry);
        let router = router.clone();
        let limits = limits.clone();
        let shutdown = shutdown.clone();
        tasks.spawn(async move {
            serve_connection(stream, peer, router, &connection, &limits, shutdown).await;
            lock(&registry).remove(id);
        });
    }
    drop(listener);
    while tasks.join_next().await.is_some() {}
}

/// Serves one connection until the client closes it, it times out, the accept loop closes it
/// for room, or the service stops.
async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    connection: &Arc<Connection>,
    limits: &ConnectionLimits,
    mut shutdown: watch::Receiver<bool>,
) {
    let handling = Arc::clone(connection);
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let router = router.clone();
        let handling = Arc::clone(&handling);
        handling.busy.fetch_add(1, Ordering::AcqRel);
        async move {
            let _done = Handled(handling);
            let mut request = request.map(axum::body::Body::new);
            // The account pages throttle failed logins per client address.
            request
                .extensions_mut()
                .insert(axum::extract::ConnectInfo(peer));
            router.oneshot(request).await
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let mut stopping = false;
    loop {
        let idle_deadline = connection.idle_since() + limits.idle_timeout;
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%peer, %error, "connection ended with an error");
                }
                return;
            }
            () = connection.close.notified() => return,
            _ = shutdown.wait_for(|stop| *stop), if !stopping => {
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
            () = tokio::time::sleep_until(idle_deadline.into()) => {
                let busy = connection.busy.load(Ordering::Acquire) > 0;
                if !busy && connection.idle_since() + limits.idle_timeout <= Instant::now() {
                    return;
                }
                // A request is being handled, or one finished since: look again later.
                if busy {
                    connection.touch();
                }
            }
        }
    }
}

/// Marks the end of handling one request on a connection, however the handler ends.
struct Handled(Arc<Connection>);

impl Drop for Handled {
    fn drop(&mut self) {
        self.0.touch();
        self.0.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Errors that concern one incoming connection only (it was reset before it was accepted):
/// accept again at once.
fn is_connection_error(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}
