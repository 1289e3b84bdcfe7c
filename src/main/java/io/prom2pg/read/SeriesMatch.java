package io.prom2pg.read;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

import io.prom2pg.failure.InvalidRequestException;
import io.prom2pg.proto.RemoteRead.LabelMatcher;

/**
 * Prometheus label matchers as a SQL condition on the series table, with every name and value
 * a bound parameter (never part of the SQL text). As in Prometheus, a missing label equals the
 * empty string, and a regular expression must match the whole value (it is anchored).
 */
public record SeriesMatch(String where, List<String> parameters, boolean byMetricName) {

    /**
     * Which label sets {@code series_match_idx} holds, and {@code series_match_large_idx} the others:
     * the predicates of the two indexes (V15) word for word, so that PostgreSQL can tell they answer.
     */
    static final String INDEXED = "octet_length(metric_name) + octet_length(labels::text) <= 2000";
    static final String NOT_INDEXED = "octet_length(metric_name) + octet_length(labels::text) > 2000";

    /** A statement and its parameters in order; the bound on the series is a last parameter of its own. */
    public record Select(String sql, List<String> parameters) {

        /** The statement prepared on {@code c}, its parameters bound, and at most {@code limit} series. */
        public PreparedStatement prepare(Connection c, int limit) throws SQLException {
            PreparedStatement ps = c.prepareStatement(sql);
            try {
                int i = 1;
                for (String p : parameters) {
                    ps.setString(i++, p);
                }
                ps.setInt(i, limit);
                return ps;
            } catch (SQLException | RuntimeException e) {
                ps.close();
                throw e;
            }
        }
    }

    public static SeriesMatch of(List<LabelMatcher> matchers) {
        if (matchers.isEmpty()) {
            throw new InvalidRequestException("a query needs at least one label matcher");
        }
        StringBuilder where = new StringBuilder();
        List<String> parameters = new ArrayList<>();
        boolean byMetricName = false;
        for (LabelMatcher m : matchers) {
            if (m.getName().isEmpty()) {
                throw new InvalidRequestException("label matcher with an empty label name");
            }
            if (where.length() > 0) {
                where.append(" AND ");
            }
            String column;
            List<String> columnParameters;
            boolean name = "__name__".equals(m.getName());
            if (name) {
                column = "metric_name";
                columnParameters = List.of();
            } else {
                column = "coalesce(labels ->> ?, '')";
                columnParameters = List.of(m.getName());
            }
            switch (m.getType()) {
                case EQ, NEQ -> {
                    where.append(column).append(m.getType() == LabelMatcher.Type.EQ ? " = ?" : " <> ?");
                    parameters.addAll(columnParameters);
                    parameters.add(m.getValue());
                    byMetricName |= name && m.getType() == LabelMatcher.Type.EQ;
                }
                case RE, NRE -> {
                    boolean set = regex(m.getType() == LabelMatcher.Type.RE, column, columnParameters, m.getValue(), where, parameters);
                    byMetricName |= name && set && m.getType() == LabelMatcher.Type.RE;
                }
                default -> throw new InvalidRequestException("unknown label matcher type " + m.getTypeValue());
            }
        }
        return new SeriesMatch(where.toString(), List.copyOf(parameters), byMetricName);
    }

    /**
     * A regular expression matcher: a literal set as {@code IN}, so that no regex runs; else,
     * with a literal prefix, {@code LIKE} first, which rejects most series before the regex does
     * (RegexLiterals says why). Returns true when the regex was a literal set.
     */
    private static boolean regex(boolean matches, String column, List<String> columnParameters, String regex,
                              StringBuilder where, List<String> parameters) {
        RegexLiterals.Literals literals = RegexLiterals.of(regex);
        List<String> set = literals.exactSet();
        if (set != null) {
            where.append(column).append(matches ? " IN (" : " NOT IN (").append("?, ".repeat(set.size() - 1)).append("?)");
            parameters.addAll(columnParameters);
            parameters.addAll(set);
            return true;
        }
        String prefix = literals.requiredPrefix();
        if (prefix.isEmpty()) {
            where.append(column).append(matches ? " ~ ?" : " !~ ?");
        } else {
            where.append(matches ? "(" : "NOT (").append(column).append(" LIKE ? AND ").append(column).append(" ~ ?)");
            parameters.addAll(columnParameters);
            parameters.add(likePrefix(prefix));
        }
        parameters.addAll(columnParameters);
        parameters.add(anchored(regex));
        return false;
    }

    /** A LIKE pattern of the values starting with {@code prefix} (backslash, LIKE's escape, before % _ and itself). */
    static String likePrefix(String prefix) {
        return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%";
    }

    /**
     * The matched series, at most a bound given as the last parameter: {@code id, metric_name,
     * labels::text} of {@code schema.series}. Matchers that name the metric (equal, or a set of
     * literals) ask series_match_idx, whose entries hold the labels, and the index of the few label
     * sets too large for it: an index-only scan instead of a heap page for each series of the metric
     * (V15 has the figures). Without a metric name, the two halves would each scan every series.
     */
    public Select select(String schema) {
        String columns = "SELECT id, metric_name, labels::text FROM " + schema + ".series WHERE ";
        if (!byMetricName) {
            return new Select(columns + where + " LIMIT ?", parameters);
        }
        List<String> twice = new ArrayList<>(parameters);
        twice.addAll(parameters);
        return new Select(columns + INDEXED + " AND (" + where + ")"
                + " UNION ALL " + columns + NOT_INDEXED + " AND (" + where + ") LIMIT ?", List.copyOf(twice));
    }

    static String anchored(String regex) {
        return "^(?:" + regex + ")$";
    }
}
