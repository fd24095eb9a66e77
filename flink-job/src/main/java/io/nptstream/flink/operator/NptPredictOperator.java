package io.nptstream.flink.operator;

import io.nptstream.flink.config.NptOperatorConfig;
import io.nptstream.flink.core.ModelOutput;
import io.nptstream.flink.core.Rejected;
import io.nptstream.flink.core.Row;
import io.nptstream.flink.core.Scored;
import io.nptstream.flink.model.FullGraph;
import io.nptstream.flink.model.InferenceEngine;
import io.nptstream.flink.model.KeyBatch;
import io.nptstream.flink.model.KvCache;
import io.nptstream.flink.model.ModelBundle;
import io.nptstream.flink.model.SharedSessions;
import io.nptstream.flink.model.StepGraph;
import io.nptstream.flink.state.ContextHistory;
import io.nptstream.flink.state.ContextHistorySerializer;
import io.nptstream.proto.Reason;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.StateTtlConfig;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.runtime.execution.SuppressRestartsException;
import org.apache.flink.runtime.state.StateInitializationContext;
import org.apache.flink.runtime.state.StateSnapshotContext;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.BoundedOneInput;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.api.operators.TwoInputStreamOperator;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The NPT operator on a keyed stream of {@link Row}s: buffers records (up to {@code batchSize},
 * or {@code batchDelayMs} after the first), then predicts the whole buffer in one engine call and
 * emits one {@link Scored} per record, in arrival order. Each key's labeled rows are kept in keyed
 * state ({@link ContextHistory}); the buffer is flushed before every checkpoint barrier and at the
 * end of input, so no record is ever lost or left unanswered.
 *
 * <p>As a two-input operator its second input is the broadcast stream of model versions that
 * {@link ModelGate} accepted. A version is fetched when it arrives and served from the next
 * checkpoint barrier on (at once without checkpoints): the barrier is the same cut of the stream on
 * every subtask, so every record before it is predicted by the old model, every record after it by
 * the new one, and a restore from that checkpoint comes back on the new one. The caches are
 * rebuilt from the raw rows in state, which do not depend on the model.
 */
