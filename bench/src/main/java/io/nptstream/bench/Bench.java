package io.nptstream.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.nptstream.flink.config.NptOperatorConfig;
import io.nptstream.flink.model.ModelBundle;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * `make bench`: NPT (replayed through the Flink operator) and MOA's online learners on the same
 * rows of each stream, then NPT's speed figures; results under build/bench/. Exits non-zero when
 * a figure is missing or not a number, so `make bench-quick` can guard `make test`.
 */
public final class Bench {
    /** The prior model's speed is compared with the stream model's at this window (issue 14's W). */
    private static final int PRIOR_SPEED_WINDOW = 256;
    /** Each model of that comparison is replayed this many times, in turn. */
    private static final int PRIOR_SPEED_ROUNDS = 3;

    private Bench() {}

    public static void main(String[] args) throws Exception {
        BenchConfig config = BenchConfig.fromArgs(args);
        List<String> problems = run(config);
        if (!problems.isEmpty()) {
            System.err.println("bench FAILED:\n  " + String.join("\n  ", problems));
            System.exit(1);
        }
        System.out.println("bench: all figures present; results in " + config.out);
    }

    /** Runs the bench and returns what is wrong with its figures (empty when all is well). */
    public static List<String> run(BenchConfig c) throws Exception {
        Files.createDirectories(c.out);
        NptModels models = new NptModels(c.python, c.modelExport, c.out.resolve("training.log"));
        List<BenchStream> streams = new ArrayList<>();
        List<Outcome> outcomes = new ArrayList<>();
        Map<String, Double> probes = new LinkedHashMap<>();
        SpeedSweep.Result speed;
        if (c.quick) {
            BenchStream fixture = stream("fixture-causal-cls", BenchConfig.FIXTURE.resolve("data.csv"), "key",
                    "the CAUSAL test fixture's keyed stream");
            compare(fixture, BenchConfig.FIXTURE, models, c, streams, outcomes, probes, null);
            speed = sweep(fixture, BenchConfig.FIXTURE, c);
        } else if (c.only != null) {
            speed = null;
            Path dir = c.out.getParent().resolve("streams");
            BenchStream s = c.otherStream != null
                    ? SyntheticStreams.write(dir, c.only, c.otherStream, c.syntheticRows, BenchStream.NO_DRIFT)
                    : SyntheticStreams.write(dir, c.syntheticRows).stream()
                            .filter(x -> x.name().equals(c.only)).findFirst()
                            .orElseThrow(() -> new IllegalArgumentException("--only " + c.only + ": no such synthetic stream"));
            compare(s, models.ensure(s, c.out.getParent().resolve("models/" + s.name()), List.of()),
                    models, c, streams, outcomes, probes, null);
        } else {
            // Electricity and the speed figures first, then the synthetic streams; the report is
            // rewritten after each step, so a run cut short still leaves what it measured.
            BenchStream elec = stream("electricity", c.electricity, null, "Elec2, NSW electricity prices");
            Path elecModel = Files.isRegularFile(c.electricityModel.resolve(ModelBundle.MANIFEST_FILE)) ? c.electricityModel
                    : models.ensure(elec, c.out.resolve("models/electricity"), List.of());
            compare(elec, elecModel, models, c, streams, outcomes, probes, null);
            speed = c.noSpeed ? null : speedSweep(elec, elecModel, models, c);
            Report.write(streams, outcomes, probes, speed, c.out);
            for (BenchStream s : SyntheticStreams.write(c.out.resolve("streams"), c.syntheticRows)) {
                compare(s, models.ensure(s, c.out.resolve("models/" + s.name()), List.of()), models, c, streams, outcomes, probes, speed);
            }
        }

        Report.write(streams, outcomes, probes, speed, c.out);
        System.out.println(Report.markdown(streams, outcomes, probes, speed));
        return check(streams, outcomes, probes, speed, c);
    }

