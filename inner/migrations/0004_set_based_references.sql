-- Cheaper reference checks on the rows a submissions bundle writes in bulk.
--
-- A declarative foreign key checks every inserted row on its own: one AFTER trigger event per
-- row, each running a lookup of the parent row and locking it (FOR KEY SHARE). Those per-row
-- checks were the largest single cost of the import. Measured on a 50,000-filing bundle
-- (1,150,000 rows): auto_explain counted 9.2 s of foreign-key trigger time in an 18 s
-- apply_bundle, and a psql \copy of the same rows took 15.6 s with the foreign keys and 5.6 s
-- without them (12.3 s without the secondary indexes, 3.3 s without either). Of the 9.2 s,
-- 4.0 s were the record_id keys of the child tables of website_records, 2.8 s the filing_id
-- keys of website_domains and website_ips, and 2.5 s the six keys of the rows written once per
-- submission.
--
-- Here every one of those keys is checked once per statement instead, by a trigger that sees
-- all the rows the statement wrote (a transition table) and looks for one whose parent is
-- missing: one anti-join per statement, an index probe per row, and no row locks. What the
-- foreign keys enforced is still enforced, and inner/tests/references.rs tries each case:
-- - every row names an existing parent (on insert, and on an update that changes the key);
-- - deleting a website record deletes its child rows (was ON DELETE CASCADE);
-- - a parent named by other rows cannot be deleted or change its key (was NO ACTION).
-- The row locks the foreign keys took only matter against a transaction deleting a parent
-- while another adds rows naming it. Filings, bundles, receipts and review events are never
-- deleted; website records are deleted only by apply_bundle, which is also the only writer of
-- their child rows and holds the import advisory lock for its whole transaction, so the two
-- never run concurrently. Foreign keys that are not on the import's path stay (certificates).

-- website_domains.filing_id and website_ips.filing_id referenced filings, which only said that
-- some filing has that id: redundant with record_id, whose website record names the filing
-- (website_records.filing_id is checked against filings below). What the conflict queries rely
-- on is stronger: that a domain's or address range's filing_id is its own website record's
-- filing (`o.filing_id <> w.filing_id` in the review queue, `a.filing_id` in the domain check at
-- approval), which nothing checked before. The per-statement check below checks exactly that:
-- the two foreign keys go, and the pair (record_id, filing_id) is checked against
-- website_records.
ALTER TABLE website_domains DROP CONSTRAINT website_domains_filing_id_fkey;
ALTER TABLE website_ips DROP CONSTRAINT website_ips_filing_id_fkey;
ALTER TABLE website_domains DROP CONSTRAINT website_domains_record_id_fkey;
ALTER TABLE website_ips DROP CONSTRAINT website_ips_record_id_fkey;
ALTER TABLE website_access DROP CONSTRAINT website_access_record_id_fkey;
ALTER TABLE website_home_urls DROP CONSTRAINT website_home_urls_record_id_fkey;
ALTER TABLE website_pre_approvals DROP CONSTRAINT website_pre_approvals_record_id_fkey;

-- Child rows written by one statement (new_rows) whose record_id names no website record.
CREATE FUNCTION website_rows_need_record() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    orphan bigint;
BEGIN
    SELECT n.record_id INTO orphan FROM new_rows n
    WHERE NOT EXISTS (SELECT 1 FROM website_records w WHERE w.record_id = n.record_id)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'insert on table "%" names website record %, which does not exist',
            TG_TABLE_NAME, orphan
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$;

-- The same for child rows that also carry their website's filing_id: the pair must be a website
-- record's own.
CREATE FUNCTION website_rows_need_record_of_filing() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    orphan record;
BEGIN
    SELECT n.record_id, n.filing_id INTO orphan FROM new_rows n
    WHERE NOT EXISTS (SELECT 1 FROM website_records w
                      WHERE w.record_id = n.record_id AND w.filing_id = n.filing_id)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'insert on table "%" names website record % of filing %, which does not exist',
            TG_TABLE_NAME, orphan.record_id, orphan.filing_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER website_access_need_record AFTER INSERT ON website_access
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION website_rows_need_record();
CREATE TRIGGER website_home_urls_need_record AFTER INSERT ON website_home_urls
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION website_rows_need_record();
CREATE TRIGGER website_pre_approvals_need_record AFTER INSERT ON website_pre_approvals
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION website_rows_need_record();
CREATE TRIGGER website_domains_need_record AFTER INSERT ON website_domains
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION website_rows_need_record_of_filing();
CREATE TRIGGER website_ips_need_record AFTER INSERT ON website_ips
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION website_rows_need_record_of_filing();

