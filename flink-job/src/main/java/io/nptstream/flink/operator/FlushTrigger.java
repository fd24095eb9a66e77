package io.nptstream.flink.operator;

import java.util.concurrent.ScheduledFuture;
import org.apache.flink.streaming.runtime.tasks.ProcessingTimeService;
import org.apache.flink.util.function.ThrowingRunnable;

/**
 * When the operator flushes its buffer: at {@code maxRecords} records, or {@code maxDelayMs} of
 * processing time after the first one. What a flush does is the operator's; as in Flink's
 * AbstractMapBundleOperator, the trigger only decides when. (Watermarks, barriers and the end of
 * input flush too; the operator calls those flushes itself.)
 */
final class FlushTrigger {
    private final int maxRecords;
    private final long maxDelayMs;
    private final ProcessingTimeService time;
    private final ThrowingRunnable<Exception> flush;
    private ScheduledFuture<?> timer;

    FlushTrigger(int maxRecords, long maxDelayMs, ProcessingTimeService time, ThrowingRunnable<Exception> flush) {
        this.maxRecords = maxRecords;
        this.maxDelayMs = maxDelayMs;
        this.time = time;
        this.flush = flush;
    }

    /** A record joined the buffer, which now holds {@code buffered}. */
    void onRecord(int buffered) throws Exception {
        if (buffered >= maxRecords || maxDelayMs == 0) {
            flush.run();
        } else if (timer == null) {
            timer = time.registerTimer(time.getCurrentProcessingTime() + maxDelayMs, now -> {
                timer = null;
                flush.run();
            });
        }
    }

    /** The buffer was flushed, for whatever reason: the pending delay no longer applies. */
    void reset() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }
}