final class NptPredictOperator extends AbstractStreamOperator<Scored>
        implements OneInputStreamOperator<Row, Scored>, TwoInputStreamOperator<Row, String, Scored>, BoundedOneInput {
    private static final Logger LOG = LoggerFactory.getLogger(NptPredictOperator.class);
    private static final long serialVersionUID = 1L;

    static final String STATE_NAME = "npt-context-history";
    /** The layout (ModelBundle.stateLayout) of the model that wrote the keyed state, in every snapshot. */
    static final String LAYOUT_STATE_NAME = "npt-model-layout";
    /** The model_version being served, in every snapshot: a restore serves it again. */
    static final String VERSION_STATE_NAME = "npt-model-version";

    private final NptOperatorConfig config;
    /** Whether a swap waits for the next checkpoint barrier; without checkpoints it takes effect on arrival. */
    private final boolean swapAtCheckpoints;

    private transient ModelBundle model;
    private transient int window;
    private transient SharedSessions.Lease session;
    private transient KvCache cache;
    private transient InferenceEngine engine;
    private transient ValueState<ContextHistory> histories;
    private transient ListState<String> layout;
    private transient ListState<String> servedVersion;
    /** A model fetched for a swap, served from the next checkpoint barrier on. */
    private transient ModelBundle pending;
    private transient NptMetrics metrics;
    private transient List<Buffered> buffer;
    private transient FlushTrigger trigger;
    /**
     * Keys whose context this subtask has first stored since it started: the activeKeys gauge
     * when there is no cache to count them (a count, not a set, so that it takes no memory per key).
     */
    private transient long keysStored;

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

    NptPredictOperator(NptOperatorConfig config, boolean swapAtCheckpoints) {
        this.config = config;
        this.swapAtCheckpoints = swapAtCheckpoints;
    }

    @Override
    public void initializeState(StateInitializationContext context) throws Exception {
        super.initializeState(context);
        layout = context.getOperatorStateStore().getUnionListState(new ListStateDescriptor<>(LAYOUT_STATE_NAME, String.class));
        servedVersion = context.getOperatorStateStore().getUnionListState(new ListStateDescriptor<>(VERSION_STATE_NAME, String.class));
    }

    @Override
    public void snapshotState(StateSnapshotContext context) throws Exception {
        super.snapshotState(context);
        layout.update(List.of(model.stateLayout()));
        servedVersion.update(List.of(model.version()));
    }

    @Override
    public void open() throws Exception {
        super.open();
        // Validation upstream reads records with the configured model's manifest: its layout must be the state's.
        ModelBundle configured = config.loadModel(config.modelVersion);
        checkRestoredLayout(configured);
        ModelBundle start = startModel(configured);
        // Swaps keep the layout, and so the task: the metrics are registered once.
        metrics = new NptMetrics(getMetricGroup(), () -> model.version(), start.isClassification(),
                this::activeKeys, () -> cache == null ? 0 : cache.bytes(),
                () -> cache == null ? 0 : cache.lookups(), () -> cache == null ? 0 : cache.rebuilds(), () -> engine.calls());
        serve(start);
        ValueStateDescriptor<ContextHistory> descriptor = new ValueStateDescriptor<>(STATE_NAME, ContextHistorySerializer.INSTANCE);
        if (config.stateTtlMs > 0) {
            descriptor.enableTimeToLive(StateTtlConfig.newBuilder(Duration.ofMillis(config.stateTtlMs))
                    .updateTtlOnReadAndWrite()
                    .neverReturnExpired()
                    .build());
        }
        histories = getPartitionedState(descriptor);
        buffer = new ArrayList<>(config.batchSize);
        trigger = new FlushTrigger(config.batchSize, config.batchDelayMs, getProcessingTimeService(), this::flush);
    }

    /**
     * The model to serve: with a store, the version the restored state was written by (a restore
     * comes back on the version a swap moved to); else the configured one. A folder holds one version.
     */
    private ModelBundle startModel(ModelBundle configured) throws Exception {
        if (config.modelStore != null) {
            for (String written : servedVersion.get()) {
                if (!written.equals(configured.version())) {
                    LOG.info("npt-stream: the restored state was written while serving model {}; serving it again (model.version={})",
                            written, configured.version());
                    try {
                        return config.loadModel(written);
                    } catch (IllegalArgumentException e) {
                        throw new SuppressRestartsException(new IllegalStateException("the restored state was written while serving model "
                                + written + ", which the store cannot give (" + e.getMessage() + "): restore with the store that holds it"));
                    }
                }
            }
        }
        return configured;
    }

    /** Serves {@code next} from now on: its session, window and engine, and an empty cache that refills from state. */
    private void serve(ModelBundle next) throws Exception {
        SharedSessions.Lease previous = session;
        model = next;
        window = model.windowFor(config.window);
        session = SharedSessions.acquire(model, config.device, config.intraOpThreads);
        if (!model.isCausal()) {
            cache = null;
            engine = new FullGraph(model, session.session(), window, config.maxAgeMs);
        } else if (config.inference == NptOperatorConfig.Inference.RECOMPUTE) {
            cache = null;
            engine = StepGraph.recomputing(model, session.session(), window, config.maxAgeMs);
        } else {
            cache = new KvCache(model.abdLayers(), window, model.cacheDim(), config.cacheMaxBytes);
            engine = StepGraph.cached(model, session.session(), window, config.maxAgeMs, cache);
        }
        if (previous != null) {
            previous.close();
        }
        metrics.serving(model.version());
    }

    @Override
    public void processElement1(StreamRecord<Row> element) throws Exception {
        processElement(element);
    }

    /** A version the gate accepted: fetched now, served from the next checkpoint barrier on. */
    @Override
    public void processElement2(StreamRecord<String> version) throws Exception {
        // The gate checked the version; failing to fetch it here is an infrastructure failure, for a restart to retry.
        ModelBundle next = config.loadModel(version.getValue());
        if (swapAtCheckpoints) {
            pending = next;
        } else {
            flush();
            swapTo(next);
        }
    }

    private void swapTo(ModelBundle next) throws Exception {
        String from = model.version();
        serve(next);
        metrics.modelSwaps.inc();
        LOG.info("npt-stream: subtask {} swapped model {} -> {}", getRuntimeContext().getTaskInfo().getIndexOfThisSubtask(), from,
                model.version());
    }

    @Override
    public void processElement(StreamRecord<Row> element) throws Exception {
        checkLayout(element.getValue());
        buffer.add(new Buffered(element, System.nanoTime()));
        metrics.recordsIn.inc();
        trigger.onRecord(buffer.size());
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
        if (pending != null) {
            swapTo(pending);
            pending = null;
        }
        super.prepareSnapshotPreBarrier(checkpointId);
    }

    /** The end of a bounded input, and a stop with --drain: nothing may stay in the buffer. */
    @Override
    public void endInput() throws Exception {
        flush();
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

    /** Predicts everything buffered, in four steps: one engine call for all keys, state written, results emitted in arrival order. */
    private void flush() throws Exception {
        trigger.reset();
        if (buffer.isEmpty()) {
            return;
        }
        List<Loaded> loaded = loadByKey();
        List<KeyBatch> batches = new ArrayList<>(loaded.size());
        for (Loaded l : loaded) {
            batches.add(l.batch);
        }
        engine.score(batches);
        storeChanged(loaded);
        metrics.batchSize.update(buffer.size());
        for (Buffered b : buffer) {
            emit(b);
        }
        buffer.clear();
    }

    /** A key's batch, with what its state held before the flush, to write back only a history that changed. */
    private record Loaded(KeyBatch batch, ContextHistory stored, long appendedBefore, int sizeBefore) {
        /**
         * Whether the state must be written. A key that has never had a labeled row stores nothing,
         * so that keys sending only unlabeled records take no state.
         */
        boolean changed() {
            ContextHistory h = batch.history;
            if (stored == null) {
                return h.size() > 0;
            }
            return h != stored || h.appended() != appendedBefore || h.size() != sizeBefore;
        }
    }

    /** Groups the buffer by key, in order of first arrival, with each key's history from state. */
    private List<Loaded> loadByKey() throws Exception {
        Map<String, List<Buffered>> byKey = new LinkedHashMap<>();
        for (Buffered b : buffer) {
            byKey.computeIfAbsent(b.row.key, k -> new ArrayList<>()).add(b);
        }
        List<Loaded> loaded = new ArrayList<>(byKey.size());
        for (Map.Entry<String, List<Buffered>> e : byKey.entrySet()) {
            setCurrentKey(e.getKey());
            ContextHistory stored = histories.value();
            ContextHistory history = historyFor(e.getKey(), stored);
            List<Buffered> buffered = e.getValue();
            List<Row> rows = new ArrayList<>(buffered.size());
            for (Buffered b : buffered) {
                rows.add(b.row);
            }
            KeyBatch batch = new KeyBatch(e.getKey(), history, rows);
            for (int i = 0; i < buffered.size(); i++) {
                buffered.get(i).batch = batch;
                buffered.get(i).index = i;
            }
            loaded.add(new Loaded(batch, stored, history.appended(), history.size()));
        }
        return loaded;
    }

    private void storeChanged(List<Loaded> loaded) throws Exception {
        for (Loaded l : loaded) {
            if (l.changed()) {
                setCurrentKey(l.batch.key);
                histories.update(l.batch.history);
                keysStored += l.stored == null ? 1 : 0;
            }
        }
    }

    /**
     * A restore with a model whose layout differs from the one that wrote the state would misread
     * every stored row: the job stops for good (no restart could help) with one line. A model of
     * the same layout starts, and rebuilds its caches from the stored rows.
     */
    private void checkRestoredLayout(ModelBundle model) throws Exception {
        String current = model.stateLayout();
        for (String written : layout.get()) {
            if (!written.equals(current)) {
                throw new SuppressRestartsException(new IllegalStateException("the state was written by a model of layout ["
                        + written + "]; model " + model.version() + " (" + model.source() + ") has layout [" + current
                        + "]: restore with a model of the same features and target, or start this model without the old state"));
            }
        }
    }

    /** Keys in the cache; without one, keys whose context this subtask has first stored since it started. */
    long activeKeys() {
        return cache != null ? cache.keys() : keysStored;
    }

    /**
     * The key's history as stored, a new one for a new key, or the stored rows in a ring resized to
     * this window, with statistics for a model that standardises per key (ContextHistory#withStandardiseRows).
     */
    private ContextHistory historyFor(String key, ContextHistory history) {
        int capacity = model.historyLayers() * window;
        if (history == null) {
            return new ContextHistory(capacity, model.numNumeric(), model.numCategorical(), model.standardiseRows());
        }
        if (history.numNumeric() != model.numNumeric() || history.numCategorical() != model.numCategorical()) {
            throw new IllegalStateException("state of key '" + key + "' holds rows of " + history.numNumeric() + " numeric and "
                    + history.numCategorical() + " categorical features, model " + model.version() + " has "
                    + model.numNumeric() + " and " + model.numCategorical() + "; start this model without the old state");
        }
        // The rows are raw whatever the model: only how a key is standardised may differ (a swap from a prior model served untrained).
        if (history.standardiseRows() != model.standardiseRows()) {
            history = history.withStandardiseRows(model.standardiseRows());
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
        ModelOutput result = b.batch.outputs[b.index];
        if (!result.isFinite()) {
            metrics.nonFinitePredictions.inc();
            String detail = "record id='" + row.id + "' of key '" + row.key + "': the model's output "
                    + result + " is not finite; it was not served and did not join the key's context";
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
        s.modelVersion = model.version();
        s.setOutput(result);
        metrics.prequential.add(result, row.label);
        metrics.contextSize.update(s.contextSize);
        s.latencyUs = (System.nanoTime() - b.arrivalNanos) / 1000;
        metrics.inferenceLatencyUs.update(s.latencyUs);
        metrics.predictionsOut.inc();
        output.collect(b.hasTimestamp ? new StreamRecord<>(s, b.timestamp) : new StreamRecord<>(s));
    }
}
