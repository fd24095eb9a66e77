package io.nptstream.flink.operator;

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
    /** Context window W; 0 = the model's maximum. */
    public int window = 0;
    /** Records buffered before one ONNX Runtime call. */
    public int batchSize = 64;
    /** Longest a record waits in the buffer, in milliseconds. */
    public long batchDelayMs = 10;
    /** ONNX Runtime intra-op threads of the session shared by the TaskManager's slots. */
    public int intraOpThreads = 1;
    /** "cpu" or "cuda". */
    public String device = "cpu";
    /** Context rows older than this (event time) are dropped; 0 = no limit. */
    public long maxAgeMs = 0;
    /** Keyed state of a key idle this long expires; 0 = never. */
    public long stateTtlMs = 0;
    /** Memory limit of the per-TaskManager key/value cache, in bytes (LRU over keys). */
    public long cacheMaxBytes = 256L << 20;

    public Inference inference = Inference.CACHED;
}
