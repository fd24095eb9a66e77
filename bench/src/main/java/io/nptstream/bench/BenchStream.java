package io.nptstream.bench;

import java.nio.file.Path;

/**
 * One stream of the benchmark: a CSV with a header, the target column {@value #TARGET}, and an
 * optional key column. Rows [0, trainRows) train NPT and warm the MOA learners; the rest is scored.
 * {@code abruptDriftRow} is the row where the concept changes at once, or -1.
 */
public record BenchStream(String name, Path csv, String keyColumn, long rows, String description, long abruptDriftRow) {
    public static final long NO_DRIFT = -1;

    public static final String TARGET = "target";
    /** NPT trains on this leading share of the rows; everyone is scored on the rest. */
    public static final double TRAIN_SHARE = 0.2;

    public long trainRows() {
        return (long) Math.floor(rows * TRAIN_SHARE);
    }
}
