package io.nptstream.flink.model;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.nptstream.flink.core.ModelOutput;
import io.nptstream.flink.core.Row;
import io.nptstream.flink.state.ContextHistory;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.TreeMap;
import org.apache.flink.annotation.Internal;

/**
 * Predicts a flush's rows from their keys' contexts, in prequential order: each row sees its
 * key's labeled rows from before it (the last W), never its own label, never other keys; then
 * the labeled rows join their key's history.
 *
 * <p>A STEP graph takes all of a key's rows in one call, with the keys of equal row counts
 * together, and each key's context is read once per flush; neighbouring counts share a call where
 * padding their keys to the larger count costs less than the call it saves. A flush goes in
 * rounds of one row per key where rows of one key must not share a call: with a maximum context
 * age (the context shrinks per row), always for a FULL graph (its queries don't see each other),
 * and for a key whose statistics may change with its rows (ContextHistory#standardising): each
 * of its rows then sees its context encoded under the statistics of its own time.
 */
@Internal
public abstract class InferenceEngine {
    /** Padded rows in one ONNX Runtime call, at most (one key's rows may exceed it alone). */
    static final int MAX_ROWS_PER_CALL = 1 << 16;
    /**
     * What one ONNX Runtime call costs beyond its rows, in rows: a call's fixed cost over the cost
     * of one more row in it, measured at 7 rows for the Elec2 model, 3 for the prior model and 2
     * for a model over W 1,024 (one thread, ONNX Runtime alone). A constant, not a timing, so that
     * how a flush is cut is the same on every machine; where a call is worth 2 rows, merging at 3
     * loses at most a row's time.
     */
    static final int CALL_COST_ROWS = 3;

    protected final ModelBundle model;
    protected final OrtSession session;
    protected final int window;
    private final long maxAgeMs;
    protected final TensorArena arena = new TensorArena();
    private long calls;

    protected InferenceEngine(ModelBundle model, OrtSession session, int window, long maxAgeMs) {
        this.model = model;
        this.session = session;
        this.window = window;
        this.maxAgeMs = maxAgeMs;
    }

    /** Rows {@code [from, to)} of one key's batch: the part of it that goes in one call. */
    protected record Slice(KeyBatch batch, int from, int to) {
        int length() {
            return to - from;
        }

        Row row(int i) {
            return batch.rows.get(from + i);
        }
    }

    /** Predicts every row of {@code batches} and appends their labeled rows to the histories. */
    public final void score(List<KeyBatch> batches) throws OrtException {
        if (maxAgeMs > 0 || !wholeKeysPerCall()) {
            scoreInRounds(batches);
            return;
        }
        List<KeyBatch> whole = new ArrayList<>(batches.size());
        List<KeyBatch> rounds = new ArrayList<>();
        for (KeyBatch b : batches) {
            (b.history.standardising() ? rounds : whole).add(b);
        }
        int[] counts = whole.stream().mapToInt(b -> b.rows.size()).toArray();
        for (List<Integer> group : callGroups(counts)) {
            List<Slice> slices = new ArrayList<>(group.size());
            for (int i : group) {
                slices.add(new Slice(whole.get(i), 0, counts[i]));
            }
            scoreInCalls(slices);
        }
        scoreInRounds(rounds);
    }

    /** One row per key per call; a key whose statistics were just refreshed starts its row from its raw history. */
    private void scoreInRounds(List<KeyBatch> batches) throws OrtException {
        int longest = batches.stream().mapToInt(b -> b.rows.size()).max().orElse(0);
        for (int row = 0; row < longest; row++) {
            List<Slice> round = new ArrayList<>(batches.size());
            for (KeyBatch b : batches) {
                if (row < b.rows.size()) {
                    if (maxAgeMs > 0 && b.history.dropOlderThan(b.rows.get(row).eventTimeMs - maxAgeMs) > 0
                            || b.history.restandardised()) {
                        onContextChanged(b.key);
                    }
                    round.add(new Slice(b, row, row + 1));
                }
            }
            scoreInCalls(round);
        }
    }

