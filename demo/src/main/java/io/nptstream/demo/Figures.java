package io.nptstream.demo;

import io.nptstream.flink.core.Prequential;
import io.nptstream.proto.DeadLetter;
import io.nptstream.proto.Manifest;
import io.nptstream.proto.Prediction;
import io.nptstream.proto.Target;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

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
    /** Only its latencies: from a record's send (its event time) to its prediction's read, through both topics. */
    private final Prequential endToEnd;
    /** By model version, in the order the versions first served: a swap's before and after. */
    private final Map<String, Prequential> byVersion = new LinkedHashMap<>();
    private final Map<String, Long> firstRecord = new LinkedHashMap<>();

    Figures(Manifest manifest) {
        classification = manifest.getTarget().getTask() == Target.Task.CLASSIFICATION;
        prequential = Prequential.perRow(classification);
        endToEnd = Prequential.perRow(classification);
    }

    void add(Prediction p) {
        predictions++;
        prequential.addLatency(p.getLatencyUs());
        endToEnd.addLatency((System.currentTimeMillis() - p.getEventTimeMs()) * 1000);
        Prequential version = byVersion.computeIfAbsent(p.getModelVersion(), v -> Prequential.totals(classification));
        firstRecord.merge(p.getModelVersion(), recordNumber(p), Math::min);
        if (classification && p.hasLabelClass()) {
            boolean hit = p.getLabelClass().equals(p.getPredictedClass());
            prequential.addHit(hit);
            version.addHit(hit);
        } else if (!classification && p.hasLabelValue()) {
            prequential.addError(p.getValue() - p.getLabelValue());
            version.addError(p.getValue() - p.getLabelValue());
        }
    }

    /** The CSV row a prediction answers (the demo's record ids), or MAX_VALUE for another id. */
    private static long recordNumber(Prediction p) {
        try {
            return Long.parseLong(p.getId());
        } catch (NumberFormatException e) {
            return Long.MAX_VALUE;
        }
    }

    /** The versions that served, in order. */
    List<String> versions() {
        return List.copyOf(byVersion.keySet());
    }

    /** The swap's line: the first and last versions, the first record the last one answered, each one's accuracy (or rmse). */
    String swapLine(boolean accounted) {
        List<String> v = versions();
        String from = v.get(0);
        String to = v.get(v.size() - 1);
        String what = classification ? "accuracy" : "rmse";
        return String.format(Locale.ROOT, "swap: version %s -> %s at record %d, %s before %.4f, after %.4f, records = predictions + dead letters: %s",
                from, to, firstRecord.get(to), what, score(from), score(to), accounted ? "yes" : "NO");
    }

    private double score(String version) {
        Prequential p = byVersion.get(version);
        return classification ? p.accuracy() : p.rmse();
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

    /**
     * In microseconds, at the millisecond resolution of event times, over the second half of the
     * predictions: the first seconds of a run (JIT compilation, the first checkpoints) are not its
     * steady state.
     */
    long endToEndPercentile(double q) {
        return endToEnd.latencyPercentile(q, (int) (predictions / 2));
    }
}
