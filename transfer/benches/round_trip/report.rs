//! The round trip bench's report: its JSON results and its section of BENCHMARKS.md.

use serde_json::{Value, json};

use super::{
    Baselines, EXPORT_GOAL, GOAL_SUBMISSIONS, IMPORT_GOAL, MEMORY_GOAL_BYTES, PER_BUNDLE,
    ROUND_TRIP, ROUND_TRIP_GOAL_SECONDS, ROUND_TRIP_LIMIT_SECONDS, StepResult,
};

pub(super) struct Report<'a> {
    pub(super) n: usize,
    pub(super) date: time::Date,
    pub(super) cores: usize,
    pub(super) load_average: String,
    pub(super) production: bool,
    pub(super) bundles: u64,
    pub(super) bundle_bytes: u64,
    pub(super) populate: &'a StepResult,
    pub(super) steps: &'a [StepResult],
    pub(super) baselines: Option<&'a Baselines>,
}

impl Report<'_> {
    /// The run's name in BENCHMARKS.md and its JSON file: `N`, or `N-production`.
    pub(super) fn label(&self) -> String {
        if self.production {
            format!("{}-production", self.n)
        } else {
            self.n.to_string()
        }
    }

    fn step(&self, name: &str) -> Option<&StepResult> {
        self.steps.iter().find(|s| s.name == name)
    }

    /// Seconds of the six round-trip steps together.
    fn round_trip_seconds(&self) -> f64 {
        self.steps
            .iter()
            .filter(|s| ROUND_TRIP.contains(&s.name))
            .map(|s| s.seconds)
            .sum()
    }

    /// A step's floor, measured in this run: `zstd` for the export, binary `COPY` for the
    /// import; none for the others.
    fn floor_seconds(&self, name: &str) -> Option<f64> {
        let baselines = self.baselines?;
        match name {
            "export" => Some(baselines.zstd_seconds),
            "import" => Some(baselines.copy_seconds),
            _ => None,
        }
    }

    /// The import's figure `field` per filing.
    fn per_filing(&self, field: &str) -> Option<f64> {
        let value = self.step("import")?.detail.get(field)?.as_u64()?;
        Some(value as f64 / self.n as f64)
    }
}

/// The run's results as `target/sluice-bench/round_trip-LABEL.json` holds them.
pub(super) fn results(report: &Report<'_>) -> Value {
    let mut steps = serde_json::Map::new();
    for name in ROUND_TRIP {
        let Some(step) = report.step(name) else {
            continue;
        };
        let floor = report.floor_seconds(name);
        steps.insert(
            name.replace('-', "_"),
            json!({
                "seconds": step.seconds,
                "peak_rss_bytes": step.peak_kib * 1024,
                "floor_seconds": floor,
                "ratio": floor.map(|f| f / step.seconds),
            }),
        );
    }
    let import = report.step("import").map(|s| &s.detail);
    json!({
        "n": report.n,
        "date": report.date.to_string(),
        "load_average": report.load_average,
        "cores": report.cores,
        "production_settings": report.production,
        "bundles": report.bundles,
        "bundle_bytes": report.bundle_bytes,
        "steps": steps,
        "round_trip_seconds": report.round_trip_seconds(),
        "rows_per_filing": report.per_filing("rows"),
        "index_entries_per_filing": report.per_filing("index_entries"),
        "wal_bytes_per_filing": report.per_filing("wal_bytes"),
        "floor_wal_bytes_per_filing": report
            .baselines
            .map(|b| b.copy_wal_bytes as f64 / report.n as f64),
        "floor_seconds_by_table": report.baselines.map(|b| {
            b.copy_tables
                .iter()
                .map(|(table, seconds)| ((*table).to_owned(), Value::from(*seconds)))
                .collect::<serde_json::Map<String, Value>>()
        }),
        "pg_settings": import.map(|d| d["pg_settings"].clone()),
        "goals": {
            "export_ratio": EXPORT_GOAL,
            "import_ratio": IMPORT_GOAL,
            "round_trip_seconds_at_1000000": ROUND_TRIP_GOAL_SECONDS,
            "round_trip_hard_limit_seconds_at_1000000": ROUND_TRIP_LIMIT_SECONDS,
            "peak_rss_bytes": MEMORY_GOAL_BYTES,
        },
    })
}

pub(super) fn yes_no(met: bool) -> &'static str {
    if met { "yes" } else { "**no**" }
}

pub(super) fn mib(bytes: u64) -> f64 {
    bytes as f64 / 1_048_576.0
}

