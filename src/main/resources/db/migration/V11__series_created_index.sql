-- The console's "new series per minute" of the last hour, without reading the whole series table:
-- series are created in id order, so created_at follows the table's physical order and a BRIN
-- index (a few pages for millions of series) narrows the scan to the last hour's pages.
CREATE INDEX series_created_at_idx ON ${schema}.series USING brin (created_at);
