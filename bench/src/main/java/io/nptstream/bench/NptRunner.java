package io.nptstream.bench;

import io.nptstream.flink.job.Replay;
import io.nptstream.flink.job.ReplayOptions;
import io.nptstream.flink.job.ReplayResult;
import io.nptstream.flink.operator.NptOperatorConfig;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * NPT on a bench stream: the Flink job's replay mode over every row (the first 20% only fill the
 * per-key contexts), scored on the rest, with the per-row correctness read back from its predictions.
 */
public final class NptRunner {
    private NptRunner() {}

    public static Outcome run(BenchStream stream, Path model, NptOperatorConfig operator, Path predictions)
            throws Exception {
        ReplayResult r = replay(stream, stream.csv(), model, operator, predictions);
        SortedMap<Long, String[]> rows = predictionsByRow(predictions);
        boolean[] correct = new boolean[rows.size()];
        int i = 0;
        for (String[] p : rows.values()) {
            correct[i++] = p[0].equals(p[1]);
        }
        return new Outcome(stream.name(), "NPT", r.scored(), r.accuracy(), r.recordsPerSecond(),
                r.p50LatencyUs(), r.p99LatencyUs(), correct);
    }

    /**
     * The context probe: the same stream replayed with every class label c moved to (c + 1) mod C,
     * a relation that no training row had. Returns the share of scored rows whose prediction moved
     * with it, i.e. equals the original replay's prediction shifted the same way: a model that
     * reads its context's labels follows; one that predicts from its weights alone does not.
     * The scored rows start after the first 20%, so every key's window is full there.
     */
    public static double probe(BenchStream stream, Path model, NptOperatorConfig operator, Path original, Path dir)
            throws Exception {
        Files.createDirectories(dir);
        Path shiftedCsv = dir.resolve(stream.name() + ".csv");
        int classes = shiftLabels(stream.csv(), shiftedCsv);
        Path shiftedPredictions = dir.resolve(stream.name() + "-predictions.csv");
        replay(stream, shiftedCsv, model, operator, shiftedPredictions);
        SortedMap<Long, String[]> before = predictionsByRow(original);
        SortedMap<Long, String[]> after = predictionsByRow(shiftedPredictions);
        long follows = 0;
        for (var e : before.entrySet()) {
            String[] moved = after.get(e.getKey());
            follows += moved != null && moved[1].equals(shift(e.getValue()[1], classes)) ? 1 : 0;
        }
        return (double) follows / before.size();
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

    /** {row: [label, predicted]} of the scored rows, in row order, from the replay's predictions CSV. */
    static SortedMap<Long, String[]> predictionsByRow(Path predictions) throws IOException {
        List<String> lines = Files.readAllLines(predictions);
        List<String> header = List.of(lines.get(0).split(","));
        int row = header.indexOf("row");
        int label = header.indexOf("label");
        int predicted = header.indexOf("predicted");
        SortedMap<Long, String[]> byRow = new TreeMap<>();
        for (String line : lines.subList(1, lines.size())) {
            String[] cells = line.split(",", -1);
            byRow.put(Long.parseLong(cells[row]), new String[] {cells[label], cells[predicted]});
        }
        return byRow;
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
                cells[target] = shift(cells[target], classes);
                w.write(String.join(",", cells));
                w.write('\n');
            }
        }
        return classes;
    }

    private static String shift(String label, int classes) {
        return Integer.toString((Integer.parseInt(label) + 1) % classes);
    }
}
