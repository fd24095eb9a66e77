package io.nptstream.bench;

import io.nptstream.flink.model.ModelBundle;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Trains (once) the NPT model of a bench stream on its first 20%, with model-export's trainer:
 * a model folder that already has a manifest is reused, so a second bench run trains nothing.
 */
public final class NptModels {
    private final String python;
    private final Path modelExport;
    private final Path log;

    /** @param python the venv's python; @param modelExport model-export/ with proto's Python on PYTHONPATH */
    public NptModels(String python, Path modelExport, Path log) {
        this.python = python;
        this.modelExport = modelExport;
        this.log = log;
    }

    /** The model folder {@code dir} for {@code stream}, trained with {@code extraArgs} if it has no manifest yet. */
    public Path ensure(BenchStream stream, Path dir, List<String> extraArgs) throws IOException, InterruptedException {
        if (Files.isRegularFile(dir.resolve(ModelBundle.MANIFEST_FILE))) {
            return dir;
        }
        List<String> command = new ArrayList<>(List.of(python, "-m", "npt_export.train",
                "--csv", stream.csv().toAbsolutePath().toString(), "--target", BenchStream.TARGET,
                "--rows", "0:" + stream.trainRows(), "--out", dir.toAbsolutePath().toString()));
        if (stream.keyColumn() != null) {
            command.addAll(List.of("--key", stream.keyColumn()));
        }
        command.addAll(extraArgs);
        System.out.println("training NPT for " + stream.name() + ": " + String.join(" ", command));
        Files.createDirectories(log.getParent());
        ProcessBuilder pb = new ProcessBuilder(command).directory(modelExport.toFile()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        pb.environment().merge("PYTHONPATH", ".:../proto/target/python", (a, b) -> b + ":" + a);
        int rc = pb.start().waitFor();
        if (rc != 0 || !Files.isRegularFile(dir.resolve(ModelBundle.MANIFEST_FILE))) {
            throw new IllegalStateException("training the NPT model for " + stream.name() + " failed (exit " + rc
                    + "); see " + log);
        }
        return dir;
    }
}
