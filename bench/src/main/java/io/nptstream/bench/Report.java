package io.nptstream.bench;

import io.nptstream.flink.config.NptOperatorConfig.Inference;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;
import org.knowm.xchart.AnnotationLine;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.VectorGraphicsEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.Styler;

/** Writes the bench's figures: results.md (printed too), results.json and one accuracy plot per stream. */
public final class Report {
    private Report() {}

    /** Rows after an abrupt drift over which every learner's recovery is scored. */
    static final int[] RECOVERY_ROWS = {1000, 2000};
    /** NPT's goal after a drift: within this many points of the best learner. */
    static final double RECOVERY_MARGIN = 0.02;
    /** The prior model's goal, zero-shot: within this many points of the best MOA learner. */
    static final double ZERO_SHOT_MARGIN = 0.02;
    /** The prior model's goal on speed: at most this many times the stream model's time per record. */
    static final double PRIOR_SLOWDOWN_GOAL = 2;
    /** NPT's goal on the context probe: its predictions follow the shifted labels this often. */
    static final double PROBE_GOAL = 0.9;
    /** NPT's goal on Elec2, where the first model scored 91.88%: learning from the context must not cost it. */
    static final double ELECTRICITY_GOAL = 0.915;

    public static String markdown(List<BenchStream> streams, List<Outcome> outcomes, Map<String, Double> probes,
                                  SpeedSweep.Result speed) {
        StringBuilder md = new StringBuilder("# NPT Stream vs MOA: prequential accuracy on the last 80% of each stream\n\n");
        md.append("MOA learners train on every row (the first 20% unscored); NPT is trained on the first 20% and "
                + "replayed through the Flink operator. Latency: per record, NPT only.\n\n");
        md.append("| stream | learner | scored | accuracy | records/s | p50 latency (us) | p99 latency (us) |\n");
        md.append("|---|---|---:|---:|---:|---:|---:|\n");
        for (Outcome o : outcomes) {
            md.append(String.format(Locale.ROOT, "| %s | %s | %d | %.2f%% | %s | %s | %s |\n", o.stream(), o.learner(),
                    o.scored(), 100 * o.accuracy(), us(o.recordsPerSecond()), us(o.p50LatencyUs()), us(o.p99LatencyUs())));
        }
        adaptation(streams, outcomes, probes, md);
        if (speed == null) {
            return md.toString();
        }
        md.append("\n## NPT speed (").append(speed.model()).append(")\n\n");
        md.append("Throughput over the whole replay; latency over rows with a full context.\n\n");
        md.append("| W | batch | inference | records/s | p50 latency (us) | p99 latency (us) |\n|---:|---:|---|---:|---:|---:|\n");
        for (SpeedSweep.Point p : speed.points()) {
            md.append(String.format(Locale.ROOT, "| %d | %d | %s | %.0f | %.0f | %.0f |\n", p.window(), p.batchSize(),
                    p.inference(), p.recordsPerSecond(), p.p50LatencyUs(), p.p99LatencyUs()));
        }
        md.append("\n| W | RECOMPUTE p50 / CACHED p50 (batch 1) | cached p50 (us) | full p50 (us) | state bytes/key | cache bytes/key |\n");
        md.append("|---:|---:|---:|---:|---:|---:|\n");
        for (SpeedSweep.Memory m : speed.memory()) {
            SpeedSweep.Point c = speed.find(m.window(), 1, Inference.CACHED);
            SpeedSweep.Point f = speed.find(m.window(), 1, Inference.RECOMPUTE);
            md.append(String.format(Locale.ROOT, "| %d | %.1fx | %s | %s | %d | %d |\n", m.window(), speed.speedup(m.window()),
                    c == null ? "-" : us(c.p50LatencyUs()), f == null ? "-" : us(f.p50LatencyUs()), m.stateBytes(), m.cacheBytes()));
        }
        md.append(String.format(Locale.ROOT, "\nRoofline at W=%d: %.2f MFLOP per cached prediction; best throughput there "
                        + "is %.1f GFLOP/s against a measured float32 MatMul peak of %.1f GFLOP/s: %.1f%% of roofline.\n",
                speed.rooflineWindow(), speed.flopsPerRecord() / 1e6, speed.achievedGflops(), speed.peakGflops(),
                100 * speed.rooflineShare()));
        SpeedSweep.Pair prior = speed.prior();
        if (prior != null) {
            md.append(String.format(Locale.ROOT, "%nThe prior model (%s) against the stream model (%s) at W=%d, batch %d, cached, "
                            + "replayed in turn: %s records/s against %s; %.2fx the stream model's time per record (medians).%n",
                    prior.other(), prior.base(), prior.window(), prior.batchSize(), rates(prior.otherRecordsPerSecond()),
                    rates(prior.baseRecordsPerSecond()), prior.slowdown()));
        }
        if (speed.find(256, 1, Inference.CACHED) == null) {
            return md.toString();   // the goals are stated at W = 256
        }
        md.append("\n## Goals\n\n");
        double speedup = speed.speedup(256);
        md.append(String.format(Locale.ROOT, "- cached >= 20x faster than RECOMPUTE at W=256: %.1fx (%s)%n", speedup, verdict(speedup >= 20)));
        outcomes.stream().filter(o -> o.stream().equals("electricity") && o.learner().equals(Outcome.NPT)).findFirst().ifPresent(o ->
                md.append(String.format(Locale.ROOT, "- >= 10,000 prequential records/s at W=256, default model (electricity replay): %.0f (%s)%n",
                        o.recordsPerSecond(), verdict(o.recordsPerSecond() >= 10_000))));
        md.append(String.format(Locale.ROOT, "- >= 25%% of roofline: %.1f%% (%s)%n", 100 * speed.rooflineShare(), verdict(speed.rooflineShare() >= 0.25)));
        if (prior != null) {
            md.append(String.format(Locale.ROOT, "- prior model's cached speed within %.0fx of the stream model's at W=%d: %.2fx (%s)%n",
                    PRIOR_SLOWDOWN_GOAL, prior.window(), prior.slowdown(), verdict(prior.slowdown() <= PRIOR_SLOWDOWN_GOAL)));
        }
        md.append(String.format(Locale.ROOT, "%nLoad average when written (other work on this machine slows every figure): %s%n", loadAverage()));
        return md.toString();
    }

