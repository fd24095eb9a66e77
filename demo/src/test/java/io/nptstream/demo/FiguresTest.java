package io.nptstream.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.nptstream.proto.Manifest;
import io.nptstream.proto.Prediction;
import io.nptstream.proto.Target;
import org.junit.jupiter.api.Test;

class FiguresTest {
    /**
     * Exactly-once: 5,000 results become readable in one burst at a checkpoint, 3.3 s after the
     * first record was sent, and are read within 28 ms. The throughput is 5,000 / 3.3 s, not
     * 5,000 / 28 ms (the figure the demo printed before: 179,136 records/s).
     */
    @Test
    void throughputRunsFromTheFirstRecordSentNotFromTheFirstResultRead() {
        Figures f = new Figures(Manifest.newBuilder().setTarget(Target.newBuilder().setTask(Target.Task.CLASSIFICATION)).build());
        f.firstSentNanos = 1_000_000_000L;
        for (int i = 0; i < 5_000; i++) {
            f.add(Prediction.newBuilder().setPredictedClass("1").build());
        }
        f.lastNanos = f.firstSentNanos + 3_300_000_000L;
        assertEquals(5_000 / 3.3, f.throughput(), 1e-6);
    }
}
