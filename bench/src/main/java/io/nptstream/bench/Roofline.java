package io.nptstream.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.nptstream.flink.model.ModelBundle;
import io.nptstream.proto.Architecture;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Map;

/**
 * The compute ceiling: FLOPs of one cached prediction, counted from the manifest's architecture,
 * and this machine's float32 peak, measured as a large MatMul through ONNX Runtime.
 */
public final class Roofline {
    private Roofline() {}

    /**
     * FLOPs (multiply-add = 2) of one record on the STEP path with a full window W: the record goes
     * through the network twice, as a context row (label visible) and as a query (label masked).
     * Per pass, each ABD layer: q, out and residual projections (3 D x D), k and v (2 D x Dc, Dc the
     * cache width: kv_heads x D / heads), the feed-forward (2 D x ff*D), and attention over
     * W cached rows plus itself (scores and values, 2 x (W+1) x D);
     * each ABA layer the same over the d attribute tokens of width e. Embeddings and heads
     * (under 1%) are left out.
     */
    public static double flopsPerRecord(Architecture a, int window) {
        double D = a.getRowDim();
        double e = a.getEmbedDim();
        double d = a.getAttributes();
        double f = a.getFfMult();
        double Dc = ModelBundle.cacheDim(a);
        double abd = 2 * (3 * D * D + 2 * D * Dc + 2 * D * f * D) + 2 * 2 * (window + 1) * D;
        double aba = d * 2 * (5 * e * e + 2 * e * f * e) + 2 * 2 * d * d * e;
        return 2 * (a.getAbdLayers() * abd + a.getAbaLayers() * aba);
    }

    /** GFLOP/s of an n x n by n x n float32 MatMul model (written by bench/matmul_onnx.py), best of a few runs. */
    public static double peakGflops(Path matmulModel, int n, int threads, int runs) throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setIntraOpNumThreads(threads);
            try (OrtSession session = env.createSession(matmulModel.toString(), opts)) {
                float[] values = new float[n * n];
                for (int i = 0; i < values.length; i++) {
                    values[i] = (i % 17) / 17f;
                }
                long[] shape = {n, n};
                try (OnnxTensor a = OnnxTensor.createTensor(env, FloatBuffer.wrap(values), shape);
                     OnnxTensor b = OnnxTensor.createTensor(env, FloatBuffer.wrap(values), shape)) {
                    Map<String, OnnxTensor> inputs = Map.of("a", a, "b", b);
                    double best = Double.MAX_VALUE;
                    for (int r = 0; r < runs + 2; r++) {
                        long t = System.nanoTime();
                        session.run(inputs).close();
                        double s = (System.nanoTime() - t) / 1e9;
                        if (r >= 2) {
                            best = Math.min(best, s);
                        }
                    }
                    return 2.0 * n * n * n / best / 1e9;
                }
            }
        }
    }
}
