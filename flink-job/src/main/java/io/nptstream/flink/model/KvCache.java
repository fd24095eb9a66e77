package io.nptstream.flink.model;

import io.nptstream.flink.state.ContextHistory;
import java.nio.FloatBuffer;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.flink.annotation.Internal;

/**
 * The per-key cache of ABD keys and values of the last W labeled rows: an LRU over keys with a
 * byte limit. It is derived data and never checkpointed: each entry remembers the
 * {@link ContextHistory#appended()} count it was built for, and an entry that does not match
 * its key's state (after a restore, a TTL expiry, a max-age drop) is rebuilt from the state.
 *
 * <p>One cache per operator instance: it lives and dies with the keyed state it mirrors, so
 * a restored or rescaled operator can never read an entry built from another timeline.
 */
@Internal
public final class KvCache {
    private static final long ENTRY_OVERHEAD_BYTES = 96;

    private final int layers;
    private final int window;
    private final int cacheDim;
    private final long maxBytes;
    private final long entryBytes;
    private final float[] zeros;
    private final LinkedHashMap<String, Entry> entries = new LinkedHashMap<>(16, 0.75f, true);
    private long rebuilds;
    private long lookups;

    public KvCache(int layers, int window, int cacheDim, long maxBytes) {
        this.layers = layers;
        this.window = window;
        this.cacheDim = cacheDim;
        this.maxBytes = maxBytes;
        this.entryBytes = entryBytes(layers, window, cacheDim);
        this.zeros = new float[window * cacheDim];
    }

    /** Bytes of one key's entry: keys and values of W rows per layer, float32, and the entry's overhead. */
    public static long entryBytes(int layers, int window, int cacheDim) {
        return 2L * Float.BYTES * layers * window * cacheDim + ENTRY_OVERHEAD_BYTES;
    }

    /**
     * The key's entry if it is cached and matches {@code history}; null when it must be built: a
     * rebuild from the history's rows, or, for a key with no labeled rows yet, an empty entry (not
     * counted: there was nothing to cache).
     */
    public Entry get(String key, ContextHistory history) {
        if (history.size() == 0) {
            return null;
        }
        lookups++;
        Entry e = entries.get(key);
        if (e != null && e.appended == history.appended() && e.size == Math.min(window, history.size())) {
            return e;
        }
        rebuilds++;
        return null;
    }

    /** A fresh, empty entry for {@code key}, not yet cached; {@link #put} caches it once filled. */
    public Entry newEntry() {
        return new Entry(layers, window, cacheDim, zeros);
    }

    /** Caches {@code entry} as matching {@code history}, evicting least recently used keys over the limit. */
    public void put(String key, Entry entry, ContextHistory history) {
        entry.appended = history.appended();
        entries.put(key, entry);
        Iterator<Map.Entry<String, Entry>> eldest = entries.entrySet().iterator();
        while (bytes() > maxBytes && eldest.hasNext()) {
            eldest.next();
            eldest.remove();
        }
    }

    public void invalidate(String key) {
        entries.remove(key);
    }

    public int keys() {
        return entries.size();
    }

    public long bytes() {
        return entries.size() * entryBytes;
    }

    /** Lookups so far of keys with labeled rows: one per key and call. */
    public long lookups() {
        return lookups;
    }

    /** The lookups that missed, each a rebuild from the key's raw history (evictions, restores, max-age drops). */
    public long rebuilds() {
        return rebuilds;
    }

    /** Keys and values of one key's last W labeled rows, per ABD layer, in a ring over W slots. */
    public static final class Entry {
        private final int layers;
        private final int window;
        private final int cacheDim;
        /** [layer][slot][cacheDim], flattened. */
        private final float[] k;
        private final float[] v;
        /** At least one layer's W x cacheDim zeros, shared: the empty slots of a short context. */
        private final float[] zeros;
        private int head;
        private int size;
        private long appended;

        Entry(int layers, int window, int cacheDim, float[] zeros) {
            this.layers = layers;
            this.zeros = zeros;
            this.window = window;
            this.cacheDim = cacheDim;
            this.k = new float[layers * window * cacheDim];
            this.v = new float[layers * window * cacheDim];
        }

        public int size() {
            return size;
        }

        /**
         * Appends one row: its keys and values for every layer, read from {@code newK}/{@code newV}
         * at {@code offset + l * layerStride} for layer {@code l}.
         */
        public void append(FloatBuffer newK, FloatBuffer newV, int offset, int layerStride) {
            int slot;
            if (size < window) {
                slot = (head + size) % window;
                size++;
            } else {
                slot = head;
                head = (head + 1) % window;
            }
            for (int l = 0; l < layers; l++) {
                int dst = (l * window + slot) * cacheDim;
                newK.get(offset + l * layerStride, k, dst, cacheDim);
                newV.get(offset + l * layerStride, v, dst, cacheDim);
            }
        }

        /**
         * Writes the entry right-aligned into one set of each layer's cache_k/cache_v ([W, D] at
         * {@code offset} of {@code cacheK[l]} / {@code cacheV[l]}): slot W-1 is the newest row, the
         * slots before the oldest row are zeroed. The ring is at most two runs of slots per layer,
         * so a key costs a few bulk copies, not one per row.
         */
        public void copyTo(FloatBuffer[] cacheK, FloatBuffer[] cacheV, int offset) {
            for (int l = 0; l < layers; l++) {
                int layer = l * window * cacheDim;
                copyLayer(k, layer, cacheK[l], offset);
                copyLayer(v, layer, cacheV[l], offset);
            }
        }

        private void copyLayer(float[] ring, int layer, FloatBuffer out, int at) {
            int empty = (window - size) * cacheDim;
            int oldest = Math.min(size, window - head) * cacheDim;    // from slot head to the ring's end
            out.put(at, zeros, 0, empty);
            out.put(at + empty, ring, layer + head * cacheDim, oldest);
            out.put(at + empty + oldest, ring, layer, size * cacheDim - oldest);
        }
    }
}
