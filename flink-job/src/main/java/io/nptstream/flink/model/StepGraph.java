package io.nptstream.flink.model;

import static io.nptstream.flink.model.GraphNames.*;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.nptstream.flink.core.Row;
import io.nptstream.flink.state.ContextHistory;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntConsumer;
import org.apache.flink.annotation.Internal;

/**
 * Serves a CAUSAL model through its STEP graph. Cached: one call per flush for all keys, each key
 * attending to its cached keys/values (O(W) per row); a key whose cache entry is missing or stale
 * is first rebuilt from its raw history in one extra call. Recomputing: no cache; every call
 * re-encodes each key's raw history together with its new rows (O(W^2), the baseline).
 */
@Internal
public final class StepGraph extends InferenceEngine {
    private final KvCache cache;
    private final int layers;
    private final int cacheDim;

    private StepGraph(ModelBundle model, OrtSession session, int window, long maxAgeMs, KvCache cache) {
        super(model, session, window, maxAgeMs);
        this.cache = cache;
        this.layers = model.abdLayers();
        this.cacheDim = model.cacheDim();
    }

    public static StepGraph cached(ModelBundle model, OrtSession session, int window, long maxAgeMs, KvCache cache) {
        return new StepGraph(model, session, window, maxAgeMs, cache);
    }

    public static StepGraph recomputing(ModelBundle model, OrtSession session, int window, long maxAgeMs) {
        return new StepGraph(model, session, window, maxAgeMs, null);
    }

    @Override
    protected boolean wholeKeysPerCall() {
        return true;
    }

    @Override
    protected void onContextChanged(String key) {
        if (cache != null) {
            cache.invalidate(key);
        }
    }

    @Override
    protected void scoreSlices(List<Slice> slices) throws OrtException {
        if (cache == null) {
            recompute(slices);
        } else {
            step(slices, entries(slices));
        }
    }

    /** Each slice's cache entry, rebuilding the stale ones from their histories in one call. */
    private KvCache.Entry[] entries(List<Slice> slices) throws OrtException {
        KvCache.Entry[] entries = new KvCache.Entry[slices.size()];
        List<Integer> stale = new ArrayList<>();
        for (int b = 0; b < slices.size(); b++) {
            KeyBatch kb = slices.get(b).batch();
            entries[b] = cache.get(kb.key, kb.history);
            if (entries[b] == null) {
                entries[b] = cache.newEntry();
                if (kb.history.size() > 0) {
                    stale.add(b);
                }
            }
        }
        if (stale.isEmpty()) {
            return entries;
        }
        // The contract's rebuild: an all-invalid cache, the raw history as x; the last W rows' new_k/new_v are the cache.
        int batch = stale.size();
        int rows = stale.stream().mapToInt(b -> slices.get(b).batch().history.size()).max().orElse(0);
        Inputs in = new Inputs(batch, rows, false);
        for (int s = 0; s < batch; s++) {
            ContextHistory h = slices.get(stale.get(s)).batch().history;
            for (int i = 0; i < h.size(); i++) {
                in.putHistoryRow(h, i, s * rows + i);
            }
        }
        FloatBuffer newK = arena.floatOutput(NEW_K, batch, layers, rows, cacheDim);
        FloatBuffer newV = arena.floatOutput(NEW_V, batch, layers, rows, cacheDim);
        run();
        for (int s = 0; s < batch; s++) {
            int h = slices.get(stale.get(s)).batch().history.size();
            KvCache.Entry entry = entries[stale.get(s)];
            for (int i = Math.max(0, h - window); i < h; i++) {
                entry.append(newK, newV, (s * layers * rows + i) * cacheDim, rows * cacheDim);
            }
        }
        return entries;
    }

    private void step(List<Slice> slices, KvCache.Entry[] entries) throws OrtException {
        int batch = slices.size();
        int rows = slices.stream().mapToInt(Slice::length).max().orElse(0);
        Inputs in = new Inputs(batch, rows, true);
        for (int b = 0; b < batch; b++) {
            entries[b].copyTo(in.cacheK, in.cacheV, b * window * cacheDim);
            for (int p = window - entries[b].size(); p < window; p++) {
                setTrue(in.cacheValid, b * window + p);
            }
            Slice s = slices.get(b);
            for (int i = 0; i < s.length(); i++) {
                in.putNewRow(s.batch(), s.row(i), b * rows + i);
            }
        }
        Outputs out = outputs(batch, rows, true);
        run();
        for (int b = 0; b < batch; b++) {
            Slice s = slices.get(b);
            KvCache.Entry entry = entries[b];
            int newKv = b * layers * rows;
            recordSlice(s, out, b * rows, i -> entry.append(out.newK, out.newV, (newKv + i) * cacheDim, rows * cacheDim));
            // A key without labeled rows has nothing to cache: it must not take a full-size entry.
            if (s.batch().history.size() > 0) {
                cache.put(s.batch().key, entry, s.batch().history);
            }
        }
    }

