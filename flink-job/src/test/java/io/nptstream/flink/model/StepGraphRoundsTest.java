package io.nptstream.flink.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** How a cached STEP flush is cut into calls: one call unless a few busy keys would pad all others. */
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

    private static int[] filled(int keys, int count) {
        int[] c = new int[keys];
        Arrays.fill(c, count);
        return c;
    }
}
