//! The writer thread and its group commit: every queued job runs in its own savepoint of one
//! transaction, and one `COMMIT` (one fsync) makes the whole group durable before any caller
//! hears back. The failure points `intake.before-commit` and `intake.after-commit` fire here.

use std::sync::mpsc;

use rusqlite::Connection;

use super::{MAX_GROUP_COMMIT, StoreError};

/// A write queued for the writer thread, with its result still to be sent.
pub(super) trait WriteJob: Send {
    /// Runs the work inside its own savepoint, keeping its result until the commit.
    fn run(&mut self, conn: &Connection);
    /// Sends the result, or the commit's failure, to the caller.
    fn finish(self: Box<Self>, committed: Result<(), StoreError>);
}

/// One caller's write: the work, its result once run, and where to send it.
pub(super) struct Job<T, F> {
    pub(super) work: Option<F>,
    pub(super) result: Option<Result<T, StoreError>>,
    pub(super) reply: tokio::sync::oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> WriteJob for Job<T, F>
where
    T: Send,
    F: FnOnce(&Connection) -> Result<T, StoreError> + Send,
{
    fn run(&mut self, conn: &Connection) {
        let Some(work) = self.work.take() else { return };
        if let Err(source) = conn.execute_batch("SAVEPOINT job") {
            self.result = Some(Err(StoreError::Database {
                operation: "opening a savepoint",
                source,
            }));
            return;
        }
        let result = work(conn);
        let end = if result.is_ok() {
            conn.execute_batch("RELEASE job")
        } else {
            conn.execute_batch("ROLLBACK TO job; RELEASE job")
        };
        self.result = Some(match end {
            Ok(()) => result,
            Err(source) => Err(StoreError::Database {
                operation: "closing a savepoint",
                source,
            }),
        });
    }

    fn finish(self: Box<Self>, committed: Result<(), StoreError>) {
        let outcome = match (committed, self.result) {
            (Err(error), _) => Err(error),
            (Ok(()), Some(result)) => result,
            (Ok(()), None) => Err(StoreError::Closed),
        };
        // The caller may have gone away (request timeout); the write stands either way.
        let _ = self.reply.send(outcome);
    }
}

/// Takes every job waiting (up to [`MAX_GROUP_COMMIT`]) and commits them together, until every
/// sender is gone.
pub(super) fn writer_loop(conn: Connection, jobs: mpsc::Receiver<Box<dyn WriteJob>>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_GROUP_COMMIT {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if let Err(source) = conn.execute_batch("BEGIN IMMEDIATE") {
            let message = source.to_string();
            for job in batch {
                job.finish(Err(StoreError::GroupCommit {
                    operation: "starting a transaction",
                    message: message.clone(),
                }));
            }
            continue;
        }
        for job in &mut batch {
            job.run(&conn);
        }
        crate::failpoint::hit("intake.before-commit");
        match conn.execute_batch("COMMIT") {
            Ok(()) => {
                crate::failpoint::hit("intake.after-commit");
                for job in batch {
                    job.finish(Ok(()));
                }
            }
            Err(source) => {
                tracing::error!(error = %source, "group commit failed");
                let _ = conn.execute_batch("ROLLBACK");
                let message = source.to_string();
                for job in batch {
                    job.finish(Err(StoreError::GroupCommit {
                        operation: "committing",
                        message: message.clone(),
                    }));
                }
            }
        }
    }
}
