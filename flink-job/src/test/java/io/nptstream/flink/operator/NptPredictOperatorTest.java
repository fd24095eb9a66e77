package io.nptstream.flink.operator;

import static io.nptstream.flink.operator.NptFixtures.BIDIR_CLS;
import static io.nptstream.flink.operator.NptFixtures.CAUSAL_CLS;
import static io.nptstream.flink.operator.NptFixtures.CAUSAL_CLS_LONG;
import static io.nptstream.flink.operator.NptFixtures.CAUSAL_REG;
import static io.nptstream.flink.operator.NptFixtures.PRIOR_CLS_ZERO_SHOT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.nptstream.flink.config.NptOperatorConfig;
import io.nptstream.flink.core.Row;
import io.nptstream.flink.core.Scored;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.execution.SuppressRestartsException;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The operator's semantics on real exported models: prequential order, windows, batching, state and cache. */
class NptPredictOperatorTest {
    /** A small window, so that the golden stream's keys overflow it and the raw history (history_layers * W) matters. */
    private static final int SMALL_WINDOW = 4;

    @ParameterizedTest
    @ValueSource(strings = {CAUSAL_CLS, BIDIR_CLS, CAUSAL_REG, PRIOR_CLS_ZERO_SHOT})
    void predictionsDoNotDependOnBatchingOrTimers(String fixture) throws Exception {
        List<Row> rows = NptFixtures.goldenRows(fixture);
        List<Scored> oneByOne = runWith(fixture, 1, rows);
        for (int batchSize : new int[] {7, 64}) {
            assertSame(oneByOne, runWith(fixture, batchSize, rows), 1e-5);
        }
        // Flushed by the timer at irregular moments, not by size.
        NptOperatorConfig config = NptFixtures.config(fixture, SMALL_WINDOW);
        config.batchSize = 1000;
        config.batchDelayMs = 5;
        List<Scored> timed = new ArrayList<>();
        try (KeyedOneInputStreamOperatorTestHarness<String, Row, Scored> h = NptFixtures.harness(config)) {
            h.open();
            Random random = new Random(7);
            long now = 0;
            for (Row row : rows) {
                h.processElement(row, row.eventTimeMs);
                now += random.nextInt(4);
                h.setProcessingTime(now);
            }
            assertTrue(h.extractOutputValues().size() < rows.size(), "some records wait in the buffer");
            h.endInput();
            timed.addAll(h.extractOutputValues());
        }
        assertSame(oneByOne, timed, 1e-5);
    }

    @Test
    void aHotKeyAmongColdOnesPredictsTheSameInRounds() throws Exception {
        // Half the records on one key, the rest on keys of their own: the flush goes in several calls.
        List<Row> rows = new ArrayList<>();
        List<Row> golden = NptFixtures.goldenRows(CAUSAL_CLS);
        for (int i = 0; i < golden.size(); i++) {
            Row r = NptFixtures.copy(golden.get(i));
            r.key = i % 2 == 0 ? "hot" : "cold-" + (i % 10);
            rows.add(r);
        }
        assertSame(runWith(CAUSAL_CLS, 1, rows), runWith(CAUSAL_CLS, 64, rows), 1e-5);
    }

    @ParameterizedTest
    @ValueSource(strings = {CAUSAL_CLS, CAUSAL_REG, PRIOR_CLS_ZERO_SHOT})
    void cachedEqualsFullRecompute(String fixture) throws Exception {
        List<Row> rows = NptFixtures.goldenRows(fixture);
        NptOperatorConfig cached = NptFixtures.config(fixture, SMALL_WINDOW);
        cached.batchSize = 7;
        NptOperatorConfig recompute = NptFixtures.config(fixture, SMALL_WINDOW);
        recompute.batchSize = 7;
        recompute.inference = NptOperatorConfig.Inference.RECOMPUTE;
        assertSame(NptFixtures.run(recompute, rows), NptFixtures.run(cached, rows), 1e-4);
    }

