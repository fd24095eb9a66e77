package io.nptstream.bench;

import io.nptstream.flink.core.Prequential;

/**
 * One learner on one stream, scored on the stream's last 80%: accuracy, throughput over the whole
 * run, latency percentiles (NPT only; NaN for MOA, whose learners run inline) and whether each
 * scored row was predicted right, from which come the accuracy per window of scored rows (the
 * plot) and the accuracy after a drift.
 */
public record Outcome(String stream, String learner, double recordsPerSecond, double p50LatencyUs, double p99LatencyUs,
                      Prequential prequential) {
    /** The plot's window: 1,000 scored rows, or fewer on a short stream so that the plot has at least {@value #MIN_POINTS} points. */
    public static final int WINDOW = 1000;
    static final int MIN_POINTS = 8;

    /** A learner scored row by row: {@code correct[i]}, whether scored row i was predicted right. */
    public Outcome(String stream, String learner, double recordsPerSecond, double p50LatencyUs, double p99LatencyUs,
                   boolean[] correct) {
        this(stream, learner, recordsPerSecond, p50LatencyUs, p99LatencyUs, Prequential.ofHits(correct));
    }

    /** The learner name of NPT's stream model (trained on the stream's first 20%). */
    public static final String NPT = "NPT";
    /** The learner name of the prior model serving the stream zero-shot (nothing trained on it). */
    public static final String NPT_PRIOR = "NPT-prior";

    /** The learner name of the stream model with the model lifecycle's retrains on drift (NptModels#retrainedOnDrift). */
    public static final String NPT_RETRAIN = "NPT-retrain";

    /** Whether this is one of NPT's models rather than a MOA learner. */
    public boolean isNpt() {
        return learner.startsWith(NPT);
    }

    /** Scored (labeled) rows. */
    public long scored() {
        return prequential.labeled();
    }

    public double accuracy() {
        return prequential.accuracy();
    }

    /** {@code learner}'s outcome on {@code stream}, or null. */
    static Outcome find(java.util.List<Outcome> outcomes, String stream, String learner) {
        return outcomes.stream().filter(o -> o.stream().equals(stream) && o.learner().equals(learner)).findFirst().orElse(null);
    }

    /** Scored rows per point of the plot. */
    public int window() {
        return (int) Math.max(1, Math.min(WINDOW, scored() / MIN_POINTS));
    }

    /** Accuracy of each full or trailing window of the scored rows. */
    public double[] windowedAccuracy() {
        return prequential.windowedAccuracy(window());
    }

    /** Accuracy over scored rows [from, to), clipped to the scored rows; NaN when none is left. */
    public double accuracy(long from, long to) {
        return prequential.accuracy(from, to);
    }
}
