package io.nptstream.bench;

import com.yahoo.labs.samoa.instances.Attribute;
import com.yahoo.labs.samoa.instances.Instance;
import com.yahoo.labs.samoa.instances.InstancesHeader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import moa.options.ClassOption;
import moa.streams.InstanceStream;

/**
 * Drifting streams from MOA's generators, written to CSV so that NPT (which trains on a file) and
 * the MOA learners see exactly the same rows. Each drift happens in the scored part of the stream.
 */
public final class SyntheticStreams {
    /** Keys of the multi-key stream: independent hyperplanes, so one global model can't fit them all. */
    static final int KEYS = 4;
    static final String MULTIKEY = "multikey-hyperplane";

    private SyntheticStreams() {}

    /** The generator streams of {@code rows} rows each, as MOA command lines, by name. */
    static List<String[]> specs(long rows) {
        long drift = driftRow(rows);
        long gradual = Math.max(1, rows / 10);
        List<String[]> specs = new ArrayList<>();
        for (String[] g : new String[][] {
                {"sea", "generators.SEAGenerator -f 1 -i 1", "generators.SEAGenerator -f 3 -i 2"},
                {"agrawal", "generators.AgrawalGenerator -f 1 -i 1", "generators.AgrawalGenerator -f 4 -i 2"},
                {"rbf", "generators.RandomRBFGeneratorDrift -s 0.001 -k 10 -r 1 -i 1 -a 10 -n 50",
                        "generators.RandomRBFGeneratorDrift -s 0.001 -k 10 -r 2 -i 2 -a 10 -n 50"},
                {"hyperplane", "generators.HyperplaneGenerator -k 10 -t 0.001 -i 1",
                        "generators.HyperplaneGenerator -k 10 -t 0.001 -i 2"}}) {
            specs.add(new String[] {g[0] + "-abrupt", drift(g[1], g[2], drift, 1)});
            specs.add(new String[] {g[0] + "-gradual", drift(g[1], g[2], drift, gradual)});
        }
        return specs;
    }

    /** The names of the bench's own streams, Elec2's included. */
    static List<String> names() {
        List<String> names = new ArrayList<>(List.of("electricity", MULTIKEY));
        specs(0).forEach(spec -> names.add(spec[0]));
        return names;
    }

    /** Where each drift is centred: the middle of the stream, inside the scored part. */
    static long driftRow(long rows) {
        return rows / 2;
    }

    private static String drift(String before, String after, long position, long width) {
        return "ConceptDriftStream -s (" + before + ") -d (" + after + ") -p " + position + " -w " + width + " -r 1";
    }

    /** Writes (if missing) and returns every synthetic stream, the multi-key one last. */
    public static List<BenchStream> write(Path dir, long rows) throws IOException {
        Files.createDirectories(dir);
        List<BenchStream> streams = new ArrayList<>();
        for (String[] spec : specs(rows)) {
            long abrupt = spec[0].endsWith("-abrupt") ? driftRow(rows) : BenchStream.NO_DRIFT;
            streams.add(write(dir, spec[0], spec[1], rows, abrupt));
        }
        Path multi = dir.resolve(MULTIKEY + ".csv");
        List<InstanceStream> perKey = new ArrayList<>();
        for (int k = 0; k < KEYS; k++) {
            perKey.add(stream("generators.HyperplaneGenerator -k 5 -t 0 -n 5 -i " + (10 + k)));
        }
        if (!Files.isRegularFile(multi)) {
            writeCsv(multi, perKey, rows, new Random(7), true);
        }
        streams.add(new BenchStream(MULTIKEY, multi, "key", rows,
                KEYS + " hyperplanes with their own weights, interleaved at random, one key each", BenchStream.NO_DRIFT));
        return streams;
    }

    /**
     * Writes (if missing) and returns one generator's stream, {@code cli} a MOA stream's command line:
     * the bench's own and those that `--stream NAME=CLI` names. The command line is kept beside the
     * CSV (NAME.moa), so that a name reused for another generator stops the bench instead of reusing
     * the other's rows and trained model.
     */
    public static BenchStream write(Path dir, String name, String cli, long rows, long abruptDriftRow) throws IOException {
        Files.createDirectories(dir);
        Path csv = dir.resolve(name + ".csv");
        Path source = dir.resolve(name + ".moa");
        if (!Files.isRegularFile(csv)) {
            writeCsv(csv, List.of(stream(cli)), rows, new Random(1), false);
            Files.writeString(source, cli);
        } else if (Files.isRegularFile(source) && !Files.readString(source).equals(cli)) {
            throw new IllegalArgumentException(csv + " was written from '" + Files.readString(source) + "', not '" + cli
                    + "': name the stream otherwise, or delete it and its model (build/bench/models/" + name + ")");
        }
        return new BenchStream(name, csv, null, rows, cli, abruptDriftRow);
    }

    static InstanceStream stream(String cli) {
        try {
            InstanceStream s = (InstanceStream) ClassOption.cliStringToObject(cli, InstanceStream.class, null);
            ((moa.options.OptionHandler) s).prepareForUse();
            return s;
        } catch (Exception e) {
            throw new IllegalArgumentException("MOA stream '" + cli + "' could not be built: " + e.getMessage(), e);
        }
    }

    /** Rows drawn from a random one of {@code sources} each time; with {@code keyed}, its index is the key. */
    private static void writeCsv(Path csv, List<InstanceStream> sources, long rows, Random pick, boolean keyed)
            throws IOException {
        InstancesHeader header = sources.get(0).getHeader();
        Path tmp = csv.resolveSibling(csv.getFileName() + ".tmp");
        try (BufferedWriter w = Files.newBufferedWriter(tmp)) {
            List<String> names = new ArrayList<>();
            if (keyed) {
                names.add("key");
            }
            for (int a = 0; a < header.numAttributes(); a++) {
                names.add(a == header.classIndex() ? BenchStream.TARGET : "f_" + header.attribute(a).name().replaceAll("[^A-Za-z0-9_]", "_"));
            }
            w.write(String.join(",", names));
            w.write('\n');
            for (long r = 0; r < rows; r++) {
                int k = pick.nextInt(sources.size());
                Instance x = sources.get(k).nextInstance().getData();
                List<String> cells = new ArrayList<>();
                if (keyed) {
                    cells.add("k" + k);
                }
                for (int a = 0; a < header.numAttributes(); a++) {
                    cells.add(cell(header.attribute(a), x.value(a), a == header.classIndex()));
                }
                w.write(String.join(",", cells));
                w.write('\n');
            }
        }
        Files.move(tmp, csv, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    /** Classes as their index (NPT reads an integer column as class labels); other nominals as text. */
    private static String cell(Attribute a, double v, boolean isClass) {
        if (isClass) {
            return Integer.toString((int) v);
        }
        if (a.isNominal()) {
            return "v" + (int) v;
        }
        return String.format(Locale.ROOT, "%.6f", v);
    }
}
