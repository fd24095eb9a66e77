package io.nptstream.flink.job;

import io.nptstream.flink.config.ConfigException;
import io.nptstream.flink.config.NptOperatorConfig;
import io.nptstream.flink.config.NptOptions;
import io.nptstream.flink.config.Option;
import io.nptstream.flink.config.Settings;
import io.nptstream.flink.core.CsvRecords;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What to replay and how: a CSV row range through the same validation and operator as the Kafka
 * job. Replay reads its own options below and the operator's options of {@link NptOptions}.
 */
public final class ReplayOptions {
    public static final Option<String> CSV = Option.required("csv",
            "CSV file to replay, with a header; columns are matched by name to the manifest's features and target");
    public static final Option<String> ROWS = Option.text("rows", null,
            "data rows begin:end to process, header excluded (either may be empty); none = all");
    public static final Option<Long> SCORE_FROM = Option.whole("score-from", -1, -1, Long.MAX_VALUE,
            "rows before this one are warm-up context only: processed, not scored; -1 = the first row processed");
    public static final Option<String> KEY = Option.text("key", null,
            "the column with each row's key, as `npt_export.train --key`; none = every row has the key " + CsvRecords.SINGLE_KEY);
    public static final Option<String> OUT = Option.text("out", "build/replay/predictions.csv",
            "where the scored rows' predictions go");

    public Path csv;
    /** Data rows [rowBegin, rowEnd) are processed, header excluded; rowEnd = -1: to the end. */
    public long rowBegin = 0;
    public long rowEnd = -1;
    public long scoreFrom = SCORE_FROM.defaultValue();
    /** null = every row has the key {@value CsvRecords#SINGLE_KEY}. */
    public String keyColumn = KEY.defaultValue();
    public Path out = Path.of(OUT.defaultValue());
    public int parallelism = NptOptions.PARALLELISM.defaultValue();
    public NptOperatorConfig operator = new NptOperatorConfig();

    /** {@code --csv f --rows b:e --score-from n --key c --out f --model.dir d --window w ...}. */
    public static ReplayOptions fromArgs(String[] args) throws ConfigException {
        Settings s = Settings.fromArgs(args, null);
        ReplayOptions o = new ReplayOptions();
        String csv = s.get(CSV);
        if (csv != null) {
            o.csv = Path.of(csv);
            if (!Files.isRegularFile(o.csv)) {
                s.problem("csv=" + csv + ": no such file");
            }
        }
        String rows = s.get(ROWS);
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
        o.scoreFrom = s.get(SCORE_FROM);
        o.keyColumn = s.get(KEY);
        o.out = Path.of(s.get(OUT));
        o.parallelism = s.get(NptOptions.PARALLELISM);
        o.operator = NptOperatorConfig.from(s);
        s.check();
        return o;
    }

    long firstScoredRow() {
        return Math.max(scoreFrom, rowBegin);
    }
}
