package io.nptstream.bench;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.nptstream.flink.config.NptOperatorConfig.Inference;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReportTest {
    @TempDir
    Path dir;

    /** The chart as PNG and SVG (XChart draws text as paths, so the SVG is checked for shape, not words), and the tables. */
    @Test
    void plotsAndDriftRecovery() throws Exception {
        boolean[] npt = new boolean[8000];
        boolean[] arf = new boolean[8000];
        for (int i = 0; i < 8000; i++) {
            npt[i] = i % 4 != 0;
            arf[i] = i < 3000 || i >= 4000;                 // wrong for the 1,000 rows after the drift
        }
        BenchStream s = new BenchStream("drifty", dir.resolve("drifty.csv"), null, 10_000, "", 5_000);
        List<Outcome> outcomes = List.of(new Outcome("drifty", "NPT", 1, 1, 1, npt), new Outcome("drifty", "ARF", 1, 1, 1, arf));
        Report.write(List.of(s), outcomes, Map.of("drifty", 0.95), null, dir);

        assertTrue(ImageIO.read(dir.resolve("accuracy-drifty.png").toFile()).getWidth() > 0);
        String svg = Files.readString(dir.resolve("accuracy-drifty.svg"));
        assertTrue(svg.contains("<svg") && svg.split("<path", -1).length > 20, "an SVG with the chart's lines and glyphs");
        String md = Files.readString(dir.resolve("results.md"));
        assertTrue(md.contains("| drifty | NPT | 75.00% | 75.00% | met |"), md);
        assertTrue(md.contains("| drifty | ARF | 0.00% | 50.00% |"), md);
        assertTrue(md.contains("| drifty | 75.00% | ARF 87.50% | -12.50 | NOT met | 95.00% |"), md);
        assertTrue(!md.contains("zero-shot"), "no prior-model section without a prior model");
    }

    /** The prior model's table: against ARF and the best MOA learner, which is never one of NPT's models. */
    @Test
    void zeroShot() throws Exception {
        boolean[] prior = new boolean[100];
        boolean[] npt = new boolean[100];
        boolean[] arf = new boolean[100];
        boolean[] knn = new boolean[100];
        for (int i = 0; i < 100; i++) {
            prior[i] = i < 86;
            npt[i] = i < 95;
            arf[i] = i < 85;
            knn[i] = i < 87;
        }
        BenchStream s = new BenchStream("plain", dir.resolve("plain.csv"), null, 125, "", BenchStream.NO_DRIFT);
        List<Outcome> outcomes = List.of(new Outcome("plain", Outcome.NPT, 1, 1, 1, npt),
                new Outcome("plain", Outcome.NPT_PRIOR, 1, 1, 1, prior), new Outcome("plain", "ARF", 1, 1, 1, arf),
                new Outcome("plain", "kNN", 1, 1, 1, knn));
        Report.write(List.of(s), outcomes, Map.of("plain", 0.95, "plain" + Report.PRIOR_PROBE, 0.9), null, dir);

        String md = Files.readString(dir.resolve("results.md"));
        assertTrue(md.contains("| plain | 95.00% | kNN 87.00% | +8.00 | met | 95.00% |"), md);
        assertTrue(md.contains("| plain | 86.00% | 95.00% | 85.00% | kNN 87.00% | met | met | 90.00% |"), md);
        assertTrue(md.contains("NPT-prior >= ARF on 1 of 1 streams."), md);
    }

    /** NPT with retrains on drift: its own table against NPT and the best MOA learner, and no throughput of its own. */
    @Test
    void retrainedOnDrift() throws Exception {
        boolean[] npt = new boolean[100];
        boolean[] retrain = new boolean[100];
        boolean[] srp = new boolean[100];
        for (int i = 0; i < 100; i++) {
            npt[i] = i < 75;
            retrain[i] = i < 86;
            srp[i] = i < 84;
        }
        BenchStream s = new BenchStream("agr", dir.resolve("agr.csv"), null, 125, "", BenchStream.NO_DRIFT);
        List<Outcome> outcomes = List.of(new Outcome("agr", Outcome.NPT, 1, 1, 1, npt),
                new Outcome("agr", Outcome.NPT_RETRAIN, Double.NaN, Double.NaN, Double.NaN, retrain),
                new Outcome("agr", "SRP", 1, 1, 1, srp));
        Report.write(List.of(s), outcomes, Map.of("agr", 0.95), null, dir);

        String md = Files.readString(dir.resolve("results.md"));
        assertTrue(md.contains("| agr | NPT-retrain | 100 | 86.00% | - | - | - |"), md);
        assertTrue(md.contains("| agr | 75.00% | SRP 84.00% | -9.00 | NOT met | 95.00% |"), "the best MOA learner is never NPT's: " + md);
        assertTrue(md.contains("| agr | 75.00% | 86.00% | SRP 84.00% | +2.00 | met |"), md);
    }

    /** The prior model's speed at equal load: medians of the rounds, and the goal of at most 2x the stream model's time. */
    @Test
    void priorSpeed() throws Exception {
        SpeedSweep.Pair pair = new SpeedSweep.Pair("elec", "prior", 256, 64, new double[] {9000, 12000, 10000},
                new double[] {4000, 6000, 1000});
        List<SpeedSweep.Point> points = List.of(
                new SpeedSweep.Point(256, 1, Inference.CACHED, 100, 5000, 300, 400),
                new SpeedSweep.Point(256, 1, Inference.RECOMPUTE, 100, 50, 30000, 40000));
        SpeedSweep.Result speed = new SpeedSweep.Result("speed-model", points, List.of(new SpeedSweep.Memory(256, 1, 1)), 1e6,
                256, 100, 5, null).withPrior(pair);
        Report.write(List.of(), List.of(), Map.of(), speed, dir);

        String md = Files.readString(dir.resolve("results.md"));
        assertTrue(md.contains("4000 / 6000 / 1000 records/s against 9000 / 12000 / 10000; 2.50x"), md);
        assertTrue(md.contains("within 2x of the stream model's at W=256: 2.50x (NOT met)"), md);
        String json = Files.readString(dir.resolve("results.json"));
        assertTrue(json.contains("\"prior\": {\"model\": \"prior\", \"stream_model\": \"elec\", \"window\": 256, "
                + "\"batch_size\": 64, \"records_per_second\": [4000.00, 6000.00, 1000.00]"), json);
        assertTrue(json.contains("\"slowdown\": 2.50000}\n  }\n}"), json);
    }
}
