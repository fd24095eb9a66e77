package io.nptstream.bench;

import io.nptstream.flink.model.ModelBundle;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * NPT's Python side for the bench, with model-export's tools: trains (once) the NPT model of a
 * bench stream on its first 20% (a model folder that already has a manifest is reused, so a second
 * bench run trains nothing), and replays it with retrains on drift.
 */
public final class NptModels {
    /** The checkpoint that a trained model folder keeps, which fine-tuning starts from. */
    static final String CHECKPOINT_FILE = "checkpoint.pt";

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
        List<String> command = new ArrayList<>(List.of("npt_export.train",
                "--csv", stream.csv().toAbsolutePath().toString(), "--target", BenchStream.TARGET,
                "--rows", "0:" + stream.trainRows(), "--out", dir.toAbsolutePath().toString()));
        command.addAll(extraArgs);
        run(stream, command, "training the NPT model");
        if (!Files.isRegularFile(dir.resolve(ModelBundle.MANIFEST_FILE))) {
            throw new IllegalStateException("training the NPT model for " + stream.name() + " wrote no manifest; see " + log);
        }
        return dir;
    }

    /**
     * The stream model in {@code dir} replayed over the stream with retrains on drift
     * ({@code npt_export.evidence.drift_retrain}: a drift detector on its errors, fine-tunes from
     * its checkpoint on the rows since a drift, each swapped in from the row after them). Returns
     * whether each scored row was predicted right; the predictions go to {@code predictions}.
     */
    public boolean[] retrainedOnDrift(BenchStream stream, Path dir, Path predictions) throws IOException, InterruptedException {
        Files.createDirectories(predictions.getParent());
        run(stream, new ArrayList<>(List.of("npt_export.evidence.drift_retrain", stream.name(),
                "--csv", stream.csv().toAbsolutePath().toString(), "--target", BenchStream.TARGET,
                "--model", dir.resolve(CHECKPOINT_FILE).toAbsolutePath().toString(),
                "--predictions", predictions.toAbsolutePath().toString())), "retraining on drift");
        List<String> lines = Files.readAllLines(predictions);      // row,label,predicted,model after the header
        boolean[] correct = new boolean[lines.size() - 1];
        for (int i = 0; i < correct.length; i++) {
            String[] f = lines.get(i + 1).split(",");
            correct[i] = f[1].equals(f[2]);
        }
        return correct;
    }

    /** Runs python's module {@code command} (its first element) from model-export/, output to the log; the stream's key column is added. */
    private void run(BenchStream stream, List<String> command, String what) throws IOException, InterruptedException {
        if (stream.keyColumn() != null) {
            command.addAll(List.of("--key", stream.keyColumn()));
        }
        command.addAll(0, List.of(python, "-m"));
        System.out.println(what + " for " + stream.name() + ": " + String.join(" ", command));
        Files.createDirectories(log.getParent());
        ProcessBuilder pb = new ProcessBuilder(command).directory(modelExport.toFile()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        pb.environment().merge("PYTHONPATH", ".:../proto/target/python", (a, b) -> b + ":" + a);
        int rc = pb.start().waitFor();
        if (rc != 0) {
            throw new IllegalStateException(what + " for " + stream.name() + " failed (exit " + rc + "); see " + log);
        }
    }
}
