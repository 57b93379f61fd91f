-- The competitor check's index over pending versions' domains (migration 5) takes an import's
-- new entries into its pending list instead of its main tree (GIN fast update), up to 64 MB
-- instead of the server's default 4 MB: a bundle of 50,000 filings brings about 300,000
-- domains, which with the default filled the list several times over and merged it into the
-- tree inside the import's transaction each time. With room for a bundle's entries the import
-- appends them, and the list is merged in one sorted pass by the next vacuum of the table
-- (autovacuum after an import) or when it fills. A reviewer's conflict query reads the list
-- until then, as well as the tree.
ALTER INDEX submission_versions_domains SET (gin_pending_list_limit = 65536);
