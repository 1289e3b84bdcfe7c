package io.prom2pg.console;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;

import static io.prom2pg.support.RemoteWrite.sample;
import static io.prom2pg.support.RemoteWrite.series;

import io.prom2pg.proto.RemoteWriteV1.WriteRequest;
import io.prom2pg.support.ConsoleData;
import io.prom2pg.support.RemoteWrite;
import io.prom2pg.support.RunningProm2pg;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.logging.LoggingPreferences;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The console's pages in a real browser, Debian's chromium driven through its chromium-driver,
 * against a running prom2pg holding known data: each page loads without a console error, its
 * charts draw the expected points, the chargeback table shows the metering tests' known answer and
 * its downloads hold the same rows. A screenshot of each page goes to target/console-screenshots
 * (the README's are copies of these). Skipped where chromium is not installed, unless PROM2PG_REQUIRE_BROWSER is set (as
 * .ci/run does).
 */
class ConsoleBrowserTest {

    static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    static final Path SCREENSHOTS = Path.of("target", "console-screenshots");

    @RegisterExtension
    static final RunningProm2pg prom2pg = RunningProm2pg.forTests("browser", Map.of(
            "prom2pg.console.history-interval-ms", "500",
            "prom2pg.console.cache-ms", "600000",
            "prom2pg.storage.size-interval-ms", "500"));

    static ChromeDriver browser;

