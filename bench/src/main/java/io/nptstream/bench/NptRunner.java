package io.nptstream.bench;

import io.nptstream.flink.job.Replay;
import io.nptstream.flink.job.ReplayOptions;
import io.nptstream.flink.job.ReplayResult;
import io.nptstream.flink.operator.NptOperatorConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * NPT on a bench stream: the Flink job's replay mode over every row (the first 20% only fill the
 * per-key contexts), scored on the rest, with the windowed accuracy read back from its predictions.
 */
public final class NptRunner {
    private NptRunner() {}

    public static Outcome run(BenchStream stream, Path model, NptOperatorConfig operator, Path predictions)
            throws Exception {
        ReplayResult r = Replay.run(options(stream, model, operator, 0, -1, stream.trainRows(), predictions));
        boolean[] correct = correctness(r.predictions());
        if (correct.length != stream.rows() - stream.trainRows() || r.deadLetters() != 0) {
            throw new IllegalStateException("NPT on " + stream.name() + " scored " + correct.length + " rows with "
                    + r.deadLetters() + " dead letters; expected " + (stream.rows() - stream.trainRows()) + " and 0");
        }
        return new Outcome(stream.name(), "NPT", r.scored(), r.accuracy(), r.recordsPerSecond(),
                r.p50LatencyUs(), r.p99LatencyUs(), Outcome.windowed(correct));
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

    /** Whether each scored row (in row order) was predicted right, from the replay's predictions CSV. */
    static boolean[] correctness(Path predictions) throws IOException {
        List<String> lines = Files.readAllLines(predictions);
        List<String> header = List.of(lines.get(0).split(","));
        int label = header.indexOf("label");
        int predicted = header.indexOf("predicted");
        boolean[] correct = new boolean[lines.size() - 1];
        for (int i = 1; i < lines.size(); i++) {
            String[] cells = lines.get(i).split(",", -1);
            correct[i - 1] = cells[label].equals(cells[predicted]);
        }
        return correct;
    }
}
