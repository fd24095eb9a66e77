package io.nptstream.bench;

import java.nio.file.Path;

/** What `make bench` (full) and `make bench-quick` run; paths relative to the repository root. */
public final class BenchConfig {
    public boolean quick;
    public Path out = Path.of("build/bench");
    public String python = System.getProperty("user.home") + "/.cache/npt-stream/venv/bin/python";
    public Path modelExport = Path.of("model-export");
    public Path matmulModel = Path.of("build/bench/matmul.onnx");
    /** Elec2's CSV: `make bench` passes the Makefile's ELEC_CSV. */
    public Path electricity;
    /** The default electricity model of `make model`; trained here when it is missing. */
    public Path electricityModel = Path.of("build/models/elec");
    /**
     * The prior model's checkpoint (model-export's npt_export.prior); when it exists, every stream
     * is also served by it zero-shot, as learner NPT-prior. The full bench only.
     */
    public Path prior = Path.of("models/prior/checkpoint.pt");
    /** Rows of each synthetic stream. */
    public long syntheticRows = 10_000;
    /** Only this synthetic stream (no electricity, no speed sweep), into out/NAME; null = everything. */
    public String only;
    /**
     * With {@link #only}: the MOA command line of a stream that is not the bench's (`--stream
     * NAME=CLI`), written to streams/NAME.csv and compared as the bench's own are; null = one of those.
     */
    public String otherStream;
    /** Accuracy only: every stream, no speed sweep (which is the slow part and doesn't depend on training). */
    public boolean noSpeed;
    /** NPT with retrains on drift (learner NPT-retrain; fine-tunes on the CPU, the slowest part of the accuracy figures). */
    public boolean retrain = true;
    public int[] windows = {64, 256, 1024};
    public int[] batchSizes = {1, 16, 64, 256};
    public long speedRows = 20_000;
    public long recomputeRows = 50;
    public int rooflineWindow = 256;
    /** Threads of the peak MatMul: the machine's cores. */
    public int peakThreads = Runtime.getRuntime().availableProcessors();

    /** The smoke run: the tiny CAUSAL fixture model on its own keyed stream, one W. */
    public static BenchConfig quick() {
        BenchConfig c = new BenchConfig();
        c.quick = true;
        c.out = Path.of("build/bench/quick");
        c.windows = new int[] {16};
        c.batchSizes = new int[] {1, 16};
        c.speedRows = 600;
        c.recomputeRows = 100;
        c.rooflineWindow = 16;
        return c;
    }

    public static final Path FIXTURE = Path.of("build/fixtures/causal-cls");

    public static BenchConfig fromArgs(String[] args) {
        BenchConfig c = new BenchConfig();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--quick" -> c = quick();
                case "--python" -> c.python = args[++i];
                case "--electricity" -> c.electricity = Path.of(args[++i]);
                case "--synthetic-rows" -> c.syntheticRows = Long.parseLong(args[++i]);
                case "--no-speed" -> c.noSpeed = true;
                case "--no-retrain" -> c.retrain = false;
                case "--only" -> {
                    c.only = args[++i];
                    c.out = c.out.resolve(c.only);
                }
                case "--stream" -> {
                    String[] spec = args[++i].split("=", 2);
                    if (spec.length < 2 || !spec[0].matches("[A-Za-z0-9_-]+") || spec[1].isBlank()) {
                        throw new IllegalArgumentException("--stream '" + args[i] + "' is not NAME=MOA_STREAM, e.g. "
                                + "--stream 'led=generators.LEDGeneratorDrift -d 7'");
                    }
                    if (SyntheticStreams.names().contains(spec[0])) {
                        throw new IllegalArgumentException("--stream " + spec[0] + ": the bench has a stream of that name; "
                                + "name yours otherwise (or use --only " + spec[0] + ")");
                    }
                    c.only = spec[0];
                    c.otherStream = spec[1];
                    c.out = c.out.resolve(c.only);
                }
                default -> throw new IllegalArgumentException("unknown argument '" + args[i]
                        + "'; use --quick, --python PATH, --electricity CSV, --synthetic-rows N, --no-speed, --no-retrain, "
                        + "--only SYNTHETIC_STREAM, --stream NAME=MOA_STREAM");
            }
        }
        if (!c.quick && c.only == null && c.electricity == null) {
            throw new IllegalArgumentException("no Elec2 stream: pass --electricity CSV (make bench passes ELEC_CSV)");
        }
        return c;
    }
}