-- Updates: the review workflow updates child rows often (`active`, `cancelled`) and never their
-- keys, so an update is checked, row by row as before, only when it changes a key.
CREATE FUNCTION website_row_key_needs_record() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM website_records w WHERE w.record_id = NEW.record_id) THEN
        RAISE EXCEPTION 'update on table "%" names website record %, which does not exist',
            TG_TABLE_NAME, NEW.record_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION website_row_key_needs_record_of_filing() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM website_records w
                   WHERE w.record_id = NEW.record_id AND w.filing_id = NEW.filing_id) THEN
        RAISE EXCEPTION 'update on table "%" names website record % of filing %, which does not exist',
            TG_TABLE_NAME, NEW.record_id, NEW.filing_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER website_access_key_needs_record AFTER UPDATE OF record_id ON website_access
    FOR EACH ROW WHEN (OLD.record_id IS DISTINCT FROM NEW.record_id)
    EXECUTE FUNCTION website_row_key_needs_record();
CREATE TRIGGER website_home_urls_key_needs_record AFTER UPDATE OF record_id ON website_home_urls
    FOR EACH ROW WHEN (OLD.record_id IS DISTINCT FROM NEW.record_id)
    EXECUTE FUNCTION website_row_key_needs_record();
CREATE TRIGGER website_pre_approvals_key_needs_record AFTER UPDATE OF record_id ON website_pre_approvals
    FOR EACH ROW WHEN (OLD.record_id IS DISTINCT FROM NEW.record_id)
    EXECUTE FUNCTION website_row_key_needs_record();
CREATE TRIGGER website_domains_key_needs_record AFTER UPDATE OF record_id, filing_id ON website_domains
    FOR EACH ROW WHEN (OLD.record_id IS DISTINCT FROM NEW.record_id OR OLD.filing_id IS DISTINCT FROM NEW.filing_id)
    EXECUTE FUNCTION website_row_key_needs_record_of_filing();
CREATE TRIGGER website_ips_key_needs_record AFTER UPDATE OF record_id, filing_id ON website_ips
    FOR EACH ROW WHEN (OLD.record_id IS DISTINCT FROM NEW.record_id OR OLD.filing_id IS DISTINCT FROM NEW.filing_id)
    EXECUTE FUNCTION website_row_key_needs_record_of_filing();

-- Deleting website records (apply_bundle replaces the pending rows of an older version of a
-- receipt) deletes their child rows, once per statement.
CREATE FUNCTION website_records_delete_children() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM website_access WHERE record_id IN (SELECT record_id FROM old_rows);
    DELETE FROM website_domains WHERE record_id IN (SELECT record_id FROM old_rows);
    DELETE FROM website_ips WHERE record_id IN (SELECT record_id FROM old_rows);
    DELETE FROM website_home_urls WHERE record_id IN (SELECT record_id FROM old_rows);
    DELETE FROM website_pre_approvals WHERE record_id IN (SELECT record_id FROM old_rows);
    RETURN NULL;
END $$;
CREATE TRIGGER website_records_delete_children AFTER DELETE ON website_records
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION website_records_delete_children();

-- A website record's keys never change in this system (record_id is its identity, filing_id
-- its owner). If one did, child rows naming the record would be left behind (record_id), or
-- would name another filing than their record's (filing_id, for domains and address ranges):
-- refused, as the foreign keys refused the first.
CREATE FUNCTION website_record_keys_keep_children() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (OLD.record_id IS DISTINCT FROM NEW.record_id
        AND (EXISTS (SELECT 1 FROM website_access WHERE record_id = OLD.record_id)
             OR EXISTS (SELECT 1 FROM website_home_urls WHERE record_id = OLD.record_id)
             OR EXISTS (SELECT 1 FROM website_pre_approvals WHERE record_id = OLD.record_id)))
       OR EXISTS (SELECT 1 FROM website_domains WHERE record_id = OLD.record_id)
       OR EXISTS (SELECT 1 FROM website_ips WHERE record_id = OLD.record_id) THEN
        RAISE EXCEPTION 'website record % has child rows naming it; its key cannot change',
            OLD.record_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER website_record_keys_keep_children BEFORE UPDATE OF record_id, filing_id ON website_records
    FOR EACH ROW WHEN (OLD.record_id IS DISTINCT FROM NEW.record_id OR OLD.filing_id IS DISTINCT FROM NEW.filing_id)
    EXECUTE FUNCTION website_record_keys_keep_children();

