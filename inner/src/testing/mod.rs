//! A throwaway PostgreSQL for tests, reused by every crate that tests against the inner store.
//!
//! [`TestDatabase::new`] gives each test a fresh, empty database of its own. Where the databases
//! live is decided once per test binary:
//!
//! - If `SLUICE_TEST_DATABASE_URL` is set (any connection string the `postgres` crate accepts,
//!   for a role allowed to `CREATE DATABASE`), the databases are created on that server and
//!   dropped again when the [`TestDatabase`] is dropped.
//! - Otherwise one cluster is made for the whole test binary: the server binaries are found with
//!   `pg_config --bindir`, `initdb` writes a cluster into a new temporary directory, and
//!   `postgres` serves it on a unix socket in that directory only (no TCP). When the tests run as
//!   root, the directory is handed to the unprivileged `postgres` user (or `nobody`) and the
//!   server runs as that user, because PostgreSQL refuses to run as root.
//!
//! The cluster never outlives the test process: a small watchdog shell, started in its own
//! process group as soon as the directory exists (before `initdb`), holds the read end of a pipe
//! whose write end only this process has. Whenever this process ends — normally, by panic or by
//! a signal, even `SIGKILL` — the pipe closes, and the watchdog stops the server (found through
//! its `postmaster.pid`) and removes the directory.
//!
//! Durability is switched off in the throwaway cluster (`fsync=off` and friends) to keep start-up
//! and tests quick; nothing in it is meant to survive.
//!
//! ```no_run
//! let db = inner::testing::TestDatabase::with_schema().expect("test database");
//! let mut client = db.connect().expect("connect");
//! client.simple_query("SELECT 1").expect("query");
//! ```

use std::io::Read as _;
use std::os::unix::fs::MetadataExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::str::FromStr as _;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use postgres::config::Host;
use postgres::{Client, Config, NoTls};

/// The environment variable naming an existing server to create test databases on.
pub const DATABASE_URL_ENV: &str = "SLUICE_TEST_DATABASE_URL";

/// How long the throwaway server may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The port number in the socket file name; nothing listens on TCP.
const SOCKET_PORT: u16 = 5432;

/// Why a test database could not be provided.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum HarnessError {
    /// The PostgreSQL server binaries are not installed.
    #[error(
        "PostgreSQL server binaries not found ({detail}); install Debian's `postgresql` package \
         (apt-get install postgresql) or set {DATABASE_URL_ENV}"
    )]
    MissingServer {
        /// What was looked for and not found.
        detail: String,
    },
    /// Setting up or starting the throwaway cluster failed.
    #[error("throwaway PostgreSQL cluster: {0}")]
    Cluster(String),
    /// `SLUICE_TEST_DATABASE_URL` does not parse.
    #[error("{DATABASE_URL_ENV} is not a valid connection string: {0}")]
    BadUrl(String),
    /// Talking to the server failed.
    #[error("test database {database}: {message}")]
    Database {
        /// The database (or `postgres` for the server's maintenance database).
        database: String,
        /// The error from the server or the client library.
        message: String,
    },
}

/// One fresh database for one test.
///
/// Dropping it drops the database on an external server; in the throwaway cluster the whole
/// cluster goes away with the test process instead.
pub struct TestDatabase {
    name: String,
    config: Config,
    external: bool,
}

