package io.nptstream.flink.model;

import io.nptstream.flink.core.Row;
import io.nptstream.flink.state.ContextHistory;
import java.util.List;

/**
 * One key's part of a flush: its context history (read from keyed state; the engine appends the
 * labeled rows to it) and its new rows in arrival order. The engine fills in one prediction, one
 * context size and whether the prediction may be served per row.
 */
public final class KeyBatch {
    public final String key;
    public final ContextHistory history;
    public final List<Row> rows;
    /** Per row: the class probabilities, or {mean, std} for regression (std NaN when the model has none). */
    public final float[][] predictions;
    /** Per row: labeled context rows it attended to. */
    public final int[] contextSizes;
    /**
     * Per row: whether its prediction is finite. One that is not is never served as a prediction,
     * and its row does not join the context.
     */
    public final boolean[] servable;

    public KeyBatch(String key, ContextHistory history, List<Row> rows) {
        this.key = key;
        this.history = history;
        this.rows = List.copyOf(rows);
        this.predictions = new float[rows.size()][];
        this.contextSizes = new int[rows.size()];
        this.servable = new boolean[rows.size()];
    }
}
