package io.nptstream.flink.job;

import java.nio.file.Path;
import java.util.Locale;

/** The figures of one replay; accuracy is NaN for regression, rmse NaN for classification. */
public record ReplayResult(
        long records,
        long scored,
        long deadLetters,
        double accuracy,
        double rmse,
        double recordsPerSecond,
        long p50LatencyUs,
        long p99LatencyUs,
        double seconds,
        Path predictions) {

    public String summary() {
        String quality = Double.isNaN(accuracy)
                ? String.format(Locale.ROOT, "rmse %.4f", rmse)
                : String.format(Locale.ROOT, "prequential accuracy %.4f", accuracy);
        return String.format(Locale.ROOT,
                "replay: %d records, %d scored, %d dead letters%n%s | %.0f records/s | latency p50 %d us, p99 %d us | %.1f s%npredictions: %s",
                records, scored, deadLetters, quality, recordsPerSecond, p50LatencyUs, p99LatencyUs, seconds, predictions);
    }
}
