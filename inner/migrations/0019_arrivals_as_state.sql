-- A version's arrival is kept on its version row instead of as a review event and a queued
-- status change (bundle format version 11, SPEC.md §6.3 `ArrivalAck`). The import records the
-- state an accepted version entered review in (`entry_state`, decided from its record by the
-- `filing` crate's rule, which the outer side applies to the same record) and the state its
-- receipt was in before (`prev_state`, none for a first version); the arrival's time is the
-- version's `received_at`. A receipt's history reads those arrivals beside its review events.
-- The bundle's acknowledgement goes out as an `ArrivalAck` carrying the import time, and the
-- outer side shows each accepted version's entry state from it.
--
-- Versions imported before this migration keep NULL here: their arrivals are review events,
-- and their status changes were queued with them.
ALTER TABLE submission_versions
    ADD COLUMN prev_state text,
    ADD COLUMN entry_state text CHECK (entry_state IN ('awaiting-provider-check',
        'awaiting-pre-approval', 'awaiting-regional-review', 'withdrawn'));
