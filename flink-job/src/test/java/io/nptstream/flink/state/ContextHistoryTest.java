package io.nptstream.flink.state;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.FloatBuffer;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

/** The keyed state's ring of rows and its serializer. */
class ContextHistoryTest {

    @Test
    void keepsTheNewestRowsUpToItsCapacity() {
        ContextHistory h = filled(3, 5);
        assertEquals(3, h.size());
        assertEquals(5, h.appended());
        assertEquals(2f, h.label(0));
        assertEquals(4f, h.label(2));
        assertEquals(4f, h.numeric(2, 1));
        assertEquals(40L, h.categorical(2, 0));
    }

    @Test
    void growsWithItsRowsAndWrapsAtItsCapacity() throws Exception {
        ContextHistory h = filled(10, 25);
        assertEquals(10, h.size());
        for (int i = 0; i < 10; i++) {
            assertEquals(15f + i, h.label(i));
            assertEquals(15f + i, h.numeric(i, 0));
        }
        h.dropOlderThan(2000);
        assertEquals(5, h.size());
        assertEquals(20f, h.label(0));
        DataOutputSerializer out = new DataOutputSerializer(256);
        ContextHistorySerializer.INSTANCE.serialize(h, out);
        ContextHistory back = ContextHistorySerializer.INSTANCE.deserialize(new DataInputDeserializer(out.getCopyOfBuffer()));
        for (int i = 25; i < 40; i++) {
            h.append(new float[] {i, i}, new long[] {10L * i}, i, 100L * i);
            back.append(new float[] {i, i}, new long[] {10L * i}, i, 100L * i);
        }
        assertEquals(h, back);
        assertEquals(30f, back.label(0));
    }

    @Test
    void dropsRowsOlderThanAnEventTimeAndKeepsTheOrder() {
        ContextHistory h = filled(4, 6);       // rows 2..5, event times 200..500
        assertEquals(2, h.dropOlderThan(400));
        assertEquals(2, h.size());
        assertEquals(4f, h.label(0));
        assertEquals(500L, h.eventTime(1));
        assertEquals(6, h.appended(), "dropping never lowers the appended count");
        h.append(new float[] {9, 9}, new long[] {90}, 9f, 900);
        assertEquals(3, h.size());
        assertEquals(9f, h.label(2));
    }

    @Test
    void aNewCapacityKeepsTheNewestRows() {
        ContextHistory h = filled(4, 6).withCapacity(2);
        assertEquals(2, h.size());
        assertEquals(4f, h.label(0));
        assertEquals(6, h.appended());
    }

    @Test
    void serializesToEqualCopies() throws Exception {
        ContextHistory h = filled(4, 7);
        h.dropOlderThan(500);
        DataOutputSerializer out = new DataOutputSerializer(256);
        ContextHistorySerializer.INSTANCE.serialize(h, out);
        assertEquals(ContextHistorySerializer.serializedBytes(h.size(), h.numNumeric(), h.numCategorical(), false), out.length(),
                "the size that sizing reports (NptPredict.stateBytesPerKey) is the size written");
        ContextHistory back = ContextHistorySerializer.INSTANCE.deserialize(new DataInputDeserializer(out.getCopyOfBuffer()));
        assertEquals(h, back);
        assertEquals(h.appended(), back.appended());
        ContextHistory copy = ContextHistorySerializer.INSTANCE.copy(h);
        assertNotSame(h, copy);
        h.append(new float[] {1, 1}, new long[] {1}, 1f, 10_000);
        assertEquals(back, copy, "a copy does not share the arrays");
    }

    @Test
    void itsSnapshotRestoresACompatibleSerializer() throws Exception {
        TypeSerializerSnapshot<ContextHistory> written = ContextHistorySerializer.INSTANCE.snapshotConfiguration();
        DataOutputSerializer out = new DataOutputSerializer(64);
        TypeSerializerSnapshot.writeVersionedSnapshot(out, written);
        TypeSerializerSnapshot<ContextHistory> read = TypeSerializerSnapshot.readVersionedSnapshot(
                new DataInputDeserializer(out.getCopyOfBuffer()), getClass().getClassLoader());
        assertEquals(ContextHistorySerializer.INSTANCE, read.restoreSerializer());
        assertTrue(ContextHistorySerializer.INSTANCE.snapshotConfiguration().resolveSchemaCompatibility(read).isCompatibleAsIs());
    }

