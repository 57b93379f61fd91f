//! Binary `COPY` into one table, the way every stage of the import writes rows in bulk. Each
//! row passes the `import.mid-copy` failure point, so the crash tests can stop an import in the
//! middle of any table.

use postgres::Transaction;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{ToSql, Type};

use super::{ApplyError, db};

/// Binary COPY into one table.
pub(super) struct Copier<'a> {
    writer: BinaryCopyInWriter<'a>,
    step: &'static str,
}

impl<'a> Copier<'a> {
    /// Starts `COPY table (columns)`; `step` says what it is for in errors.
    pub(super) fn new(
        tx: &'a mut Transaction<'_>,
        step: &'static str,
        table: &str,
        columns: &str,
        types: &[Type],
    ) -> Result<Copier<'a>, ApplyError> {
        let sink = tx
            .copy_in(&format!(
                "COPY {table} ({columns}) FROM STDIN (FORMAT binary)"
            ))
            .map_err(db(step))?;
        Ok(Copier {
            writer: BinaryCopyInWriter::new(sink, types),
            step,
        })
    }

    pub(super) fn row(&mut self, values: &[&(dyn ToSql + Sync)]) -> Result<(), ApplyError> {
        self.writer.write(values).map_err(db(self.step))?;
        crate::failpoint::hit("import.mid-copy");
        Ok(())
    }

    pub(super) fn finish(self) -> Result<u64, ApplyError> {
        self.writer.finish().map_err(db(self.step))
    }
}