    @BeforeAll
    static void open() throws Exception {
        boolean installed = Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER);
        if (System.getenv("PROM2PG_REQUIRE_BROWSER") != null) {
            assertTrue(installed, "PROM2PG_REQUIRE_BROWSER is set (.ci/run installs chromium and chromium-driver)");
        }
        Assumptions.assumeTrue(installed, "chromium and chromium-driver are not installed");
        ConsoleData.seed(prom2pg);
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        // root in CI has no user namespace sandbox; /dev/shm is small in containers
        options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1360,1000",
                "--hide-scrollbars", "--force-device-scale-factor=1");
        LoggingPreferences logs = new LoggingPreferences();
        logs.enable(LogType.BROWSER, Level.ALL);
        options.setCapability("goog:loggingPrefs", logs);
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile())
                .usingAnyFreePort().build();
        browser = new ChromeDriver(service, options);
        Files.createDirectories(SCREENSHOTS);
    }

    @AfterAll
    static void close() {
        if (browser != null) {
            browser.quit();
        }
    }

    @AfterEach
    void no_console_errors() {
        if (browser == null) {
            return;
        }
        List<String> severe = browser.manage().logs().get(LogType.BROWSER).getAll().stream()
                .filter(e -> e.getLevel().intValue() >= Level.WARNING.intValue())
                .map(LogEntry::toString).toList();
        assertEquals(List.of(), severe, "the browser's console");
    }

    @Test
    void should_show_ingest_routes_ha_and_storage_on_the_status_page() throws Exception {
        // ten seconds of writes of growing size (10 series, fewer than the top metric's 12), drawn by the page's next refresh
        for (int round = 1; round <= 10; round++) {
            WriteRequest.Builder w = WriteRequest.newBuilder();
            for (int i = 0; i < 10; i++) {
                var ts = series("__name__", "console_demo_load", "i", String.valueOf(i));
                for (int k = 0; k < round * 10; k++) {
                    ts.addSamples(sample(System.currentTimeMillis() - 600_000 + round * 1000 + k, k));
                }
                w.addTimeseries(ts);
            }
            assertEquals(204, RemoteWrite.post(prom2pg.writeUri(), w.build()).statusCode());
            Thread.sleep(1000);
        }
        load("");
        new WebDriverWait(browser, Duration.ofSeconds(30)).until(d -> points("ingest", 0) >= 20);
        long ingestPoints = points("ingest", 0);
        long ingestSeries = (Long) js("return window.prom2pgCharts.ingest.getOption().series.length");
        assertTrue(ingestSeries >= 3, "received, written and the rejected reasons");
        for (int s = 1; s < ingestSeries; s++) {
            assertEquals(ingestPoints, points("ingest", s), "every ingest series has a point per interval");
        }
        assertEquals(ingestPoints, points("latency", 0));
        assertTrue(points("series", 0) >= 1 && points("series", 0) <= 2, "the series were created within a minute or two");
        assertEquals("ready", text("readiness").toLowerCase());
        assertEquals(String.valueOf(ConsoleData.REQUESTS_SERIES + ConsoleData.UP_SERIES + 6 + 10), text("series-total"),
                "12 + 3 demo series, 1 temperature, 4 metering, 1 HA, 10 of the writes above");
        List<WebElement> routes = browser.findElements(By.cssSelector("#maintenance-table tbody tr"));
        assertEquals(7, routes.size(), "every maintenance route");
        assertTrue(browser.findElement(By.id("ha-table")).getText().contains("prometheus-k8s-0"), "the HA cluster's leader");
        assertTrue(browser.findElement(By.id("storage-table")).getText().contains("series"), "storage per table");
        screenshot("status");
    }

    @Test
    void should_find_the_metric_with_the_most_series_and_its_labels() throws Exception {
        load("cardinality.html");
        WebElement first = browser.findElement(By.cssSelector("#metrics-table tbody tr"));
        assertTrue(first.getText().startsWith("console_demo_requests_total"), first.getText());
        assertTrue(first.getText().contains(String.valueOf(ConsoleData.REQUESTS_SERIES)), first.getText());
        int metrics = browser.findElements(By.cssSelector("#metrics-table tbody tr")).size();
        assertTrue(metrics >= 6, "requests, up, temperature, HA, two metering (and the status test's load)");
        assertEquals(metrics, points("metrics", 0), "one bar per metric listed");
        js("document.body.removeAttribute('data-loaded')");
        first.findElement(By.cssSelector("a, button")).click();
        waitLoaded();
        assertTrue(browser.getCurrentUrl().contains("metric=console_demo_requests_total"), browser.getCurrentUrl());
        List<WebElement> labels = browser.findElements(By.cssSelector("#labels-table tbody tr"));
        assertEquals(3, labels.size(), "job, pod, code");
        assertTrue(labels.get(0).getText().startsWith("pod"), labels.get(0).getText());
        assertTrue(labels.get(0).getText().contains("6"), labels.get(0).getText());
        assertEquals(3, points("labels", 0));
        screenshot("cardinality");

        // a label value that is markup is shown as text, never run
        load("cardinality.html?metric=console_demo_up");
        assertTrue(browser.findElement(By.id("labels-table")).getText().contains(ConsoleData.MARKUP),
                browser.findElement(By.id("labels-table")).getText());
        assertEquals(null, js("return window.prom2pgInjected === undefined ? null : window.prom2pgInjected"));
    }

    @Test
    void should_chart_a_months_chargeback_with_the_known_answer_and_download_the_same_rows() throws Exception {
        load("chargeback.html?month=2026-11");
        long series = (Long) js("return window.prom2pgCharts.chargeback.getOption().series.length");
        assertEquals(2, series, "one stacked series per namespace");
        assertEquals(30, points("chargeback", 0), "a bar per day of November");
        assertEquals(30, points("chargeback", 1));
        Map<String, List<String>> table = table();
        // 0.5 cores for 2 h on two days = 2 core-hours; 2 cores and 1 GiB for 2 h = 4 core-hours, 2 GiB-hours
        assertEquals(List.of("shop", "2.00", "0.00", "0.00", "0.00"), table.get("shop"));
        assertEquals(List.of("billing", "4.00", "0.00", "2.00", "0.00"), table.get("billing"));
        assertTrue(browser.findElement(By.tagName("body")).getText().contains("UTC"), "the page says hours are UTC");

        // the downloads are the hourly rows behind the table
        String csvHref = browser.findElement(By.id("download-csv")).getAttribute("href");
        HttpResponse<String> csv = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(csvHref)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, csv.statusCode(), csv.body());
        Map<String, double[]> sums = new HashMap<>();
        csv.body().lines().skip(1).forEach(l -> {
            String[] f = l.split(",");
            double[] s = sums.computeIfAbsent(f[1], k -> new double[4]);
            for (int i = 0; i < 4; i++) {
                s[i] += Double.parseDouble(f[2 + i]);
            }
        });
        for (Map.Entry<String, List<String>> row : table.entrySet()) {
            double[] s = sums.get(row.getKey());
            assertEquals(row.getValue().get(1), String.format("%.2f", s[0] / 3600), row.getKey() + " CPU requested");
            assertEquals(row.getValue().get(3), String.format("%.2f", s[2] / 3600 / (1 << 30)), row.getKey() + " memory requested");
        }
        String jsonHref = browser.findElement(By.id("download-json")).getAttribute("href");
        assertTrue(jsonHref.endsWith("format=json") && jsonHref.contains("/api/v1/reports/metering_namespace_rollup"), jsonHref);
        screenshot("chargeback");

        load("chargeback.html?month=2026-09");
        WebElement empty = browser.findElement(By.id("empty"));
        assertTrue(empty.isDisplayed());
        assertTrue(empty.getText().contains("deploy/base/prometheusrule-metering.yaml"), empty.getText());
    }

    @Test
    void should_draw_a_selector_over_a_range_as_a_line_chart() throws Exception {
        long now = System.currentTimeMillis() / 1000;
        load("explore.html?match=" + URLEncoder.encode("console_demo_temperature{job=\"shop\"}", StandardCharsets.UTF_8)
                + "&start=" + (now - 3600) + "&end=" + now);
        assertEquals(1, (Long) js("return window.prom2pgCharts.explore.getOption().series.length"));
        assertEquals(ConsoleData.EXPLORE_POINTS, points("explore", 0));
        assertEquals("1 series, " + ConsoleData.EXPLORE_POINTS + " samples", text("summary"));
        screenshot("explore");

        js("document.body.removeAttribute('data-loaded')");
        WebElement match = browser.findElement(By.id("match"));
        match.clear();
        match.sendKeys("no_such_metric");
        browser.findElement(By.id("run")).click();
        waitLoaded();
        assertTrue(browser.findElement(By.id("no-series")).isDisplayed());
    }

    private static void load(String page) {
        browser.get("http://127.0.0.1:" + prom2pg.httpPort + "/console/" + page);
        waitLoaded();
        List<WebElement> error = browser.findElements(By.id("error"));
        assertFalse(!error.isEmpty() && error.get(0).isDisplayed(), "error banner: " + (error.isEmpty() ? "" : error.get(0).getText()));
    }

    private static void waitLoaded() {
        new WebDriverWait(browser, Duration.ofSeconds(20)).until(d -> "true".equals(js("return document.body.dataset.loaded || ''")));
    }

    private static long points(String chart, int series) {
        Object n = js("const c = window.prom2pgCharts[arguments[0]]; return c ? c.getOption().series[arguments[1]].data.length : -1",
                chart, series);
        return ((Number) n).longValue();
    }

    private static String text(String id) {
        return browser.findElement(By.id(id)).getText().trim();
    }

    /** The chargeback table's rows by namespace: every cell's text. */
    private static Map<String, List<String>> table() {
        Map<String, List<String>> rows = new HashMap<>();
        for (WebElement tr : browser.findElements(By.cssSelector("#chargeback-table tbody tr[data-namespace]"))) {
            rows.put(tr.getAttribute("data-namespace"), tr.findElements(By.tagName("td")).stream().map(td -> td.getText().trim()).toList());
        }
        return rows;
    }

    private static Object js(String script, Object... args) {
        return ((JavascriptExecutor) browser).executeScript(script, args);
    }

    private static void screenshot(String page) throws Exception {
        Files.write(SCREENSHOTS.resolve(page + ".png"), browser.getScreenshotAs(OutputType.BYTES));
    }
}