    /** State written by another format version is refused with one line, not misread. */
    @Test
    void aSnapshotOfAnotherFormatVersionIsRefused() throws Exception {
        DataOutputSerializer out = new DataOutputSerializer(64);
        out.writeUTF(ContextHistorySerializer.Snapshot.class.getName());
        out.writeInt(ContextHistorySerializer.FORMAT_VERSION + 1);
        IOException e = assertThrows(IOException.class,
                () -> TypeSerializerSnapshot.readVersionedSnapshot(new DataInputDeserializer(out.getCopyOfBuffer()), getClass().getClassLoader()));
        assertTrue(e.getMessage().contains("format version " + (ContextHistorySerializer.FORMAT_VERSION + 1)), e.getMessage());
        TypeSerializerSnapshot<ContextHistory> other = new ContextHistorySerializer.Snapshot(ContextHistorySerializer.FORMAT_VERSION + 1);
        assertTrue(ContextHistorySerializer.INSTANCE.snapshotConfiguration().resolveSchemaCompatibility(other).isIncompatible());
    }

    /**
     * Standardised per key: the graph is fed (x - mean) / std of the key's first rows, the ones in
     * use refreshed after its 1st, 2nd, 4th, ... labeled row and its last (the 5th here), then kept.
     */
    @Test
    void aKeyStandardisesItsRowsByItsFirstRows() {
        ContextHistory h = new ContextHistory(8, 2, 1, 5);
        assertTrue(h.standardising());
        assertFalse(h.restandardised());
        h.append(new float[] {2, Float.NaN}, new long[] {1}, 0f, 0);
        assertTrue(h.restandardised());
        h.append(new float[] {4, 10}, new long[] {1}, 0f, 0);
        assertTrue(h.restandardised());
        h.append(new float[] {9, 10}, new long[] {1}, 0f, 0);
        assertFalse(h.restandardised(), "3 rows: no refresh, the statistics of the first 2 stay in use");
        FloatBuffer fed = FloatBuffer.allocate(2);
        h.putNumeric(new float[] {5, 12}, fed, 0);
        assertEquals((5 - 3) / 1f, fed.get(0), 1e-6);
        assertEquals(12 - 10, fed.get(1), 1e-6, "a feature seen fewer than twice has std 1");
        h.append(new float[] {1, 10}, new long[] {1}, 0f, 0);
        assertTrue(h.restandardised());
        h.append(new float[] {1000, -5}, new long[] {1}, 0f, 0);
        assertTrue(h.restandardised() && h.standardising(), "the 5th row is the last refresh");
        h.append(new float[] {0, 0}, new long[] {1}, 0f, 0);
        assertFalse(h.restandardised() || h.standardising());
        h.copyNumeric(4, fed, 0);
        assertEquals((1000 - mean(2, 4, 9, 1, 1000)) / std(2, 4, 9, 1, 1000), fed.get(0), 1e-5);
        assertEquals((-5 - mean(10, 10, 10, -5)) / std(10, 10, 10, -5), fed.get(1), 1e-5);
        h.putNumeric(new float[] {5, Float.NaN}, fed, 0);
        assertTrue(Float.isNaN(fed.get(1)), "a missing value stays missing");
        ContextHistory plain = new ContextHistory(8, 2, 1);
        plain.append(new float[] {1000, -5}, new long[] {1}, 0f, 0);
        plain.copyNumeric(0, fed, 0);
        assertEquals(1000f, fed.get(0), "without statistics the graph standardises: the raw value");
        assertFalse(plain.standardising() || plain.restandardised());
    }

    private static double mean(double... xs) {
        return java.util.Arrays.stream(xs).average().orElseThrow();
    }

    private static double std(double... xs) {
        double m = mean(xs);
        return Math.sqrt(java.util.Arrays.stream(xs).map(x -> (x - m) * (x - m)).average().orElseThrow());
    }

