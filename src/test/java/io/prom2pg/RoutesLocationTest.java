package io.prom2pg;

import static io.prom2pg.support.RemoteWrite.sample;
import static io.prom2pg.support.RemoteWrite.series;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import io.prom2pg.proto.RemoteWriteV1.WriteRequest;
import io.prom2pg.support.RemoteWrite;
import io.prom2pg.support.RunningProm2pg;
import io.prom2pg.support.TestDatabase;
import org.junit.jupiter.api.Test;

/** Routes come from a folder on disk, so a user changes them without rebuilding; the jar's copy is the fallback. */
class RoutesLocationTest {

    static final WriteRequest REQUEST = WriteRequest.newBuilder()
            .addTimeseries(series("__name__", "test_routes").addSamples(sample(1_795_493_709_000L, 1)))
            .build();

    @Test
    void should_load_routes_edited_on_disk() throws Exception {
        Path dir = Files.createTempDirectory("prom2pg-routes");
        for (Path file : Files.newDirectoryStream(Path.of("routes"), "*.yaml")) {
            String yaml = Files.readString(file);
            // a user's edit: the predecessor's path moved elsewhere
            Files.writeString(dir.resolve(file.getFileName()), yaml.replace("}}/write\"", "}}/custom-write\""));
        }
        try (RunningProm2pg prom2pg = RunningProm2pg.start(TestDatabase.shared().jdbcUrl(),
                TestDatabase.newSchema("routes"), Map.of("prom2pg.routes.dir", dir.toString()))
                .awaitReady(Duration.ofSeconds(30))) {
            assertEquals(204, RemoteWrite.post(prom2pg.uri("/custom-write"), REQUEST).statusCode());
            assertEquals(404, RemoteWrite.post(prom2pg.uri("/write"), REQUEST).statusCode());
        }
    }

    @Test
    void should_fall_back_to_the_packed_routes_when_the_folder_is_missing() throws Exception {
        try (RunningProm2pg prom2pg = RunningProm2pg.start(TestDatabase.shared().jdbcUrl(),
                TestDatabase.newSchema("routes"), Map.of("prom2pg.routes.dir", "/nonexistent/prom2pg-routes"))
                .awaitReady(Duration.ofSeconds(30))) {
            assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), REQUEST).statusCode());
            assertEquals(204, RemoteWrite.post(prom2pg.uri("/write"), REQUEST).statusCode());
        }
    }
}
