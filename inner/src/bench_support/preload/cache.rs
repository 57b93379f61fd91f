//! The preloaded cluster kept between runs: made once per size, schema and preload format, and
//! copied back for the next run instead of loading again.

use super::*;

/// The name, under a cache folder, of the cached cluster of `n` preloaded filings: it changes
/// with the number of inner migrations and with [`PRELOAD_FORMAT`], so a schema or preload
/// change never reuses an old cluster.
pub fn cache_key(n: usize) -> String {
    format!(
        "preload-{n}-m{}-f{PRELOAD_FORMAT}",
        crate::schema::MIGRATIONS.len()
    )
}

/// A database holding `n` preloaded filings, in this process's throwaway cluster.
pub struct PreloadedStore {
    /// The database.
    pub database: crate::testing::TestDatabase,
    /// What the preload wrote and how long it took when it was made (for a cached store, when
    /// the cache was made).
    pub preloaded: Preloaded,
    /// Whether the cluster was a copy of a cached one.
    pub from_cache: bool,
    /// Seconds spent copying the cached cluster (0 when it was built in this run).
    pub copy_seconds: f64,
    /// Bytes of the database on disk.
    pub database_bytes: u64,
    /// Bytes on disk of the largest tables, indexes included, largest first.
    pub table_bytes: Vec<(String, u64)>,
}

impl PreloadedStore {
    /// How the store was made, for a bench's report: `({rows} rows, {GiB}; {how}); the preload
    /// took … s to load …, then … s to build its … secondary indexes and … s for VACUUM ANALYZE`.
    pub fn made(&self) -> String {
        let p = &self.preloaded;
        #[allow(clippy::cast_precision_loss)] // bytes of a database, shown to a tenth of a GiB
        let gib = self.database_bytes as f64 / f64::from(1u32 << 30);
        let how = if self.from_cache {
            format!(
                "copied from the cached cluster in {:.0} s",
                self.copy_seconds
            )
        } else {
            "preloaded in this run".to_owned()
        };
        format!(
            "({} rows, {gib:.1} GiB; {how}); the preload took {:.0} s to load with binary \
             `COPY`, then {:.0} s to build its {} secondary indexes and {:.0} s for \
             `VACUUM ANALYZE`",
            p.rows,
            p.load.as_secs_f64(),
            p.indexes.as_secs_f64(),
            p.rebuilt_indexes.len(),
            p.vacuum.as_secs_f64(),
        )
    }
}

fn preloaded_json(preloaded: &Preloaded, database: &str) -> serde_json::Value {
    serde_json::json!({
        "database": database,
        "filings": preloaded.filings,
        "bundles": preloaded.bundles,
        "rows": preloaded.rows,
        "load_seconds": preloaded.load.as_secs_f64(),
        "index_seconds": preloaded.indexes.as_secs_f64(),
        "vacuum_seconds": preloaded.vacuum.as_secs_f64(),
        "rebuilt_indexes": preloaded.rebuilt_indexes,
    })
}

fn preloaded_from_json(value: &serde_json::Value) -> Option<(Preloaded, String)> {
    let seconds = |key: &str| value.get(key)?.as_f64().map(Duration::from_secs_f64);
    Some((
        Preloaded {
            filings: usize::try_from(value.get("filings")?.as_u64()?).ok()?,
            bundles: value.get("bundles")?.as_u64()?,
            rows: value.get("rows")?.as_u64()?,
            load: seconds("load_seconds")?,
            indexes: seconds("index_seconds")?,
            vacuum: seconds("vacuum_seconds")?,
            rebuilt_indexes: value
                .get("rebuilt_indexes")?
                .as_array()?
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
        },
        value.get("database")?.as_str()?.to_owned(),
    ))
}

/// A store of `n` preloaded filings: copied from `cache/`[`cache_key`] when that holds one,
/// else preloaded now (see [`preload`]) in a new database of this process's throwaway cluster
/// and, when `cache` is given, the cluster saved there for the next run (a base backup; other
/// cached clusters of the same `n` are removed). Must be called before this process makes
/// any other [`crate::testing::TestDatabase`], since a cached cluster replaces the whole
/// throwaway cluster.
pub fn preloaded_store(
    n: usize,
    now: i64,
    cache: Option<&std::path::Path>,
    workers: usize,
    progress: &mut dyn FnMut(&str),
) -> Result<PreloadedStore, PreloadError> {
    use crate::testing::{self, TestDatabase};
    let harness = |e: testing::HarnessError| make(e.to_string());
    let key = cache_key(n);
    let dir = cache.map(|root| root.join(&key));
    let cached = dir.as_ref().and_then(|dir| {
        let text = std::fs::read_to_string(dir.join("preload.json")).ok()?;
        let value: serde_json::Value = serde_json::from_str(&text).ok()?;
        preloaded_from_json(&value).filter(|_| dir.join("data").is_dir())
    });
    let (database, preloaded, from_cache, copy_seconds) = match (cached, &dir) {
        (Some((preloaded, name)), Some(dir)) => {
            progress(&format!(
                "preload: copying the cached cluster {}",
                dir.display()
            ));
            let started = Instant::now();
            testing::start_from_copy(&dir.join("data")).map_err(harness)?;
            let database = TestDatabase::open(&name).map_err(harness)?;
            (database, preloaded, true, started.elapsed().as_secs_f64())
        }
        _ => {
            let database = TestDatabase::with_schema().map_err(harness)?;
            let mut client = database.connect().map_err(harness)?;
            let signer = keys::SecretKey::generate();
            let preloaded = preload(&mut client, n, now, &signer, workers, progress)?;
            drop(client);
            if let (Some(dir), Some(root)) = (&dir, cache) {
                // Older caches of the same size go first: they are as large as this one.
                if let Ok(entries) = std::fs::read_dir(root) {
                    for entry in entries.flatten() {
                        let name = entry.file_name().to_string_lossy().into_owned();
                        if name.starts_with(&format!("preload-{n}-")) {
                            let _ = std::fs::remove_dir_all(entry.path());
                        }
                    }
                }
                progress(&format!("preload: saving the cluster to {}", dir.display()));
                testing::save_copy(&dir.join("data")).map_err(harness)?;
                let text =
                    serde_json::to_string_pretty(&preloaded_json(&preloaded, database.name()))
                        .map_err(make)?;
                std::fs::write(dir.join("preload.json"), text)
                    .map_err(|e| make(format!("writing {}: {e}", dir.display())))?;
            }
            (database, preloaded, false, 0.0)
        }
    };
    let mut client = database.connect().map_err(harness)?;
    let database_bytes: i64 = client
        .query_one("SELECT pg_database_size(current_database())", &[])
        .map_err(db("measuring the database"))?
        .get(0);
    let table_bytes = client
        .query(
            "SELECT relname::text, pg_total_relation_size(oid) FROM pg_class
             WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace
             ORDER BY 2 DESC LIMIT 8",
            &[],
        )
        .map_err(db("measuring the tables"))?
        .into_iter()
        .map(|row| (row.get(0), u64::try_from(row.get::<_, i64>(1)).unwrap_or(0)))
        .collect();
    Ok(PreloadedStore {
        database,
        preloaded,
        from_cache,
        copy_seconds,
        database_bytes: u64::try_from(database_bytes).unwrap_or(0),
        table_bytes,
    })
}
