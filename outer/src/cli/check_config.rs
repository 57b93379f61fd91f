//! `sluice-outer check-config FILE`

use std::path::PathBuf;

use outer::config::Config;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The configuration file to check.
    file: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let config = Config::load(&args.file)?;
    println!(
        "{}: ok (listen {}, database {})",
        args.file.display(),
        config.listen,
        config.database.display()
    );
    Ok(())
}