impl TestDatabase {
    /// Creates a new, empty database.
    pub fn new() -> Result<TestDatabase, HarnessError> {
        let server = server()?;
        let name = format!(
            "sluice_test_{}_{}",
            std::process::id(),
            DATABASE_COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = server.admin_config.clone();
        let mut client = admin
            .dbname(&server.maintenance_db)
            .connect(NoTls)
            .map_err(|e| HarnessError::Database {
                database: server.maintenance_db.clone(),
                message: e.to_string(),
            })?;
        // `template0` so that nothing a previous test put in `template1` leaks in.
        client
            .batch_execute(&format!(
                "CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
            ))
            .map_err(|e| HarnessError::Database {
                database: name.clone(),
                message: e.to_string(),
            })?;
        let mut config = server.admin_config.clone();
        config.dbname(&name);
        Ok(TestDatabase {
            name,
            config,
            external: server.external,
        })
    }

    /// Creates a new database and applies the inner store's migrations to it.
    pub fn with_schema() -> Result<TestDatabase, HarnessError> {
        let db = TestDatabase::new()?;
        let mut client = db.connect()?;
        crate::schema::migrate(&mut client).map_err(|e| HarnessError::Database {
            database: db.name.clone(),
            message: e.to_string(),
        })?;
        Ok(db)
    }

    /// A database that already exists in this process's cluster (one a cached cluster copy
    /// brought along, see [`start_from_copy`]), as a [`TestDatabase`]. On an external server
    /// ([`DATABASE_URL_ENV`]) it is dropped when this value is, like one [`TestDatabase::new`]
    /// made.
    pub fn open(name: &str) -> Result<TestDatabase, HarnessError> {
        let server = server()?;
        let mut config = server.admin_config.clone();
        config.dbname(name);
        Ok(TestDatabase {
            name: name.to_owned(),
            config,
            external: server.external,
        })
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Connection settings for this database.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// A connection string for this database in `key=value` form, as `--database-url` and
    /// [`postgres::Config::from_str`] accept it.
    pub fn connection_string(&self) -> String {
        connection_string(&self.config)
    }

    /// Opens a new connection to this database.
    pub fn connect(&self) -> Result<Client, HarnessError> {
        self.config
            .connect(NoTls)
            .map_err(|e| HarnessError::Database {
                database: self.name.clone(),
                message: e.to_string(),
            })
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if !self.external {
            return;
        }
        if let Ok(server) = server() {
            let mut admin = server.admin_config.clone();
            if let Ok(mut client) = admin.dbname(&server.maintenance_db).connect(NoTls) {
                // Best effort: a leftover database on a shared test server is untidy, not wrong.
                let _ = client.batch_execute(&format!(
                    "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                    self.name
                ));
            }
        }
    }
}

mod replication;
pub use replication::ReplicatedPair;

static DATABASE_COUNTER: AtomicU64 = AtomicU64::new(0);
static SERVER: OnceLock<Result<Server, HarnessError>> = OnceLock::new();

/// The server test databases are created on, set up on first use.
struct Server {
    admin_config: Config,
    maintenance_db: String,
    external: bool,
    /// Held for the life of the process; see the module documentation.
    _cluster: Option<Cluster>,
}

struct Cluster {
    _watchdog: Child,
    /// Closing it tells the watchdog to stop the server.
    watchdog_pipe: Option<ChildStdin>,
    postgres: Child,
}

impl Drop for Cluster {
    /// Stops the server (through the watchdog) and waits for it, so that it does not linger
    /// as a zombie the watchdog would wait on. The shared cluster is never dropped: the
    /// watchdog stops it when this process ends.
    fn drop(&mut self) {
        drop(self.watchdog_pipe.take());
        let _ = self.postgres.wait();
    }
}

fn server() -> Result<&'static Server, HarnessError> {
    SERVER
        .get_or_init(|| match std::env::var(DATABASE_URL_ENV) {
            Ok(url) if !url.trim().is_empty() => external_server(&url),
            _ => start_cluster(),
        })
        .as_ref()
        .map_err(Clone::clone)
}

fn external_server(url: &str) -> Result<Server, HarnessError> {
    let config = Config::from_str(url).map_err(|e| HarnessError::BadUrl(e.to_string()))?;
    let maintenance_db = config.get_dbname().unwrap_or("postgres").to_owned();
    Ok(Server {
        admin_config: config,
        maintenance_db,
        external: true,
        _cluster: None,
    })
}

fn start_cluster() -> Result<Server, HarnessError> {
    start_cluster_with(&ClusterOptions::default())
}

/// A PostgreSQL cluster of its own that also listens on `127.0.0.1` and speaks TLS there with
/// the certificate it was given, for tests of the client's TLS ([`crate::db`]). Its databases
/// are reached as user `postgres`, database `postgres`. It stops when dropped, or when the
/// process ends (the same watchdog as the shared cluster's).
pub struct TlsCluster {
    server: Server,
    port: u16,
}

impl TlsCluster {
    /// Starts a cluster whose server certificate (chain) and key are `certificate_pem` and
    /// `key_pem`.
    pub fn start(certificate_pem: &str, key_pem: &str) -> Result<TlsCluster, HarnessError> {
        let port = free_tcp_port()?;
        let server = start_cluster_with(&ClusterOptions {
            port: Some(port),
            tls: Some(TlsOptions {
                certificate_pem,
                key_pem,
            }),
            ..ClusterOptions::default()
        })?;
        Ok(TlsCluster { server, port })
    }

