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
import java.util.Arrays;
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

    /**
     * Recomputing: all of a key's rows in one call, as every call re-encodes the history. Cached:
     * a call computes B x M rows, M being the busiest key's count, so one hot key pads all others;
     * the rows per key and call are chosen to minimise the padded rows plus a fixed cost per call.
     */
    @Override
    protected int rowsPerKeyAndCall(List<KeyBatch> batches) {
        int[] counts = batches.stream().mapToInt(b -> b.rows.size()).toArray();
        return cache == null ? Arrays.stream(counts).max().orElse(1) : rowsPerCall(counts);
    }

    /** What ONNX Runtime spends on a call besides its rows, in rows: about 1 ms on a CPU, several rows' worth. */
    static final int CALL_OVERHEAD_ROWS = 8;

    /** The rows per key and call that minimise sum over calls of (keys in the call x rows per key + overhead). */
    static int rowsPerCall(int[] counts) {
        int[] sorted = counts.clone();
        Arrays.sort(sorted);
        int longest = sorted[sorted.length - 1];
        int best = longest;
        long bestCost = Long.MAX_VALUE;
        for (int m = longest; m >= 1; m--) {
            long cost = 0;
            for (int from = 0; from < longest && cost < bestCost; from += m) {
                cost += (long) keysWithMoreThan(sorted, from) * m + CALL_OVERHEAD_ROWS;
            }
            if (cost < bestCost) {
                bestCost = cost;
                best = m;
            }
        }
        return best;
    }

    private static int keysWithMoreThan(int[] sorted, int rows) {
        int lo = 0;
        int hi = sorted.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (sorted[mid] > rows) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        return sorted.length - lo;
    }

    @Override
    protected void onRowsDropped(String key) {
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
        Inputs in = new Inputs(batch, rows);
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
        Inputs in = new Inputs(batch, rows);
        for (int b = 0; b < batch; b++) {
            entries[b].copyTo(in.cacheK, in.cacheV, b * layers * window * cacheDim);
            for (int p = window - entries[b].size(); p < window; p++) {
                setTrue(in.cacheValid, b * window + p);
            }
            Slice s = slices.get(b);
            for (int i = 0; i < s.length(); i++) {
                in.putNewRow(s.row(i), b * rows + i);
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
        Inputs in = new Inputs(batch, rows);
        for (int b = 0; b < batch; b++) {
            Slice s = slices.get(b);
            ContextHistory h = s.batch().history;
            for (int i = 0; i < h.size(); i++) {
                in.putHistoryRow(h, i, b * rows + i);
            }
            for (int i = 0; i < s.length(); i++) {
                in.putNewRow(s.row(i), b * rows + h.size() + i);
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

    /** The STEP graph's inputs for {@code batch} sets of {@code rows} rows: an empty cache, every row padding. */
    private final class Inputs {
        final FloatBuffer cacheK;
        final FloatBuffer cacheV;
        final ByteBuffer cacheValid;
        final FloatBuffer num;
        final LongBuffer cat;
        final FloatBuffer y;
        final ByteBuffer valid;

        Inputs(int batch, int rows) {
            cacheK = arena.floatInput(CACHE_K, batch, layers, window, cacheDim);
            cacheV = arena.floatInput(CACHE_V, batch, layers, window, cacheDim);
            cacheValid = arena.boolInput(CACHE_VALID, batch, window);
            num = model.numNumeric() > 0 ? arena.floatInput(X_NUM, batch, rows, model.numNumeric()) : null;
            cat = model.numCategorical() > 0 ? arena.longInput(X_CAT, batch, rows, model.numCategorical()) : null;
            y = arena.floatInput(X_Y, batch, rows);
            valid = arena.boolInput(X_VALID, batch, rows);
            for (int i = 0; i < batch * rows; i++) {
                y.put(i, Float.NaN);
            }
        }

        void putHistoryRow(ContextHistory h, int i, int at) {
            h.copyNumeric(i, num, at * model.numNumeric());
            h.copyCategorical(i, cat, at * model.numCategorical());
            y.put(at, h.label(i));
            setTrue(valid, at);
        }

        void putNewRow(Row row, int at) {
            putFeatures(row, num, cat, at);
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