    @ParameterizedTest
    @ValueSource(strings = {CAUSAL_CLS, CAUSAL_REG, PRIOR_CLS_ZERO_SHOT})
    void aTinyCacheRebuildsFromStateAndPredictsTheSame(String fixture) throws Exception {
        List<Row> rows = NptFixtures.goldenRows(fixture);
        NptOperatorConfig tiny = NptFixtures.config(fixture, SMALL_WINDOW);
        tiny.batchSize = 3;
        tiny.cacheMaxBytes = 1;
        assertSame(runWith(fixture, 3, rows), NptFixtures.run(tiny, rows), 1e-5);
    }

    @ParameterizedTest
    @ValueSource(strings = {CAUSAL_CLS, BIDIR_CLS, CAUSAL_REG, PRIOR_CLS_ZERO_SHOT})
    void restoringASnapshotContinuesLikeAnUninterruptedRun(String fixture) throws Exception {
        List<Row> rows = NptFixtures.goldenRows(fixture);
        NptOperatorConfig config = NptFixtures.config(fixture, SMALL_WINDOW);
        config.batchSize = 64;
        List<Scored> uninterrupted = NptFixtures.run(config, rows);
        assertSame(uninterrupted, runWithRestore(config, rows, rows.size() / 2, false), 1e-5);
    }

    @Test
    void rocksDbStateBehavesLikeHeapState() throws Exception {
        // RocksDB hands out copies, not the stored object: every changed history must be written back.
        List<Row> rows = NptFixtures.goldenRows(CAUSAL_CLS);
        NptOperatorConfig config = NptFixtures.config(CAUSAL_CLS, SMALL_WINDOW);
        config.batchSize = 7;
        config.stateTtlMs = 3_600_000;
        List<Scored> heap = NptFixtures.run(config, rows);
        assertSame(heap, runWithRestore(config, rows, rows.size() / 3, true), 1e-5);
    }

    /**
     * Issue 9: a model of another layout refuses the restored state with one line and no restart;
     * a model of the same layout (here the BIDIRECTIONAL one) serves the stored rows, its caches rebuilt.
     */
    @Test
    void aRestoreChecksTheModelLayoutAgainstTheState() throws Exception {
        List<Row> rows = NptFixtures.goldenRows(CAUSAL_CLS);
        int cut = rows.size() / 2;
        NptOperatorConfig written = NptFixtures.config(CAUSAL_CLS, SMALL_WINDOW);
        NptOperatorConfig sameLayout = NptFixtures.config(BIDIR_CLS, SMALL_WINDOW);
        List<Scored> reference = NptFixtures.run(sameLayout, rows);
        List<Scored> out = runWithRestore(written, sameLayout, rows, cut, false);
        assertSame(reference.subList(cut, rows.size()), out.subList(cut, rows.size()), 1e-5);

        // A prior model served untrained, then a stream model of the same layout and history depth (1 ABD
        // layer) in its place: the rows in state are raw either way, so it predicts as if it had served them.
        NptOperatorConfig zeroShot = NptFixtures.config(PRIOR_CLS_ZERO_SHOT, SMALL_WINDOW);
        NptOperatorConfig stream = NptFixtures.config(CAUSAL_CLS_LONG, SMALL_WINDOW);
        List<Scored> afterZeroShot = runWithRestore(zeroShot, stream, rows, cut, false);
        assertSame(NptFixtures.run(stream, rows).subList(cut, rows.size()), afterZeroShot.subList(cut, rows.size()), 1e-5);
        // The other way, each key's statistics come from the rows in state.
        assertEquals(rows.size(), runWithRestore(stream, zeroShot, rows, cut, false).size());

        NptOperatorConfig otherLayout = NptFixtures.config(CAUSAL_REG, SMALL_WINDOW);
        SuppressRestartsException e = assertThrows(SuppressRestartsException.class,
                () -> runWithRestore(written, otherLayout, rows, cut, false));
        assertTrue(e.getCause().getMessage().startsWith("the state was written by a model of layout [features "), e.getCause().getMessage());
        assertTrue(e.getCause().getMessage().endsWith("restore with a model of the same features and target, or start this model without the old state"));
    }

    private static List<Scored> runWithRestore(NptOperatorConfig config, List<Row> rows, int cut, boolean rocksDb) throws Exception {
        return runWithRestore(config, config, rows, cut, rocksDb);
    }

