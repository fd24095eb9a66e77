package io.nptstream.flink.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.nptstream.flink.operator.NptFixtures;
import io.nptstream.proto.Golden;
import io.nptstream.proto.GoldenCase;
import io.nptstream.proto.Tensor;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The exported graphs, run by ONNX Runtime from Java, give PyTorch's outputs for the golden cases. */
class GoldenCasesParityTest {
    private static final double TOLERANCE = 1e-4;

    @ParameterizedTest
    @ValueSource(strings = {NptFixtures.CAUSAL_CLS, NptFixtures.BIDIR_CLS, NptFixtures.CAUSAL_REG})
    void onnxRuntimeInJavaMatchesPyTorch(String fixture) throws Exception {
        ModelBundle model = ModelBundle.load(NptFixtures.dir(fixture).toString());
        Golden golden = NptFixtures.golden(fixture);
        assertFalse(golden.getCasesList().isEmpty(), "golden file has no cases");
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (SharedSessions.Lease lease = SharedSessions.acquire(model, Device.CPU, 1)) {
            for (GoldenCase c : golden.getCasesList()) {
                Map<String, OnnxTensor> inputs = new HashMap<>();
                try {
                    for (Tensor t : c.getInputsList()) {
                        inputs.put(t.getName(), tensor(env, t));
                    }
                    try (OrtSession.Result result = lease.session().run(inputs)) {
                        assertEquals(c.getOutputsCount(), result.size(), c.getName() + ": number of outputs");
                        for (Tensor expected : c.getOutputsList()) {
                            OnnxTensor actual = (OnnxTensor) result.get(expected.getName()).orElseThrow();
                            assertArrayEquals(expected.getShapeList().stream().mapToLong(Long::longValue).toArray(),
                                    actual.getInfo().getShape(), c.getName() + "/" + expected.getName() + ": shape");
                            FloatBuffer got = actual.getFloatBuffer();
                            double maxDiff = 0;
                            for (int i = 0; i < expected.getF32Count(); i++) {
                                maxDiff = Math.max(maxDiff, Math.abs(got.get(i) - expected.getF32(i)));
                            }
                            assertTrue(maxDiff <= TOLERANCE, c.getName() + "/" + expected.getName() + ": max abs diff " + maxDiff);
                        }
                    }
                } finally {
                    inputs.values().forEach(OnnxTensor::close);
                }
            }
        }
    }

    private static OnnxTensor tensor(OrtEnvironment env, Tensor t) throws Exception {
        long[] shape = t.getShapeList().stream().mapToLong(Long::longValue).toArray();
        if (t.getF32Count() > 0) {
            float[] f = new float[t.getF32Count()];
            for (int i = 0; i < f.length; i++) {
                f[i] = t.getF32(i);
            }
            return OnnxTensor.createTensor(env, FloatBuffer.wrap(f), shape);
        }
        if (t.getI64Count() > 0) {
            return OnnxTensor.createTensor(env, LongBuffer.wrap(t.getI64List().stream().mapToLong(Long::longValue).toArray()), shape);
        }
        ByteBuffer b = ByteBuffer.allocateDirect(t.getBCount());
        for (int i = 0; i < t.getBCount(); i++) {
            b.put(i, (byte) (t.getB(i) ? 1 : 0));
        }
        return OnnxTensor.createTensor(env, b, shape, OnnxJavaType.BOOL);
    }
}
