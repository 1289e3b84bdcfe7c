package io.prom2pg.console;

import java.io.IOException;
import java.io.InputStream;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

import io.prom2pg.failure.NotFoundException;
import org.apache.camel.Exchange;
import org.apache.camel.Header;
import org.apache.camel.Message;

/**
 * The console's pages, scripts and styles, served from the jar ({@code console/} on the class
 * path) with no network: the chart library, Apache ECharts, comes from its WebJar, at the version
 * the build packaged. Only plain file names are served; anything else is a 404.
 */
public class ConsoleFiles {

    private static final Pattern FILE = Pattern.compile("[a-z0-9][a-z0-9-]*\\.(html|js|css|png|svg)");
    private static final String CHART_LIBRARY = "lib/echarts.min.js";
    private static final Map<String, String> TYPES = Map.of(
            "html", "text/html; charset=utf-8",
            "js", "text/javascript; charset=utf-8",
            "css", "text/css; charset=utf-8",
            "png", "image/png",
            "svg", "image/svg+xml");
    /** Scripts and styles from the console itself only; charts draw on canvas with inline styles. */
    private static final String CSP = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:;"
            + " frame-ancestors 'none'";

    private final Map<String, byte[]> files = new ConcurrentHashMap<>();

    /** The file the path names, with its type; {@code /console} itself is sent on to {@code /console/}. */
    public void serve(@Header(Exchange.HTTP_PATH) String path, Exchange exchange) {
        Message m = exchange.getMessage();
        String name = path == null ? "" : path;
        if (name.isEmpty()) {
            m.setHeader(Exchange.HTTP_RESPONSE_CODE, 301);
            m.setHeader("Location", "console/");
            m.setBody(null);
            return;
        }
        name = name.substring(1);
        if (name.isEmpty()) {
            name = "index.html";
        }
        String resource;
        if (name.equals(CHART_LIBRARY)) {
            resource = "META-INF/resources/webjars/echarts/" + webJarVersion("echarts") + "/dist/echarts.min.js";
        } else if (FILE.matcher(name).matches()) {
            resource = "console/" + name;
        } else {
            throw new NotFoundException("no console page " + name.replaceAll("[^\\x20-\\x7e]", "?"));
        }
        byte[] body = files.computeIfAbsent(resource, ConsoleFiles::read);
        if (body.length == 0) {
            files.remove(resource);
            throw new NotFoundException("no console page " + name);
        }
        String ext = name.substring(name.lastIndexOf('.') + 1);
        m.setHeader(Exchange.HTTP_RESPONSE_CODE, 200);
        m.setHeader("Content-Type", TYPES.get(ext));
        // pages change with the jar: always revalidated, never served stale after an upgrade
        m.setHeader("Cache-Control", "no-cache");
        m.setHeader("Content-Security-Policy", CSP);
        m.setHeader("X-Content-Type-Options", "nosniff");
        m.setBody(body);
    }

    private static byte[] read(String resource) {
        try (InputStream in = ConsoleFiles.class.getClassLoader().getResourceAsStream(resource)) {
            return in == null ? new byte[0] : in.readAllBytes();
        } catch (IOException e) {
            throw new IllegalStateException("reading " + resource + " from the jar failed", e);
        }
    }

    /** The version of a WebJar on the class path, from its Maven properties. */
    private static String webJarVersion(String artifact) {
        String props = "META-INF/maven/org.webjars.npm/" + artifact + "/pom.properties";
        try (InputStream in = ConsoleFiles.class.getClassLoader().getResourceAsStream(props)) {
            if (in == null) {
                throw new NotFoundException("the chart library is not in this build (" + props + ")");
            }
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("version");
        } catch (IOException e) {
            throw new IllegalStateException("reading " + props + " failed", e);
        }
    }
}