-- The rows apply_bundle writes once per submission name their filing, bundle, receipt or review
-- event with foreign keys too: six more per-row checks for each new filing, 2.5 s of trigger
-- time on 50,000 filings (subject_records, website_records and receipts naming filings,
-- submission_versions its bundle, review_events its receipt, return_queue its review event).
-- They are checked once per statement the same way. The parents (filings, bundles, receipts,
-- review events) are never deleted and never change their keys; the triggers on the parents
-- below refuse both while a row names them, as the foreign keys did (NO ACTION).
-- certificates keep their foreign keys: they are written one at a time, at approval.
ALTER TABLE subject_records DROP CONSTRAINT subject_records_filing_id_fkey;
ALTER TABLE website_records DROP CONSTRAINT website_records_filing_id_fkey;
ALTER TABLE receipts DROP CONSTRAINT receipts_filing_id_fkey;
ALTER TABLE submission_versions DROP CONSTRAINT submission_versions_bundle_id_fkey;
ALTER TABLE review_events DROP CONSTRAINT review_events_receipt_fkey;
ALTER TABLE return_queue DROP CONSTRAINT return_queue_event_id_fkey;

-- Rows written by one statement (new_rows) that name a missing filing, bundle, receipt or
-- review event. NULL names nothing and passes, as with a foreign key. The SQL is static, not
-- built from trigger arguments, so that PL/pgSQL keeps its plan: the review workflow writes
-- these rows one statement at a time, and planning each check again cost 60 us per row.
CREATE FUNCTION rows_need_filing() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    missing bigint;
BEGIN
    SELECT n.filing_id INTO missing FROM new_rows n
    WHERE n.filing_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM filings f WHERE f.filing_id = n.filing_id)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'insert on table "%" names filing %, which does not exist',
            TG_TABLE_NAME, missing
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION rows_need_bundle() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    missing bytea;
BEGIN
    SELECT n.bundle_id INTO missing FROM new_rows n
    WHERE NOT EXISTS (SELECT 1 FROM bundles b WHERE b.bundle_id = n.bundle_id)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'insert on table "%" names bundle %, which does not exist',
            TG_TABLE_NAME, encode(missing, 'hex')
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION rows_need_receipt() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    missing text;
BEGIN
    SELECT n.receipt INTO missing FROM new_rows n
    WHERE NOT EXISTS (SELECT 1 FROM receipts r WHERE r.receipt = n.receipt)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'insert on table "%" names receipt %, which does not exist',
            TG_TABLE_NAME, missing
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION rows_need_review_event() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    missing bigint;
BEGIN
    SELECT n.event_id INTO missing FROM new_rows n
    WHERE n.event_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM review_events e WHERE e.event_id = n.event_id)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'insert on table "%" names review event %, which does not exist',
            TG_TABLE_NAME, missing
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$;

-- One row whose column TG_ARGV[0], naming table TG_ARGV[1] by its column TG_ARGV[2], an update
-- changed. Keys never change in this system, so this runs (and plans its dynamic SQL) only if
-- one ever does.
CREATE FUNCTION row_needs_parent() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    present boolean;
BEGIN
    EXECUTE format('SELECT ($1).%1$I IS NULL OR EXISTS (SELECT 1 FROM %2$I p WHERE p.%3$I = ($1).%1$I)',
                   TG_ARGV[0], TG_ARGV[1], TG_ARGV[2])
        INTO present USING NEW;
    IF NOT present THEN
        RAISE EXCEPTION 'update on table "%" names a row of % that does not exist (%)',
            TG_TABLE_NAME, TG_ARGV[1], TG_ARGV[2]
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER subject_records_need_filing AFTER INSERT ON subject_records
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION rows_need_filing();
CREATE TRIGGER subject_records_key_needs_filing AFTER UPDATE OF filing_id ON subject_records
    FOR EACH ROW WHEN (OLD.filing_id IS DISTINCT FROM NEW.filing_id)
    EXECUTE FUNCTION row_needs_parent('filing_id', 'filings', 'filing_id');
CREATE TRIGGER website_records_need_filing AFTER INSERT ON website_records
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION rows_need_filing();
CREATE TRIGGER website_records_key_needs_filing AFTER UPDATE OF filing_id ON website_records
    FOR EACH ROW WHEN (OLD.filing_id IS DISTINCT FROM NEW.filing_id)
    EXECUTE FUNCTION row_needs_parent('filing_id', 'filings', 'filing_id');
-- receipts are also updated by INSERT ... ON CONFLICT DO UPDATE, whose inserted rows the
-- statement trigger sees and whose updated ones the row trigger checks.
CREATE TRIGGER receipts_need_filing AFTER INSERT ON receipts
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION rows_need_filing();
CREATE TRIGGER receipts_key_needs_filing AFTER UPDATE OF filing_id ON receipts
    FOR EACH ROW WHEN (OLD.filing_id IS DISTINCT FROM NEW.filing_id)
    EXECUTE FUNCTION row_needs_parent('filing_id', 'filings', 'filing_id');
