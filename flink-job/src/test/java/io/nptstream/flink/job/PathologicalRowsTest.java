package io.nptstream.flink.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One bad row never changes another record's prediction: pathological rows (huge finite values,
 * values that overflow float32 once standardised) at random positions of the fixture's keyed
 * stream, replayed through validation and the operator at random batch sizes. Each bad row is a
 * dead letter, and every other record's prediction equals its prediction at batch size 1 in the
 * stream without the bad rows.
 */
class PathologicalRowsTest {
    private static final String[] EXTREMES = {"3.0e38", "-3.0e38", "1.0e30", "-2.5e20", "3.4e38"};

    @TempDir
    Path tmp;

    @Test
    void badRowsAreDeadLetteredAndChangeNoOtherPrediction() throws Exception {
        for (String fixture : new String[] {"causal-cls", "causal-reg"}) {
            Path model = Fixtures.model(fixture);
            List<String> lines = Files.readAllLines(model.resolve("data.csv"));
            String header = lines.get(0);
            List<String> data = lines.subList(1, Math.min(lines.size(), 301));
            Random random = new Random(fixture.hashCode());
            for (int trial = 0; trial < 3; trial++) {
                TreeSet<Integer> bad = new TreeSet<>();
                while (bad.size() < 6) {
                    bad.add(random.nextInt(data.size()));
                }
                List<String> dirty = new ArrayList<>();
                List<String> clean = new ArrayList<>();
                // Row index in the dirty stream -> row index in the clean one.
                Map<Long, Long> cleanRow = new HashMap<>();
                for (int i = 0; i < data.size(); i++) {
                    String[] cells = data.get(i).split(",", -1);
                    if (bad.contains(i)) {
                        cells[1 + random.nextInt(2)] = EXTREMES[random.nextInt(EXTREMES.length)];
                    } else {
                        cleanRow.put((long) i, (long) clean.size());
                        clean.add(data.get(i));
                    }
                    dirty.add(String.join(",", cells));
                }
                int batch = 2 + random.nextInt(63);
                ReplayResult withBad = replay(model, write("dirty", header, dirty), batch);
                ReplayResult without = replay(model, write("clean", header, clean), 1);

                String where = fixture + ", trial " + trial + ", batch " + batch + ", bad rows " + bad;
                assertEquals(data.size(), withBad.records(), where);
                assertEquals(bad.size(), withBad.deadLetters(), where + ": each bad row is one dead letter");
                assertEquals(withBad.records(), withBad.scored() + withBad.deadLetters(), where);
                Map<Long, double[]> want = predictions(without.predictions());
                Map<Long, double[]> got = predictions(withBad.predictions());
                assertEquals(clean.size(), got.size(), where);
                for (var e : got.entrySet()) {
                    double[] w = want.get(cleanRow.get(e.getKey()));
                    for (int c = 0; c < w.length; c++) {
                        assertTrue(Double.isFinite(e.getValue()[c]), where + ": row " + e.getKey() + " not finite");
                        assertEquals(w[c], e.getValue()[c], 1e-5, where + ": row " + e.getKey());
                    }
                }
            }
        }
    }

    private Path write(String name, String header, List<String> rows) throws Exception {
        Path csv = tmp.resolve(name + ".csv");
        Files.writeString(csv, header + "\n" + String.join("\n", rows) + "\n");
        return csv;
    }

    private ReplayResult replay(Path model, Path csv, int batch) throws Exception {
        return Replay.run(ReplayOptions.fromArgs(new String[] {
            "--csv", csv.toString(), "--key", "key", "--score-from", "0", "--out",
            tmp.resolve(csv.getFileName() + "-predictions.csv").toString(), "--model.dir", model.toString(),
            "--batch.size", Integer.toString(batch)}));
    }

    /** {row: probabilities, or {mean, std}} from a replay's predictions CSV. */
    private static Map<Long, double[]> predictions(Path csv) throws Exception {
        List<String> lines = Files.readAllLines(csv);
        List<String> header = List.of(lines.get(0).split(","));
        int row = header.indexOf("row");
        boolean classification = header.contains("probabilities");
        int values = classification ? header.indexOf("probabilities") : header.indexOf("predicted");
        Map<Long, double[]> out = new HashMap<>();
        for (String line : lines.subList(1, lines.size())) {
            String[] cells = line.split(",", -1);
            double[] v = classification
                    ? java.util.Arrays.stream(cells[values].split(";")).mapToDouble(Double::parseDouble).toArray()
                    : new double[] {Double.parseDouble(cells[values]), Double.parseDouble(cells[header.indexOf("std")])};
            out.put(Long.parseLong(cells[row]), v);
        }
        return out;
    }
}
