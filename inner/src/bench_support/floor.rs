//! The import's floor and what a load leaves behind.
//!
//! [`BinaryFloor`] loads exactly the rows the import writes (the CSV sets [`super::CopyFiles`]
//! wrote) with binary `COPY`, one transaction per bundle, as the import applies each bundle in
//! one: the fastest way PostgreSQL offers to put those rows into those indexed tables, so the
//! import's seconds are measured against it. Turning CSV into binary `COPY` data is done by the
//! server itself, untimed, in a scratch database ([`BinaryFloor::prepare`]): the bench never
//! has to spell out every column type's binary form.
//!
//! [`footprint`], [`wal_position`] and [`wal_bytes_since`] say what a load cost the database:
//! rows, index entries (one per row for a B-tree, one per array element for a GIN index) and
//! bytes of write-ahead log; [`settings`] records the server settings a figure was taken under.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use postgres::Client;

use super::Table;

/// The file, beside the CSV files, that lists them by bundle (`bundle<TAB>table<TAB>path`).
pub const SETS_FILE: &str = "sets.tsv";

/// Server settings that decide how fast a load can be, recorded beside every figure.
pub const RECORDED_SETTINGS: [&str; 8] = [
    "fsync",
    "synchronous_commit",
    "full_page_writes",
    "shared_buffers",
    "max_wal_size",
    "wal_level",
    "jit",
    "server_version",
];

/// Why the floor could not be prepared or measured.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FloorError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// The list of files is not what [`super::CopyFiles`] writes.
    #[error("{path} line {line}: {problem}")]
    Sets {
        /// The list.
        path: PathBuf,
        /// Its line, from 1.
        line: usize,
        /// What is wrong with it.
        problem: String,
    },
    /// The database refused a statement.
    #[error("{step}: {source}")]
    Database {
        /// What was being done.
        step: String,
        /// The database's error.
        #[source]
        source: postgres::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> FloorError + '_ {
    move |source| FloorError::Io {
        path: path.to_owned(),
        source,
    }
}

fn db(step: impl Into<String>) -> impl FnOnce(postgres::Error) -> FloorError {
    let step = step.into();
    move |source| FloorError::Database { step, source }
}

/// Binary `COPY` files of the import's rows, one set per bundle in loading order.
#[derive(Debug)]
pub struct BinaryFloor {
    sets: Vec<Vec<(Table, PathBuf)>>,
    bytes: u64,
}

impl BinaryFloor {
    /// Converts the CSV files listed in `dir`'s [`SETS_FILE`] into binary `COPY` files beside
    /// them (`.bin`), through `scratch`, a database with the store's schema whose tables stay
    /// empty (the rows pass through temporary tables); each CSV file is deleted once converted.
    pub fn prepare(scratch: &mut Client, dir: &Path) -> Result<BinaryFloor, FloorError> {
        let list = dir.join(SETS_FILE);
        let text = std::fs::read_to_string(&list).map_err(io(&list))?;
        let mut sets: Vec<Vec<(Table, PathBuf)>> = Vec::new();
        let mut current: Option<String> = None;
        for (k, line) in text.lines().enumerate() {
            let problem = |problem: &str| FloorError::Sets {
                path: list.clone(),
                line: k + 1,
                problem: problem.to_owned(),
            };
            let mut fields = line.splitn(3, '\t');
            let (Some(bundle), Some(table), Some(path)) =
                (fields.next(), fields.next(), fields.next())
            else {
                return Err(problem("expected bundle, table and file, tab-separated"));
            };
            let table = Table::named(table).ok_or_else(|| problem("no such table"))?;
            if current.as_deref() != Some(bundle) {
                sets.push(Vec::new());
                current = Some(bundle.to_owned());
            }
            if let Some(set) = sets.last_mut() {
                set.push((table, PathBuf::from(path)));
            }
        }
        for table in Table::ALL {
            scratch
                .batch_execute(&format!(
                    "CREATE TEMP TABLE IF NOT EXISTS floor_{0} \
                     (LIKE {0} INCLUDING DEFAULTS INCLUDING IDENTITY)",
                    table.name()
                ))
                .map_err(db("creating a conversion table"))?;
        }
        let mut bytes = 0;
        for set in &mut sets {
            for (table, path) in set.iter_mut() {
                let binary = path.with_extension("bin");
                convert(scratch, *table, path, &binary)?;
                std::fs::remove_file(&*path).map_err(io(path))?;
                bytes += std::fs::metadata(&binary).map_err(io(&binary))?.len();
                *path = binary;
            }
        }
        Ok(BinaryFloor { sets, bytes })
    }

    /// Bytes of binary `COPY` data the floor loads.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Loads every bundle's set into `target` (a database with the store's schema, empty),
    /// each in one transaction, and returns how long that took, in all and table by table
    /// (the `COPY` statements only, in [`Table::ALL`] order).
    pub fn load(&self, target: &mut Client) -> Result<FloorTimes, FloorError> {
        let started = Instant::now();
        let mut tables: Vec<(Table, Duration)> =
            Table::ALL.iter().map(|t| (*t, Duration::ZERO)).collect();
        for set in &self.sets {
            let mut tx = target.transaction().map_err(db("beginning a load"))?;
            for (table, path) in set {
                let copy_started = Instant::now();
                let mut file = std::fs::File::open(path).map_err(io(path))?;
                let mut writer = tx
                    .copy_in(&format!(
                        "COPY {} ({}) FROM STDIN (FORMAT binary)",
                        table.name(),
                        table.columns()
                    ))
                    .map_err(db(format!("loading {}", table.name())))?;
                std::io::copy(&mut file, &mut writer).map_err(io(path))?;
                writer
                    .finish()
                    .map_err(db(format!("loading {}", table.name())))?;
                if let Some((_, spent)) = tables.iter_mut().find(|(t, _)| t == table) {
                    *spent += copy_started.elapsed();
                }
            }
            tx.commit().map_err(db("committing a load"))?;
        }
        Ok(FloorTimes {
            total: started.elapsed(),
            tables,
        })
    }

