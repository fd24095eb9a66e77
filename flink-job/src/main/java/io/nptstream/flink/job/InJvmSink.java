package io.nptstream.flink.job;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;

/**
 * Collects a local job's output into a list in this JVM, with when the first and the last element
 * arrived. For {@link Replay}, whose job runs on a local cluster in the same JVM: unlike the
 * collect iterator, nothing polls the cluster after the job has ended (that polling raced the
 * local cluster's shutdown and logged a stack trace after every replay). The list is read once
 * {@code execute} has returned.
 */
final class InJvmSink<T> implements Sink<T> {
    private static final long serialVersionUID = 1L;
    private static final Map<String, Collected<?>> RESULTS = new ConcurrentHashMap<>();

    /** What the job wrote, in arrival order, and the arrival times of the first and the last element. */
    static final class Collected<T> {
        final List<T> elements = Collections.synchronizedList(new ArrayList<>());
        volatile long firstNanos;
        volatile long lastNanos;

        /** Seconds from the first element's arrival to the last one's: the job at work, without its start. */
        double secondsFirstToLast() {
            return (lastNanos - firstNanos) / 1e9;
        }

        private void add(T element) {
            long now = System.nanoTime();
            if (elements.isEmpty()) {
                firstNanos = now;
            }
            lastNanos = now;
            elements.add(element);
        }
    }

    private final String id = UUID.randomUUID().toString();

    InJvmSink() {
        RESULTS.put(id, new Collected<T>());
    }

    /** What the job wrote; the sink forgets it. */
    @SuppressWarnings("unchecked")
    Collected<T> take() {
        return (Collected<T>) RESULTS.remove(id);
    }

    @Override
    @SuppressWarnings("unchecked")
    public SinkWriter<T> createWriter(WriterInitContext context) {
        Collected<T> out = (Collected<T>) RESULTS.get(id);
        return new SinkWriter<>() {
            @Override
            public void write(T element, Context context) {
                out.add(element);
            }

            @Override
            public void flush(boolean endOfInput) {}

            @Override
            public void close() {}
        };
    }
}
