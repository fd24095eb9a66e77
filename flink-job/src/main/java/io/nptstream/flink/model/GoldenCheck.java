package io.nptstream.flink.model;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.nptstream.proto.Golden;
import io.nptstream.proto.GoldenCase;
import io.nptstream.proto.Tensor;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * The startup check that a graph is the one its golden file was written with: each golden case's
 * inputs, run by this ONNX Runtime, give PyTorch's outputs (proto/README.md, "Golden file").
 */
final class GoldenCheck {
    /** ONNX Runtime against PyTorch, float32: far above rounding, far below a wrong graph. */
    static final double TOLERANCE = 1e-4;

    private GoldenCheck() {}

    /** Throws IllegalArgumentException naming the first case and output that differ. */
    static void check(Golden golden, OrtSession session, String source) throws OrtException {
        if (golden.getCasesCount() == 0) {
            throw new IllegalArgumentException(source + ": " + ModelBundle.GOLDEN_FILE + " has no cases; re-export the model");
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        for (GoldenCase c : golden.getCasesList()) {
            Map<String, OnnxTensor> inputs = new HashMap<>();
            try {
                for (Tensor t : c.getInputsList()) {
                    inputs.put(t.getName(), tensor(env, t));
                }
                try (OrtSession.Result result = session.run(inputs)) {
                    for (Tensor expected : c.getOutputsList()) {
                        String what = source + ": golden case '" + c.getName() + "', output " + expected.getName();
                        OnnxTensor actual = (OnnxTensor) result.get(expected.getName())
                                .orElseThrow(() -> new IllegalArgumentException(what + " is not in the graph; re-export the model"));
                        long[] shape = expected.getShapeList().stream().mapToLong(Long::longValue).toArray();
                        if (!Arrays.equals(shape, actual.getInfo().getShape())) {
                            throw new IllegalArgumentException(what + " has shape " + Arrays.toString(actual.getInfo().getShape())
                                    + ", the golden file " + Arrays.toString(shape) + "; re-export the model");
                        }
                        double diff = maxAbsDiff(actual.getFloatBuffer(), expected);
                        if (!(diff <= TOLERANCE)) {
                            throw new IllegalArgumentException(what + " differs from PyTorch's by " + diff + " (tolerance " + TOLERANCE
                                    + "): the graph is not the one this golden file was written with; re-export the model");
                        }
                    }
                }
            } finally {
                inputs.values().forEach(OnnxTensor::close);
            }
        }
    }

    private static double maxAbsDiff(FloatBuffer got, Tensor expected) {
        double max = 0;
        for (int i = 0; i < expected.getF32Count(); i++) {
            max = Math.max(max, Math.abs(got.get(i) - expected.getF32(i)));
        }
        return max;
    }

    private static OnnxTensor tensor(OrtEnvironment env, Tensor t) throws OrtException {
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
