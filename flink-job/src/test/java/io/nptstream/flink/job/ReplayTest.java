package io.nptstream.flink.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.AbstractAppender;
import org.apache.logging.log4j.core.config.Property;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReplayTest {
    @TempDir
    Path tmp;

    private static long dataRows(Path csv) throws Exception {
        return Files.readAllLines(csv).stream().skip(1).filter(l -> !l.isBlank()).count();
    }

    @Test
    void classificationReplayScoresEveryRowFromScoreFrom() throws Exception {
        Path model = Fixtures.model("causal-cls");
        Path out = tmp.resolve("predictions.csv");
        ReplayOptions o = ReplayOptions.fromArgs(new String[] {
            "--csv", model.resolve("data.csv").toString(), "--key", "key", "--score-from", "100",
            "--out", out.toString(), "--model.dir", model.toString(), "--batch.size", "16"});
        ReplayResult r = Replay.run(o);
        System.out.println(r.summary());

        long rows = dataRows(model.resolve("data.csv"));
        assertEquals(rows, r.records());
        assertEquals(0, r.deadLetters());
        assertEquals(rows - 100, r.scored());
        assertTrue(r.accuracy() >= 0 && r.accuracy() <= 1, "accuracy " + r.accuracy());
        assertTrue(Double.isNaN(r.rmse()));
        assertTrue(r.recordsPerSecond() > 0);
        assertTrue(r.p50LatencyUs() <= r.p99LatencyUs());
        // The cache's counters come back from the job: its few keys all fit, so no lookup misses.
        assertEquals(1.0, r.cacheHitRate(), "cache hit rate");

        List<String> lines = Files.readAllLines(out);
        assertEquals("key,id,row,label,predicted,probabilities,context_size,latency_us", lines.get(0));
        assertEquals(rows - 100, lines.size() - 1, "one line per scored row");
        String[] first = lines.get(1).split(",");
        assertEquals("100", first[2]);
        assertEquals(3, first[5].split(";").length, "a probability per class");
    }

    /** A replay ends quietly: no "Failed to get job status ... Some data might be lost" after every run. */
    @Test
    void aReplayLogsNoWarningAboutItsOwnResults() throws Exception {
        List<String> warnings = new java.util.concurrent.CopyOnWriteArrayList<>();
        LoggerContext context = (LoggerContext) LogManager.getContext(false);
        AbstractAppender capture = new AbstractAppender("replay-warnings", null, null, true, Property.EMPTY_ARRAY) {
            @Override
            public void append(LogEvent e) {
                if (e.getLevel().isMoreSpecificThan(Level.WARN) && e.getLoggerName().startsWith("org.apache.flink.streaming.api.operators.collect")) {
                    warnings.add(e.getLoggerName() + ": " + e.getMessage().getFormattedMessage());
                }
            }
        };
        capture.start();
        context.getConfiguration().getRootLogger().addAppender(capture, Level.WARN, null);
        context.updateLoggers();
        try {
            Path model = Fixtures.model("causal-cls");
            Replay.run(ReplayOptions.fromArgs(new String[] {"--csv", model.resolve("data.csv").toString(), "--key", "key",
                "--rows", "0:200", "--out", tmp.resolve("quiet.csv").toString(), "--model.dir", model.toString()}));
        } finally {
            context.getConfiguration().getRootLogger().removeAppender("replay-warnings");
            context.updateLoggers();
        }
        assertEquals(List.of(), warnings);
    }

    /** A CSV none of whose rows fit the model: one line that says so, not a failed job. */
    @Test
    void aCsvWithNoValidRowSaysSo() throws Exception {
        Path model = Fixtures.model("causal-cls");
        Path csv = tmp.resolve("words.csv");
        List<String> lines = Files.readAllLines(model.resolve("data.csv"));
        for (int i = 1; i < lines.size(); i++) {
            String[] cells = lines.get(i).split(",", -1);
            cells[1] = "heavy";         // `load` is numeric
            lines.set(i, String.join(",", cells));
        }
        Files.write(csv, lines);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Replay.run(ReplayOptions.fromArgs(
                new String[] {"--csv", csv.toString(), "--key", "key", "--out", tmp.resolve("none.csv").toString(),
                    "--model.dir", model.toString()})));
        assertTrue(e.getMessage().startsWith("no row of " + csv + " passed validation ({WRONG_TYPE="), e.getMessage());
    }

    @Test
    void rowRangeAndRegression() throws Exception {
        Path model = Fixtures.model("causal-reg");
        Path out = tmp.resolve("reg.csv");
        ReplayResult r = Replay.run(ReplayOptions.fromArgs(new String[] {
            "--csv", model.resolve("data.csv").toString(), "--key", "key", "--rows", "50:250",
            "--score-from", "80", "--out", out.toString(), "--model.dir", model.toString()}));
        System.out.println(r.summary());
        assertEquals(200, r.records());
        assertEquals(170, r.scored());
        assertTrue(r.rmse() >= 0, "rmse " + r.rmse());
        assertTrue(Double.isNaN(r.accuracy()));
        List<String> lines = Files.readAllLines(out);
        assertEquals(171, lines.size());
        assertEquals("80", lines.get(1).split(",")[2]);
        assertEquals("249", lines.get(170).split(",")[2]);
    }
}
