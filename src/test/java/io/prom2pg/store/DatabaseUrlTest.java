package io.prom2pg.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.prom2pg.config.ConfigurationException;
import org.junit.jupiter.api.Test;

class DatabaseUrlTest {

    @Test
    void should_turn_a_libpq_url_into_jdbc_with_its_user_and_password() {
        DatabaseUrl u = DatabaseUrl.parse("postgresql://prom2pg:s%40cret:x@db.example:6432/metrics?sslmode=require&application_name=p");
        assertEquals("jdbc:postgresql://db.example:6432/metrics?sslmode=require&ApplicationName=p", u.jdbcUrl());
        assertEquals("prom2pg", u.user());
        assertEquals("s@cret:x", u.password());
        assertEquals("db.example:6432/metrics", u.location());
        assertFalse(u.location().contains("cret"));
    }

    @Test
    void should_fill_in_libpq_defaults() {
        DatabaseUrl u = DatabaseUrl.parse("postgres://alice@db");
        assertEquals("jdbc:postgresql://db/alice", u.jdbcUrl(), "the database defaults to the user's name");
        assertEquals("db:5432/alice", u.location());
        assertNull(u.password());
        assertEquals("jdbc:postgresql://h1:5432,h2:5433/m", DatabaseUrl.parse("postgresql://h1:5432,h2:5433/m").jdbcUrl());
        assertEquals("jdbc:postgresql://[::1]:5433/postgres", DatabaseUrl.parse("postgresql://[::1]:5433").jdbcUrl());
    }

    @Test
    void should_keep_a_jdbc_url_and_read_where_it_points() {
        DatabaseUrl u = DatabaseUrl.parse("jdbc:postgresql://db.example:5432/metrics?user=bob");
        assertEquals("jdbc:postgresql://db.example:5432/metrics?user=bob", u.jdbcUrl());
        assertEquals("db.example:5432/metrics", u.location());
        assertEquals("bob", u.user());
    }

    @Test
    void should_refuse_what_is_not_a_postgresql_url_without_echoing_the_password() {
        ConfigurationException e = assertThrows(ConfigurationException.class, () -> DatabaseUrl.parse("mysql://u:pw@db/x"));
        assertTrue(e.getMessage().startsWith("prom2pg.db.url (PROM2PG_DB_URL): 'mysql://u:***@db/x' is not a PostgreSQL URL"),
                e.getMessage());
        assertThrows(ConfigurationException.class, () -> DatabaseUrl.parse("db.example:5432/metrics"));
        assertThrows(ConfigurationException.class, () -> DatabaseUrl.parse("postgresql://bad host/x"));
        assertThrows(ConfigurationException.class, () -> DatabaseUrl.parse("postgresql://db/x?sslmode"));
        assertThrows(ConfigurationException.class, () -> DatabaseUrl.parse("postgresql://db/%zz"));
    }
}
