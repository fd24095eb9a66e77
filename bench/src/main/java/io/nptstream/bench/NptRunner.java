package io.nptstream.bench;

import io.nptstream.flink.config.NptOperatorConfig;
import io.nptstream.flink.core.ModelOutput;
import io.nptstream.flink.core.Scored;
import io.nptstream.flink.job.Replay;
import io.nptstream.flink.job.ReplayOptions;
import io.nptstream.flink.job.ReplayResult;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * NPT on a bench stream: the Flink job's replay mode over every row (the first 20% only fill the
 * per-key contexts), scored on the rest.
 */
public final class NptRunner {
    private NptRunner() {}

    /** NPT's outcome on a stream, and the share of its predictions that follow shifted context labels. */
    public record Result(Outcome outcome, double follows) {}

    /** Replays {@code stream} through {@code model} (scored as {@code learner}), then its context probe into {@code probeDir}. */
    public static Result run(BenchStream stream, Path model, String learner, NptOperatorConfig operator, Path predictions,
                             Path probeDir) throws Exception {
        ReplayResult r = replay(stream, stream.csv(), model, operator, predictions);
        Outcome outcome = new Outcome(stream.name(), learner, r.recordsPerSecond(), r.p50LatencyUs(), r.p99LatencyUs(),
                r.prequential());
        return new Result(outcome, probe(stream, model, operator, r, probeDir));
    }

    /**
     * The context probe: the same stream replayed with every class label c moved to (c + 1) mod C,
     * a relation that no training row had. Returns the share of scored rows whose prediction moved
     * with it, i.e. equals the original replay's prediction shifted the same way: a model that
     * reads its context's labels follows; one that predicts from its weights alone does not.
     * The scored rows start after the first 20%, so every key's window is full there.
     */
    static double probe(BenchStream stream, Path model, NptOperatorConfig operator, ReplayResult original, Path dir)
            throws Exception {
        Files.createDirectories(dir);
        Path shiftedCsv = dir.resolve(stream.name() + ".csv");
        int classes = shiftLabels(stream.csv(), shiftedCsv);
        ReplayResult shifted = replay(stream, shiftedCsv, model, operator, dir.resolve(stream.name() + "-predictions.csv"));
        long follows = 0;
        for (int i = 0; i < original.rows().size(); i++) {
            Scored before = original.rows().get(i);
            Scored after = shifted.rows().get(i);
            if (!before.id.equals(after.id)) {
                throw new IllegalStateException("the probe's row " + after.id + " is not the replay's row " + before.id);
            }
            follows += predictedClass(after) == (predictedClass(before) + 1) % classes ? 1 : 0;
        }
        return (double) follows / original.rows().size();
    }

    private static int predictedClass(Scored s) {
        return ((ModelOutput.Classes) s.output()).predictedClass();
    }

    private static ReplayResult replay(BenchStream stream, Path csv, Path model, NptOperatorConfig operator,
                                       Path predictions) throws Exception {
        ReplayOptions o = options(stream, model, operator, 0, -1, stream.trainRows(), predictions);
        o.csv = csv;
        ReplayResult r = Replay.run(o);
        long expected = stream.rows() - stream.trainRows();
        if (r.scored() != expected || r.deadLetters() != 0) {
            throw new IllegalStateException("NPT on " + csv + " scored " + r.scored() + " rows with "
                    + r.deadLetters() + " dead letters; expected " + expected + " and 0");
        }
        return r;
    }

    static ReplayOptions options(BenchStream stream, Path model, NptOperatorConfig operator,
                                 long rowBegin, long rowEnd, long scoreFrom, Path predictions) {
        ReplayOptions o = new ReplayOptions();
        o.csv = stream.csv();
        o.keyColumn = stream.keyColumn();
        o.rowBegin = rowBegin;
        o.rowEnd = rowEnd;
        o.scoreFrom = scoreFrom;
        o.out = predictions;
        o.operator = operator;
        o.operator.modelDir = model.toString();
        return o;
    }

    /** Copies {@code csv} with each integer class label c written as (c + 1) mod C; returns C. */
    static int shiftLabels(Path csv, Path out) throws IOException {
        List<String> lines = Files.readAllLines(csv);
        int target = List.of(lines.get(0).split(",")).indexOf(BenchStream.TARGET);
        int classes = 0;
        for (String line : lines.subList(1, lines.size())) {
            classes = Math.max(classes, Integer.parseInt(line.split(",", -1)[target]) + 1);
        }
        try (BufferedWriter w = Files.newBufferedWriter(out)) {
            w.write(lines.get(0));
            w.write('\n');
            for (String line : lines.subList(1, lines.size())) {
                String[] cells = line.split(",", -1);
                cells[target] = Integer.toString((Integer.parseInt(cells[target]) + 1) % classes);
                w.write(String.join(",", cells));
                w.write('\n');
            }
        }
        return classes;
    }
}
