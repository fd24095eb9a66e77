package io.nptstream.flink.operator;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.nptstream.flink.config.NptOperatorConfig;
import io.nptstream.flink.model.ModelStore;
import io.nptstream.proto.Golden;
import io.nptstream.proto.GoldenCase;
import io.nptstream.proto.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.ProcessFunctionTestHarnesses;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The gate passes a version every subtask can serve and refuses, without failing, every other. */
class ModelGateTest {
    private static final String A = NptFixtures.CAUSAL_CLS;
    private static final String B = NptFixtures.CAUSAL_CLS_RETRAINED;

    @TempDir
    Path tmp;

    @Test
    void refusesMissingAlteredGoldenFailingAndOtherLayoutVersions() throws Exception {
        Path store = store("refusing", A, B, NptFixtures.CAUSAL_REG);
        // B's golden outputs moved: the graph hashes to its version, but no longer gives its own golden numbers.
        Path golden = store.resolve(version(B)).resolve("golden.pb");
        Golden g = Golden.parseFrom(Files.readAllBytes(golden));
        GoldenCase first = g.getCases(0);
        Tensor out = first.getOutputs(0);
        Tensor.Builder moved = out.toBuilder().clearF32();
        out.getF32List().forEach(v -> moved.addF32(v + 0.5f));
        Files.write(golden, g.toBuilder().setCases(0, first.toBuilder().setOutputs(0, moved)).build().toByteArray());
        Files.createDirectories(store.resolve("0123456789abcdef"));
        Files.write(store.resolve("0123456789abcdef").resolve("manifest.pb"), new byte[] {1, 2, 3});

        List<String> passed = run(store, version(B), version(NptFixtures.CAUSAL_REG), "no-such-version", "0123456789abcdef", "../up", version(A));
        assertEquals(List.of(), passed);

        // B altered in another store: its graph no longer hashes to its version.
        Path altered = store("altered", A, B);
        Path graph = altered.resolve(version(B)).resolve("model.onnx");
        byte[] bytes = Files.readAllBytes(graph);
        Files.write(graph, java.util.Arrays.copyOf(bytes, bytes.length / 2));
        assertEquals(List.of(), run(altered, version(B)));
    }

    @Test
    void passesAVersionOfTheSameLayoutOnce() throws Exception {
        Path store = store("passing", A, B);
        assertEquals(List.of(version(B), version(A)), run(store, version(B), version(B), version(A)));
    }

    private List<String> run(Path store, String... requests) throws Exception {
        NptOperatorConfig config = new NptOperatorConfig();
        config.modelStore = store.toUri().toString();
        config.modelVersion = version(A);
        try (OneInputStreamOperatorTestHarness<String, String> h = ProcessFunctionTestHarnesses.forProcessFunction(new ModelGate(config))) {
            for (String r : requests) {
                h.processElement(r, 0);
            }
            return h.extractOutputValues();
        }
    }

    private static String version(String fixture) {
        return NptFixtures.manifest(fixture).getModelVersion();
    }

    private Path store(String name, String... fixtures) throws Exception {
        Path store = tmp.resolve(name);
        for (String f : fixtures) {
            Path folder = Files.createDirectories(store.resolve(version(f)));
            for (String file : List.of("model.onnx", "manifest.pb", "golden.pb")) {
                Files.copy(NptFixtures.dir(f).resolve(file), folder.resolve(file));
            }
        }
        Files.writeString(store.resolve(ModelStore.LATEST), version(fixtures[0]));
        return store;
    }
}
