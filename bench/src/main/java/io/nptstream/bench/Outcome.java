package io.nptstream.bench;

/**
 * One learner on one stream, scored on the stream's last 80%: accuracy, throughput over the whole
 * run, latency percentiles (NPT only; NaN for MOA, whose learners run inline) and whether each
 * scored row was predicted right, from which come the accuracy per window of scored rows (the
 * plot) and the accuracy after a drift.
 */
public record Outcome(String stream, String learner, long scored, double accuracy, double recordsPerSecond,
                      double p50LatencyUs, double p99LatencyUs, boolean[] correct) {
    /** The plot's window: 1,000 scored rows, or fewer on a short stream so that the plot has at least {@value #MIN_POINTS} points. */
    public static final int WINDOW = 1000;
    static final int MIN_POINTS = 8;

    public Outcome(String stream, String learner, double recordsPerSecond, double p50LatencyUs, double p99LatencyUs,
                   boolean[] correct) {
        this(stream, learner, correct.length, accuracy(correct, 0, correct.length), recordsPerSecond, p50LatencyUs,
                p99LatencyUs, correct);
    }

    /** {@code learner}'s outcome on {@code stream}, or null. */
    static Outcome find(java.util.List<Outcome> outcomes, String stream, String learner) {
        return outcomes.stream().filter(o -> o.stream().equals(stream) && o.learner().equals(learner)).findFirst().orElse(null);
    }

    /** Scored rows per point of the plot. */
    public int window() {
        return Math.max(1, Math.min(WINDOW, correct.length / MIN_POINTS));
    }

    /** Accuracy of each full or trailing window of the scored rows. */
    public double[] windowedAccuracy() {
        return windowed(correct, window());
    }

    static double[] windowed(boolean[] correct, int window) {
        int n = (correct.length + window - 1) / window;
        double[] out = new double[n];
        for (int w = 0; w < n; w++) {
            out[w] = accuracy(correct, w * window, Math.min(correct.length, (w + 1) * window));
        }
        return out;
    }

    /** Accuracy over scored rows [from, to), clipped to the scored rows; NaN when none is left. */
    public double accuracy(long from, long to) {
        return accuracy(correct, (int) Math.max(0, from), (int) Math.min(correct.length, to));
    }

    private static double accuracy(boolean[] correct, int from, int to) {
        int hits = 0;
        for (int i = from; i < to; i++) {
            hits += correct[i] ? 1 : 0;
        }
        return to > from ? (double) hits / (to - from) : Double.NaN;
    }
}
