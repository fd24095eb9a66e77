package io.nptstream.flink.operator;

import io.nptstream.flink.model.ModelBundle;
import java.io.Serializable;

/** What the NPT operator needs to know; filled from the job configuration, validated at startup. */
public class NptOperatorConfig implements Serializable {
    private static final long serialVersionUID = 1L;

    /** How each record attends to its context. */
    public enum Inference {
        /** STEP graph with the per-key cache of keys and values: O(W) per record. The default. */
        CACHED,
        /** Re-encode the whole raw history for every call: O(W^2). For benchmarks and checks. */
        FULL_RECOMPUTE
    }

    /** Folder with model.onnx, manifest.pb and golden.pb, as written by model-export. */
    public String modelDir;
    /** Context window W: labeled rows each record attends to; 0 = the model's maximum. */
    public int window = 0;
    /** Records buffered before a flush: one ONNX Runtime call for all their keys (a few when some keys are much busier). */
    public int batchSize = 64;
    /** Longest a record waits in the buffer, in milliseconds. */
    public long batchDelayMs = 10;
    /** ONNX Runtime intra-op threads of the session shared by the TaskManager's slots. */
    public int intraOpThreads = 1;
    /** "cpu" or "cuda". */
    public String device = "cpu";
    /** Context rows older than this, in event time before the record being predicted, are dropped; 0 = no limit. */
    public long maxAgeMs = 0;
    /** Keyed state of a key idle this long (processing time, Flink state TTL) expires; 0 = never. */
    public long stateTtlMs = 0;
    /**
     * Memory limit of the key/value cache of each operator instance (subtask), in bytes (LRU over
     * keys). Only for CAUSAL models served CACHED; evicted keys are rebuilt from their state.
     */
    public long cacheMaxBytes = 256L << 20;

    /** For CAUSAL models; a BIDIRECTIONAL model always recomputes its context. */
    public Inference inference = Inference.CACHED;

    /** Checks the settings that don't depend on the model; one line on the first bad one. */
    public void validate() {
        require(modelDir != null && !modelDir.isBlank(), "modelDir is not set; point it at a folder exported by model-export");
        require(window >= 0, "window must be >= 0 (0 = the model's maximum), got " + window);
        require(batchSize >= 1, "batchSize must be >= 1, got " + batchSize);
        require(batchDelayMs >= 0, "batchDelayMs must be >= 0, got " + batchDelayMs);
        require(intraOpThreads >= 1, "intraOpThreads must be >= 1, got " + intraOpThreads);
        require("cpu".equals(device) || "cuda".equals(device), "device must be cpu or cuda, got '" + device + "'");
        require(maxAgeMs >= 0, "maxAgeMs must be >= 0 (0 = no limit), got " + maxAgeMs);
        require(stateTtlMs >= 0, "stateTtlMs must be >= 0 (0 = never), got " + stateTtlMs);
        require(cacheMaxBytes >= 1, "cacheMaxBytes must be >= 1, got " + cacheMaxBytes);
        require(inference != null, "inference must be CACHED or FULL_RECOMPUTE");
    }

    /** The window W to serve {@code model} with. */
    public int windowFor(ModelBundle model) {
        int max = model.maxWindow();
        require(window <= max, "window " + window + " is larger than the model's max_window " + max
                + " (it was trained with that context); use window <= " + max + " or 0");
        return window == 0 ? max : window;
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }
}
