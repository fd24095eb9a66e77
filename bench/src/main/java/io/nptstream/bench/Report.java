package io.nptstream.bench;

import io.nptstream.flink.operator.NptOperatorConfig.Inference;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;
import javax.imageio.ImageIO;

/** Writes the bench's figures: results.md (printed too), results.json and one accuracy plot per stream. */
public final class Report {
    private static final Color[] COLORS = {new Color(0xd62728), new Color(0x1f77b4), new Color(0x2ca02c),
            new Color(0xff7f0e), new Color(0x9467bd), new Color(0x7f7f7f), new Color(0x8c564b)};

    private Report() {}

    public static String markdown(List<Outcome> outcomes, SpeedSweep.Result speed) {
        StringBuilder md = new StringBuilder("# NPT Stream vs MOA: prequential accuracy on the last 80% of each stream\n\n");
        md.append("MOA learners train on every row (the first 20% unscored); NPT is trained on the first 20% and "
                + "replayed through the Flink operator. Latency: per record, NPT only.\n\n");
        md.append("| stream | learner | scored | accuracy | records/s | p50 latency (us) | p99 latency (us) |\n");
        md.append("|---|---|---:|---:|---:|---:|---:|\n");
        for (Outcome o : outcomes) {
            md.append(String.format(Locale.ROOT, "| %s | %s | %d | %.2f%% | %.0f | %s | %s |\n", o.stream(), o.learner(),
                    o.scored(), 100 * o.accuracy(), o.recordsPerSecond(), us(o.p50LatencyUs()), us(o.p99LatencyUs())));
        }
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
        md.append("\n| W | FULL_RECOMPUTE p50 / CACHED p50 (batch 1) | cached p50 (us) | full p50 (us) | state bytes/key | cache bytes/key |\n");
        md.append("|---:|---:|---:|---:|---:|---:|\n");
        for (SpeedSweep.Memory m : speed.memory()) {
            SpeedSweep.Point c = speed.find(m.window(), 1, Inference.CACHED);
            SpeedSweep.Point f = speed.find(m.window(), 1, Inference.FULL_RECOMPUTE);
            md.append(String.format(Locale.ROOT, "| %d | %.1fx | %s | %s | %d | %d |\n", m.window(), speed.speedup(m.window()),
                    c == null ? "-" : us(c.p50LatencyUs()), f == null ? "-" : us(f.p50LatencyUs()), m.stateBytes(), m.cacheBytes()));
        }
        md.append(String.format(Locale.ROOT, "\nRoofline at W=%d: %.2f MFLOP per cached prediction; best throughput there "
                        + "is %.1f GFLOP/s against a measured float32 MatMul peak of %.1f GFLOP/s: %.1f%% of roofline.\n",
                speed.rooflineWindow(), speed.flopsPerRecord() / 1e6, speed.achievedGflops(), speed.peakGflops(),
                100 * speed.rooflineShare()));
        if (speed.find(256, 1, Inference.CACHED) == null) {
            return md.toString();   // the goals are stated at W = 256
        }
        md.append("\n## Goals\n\n");
        double speedup = speed.speedup(256);
        md.append(String.format(Locale.ROOT, "- cached >= 20x faster than FULL_RECOMPUTE at W=256: %.1fx (%s)%n", speedup, verdict(speedup >= 20)));
        outcomes.stream().filter(o -> o.stream().equals("electricity") && o.learner().equals("NPT")).findFirst().ifPresent(o ->
                md.append(String.format(Locale.ROOT, "- >= 10,000 prequential records/s at W=256, default model (electricity replay): %.0f (%s)%n",
                        o.recordsPerSecond(), verdict(o.recordsPerSecond() >= 10_000))));
        md.append(String.format(Locale.ROOT, "- >= 25%% of roofline: %.1f%% (%s)%n", 100 * speed.rooflineShare(), verdict(speed.rooflineShare() >= 0.25)));
        md.append(String.format(Locale.ROOT, "%nLoad average when written (other work on this machine slows every figure): %s%n", loadAverage()));
        return md.toString();
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

    public static String json(List<Outcome> outcomes, SpeedSweep.Result speed) {
        StringBuilder j = new StringBuilder("{\n  \"outcomes\": [\n");
        for (int i = 0; i < outcomes.size(); i++) {
            Outcome o = outcomes.get(i);
            j.append(String.format(Locale.ROOT, "    {\"stream\": \"%s\", \"learner\": \"%s\", \"scored\": %d, \"accuracy\": %s, "
                            + "\"records_per_second\": %s, \"p50_latency_us\": %s, \"p99_latency_us\": %s, \"windowed_accuracy\": [%s]}%s\n",
                    o.stream(), o.learner(), o.scored(), num(o.accuracy()), num(o.recordsPerSecond()), num(o.p50LatencyUs()),
                    num(o.p99LatencyUs()), java.util.Arrays.stream(o.windowedAccuracy()).mapToObj(Report::num)
                            .collect(Collectors.joining(", ")), i + 1 < outcomes.size() ? "," : ""));
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
                            + "\"achieved_gflops\": %s, \"share\": %s}\n  }", speed.rooflineWindow(), num(speed.flopsPerRecord()),
                    num(speed.peakGflops()), num(speed.achievedGflops()), num(speed.rooflineShare())));
        }
        return j.append("\n}\n").toString();
    }

    private static String num(double v) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%.6g", v) : "null";
    }

    /** accuracy-STREAM.png: windowed accuracy over the scored rows, one line per learner. */
    public static void plots(List<Outcome> outcomes, Path dir) throws IOException {
        Map<String, List<Outcome>> byStream = new LinkedHashMap<>();
        for (Outcome o : outcomes) {
            byStream.computeIfAbsent(o.stream(), s -> new ArrayList<>()).add(o);
        }
        for (var e : byStream.entrySet()) {
            ImageIO.write(plot(e.getKey(), e.getValue()), "png", dir.resolve("accuracy-" + e.getKey() + ".png").toFile());
        }
    }

    private static BufferedImage plot(String stream, List<Outcome> lines) {
        int width = 900, height = 500, left = 60, right = 150, top = 40, bottom = 50;
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, width, height);
        int pw = width - left - right, ph = height - top - bottom;
        int windows = lines.stream().mapToInt(o -> o.windowedAccuracy().length).max().orElse(1);
        double lo = Math.max(0, Math.floor(10 * lines.stream().flatMapToDouble(o -> java.util.Arrays.stream(o.windowedAccuracy()))
                .min().orElse(0)) / 10);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        g.setColor(Color.LIGHT_GRAY);
        for (int t = 0; t <= 5; t++) {
            double v = lo + (1 - lo) * t / 5;
            int y = top + ph - (int) (ph * t / 5.0);
            g.drawLine(left, y, left + pw, y);
            g.setColor(Color.DARK_GRAY);
            g.drawString(String.format(Locale.ROOT, "%.2f", v), 15, y + 4);
            g.setColor(Color.LIGHT_GRAY);
        }
        g.setColor(Color.BLACK);
        g.drawRect(left, top, pw, ph);
        g.drawString("accuracy per " + Outcome.WINDOW + " scored rows: " + stream, left, 25);
        g.drawString("scored rows (thousands, window end)", left + pw / 2 - 100, height - 15);
        for (int t = 0; t <= 4; t++) {
            int x = left + (int) (pw * t / 4.0);
            double end = ((windows - 1) * t / 4.0 + 1) * Outcome.WINDOW / 1000.0;
            g.drawString(String.format(Locale.ROOT, "%.1f", end), x - 10, top + ph + 18);
        }
        g.setStroke(new BasicStroke(2f));
        for (int i = 0; i < lines.size(); i++) {
            double[] acc = lines.get(i).windowedAccuracy();
            g.setColor(COLORS[i % COLORS.length]);
            for (int w = 1; w < acc.length; w++) {
                g.drawLine(x(w - 1, windows, left, pw), y(acc[w - 1], lo, top, ph), x(w, windows, left, pw), y(acc[w], lo, top, ph));
            }
            g.drawLine(left + pw + 15, top + 20 * i + 10, left + pw + 40, top + 20 * i + 10);
            g.drawString(lines.get(i).learner(), left + pw + 45, top + 20 * i + 14);
        }
        g.dispose();
        return img;
    }

    private static int x(int w, int windows, int left, int pw) {
        return left + (int) (pw * (windows <= 1 ? 0 : (double) w / (windows - 1)));
    }

    private static int y(double v, double lo, int top, int ph) {
        return top + ph - (int) (ph * (v - lo) / (1 - lo));
    }

    public static void write(List<Outcome> outcomes, SpeedSweep.Result speed, Path dir) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("results.md"), markdown(outcomes, speed));
        Files.writeString(dir.resolve("results.json"), json(outcomes, speed));
        plots(outcomes, dir);
    }
}