CREATE TRIGGER submission_versions_need_bundle AFTER INSERT ON submission_versions
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION rows_need_bundle();
CREATE TRIGGER submission_versions_key_needs_bundle AFTER UPDATE OF bundle_id ON submission_versions
    FOR EACH ROW WHEN (OLD.bundle_id IS DISTINCT FROM NEW.bundle_id)
    EXECUTE FUNCTION row_needs_parent('bundle_id', 'bundles', 'bundle_id');
CREATE TRIGGER review_events_need_receipt AFTER INSERT ON review_events
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION rows_need_receipt();
CREATE TRIGGER review_events_key_needs_receipt AFTER UPDATE OF receipt ON review_events
    FOR EACH ROW WHEN (OLD.receipt IS DISTINCT FROM NEW.receipt)
    EXECUTE FUNCTION row_needs_parent('receipt', 'receipts', 'receipt');
CREATE TRIGGER return_queue_needs_event AFTER INSERT ON return_queue
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION rows_need_review_event();
CREATE TRIGGER return_queue_key_needs_event AFTER UPDATE OF event_id ON return_queue
    FOR EACH ROW WHEN (OLD.event_id IS DISTINCT FROM NEW.event_id)
    EXECUTE FUNCTION row_needs_parent('event_id', 'review_events', 'event_id');

-- Parents: a row that other rows name cannot be deleted or have its key changed. TG_ARGV[0] is
-- the parent's key column; then pairs of (child table, child column).
CREATE FUNCTION parent_keeps_children() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    named boolean;
BEGIN
    FOR i IN 1 .. TG_NARGS - 1 BY 2 LOOP
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %1$I c WHERE c.%2$I = ($1).%3$I)',
                       TG_ARGV[i], TG_ARGV[i + 1], TG_ARGV[0])
            INTO named USING OLD;
        IF named THEN
            RAISE EXCEPTION 'row of table "%" is still named by table "%" (%); it cannot be deleted or change its key',
                TG_TABLE_NAME, TG_ARGV[i], TG_ARGV[i + 1]
                USING ERRCODE = 'foreign_key_violation';
        END IF;
    END LOOP;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER filings_keep_children BEFORE DELETE ON filings
    FOR EACH ROW EXECUTE FUNCTION parent_keeps_children('filing_id',
        'subject_records', 'filing_id', 'website_records', 'filing_id', 'receipts', 'filing_id');
CREATE TRIGGER filings_key_keeps_children BEFORE UPDATE OF filing_id ON filings
    FOR EACH ROW WHEN (OLD.filing_id IS DISTINCT FROM NEW.filing_id)
    EXECUTE FUNCTION parent_keeps_children('filing_id',
        'subject_records', 'filing_id', 'website_records', 'filing_id', 'receipts', 'filing_id');
CREATE TRIGGER bundles_keep_children BEFORE DELETE ON bundles
    FOR EACH ROW EXECUTE FUNCTION parent_keeps_children('bundle_id',
        'submission_versions', 'bundle_id');
CREATE TRIGGER bundles_key_keeps_children BEFORE UPDATE OF bundle_id ON bundles
    FOR EACH ROW WHEN (OLD.bundle_id IS DISTINCT FROM NEW.bundle_id)
    EXECUTE FUNCTION parent_keeps_children('bundle_id', 'submission_versions', 'bundle_id');
CREATE TRIGGER receipts_keep_children BEFORE DELETE ON receipts
    FOR EACH ROW EXECUTE FUNCTION parent_keeps_children('receipt', 'review_events', 'receipt');
CREATE TRIGGER receipts_key_keeps_children BEFORE UPDATE OF receipt ON receipts
    FOR EACH ROW WHEN (OLD.receipt IS DISTINCT FROM NEW.receipt)
    EXECUTE FUNCTION parent_keeps_children('receipt', 'review_events', 'receipt');
CREATE TRIGGER review_events_keep_children BEFORE DELETE ON review_events
    FOR EACH ROW EXECUTE FUNCTION parent_keeps_children('event_id', 'return_queue', 'event_id');
CREATE TRIGGER review_events_key_keeps_children BEFORE UPDATE OF event_id ON review_events
    FOR EACH ROW WHEN (OLD.event_id IS DISTINCT FROM NEW.event_id)
    EXECUTE FUNCTION parent_keeps_children('event_id', 'return_queue', 'event_id');
