//! Argument parsing and dispatch; one module per subcommand. Exit codes, error lines, `--json`
//! and stdout follow the convention every Sluice tool shares (`keys::exit`).

use std::io::Write as _;

use anyhow::Context as _;

mod cert;
mod credentials;
mod migrate;
mod query;
mod register;
mod review;
mod reviewers;
mod serve_ops;
mod serve_review;

/// The inner store of Sluice: migrations, review, certificates and the public query.
#[derive(Debug, clap::Parser)]
#[command(name = "sluice-inner", version, after_help = keys::exit::HELP)]
pub struct Args {
    /// PostgreSQL connection string (`host=/run/postgresql dbname=sluice` or a
    /// `postgresql://` URL).
    #[arg(
        long,
        env = "SLUICE_DATABASE_URL",
        global = true,
        hide_env_values = true
    )]
    database_url: Option<String>,
    /// Print machine-readable JSON instead of text (one object per command).
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Apply the schema migrations (every other command does this on start too).
    Migrate(migrate::Args),
    /// The review queue and reviewers' decisions.
    #[command(subcommand)]
    Review(review::Command),
    /// Reviewer accounts: the ministry, provincial authorities and pre-approval reviewers.
    #[command(subcommand)]
    Reviewers(reviewers::Command),
    /// Electronic filing certificates.
    #[command(subcommand)]
    Cert(cert::Command),
    /// The public query, answered from approved records only.
    Query(query::Args),
    /// The public register that crosses back to the intake service.
    #[command(subcommand)]
    Register(register::Command),
    /// The approved records that cross back to each filing's owner.
    #[command(subcommand)]
    Records(register::RecordsCommand),
    /// Serve the read-only operations page.
    ServeOps(serve_ops::Args),
    /// Serve the review page: queues, whole submissions with their scans, decisions.
    ServeReview(serve_review::Args),
}

/// What every subcommand gets. The database is connected (and migrated) on first use, so
/// commands that need none, such as `cert verify`, run without one.
pub struct Context {
    database_url: Option<String>,
    client: Option<postgres::Client>,
    migration: Option<inner::schema::MigrationReport>,
    json: bool,
}

impl Context {
    /// The database connection, opened and migrated on first use.
    fn client(&mut self) -> anyhow::Result<&mut postgres::Client> {
        if self.client.is_none() {
            let url = self
                .database_url
                .as_deref()
                .context("no database given: pass --database-url or set SLUICE_DATABASE_URL")?;
            let target = inner::db::Target::parse(url)?;
            let mut client = target.connect().map_err(|e| match e {
                inner::db::DbError::Connect(e) => {
                    anyhow::anyhow!("connecting to the database: {}", describe(&e))
                }
                other => other.into(),
            })?;
            self.migration =
                Some(inner::schema::migrate(&mut client).context("migrating the schema")?);
            self.client = Some(client);
        }
        self.client.as_mut().context("database connection lost")
    }
}

/// The clock, Unix seconds.
/// The inner-cert secret key at `path`, decrypted with SLUICE_CERT_KEY_PASSPHRASE if that is
/// set.
fn read_cert_key(path: &std::path::Path) -> anyhow::Result<keys::SecretKey> {
    let passphrase = std::env::var("SLUICE_CERT_KEY_PASSPHRASE").ok();
    keys::SecretKey::read_file(path, passphrase.as_deref().map(str::as_bytes))
        .with_context(|| format!("reading the inner-cert key {}", path.display()))
}

/// Prints `rows` as one JSON object `{ key: rows }` under `--json`; otherwise one line per row
/// as `line` writes it, after `none` if there are none.
fn print_rows<T: serde::Serialize>(
    context: &Context,
    key: &str,
    rows: &[T],
    none: &str,
    line: impl Fn(&T) -> String,
) -> anyhow::Result<()> {
    if context.json {
        return keys::exit::print_json(&serde_json::json!({ key: rows }));
    }
    if rows.is_empty() {
        writeln!(keys::exit::stdout(), "{none}")?;
    }
    for row in rows {
        writeln!(keys::exit::stdout(), "{}", line(row))?;
    }
    Ok(())
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    let mut context = Context {
        database_url: args.database_url,
        client: None,
        migration: None,
        json: args.json,
    };
    match args.command {
        Command::Migrate(args) => migrate::run(args, &mut context),
        Command::Review(command) => review::run(command, &mut context),
        Command::Reviewers(command) => reviewers::run(command, &mut context),
        Command::Cert(command) => cert::run(command, &mut context),
        Command::Query(args) => query::run(args, &mut context),
        Command::Register(command) => register::run(command, &mut context),
        Command::Records(command) => register::run_records(command, &mut context),
        Command::ServeOps(args) => serve_ops::run(args, &mut context),
        Command::ServeReview(args) => serve_review::run(args, &mut context),
    }
}

fn describe(error: &postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => db.message().to_owned(),
        None => match std::error::Error::source(error) {
            Some(source) => format!("{error}: {source}"),
            None => error.to_string(),
        },
    }
}

/// Formats Unix seconds for people: the workspace's one RFC 3339 formatter.
use keys::time::rfc3339 as timestamp;