    /**
     * NPT, its context probe, the prior model zero-shot (when there is one with slots for the stream), NPT with retrains on
     * drift, then every MOA learner, on {@code s}; the report so far is rewritten after each stream.
     */
    private static void compare(BenchStream s, Path model, NptModels models, BenchConfig c, List<BenchStream> streams, List<Outcome> outcomes,
                                Map<String, Double> probes, SpeedSweep.Result speed) throws Exception {
        System.out.printf(Locale.ROOT, "%s: %d rows, NPT model %s%n", s.name(), s.rows(), model);
        streams.add(s);
        Path predictions = c.out.resolve("predictions/" + s.name() + ".csv");
        NptRunner.Result npt = NptRunner.run(s, model, Outcome.NPT, new NptOperatorConfig(), predictions, c.out.resolve("probe"));
        outcomes.add(print(npt.outcome()));
        double follows = npt.follows();
        System.out.printf(Locale.ROOT, "  NPT follows shifted context labels on %.2f%% of scored rows%n", 100 * follows);
        probes.put(s.name(), follows);
        CsvInstances data = CsvInstances.read(s);
        if (!c.quick && Files.isRegularFile(c.prior)) {
            String unserved = priorCannotServe(c.prior, data);
            if (unserved != null) {
                System.out.printf(Locale.ROOT, "  %s not run: %s has %s%n", Outcome.NPT_PRIOR, s.name(), unserved);
            } else {
                NptRunner.Result prior = NptRunner.run(s, priorModel(s, models, c), Outcome.NPT_PRIOR, new NptOperatorConfig(),
                        c.out.resolve("predictions/" + s.name() + "-prior.csv"), c.out.resolve("probe-prior"));
                outcomes.add(print(prior.outcome()));
                probes.put(s.name() + Report.PRIOR_PROBE, prior.follows());
            }
        }
        if (!c.quick && c.retrain && Files.isRegularFile(model.resolve(NptModels.CHECKPOINT_FILE))) {
            boolean[] correct = models.retrainedOnDrift(s, model, c.out.resolve("predictions/" + s.name() + "-retrain.csv"));
            outcomes.add(print(new Outcome(s.name(), Outcome.NPT_RETRAIN, Double.NaN, Double.NaN, Double.NaN, correct)));
        }
        for (String learner : MoaRunner.LEARNERS.keySet()) {
            outcomes.add(print(MoaRunner.run(s, data, learner)));
        }
        Report.write(streams, outcomes, probes, speed, c.out);
    }

    /**
     * Why the prior model cannot serve {@code data}'s stream: more features or classes than its
     * slots (its manifest.json, beside the checkpoint); null when it can.
     */
    static String priorCannotServe(Path prior, CsvInstances data) throws IOException {
        JsonNode slots = new ObjectMapper().readTree(prior.resolveSibling("manifest.json").toFile()).path("architecture");
        int features = data.header().numAttributes() - 1;
        int featureSlots = slots.path("feature_slots").asInt();
        int classes = data.header().numClasses();
        int classSlots = slots.path("class_slots").asInt();
        if (features > featureSlots) {
            return features + " features, more than the prior model's " + featureSlots + " feature slots";
        }
        if (classes > classSlots) {
            return classes + " classes, more than the prior model's " + classSlots + " class slots";
        }
        return null;
    }

    /** The prior model bound to {@code s}'s schema, untrained on it (zero-shot): each key standardised by its own first rows. */
    private static Path priorModel(BenchStream s, NptModels models, BenchConfig c) throws Exception {
        return models.ensure(s, c.out.resolve("models-prior/" + s.name()),
                List.of("--init", c.prior.toAbsolutePath().toString(), "--steps", "0"));
    }

    /**
     * The speed sweep on a model of the deep architecture (the model's defaults), served up to the
     * largest W of the sweep; then, when there is a prior model, its speed against the Elec2 stream
     * model's at equal load.
     */
    private static SpeedSweep.Result speedSweep(BenchStream elec, Path elecModel, NptModels models, BenchConfig c)
            throws Exception {
        int maxWindow = c.windows[c.windows.length - 1];
        Path speedModel = models.ensure(elec, c.out.resolve("models/speed-w" + maxWindow),
                List.of("--arch", "custom", "--window", Integer.toString(maxWindow), "--steps", "3", "--eval-every", "3",
                        "--batch", "1", "--seq-mult", "1"));
        SpeedSweep.Result speed = sweep(elec, speedModel, c);
        if (!Files.isRegularFile(c.prior)) {
            return speed;
        }
        return speed.withPrior(new SpeedSweep(elec, elecModel, c.out.resolve("speed")).against(priorModel(elec, models, c),
                PRIOR_SPEED_WINDOW, new NptOperatorConfig().batchSize, c.speedRows, PRIOR_SPEED_ROUNDS));
    }

