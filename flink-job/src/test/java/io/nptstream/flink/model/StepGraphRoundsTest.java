package io.nptstream.flink.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** How a flush is cut into calls: one call unless a few busy keys would pad all others, or the call would be too big. */
class StepGraphRoundsTest {

    @Test
    void evenKeysShareOneCall() {
        assertEquals(1, StepGraph.rowsPerCall(filled(64, 1)));
        assertEquals(4, StepGraph.rowsPerCall(filled(16, 4)));
        assertEquals(64, StepGraph.rowsPerCall(new int[] {64}));
    }

    @Test
    void oneHotKeyGoesInRounds() {
        int[] counts = filled(31, 1);
        counts[0] = 30;
        int m = StepGraph.rowsPerCall(counts);
        assertTrue(m > 1 && m < 30, "rows per call " + m);
        // 31 keys x 30 rows in one call would compute 930 rows for 60; the rounds compute far fewer.
        long rows = 31L * m + (long) Math.ceil((30 - m) / (double) m) * m;
        assertTrue(rows < 200, "rows computed " + rows);
    }

    /** Issue 9, item 7: a flush of many stale keys (after a restore) goes in calls of bounded size, never in one huge one. */
    @Test
    void aRoundOfManyLongHistoriesGoesInBoundedCalls() {
        assertEquals(List.of(3), InferenceEngine.callEnds(new int[] {10, 10, 10}, 30));
        assertEquals(List.of(2, 3), InferenceEngine.callEnds(new int[] {10, 10, 10}, 29));
        assertEquals(List.of(1, 2, 4), InferenceEngine.callEnds(new int[] {50, 20, 10, 10}, 30), "a key over the limit goes alone");
        assertEquals(List.of(), InferenceEngine.callEnds(new int[0], 30));
        // 10,000 keys with 512 rows each (history_layers 2, W 256) after a restore: 79 calls, each under the limit.
        int[] restored = filled(10_000, 512);
        List<Integer> ends = InferenceEngine.callEnds(restored, InferenceEngine.MAX_ROWS_PER_CALL);
        assertEquals(10_000, ends.get(ends.size() - 1));
        assertEquals((int) Math.ceil(10_000 / 128.0), ends.size());
    }

    private static int[] filled(int keys, int count) {
        int[] c = new int[keys];
        Arrays.fill(c, count);
        return c;
    }
}
