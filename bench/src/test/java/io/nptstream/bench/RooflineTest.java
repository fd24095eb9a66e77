package io.nptstream.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.nptstream.proto.Architecture;
import org.junit.jupiter.api.Test;

class RooflineTest {
    /** One ABD layer of width D = 4 (2 attributes of e = 2), no ABA, ff 1, window 3, counted by hand. */
    @Test
    void countsTheTwoPassesOfOneCachedRecord() {
        Architecture a = Architecture.newBuilder().setEmbedDim(2).setAttributes(2).setRowDim(4)
                .setAbdLayers(1).setAbaLayers(0).setHeads(1).setFfMult(1).build();
        double projections = 5 * 2 * 4 * 4;          // q, k, v, out, residual
        double feedForward = 2 * 2 * 4 * 4;           // up and down
        double attention = 2 * 2 * (3 + 1) * 4;       // scores and values over W + itself
        assertEquals(2 * (projections + feedForward + attention), Roofline.flopsPerRecord(a, 3), 1e-9);
    }

    /** The same layer with one key/value head of 2 (two query heads): keys and values are D x Dc products. */
    @Test
    void countsTheNarrowKeysAndValuesOfMultiQueryAttention() {
        Architecture a = Architecture.newBuilder().setEmbedDim(2).setAttributes(2).setRowDim(4)
                .setAbdLayers(1).setAbaLayers(0).setHeads(2).setKvHeads(1).setCacheDim(2).setFfMult(1).build();
        double projections = 2 * (3 * 4 * 4 + 2 * 4 * 2);   // q, out, residual; k, v
        double feedForward = 2 * 2 * 4 * 4;
        double attention = 2 * 2 * (3 + 1) * 4;
        assertEquals(2 * (projections + feedForward + attention), Roofline.flopsPerRecord(a, 3), 1e-9);
    }

    @Test
    void costPerRecordGrowsLinearlyInTheWindow() {
        Architecture a = Architecture.newBuilder().setEmbedDim(16).setAttributes(7).setRowDim(112)
                .setAbdLayers(2).setAbaLayers(2).setHeads(4).setFfMult(4).build();
        double step = Roofline.flopsPerRecord(a, 512) - Roofline.flopsPerRecord(a, 256);
        assertEquals(step, Roofline.flopsPerRecord(a, 1024) - Roofline.flopsPerRecord(a, 768), 1e-6);
    }
}
