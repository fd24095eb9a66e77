package io.nptstream.flink.state;

import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * The mean and population standard deviation of each numeric feature over a key's first
 * {@code rows} labeled rows (Context.standardise_rows, proto/README.md), which standardise that
 * key's features for a model that has no constants of its own. Missing values are skipped; a
 * feature seen fewer than twice, or constant, has std 1. Welford's update in double precision, in
 * the order the rows came: the Python reference (prequential.KeyStatistics) gives the same bits.
 *
 * <p>The statistics in use are refreshed only after the key's labeled rows number 1, 2, 4, 8, ...
 * and {@code rows} ({@link #refreshesAt}): each refresh re-encodes the key's context, so a key
 * pays about log2(rows) of them rather than one per row.
 */
final class KeyStatistics {
    /** A smaller std is a constant feature (data.MIN_STD in model-export). */
    private static final double MIN_STD = 1e-8;

    private final int rows;
    private int seen;
    private final long[] count;
    private final double[] mean;
    private final double[] m2;
    /** In use since the last refresh: the graph is fed (x - mean) / std in float32. */
    private final float[] meanInUse;
    private final float[] stdInUse;

    KeyStatistics(int rows, int features) {
        this(rows, 0, new long[features], new double[features], new double[features], new float[features], ones(features));
    }

    KeyStatistics(int rows, int seen, long[] count, double[] mean, double[] m2, float[] meanInUse, float[] stdInUse) {
        this.rows = rows;
        this.seen = seen;
        this.count = count;
        this.mean = mean;
        this.m2 = m2;
        this.meanInUse = meanInUse;
        this.stdInUse = stdInUse;
    }

    /** Whether the statistics in use are refreshed once a key has {@code labeled} labeled rows. */
    static boolean refreshesAt(long labeled, int rows) {
        return labeled >= 1 && labeled <= rows && (labeled == rows || (labeled & (labeled - 1)) == 0);
    }

    /** The rows whose statistics these are, at most. */
    int rows() {
        return rows;
    }

    /** Labeled rows added so far (at most {@link #rows()}). */
    int seen() {
        return seen;
    }

    long count(int feature) {
        return count[feature];
    }

    double mean(int feature) {
        return mean[feature];
    }

    double m2(int feature) {
        return m2[feature];
    }

    float meanInUse(int feature) {
        return meanInUse[feature];
    }

    float stdInUse(int feature) {
        return stdInUse[feature];
    }

    int features() {
        return count.length;
    }

    /** A labeled row's raw numeric features; ignored once {@link #rows()} rows are in. */
    void add(float[] num) {
        add(num, 0);
    }

    /** The row at {@code from} of a row-major array of rows; ignored once {@link #rows()} rows are in. */
    void add(float[] num, int from) {
        if (seen >= rows) {
            return;
        }
        seen++;
        for (int j = 0; j < count.length; j++) {
            double x = num[from + j];
            if (Double.isNaN(x)) {
                continue;
            }
            count[j]++;
            double delta = x - mean[j];
            mean[j] += delta / count[j];
            m2[j] += delta * (x - mean[j]);
        }
        if (refreshesAt(seen, rows)) {
            refresh();
        }
    }

    /**
     * Takes the rows added so far as all of them, in use from now on: for a key whose state was
     * written by a model that kept none (a swap or a restore onto a model standardised per key),
     * its rows in state stand for its first.
     */
    void settle() {
        seen = rows;
        refresh();
    }

    private void refresh() {
        for (int j = 0; j < count.length; j++) {
            double std = count[j] > 1 ? Math.sqrt(m2[j] / count[j]) : 1.0;
            meanInUse[j] = (float) mean[j];
            stdInUse[j] = (float) (std > MIN_STD ? std : 1.0);
        }
    }

    /** Writes {@code raw}'s standardised values into {@code dst} at {@code offset}; NaN stays NaN. */
    void standardise(float[] raw, int from, FloatBuffer dst, int offset) {
        for (int j = 0; j < meanInUse.length; j++) {
            dst.put(offset + j, (raw[from + j] - meanInUse[j]) / stdInUse[j]);
        }
    }

    KeyStatistics copy() {
        return new KeyStatistics(rows, seen, count.clone(), mean.clone(), m2.clone(), meanInUse.clone(), stdInUse.clone());
    }

    private static float[] ones(int n) {
        float[] a = new float[n];
        Arrays.fill(a, 1f);
        return a;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof KeyStatistics other && rows == other.rows && seen == other.seen && Arrays.equals(count, other.count)
                && Arrays.equals(mean, other.mean) && Arrays.equals(m2, other.m2) && Arrays.equals(meanInUse, other.meanInUse)
                && Arrays.equals(stdInUse, other.stdInUse);
    }

    @Override
    public int hashCode() {
        return 31 * rows + seen;
    }
}
