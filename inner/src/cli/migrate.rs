//! `sluice-inner migrate`.

use std::io::Write as _;

use keys::exit::stdout;

use super::Context;

/// Arguments of `migrate` (none).
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Reports what the start-up migration did.
pub fn run(_args: Args, context: &mut Context) -> anyhow::Result<()> {
    context.client()?;
    let report = context
        .migration
        .clone()
        .unwrap_or(inner::schema::MigrationReport {
            applied: Vec::new(),
            current: 0,
        });
    if context.json {
        return keys::exit::print_json(&serde_json::json!({
            "applied": report.applied,
            "schema_version": report.current,
        }));
    }
    if report.applied.is_empty() {
        writeln!(
            stdout(),
            "schema is up to date at version {}",
            report.current
        )?;
    } else {
        for version in &report.applied {
            writeln!(stdout(), "applied migration {version}")?;
        }
        writeln!(stdout(), "schema is at version {}", report.current)?;
    }
    Ok(())
}