    private void recompute(List<Slice> slices) throws OrtException {
        int batch = slices.size();
        int rows = slices.stream().mapToInt(s -> s.batch().history.size() + s.length()).max().orElse(0);
        Inputs in = new Inputs(batch, rows, false);
        for (int b = 0; b < batch; b++) {
            Slice s = slices.get(b);
            ContextHistory h = s.batch().history;
            for (int i = 0; i < h.size(); i++) {
                in.putHistoryRow(h, i, b * rows + i);
            }
            for (int i = 0; i < s.length(); i++) {
                in.putNewRow(s.batch(), s.row(i), b * rows + h.size() + i);
            }
        }
        Outputs out = outputs(batch, rows, false);
        run();
        for (int b = 0; b < batch; b++) {
            Slice s = slices.get(b);
            recordSlice(s, out, b * rows + s.batch().history.size(), i -> {});
        }
    }

    /**
     * Records the slice's rows from output rows {@code [first, first + length)}, each with the
     * context it saw; {@code joined} gets the index of each row that joined the history.
     */
    private void recordSlice(Slice s, Outputs out, int first, IntConsumer joined) {
        KeyBatch kb = s.batch();
        int context = kb.history.size();
        for (int i = 0; i < s.length(); i++) {
            if (record(kb, s.from() + i, output(out.prediction, out.std, first + i), Math.min(window, context))) {
                joined.accept(i);
                context++;
            }
        }
    }

    /** The STEP graph's inputs for {@code batch} sets of {@code rows} rows: every row padding, the cache empty unless copied. */
    private final class Inputs {
        /** Per ABD layer: [batch, W, cacheDim]. */
        final FloatBuffer[] cacheK = new FloatBuffer[layers];
        final FloatBuffer[] cacheV = new FloatBuffer[layers];
        final ByteBuffer cacheValid;
        final FloatBuffer num;
        final LongBuffer cat;
        final FloatBuffer y;
        final ByteBuffer valid;

        /** With {@code cacheCopied}, the caller copies a cache entry into every set (not zeroed first). */
        Inputs(int batch, int rows, boolean cacheCopied) {
            for (int l = 0; l < layers; l++) {
                cacheK[l] = cacheInput(cacheK(l), batch, cacheCopied);
                cacheV[l] = cacheInput(cacheV(l), batch, cacheCopied);
            }
            cacheValid = arena.boolInput(CACHE_VALID, batch, window);
            num = model.numNumeric() > 0 ? arena.floatInput(X_NUM, batch, rows, model.numNumeric()) : null;
            cat = model.numCategorical() > 0 ? arena.longInput(X_CAT, batch, rows, model.numCategorical()) : null;
            y = arena.floatInput(X_Y, batch, rows);
            valid = arena.boolInput(X_VALID, batch, rows);
            for (int i = 0; i < batch * rows; i++) {
                y.put(i, Float.NaN);
            }
        }

        private FloatBuffer cacheInput(String name, int batch, boolean copied) {
            return copied ? arena.unzeroedFloatInput(name, batch, window, cacheDim) : arena.floatInput(name, batch, window, cacheDim);
        }

        void putHistoryRow(ContextHistory h, int i, int at) {
            h.copyNumeric(i, num, at * model.numNumeric());
            h.copyCategorical(i, cat, at * model.numCategorical());
            y.put(at, h.label(i));
            setTrue(valid, at);
        }

        void putNewRow(KeyBatch kb, Row row, int at) {
            putFeatures(row, kb.history, num, cat, at);
            y.put(at, row.label);
            setTrue(valid, at);
        }
    }

    private record Outputs(FloatBuffer prediction, FloatBuffer std, FloatBuffer newK, FloatBuffer newV) {}

    private Outputs outputs(int batch, int rows, boolean withCache) {
        FloatBuffer prediction = model.isClassification()
                ? arena.floatOutput(PROBS, batch, rows, model.numClasses())
                : arena.floatOutput(MEAN, batch, rows);
        FloatBuffer std = model.hasStd() ? arena.floatOutput(STD, batch, rows) : null;
        FloatBuffer newK = withCache ? arena.floatOutput(NEW_K, batch, layers, rows, cacheDim) : null;
        FloatBuffer newV = withCache ? arena.floatOutput(NEW_V, batch, layers, rows, cacheDim) : null;
        return new Outputs(prediction, std, newK, newV);
    }
}
