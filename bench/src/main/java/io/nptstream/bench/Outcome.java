package io.nptstream.bench;

/**
 * One learner on one stream, scored on the stream's last 80%: accuracy, throughput over the whole
 * run, latency percentiles (NPT only; NaN for MOA, whose learners run inline) and accuracy per
 * window of {@value #WINDOW} scored rows, for the plot.
 */
public record Outcome(String stream, String learner, long scored, double accuracy, double recordsPerSecond,
                      double p50LatencyUs, double p99LatencyUs, double[] windowedAccuracy) {
    public static final int WINDOW = 1000;

    /** Accuracy of each full or trailing window of {@code correct}. */
    static double[] windowed(boolean[] correct) {
        int n = (correct.length + WINDOW - 1) / WINDOW;
        double[] out = new double[n];
        for (int w = 0; w < n; w++) {
            int from = w * WINDOW;
            int to = Math.min(correct.length, from + WINDOW);
            int hits = 0;
            for (int i = from; i < to; i++) {
                hits += correct[i] ? 1 : 0;
            }
            out[w] = (double) hits / (to - from);
        }
        return out;
    }
}
