package io.nptstream.flink.state;

import java.io.IOException;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSchemaCompatibility;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/**
 * Writes a {@link ContextHistory} as plain primitives, oldest row first (no Kryo, no Protobuf).
 *
 * <p>Layout, format version 2: capacity, numeric count, categorical count, size (ints),
 * appended (long), the standardising rows N (int; 0 without {@link KeyStatistics}), then for N > 0
 * the rows seen (int) and per numeric feature its count (long), mean and M2 (doubles) and the mean
 * and std in use (floats), then per row
 * its numeric floats, categorical longs, label float and event time long. Version 1 is the same
 * without N and the statistics; it is still read. A later format bumps {@link #FORMAT_VERSION};
 * the snapshot remembers the version that wrote a checkpoint, so a restore can tell old data from new.
 */
public final class ContextHistorySerializer extends TypeSerializer<ContextHistory> {
    private static final long serialVersionUID = 1L;

    static final int FORMAT_VERSION = 2;
    /** The oldest format version this build reads. */
    static final int OLDEST_READ_VERSION = 1;

    public static final ContextHistorySerializer INSTANCE = new ContextHistorySerializer(FORMAT_VERSION);

    /** The format version that {@link #deserialize} reads; {@link #serialize} always writes {@link #FORMAT_VERSION}. */
    private final int readVersion;

    private ContextHistorySerializer(int readVersion) {
        this.readVersion = readVersion;
    }

    @Override
    public boolean isImmutableType() {
        return false;
    }

    @Override
    public TypeSerializer<ContextHistory> duplicate() {
        return this;
    }

    @Override
    public ContextHistory createInstance() {
        return new ContextHistory(1, 0, 0);
    }

    @Override
    public ContextHistory copy(ContextHistory from) {
        return from.copy();
    }

    @Override
    public ContextHistory copy(ContextHistory from, ContextHistory reuse) {
        return from.copy();
    }

    @Override
    public int getLength() {
        return -1;
    }

    /** Bytes of a history of {@code rows} rows as {@link #serialize} writes it: its header, statistics, then the rows. */
    public static long serializedBytes(int rows, int numNumeric, int numCategorical, boolean standardised) {
        return 5L * Integer.BYTES + Long.BYTES
                + (standardised ? Integer.BYTES + (long) numNumeric * (Long.BYTES + 2 * Double.BYTES + 2 * Float.BYTES) : 0)
                + (long) rows * (numNumeric * Float.BYTES + numCategorical * Long.BYTES + Float.BYTES + Long.BYTES);
    }

    @Override
    public void serialize(ContextHistory h, DataOutputView out) throws IOException {
        int size = h.size();
        out.writeInt(h.capacity());
        out.writeInt(h.numNumeric());
        out.writeInt(h.numCategorical());
        out.writeInt(size);
        out.writeLong(h.appended());
        KeyStatistics stats = h.statistics();
        out.writeInt(stats == null ? 0 : stats.rows());
        if (stats != null) {
            out.writeInt(stats.seen());
            for (int f = 0; f < stats.features(); f++) {
                out.writeLong(stats.count(f));
                out.writeDouble(stats.mean(f));
                out.writeDouble(stats.m2(f));
                out.writeFloat(stats.meanInUse(f));
                out.writeFloat(stats.stdInUse(f));
            }
        }
        for (int i = 0; i < size; i++) {
            for (int f = 0; f < h.numNumeric(); f++) {
                out.writeFloat(h.numeric(i, f));
            }
            for (int f = 0; f < h.numCategorical(); f++) {
                out.writeLong(h.categorical(i, f));
            }
            out.writeFloat(h.label(i));
            out.writeLong(h.eventTime(i));
        }
    }