    /** Runs rows[0, cut) in one harness, snapshots it, restores into a fresh one (of config {@code restored}) and runs the rest there. */
    private static List<Scored> runWithRestore(NptOperatorConfig config, NptOperatorConfig restored, List<Row> rows, int cut,
                                               boolean rocksDb) throws Exception {
        List<Scored> out = new ArrayList<>();
        OperatorSubtaskState snapshot;
        try (KeyedOneInputStreamOperatorTestHarness<String, Row, Scored> first = NptFixtures.harness(config)) {
            if (rocksDb) {
                first.setStateBackend(new EmbeddedRocksDBStateBackend());
            }
            first.open();
            for (Row row : rows.subList(0, cut)) {
                first.processElement(row, row.eventTimeMs);
            }
            if (config.batchSize > 1 && cut % config.batchSize != 0) {
                assertTrue(first.extractOutputValues().size() < cut, "records are still buffered at the checkpoint");
            }
            first.prepareSnapshotPreBarrier(1);
            snapshot = first.snapshot(1, 1);
            out.addAll(first.extractOutputValues());
            assertEquals(cut, out.size(), "the checkpoint flushed the buffer");
        }
        try (KeyedOneInputStreamOperatorTestHarness<String, Row, Scored> second = NptFixtures.harness(restored)) {
            if (rocksDb) {
                second.setStateBackend(new EmbeddedRocksDBStateBackend());
            }
            second.initializeState(snapshot);
            second.open();
            for (Row row : rows.subList(cut, rows.size())) {
                second.processElement(row, row.eventTimeMs);
            }
            second.endInput();
            out.addAll(second.extractOutputValues());
        }
        return out;
    }

    @Test
    void aLabeledRecordIsPredictedBeforeItsLabelJoinsTheContext() throws Exception {
        List<Row> rows = NptFixtures.goldenRows(CAUSAL_CLS).subList(0, 40);
        int i = lastLabeledWithNextOfSameKey(rows);
        Row labeled = rows.get(i);
        Row next = nextOfSameKey(rows, i);

        List<Row> withLabel = new ArrayList<>(rows.subList(0, i + 1));
        withLabel.add(next);
        List<Row> withoutLabel = new ArrayList<>(rows.subList(0, i));
        Row unlabeled = NptFixtures.copy(labeled);
        unlabeled.label = Float.NaN;
        withoutLabel.add(unlabeled);
        withoutLabel.add(NptFixtures.copy(next));

        for (String fixture : new String[] {CAUSAL_CLS, BIDIR_CLS}) {
            NptOperatorConfig config = NptFixtures.config(fixture, 0);
            config.batchSize = 64;
            List<Scored> a = NptFixtures.run(config, withLabel);
            List<Scored> b = NptFixtures.run(config, withoutLabel);
            int n = a.size();
            assertSame(List.of(a.get(n - 2)), List.of(b.get(n - 2)), 1e-6);
            assertEquals(b.get(n - 1).contextSize + 1, a.get(n - 1).contextSize, fixture + ": the next record sees the label");
            assertNotEquals(a.get(n - 1).probs[0], b.get(n - 1).probs[0], fixture + ": the label changes the next prediction");
        }
    }

    @Test
    void onlyTheLastWindowRowsCountAndContextNeverExceedsIt() throws Exception {
        List<Row> rows = oneKey(NptFixtures.goldenRows(BIDIR_CLS), "k", 12, 0);
        List<Row> changed = new ArrayList<>();
        for (Row r : rows) {
            changed.add(NptFixtures.copy(r));
        }
        // Change the oldest row, which falls out of a window of 4 long before the last record.
        changed.get(0).label = (changed.get(0).label + 1) % 3;
        changed.get(0).num[0] += 5;

        List<Scored> a = NptFixtures.run(NptFixtures.config(BIDIR_CLS, SMALL_WINDOW), rows);
        List<Scored> b = NptFixtures.run(NptFixtures.config(BIDIR_CLS, SMALL_WINDOW), changed);
        for (Scored s : a) {
            assertTrue(s.contextSize <= SMALL_WINDOW, "context size " + s.contextSize + " over the window");
        }
        assertEquals(SMALL_WINDOW, a.get(a.size() - 1).contextSize);
        assertSame(a.subList(SMALL_WINDOW + 1, a.size()), b.subList(SMALL_WINDOW + 1, b.size()), 1e-6);
        // With a window that still holds the changed row, it does change the last prediction.
        List<Scored> wideA = NptFixtures.run(NptFixtures.config(BIDIR_CLS, 16), rows);
        List<Scored> wideB = NptFixtures.run(NptFixtures.config(BIDIR_CLS, 16), changed);
        assertNotEquals(wideA.get(wideA.size() - 1).probs[0], wideB.get(wideB.size() - 1).probs[0]);
    }

