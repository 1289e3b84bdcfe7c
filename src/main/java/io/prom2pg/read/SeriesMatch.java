package io.prom2pg.read;

import java.util.ArrayList;
import java.util.List;

import io.prom2pg.failure.InvalidRequestException;
import io.prom2pg.proto.RemoteRead.LabelMatcher;

/**
 * Prometheus label matchers as a SQL condition on the series table, with every name and value
 * a bound parameter (never part of the SQL text). As in Prometheus, a missing label equals the
 * empty string, and a regular expression must match the whole value (it is anchored).
 */
public record SeriesMatch(String where, List<String> parameters) {

    public static SeriesMatch of(List<LabelMatcher> matchers) {
        if (matchers.isEmpty()) {
            throw new InvalidRequestException("a query needs at least one label matcher");
        }
        StringBuilder where = new StringBuilder();
        List<String> parameters = new ArrayList<>();
        for (LabelMatcher m : matchers) {
            if (m.getName().isEmpty()) {
                throw new InvalidRequestException("label matcher with an empty label name");
            }
            if (where.length() > 0) {
                where.append(" AND ");
            }
            String column;
            if ("__name__".equals(m.getName())) {
                column = "metric_name";
            } else {
                column = "coalesce(labels ->> ?, '')";
                parameters.add(m.getName());
            }
            switch (m.getType()) {
                case EQ -> {
                    where.append(column).append(" = ?");
                    parameters.add(m.getValue());
                }
                case NEQ -> {
                    where.append(column).append(" <> ?");
                    parameters.add(m.getValue());
                }
                case RE -> {
                    where.append(column).append(" ~ ?");
                    parameters.add(anchored(m.getValue()));
                }
                case NRE -> {
                    where.append(column).append(" !~ ?");
                    parameters.add(anchored(m.getValue()));
                }
                default -> throw new InvalidRequestException("unknown label matcher type " + m.getTypeValue());
            }
        }
        return new SeriesMatch(where.toString(), List.copyOf(parameters));
    }

    /**
     * The matched series, at most a bound given as the last parameter: {@code id, metric_name,
     * labels::text} of {@code schema.series}.
     */
    public String select(String schema) {
        return "SELECT id, metric_name, labels::text FROM " + schema + ".series WHERE " + where + " LIMIT ?";
    }

    static String anchored(String regex) {
        return "^(?:" + regex + ")$";
    }
}