    /**
     * Whether NPT learns from its context: NPT against the best MOA learner on each stream, every
     * learner's accuracy right after each abrupt drift, and the context probe ({@link NptRunner#probe}).
     */
    private static void adaptation(List<BenchStream> streams, List<Outcome> outcomes, Map<String, Double> probes,
                                   StringBuilder md) {
        md.append("\n## NPT against the best MOA learner, and the context probe\n\n");
        md.append("Probe: the stream replayed with every class c relabelled (c + 1) mod C; the share of scored rows whose "
                + "NPT prediction moves the same way (goal >= ").append(pct(PROBE_GOAL)).append(").\n\n");
        md.append("| stream | NPT | best MOA learner | NPT - best (points) | NPT >= best | probe: follows |\n");
        md.append("|---|---:|---|---:|---|---:|\n");
        for (BenchStream s : streams) {
            Outcome npt = Outcome.find(outcomes, s.name(), Outcome.NPT);
            Outcome best = bestMoa(outcomes, s);
            if (npt == null || best == null) {
                continue;
            }
            Double follows = probes.get(s.name());
            md.append(String.format(Locale.ROOT, "| %s | %s | %s %s | %+.2f | %s | %s |%n", s.name(), pct(npt.accuracy()),
                    best.learner(), pct(best.accuracy()), 100 * (npt.accuracy() - best.accuracy()),
                    verdict(npt.accuracy() >= best.accuracy()), follows == null ? "-" : pct(follows)));
        }
        Outcome elec = Outcome.find(outcomes, "electricity", Outcome.NPT);
        if (elec != null) {
            md.append(String.format(Locale.ROOT, "%nElectricity NPT >= %s: %s (%s)%n", pct(ELECTRICITY_GOAL),
                    pct(elec.accuracy()), verdict(elec.accuracy() >= ELECTRICITY_GOAL)));
        }
        retrained(streams, outcomes, md);
        zeroShot(streams, outcomes, probes, md);
        List<BenchStream> drifting = streams.stream().filter(s -> s.abruptDriftRow() != BenchStream.NO_DRIFT).toList();
        if (drifting.isEmpty()) {
            return;
        }
        md.append("\n## Drift recovery: accuracy over the rows right after each abrupt drift\n\n| stream | learner |");
        for (int rows : RECOVERY_ROWS) {
            md.append(" first ").append(rows).append(" rows |");
        }
        md.append(" NPT within ").append(Math.round(100 * RECOVERY_MARGIN)).append(" points of the best |\n|---|---|");
        md.append("---:|".repeat(RECOVERY_ROWS.length)).append("---|\n");
        for (BenchStream s : drifting) {
            long from = s.abruptDriftRow() - s.trainRows();
            List<Outcome> here = outcomes.stream().filter(o -> o.stream().equals(s.name())).toList();
            double[] best = Arrays.stream(RECOVERY_ROWS)
                    .mapToDouble(rows -> here.stream().mapToDouble(x -> x.accuracy(from, from + rows)).max().orElse(Double.NaN))
                    .toArray();
            for (Outcome o : here) {
                md.append("| ").append(s.name()).append(" | ").append(o.learner()).append(" |");
                boolean within = true;
                for (int r = 0; r < RECOVERY_ROWS.length; r++) {
                    double acc = o.accuracy(from, from + RECOVERY_ROWS[r]);
                    within &= acc >= best[r] - RECOVERY_MARGIN;
                    md.append(' ').append(pct(acc)).append(" |");
                }
                md.append(o.isNpt() ? " " + verdict(within) + " |" : " |").append('\n');
            }
        }
    }

