package io.nptstream.flink.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.nptstream.flink.state.ContextHistory;
import java.nio.FloatBuffer;
import org.junit.jupiter.api.Test;

/** The key/value cache: right-aligned copies, staleness against the state, LRU by bytes. */
class KvCacheTest {
    private static final int LAYERS = 2;
    private static final int WINDOW = 3;
    private static final int DIM = 2;

    @Test
    void copiesTheNewestRowsRightAlignedAndZeroesTheSlotsBefore() {
        KvCache cache = new KvCache(LAYERS, WINDOW, DIM, 1 << 20);
        KvCache.Entry e = cache.newEntry();
        // Every fill of the ring: empty, partly filled, full, and wrapped at each slot.
        for (int rows = 0; rows <= 2 * WINDOW + 1; rows++) {
            if (rows > 0) {
                append(e, rows);
            }
            FloatBuffer[] k = new FloatBuffer[LAYERS];
            FloatBuffer[] v = new FloatBuffer[LAYERS];
            for (int l = 0; l < LAYERS; l++) {
                k[l] = FloatBuffer.allocate(2 * WINDOW * DIM);    // two sets: the entry goes into the second
                v[l] = FloatBuffer.allocate(2 * WINDOW * DIM);
                for (int i = 0; i < k[l].capacity(); i++) {     // what an earlier call left in the buffers
                    k[l].put(i, Float.NaN);
                    v[l].put(i, Float.NaN);
                }
            }
            e.copyTo(k, v, WINDOW * DIM);
            // Layer l of row r holds 10 l + r in its keys and -(10 l + r) in its values.
            for (int l = 0; l < LAYERS; l++) {
                for (int slot = 0; slot < WINDOW; slot++) {
                    int row = rows - (WINDOW - 1 - slot);
                    float expected = row >= 1 ? 10 * l + row : 0;
                    for (int d = 0; d < DIM; d++) {
                        int at = (WINDOW + slot) * DIM + d;
                        String where = rows + " rows, layer " + l + ", slot " + slot;
                        assertEquals(expected, k[l].get(at), where);
                        assertEquals(expected == 0 ? 0 : -expected, v[l].get(at), where);
                    }
                }
                assertTrue(Float.isNaN(k[l].get(0)), "the first set is not the entry's");
            }
        }
    }

    @Test
    void anEntryThatDoesNotMatchTheStateIsNotServed() {
        KvCache cache = new KvCache(LAYERS, WINDOW, DIM, 1 << 20);
        ContextHistory h = new ContextHistory(6, 1, 0);
        h.append(new float[] {1}, new long[0], 1f, 0);
        KvCache.Entry e = cache.newEntry();
        append(e, 1);
        cache.put("a", e, h);
        assertNotNull(cache.get("a", h));
        h.append(new float[] {2}, new long[0], 1f, 0);
        assertNull(cache.get("a", h), "the state moved on without the cache");
    }

    @Test
    void countsLookupsOfKeysWithRowsAndTheirMisses() {
        KvCache cache = new KvCache(LAYERS, WINDOW, DIM, 1 << 20);
        ContextHistory h = new ContextHistory(6, 1, 0);
        assertNull(cache.get("a", h));
        assertEquals(0, cache.lookups(), "a key without labeled rows has nothing cached to look up");
        h.append(new float[] {1}, new long[0], 1f, 0);
        assertNull(cache.get("a", h));
        KvCache.Entry e = cache.newEntry();
        append(e, 1);
        cache.put("a", e, h);
        assertNotNull(cache.get("a", h));
        assertEquals(2, cache.lookups());
        assertEquals(1, cache.rebuilds(), "the lookup before the entry was cached missed");
    }

    @Test
    void evictsTheLeastRecentlyUsedKeysOverTheByteLimit() {
        KvCache probe = new KvCache(LAYERS, WINDOW, DIM, Long.MAX_VALUE);
        ContextHistory h = new ContextHistory(6, 1, 0);
        h.append(new float[] {1}, new long[0], 1f, 0);
        probe.put("x", oneRow(probe), h);
        long entryBytes = probe.bytes();

        KvCache cache = new KvCache(LAYERS, WINDOW, DIM, 2 * entryBytes);
        cache.put("a", oneRow(cache), h);
        cache.put("b", oneRow(cache), h);
        assertNotNull(cache.get("a", h));
        cache.put("c", oneRow(cache), h);
        assertEquals(2, cache.keys());
        assertNull(cache.get("b", h), "b was the least recently used");
        assertNotNull(cache.get("a", h));
        assertEquals(2 * entryBytes, cache.bytes());
    }

    private static KvCache.Entry oneRow(KvCache cache) {
        KvCache.Entry e = cache.newEntry();
        append(e, 1);
        return e;
    }

    private static void append(KvCache.Entry e, int row) {
        // new_k/new_v laid out [L, M=1, D]
        FloatBuffer k = FloatBuffer.allocate(LAYERS * DIM);
        FloatBuffer v = FloatBuffer.allocate(LAYERS * DIM);
        for (int l = 0; l < LAYERS; l++) {
            for (int d = 0; d < DIM; d++) {
                k.put(l * DIM + d, 10 * l + row);
                v.put(l * DIM + d, -(10 * l + row));
            }
        }
        e.append(k, v, 0, DIM);
    }
}