    /**
     * The indices of {@code counts} in groups of one call each, every key padded to its group's
     * largest count: keys of equal counts together, and neighbouring counts merged where that
     * costs the fewest rows computed plus {@link #CALL_COST_ROWS} a call (a Zipf-spread flush has
     * a long tail of counts with a key or two each). Smallest counts first; index order within a
     * group; on a tie, less padding.
     */
    static List<List<Integer>> callGroups(int[] counts) {
        TreeMap<Integer, List<Integer>> byCount = new TreeMap<>();
        for (int i = 0; i < counts.length; i++) {
            byCount.computeIfAbsent(counts[i], c -> new ArrayList<>()).add(i);
        }
        List<Integer> sizes = new ArrayList<>(byCount.keySet());
        List<List<Integer>> keys = new ArrayList<>(byCount.values());
        int n = sizes.size();
        // cost[j]: the cheapest calls for the j smallest counts; start[j]: where the last of them starts.
        long[] cost = new long[n + 1];
        int[] start = new int[n + 1];
        for (int j = 1; j <= n; j++) {
            cost[j] = Long.MAX_VALUE;
            long members = 0;
            for (int i = j; i >= 1; i--) {
                members += keys.get(i - 1).size();
                long c = cost[i - 1] + CALL_COST_ROWS + members * sizes.get(j - 1);
                if (c < cost[j]) {
                    cost[j] = c;
                    start[j] = i - 1;
                }
            }
        }
        List<List<Integer>> groups = new ArrayList<>();
        for (int j = n; j > 0; j = start[j]) {
            List<Integer> group = new ArrayList<>();
            for (int g = start[j]; g < j; g++) {
                group.addAll(keys.get(g));
            }
            Collections.sort(group);
            groups.add(group);
        }
        Collections.reverse(groups);
        return groups;
    }

    /**
     * Scores a round in calls of at most {@value #MAX_ROWS_PER_CALL} padded rows (keys times their
     * widest history plus new rows): a flush of many keys with long histories, as after a
     * restore, stays far below ONNX Runtime's 2 GB tensor limit. Keys don't see each other, so
     * how they are split doesn't change a prediction.
     */
    private void scoreInCalls(List<Slice> round) throws OrtException {
        int[] rows = new int[round.size()];
        for (int i = 0; i < rows.length; i++) {
            rows[i] = round.get(i).batch().history.size() + round.get(i).length();
        }
        int from = 0;
        for (int to : callEnds(rows, MAX_ROWS_PER_CALL)) {
            scoreSlices(round.subList(from, to));
            from = to;
        }
    }

    /**
     * Where each call of a round ends: keys in order, as many per call as keep (keys in the call)
     * times (their widest rows) within {@code maxRows}; a key wider than that goes alone.
     */
    static List<Integer> callEnds(int[] rows, long maxRows) {
        List<Integer> ends = new ArrayList<>();
        int from = 0;
        int widest = 0;
        for (int i = 0; i < rows.length; i++) {
            int w = Math.max(widest, rows[i]);
            if (i > from && (long) w * (i - from + 1) > maxRows) {
                ends.add(i);
                from = i;
                w = rows[i];
            }
            widest = w;
        }
        if (rows.length > 0) {
            ends.add(rows.length);
        }
        return ends;
    }

    /** ONNX Runtime calls so far. */
    public long calls() {
        return calls;
    }

    /** Whether one call may take several rows of a key (a STEP graph), or only one (a FULL graph). */
    protected abstract boolean wholeKeysPerCall();

    /** Predicts the slices (one per key) and appends their labeled rows to the histories. */
    protected abstract void scoreSlices(List<Slice> slices) throws OrtException;

    /** The key's context as encoded is no longer its history's: it lost rows to the maximum age, or its statistics changed. */
    protected void onContextChanged(String key) {}

    protected final void run() throws OrtException {
        arena.run(session);
        calls++;
    }

    /**
     * Records row {@code index} of {@code kb}'s output and context size; a labeled row whose output
     * is finite then joins the key's history. Returns whether it joined.
     */
    protected final boolean record(KeyBatch kb, int index, ModelOutput output, int contextSize) {
        Row row = kb.rows.get(index);
        kb.outputs[index] = output;
        kb.contextSizes[index] = contextSize;
        if (!row.isLabeled() || !output.isFinite()) {
            return false;
        }
        kb.history.append(row.num, row.cat, row.label, row.eventTimeMs);
        return true;
    }

    /** Copies one row's output out of the graph's output buffers ({@code std} null when the model has none). */
    protected final ModelOutput output(FloatBuffer probsOrMean, FloatBuffer std, int index) {
        if (model.isClassification()) {
            int c = model.numClasses();
            float[] p = new float[c];
            probsOrMean.get(index * c, p, 0, c);
            return new ModelOutput.Classes(p);
        }
        return new ModelOutput.Regression(probsOrMean.get(index), std == null ? Float.NaN : std.get(index));
    }

    /** Writes a row's features, as its key's {@code history} gives them to the graph, into [.., Fn] / [.., Fc] buffers at row index {@code at}. */
    protected final void putFeatures(Row row, ContextHistory history, FloatBuffer num, LongBuffer cat, int at) {
        if (num != null) {
            history.putNumeric(row.num, num, at * model.numNumeric());
        }
        if (cat != null) {
            cat.put(at * model.numCategorical(), row.cat, 0, model.numCategorical());
        }
    }

    protected static void setTrue(ByteBuffer bools, int index) {
        bools.put(index, (byte) 1);
    }
}
