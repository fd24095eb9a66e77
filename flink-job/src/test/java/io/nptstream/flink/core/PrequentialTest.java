package io.nptstream.flink.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class PrequentialTest {
    @Test
    void windowedAccuracyKeepsATrailingPartialWindow() {
        boolean[] correct = new boolean[1004];
        for (int i = 0; i < 1000; i += 2) {
            correct[i] = true;
        }
        correct[1000] = true;
        Prequential p = Prequential.ofHits(correct);
        assertArrayEquals(new double[] {0.5, 0.25}, p.windowedAccuracy(1000), 1e-12);
        assertEquals(501 / 1004.0, p.accuracy(), 1e-12);
        assertEquals(0.25, p.accuracy(1000, 5000), 1e-12, "clipped to the rows scored");
        assertTrue(Double.isNaN(p.accuracy(2000, 3000)));
    }

    /** The predicted class is the argmax, the first on ties; unlabeled records are not scored. */
    @Test
    void classesAreScoredByTheirArgmax() {
        Prequential p = Prequential.perRow(true);
        p.add(new ModelOutput.Classes(new float[] {0.2f, 0.4f, 0.4f}), 1);
        p.add(new ModelOutput.Classes(new float[] {0.5f, 0.5f}), 1);
        p.add(new ModelOutput.Classes(new float[] {0.1f, 0.9f}), Float.NaN);
        assertEquals(2, p.labeled());
        assertEquals(0.5, p.accuracy(), 1e-12);
        assertTrue(p.hit(0));
        assertTrue(Double.isNaN(p.rmse()));
    }

    @Test
    void regressionIsScoredByRmse() {
        Prequential p = Prequential.totals(false);
        p.add(new ModelOutput.Regression(3f, Float.NaN), 1f);
        p.add(new ModelOutput.Regression(-1f, 0.5f), -1f);
        assertEquals(Math.sqrt(4 / 2.0), p.rmse(), 1e-12);
        assertTrue(Double.isNaN(p.accuracy()));
        assertThrows(IllegalStateException.class, () -> p.latencyPercentile(0.5), "totals keep no rows");
    }

    @Test
    void latencyPercentilesAreNearestRank() {
        Prequential p = Prequential.perRow(true);
        assertEquals(0, p.latencyPercentile(0.5));
        for (long us = 100; us >= 1; us--) {
            p.addLatency(us);
        }
        assertEquals(50, p.latencyPercentile(0.50));
        assertEquals(99, p.latencyPercentile(0.99));
        assertEquals(100, p.latencyPercentile(1.0));
        // From the 51st latency on (50 .. 1): a warm-up left out.
        assertEquals(25, p.latencyPercentile(0.50, 50));
        assertEquals(50, p.latencyPercentile(1.0, 50));
        assertEquals(0, p.latencyPercentile(0.50, 100), "nothing after the warm-up");
    }

    @Test
    void nonFiniteOutputsAreNotServable() {
        assertTrue(new ModelOutput.Classes(new float[] {0.5f, 0.5f}).isFinite());
        assertEquals(false, new ModelOutput.Classes(new float[] {Float.NaN, 0.5f}).isFinite());
        assertEquals(false, new ModelOutput.Regression(Float.POSITIVE_INFINITY, Float.NaN).isFinite());
        assertEquals(false, new ModelOutput.Regression(1f, Float.POSITIVE_INFINITY).isFinite());
        assertTrue(new ModelOutput.Regression(1f, Float.NaN).isFinite(), "no std is not a bad std");
    }
}
