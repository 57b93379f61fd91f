//! `sluice-outer check-config FILE`

use std::io::Write as _;
use std::path::PathBuf;

use keys::exit::stdout;
use outer::config::Config;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The configuration file to check.
    file: PathBuf,
}

/// Runs `check-config`.
pub fn run(args: Args, json: bool) -> anyhow::Result<()> {
    let config = Config::load(&args.file)?;
    if json {
        return keys::exit::print_json(&serde_json::json!({
            "file": args.file,
            "ok": true,
            "listen": config.listen.to_string(),
            "database": config.database,
        }));
    }
    writeln!(
        stdout(),
        "{}: ok (listen {}, database {})",
        args.file.display(),
        config.listen,
        config.database.display()
    )?;
    Ok(())
}