    /// The TCP port it listens on, at `127.0.0.1`.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A plain connection over its Unix socket, as the administrator.
    pub fn connect_locally(&self) -> Result<Client, HarnessError> {
        self.server
            .admin_config
            .connect(NoTls)
            .map_err(|e| HarnessError::Cluster(format!("cannot connect over the socket: {e}")))
    }
}

/// What a cluster needs to speak TLS (on `127.0.0.1`, at its port).
struct TlsOptions<'a> {
    certificate_pem: &'a str,
    key_pem: &'a str,
}

/// How [`start_cluster_with`] sets up a cluster. The default is the shared cluster's.
#[derive(Default)]
struct ClusterOptions<'a> {
    /// Its port ([`SOCKET_PORT`] when none); with TLS, the TCP port too.
    port: Option<u16>,
    tls: Option<TlsOptions<'a>>,
    /// Server settings after the harness's own (so they win), as `name=value`.
    settings: Vec<String>,
    /// Start as a streaming standby of the server at this socket directory and port (its data
    /// copied with `pg_basebackup --write-recovery-conf`) instead of a new cluster.
    standby_of: Option<(PathBuf, u16)>,
    /// Start from a copy of this data directory (a stopped cluster's, or a base backup such
    /// as [`save_copy`] writes) instead of a new cluster.
    copy_of: Option<PathBuf>,
}

/// Makes this process's throwaway cluster (the one every [`TestDatabase`] lives in) a copy of
/// the data directory `data`, which [`save_copy`] wrote, instead of a new, empty cluster; its
/// databases come along (open them with [`TestDatabase::open`]). Must be called before the
/// first [`TestDatabase`] of the process; fails if the cluster was started already, or if
/// [`DATABASE_URL_ENV`] names an external server. The copy is made with `cp -a` into the
/// cluster's temporary directory and goes away with it; `data` itself is never changed.
pub fn start_from_copy(data: &Path) -> Result<(), HarnessError> {
    if std::env::var(DATABASE_URL_ENV).is_ok_and(|url| !url.trim().is_empty()) {
        return Err(HarnessError::Cluster(format!(
            "a cluster copy cannot be used with {DATABASE_URL_ENV} set"
        )));
    }
    let mut started = None;
    SERVER.get_or_init(|| {
        let server = start_cluster_with(&ClusterOptions {
            copy_of: Some(data.to_owned()),
            ..ClusterOptions::default()
        });
        started = Some(server.is_ok());
        server
    });
    match started {
        Some(true) => Ok(()),
        Some(false) => server().map(|_| ()),
        None => Err(HarnessError::Cluster(
            "the throwaway cluster was started before a copy could be used".to_owned(),
        )),
    }
}

