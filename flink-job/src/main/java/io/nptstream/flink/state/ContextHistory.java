package io.nptstream.flink.state;

import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.Arrays;
import java.util.Objects;

/**
 * One key's raw labeled rows, newest last, in a ring of primitive arrays: the keyed state of the
 * NPT operator. It keeps {@code history_layers * W} rows, enough to rebuild the key/value cache
 * exactly (proto/README.md), and counts every row ever appended so that a cache entry can tell
 * whether it still matches. The arrays grow with the rows held, so a key with few rows stays small.
 *
 * <p>For a model that standardises per key (Context.standardise_rows) it also keeps the key's
 * {@link KeyStatistics}, and gives the graph its rows standardised by them.
 */
public final class ContextHistory {
    private static final int FIRST_SLOTS = 4;

    private final int capacity;
    private final int numNumeric;
    private final int numCategorical;
    /** Allocated rows: grows by doubling up to the capacity. */
    private int slots;
    private float[] num;
    private long[] cat;
    private float[] label;
    private long[] eventTime;
    /** Slot of the oldest row. */
    private int head;
    private int size;
    /** Rows appended since the key was first seen; never decreases, not even when rows are dropped. */
    private long appended;
    /** Null unless the model standardises per key. */
    private final KeyStatistics statistics;

    public ContextHistory(int capacity, int numNumeric, int numCategorical) {
        this(capacity, numNumeric, numCategorical, 0);
    }

    /** With {@code standardiseRows} > 0 the key's numeric features are standardised by its first that many labeled rows. */
    public ContextHistory(int capacity, int numNumeric, int numCategorical, int standardiseRows) {
        this(capacity, numNumeric, numCategorical, Math.min(capacity, FIRST_SLOTS),
                standardiseRows > 0 ? new KeyStatistics(standardiseRows, numNumeric) : null);
    }

    private ContextHistory(int capacity, int numNumeric, int numCategorical, int slots, KeyStatistics statistics) {
        if (capacity < 1) {
            throw new IllegalArgumentException("history capacity must be >= 1, got " + capacity);
        }
        this.capacity = capacity;
        this.numNumeric = numNumeric;
        this.numCategorical = numCategorical;
        this.statistics = statistics;
        allocate(Math.max(1, slots));
    }

    public int capacity() {
        return capacity;
    }

    public int numNumeric() {
        return numNumeric;
    }

    public int numCategorical() {
        return numCategorical;
    }

    public int size() {
        return size;
    }

    public long appended() {
        return appended;
    }

    /** The rows whose statistics standardise this key's features; 0 when the model's constants do. */
    public int standardiseRows() {
        return statistics == null ? 0 : statistics.rows();
    }

    /**
     * Whether the key's statistics in use may still change: they have taken each of its labeled
     * rows so far, and not yet its first {@code standardiseRows}. Settled statistics
     * ({@link #withStandardiseRows}) never change, however few rows the key has.
     */
    public boolean standardising() {
        return statistics != null && statistics.seen() == appended;
    }

    /**
     * Whether the statistics in use were refreshed by the key's last labeled row: its context,
     * encoded under the ones before, must be encoded again.
     */
    public boolean restandardised() {
        return standardising() && KeyStatistics.refreshesAt(appended, statistics.rows());
    }

    /** Adds a labeled row as the newest, dropping the oldest when full. */
    public void append(float[] rowNum, long[] rowCat, float rowLabel, long rowEventTime) {
        if (size == slots && slots < capacity) {
            grow(Math.min(capacity, 2 * slots));
        }
        int slot;
        if (size < slots) {
            slot = (head + size) % slots;
            size++;
        } else {
            slot = head;
            head = (head + 1) % slots;
        }
        if (numNumeric > 0) {
            System.arraycopy(rowNum, 0, num, slot * numNumeric, numNumeric);
        }
        if (numCategorical > 0) {
            System.arraycopy(rowCat, 0, cat, slot * numCategorical, numCategorical);
        }
        label[slot] = rowLabel;
        eventTime[slot] = rowEventTime;
        appended++;
        if (statistics != null) {
            statistics.add(rowNum);
        }
    }

    /** Drops every row whose event time is before {@code minEventTime}; returns how many. */
    public int dropOlderThan(long minEventTime) {
        int kept = 0;
        for (int i = 0; i < size; i++) {
            int from = slot(i);
            if (eventTime[from] >= minEventTime) {
                // Compacts towards the head; slot(kept) <= slot(i) in ring order, so nothing unread is overwritten.
                moveRow(from, slot(kept));
                kept++;
            }
        }
        int dropped = size - kept;
        size = kept;
        return dropped;
    }

    /** The {@code i}-th row, oldest first: its numeric features as the graph takes them, into {@code dst} at {@code offset}. */
    public void copyNumeric(int i, FloatBuffer dst, int offset) {
        putNumeric(num, slot(i) * numNumeric, dst, offset);
    }

    /** A new row's numeric features {@code raw} as the graph takes them (standardised by this key's statistics, if it has them). */
    public void putNumeric(float[] raw, FloatBuffer dst, int offset) {
        putNumeric(raw, 0, dst, offset);
    }

    private void putNumeric(float[] raw, int from, FloatBuffer dst, int offset) {
        if (numNumeric == 0) {
            return;
        }
        if (statistics == null) {
            dst.put(offset, raw, from, numNumeric);
        } else {
            statistics.standardise(raw, from, dst, offset);
        }
    }

