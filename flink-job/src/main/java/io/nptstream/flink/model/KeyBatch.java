package io.nptstream.flink.model;

import io.nptstream.flink.core.ModelOutput;
import io.nptstream.flink.core.Row;
import io.nptstream.flink.state.ContextHistory;
import java.util.List;
import org.apache.flink.annotation.Internal;

/**
 * One key's part of a flush: its context history (read from keyed state; the engine appends the
 * labeled rows to it) and its new rows in arrival order. The engine fills in one output and one
 * context size per row.
 */
@Internal
public final class KeyBatch {
    public final String key;
    public final ContextHistory history;
    public final List<Row> rows;
    /**
     * Per row: what the model predicted. One that is not finite is never served as a prediction,
     * and its row does not join the context.
     */
    public final ModelOutput[] outputs;
    /** Per row: labeled context rows it attended to. */
    public final int[] contextSizes;

    public KeyBatch(String key, ContextHistory history, List<Row> rows) {
        this.key = key;
        this.history = history;
        this.rows = List.copyOf(rows);
        this.outputs = new ModelOutput[rows.size()];
        this.contextSizes = new int[rows.size()];
    }
}