    @ParameterizedTest
    @ValueSource(strings = {CAUSAL_CLS, BIDIR_CLS})
    void rowsOlderThanTheMaxAgeAreDropped(String fixture) throws Exception {
        // One key, a row per second; a record sees only the rows of the 5 seconds before it, of which
        // the window keeps 4. For CAUSAL, the rows' cached keys must then be re-encoded without the dropped rows.
        List<Row> rows = oneKey(NptFixtures.goldenRows(fixture), "k", 14, 1000);
        long maxAge = 5000;
        NptOperatorConfig aged = NptFixtures.config(fixture, SMALL_WINDOW);
        aged.maxAgeMs = maxAge;
        aged.batchSize = 64;
        List<Scored> out = NptFixtures.run(aged, rows);

        Row last = rows.get(rows.size() - 1);
        List<Row> recent = new ArrayList<>();
        for (Row r : rows) {
            if (r.eventTimeMs >= last.eventTimeMs - maxAge) {
                recent.add(r);
            }
        }
        List<Scored> fresh = NptFixtures.run(NptFixtures.config(fixture, SMALL_WINDOW), recent);
        assertEquals(SMALL_WINDOW, out.get(out.size() - 1).contextSize);
        assertSame(fresh.subList(fresh.size() - 1, fresh.size()), out.subList(out.size() - 1, out.size()), 1e-5);
        for (int i = 0; i < out.size(); i++) {
            assertTrue(out.get(i).contextSize <= Math.min(SMALL_WINDOW, i), "record " + i + " sees " + out.get(i).contextSize + " rows");
        }
    }

    /**
     * Issue 9, item 4: keys that only ever send unlabeled records take no keyed state and no cache
     * entry, so that random unlabeled keys cannot grow the state or push real keys out of the cache.
     */
    @ParameterizedTest
    @EnumSource(NptOperatorConfig.Inference.class)
    void keysWithoutLabeledRowsStoreNothing(NptOperatorConfig.Inference inference) throws Exception {
        Row template = NptFixtures.goldenRows(CAUSAL_CLS).get(0);
        NptOperatorConfig config = NptFixtures.config(CAUSAL_CLS, 0);
        config.inference = inference;
        config.batchSize = 10;
        try (KeyedOneInputStreamOperatorTestHarness<String, Row, Scored> h = NptFixtures.harness(config)) {
            h.open();
            for (int i = 0; i < 100; i++) {
                Row r = NptFixtures.copy(template);
                r.key = "unlabeled-" + i;
                r.label = Float.NaN;
                h.processElement(r, r.eventTimeMs);
            }
            h.endInput();
            assertEquals(100, h.extractOutputValues().size(), "every record is predicted");
            assertEquals(0, h.numKeyedStateEntries(), "no state for keys without a labeled row");
            NptPredictOperator operator = (NptPredictOperator) h.getOneInputOperator();
            assertEquals(0, operator.activeKeys(), "no cache entry, no key counted");

            Row labeled = NptFixtures.copy(template);
            labeled.key = "unlabeled-0";
            h.processElement(labeled, labeled.eventTimeMs);
            h.endInput();
            assertEquals(1, h.numKeyedStateEntries(), "a labeled row stores the key's context");
        }
    }