    public void copyCategorical(int i, LongBuffer dst, int offset) {
        if (numCategorical > 0) {
            dst.put(offset, cat, slot(i) * numCategorical, numCategorical);
        }
    }

    public float label(int i) {
        return label[slot(i)];
    }

    public long eventTime(int i) {
        return eventTime[slot(i)];
    }

    /** The same rows in a ring of another capacity (the window changed between runs): keeps the newest. */
    public ContextHistory withCapacity(int newCapacity) {
        return copy(newCapacity, copyOfStatistics());
    }

    /**
     * The same rows for a model that standardises per key by {@code standardiseRows} rows (0: by its
     * graph): without statistics, or with those of the rows held, oldest first, settled (a swap or a
     * restore onto a model that standardises otherwise than the one that wrote the state).
     */
    public ContextHistory withStandardiseRows(int standardiseRows) {
        KeyStatistics stats = null;
        if (standardiseRows > 0) {
            stats = new KeyStatistics(standardiseRows, numNumeric);
            for (int i = 0; i < Math.min(size, standardiseRows); i++) {
                stats.add(num, slot(i) * numNumeric);
            }
            stats.settle();
        }
        return copy(capacity, stats);
    }

    public ContextHistory copy() {
        return copy(capacity, copyOfStatistics());
    }

    /** The newest rows that fit {@code newCapacity}, in a ring of that capacity, with {@code stats}. */
    private ContextHistory copy(int newCapacity, KeyStatistics stats) {
        int keep = Math.min(size, newCapacity);
        ContextHistory c = new ContextHistory(newCapacity, numNumeric, numCategorical, keep, stats);
        copyRows(size - keep, keep, c);
        c.size = keep;
        c.appended = appended;
        return c;
    }

    /** Rebuilds a history from its serialized parts: {@code size} rows, oldest first ({@code statistics} null without). */
    static ContextHistory restore(int capacity, int numNumeric, int numCategorical, int size, long appended,
                                  float[] num, long[] cat, float[] label, long[] eventTime, KeyStatistics statistics) {
        ContextHistory h = new ContextHistory(capacity, numNumeric, numCategorical, size, statistics);
        System.arraycopy(num, 0, h.num, 0, size * numNumeric);
        System.arraycopy(cat, 0, h.cat, 0, size * numCategorical);
        System.arraycopy(label, 0, h.label, 0, size);
        System.arraycopy(eventTime, 0, h.eventTime, 0, size);
        h.size = size;
        h.appended = appended;
        return h;
    }

    /** Null unless the model standardises per key. */
    KeyStatistics statistics() {
        return statistics;
    }

    private KeyStatistics copyOfStatistics() {
        return statistics == null ? null : statistics.copy();
    }

    float numeric(int i, int feature) {
        return num[slot(i) * numNumeric + feature];
    }

    long categorical(int i, int feature) {
        return cat[slot(i) * numCategorical + feature];
    }

    /** Physical slot of the {@code i}-th row, oldest first. */
    private int slot(int i) {
        return (head + i) % slots;
    }

    private void allocate(int n) {
        slots = n;
        num = new float[n * numNumeric];
        cat = new long[n * numCategorical];
        label = new float[n];
        eventTime = new long[n];
    }

    /** Unrolls the ring into {@code n} slots, oldest row at slot 0. */
    private void grow(int n) {
        ContextHistory bigger = new ContextHistory(capacity, numNumeric, numCategorical, n, null);
        copyRows(0, size, bigger);
        slots = n;
        num = bigger.num;
        cat = bigger.cat;
        label = bigger.label;
        eventTime = bigger.eventTime;
        head = 0;
    }

    /** Copies rows {@code [from, from + n)}, oldest first, to slots 0.. of {@code dst}. */
    private void copyRows(int from, int n, ContextHistory dst) {
        for (int j = 0; j < n; j++) {
            int s = slot(from + j);
            System.arraycopy(num, s * numNumeric, dst.num, j * numNumeric, numNumeric);
            System.arraycopy(cat, s * numCategorical, dst.cat, j * numCategorical, numCategorical);
            dst.label[j] = label[s];
            dst.eventTime[j] = eventTime[s];
        }
    }

    private void moveRow(int from, int to) {
        if (from == to) {
            return;
        }
        System.arraycopy(num, from * numNumeric, num, to * numNumeric, numNumeric);
        System.arraycopy(cat, from * numCategorical, cat, to * numCategorical, numCategorical);
        label[to] = label[from];
        eventTime[to] = eventTime[from];
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof ContextHistory other)) {
            return false;
        }
        if (capacity != other.capacity || numNumeric != other.numNumeric || numCategorical != other.numCategorical
                || size != other.size || appended != other.appended || !Objects.equals(statistics, other.statistics)) {
            return false;
        }
        for (int i = 0; i < size; i++) {
            int a = slot(i);
            int b = other.slot(i);
            if (Float.compare(label[a], other.label[b]) != 0 || eventTime[a] != other.eventTime[b]
                    || !Arrays.equals(num, a * numNumeric, (a + 1) * numNumeric, other.num, b * numNumeric, (b + 1) * numNumeric)
                    || !Arrays.equals(cat, a * numCategorical, (a + 1) * numCategorical, other.cat, b * numCategorical, (b + 1) * numCategorical)) {
                return false;
            }
        }
        return true;
    }

    @Override
    public int hashCode() {
        return Long.hashCode(appended) * 31 + size;
    }

    @Override
    public String toString() {
        return "ContextHistory{size=" + size + ", capacity=" + capacity + ", appended=" + appended + "}";
    }
}
