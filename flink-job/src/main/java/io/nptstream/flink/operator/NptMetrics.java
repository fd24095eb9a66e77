package io.nptstream.flink.operator;

import io.nptstream.flink.core.Prequential;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;
import java.util.HashSet;
import java.util.Set;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/** The NPT operator's metrics, registered in its operator metric group. */
final class NptMetrics {
    /** Samples kept by each histogram: a sliding window over the latest values. */
    private static final int HISTOGRAM_WINDOW = 2048;

    final Counter recordsIn;
    final Counter predictionsOut;
    /** Model versions this subtask moved to while running. */
    final Counter modelSwaps;
    /** Records answered with a NON_FINITE_PREDICTION dead letter instead of a prediction. */
    final Counter nonFinitePredictions;
    /** Microseconds from a record's arrival at the operator to its prediction's emission. */
    final Histogram inferenceLatencyUs;
    /** Records per flush. */
    final Histogram batchSize;
    final Histogram contextSize;
    /** Labeled records' predictions, scored before their labels joined the context. */
    final Prequential prequential;

    private final MetricGroup group;
    private final Supplier<String> modelVersion;
    private final Set<String> versionsShown = new HashSet<>();

    NptMetrics(MetricGroup group, Supplier<String> modelVersion, boolean classification, LongSupplier activeKeys, LongSupplier cacheBytes,
               LongSupplier cacheLookups, LongSupplier cacheRebuilds, LongSupplier inferenceCalls) {
        this.group = group;
        this.modelVersion = modelVersion;
        prequential = Prequential.totals(classification);
        modelSwaps = group.counter("modelSwaps");
        recordsIn = group.counter("recordsIn");
        predictionsOut = group.counter("predictionsOut");
        nonFinitePredictions = group.counter("deadLetters_NON_FINITE_PREDICTION");
        inferenceLatencyUs = group.histogram("inferenceLatencyUs", new DescriptiveStatisticsHistogram(HISTOGRAM_WINDOW));
        batchSize = group.histogram("batchSize", new DescriptiveStatisticsHistogram(HISTOGRAM_WINDOW));
        contextSize = group.histogram("contextSize", new DescriptiveStatisticsHistogram(HISTOGRAM_WINDOW));
        group.gauge("activeKeys", (Gauge<Long>) activeKeys::getAsLong);
        group.gauge("cacheBytes", (Gauge<Long>) cacheBytes::getAsLong);
        group.gauge("modelVersion", (Gauge<String>) modelVersion::get);
        // Keys with labeled rows looked up in the cache (one per key and call), and the lookups that
        // missed: entries rebuilt from raw history (evictions, restores, max-age drops).
        group.gauge("cacheLookups", (Gauge<Long>) cacheLookups::getAsLong);
        group.gauge("cacheRebuilds", (Gauge<Long>) cacheRebuilds::getAsLong);
        group.gauge("inferenceCalls", (Gauge<Long>) inferenceCalls::getAsLong);
        if (classification) {
            group.gauge("prequentialAccuracy", (Gauge<Double>) prequential::accuracy);
        } else {
            group.gauge("prequentialRmse", (Gauge<Double>) prequential::rmse);
        }
    }

    /**
     * The version now served. Reporters such as Prometheus export numbers only: each version goes in
     * a label of its own modelInfo gauge, 1 while it is served and 0 after a swap away from it.
     */
    void serving(String version) {
        if (versionsShown.add(version)) {
            group.addGroup("model_version", version).gauge("modelInfo", (Gauge<Integer>) () -> version.equals(modelVersion.get()) ? 1 : 0);
        }
    }
}