    @Test
    void anIdleKeyExpiresAfterTheStateTtl() throws Exception {
        List<Row> rows = oneKey(NptFixtures.goldenRows(CAUSAL_CLS), "k", 6, 1000);
        Row query = NptFixtures.copy(rows.get(5));
        query.label = Float.NaN;
        NptOperatorConfig config = NptFixtures.config(CAUSAL_CLS, 0);
        config.stateTtlMs = 1000;
        config.batchSize = 1;
        try (KeyedOneInputStreamOperatorTestHarness<String, Row, Scored> h = NptFixtures.harness(config)) {
            h.open();
            h.setStateTtlProcessingTime(0);
            for (Row r : rows.subList(0, 5)) {
                h.processElement(r, r.eventTimeMs);
            }
            h.setStateTtlProcessingTime(500);
            h.processElement(query, query.eventTimeMs);
            h.setStateTtlProcessingTime(5000);
            h.processElement(NptFixtures.copy(query), query.eventTimeMs);
            List<Scored> out = h.extractOutputValues();
            assertEquals(5, out.get(5).contextSize, "before the TTL the key has its context");
            assertEquals(0, out.get(6).contextSize, "after the TTL the key starts afresh");
            List<Scored> fresh = NptFixtures.run(NptFixtures.config(CAUSAL_CLS, 0), List.of(NptFixtures.copy(query)));
            assertSame(fresh, out.subList(6, 7), 1e-6);
        }
    }

    @Test
    void aWatermarkNeverOvertakesBufferedRecords() throws Exception {
        List<Row> rows = NptFixtures.goldenRows(CAUSAL_CLS).subList(0, 3);
        NptOperatorConfig config = NptFixtures.config(CAUSAL_CLS, 0);
        config.batchSize = 64;
        try (KeyedOneInputStreamOperatorTestHarness<String, Row, Scored> h = NptFixtures.harness(config)) {
            h.open();
            for (Row r : rows) {
                h.processElement(r, r.eventTimeMs);
            }
            h.processWatermark(rows.get(2).eventTimeMs);
            List<Object> out = new ArrayList<>(h.getOutput());
            assertEquals(4, out.size(), "three predictions, then the watermark");
            assertTrue(out.get(3) instanceof Watermark, "the watermark comes last: " + out);
        }
    }

    private static List<Scored> runWith(String fixture, int batchSize, List<Row> rows) throws Exception {
        NptOperatorConfig config = NptFixtures.config(fixture, SMALL_WINDOW);
        config.batchSize = batchSize;
        return NptFixtures.run(config, rows);
    }

    /** The first {@code n} labeled rows, all under {@code key}, {@code stepMs} apart in event time. */
    private static List<Row> oneKey(List<Row> rows, String key, int n, long stepMs) {
        List<Row> out = new ArrayList<>();
        for (Row r : rows) {
            if (r.isLabeled() && out.size() < n) {
                Row c = NptFixtures.copy(r);
                c.key = key;
                c.id = key + out.size();
                c.eventTimeMs = 1_000_000L + out.size() * stepMs;
                out.add(c);
            }
        }
        return out;
    }

    private static int lastLabeledWithNextOfSameKey(List<Row> rows) {
        for (int i = rows.size() - 2; i >= 0; i--) {
            if (rows.get(i).isLabeled() && nextOfSameKey(rows, i) != null) {
                return i;
            }
        }
        throw new IllegalStateException("no labeled record followed by one of its key");
    }

    private static Row nextOfSameKey(List<Row> rows, int i) {
        for (int j = i + 1; j < rows.size(); j++) {
            if (rows.get(j).key.equals(rows.get(i).key)) {
                return rows.get(j);
            }
        }
        return null;
    }

    static void assertSame(List<Scored> want, List<Scored> got, double tolerance) {
        assertEquals(want.size(), got.size(), "number of predictions");
        for (int i = 0; i < want.size(); i++) {
            Scored w = want.get(i);
            Scored g = got.get(i);
            assertEquals(w.id, g.id, "order at " + i);
            assertEquals(w.contextSize, g.contextSize, "context size of " + w.id);
            if (w.probs != null) {
                for (int c = 0; c < w.probs.length; c++) {
                    assertEquals(w.probs[c], g.probs[c], tolerance, "probability " + c + " of " + w.id);
                }
            } else {
                assertEquals(w.value, g.value, tolerance, "value of " + w.id);
                assertEquals(w.std, g.std, tolerance, "std of " + w.id);
            }
        }
    }
}
