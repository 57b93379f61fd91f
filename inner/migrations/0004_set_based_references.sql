-- Cheaper reference checks on the rows a submissions bundle writes in bulk.
--
-- A declarative foreign key checks every inserted row on its own: one AFTER trigger event per
-- row, each running a lookup of the parent row and locking it (FOR KEY SHARE). Importing
-- 50,000 new filings writes about 850,000 rows into the child tables of website_records, and
-- those per-row checks were the largest single cost of the import: measured with auto_explain
-- on a 50,000-filing bundle, 9.2 s of trigger time in an 18 s apply_bundle, and a psql \copy of
-- the same rows took 15.6 s with the foreign keys and 5.6 s without them. Of that, 6.8 s were
-- the child tables of website_records: 4.0 s for their record_id keys and 2.8 s for the
-- filing_id keys of website_domains and website_ips.
--
-- Here those keys are checked once per statement instead, by a trigger that sees all the rows
-- the statement wrote (a transition table) and looks for one whose website record is missing:
-- one anti-join per statement, an index probe per row, and no row locks. What the foreign keys
-- enforced is still enforced:
-- - every child row names an existing website record (on insert, and on an update of the key);
-- - deleting a website record deletes its child rows (was ON DELETE CASCADE);
-- - a website record's key cannot change while child rows name it (was NO ACTION).
-- The row locks the foreign keys took only mattered against a transaction deleting a website
-- record while another adds child rows to it. Both happen only in apply_bundle, which holds the
-- import advisory lock for its whole transaction, so they never run concurrently.

-- website_domains.filing_id and website_ips.filing_id referenced filings, which only said that
-- some filing has that id: redundant with record_id, whose website record names the filing
-- (website_records.filing_id REFERENCES filings stays). What the conflict queries rely on is
-- stronger, that a domain's or address range's filing_id is its own website record's filing
-- (`o.filing_id <> w.filing_id` in the review queue and the domain check at approval), which
-- nothing checked before. The per-statement check below checks exactly that, so the two
-- foreign keys go and the pair (record_id, filing_id) is checked against website_records.
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
        RAISE EXCEPTION 'insert or update on table "%" names website record %, which does not exist',
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
        RAISE EXCEPTION 'insert or update on table "%" names website record % of filing %, which does not exist',
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