    @Override
    public ContextHistory deserialize(DataInputView in) throws IOException {
        int capacity = in.readInt();
        int numNumeric = in.readInt();
        int numCategorical = in.readInt();
        int size = in.readInt();
        long appended = in.readLong();
        int standardiseRows = readVersion >= 2 ? in.readInt() : 0;
        if (capacity < 1 || numNumeric < 0 || numCategorical < 0 || size < 0 || size > capacity || standardiseRows < 0) {
            throw new IOException("corrupt context history state: capacity " + capacity + ", size " + size
                    + ", features " + numNumeric + "/" + numCategorical + ", standardising rows " + standardiseRows);
        }
        KeyStatistics stats = null;
        if (standardiseRows > 0) {
            int seen = in.readInt();
            long[] count = new long[numNumeric];
            double[] mean = new double[numNumeric];
            double[] m2 = new double[numNumeric];
            float[] meanInUse = new float[numNumeric];
            float[] stdInUse = new float[numNumeric];
            for (int f = 0; f < numNumeric; f++) {
                count[f] = in.readLong();
                mean[f] = in.readDouble();
                m2[f] = in.readDouble();
                meanInUse[f] = in.readFloat();
                stdInUse[f] = in.readFloat();
            }
            stats = new KeyStatistics(standardiseRows, seen, count, mean, m2, meanInUse, stdInUse);
        }
        float[] num = new float[size * numNumeric];
        long[] cat = new long[size * numCategorical];
        float[] label = new float[size];
        long[] eventTime = new long[size];
        for (int i = 0; i < size; i++) {
            for (int f = 0; f < numNumeric; f++) {
                num[i * numNumeric + f] = in.readFloat();
            }
            for (int f = 0; f < numCategorical; f++) {
                cat[i * numCategorical + f] = in.readLong();
            }
            label[i] = in.readFloat();
            eventTime[i] = in.readLong();
        }
        return ContextHistory.restore(capacity, numNumeric, numCategorical, size, appended, num, cat, label, eventTime, stats);
    }

    @Override
    public ContextHistory deserialize(ContextHistory reuse, DataInputView in) throws IOException {
        return deserialize(in);
    }

    @Override
    public void copy(DataInputView in, DataOutputView out) throws IOException {
        serialize(deserialize(in), out);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ContextHistorySerializer other && other.readVersion == readVersion;
    }

    @Override
    public int hashCode() {
        return ContextHistorySerializer.class.hashCode() + readVersion;
    }

    @Override
    public TypeSerializerSnapshot<ContextHistory> snapshotConfiguration() {
        return new Snapshot(FORMAT_VERSION);
    }

    /** Records the format version that wrote the state. */
    public static final class Snapshot implements TypeSerializerSnapshot<ContextHistory> {
        private int formatVersion;

        /** For Flink's reflective instantiation on restore. */
        public Snapshot() {
            this(FORMAT_VERSION);
        }

        Snapshot(int formatVersion) {
            this.formatVersion = formatVersion;
        }

        @Override
        public int getCurrentVersion() {
            return FORMAT_VERSION;
        }

        @Override
        public void writeSnapshot(DataOutputView out) {
            // The snapshot's version is the format's version: nothing else to write.
        }

        @Override
        public void readSnapshot(int readVersion, DataInputView in, ClassLoader classLoader) throws IOException {
            if (readVersion < OLDEST_READ_VERSION || readVersion > FORMAT_VERSION) {
                throw new IOException("context history state has format version " + readVersion + ", this build reads versions "
                        + OLDEST_READ_VERSION + " to " + FORMAT_VERSION + "; restore with the build that wrote it");
            }
            formatVersion = readVersion;
        }

        @Override
        public TypeSerializer<ContextHistory> restoreSerializer() {
            return formatVersion == FORMAT_VERSION ? INSTANCE : new ContextHistorySerializer(formatVersion);
        }

        @Override
        public TypeSerializerSchemaCompatibility<ContextHistory> resolveSchemaCompatibility(
                TypeSerializerSnapshot<ContextHistory> oldSnapshot) {
            if (oldSnapshot instanceof Snapshot old && old.formatVersion == formatVersion) {
                return TypeSerializerSchemaCompatibility.compatibleAsIs();
            }
            if (oldSnapshot instanceof Snapshot old && old.formatVersion >= OLDEST_READ_VERSION && old.formatVersion < formatVersion) {
                return TypeSerializerSchemaCompatibility.compatibleAfterMigration();
            }
            return TypeSerializerSchemaCompatibility.incompatible();
        }
    }
}
