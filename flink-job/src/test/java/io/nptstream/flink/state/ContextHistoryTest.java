package io.nptstream.flink.state;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
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
        assertEquals(ContextHistorySerializer.serializedBytes(h.size(), h.numNumeric(), h.numCategorical()), out.length(),
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

    /** Rows 0..n-1 with label i, numeric {i, i}, categorical {10 i}, event time 100 i. */
    private static ContextHistory filled(int capacity, int n) {
        ContextHistory h = new ContextHistory(capacity, 2, 1);
        for (int i = 0; i < n; i++) {
            h.append(new float[] {i, i}, new long[] {10L * i}, i, 100L * i);
        }
        return h;
    }
}
