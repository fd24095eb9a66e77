package io.nptstream.flink.job;

import io.nptstream.flink.config.ConfigException;
import io.nptstream.flink.config.JobConfig;
import io.nptstream.flink.config.Settings;
import io.nptstream.flink.operator.NptOperatorConfig;
import java.nio.file.Files;
import java.nio.file.Path;

/** What to replay and how: a CSV row range through the same validation and operator as the Kafka job. */
public final class ReplayOptions {
    /** The CSV, with a header; columns are matched by name to the manifest's features and target. */
    public Path csv;
    /** Data rows [rowBegin, rowEnd) are processed, header excluded; rowEnd = -1: to the end. */
    public long rowBegin = 0;
    public long rowEnd = -1;
    /** Rows before this one are warm-up context only: processed, not scored; -1 = rowBegin. */
    public long scoreFrom = -1;
    /** The column with each row's key; null = every row has the key {@value #SINGLE_KEY}. */
    public String keyColumn;
    /** Where the scored rows' predictions go. */
    public Path out = Path.of("build/replay/predictions.csv");
    public int parallelism = 1;
    public NptOperatorConfig operator = new NptOperatorConfig();

    public static final String SINGLE_KEY = "all";

    /** {@code --csv f --rows b:e --score-from n --key-column c --out f --model.dir d --window w ...}. */
    public static ReplayOptions fromArgs(String[] args) throws ConfigException {
        Settings s = Settings.fromArgs(args, null);
        ReplayOptions o = new ReplayOptions();
        String csv = s.required("csv", "the CSV file to replay");
        if (csv != null) {
            o.csv = Path.of(csv);
            if (!Files.isRegularFile(o.csv)) {
                s.problem("csv=" + csv + ": no such file");
            }
        }
        String rows = s.string("rows", null);
        if (rows != null) {
            String[] parts = rows.split(":", -1);
            try {
                if (parts.length != 2) {
                    throw new NumberFormatException();
                }
                o.rowBegin = parts[0].isEmpty() ? 0 : Long.parseLong(parts[0]);
                o.rowEnd = parts[1].isEmpty() ? -1 : Long.parseLong(parts[1]);
                if (o.rowBegin < 0 || (o.rowEnd >= 0 && o.rowEnd <= o.rowBegin)) {
                    throw new NumberFormatException();
                }
            } catch (NumberFormatException e) {
                s.problem("rows=" + rows + " is not a range: write begin:end with 0 <= begin < end (either may be empty)");
            }
        }
        o.scoreFrom = s.longValue("score-from", -1, -1, Long.MAX_VALUE);
        o.keyColumn = s.string("key-column", null);
        o.out = Path.of(s.string("out", o.out.toString()));
        o.parallelism = s.intValue("parallelism", 1, 1, 1024);
        o.operator = JobConfig.operatorConfig(s);
        JobConfig.loadManifest(s, o.operator);
        s.check();
        return o;
    }

    long firstScoredRow() {
        return Math.max(scoreFrom, rowBegin);
    }
}
