package io.nptstream.flink.config;

import static io.nptstream.flink.config.NptOptions.BATCH_DELAY_MS;
import static io.nptstream.flink.config.NptOptions.BATCH_SIZE;
import static io.nptstream.flink.config.NptOptions.CACHE_MAX_BYTES;
import static io.nptstream.flink.config.NptOptions.DEVICE;
import static io.nptstream.flink.config.NptOptions.INFERENCE;
import static io.nptstream.flink.config.NptOptions.MAX_AGE_MS;
import static io.nptstream.flink.config.NptOptions.MODEL_DIR;
import static io.nptstream.flink.config.NptOptions.MODEL_STORE;
import static io.nptstream.flink.config.NptOptions.MODEL_VERSION;
import static io.nptstream.flink.config.NptOptions.ORT_THREADS;
import static io.nptstream.flink.config.NptOptions.STATE_TTL_MS;
import static io.nptstream.flink.config.NptOptions.WINDOW;

import io.nptstream.flink.model.Device;
import io.nptstream.flink.model.ModelBundle;
import io.nptstream.flink.model.ModelStore;
import java.io.Serializable;

/**
 * What the NPT operator needs to know. Each field is the option of {@link NptOptions} that it
 * names, with that option's default; {@link #from} reads them all from settings.
 */
public class NptOperatorConfig implements Serializable {
    private static final long serialVersionUID = 1L;

    /** How each record attends to its context (for CAUSAL models; a BIDIRECTIONAL one always recomputes). */
    public enum Inference {
        /** The STEP graph with the per-key cache of layer keys and values: O(W) per record. */
        CACHED,
        /** The STEP graph over the whole raw history for every call: O(W^2). For benchmarks and checks. */
        RECOMPUTE
    }

    public String modelDir = MODEL_DIR.defaultValue();
    public String modelStore = MODEL_STORE.defaultValue();
    /** With a store: the version to start with; {@link #checkModel} resolves {@code latest} to the one it names. */
    public String modelVersion = MODEL_VERSION.defaultValue();
    public int window = WINDOW.defaultValue();
    public int batchSize = BATCH_SIZE.defaultValue();
    public long batchDelayMs = BATCH_DELAY_MS.defaultValue();
    public int intraOpThreads = ORT_THREADS.defaultValue();
    public Device device = DEVICE.defaultValue();
    public Inference inference = INFERENCE.defaultValue();
    public long maxAgeMs = MAX_AGE_MS.defaultValue();
    public long stateTtlMs = STATE_TTL_MS.defaultValue();
    public long cacheMaxBytes = CACHE_MAX_BYTES.defaultValue();

    /** The operator options of {@code s}; problems go to {@code s}. */
    public static NptOperatorConfig from(Settings s) {
        NptOperatorConfig c = new NptOperatorConfig();
        c.modelDir = s.get(MODEL_DIR);
        c.modelStore = s.get(MODEL_STORE);
        c.modelVersion = s.get(MODEL_VERSION);
        c.window = s.get(WINDOW);
        c.batchSize = s.get(BATCH_SIZE);
        c.batchDelayMs = s.get(BATCH_DELAY_MS);
        c.intraOpThreads = s.get(ORT_THREADS);
        c.device = s.get(DEVICE);
        c.inference = s.get(INFERENCE);
        c.maxAgeMs = s.get(MAX_AGE_MS);
        c.stateTtlMs = s.get(STATE_TTL_MS);
        c.cacheMaxBytes = s.get(CACHE_MAX_BYTES);
        return c;
    }

    /**
     * Checks values set in code against their options' ranges (settings read through {@link #from}
     * are checked already); one line, named like the option, on the first bad one.
     */
    public void validate() {
        String problem = modelSourceProblem();
        if (problem != null) {
            throw new IllegalArgumentException(problem);
        }
        if (device == null || inference == null) {
            throw new IllegalArgumentException(DEVICE.key() + " and " + INFERENCE.key() + " must be set");
        }
        WINDOW.check(window);
        BATCH_SIZE.check(batchSize);
        BATCH_DELAY_MS.check(batchDelayMs);
        ORT_THREADS.check(intraOpThreads);
        MAX_AGE_MS.check(maxAgeMs);
        STATE_TTL_MS.check(stateTtlMs);
        CACHE_MAX_BYTES.check(cacheMaxBytes);
    }

    /** One line when no model is set. */
    private String modelSourceProblem() {
        if ((modelDir == null || modelDir.isBlank()) && (modelStore == null || modelStore.isBlank())) {
            return MODEL_DIR.key() + " is not set: point it at a folder exported by model-export (or set "
                    + MODEL_STORE.key() + " to a store of model versions)";
        }
        return null;
    }

    /**
     * The model of {@code version} in the store, or without a store the model of model.dir (a folder
     * holds one: the version is not read). A store wins over model.dir, so that the bundled
     * settings' model.dir needs no unsetting.
     */
    public ModelBundle loadModel(String version) {
        return modelStore == null ? ModelBundle.load(modelDir) : ModelStore.at(modelStore).fetch(version);
    }

    /**
     * Checks the settings and the model to start with: its manifest, its graph, its golden cases,
     * the window and the device. With a store, model.version=latest is resolved here, once, so
     * that every subtask serves the same version. One IllegalArgumentException line on the first problem.
     */
    public ModelBundle checkModel() {
        validate();
        if (modelStore != null) {
            modelVersion = ModelStore.at(modelStore).resolve(modelVersion);
        }
        return loadModel(modelVersion).check(window, device);
    }
}
