package io.nptstream.demo;

import io.nptstream.flink.core.Prequential;
import io.nptstream.proto.DeadLetter;
import io.nptstream.proto.Manifest;
import io.nptstream.proto.Prediction;
import io.nptstream.proto.Target;
import java.util.ArrayList;
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
    private final Prequential prequential;

    Figures(Manifest manifest) {
        classification = manifest.getTarget().getTask() == Target.Task.CLASSIFICATION;
        prequential = Prequential.perRow(classification);
    }

    void add(Prediction p) {
        predictions++;
        prequential.addLatency(p.getLatencyUs());
        if (classification && p.hasLabelClass()) {
            prequential.addHit(p.getLabelClass().equals(p.getPredictedClass()));
        } else if (!classification && p.hasLabelValue()) {
            prequential.addError(p.getValue() - p.getLabelValue());
        }
    }

    void add(DeadLetter d) {
        deadLetters++;
        if (deadLetterSamples.size() < 20) {
            deadLetterSamples.add(d);
        }
    }

    String running() {
        long labeled = prequential.labeled();
        if (labeled == 0) {
            return "no labeled predictions yet";
        }
        if (!classification) {
            return String.format(Locale.ROOT, "rmse %.4f", prequential.rmse());
        }
        long n = Math.min(labeled, RECENT);
        return String.format(Locale.ROOT, "accuracy %.4f (last %d: %.4f)", prequential.accuracy(), n,
                prequential.accuracy(labeled - n, labeled));
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
                ? String.format(Locale.ROOT, "accuracy          %.4f prequential, over %d labeled records", prequential.accuracy(), prequential.labeled())
                : String.format(Locale.ROOT, "rmse              %.4f prequential, over %d labeled records", prequential.rmse(), prequential.labeled());
    }

    long latencyPercentile(double q) {
        return prequential.latencyPercentile(q);
    }
}
