package io.nptstream.flink.model;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.nptstream.flink.operator.NptFixtures;
import io.nptstream.proto.Golden;
import io.nptstream.proto.GoldenCase;
import io.nptstream.proto.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The exported graphs, run by ONNX Runtime from Java, give PyTorch's outputs for the golden cases
 * (the check every job runs at startup); a golden file the graph does not match is refused.
 */
class GoldenCasesParityTest {
    @ParameterizedTest
    @ValueSource(strings = {NptFixtures.CAUSAL_CLS, NptFixtures.BIDIR_CLS, NptFixtures.CAUSAL_REG, NptFixtures.CAUSAL_CLS_RETRAINED,
            NptFixtures.CAUSAL_CLS_LONG, NptFixtures.PRIOR_CLS,
            NptFixtures.PRIOR_CLS_ZERO_SHOT})
    void onnxRuntimeInJavaMatchesPyTorch(String fixture) throws Exception {
        ModelBundle model = ModelBundle.load(NptFixtures.dir(fixture).toString());
        Golden golden = model.golden();
        try (SharedSessions.Lease lease = SharedSessions.acquire(model, Device.CPU, 1)) {
            GoldenCheck.check(golden, lease.session(), model.source());

            GoldenCase first = golden.getCases(0);
            Tensor output = first.getOutputs(0);
            Tensor moved = output.toBuilder().setF32(0, output.getF32(0) + 0.01f).build();
            Golden wrong = golden.toBuilder().setCases(0, first.toBuilder().setOutputs(0, moved)).build();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> GoldenCheck.check(wrong, lease.session(), model.source()));
            assertTrue(e.getMessage().startsWith("model.dir=" + model.dir() + ": golden case '" + first.getName() + "', output "
                    + output.getName() + " differs from PyTorch's by "), e.getMessage());
        }
    }
}
