package io.nptstream.flink.operator;

import io.nptstream.flink.core.Rejected;
import io.nptstream.flink.core.Row;
import io.nptstream.flink.core.Scored;
import io.nptstream.flink.model.FullEngine;
import io.nptstream.flink.model.InferenceEngine;
import io.nptstream.flink.model.KeyBatch;
import io.nptstream.flink.model.ModelBundle;
import io.nptstream.flink.model.SharedSessions;
import io.nptstream.flink.model.StepEngine;
import io.nptstream.flink.state.ContextHistory;
import io.nptstream.flink.state.ContextHistorySerializer;
import io.nptstream.flink.state.KvCache;
import io.nptstream.proto.Reason;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ScheduledFuture;
import org.apache.flink.api.common.state.StateTtlConfig;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.BoundedOneInput;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;

/**
 * The NPT operator on a keyed stream of {@link Row}s: buffers records (up to {@code batchSize},
 * or {@code batchDelayMs} after the first), then predicts the whole buffer in one engine call and
 * emits one {@link Scored} per record, in arrival order. Each key's labeled rows are kept in keyed
 * state ({@link ContextHistory}); the buffer is flushed before every checkpoint barrier and at the
 * end of input, so no record is ever lost or left unanswered.
 */
public final class NptPredictOperator extends AbstractStreamOperator<Scored>
        implements OneInputStreamOperator<Row, Scored>, BoundedOneInput {
    private static final long serialVersionUID = 1L;

    static final String STATE_NAME = "npt-context-history";

    private final NptOperatorConfig config;

    private transient ModelBundle model;
    private transient int window;
    private transient SharedSessions.Lease session;
    private transient KvCache cache;
    private transient InferenceEngine engine;
    private transient ValueState<ContextHistory> histories;
    private transient NptMetrics metrics;
    private transient List<Buffered> buffer;
    private transient ScheduledFuture<?> flushTimer;
    /** Keys this subtask has served, for the activeKeys gauge when there is no cache to count them. */
    private transient Set<String> keysSeen;

    /** A record waiting in the buffer, with when it arrived and, after inference, where its result is. */
    private static final class Buffered {
        final Row row;
        /** The input's timestamp, kept on the output. */
        final boolean hasTimestamp;
        final long timestamp;
        final long arrivalNanos;
        KeyBatch batch;
        int index;

        // The StreamRecord itself is not kept: with object reuse, upstream may recycle it.
        Buffered(StreamRecord<Row> record, long arrivalNanos) {
            this.row = record.getValue();
            this.hasTimestamp = record.hasTimestamp();
            this.timestamp = record.getTimestamp();
            this.arrivalNanos = arrivalNanos;
        }
    }

    public NptPredictOperator(NptOperatorConfig config) {
        this.config = config;
    }

    @Override
    public void open() throws Exception {
        super.open();
        model = ModelBundle.load(config.modelDir);
        window = config.windowFor(model);
        session = SharedSessions.acquire(model, config.device, config.intraOpThreads);
        if (!model.isCausal()) {
            engine = new FullEngine(model, session.session(), window, config.maxAgeMs);
        } else if (config.inference == NptOperatorConfig.Inference.FULL_RECOMPUTE) {
            engine = StepEngine.recomputing(model, session.session(), window, config.maxAgeMs);
        } else {
            cache = new KvCache(model.layers(), window, model.rowDim(), config.cacheMaxBytes);
            engine = StepEngine.cached(model, session.session(), window, config.maxAgeMs, cache);
        }
        ValueStateDescriptor<ContextHistory> descriptor = new ValueStateDescriptor<>(STATE_NAME, ContextHistorySerializer.INSTANCE);
        if (config.stateTtlMs > 0) {
            descriptor.enableTimeToLive(StateTtlConfig.newBuilder(Duration.ofMillis(config.stateTtlMs))
                    .updateTtlOnReadAndWrite()
                    .neverReturnExpired()
                    .build());
        }
        histories = getPartitionedState(descriptor);
        buffer = new ArrayList<>(config.batchSize);
        keysSeen = cache == null ? new HashSet<>() : null;
        metrics = new NptMetrics(getMetricGroup(), model.version(), model.isClassification(),
                () -> cache != null ? cache.keys() : keysSeen.size(), () -> cache == null ? 0 : cache.bytes(),
                () -> cache == null ? 0 : cache.rebuilds(), engine::calls);
    }

    @Override
    public void processElement(StreamRecord<Row> element) throws Exception {
        checkLayout(element.getValue());
        buffer.add(new Buffered(element, System.nanoTime()));
        metrics.recordsIn.inc();
        if (buffer.size() >= config.batchSize || config.batchDelayMs == 0) {
            flush();
        } else if (flushTimer == null) {
            long now = getProcessingTimeService().getCurrentProcessingTime();
            flushTimer = getProcessingTimeService().registerTimer(now + config.batchDelayMs, time -> {
                flushTimer = null;
                flush();
            });
        }
    }

    /** Flushes first: a watermark must not overtake the buffered records it covers. */
    @Override
    public void processWatermark(Watermark mark) throws Exception {
        flush();
        super.processWatermark(mark);
    }

    @Override
    public void prepareSnapshotPreBarrier(long checkpointId) throws Exception {
        flush();
        super.prepareSnapshotPreBarrier(checkpointId);
    }

    @Override
    public void endInput() throws Exception {
        flush();
    }

    @Override
    public void finish() throws Exception {
        flush();
        super.finish();
    }

    @Override
    public void close() throws Exception {
        try {
            if (session != null) {
                session.close();
            }
        } finally {
            super.close();
        }
    }

    /** Predicts everything buffered: one engine call for all keys, then state updates, then emission in arrival order. */
    private void flush() throws Exception {
        if (flushTimer != null) {
            flushTimer.cancel(false);
            flushTimer = null;
        }
        if (buffer.isEmpty()) {
            return;
        }
        Map<String, List<Buffered>> byKey = new LinkedHashMap<>();
        for (Buffered b : buffer) {
            byKey.computeIfAbsent(b.row.key, k -> new ArrayList<>()).add(b);
        }
        List<KeyBatch> batches = new ArrayList<>(byKey.size());
        // What each key's state held before, to write back only the histories that changed.
        ContextHistory[] stored = new ContextHistory[byKey.size()];
        long[] appendedBefore = new long[byKey.size()];
        int[] sizeBefore = new int[byKey.size()];
        for (Map.Entry<String, List<Buffered>> e : byKey.entrySet()) {
            setCurrentKey(e.getKey());
            stored[batches.size()] = histories.value();
            ContextHistory history = historyFor(e.getKey(), stored[batches.size()]);
            appendedBefore[batches.size()] = history.appended();
            sizeBefore[batches.size()] = history.size();
            List<Row> rows = new ArrayList<>(e.getValue().size());
            for (Buffered b : e.getValue()) {
                rows.add(b.row);
            }
            KeyBatch batch = new KeyBatch(e.getKey(), history, rows);
            for (int i = 0; i < rows.size(); i++) {
                e.getValue().get(i).batch = batch;
                e.getValue().get(i).index = i;
            }
            batches.add(batch);
            if (keysSeen != null) {
                keysSeen.add(e.getKey());
            }
        }
        engine.score(batches);
        for (int i = 0; i < batches.size(); i++) {
            KeyBatch batch = batches.get(i);
            if (batch.history != stored[i] || batch.history.appended() != appendedBefore[i] || batch.history.size() != sizeBefore[i]) {
                setCurrentKey(batch.key);
                histories.update(batch.history);
            }
        }
        metrics.batchSize.update(buffer.size());
        for (Buffered b : buffer) {
            emit(b);
        }
        buffer.clear();
    }

    /** The key's history as stored, a new one for a new key, or the stored rows in a ring resized to this window. */
    private ContextHistory historyFor(String key, ContextHistory history) {
        int capacity = model.historyLayers() * window;
        if (history == null) {
            return new ContextHistory(capacity, model.numNumeric(), model.numCategorical());
        }
        if (history.numNumeric() != model.numNumeric() || history.numCategorical() != model.numCategorical()) {
            throw new IllegalStateException("state of key '" + key + "' holds rows of " + history.numNumeric() + " numeric and "
                    + history.numCategorical() + " categorical features, model " + model.version() + " has "
                    + model.numNumeric() + " and " + model.numCategorical() + "; start this model without the old state");
        }
        return history.capacity() == capacity ? history : history.withCapacity(capacity);
    }

    /** Rows come from the job's validation against this model's manifest; anything else is a bug upstream, not bad input. */
    private void checkLayout(Row row) {
        int numeric = row.num == null ? 0 : row.num.length;
        int categorical = row.cat == null ? 0 : row.cat.length;
        if (numeric != model.numNumeric() || categorical != model.numCategorical()) {
            throw new IllegalArgumentException("row '" + row.id + "' of key '" + row.key + "' has " + numeric + " numeric and "
                    + categorical + " categorical values, model " + model.version() + " takes " + model.numNumeric() + " and "
                    + model.numCategorical() + "; build rows with RecordValidator over this model's manifest");
        }
    }

    private void emit(Buffered b) {
        Row row = b.row;
        float[] prediction = b.batch.predictions[b.index];
        if (!b.batch.servable[b.index]) {
            metrics.nonFinitePredictions.inc();
            String detail = "record id='" + row.id + "' of key '" + row.key + "': the model's output "
                    + Arrays.toString(prediction) + " is not finite; it was not served and did not join the key's context";
            output.collect(NptPredict.DEAD_LETTERS, new StreamRecord<>(new Rejected(null, "", -1, -1,
                    Reason.NON_FINITE_PREDICTION, detail, System.currentTimeMillis())));
            return;
        }
        Scored s = new Scored();
        s.key = row.key;
        s.id = row.id;
        s.eventTimeMs = row.eventTimeMs;
        s.label = row.label;
        s.contextSize = b.batch.contextSizes[b.index];
        if (model.isClassification()) {
            s.probs = prediction;
            s.value = Float.NaN;
            s.std = Float.NaN;
        } else {
            s.value = prediction[0];
            s.std = prediction[1];
        }
        if (row.isLabeled()) {
            metrics.scoreLabeled(prediction, row.label);
        }
        metrics.contextSize.update(s.contextSize);
        s.latencyUs = (System.nanoTime() - b.arrivalNanos) / 1000;
        metrics.inferenceLatencyUs.update(s.latencyUs);
        metrics.predictionsOut.inc();
        output.collect(b.hasTimestamp ? new StreamRecord<>(s, b.timestamp) : new StreamRecord<>(s));
    }
}