    /** NPT with the model lifecycle's retrains on drift, against NPT alone and the best MOA learner (when the bench ran them). */
    private static void retrained(List<BenchStream> streams, List<Outcome> outcomes, StringBuilder md) {
        if (outcomes.stream().noneMatch(o -> o.learner().equals(Outcome.NPT_RETRAIN))) {
            return;
        }
        md.append("\n## NPT with retrains on drift\n\nA drift detector (HDDM_A) on NPT's errors; after a drift the stream model "
                + "is fine-tuned on the rows since it, once N, 2N and 4N have come (N = 512 rows; after one has "
                + "served, at each doubling on), each fine-tune serving from the next row if it beats the served model on "
                + "its held-out rows (beyond chance until one of the drift's has served; a refused one is tested again on "
                + "twice its rows) "
                + "(`npt_export.evidence.drift_retrain`; the time a fine-tune takes is not replayed).\n\n");
        md.append("| stream | NPT | NPT-retrain | best MOA learner | NPT-retrain - best (points) | NPT-retrain >= best |\n");
        md.append("|---|---:|---:|---|---:|---|\n");
        for (BenchStream s : streams) {
            Outcome npt = Outcome.find(outcomes, s.name(), Outcome.NPT);
            Outcome retrain = Outcome.find(outcomes, s.name(), Outcome.NPT_RETRAIN);
            Outcome best = bestMoa(outcomes, s);
            if (npt == null || retrain == null || best == null) {
                continue;
            }
            md.append(String.format(Locale.ROOT, "| %s | %s | %s | %s %s | %+.2f | %s |%n", s.name(), pct(npt.accuracy()),
                    pct(retrain.accuracy()), best.learner(), pct(best.accuracy()), 100 * (retrain.accuracy() - best.accuracy()),
                    verdict(retrain.accuracy() >= best.accuracy())));
        }
    }

    /** The best MOA learner on {@code s}, or null. */
    private static Outcome bestMoa(List<Outcome> outcomes, BenchStream s) {
        return outcomes.stream().filter(o -> o.stream().equals(s.name()) && !o.isNpt())
                .max(java.util.Comparator.comparingDouble(Outcome::accuracy)).orElse(null);
    }

