-- Native histograms, exactly as sent (remote write 1.0 TimeSeries field 4, 2.0 field 3): integer
-- histograms keep their integer counts and bucket deltas, float histograms their float counts.
-- Spans are flattened as offset, length, offset, length...
CREATE TABLE ${schema}.histograms (
    time             timestamptz        NOT NULL,
    series_id        bigint             NOT NULL,
    count_int        bigint,
    count_float      double precision,
    sum              double precision   NOT NULL,
    schema           integer            NOT NULL,
    zero_threshold   double precision   NOT NULL,
    zero_count_int   bigint,
    zero_count_float double precision,
    negative_spans   integer[]          NOT NULL,
    negative_deltas  bigint[]           NOT NULL,
    negative_counts  double precision[] NOT NULL,
    positive_spans   integer[]          NOT NULL,
    positive_deltas  bigint[]           NOT NULL,
    positive_counts  double precision[] NOT NULL,
    reset_hint       smallint           NOT NULL,
    custom_values    double precision[] NOT NULL,
    CONSTRAINT histograms_series_time_key UNIQUE (series_id, time)
);

-- Exemplars attached to a series' samples (trace ids and the like, as labels).
CREATE TABLE ${schema}.exemplars (
    time      timestamptz      NOT NULL,
    series_id bigint           NOT NULL,
    value     double precision NOT NULL,
    labels    jsonb            NOT NULL,
    CONSTRAINT exemplars_series_time_key UNIQUE (series_id, time)
);

-- When a series' counter started counting (created / start timestamps), one row per start.
CREATE TABLE ${schema}.series_starts (
    series_id  bigint      NOT NULL,
    start_time timestamptz NOT NULL,
    PRIMARY KEY (series_id, start_time)
);

CREATE VIEW ${schema}.native_histograms AS
SELECT h.time, se.metric_name AS name, se.labels, h.count_int, h.count_float, h.sum, h.schema,
       h.zero_threshold, h.zero_count_int, h.zero_count_float, h.negative_spans, h.negative_deltas,
       h.negative_counts, h.positive_spans, h.positive_deltas, h.positive_counts, h.reset_hint, h.custom_values
FROM ${schema}.histograms h
JOIN ${schema}.series se ON se.id = h.series_id;

CREATE VIEW ${schema}.exemplars_view AS
SELECT e.time, se.metric_name AS name, se.labels AS series_labels, e.value, e.labels AS exemplar_labels
FROM ${schema}.exemplars e
JOIN ${schema}.series se ON se.id = e.series_id;
