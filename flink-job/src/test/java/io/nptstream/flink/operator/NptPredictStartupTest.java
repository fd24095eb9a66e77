package io.nptstream.flink.operator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.nptstream.flink.config.NptOperatorConfig;
import io.nptstream.flink.model.Device;
import io.nptstream.proto.Golden;
import io.nptstream.proto.GoldenCase;
import io.nptstream.proto.Manifest;
import io.nptstream.proto.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A wrong model folder, a manifest that doesn't fit its graph, or a bad setting stops startup with one clear line. */
class NptPredictStartupTest {
    @TempDir
    Path tmp;

    @Test
    void aMissingFolderIsNamed() {
        Path missing = tmp.resolve("nowhere");
        assertStartupFails(config(missing), "model.dir=" + missing + " has no manifest.pb: point it at a folder exported by model-export");
    }

    @Test
    void aFolderWithoutManifestIsNamed() {
        assertStartupFails(config(tmp), "model.dir=" + tmp + " has no manifest.pb: point it at a folder exported by model-export");
    }

    /** Issue 9: corrupt model files stop startup with one line. */
    @Test
    void aTruncatedGraphIsRefused() throws Exception {
        Path source = NptFixtures.dir(NptFixtures.CAUSAL_CLS);
        copy(source, tmp, "manifest.pb");
        copy(source, tmp, "golden.pb");
        byte[] graph = Files.readAllBytes(source.resolve("model.onnx"));
        Files.write(tmp.resolve("model.onnx"), Arrays.copyOf(graph, graph.length / 2));
        assertStartupFails(config(tmp), "model.dir=" + tmp + ": ONNX Runtime cannot load model.onnx (");
    }

    @Test
    void aMissingOrWrongGoldenFileIsRefused() throws Exception {
        Path source = NptFixtures.dir(NptFixtures.CAUSAL_CLS);
        copy(source, tmp, "manifest.pb");
        copy(source, tmp, "model.onnx");
        assertStartupFails(config(tmp), "model.dir=" + tmp + ": golden.pb is missing: the job checks every model against it at startup");
        Files.write(tmp.resolve("golden.pb"), new byte[] {7, 7, 7});
        assertStartupFails(config(tmp), "model.dir=" + tmp + ": golden.pb is not a Golden");
        // A golden file whose numbers the graph does not give: another graph, or a corrupted one.
        Golden golden = NptFixtures.golden(NptFixtures.CAUSAL_CLS);
        GoldenCase c = golden.getCases(0);
        Tensor out = c.getOutputs(0);
        Files.write(tmp.resolve("golden.pb"), golden.toBuilder()
                .setCases(0, c.toBuilder().setOutputs(0, out.toBuilder().setF32(0, out.getF32(0) + 0.5f))).build().toByteArray());
        assertStartupFails(config(tmp), "model.dir=" + tmp + ": golden case '" + c.getName() + "', output " + out.getName() + " differs from PyTorch's");
    }

    @Test
    void aManifestOfAnotherGraphIsRefused() throws Exception {
        copy(NptFixtures.dir(NptFixtures.CAUSAL_CLS), tmp, "manifest.pb");
        Files.copy(NptFixtures.dir(NptFixtures.BIDIR_CLS).resolve("model.onnx"), tmp.resolve("model.onnx"));
        String message = assertStartupFails(config(tmp), "model.dir=" + tmp + ": the graph's inputs [");
        assertTrue(message.contains("do not match the manifest's [cache_k_0, cache_k_1, cache_v_0, cache_v_1, cache_valid, x_cat, x_num, x_valid, x_y]"), message);
    }

    @Test
    void aManifestThatBreaksTheContractIsRefused() throws Exception {
        Path source = NptFixtures.dir(NptFixtures.CAUSAL_CLS);
        copy(source, tmp, "model.onnx");
        Manifest manifest = Manifest.parseFrom(Files.readAllBytes(source.resolve("manifest.pb")));
        Manifest withoutCat = manifest.toBuilder()
                .setGraph(manifest.getGraph().toBuilder().clearInputs()
                        .addAllInputs(manifest.getGraph().getInputsList().stream().filter(n -> !n.equals("x_cat")).toList()))
                .build();
        Files.write(tmp.resolve("manifest.pb"), withoutCat.toByteArray());
        assertStartupFails(config(tmp), "model.dir=" + tmp + ": manifest graph inputs [cache_k_0, cache_k_1, cache_v_0, cache_v_1, cache_valid, x_num, x_valid, x_y]"
                + " are not the contract's [cache_k_0, cache_k_1, cache_v_0, cache_v_1, cache_valid, x_cat, x_num, x_valid, x_y]"
                + " for this model; re-export the model");

        Files.write(tmp.resolve("manifest.pb"), manifest.toBuilder().setFormat("npt-stream/2").build().toByteArray());
        assertStartupFails(config(tmp), "model.dir=" + tmp + ": manifest format is 'npt-stream/2', this job reads 'npt-stream/1'");

        Files.write(tmp.resolve("manifest.pb"), new byte[] {1, 2, 3});
        assertStartupFails(config(tmp), "model.dir=" + tmp + ": manifest.pb is not a Manifest");
    }

    @Test
    void aWindowOverTheModelsMaximumIsRefused() {
        NptOperatorConfig c = NptFixtures.config(NptFixtures.CAUSAL_CLS, 99);
        assertStartupFails(c, "window=99 is above the model's maximum of 16");
    }

    @Test
    void cudaWithoutTheCudaBuildIsRefused() {
        NptOperatorConfig c = NptFixtures.config(NptFixtures.CAUSAL_CLS, 0);
        c.device = Device.CUDA;
        assertStartupFails(c, "device cuda: this ONNX Runtime build has no CUDA execution provider; build the job with `mvn -Pcuda`");
    }

    @Test
    void badSettingsAreNamed() {
        NptOperatorConfig c = NptFixtures.config(NptFixtures.CAUSAL_CLS, 0);
        c.batchSize = 0;
        assertStartupFails(c, "batch.size=0 is out of range: use a whole number from 1 to 65536");
    }

    @Test
    void theFixturesPassTheChecks() {
        for (String fixture : new String[] {NptFixtures.CAUSAL_CLS, NptFixtures.BIDIR_CLS, NptFixtures.CAUSAL_REG}) {
            NptPredict.check(NptFixtures.config(fixture, 0));
            assertEquals("npt-stream/1", NptPredict.loadManifest(NptFixtures.dir(fixture).toString()).getFormat());
        }
    }

    private static NptOperatorConfig config(Path dir) {
        NptOperatorConfig c = new NptOperatorConfig();
        c.modelDir = dir.toString();
        return c;
    }

    private static void copy(Path from, Path to, String file) throws Exception {
        Files.copy(from.resolve(file), to.resolve(file), StandardCopyOption.REPLACE_EXISTING);
    }

    private static String assertStartupFails(NptOperatorConfig config, String expectedStart) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> NptPredict.check(config));
        String message = e.getMessage();
        assertTrue(message.startsWith(expectedStart), "message: " + message);
        assertFalse(message.contains("\n"), "one line: " + message);
        return message;
    }
}