    private static SpeedSweep.Result sweep(BenchStream s, Path model, BenchConfig c) throws Exception {
        return new SpeedSweep(s, model, c.out.resolve("speed"))
                .run(c.windows, c.batchSizes, c.speedRows, c.recomputeRows, c.rooflineWindow, c.matmulModel, c.peakThreads);
    }

    private static BenchStream stream(String name, Path csv, String key, String description) throws IOException {
        if (!Files.isRegularFile(csv)) {
            throw new IllegalArgumentException("stream " + name + ": no file " + csv.toAbsolutePath()
                    + (name.startsWith("fixture") ? "; run `make fixtures` first" : ""));
        }
        long rows;
        try (var lines = Files.lines(csv)) {
            rows = lines.skip(1).filter(l -> !l.isBlank()).count();
        }
        return new BenchStream(name, csv, key, rows, description, BenchStream.NO_DRIFT);
    }

    private static Outcome print(Outcome o) {
        System.out.printf(Locale.ROOT, "  %-9s accuracy %.4f  %.0f records/s%n", o.learner(), o.accuracy(), o.recordsPerSecond());
        return o;
    }

    static List<String> check(List<BenchStream> streams, List<Outcome> outcomes, Map<String, Double> probes,
                              SpeedSweep.Result speed, BenchConfig c) throws IOException {
        List<String> problems = new ArrayList<>();
        List<String> learners = new ArrayList<>(List.of(Outcome.NPT));
        learners.addAll(MoaRunner.LEARNERS.keySet());
        String md = Files.readString(c.out.resolve("results.md"));
        for (BenchStream s : streams) {
            for (String l : learners) {
                Outcome o = Outcome.find(outcomes, s.name(), l);
                if (o == null || !md.contains("| " + s.name() + " | " + l + " |")) {
                    problems.add(s.name() + " / " + l + ": no row in results.md");
                } else if (!(o.accuracy() >= 0 && o.accuracy() <= 1) || !(o.recordsPerSecond() > 0)
                        || o.scored() != s.rows() - s.trainRows()) {
                    problems.add(String.format(Locale.ROOT, "%s / %s: accuracy %s, %s records/s, %d of %d rows scored",
                            s.name(), l, o.accuracy(), o.recordsPerSecond(), o.scored(), s.rows() - s.trainRows()));
                }
            }
        }
        for (BenchStream s : streams) {
            Double follows = probes.get(s.name());
            if (follows == null || !(follows >= 0 && follows <= 1)) {
                problems.add(s.name() + ": no context probe figure (" + follows + ")");
            }
        }
        if (speed == null) {
            return problems;
        }
        for (SpeedSweep.Point p : speed.points()) {
            if (!(p.recordsPerSecond() > 0) || !(p.p50LatencyUs() > 0)) {
                problems.add("speed point " + p + " has no throughput or latency");
            }
        }
        for (int w : c.windows) {
            if (!(speed.speedup(w) > 0)) {
                problems.add("no cached vs RECOMPUTE speedup at W=" + w);
            }
        }
        if (!(speed.rooflineShare() > 0)) {
            problems.add("no roofline ratio (peak " + speed.peakGflops() + " GFLOP/s)");
        }
        if (speed.prior() != null && !(speed.prior().slowdown() > 0)) {
            problems.add("no speed of the prior model against the stream model: " + speed.prior());
        }
        for (BenchStream s : streams) {
            String png = "accuracy-" + s.name() + ".png";
            if (!Files.isRegularFile(c.out.resolve(png))) {
                problems.add("missing plot " + png);
            }
            for (Outcome o : outcomes) {
                if (o.stream().equals(s.name()) && o.windowedAccuracy().length < 2) {
                    problems.add(png + ": " + o.learner() + " has " + o.windowedAccuracy().length + " point(s), no line to draw");
                }
            }
        }
        return problems;
    }
}
