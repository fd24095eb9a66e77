package io.nptstream.flink.demo;

import io.nptstream.proto.DeadLetter;
import io.nptstream.proto.Manifest;
import io.nptstream.proto.Prediction;
import io.nptstream.proto.Target;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/** Running prequential figures over the prediction and dead-letter topics, as the demo reads them. */
final class Figures {
    private static final int RECENT = 1000;

    private final boolean classification;
    long predictions;
    long deadLetters;
    /** When the first record was sent, and when the last result was read (committed, under exactly-once). */
    long firstSentNanos;
    long lastNanos;
    final List<DeadLetter> deadLetterSamples = new ArrayList<>();
    private long labeled;
    private long correct;
    private double squares;
    private final boolean[] recent = new boolean[RECENT];
    private long[] latencies = new long[1024];

    Figures(Manifest manifest) {
        classification = manifest.getTarget().getTask() == Target.Task.CLASSIFICATION;
    }

    void add(Prediction p) {
        if (predictions == latencies.length) {
            latencies = Arrays.copyOf(latencies, latencies.length * 2);
        }
        latencies[(int) predictions++] = p.getLatencyUs();
        if (classification && p.hasLabelClass()) {
            boolean hit = p.getLabelClass().equals(p.getPredictedClass());
            correct += hit ? 1 : 0;
            recent[(int) (labeled++ % RECENT)] = hit;
        } else if (!classification && p.hasLabelValue()) {
            squares += (p.getValue() - p.getLabelValue()) * (p.getValue() - p.getLabelValue());
            labeled++;
        }
    }

    void add(DeadLetter d) {
        deadLetters++;
        if (deadLetterSamples.size() < 20) {
            deadLetterSamples.add(d);
        }
    }

    String running() {
        if (labeled == 0) {
            return "no labeled predictions yet";
        }
        if (!classification) {
            return String.format(Locale.ROOT, "rmse %.4f", Math.sqrt(squares / labeled));
        }
        int n = (int) Math.min(labeled, RECENT);
        int hits = 0;
        for (int i = 0; i < n; i++) {
            hits += recent[i] ? 1 : 0;
        }
        return String.format(Locale.ROOT, "accuracy %.4f (last %d: %.4f)", (double) correct / labeled, n, (double) hits / n);
    }

    /**
     * Results per second from the first record sent to the last result read. Not "first result to
     * last result read": under exactly-once the results become readable in bursts, at checkpoints,
     * and a burst read in milliseconds is not the job's speed.
     */
    double throughput() {
        return (predictions + deadLetters) / ((lastNanos - firstSentNanos) / 1e9);
    }

    String quality() {
        return classification
                ? String.format(Locale.ROOT, "accuracy          %.4f prequential, over %d labeled records", labeled == 0 ? Double.NaN : (double) correct / labeled, labeled)
                : String.format(Locale.ROOT, "rmse              %.4f prequential, over %d labeled records", labeled == 0 ? Double.NaN : Math.sqrt(squares / labeled), labeled);
    }

    long latencyPercentile(double q) {
        if (predictions == 0) {
            return 0;
        }
        long[] sorted = Arrays.copyOf(latencies, (int) predictions);
        Arrays.sort(sorted);
        return sorted[(int) Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
    }
}
