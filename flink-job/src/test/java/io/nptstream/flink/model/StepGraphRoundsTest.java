package io.nptstream.flink.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** How a flush is cut into calls: keys of equal row counts together, each key whole; calls of bounded size. */
class StepGraphRoundsTest {

    @Test
    void keysOfEqualCountsShareACallAndNothingIsPadded() {
        assertEquals(List.of(List.of(0, 2), List.of(3), List.of(1, 4)), InferenceEngine.byCount(new int[] {1, 3, 1, 2, 3}));
        assertEquals(List.of(List.of(0)), InferenceEngine.byCount(new int[] {64}));
        // One hot key among 30 quiet ones: two calls, 60 rows computed, none of them padding.
        int[] counts = filled(31, 1);
        counts[0] = 30;
        List<List<Integer>> groups = InferenceEngine.byCount(counts);
        assertEquals(2, groups.size());
        assertEquals(30, groups.get(0).size());
        assertTrue(groups.get(1).equals(List.of(0)));
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
