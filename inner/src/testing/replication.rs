//! A primary and its synchronous streaming standby, for tests of a database failover.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use postgres::NoTls;

use super::{ClusterOptions, HarnessError, Server, start_cluster_with};

/// How long a failover may take: the old primary gone and the standby accepting writes.
const FAILOVER_TIMEOUT: Duration = Duration::from_secs(60);

/// A PostgreSQL primary with one standby that streams its WAL and confirms every commit
/// (`synchronous_standby_names = '*'`, `synchronous_commit = on`), both started by the test as
/// the shared cluster is, on Unix sockets of their own, with one database made on the primary.
/// [`ReplicatedPair::url`] names both servers with `target_session_attrs=read-write`, so a
/// client connects to whichever of them accepts writes.
pub struct ReplicatedPair {
    primary: Option<Server>,
    standby: Server,
    sockets: [PathBuf; 2],
    database: String,
}

impl ReplicatedPair {
    /// Starts the primary, copies it into the standby and starts that, then creates
    /// `database` on the primary (which returns only once the standby has it too).
    pub fn start(database: &str) -> Result<ReplicatedPair, HarnessError> {
        let primary = start_cluster_with(&ClusterOptions {
            settings: vec![
                "wal_level=replica".to_owned(),
                "max_wal_senders=4".to_owned(),
                "synchronous_standby_names=*".to_owned(),
                "synchronous_commit=on".to_owned(),
            ],
            ..ClusterOptions::default()
        })?;
        let primary_socket = socket_dir(&primary)?;
        let standby = start_cluster_with(&ClusterOptions {
            standby_of: Some((primary_socket.clone(), super::SOCKET_PORT)),
            settings: vec!["hot_standby=on".to_owned()],
            ..ClusterOptions::default()
        })?;
        let standby_socket = socket_dir(&standby)?;
        let mut admin = primary
            .admin_config
            .connect(NoTls)
            .map_err(|e| HarnessError::Cluster(format!("cannot reach the primary: {e}")))?;
        admin
            .batch_execute(&format!("CREATE DATABASE \"{database}\""))
            .map_err(|e| HarnessError::Cluster(format!("cannot create {database}: {e}")))?;
        Ok(ReplicatedPair {
            primary: Some(primary),
            standby,
            sockets: [primary_socket, standby_socket],
            database: database.to_owned(),
        })
    }

    /// A connection string naming both servers, primary first, that connects to the one
    /// accepting writes.
    pub fn url(&self) -> String {
        format!(
            "host={},{} port={port},{port} user=postgres dbname={} \
             target_session_attrs=read-write connect_timeout=5",
            self.sockets[0].display(),
            self.sockets[1].display(),
            self.database,
            port = super::SOCKET_PORT,
        )
    }

    /// Whether the standby has replayed everything the primary has committed so far (reads
    /// the standby's replay position against the primary's current one).
    pub fn standby_caught_up(&self) -> Result<bool, HarnessError> {
        let Some(primary) = &self.primary else {
            return Ok(true);
        };
        let query = |server: &Server, sql: &str| -> Result<String, HarnessError> {
            let mut client = server
                .admin_config
                .connect(NoTls)
                .map_err(|e| HarnessError::Cluster(format!("cannot connect: {e}")))?;
            client
                .query_one(sql, &[])
                .map(|row| row.get(0))
                .map_err(|e| HarnessError::Cluster(format!("{sql}: {e}")))
        };
        let written = query(primary, "SELECT pg_current_wal_lsn()::text")?;
        let mut client = self
            .standby
            .admin_config
            .connect(NoTls)
            .map_err(|e| HarnessError::Cluster(format!("cannot reach the standby: {e}")))?;
        let row = client
            .query_one(
                "SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn",
                &[&written],
            )
            .map_err(|e| HarnessError::Cluster(format!("reading the replay position: {e}")))?;
        Ok(row.get(0))
    }

    /// Fails over: the primary stops (and its directory goes), then the standby is promoted;
    /// returns once the standby accepts writes.
    pub fn fail_over(&mut self) -> Result<(), HarnessError> {
        let started = Instant::now();
        if let Some(primary) = self.primary.take() {
            let socket = self.sockets[0].clone();
            // Its watchdog stops the server and removes the directory once the pipe closes.
            drop(primary);
            while socket.exists() {
                if started.elapsed() > FAILOVER_TIMEOUT {
                    return Err(HarnessError::Cluster(
                        "the primary did not stop in time".to_owned(),
                    ));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        let mut client = self
            .standby
            .admin_config
            .connect(NoTls)
            .map_err(|e| HarnessError::Cluster(format!("cannot reach the standby: {e}")))?;
        let promoted: bool = client
            .query_one("SELECT pg_promote(true, 60)", &[])
            .map_err(|e| HarnessError::Cluster(format!("promoting the standby: {e}")))?
            .get(0);
        if !promoted {
            return Err(HarnessError::Cluster(
                "the standby was not promoted within 60 s".to_owned(),
            ));
        }
        Ok(())
    }
}

fn socket_dir(server: &Server) -> Result<PathBuf, HarnessError> {
    server
        .admin_config
        .get_hosts()
        .iter()
        .find_map(|host| match host {
            postgres::config::Host::Unix(path) => Some(path.clone()),
            postgres::config::Host::Tcp(_) => None,
        })
        .ok_or_else(|| HarnessError::Cluster("the server has no socket directory".to_owned()))
}
