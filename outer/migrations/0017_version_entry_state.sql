-- Where a version enters review once the inner side accepts it (its entry state,
-- `filing::arrival::entry_state`), decided at intake from the signed record and stored as the
-- receipt state name it will show (`ReceiptState::as_str`: 'withdrawn',
-- 'awaiting_provider_check', 'awaiting_pre_approval', 'awaiting_regional_review'). An
-- `ArrivalAck` (bundle format version 11) says the version arrived and when, and the receipt
-- waiting on it moves to this state then: the inner side sends no status change per arrival.
-- NULL for a provider's check, which has no review of its own. Versions stored before this
-- migration keep NULL: their ack decides the state from the payload, still held until then.
ALTER TABLE submission_versions ADD COLUMN entry_state TEXT;
