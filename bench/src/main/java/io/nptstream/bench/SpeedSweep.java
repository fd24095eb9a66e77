package io.nptstream.bench;

import io.nptstream.flink.job.Replay;
import io.nptstream.flink.job.ReplayResult;
import io.nptstream.flink.config.NptOperatorConfig;
import io.nptstream.flink.config.NptOperatorConfig.Inference;
import io.nptstream.proto.Manifest;
import io.nptstream.flink.operator.NptPredict;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * NPT's speed on one stream and model: throughput and latency over windows W and batch sizes on
 * the cached path, the cached path against RECOMPUTE, memory per key and the roofline ratio.
 * Latency is only read from rows whose context is full (after historyLayers * W rows), so it is the
 * cost at that W; throughput is over the whole replay.
 */
public final class SpeedSweep {
    /** One replay of the sweep. */
    public record Point(int window, int batchSize, Inference inference, long records, double recordsPerSecond,
                        double p50LatencyUs, double p99LatencyUs) {}

    /** Per key at window W: raw history kept in state, and the key/value cache. */
    public record Memory(int window, long stateBytes, long cacheBytes) {}

    /**
     * Two models replayed in turn on the same rows, window and batch size, so that both see the same
     * load: records/s of each round, in the order run.
     */
    public record Pair(String base, String other, int window, int batchSize, double[] baseRecordsPerSecond,
                       double[] otherRecordsPerSecond) {
        /** How many times slower the other model is: the base's median throughput over the other's. */
        public double slowdown() {
            return median(baseRecordsPerSecond) / median(otherRecordsPerSecond);
        }

        static double median(double[] v) {
            double[] s = v.clone();
            Arrays.sort(s);
            return s.length == 0 ? Double.NaN : s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
        }
    }

    /**
     * Figures of the sweep; {@code flopsPerRecord} at W = {@code rooflineWindow}; {@code prior}, when
     * there is a prior model, its speed against the stream's own model at equal load (else null).
     */
    public record Result(String model, List<Point> points, List<Memory> memory, double flopsPerRecord,
                         int rooflineWindow, double peakGflops, double achievedGflops, Pair prior) {

        public Result withPrior(Pair pair) {
            return new Result(model, points, memory, flopsPerRecord, rooflineWindow, peakGflops, achievedGflops, pair);
        }

        /** RECOMPUTE's p50 latency over the cached one's, both at batch size 1. */
        public double speedup(int window) {
            Point cached = find(window, 1, Inference.CACHED);
            Point full = find(window, 1, Inference.RECOMPUTE);
            return cached == null || full == null ? Double.NaN : full.p50LatencyUs() / cached.p50LatencyUs();
        }

        public Point find(int window, int batchSize, Inference inference) {
            return points.stream().filter(p -> p.window() == window && p.batchSize() == batchSize
                    && p.inference() == inference).findFirst().orElse(null);
        }

        public double rooflineShare() {
            return achievedGflops / peakGflops;
        }
    }

    private final BenchStream stream;
    private final Path model;
    private final Path scratch;

    /** @param stream rows to replay (its first rows, one key); @param scratch where replays write predictions */
    public SpeedSweep(BenchStream stream, Path model, Path scratch) {
        this.stream = stream;
        this.model = model;
        this.scratch = scratch;
    }

    /**
     * @param rows rows replayed on the cached path; RECOMPUTE replays {@code fullRows} scored rows
     * after the warm-up, since it costs O(W^2) per record
     */
    public Result run(int[] windows, int[] batchSizes, long rows, long fullRows, int rooflineWindow,
                      Path matmulModel, int peakThreads) throws Exception {
        Manifest manifest = NptPredict.loadManifest(model.toString());
        int historyLayers = manifest.getContext().getHistoryLayers();
        List<Point> points = new ArrayList<>();
        for (int w : windows) {
            long warm = (long) historyLayers * w;
            for (int b : batchSizes) {
                // Batch size 1 is there for its latency; fewer rows keep it short.
                points.add(replay(model, w, b, Inference.CACHED, Math.max(b == 1 ? rows / 4 : rows, warm + fullRows), warm));
            }
            points.add(replay(model, w, 1, Inference.RECOMPUTE, warm + fullRows, warm));
        }
        List<Memory> memory = new ArrayList<>();
        for (int w : windows) {
            memory.add(new Memory(w, NptPredict.stateBytesPerKey(manifest, w), NptPredict.cacheBytesPerKey(manifest, w)));
        }
        double flops = Roofline.flopsPerRecord(manifest.getArchitecture(), rooflineWindow);
        double peak = Roofline.peakGflops(matmulModel, 1024, peakThreads, 5);
        double best = points.stream().filter(p -> p.window() == rooflineWindow && p.inference() == Inference.CACHED)
                .mapToDouble(Point::recordsPerSecond).max().orElse(Double.NaN);
        return new Result(model.toString(), points, memory, flops, rooflineWindow, peak, best * flops / 1e9, null);
    }

    /**
     * {@code other} and this sweep's model replayed in turn, {@code rounds} times each, on the
     * sweep's rows at one window and batch size (cached): the load of these shared cores drifts, and
     * alternating gives both models the same share of it.
     */
    public Pair against(Path other, int window, int batchSize, long rows, int rounds) throws Exception {
        double[] base = new double[rounds];
        double[] theirs = new double[rounds];
        for (int r = 0; r < rounds; r++) {
            base[r] = replay(model, window, batchSize, Inference.CACHED, rows, window).recordsPerSecond();
            theirs[r] = replay(other, window, batchSize, Inference.CACHED, rows, window).recordsPerSecond();
        }
        return new Pair(model.toString(), other.toString(), window, batchSize, base, theirs);
    }

    private Point replay(Path model, int window, int batchSize, Inference inference, long rows, long warm) throws Exception {
        NptOperatorConfig operator = new NptOperatorConfig();
        operator.window = window;
        operator.batchSize = batchSize;
        operator.inference = inference;
        Path out = scratch.resolve("speed-w" + window + "-b" + batchSize + "-" + inference + ".csv");
        ReplayResult r = Replay.run(NptRunner.options(stream, model, operator, 0, rows, warm, out));
        Point p = new Point(window, batchSize, inference, r.records(), r.recordsPerSecond(), r.p50LatencyUs(), r.p99LatencyUs());
        System.out.printf("speed (%s): W=%d batch=%d %s: %.0f records/s, p50 %.0f us, p99 %.0f us%n", model.getFileName(),
                window, batchSize, inference, p.recordsPerSecond(), p.p50LatencyUs(), p.p99LatencyUs());
        return p;
    }
}
