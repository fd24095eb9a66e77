package io.nptstream.flink.core;

import java.util.Arrays;
import java.util.BitSet;

/**
 * Prequential figures: each labeled record's prediction, made before its label joined the
 * context, scored as it comes. Accuracy for classification, RMSE for regression; with rows kept,
 * also accuracy over any range of labeled rows and latency percentiles. The operator's metrics,
 * Replay, the demo and the bench all score with this one class.
 */
public final class Prequential {
    private final boolean classification;
    private final boolean keepRows;
    // Written by one thread, read by the metrics reporter's.
    private volatile long labeled;
    private volatile long correct;
    private volatile double squaredError;
    /** Per labeled row, whether it was predicted right (classification, rows kept). */
    private final BitSet hits = new BitSet();
    private long[] latenciesUs = new long[0];
    private int latencies;

    private Prequential(boolean classification, boolean keepRows) {
        this.classification = classification;
        this.keepRows = keepRows;
    }

    /** Totals only, in constant memory: for a job that runs forever. */
    public static Prequential totals(boolean classification) {
        return new Prequential(classification, false);
    }

    /** Totals, plus every labeled row's outcome and every latency: for runs that end. */
    public static Prequential perRow(boolean classification) {
        return new Prequential(classification, true);
    }

    /** A classification run's outcomes, in order. */
    public static Prequential ofHits(boolean[] hits) {
        Prequential p = perRow(true);
        for (boolean hit : hits) {
            p.addHit(hit);
        }
        return p;
    }

    /** Scores a prediction against its record's label (class index, or value); unlabeled (NaN) is not scored. */
    public void add(ModelOutput output, float label) {
        if (Float.isNaN(label)) {
            return;
        }
        if (output instanceof ModelOutput.Classes c) {
            addHit(c.predictedClass() == (int) label);
        } else {
            addError(((ModelOutput.Regression) output).value() - (double) label);
        }
    }

    /** A classification outcome: predicted right or not. */
    public void addHit(boolean hit) {
        if (keepRows && hit) {
            hits.set(Math.toIntExact(labeled));
        }
        correct += hit ? 1 : 0;
        labeled++;
    }

    /** A regression outcome: prediction minus label. */
    public void addError(double error) {
        squaredError += error * error;
        labeled++;
    }

    public void addLatency(long micros) {
        if (!keepRows) {
            return;
        }
        if (latencies == latenciesUs.length) {
            latenciesUs = Arrays.copyOf(latenciesUs, Math.max(1024, 2 * latencies));
        }
        latenciesUs[latencies++] = micros;
    }

    public boolean isClassification() {
        return classification;
    }

    /** Labeled rows scored. */
    public long labeled() {
        return labeled;
    }

    /** Accuracy over every labeled row; NaN for regression or before the first. */
    public double accuracy() {
        return classification && labeled > 0 ? (double) correct / labeled : Double.NaN;
    }

    /** RMSE over every labeled row; NaN for classification or before the first. */
    public double rmse() {
        return !classification && labeled > 0 ? Math.sqrt(squaredError / labeled) : Double.NaN;
    }

    /** Accuracy over labeled rows [from, to), clipped to the rows scored; NaN when none is left. */
    public double accuracy(long from, long to) {
        requireRows();
        int a = (int) Math.max(0, from);
        int b = (int) Math.min(labeled, to);
        return b > a ? (double) hits.get(a, b).cardinality() / (b - a) : Double.NaN;
    }

    /** Accuracy of each full window of {@code window} labeled rows, and of the trailing partial one. */
    public double[] windowedAccuracy(int window) {
        int n = (int) ((labeled + window - 1) / window);
        double[] out = new double[n];
        for (int w = 0; w < n; w++) {
            out[w] = accuracy((long) w * window, (long) (w + 1) * window);
        }
        return out;
    }

    /** Whether labeled row {@code i} was predicted right. */
    public boolean hit(long i) {
        requireRows();
        return hits.get(Math.toIntExact(i));
    }

    /** The latency at quantile {@code q} (nearest rank), in microseconds; 0 before the first. */
    public long latencyPercentile(double q) {
        return latencyPercentile(q, 0);
    }

    /** The percentile over the latencies recorded from the {@code from}-th on (0-based), e.g. after a warm-up. */
    public long latencyPercentile(double q, int from) {
        requireRows();
        if (latencies <= from) {
            return 0;
        }
        long[] sorted = Arrays.copyOfRange(latenciesUs, from, latencies);
        Arrays.sort(sorted);
        return sorted[(int) Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
    }

    private void requireRows() {
        if (!keepRows) {
            throw new IllegalStateException("this Prequential keeps totals only; make it with perRow()");
        }
    }
}
