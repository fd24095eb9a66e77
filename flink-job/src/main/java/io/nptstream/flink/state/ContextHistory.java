package io.nptstream.flink.state;

import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.Arrays;

/**
 * One key's raw labeled rows, newest last, in a ring of primitive arrays: the keyed state of the
 * NPT operator. It keeps {@code history_layers * W} rows, enough to rebuild the key/value cache
 * exactly (proto/README.md), and counts every row ever appended so that a cache entry can tell
 * whether it still matches.
 */
public final class ContextHistory {
    private final int capacity;
    private final int numNumeric;
    private final int numCategorical;
    private final float[] num;
    private final long[] cat;
    private final float[] label;
    private final long[] eventTime;
    /** Slot of the oldest row. */
    private int head;
    private int size;
    /** Rows appended since the key was first seen; never decreases, not even when rows are dropped. */
    private long appended;

    public ContextHistory(int capacity, int numNumeric, int numCategorical) {
        if (capacity < 1) {
            throw new IllegalArgumentException("history capacity must be >= 1, got " + capacity);
        }
        this.capacity = capacity;
        this.numNumeric = numNumeric;
        this.numCategorical = numCategorical;
        this.num = new float[capacity * numNumeric];
        this.cat = new long[capacity * numCategorical];
        this.label = new float[capacity];
        this.eventTime = new long[capacity];
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

    /** Adds a labeled row as the newest, dropping the oldest when full. */
    public void append(float[] rowNum, long[] rowCat, float rowLabel, long rowEventTime) {
        int slot;
        if (size < capacity) {
            slot = (head + size) % capacity;
            size++;
        } else {
            slot = head;
            head = (head + 1) % capacity;
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

    /** The {@code i}-th row, oldest first: its numeric features into {@code dst} at {@code offset}. */
    public void copyNumeric(int i, FloatBuffer dst, int offset) {
        if (numNumeric > 0) {
            dst.put(offset, num, slot(i) * numNumeric, numNumeric);
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
        ContextHistory resized = new ContextHistory(newCapacity, numNumeric, numCategorical);
        float[] rowNum = new float[numNumeric];
        long[] rowCat = new long[numCategorical];
        for (int i = Math.max(0, size - newCapacity); i < size; i++) {
            int s = slot(i);
            System.arraycopy(num, s * numNumeric, rowNum, 0, numNumeric);
            System.arraycopy(cat, s * numCategorical, rowCat, 0, numCategorical);
            resized.append(rowNum, rowCat, label[s], eventTime[s]);
        }
        resized.appended = appended;
        return resized;
    }

    public ContextHistory copy() {
        ContextHistory c = new ContextHistory(capacity, numNumeric, numCategorical);
        System.arraycopy(num, 0, c.num, 0, num.length);
        System.arraycopy(cat, 0, c.cat, 0, cat.length);
        System.arraycopy(label, 0, c.label, 0, label.length);
        System.arraycopy(eventTime, 0, c.eventTime, 0, eventTime.length);
        c.head = head;
        c.size = size;
        c.appended = appended;
        return c;
    }

    /** Rebuilds a history from its serialized parts: rows oldest first, starting at slot 0. */
    static ContextHistory restore(int capacity, int numNumeric, int numCategorical, int size, long appended,
                                  float[] num, long[] cat, float[] label, long[] eventTime) {
        ContextHistory h = new ContextHistory(capacity, numNumeric, numCategorical);
        System.arraycopy(num, 0, h.num, 0, size * numNumeric);
        System.arraycopy(cat, 0, h.cat, 0, size * numCategorical);
        System.arraycopy(label, 0, h.label, 0, size);
        System.arraycopy(eventTime, 0, h.eventTime, 0, size);
        h.size = size;
        h.appended = appended;
        return h;
    }

    /** Physical slot of the {@code i}-th row, oldest first. */
    int slot(int i) {
        return (head + i) % capacity;
    }

    float numeric(int i, int feature) {
        return num[slot(i) * numNumeric + feature];
    }

    long categorical(int i, int feature) {
        return cat[slot(i) * numCategorical + feature];
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
                || size != other.size || appended != other.appended) {
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
