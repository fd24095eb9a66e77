package io.nptstream.flink.model;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Direct buffers for a graph's inputs and outputs, kept across calls and grown when a call needs
 * more: ONNX Runtime reads the inputs from them and writes the outputs into them (pinned outputs),
 * so a call allocates no big arrays. The tensors that wrap them live for one call.
 *
 * <p>Use: ask for each input's buffer with its shape, fill it, ask for the outputs, {@link #run}.
 * Not thread-safe: one per operator instance.
 */
final class TensorArena {
    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final Map<String, ByteBuffer> slabs = new HashMap<>();
    private final Map<String, Pending> inputs = new LinkedHashMap<>();
    private final Map<String, Pending> outputs = new LinkedHashMap<>();

    private record Pending(ByteBuffer bytes, OnnxJavaType type, long[] shape) {}

    /** A zeroed float input of {@code shape}; index it flat, row-major. */
    FloatBuffer floatInput(String name, long... shape) {
        return floats(inputs, name, OnnxJavaType.FLOAT, shape);
    }

    /**
     * A float input that the caller writes in full: not zeroed, so it holds what an earlier call
     * left (for the cache, whose zeroing cost as much as its copy).
     */
    FloatBuffer unzeroedFloatInput(String name, long... shape) {
        return slab(inputs, name, OnnxJavaType.FLOAT, shape, Float.BYTES, false).asFloatBuffer();
    }

    LongBuffer longInput(String name, long... shape) {
        return slab(inputs, name, OnnxJavaType.INT64, shape, Long.BYTES, true).asLongBuffer();
    }

    /** A bool input, all false: one byte per element. */
    ByteBuffer boolInput(String name, long... shape) {
        return slab(inputs, name, OnnxJavaType.BOOL, shape, 1, true);
    }

    /** A float output of {@code shape}, filled by {@link #run}. */
    FloatBuffer floatOutput(String name, long... shape) {
        return floats(outputs, name, OnnxJavaType.FLOAT, shape);
    }

    /** Runs {@code session} on the inputs asked for since the last run, into the outputs asked for. */
    void run(OrtSession session) throws OrtException {
        Map<String, OnnxTensor> in = new LinkedHashMap<>();
        Map<String, OnnxTensor> out = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, Pending> e : inputs.entrySet()) {
                in.put(e.getKey(), tensor(e.getValue()));
            }
            for (Map.Entry<String, Pending> e : outputs.entrySet()) {
                out.put(e.getKey(), tensor(e.getValue()));
            }
            // Pinned outputs are written in place and not owned by the result; closing it frees nothing of ours.
            session.run(in, out).close();
        } finally {
            in.values().forEach(OnnxTensor::close);
            out.values().forEach(OnnxTensor::close);
            inputs.clear();
            outputs.clear();
        }
    }

    private OnnxTensor tensor(Pending p) throws OrtException {
        ByteBuffer b = p.bytes.duplicate().order(ByteOrder.nativeOrder());
        return switch (p.type) {
            case FLOAT -> OnnxTensor.createTensor(env, b.asFloatBuffer(), p.shape);
            case INT64 -> OnnxTensor.createTensor(env, b.asLongBuffer(), p.shape);
            default -> OnnxTensor.createTensor(env, b, p.shape, p.type);
        };
    }

    private FloatBuffer floats(Map<String, Pending> calls, String name, OnnxJavaType type, long[] shape) {
        return slab(calls, name, type, shape, Float.BYTES, true).asFloatBuffer();
    }

    /** The named slab, at least big enough, zeroed over the call's extent when {@code zeroed}. */
    private ByteBuffer slab(Map<String, Pending> calls, String name, OnnxJavaType type, long[] shape, int elementBytes,
            boolean zeroed) {
        long elements = 1;
        for (long d : shape) {
            elements *= d;
        }
        long bytes = elements * elementBytes;
        if (bytes > Integer.MAX_VALUE - 64) {
            throw new IllegalStateException("tensor " + name + " of shape " + Arrays.toString(shape)
                    + " is over 2 GB; lower batchSize or the window");
        }
        ByteBuffer slab = slabs.get(name);
        if (slab == null || slab.capacity() < bytes) {
            long grown = Math.max(bytes, slab == null ? 0 : Math.min(Integer.MAX_VALUE - 64, 2L * slab.capacity()));
            slab = ByteBuffer.allocateDirect((int) grown).order(ByteOrder.nativeOrder());
            slabs.put(name, slab);
        }
        ByteBuffer view = slab.duplicate().order(ByteOrder.nativeOrder());
        view.position(0).limit((int) bytes);
        ByteBuffer call = view.slice().order(ByteOrder.nativeOrder());
        if (zeroed) {
            zero(call);
        }
        calls.put(name, new Pending(call, type, shape.clone()));
        return call;
    }

    private static final byte[] ZEROS = new byte[8192];

    private static void zero(ByteBuffer b) {
        for (int i = 0; i < b.limit(); i += ZEROS.length) {
            b.put(i, ZEROS, 0, Math.min(ZEROS.length, b.limit() - i));
        }
    }
}