    /** The prior model served zero-shot, against ARF and the best MOA learner (when the bench had a prior model). */
    private static void zeroShot(List<BenchStream> streams, List<Outcome> outcomes, Map<String, Double> probes,
                                 StringBuilder md) {
        if (outcomes.stream().noneMatch(o -> o.learner().equals(Outcome.NPT_PRIOR))) {
            return;
        }
        md.append("\n## The prior model, zero-shot: nothing trained on the stream\n\n");
        md.append("| stream | NPT-prior | NPT (stream model) | ARF | best MOA learner | >= ARF | within ")
                .append(Math.round(100 * ZERO_SHOT_MARGIN)).append(" points of the best | probe: follows |\n");
        md.append("|---|---:|---:|---:|---|---|---|---:|\n");
        int beatsArf = 0;
        int rows = 0;
        for (BenchStream s : streams) {
            Outcome prior = Outcome.find(outcomes, s.name(), Outcome.NPT_PRIOR);
            Outcome npt = Outcome.find(outcomes, s.name(), Outcome.NPT);
            Outcome arf = Outcome.find(outcomes, s.name(), "ARF");
            Outcome best = bestMoa(outcomes, s);
            if (prior == null || arf == null || best == null) {
                continue;
            }
            rows++;
            beatsArf += prior.accuracy() >= arf.accuracy() ? 1 : 0;
            Double follows = probes.get(s.name() + PRIOR_PROBE);
            md.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s %s | %s | %s | %s |%n", s.name(), pct(prior.accuracy()),
                    npt == null ? "-" : pct(npt.accuracy()), pct(arf.accuracy()), best.learner(), pct(best.accuracy()),
                    verdict(prior.accuracy() >= arf.accuracy()), verdict(prior.accuracy() >= best.accuracy() - ZERO_SHOT_MARGIN),
                    follows == null ? "-" : pct(follows)));
        }
        md.append(String.format(Locale.ROOT, "%nNPT-prior >= ARF on %d of %d streams.%n", beatsArf, rows));
    }

    /** The key of a stream's prior-model probe in the probes map: the stream's name and this. */
    static final String PRIOR_PROBE = " (prior)";

    private static String pct(double v) {
        return String.format(Locale.ROOT, "%.2f%%", 100 * v);
    }

    private static String verdict(boolean met) {
        return met ? "met" : "NOT met";
    }

    private static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).trim();
        } catch (IOException e) {
            return "unknown";
        }
    }

    private static String us(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.0f", v);
    }

    public static String json(List<Outcome> outcomes, Map<String, Double> probes, SpeedSweep.Result speed) {
        StringBuilder j = new StringBuilder("{\n  \"probe_follows\": {");
        j.append(probes.entrySet().stream().map(e -> "\"" + e.getKey() + "\": " + num(e.getValue()))
                .collect(Collectors.joining(", ")));
        j.append("},\n  \"outcomes\": [\n");
        for (int i = 0; i < outcomes.size(); i++) {
            Outcome o = outcomes.get(i);
            j.append(String.format(Locale.ROOT, "    {\"stream\": \"%s\", \"learner\": \"%s\", \"scored\": %d, \"accuracy\": %s, "
                            + "\"records_per_second\": %s, \"p50_latency_us\": %s, \"p99_latency_us\": %s, \"window\": %d, \"windowed_accuracy\": [%s]}%s\n",
                    o.stream(), o.learner(), o.scored(), num(o.accuracy()), num(o.recordsPerSecond()), num(o.p50LatencyUs()),
                    num(o.p99LatencyUs()), o.window(), nums(o.windowedAccuracy()), i + 1 < outcomes.size() ? "," : ""));
        }
        j.append("  ]");
        if (speed != null) {
            j.append(",\n  \"speed\": {\n    \"model\": \"").append(speed.model()).append("\",\n    \"points\": [\n");
            for (int i = 0; i < speed.points().size(); i++) {
                SpeedSweep.Point p = speed.points().get(i);
                j.append(String.format(Locale.ROOT, "      {\"window\": %d, \"batch_size\": %d, \"inference\": \"%s\", \"records\": %d, "
                                + "\"records_per_second\": %s, \"p50_latency_us\": %s, \"p99_latency_us\": %s}%s\n", p.window(), p.batchSize(),
                        p.inference(), p.records(), num(p.recordsPerSecond()), num(p.p50LatencyUs()), num(p.p99LatencyUs()),
                        i + 1 < speed.points().size() ? "," : ""));
            }
            j.append("    ],\n    \"per_window\": [\n");
            for (int i = 0; i < speed.memory().size(); i++) {
                SpeedSweep.Memory m = speed.memory().get(i);
                j.append(String.format(Locale.ROOT, "      {\"window\": %d, \"speedup_cached_vs_full\": %s, \"state_bytes_per_key\": %d, "
                                + "\"cache_bytes_per_key\": %d}%s\n", m.window(), num(speed.speedup(m.window())), m.stateBytes(),
                        m.cacheBytes(), i + 1 < speed.memory().size() ? "," : ""));
            }
            j.append(String.format(Locale.ROOT, "    ],\n    \"roofline\": {\"window\": %d, \"flops_per_record\": %s, \"peak_gflops\": %s, "
                            + "\"achieved_gflops\": %s, \"share\": %s}", speed.rooflineWindow(), num(speed.flopsPerRecord()),
                    num(speed.peakGflops()), num(speed.achievedGflops()), num(speed.rooflineShare())));
            SpeedSweep.Pair prior = speed.prior();
            if (prior != null) {
                j.append(String.format(Locale.ROOT, ",\n    \"prior\": {\"model\": \"%s\", \"stream_model\": \"%s\", \"window\": %d, "
                                + "\"batch_size\": %d, \"records_per_second\": [%s], \"stream_model_records_per_second\": [%s], "
                                + "\"slowdown\": %s}", prior.other(), prior.base(), prior.window(), prior.batchSize(),
                        nums(prior.otherRecordsPerSecond()), nums(prior.baseRecordsPerSecond()), num(prior.slowdown())));
            }
            j.append("\n  }");
        }
        return j.append("\n}\n").toString();
    }

    private static String nums(double[] v) {
        return Arrays.stream(v).mapToObj(Report::num).collect(Collectors.joining(", "));
    }

    private static String rates(double[] v) {
        return Arrays.stream(v).mapToObj(Report::us).collect(Collectors.joining(" / "));
    }

    private static String num(double v) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%.6g", v) : "null";
    }

    /**
     * accuracy-STREAM.png and .svg: windowed accuracy over the scored rows, one line per learner,
     * and a vertical line at an abrupt drift.
     */
    public static void plots(List<BenchStream> streams, List<Outcome> outcomes, Path dir) throws IOException {
        for (BenchStream s : streams) {
            List<Outcome> lines = outcomes.stream().filter(o -> o.stream().equals(s.name())).toList();
            if (lines.isEmpty()) {
                continue;
            }
            int window = lines.get(0).window();
            XYChart chart = new XYChartBuilder().width(900).height(500)
                    .title("accuracy per " + window + " scored rows: " + s.name())
                    .xAxisTitle("scored rows (thousands, window end)").yAxisTitle("accuracy").build();
            chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE).setMarkerSize(4);
            for (Outcome o : lines) {
                double[] acc = o.windowedAccuracy();
                double[] end = new double[acc.length];
                for (int w = 0; w < acc.length; w++) {
                    end[w] = Math.min(o.scored(), (long) (w + 1) * window) / 1000.0;
                }
                chart.addSeries(o.learner(), end, acc);
            }
            if (s.abruptDriftRow() != BenchStream.NO_DRIFT) {
                chart.addAnnotation(new AnnotationLine((s.abruptDriftRow() - s.trainRows()) / 1000.0, true, false));
            }
            String file = dir.resolve("accuracy-" + s.name()).toString();
            BitmapEncoder.saveBitmap(chart, file, BitmapEncoder.BitmapFormat.PNG);
            VectorGraphicsEncoder.saveVectorGraphic(chart, file, VectorGraphicsEncoder.VectorGraphicsFormat.SVG);
        }
    }

    public static void write(List<BenchStream> streams, List<Outcome> outcomes, Map<String, Double> probes,
                             SpeedSweep.Result speed, Path dir) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("results.md"), markdown(streams, outcomes, probes, speed));
        Files.writeString(dir.resolve("results.json"), json(outcomes, probes, speed));
        plots(streams, outcomes, dir);
    }
}
