package io.nptstream.flink.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** How a flush is cut into calls: each key whole; keys of equal row counts together, neighbouring counts where padding costs less than a call; calls of bounded size. */
class StepGraphRoundsTest {

    @Test
    void keysOfEqualCountsShareACallAndPaddingCostsLessThanTheCallsItSaves() {
        // Counts 1 (keys 0, 2), 2 (key 3), 3 (keys 1, 4): three calls compute 10 rows; padding key 3
        // to 3 rows saves a call for one padded row.
        assertEquals(List.of(List.of(0, 2), List.of(1, 3, 4)), InferenceEngine.callGroups(new int[] {1, 3, 1, 2, 3}));
        assertEquals(List.of(List.of(0)), InferenceEngine.callGroups(new int[] {64}));
        assertEquals(List.of(), InferenceEngine.callGroups(new int[0]));
        // One hot key among 30 quiet ones: two calls, 60 rows computed; one call would pad 29 rows a key.
        int[] counts = filled(31, 1);
        counts[0] = 30;
        List<List<Integer>> groups = InferenceEngine.callGroups(counts);
        assertEquals(2, groups.size());
        assertEquals(30, groups.get(0).size());
        assertEquals(List.of(0), groups.get(1));
        // 100 keys in a flush of 128 dealt round robin: 72 keys of 1 row and 28 of 2 stay apart.
        int[] roundRobin = filled(100, 1);
        Arrays.fill(roundRobin, 0, 28, 2);
        assertEquals(2, InferenceEngine.callGroups(roundRobin).size());
        // A Zipf tail (one key each of 7, 8 and 9 rows): one call of 27 rows, not three of 24.
        assertEquals(List.of(List.of(0, 1, 2)), InferenceEngine.callGroups(new int[] {9, 7, 8}));
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