    @Test
    void itsStatisticsAreSerializedAndCopied() throws Exception {
        ContextHistory h = new ContextHistory(4, 2, 1, 3);
        for (int i = 0; i < 6; i++) {
            h.append(new float[] {i * i, i == 1 ? Float.NaN : -i}, new long[] {i}, i, 100L * i);
        }
        DataOutputSerializer out = new DataOutputSerializer(256);
        ContextHistorySerializer.INSTANCE.serialize(h, out);
        assertEquals(ContextHistorySerializer.serializedBytes(h.size(), 2, 1, true), out.length());
        ContextHistory back = ContextHistorySerializer.INSTANCE.deserialize(new DataInputDeserializer(out.getCopyOfBuffer()));
        assertEquals(h, back);
        assertNotEquals(new ContextHistory(4, 2, 1, 3), new ContextHistory(4, 2, 1, 2), "the statistics are part of the state");
        FloatBuffer a = FloatBuffer.allocate(2);
        FloatBuffer b = FloatBuffer.allocate(2);
        h.putNumeric(new float[] {7, 7}, a, 0);
        back.withCapacity(2).putNumeric(new float[] {7, 7}, b, 0);
        assertEquals(a, b);
    }

    /** Rows written without statistics, served by a model standardised per key: the rows held stand for the key's first. */
    @Test
    void rowsWithoutStatisticsTakeThoseOfTheRowsHeld() {
        ContextHistory h = filled(4, 7);
        ContextHistory standardised = h.withStandardiseRows(3);
        assertEquals(3, standardised.standardiseRows());
        assertFalse(standardised.standardising(), "settled: later rows change nothing");
        FloatBuffer fed = FloatBuffer.allocate(2);
        standardised.putNumeric(new float[] {5, 5}, fed, 0);
        assertEquals((5 - mean(3, 4, 5)) / std(3, 4, 5), fed.get(0), 1e-5, "the first 3 of the rows held: 3, 4, 5");
        standardised.append(new float[] {100, 100}, new long[] {1}, 1f, 1000);
        standardised.putNumeric(new float[] {5, 5}, fed, 0);
        assertEquals((5 - mean(3, 4, 5)) / std(3, 4, 5), fed.get(0), 1e-5);
        assertEquals(h, h.withStandardiseRows(3).withStandardiseRows(0), "back without statistics: the same rows");
    }

    /** Statistics settled from fewer rows than they stand for never change: the key needs no rounds and no refreshes. */
    @Test
    void settledStatisticsOfFewRowsAreNotRefreshed() {
        ContextHistory settled = filled(16, 3).withStandardiseRows(16);
        assertFalse(settled.standardising(), "settled from 3 rows of 16");
        FloatBuffer before = FloatBuffer.allocate(2);
        settled.putNumeric(new float[] {5, 5}, before, 0);
        for (int i = 0; i < 5; i++) {
            settled.append(new float[] {100, 100}, new long[] {1}, 1f, 1000);
            assertFalse(settled.standardising() || settled.restandardised(), "row " + settled.appended() + ": nothing refreshed");
        }
        FloatBuffer after = FloatBuffer.allocate(2);
        settled.putNumeric(new float[] {5, 5}, after, 0);
        assertEquals(before, after, "the statistics of the 3 rows held stay in use");
    }

    /** State of format version 1 (before per-key statistics) is still read, and migrated. */
    @Test
    void stateOfFormatVersionOneIsRead() throws Exception {
        DataOutputSerializer out = new DataOutputSerializer(64);
        out.writeInt(4);
        out.writeInt(1);
        out.writeInt(0);
        out.writeInt(1);
        out.writeLong(9);
        out.writeFloat(2.5f);
        out.writeFloat(1f);
        out.writeLong(700);
        TypeSerializerSnapshot<ContextHistory> v1 = new ContextHistorySerializer.Snapshot(1);
        assertTrue(ContextHistorySerializer.INSTANCE.snapshotConfiguration().resolveSchemaCompatibility(v1).isCompatibleAfterMigration());
        ContextHistory h = v1.restoreSerializer().deserialize(new DataInputDeserializer(out.getCopyOfBuffer()));
        assertEquals(1, h.size());
        assertEquals(9, h.appended());
        assertEquals(0, h.standardiseRows());
        assertEquals(700, h.eventTime(0));
    }

    /** Rows 0..n-1 with label i, numeric {i, i}, categorical {10 i}, event time 100 i. */
    private static ContextHistory filled(int capacity, int n) {
        ContextHistory h = new ContextHistory(capacity, 2, 1);
        for (int i = 0; i < n; i++) {
            h.append(new float[] {i, i}, new long[] {10L * i}, i, 100L * i);
        }
        return h;
    }
}