    /// Deletes the binary files.
    pub fn remove(self) {
        for (_, path) in self.sets.into_iter().flatten() {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// How long a [`BinaryFloor::load`] took.
#[derive(Debug, Clone)]
pub struct FloorTimes {
    /// From the first `BEGIN` to the last `COMMIT`.
    pub total: Duration,
    /// The `COPY` into each table, summed over the bundles.
    pub tables: Vec<(Table, Duration)>,
}

/// CSV file `csv` of `table`'s rows, as binary `COPY` data in `binary`.
fn convert(
    scratch: &mut Client,
    table: Table,
    csv: &Path,
    binary: &Path,
) -> Result<(), FloorError> {
    use std::io::Read as _;
    let step = || format!("converting {}", csv.display());
    let (name, columns) = (table.name(), table.columns());
    scratch
        .batch_execute(&format!("TRUNCATE floor_{name}"))
        .map_err(db(step()))?;
    let mut input = std::fs::File::open(csv).map_err(io(csv))?;
    let mut writer = scratch
        .copy_in(&format!(
            "COPY floor_{name} ({columns}) FROM STDIN (FORMAT csv)"
        ))
        .map_err(db(step()))?;
    std::io::copy(&mut input, &mut writer).map_err(io(csv))?;
    writer.finish().map_err(db(step()))?;
    let mut reader = scratch
        .copy_out(&format!(
            "COPY floor_{name} ({columns}) TO STDOUT (FORMAT binary)"
        ))
        .map_err(db(step()))?;
    let mut output = std::io::BufWriter::new(std::fs::File::create(binary).map_err(io(binary))?);
    let mut buffer = vec![0; 1 << 20];
    loop {
        let n = reader.read(&mut buffer).map_err(io(binary))?;
        if n == 0 {
            break;
        }
        std::io::Write::write_all(&mut output, &buffer[..n]).map_err(io(binary))?;
    }
    std::io::Write::flush(&mut output).map_err(io(binary))
}

/// What the import's tables hold: rows, and entries in their indexes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Footprint {
    /// Rows in the tables the import writes ([`Table::ALL`]).
    pub rows: u64,
    /// Entries in their indexes: a row per B-tree (those of a partial index's predicate
    /// only), an element per GIN index over an array column.
    pub index_entries: u64,
}

/// Counts the rows and index entries of the tables the import writes.
pub fn footprint(client: &mut Client) -> Result<Footprint, FloorError> {
    let names: Vec<&str> = Table::ALL.iter().map(|t| t.name()).collect();
    let mut footprint = Footprint::default();
    for name in &names {
        let row = client
            .query_one(&format!("SELECT count(*) FROM {name}"), &[])
            .map_err(db("counting rows"))?;
        footprint.rows += u64::try_from(row.get::<_, i64>(0)).unwrap_or(0);
    }
    let indexes = client
        .query(
            "SELECT t.relname::text, am.amname::text, a.attname::text,
                    pg_get_expr(i.indpred, i.indrelid)
             FROM pg_index i
             JOIN pg_class c ON c.oid = i.indexrelid
             JOIN pg_class t ON t.oid = i.indrelid
             JOIN pg_am am ON am.oid = c.relam
             LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
             WHERE t.relname = ANY($1) AND t.relnamespace = 'public'::regnamespace",
            &[&names],
        )
        .map_err(db("listing indexes"))?;
    for index in indexes {
        let (table, method): (String, String) = (index.get(0), index.get(1));
        let column: Option<String> = index.get(2);
        let predicate: Option<String> = index.get(3);
        let count = match (method.as_str(), column) {
            ("gin", Some(column)) => {
                format!("SELECT coalesce(sum(cardinality({column})), 0)::bigint FROM {table}")
            }
            _ => format!(
                "SELECT count(*) FROM {table} WHERE {}",
                predicate.as_deref().unwrap_or("true")
            ),
        };
        let row = client
            .query_one(&count, &[])
            .map_err(db("counting index entries"))?;
        footprint.index_entries += u64::try_from(row.get::<_, i64>(0)).unwrap_or(0);
    }
    Ok(footprint)
}

/// The server's current write-ahead log position, for [`wal_bytes_since`].
pub fn wal_position(client: &mut Client) -> Result<String, FloorError> {
    Ok(client
        .query_one("SELECT pg_current_wal_lsn()::text", &[])
        .map_err(db("reading the WAL position"))?
        .get(0))
}

/// Bytes of write-ahead log the server wrote since `position` (from [`wal_position`]), by
/// every session.
pub fn wal_bytes_since(client: &mut Client, position: &str) -> Result<u64, FloorError> {
    let row = client
        .query_one(
            "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::text::pg_lsn)::bigint",
            &[&position],
        )
        .map_err(db("reading the WAL position"))?;
    Ok(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
}

/// The server's [`RECORDED_SETTINGS`], with their units (`shared_buffers`: `128MB`).
pub fn settings(client: &mut Client) -> Result<Vec<(String, String)>, FloorError> {
    let mut out = Vec::new();
    for name in RECORDED_SETTINGS {
        let row = client
            .query_one(&format!("SHOW {name}"), &[])
            .map_err(db("reading server settings"))?;
        out.push((name.to_owned(), row.get(0)));
    }
    Ok(out)
}
