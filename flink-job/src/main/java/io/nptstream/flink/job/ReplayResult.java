package io.nptstream.flink.job;

import io.nptstream.flink.core.Prequential;
import io.nptstream.flink.core.Scored;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * One replay: its scored rows in row order (each {@link Scored#id} is its row number), scored
 * prequentially, and its figures: {@code recordsPerSecond} from the first answer to the last (the
 * job's start and the model's load left out), {@code cacheHitRate} the share of key lookups that
 * found the key's keys/values in the cache (NaN without a cache), {@code seconds} the whole replay's.
 */
public record ReplayResult(
        long records,
        long deadLetters,
        List<Scored> rows,
        Prequential prequential,
        double recordsPerSecond,
        double cacheHitRate,
        double seconds,
        Path predictions) {

    public long scored() {
        return rows.size();
    }

    /** NaN for regression. */
    public double accuracy() {
        return prequential.accuracy();
    }

    /** NaN for classification. */
    public double rmse() {
        return prequential.rmse();
    }

    public long p50LatencyUs() {
        return prequential.latencyPercentile(0.50);
    }

    public long p99LatencyUs() {
        return prequential.latencyPercentile(0.99);
    }

    public String summary() {
        String quality = prequential.isClassification()
                ? String.format(Locale.ROOT, "prequential accuracy %.4f", accuracy())
                : String.format(Locale.ROOT, "rmse %.4f", rmse());
        return String.format(Locale.ROOT,
                "replay: %d records, %d scored, %d dead letters%n%s | %.0f records/s | latency p50 %d us, p99 %d us | %.1f s | cache hit rate %s%npredictions: %s",
                records, scored(), deadLetters, quality, recordsPerSecond, p50LatencyUs(), p99LatencyUs(), seconds,
                Double.isNaN(cacheHitRate) ? "-" : String.format(Locale.ROOT, "%.1f%%", 100 * cacheHitRate), predictions);
    }
}