/// Writes a consistent copy of this process's throwaway cluster, as it is now, into `dest`
/// (which must not exist): a base backup (`pg_basebackup`, fast checkpoint, write-ahead log
/// streamed alongside) that [`start_from_copy`] can start from later. The server keeps
/// running. Fails on an external server.
pub fn save_copy(dest: &Path) -> Result<(), HarnessError> {
    let server = server()?;
    if server.external {
        return Err(HarnessError::Cluster(format!(
            "cannot copy the cluster of an external server ({DATABASE_URL_ENV})"
        )));
    }
    let bindir = server_bindir()?;
    let socket_dir = server
        .admin_config
        .get_hosts()
        .iter()
        .find_map(|host| match host {
            Host::Unix(path) => Some(path.clone()),
            Host::Tcp(_) => None,
        })
        .ok_or_else(|| HarnessError::Cluster("the cluster has no socket directory".to_owned()))?;
    let port = server
        .admin_config
        .get_ports()
        .first()
        .copied()
        .unwrap_or(SOCKET_PORT);
    let run_as = unprivileged_user()?;
    // The server's user writes the copy: its parent must let it.
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent).map_err(|e| {
            HarnessError::Cluster(format!("cannot create {}: {e}", parent.display()))
        })?;
        if let Some((uid, gid)) = run_as {
            std::os::unix::fs::chown(parent, Some(uid), Some(gid)).map_err(|e| {
                HarnessError::Cluster(format!(
                    "cannot hand {} to uid {uid}: {e}",
                    parent.display()
                ))
            })?;
        }
    }
    let mut copy = Command::new(bindir.join("pg_basebackup"));
    copy.arg("--pgdata")
        .arg(dest)
        .arg("--host")
        .arg(&socket_dir)
        .arg("--port")
        .arg(port.to_string())
        .args([
            "--username=postgres",
            "--checkpoint=fast",
            "--wal-method=stream",
        ])
        .env("LC_ALL", "C")
        .stdin(Stdio::null());
    as_user(&mut copy, run_as);
    let output = copy
        .output()
        .map_err(|e| HarnessError::Cluster(format!("cannot run pg_basebackup: {e}")))?;
    if !output.status.success() {
        return Err(HarnessError::Cluster(format!(
            "pg_basebackup failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(())
}

/// A TCP port on `127.0.0.1` that nothing listened on a moment ago.
fn free_tcp_port() -> Result<u16, HarnessError> {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|e| HarnessError::Cluster(format!("cannot find a free TCP port: {e}")))
}

fn start_cluster_with(options: &ClusterOptions<'_>) -> Result<Server, HarnessError> {
    let port = options.port.unwrap_or(SOCKET_PORT);
    let tls = options.tls.as_ref();
    let bindir = server_bindir()?;
    let dir = tempfile::Builder::new()
        .prefix("sluice-pg-")
        .tempdir()
        .map_err(|e| HarnessError::Cluster(format!("cannot create a temporary directory: {e}")))?
        .keep();
    let data = dir.join("data");
    // The watchdog starts before anything else lives in the directory, so that whenever this
    // process ends from here on, nothing is left behind. It waits for end of file on its
    // standard input, then stops the server (fast shutdown) if one runs there, waits for it to
    // go, and removes the directory.
    let script = r#"read line
pid=$(head -n 1 "$1/data/postmaster.pid" 2>/dev/null)
if [ -n "$pid" ]; then
  kill -INT "$pid" 2>/dev/null
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
fi
# An initdb cut off mid-way may still be writing here: retry until the directory is gone.
for attempt in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
  rm -rf "$1" 2>/dev/null
  [ -e "$1" ] || break
  sleep 0.5
done"#;
    let mut watchdog = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg("sluice-pg-watchdog")
        .arg(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Its own process group, so that a terminal's Ctrl-C to the tests does not stop it.
        .process_group(0)
        .spawn()
        .map_err(|e| HarnessError::Cluster(format!("cannot start the watchdog shell: {e}")))?;
    let pipe = watchdog
        .stdin
        .take()
        .ok_or_else(|| HarnessError::Cluster("watchdog has no standard input".to_owned()))?;
    let run_as = unprivileged_user()?;
    if let Some((uid, gid)) = run_as {
        std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).map_err(|e| {
            HarnessError::Cluster(format!("cannot hand {} to uid {uid}: {e}", dir.display()))
        })?;
    }

    let mut initdb = match (&options.standby_of, &options.copy_of) {
        (None, Some(source)) => {
            // `cp -a` keeps the owner (the server's user) and the modes PostgreSQL insists on.
            let mut copy = Command::new("cp");
            copy.arg("-a").arg(source).arg(&data);
            copy
        }
        (None, None) => {
            let mut initdb = Command::new(bindir.join("initdb"));
            initdb
                .arg("--pgdata")
                .arg(&data)
                .args(["--username=postgres", "--auth=trust", "--encoding=UTF8"])
                .args(["--locale=C", "--no-sync"]);
            initdb
        }
        (Some((socket_dir, primary_port)), _) => {
            let mut copy = Command::new(bindir.join("pg_basebackup"));
            copy.arg("--pgdata")
                .arg(&data)
                .arg("--host")
                .arg(socket_dir)
                .arg("--port")
                .arg(primary_port.to_string())
                .args(["--username=postgres", "--write-recovery-conf", "--no-sync"])
                .args(["--checkpoint=fast", "--wal-method=stream"]);
            copy
        }
    };
    initdb.env("LC_ALL", "C").stdin(Stdio::null());
    if options.copy_of.is_none() {
        as_user(&mut initdb, run_as);
    }
    let output = initdb
        .output()
        .map_err(|e| HarnessError::Cluster(format!("cannot run {initdb:?}: {e}")))?;
    if !output.status.success() {
        return Err(HarnessError::Cluster(format!(
            "{:?} failed ({}): {}",
            initdb.get_program(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }

    let log_path = dir.join("postgres.log");
    let log = std::fs::File::create(&log_path)
        .map_err(|e| HarnessError::Cluster(format!("cannot create {}: {e}", log_path.display())))?;
    if let Some((uid, gid)) = run_as {
        let _ = std::os::unix::fs::chown(&log_path, Some(uid), Some(gid));
    }
    let log_err = log
        .try_clone()
        .map_err(|e| HarnessError::Cluster(format!("cannot open the log twice: {e}")))?;
    let mut listen = vec!["-c".to_owned(), "listen_addresses=".to_owned()];
    if let Some(tls) = tls {
        let mut files = Vec::new();
        for (name, pem) in [
            ("server.crt", tls.certificate_pem),
            ("server.key", tls.key_pem),
        ] {
            let path = data.join(name);
            write_private(&path, pem.as_bytes(), run_as)?;
            files.push(path);
        }
        listen = vec![
            "-c".to_owned(),
            "listen_addresses=127.0.0.1".to_owned(),
            "-c".to_owned(),
            "ssl=on".to_owned(),
            "-c".to_owned(),
            format!("ssl_cert_file={}", files[0].display()),
            "-c".to_owned(),
            format!("ssl_key_file={}", files[1].display()),
        ];
    }
    let mut postgres = Command::new(bindir.join("postgres"));
    postgres
        .arg("-D")
        .arg(&data)
        .arg("-k")
        .arg(&dir)
        .arg("-p")
        .arg(port.to_string())
        .args(&listen)
        .args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
        .args(["-c", "full_page_writes=off", "-c", "max_connections=200"])
        .args(["-c", "shared_buffers=64MB", "-c", "max_wal_size=2GB"])
        .args(extra_server_options())
        .args(
            options
                .settings
                .iter()
                .flat_map(|setting| ["-c".to_owned(), setting.clone()]),
        )
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        // Its own process group: a terminal's Ctrl-C goes to the tests, and the watchdog
        // decides when the server stops.
        .process_group(0);
    as_user(&mut postgres, run_as);
    let postgres = postgres
        .spawn()
        .map_err(|e| HarnessError::Cluster(format!("cannot start postgres: {e}")))?;
    let mut cluster = Cluster {
        _watchdog: watchdog,
        watchdog_pipe: Some(pipe),
        postgres,
    };

    let mut admin_config = Config::new();
    admin_config
        .host_path(&dir)
        .port(port)
        .user("postgres")
        .dbname("postgres");
    wait_until_ready(&admin_config, &mut cluster, &log_path)?;
    Ok(Server {
        admin_config,
        maintenance_db: "postgres".to_owned(),
        external: false,
        _cluster: Some(cluster),
    })
}

/// Writes `bytes` to `path` readable by its owner only (PostgreSQL refuses a key file others
/// can read), owned by the user the server runs as.
fn write_private(
    path: &Path,
    bytes: &[u8],
    run_as: Option<(u32, u32)>,
) -> Result<(), HarnessError> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let fail =
        |e: std::io::Error| HarnessError::Cluster(format!("cannot write {}: {e}", path.display()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(fail)?;
    std::io::Write::write_all(&mut file, bytes).map_err(fail)?;
    if let Some((uid, gid)) = run_as {
        std::os::unix::fs::chown(path, Some(uid), Some(gid)).map_err(fail)?;
    }
    Ok(())
}

fn wait_until_ready(
    config: &Config,
    cluster: &mut Cluster,
    log_path: &Path,
) -> Result<(), HarnessError> {
    let started = Instant::now();
    loop {
        match config.connect(NoTls) {
            Ok(_) => return Ok(()),
            Err(error) => {
                let exited = cluster.postgres.try_wait().ok().flatten();
                if exited.is_some() || started.elapsed() > START_TIMEOUT {
                    let mut log = String::new();
                    if let Ok(mut file) = std::fs::File::open(log_path) {
                        let _ = file.read_to_string(&mut log);
                    }
                    let how = match exited {
                        Some(status) => format!("postgres exited ({status})"),
                        None => format!("postgres not ready after {START_TIMEOUT:?} ({error})"),
                    };
                    return Err(HarnessError::Cluster(format!(
                        "{how}; server log: {}",
                        log.trim()
                    )));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

fn server_bindir() -> Result<PathBuf, HarnessError> {
    let output = Command::new("pg_config")
        .arg("--bindir")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| HarnessError::MissingServer {
            detail: format!("cannot run pg_config: {e}"),
        })?;
    if !output.status.success() {
        return Err(HarnessError::MissingServer {
            detail: format!("pg_config --bindir failed ({})", output.status),
        });
    }
    let bindir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    for binary in ["initdb", "postgres"] {
        if !bindir.join(binary).is_file() {
            return Err(HarnessError::MissingServer {
                detail: format!("no {binary} in {}", bindir.display()),
            });
        }
    }
    Ok(bindir)
}

/// The uid and gid the server must run as, or `None` to run it as ourselves.
fn unprivileged_user() -> Result<Option<(u32, u32)>, HarnessError> {
    let euid = std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .map_err(|e| HarnessError::Cluster(format!("cannot tell who runs the tests: {e}")))?;
    if euid != 0 {
        return Ok(None);
    }
    let passwd = std::fs::read_to_string("/etc/passwd")
        .map_err(|e| HarnessError::Cluster(format!("cannot read /etc/passwd: {e}")))?;
    for wanted in ["postgres", "nobody"] {
        for line in passwd.lines() {
            let fields: Vec<&str> = line.split(':').collect();
            if fields.len() >= 4
                && fields[0] == wanted
                && let (Ok(uid), Ok(gid)) = (fields[2].parse::<u32>(), fields[3].parse::<u32>())
                && uid != 0
            {
                return Ok(Some((uid, gid)));
            }
        }
    }
    Err(HarnessError::Cluster(
        "running as root and neither a `postgres` nor a `nobody` user exists to run the server \
         as; install Debian's `postgresql` package, which creates the `postgres` user"
            .to_owned(),
    ))
}

fn as_user(command: &mut Command, run_as: Option<(u32, u32)>) {
    if let Some((uid, gid)) = run_as {
        // std drops the supplementary groups of root when a uid is set.
        command.uid(uid).gid(gid);
    }
}

/// Renders connection settings as a `key=value` connection string.
fn connection_string(config: &Config) -> String {
    fn quote(value: &str) -> String {
        format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
    }
    let mut parts = Vec::new();
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|host| match host {
            Host::Tcp(name) => name.clone(),
            Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    if !hosts.is_empty() {
        parts.push(format!("host={}", quote(&hosts.join(","))));
    }
    let ports: Vec<String> = config.get_ports().iter().map(u16::to_string).collect();
    if !ports.is_empty() {
        parts.push(format!("port={}", ports.join(",")));
    }
    if let Some(user) = config.get_user() {
        parts.push(format!("user={}", quote(user)));
    }
    if let Some(password) = config.get_password() {
        parts.push(format!(
            "password={}",
            quote(&String::from_utf8_lossy(password))
        ));
    }
    if let Some(dbname) = config.get_dbname() {
        parts.push(format!("dbname={}", quote(dbname)));
    }
    parts.join(" ")
}

/// Extra `-c name=value` server settings from `SLUICE_TEST_PG_OPTIONS` (space-separated
/// `name=value` pairs), for diagnosing a test or benchmark, e.g.
/// `SLUICE_TEST_PG_OPTIONS="log_min_duration_statement=100 logging_collector=on
/// log_directory=/some/dir"` (the cluster's own log goes with its temporary directory).
fn extra_server_options() -> Vec<String> {
    std::env::var("SLUICE_TEST_PG_OPTIONS")
        .unwrap_or_default()
        .split_whitespace()
        .flat_map(|setting| ["-c".to_owned(), setting.to_owned()])
        .collect()
}

/// The signed message `M` (header and zstd payload, SPEC.md §3-§5, its content cut into frames
/// as the writer cuts it) of a submissions bundle on
/// `channel` at (`epoch`, `sequence`), made at `created` and holding `submissions` in order, for
/// tests and benchmarks that hand [`crate::import::apply_bundle`] a bundle of their own (its id
/// is [`bundle_format::BundleId::of_message`] of this). Records are written without the
/// writer's shape checks, so that tests can carry versions the import must refuse. A bundle
/// after the first of its epoch names an arbitrary previous bundle.
pub fn submissions_message(
    channel: u32,
    epoch: u64,
    sequence: u64,
    created: i64,
    submissions: &[bundle_format::records::SubmissionVersion],
) -> std::io::Result<Vec<u8>> {
    use bundle_format::{BundleId, Header, Kind};
    use sha2::Digest as _;
    const SUBMISSION_VARIANT: u32 = 0;
    let mut content = Vec::new();
    // Frames cut as the writer cuts them (bundle-format SPEC.md §4.1).
    let mut frame_starts = vec![0];
    for version in submissions {
        let body = bincode::encode_to_vec(version, bundle_format::records::wire_config())
            .map_err(std::io::Error::other)?;
        let length = u32::try_from(body.len() + 4).map_err(std::io::Error::other)?;
        let record_start = content.len();
        if record_start - frame_starts.last().copied().unwrap_or_default()
            >= bundle_format::payload::FRAME_CONTENT_BYTES
        {
            frame_starts.push(record_start);
        }
        content.extend_from_slice(&length.to_le_bytes());
        content.extend_from_slice(&SUBMISSION_VARIANT.to_le_bytes());
        content.extend_from_slice(&body);
    }
    let frame = bundle_format::payload::compress_frames(&content, &frame_starts)?;
    // The lowest version the bodies allow, and 10 for several frames, as the writer picks it.
    let framed = if frame_starts.len() > 1 {
        bundle_format::header::FORMAT_VERSION_10
    } else {
        bundle_format::header::FORMAT_VERSION_1
    };
    let header = Header {
        format_version: submissions
            .iter()
            .map(|v| v.body.format_version())
            .max()
            .unwrap_or(bundle_format::header::FORMAT_VERSION_1)
            .max(framed),
        kind: Kind::Submissions,
        channel: keys::ChannelId(channel),
        epoch,
        sequence,
        previous: if sequence == 1 {
            BundleId::ZERO
        } else {
            BundleId([1; 32])
        },
        created,
        expires: created.saturating_add(86_400),
        encrypted: false,
        payload_length: frame.len() as u64,
        content_length: content.len() as u64,
        content_sha256: sha2::Sha256::digest(&content).into(),
        part_index: 0,
        part_count: 1,
    };
    let mut message = header.encode().to_vec();
    message.extend_from_slice(&frame);
    Ok(message)
}