/// `1000000` as `1,000,000`.
pub(super) fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (k, c) in digits.chars().enumerate() {
        if k > 0 && (digits.len() - k).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// This run's section of BENCHMARKS.md, markers included.
pub(super) fn section(report: &Report<'_>) -> String {
    use std::fmt::Write as _;
    let n = report.n;
    let label = report.label();
    let rate = |seconds: f64| n as f64 / seconds;
    let mut out = String::new();
    let _ = writeln!(out, "<!-- round_trip N={label} -->");
    let settings = if report.production {
        "production PostgreSQL settings"
    } else {
        "the test harness's fast PostgreSQL settings"
    };
    let _ = writeln!(out, "## {} submissions, {settings}\n", thousands(n));
    let populated = &report.populate.detail;
    let _ = writeln!(
        out,
        "`cargo bench -p transfer --bench round_trip -- {n}{flag}{production}` on {date}: {cores} \
         cores, load average {load} at the start (the machine is shared; compare ratios, not \
         seconds across runs). {n} new filings with {websites} websites, {domains} domains and \
         {ips} IP addresses; {bundles} bundle(s) of at most {per_bundle} submissions, \
         {bundle_mib:.1} MiB of bundle files. PostgreSQL: {pg}.\n",
        flag = match (report.baselines.is_some(), n <= 200_000) {
            (true, true) | (false, false) => "",
            (true, false) => " --baselines",
            (false, true) => " --no-baselines",
        },
        production = if report.production {
            " --production-pg"
        } else {
            ""
        },
        date = report.date,
        cores = report.cores,
        load = report.load_average,
        websites = populated["websites"],
        domains = populated["domains"],
        ips = populated["ips"],
        bundles = report.bundles,
        per_bundle = thousands(PER_BUNDLE),
        bundle_mib = mib(report.bundle_bytes),
        pg = report
            .step("import")
            .and_then(|s| s.detail["pg_settings"].as_object())
            .map(|m| m
                .iter()
                .map(|(k, v)| format!("`{k}={}`", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(", "))
            .unwrap_or_default(),
    );
    out.push_str(
        "| step | seconds | submissions/s | floor seconds | floor ÷ step | peak RSS MiB (its own \
         process) | ≤ 512 MB |\n|---|---:|---:|---:|---:|---:|---|\n",
    );
    let _ = writeln!(
        out,
        "| populate the outer SQLite (setup, not in the round trip) | {:.2} | {:.0} | — | — | \
         {:.0} | — |",
        report.populate.seconds,
        rate(report.populate.seconds),
        report.populate.peak_mib(),
    );
    for step in report.steps {
        let floor = report.floor_seconds(step.name);
        let _ = writeln!(
            out,
            "| {} | {:.2} | {:.0} | {} | {} | {:.0} | {} |",
            step.name,
            step.seconds,
            rate(step.seconds),
            floor.map_or("—".to_owned(), |f| format!("{f:.2}")),
            floor.map_or("—".to_owned(), |f| format!("{:.2}x", f / step.seconds)),
            step.peak_mib(),
            yes_no(step.within_memory_goal()),
        );
    }
    let round_trip: Vec<&StepResult> = report
        .steps
        .iter()
        .filter(|s| ROUND_TRIP.contains(&s.name))
        .collect();
    let total = report.round_trip_seconds();
    let peak = round_trip
        .iter()
        .map(|s| s.peak_kib)
        .max()
        .unwrap_or_default();
    let all_within = round_trip.iter().all(|s| s.within_memory_goal());
    let _ = writeln!(
        out,
        "| **whole round trip** (sum of the six steps) | **{total:.2}** | {:.0} | | | {:.0} \
         (largest) | {} |\n",
        rate(total),
        peak as f64 / 1024.0,
        yes_no(all_within),
    );

    out.push_str("| against | measured | goal | met |\n|---|---:|---|---|\n");
    match report.baselines {
        Some(b) => {
            let ratio = |name: &str| {
                let step = report.step(name)?;
                Some(report.floor_seconds(name)? / step.seconds)
            };
            let export_ratio = ratio("export").unwrap_or(f64::NAN);
            let import_ratio = ratio("import").unwrap_or(f64::NAN);
            let _ = writeln!(
                out,
                "| export beside bare `zstd -3 -T1` of the same record content ({:.1} MiB; \
                 zstd took {:.2} s) | {export_ratio:.2}x | ≥ {EXPORT_GOAL}x | {} |",
                mib(b.content_bytes),
                b.zstd_seconds,
                yes_no(export_ratio >= EXPORT_GOAL),
            );
            let _ = writeln!(
                out,
                "| import beside binary `COPY` of exactly the rows it writes ({} rows, {:.1} MiB \
                 of COPY data prepared untimed, a transaction per bundle, fresh database with \
                 the same schema; COPY took {:.2} s and wrote {:.0} bytes of WAL per filing) \
                 | {import_ratio:.2}x | ≥ {IMPORT_GOAL}x | {} |",
                b.rows,
                mib(b.copy_bytes),
                b.copy_seconds,
                b.copy_wal_bytes as f64 / n as f64,
                yes_no(import_ratio >= IMPORT_GOAL),
            );
        }
        None => out.push_str(
            "| export beside `zstd -3 -T1`, import beside binary `COPY` | not measured \
             (baselines off; `--baselines` turns them on) | ≥ 0.8x, ≥ 0.75x | — |\n",
        ),
    }
    let time_met = if n == GOAL_SUBMISSIONS {
        if total <= ROUND_TRIP_GOAL_SECONDS {
            "yes".to_owned()
        } else {
            format!(
                "**no**: {:.1}x the goal{}",
                total / ROUND_TRIP_GOAL_SECONDS,
                if total <= ROUND_TRIP_LIMIT_SECONDS {
                    ", within the hard limit"
                } else {
                    ", over the 60 s hard limit too"
                }
            )
        }
    } else {
        format!("— (the goal is for {})", thousands(GOAL_SUBMISSIONS))
    };
    let _ = writeln!(
        out,
        "| whole round trip | {total:.2} s | ≤ {ROUND_TRIP_GOAL_SECONDS} s for {} (hard limit \
         {ROUND_TRIP_LIMIT_SECONDS} s) | {time_met} |",
        thousands(GOAL_SUBMISSIONS),
    );
    let _ = writeln!(
        out,
        "| peak memory of each step | {:.0} MiB (largest) | ≤ 512 MB (488 MiB) each | {} |",
        peak as f64 / 1024.0,
        yes_no(all_within),
    );
    if let Some(b) = report.baselines {
        let tables: Vec<String> = b
            .copy_tables
            .iter()
            .filter(|(_, seconds)| *seconds > 0.0)
            .map(|(table, seconds)| format!("`{table}` {seconds:.2} s"))
            .collect();
        let _ = writeln!(
            out,
            "\nWhere the floor's time goes (binary `COPY` per table): {}.",
            tables.join(", ")
        );
    }
    let per = |field: &str| {
        report
            .per_filing(field)
            .map_or("—".to_owned(), |v| format!("{v:.1}"))
    };
    let _ = writeln!(
        out,
        "\nWhat the import left per filing: {} rows, {} index entries, {} bytes of WAL.",
        per("rows"),
        per("index_entries"),
        per("wal_bytes"),
    );
    let _ = write!(out, "<!-- /round_trip N={label} -->");
    out
}

/// What the file starts with when a run writes it first (or finds it without sections).
const INTRO: &str = "# transfer benchmarks\n\n\
Written by `cargo bench -p transfer --bench round_trip -- N` (see the bench's documentation);
each run replaces the section for its N and leaves the others.\n\n\
Method: the parent process starts a throwaway PostgreSQL cluster (`fsync=off`; with
`--production-pg`, `fsync`, `full_page_writes` and `synchronous_commit` on and 1 GB of
`shared_buffers`), generates keys
and runs every step in a process of its own. A step's seconds are measured inside its process,
around opening its stores and doing its work; its peak RSS is that process's `VmHWM`, so no
step's figure includes another's (the PostgreSQL server's own memory is not counted). The
filings come from `inner::bench_support::filing`; they pass the import's re-check of the filing
rules. Baselines run in the same run on the same data: bare `zstd -3 -T1` of the exported record
content (to `/dev/null`), and binary `COPY` of exactly the rows the import writes, a transaction
per bundle, into a fresh database with the same schema. A ratio is floor seconds / our seconds:
above 1 is faster than the floor. Each run also writes `target/sluice-bench/round_trip-N.json`
(`round_trip-N-production.json`) with every step's seconds, peak RSS, floor and ratio, and the
import's rows, index entries and WAL bytes per filing. Baselines are on by default up to 200,000 submissions (`--baselines`,
`--no-baselines`).\n";

/// `existing` with this run's section put in: in place of the section with the same label,
/// else before the first section for a larger N, else at the end. A file without sections (or
/// none) starts again from the introduction.
pub(super) fn with_section(existing: &str, label: &str, section: &str) -> String {
    const OPEN: &str = "<!-- round_trip N=";
    if !existing.contains(OPEN) {
        return format!("{INTRO}\n{section}\n");
    }
    let begin = format!("{OPEN}{label} -->");
    let end = format!("<!-- /round_trip N={label} -->");
    if let Some(b) = existing.find(&begin)
        && let Some(e) = existing[b..].find(&end)
    {
        let after = b + e + end.len();
        return format!("{}{section}{}", &existing[..b], &existing[after..]);
    }
    let n: usize = label
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or(usize::MAX);
    let mut at = existing.len();
    let mut search = 0;
    while let Some(found) = existing[search..].find(OPEN) {
        let start = search + found;
        let number: String = existing[start + OPEN.len()..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        if number.parse::<usize>().is_ok_and(|other| other > n) {
            at = start;
            break;
        }
        search = start + OPEN.len();
    }
    if at == existing.len() {
        format!("{}\n\n{section}\n", existing.trim_end())
    } else {
        format!("{}{section}\n\n{}", &existing[..at], &existing[at..])
    }
}
