-- Remote read's matchers name a metric and test its series' labels. Through series_metric_name_idx
-- that reads every series of the metric from the heap, one page each: 10,000 series of a metric in
-- a table of 100k took ~4,000 pages and 10-14 ms to match 10 pods, most of remote read's time.
-- This index holds the labels beside the name, so the same match is an index-only scan of ~390
-- pages, 3.3-3.5 ms (BENCHMARKS.md, "Series matching for remote read").
--
-- A B-tree entry cannot exceed 2,704 bytes, and a label set can (64 labels of values up to 4,096
-- bytes), so the index holds only label sets (with their metric name) of up to 2,000 bytes as
-- text, with room for jsonb's per-label overhead; creating a series must never fail for its
-- size. The others, rare, have an index of their own, and read/SeriesMatch asks both.
CREATE INDEX series_match_idx ON ${schema}.series (metric_name) INCLUDE (id, labels)
    WHERE octet_length(metric_name) + octet_length(labels::text) <= 2000;
CREATE INDEX series_match_large_idx ON ${schema}.series (metric_name)
    WHERE octet_length(metric_name) + octet_length(labels::text) > 2000;
