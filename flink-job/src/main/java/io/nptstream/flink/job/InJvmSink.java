package io.nptstream.flink.job;

import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;

/**
 * Collects a local job's output into a list in this JVM. For {@link Replay}, whose job runs on a
 * local cluster in the same JVM: unlike the collect iterator, nothing polls the cluster after the
 * job has ended (that polling raced the local cluster's shutdown and logged a stack trace after
 * every replay). The list is read once {@code execute} has returned.
 */
final class InJvmSink<T> implements Sink<T> {
    private static final long serialVersionUID = 1L;
    private static final Map<String, List<Object>> RESULTS = new ConcurrentHashMap<>();

    private final String id = UUID.randomUUID().toString();

    InJvmSink() {
        RESULTS.put(id, new CopyOnWriteArrayList<>());
    }

    /** What the job wrote; the sink forgets it. */
    @SuppressWarnings("unchecked")
    List<T> take() {
        return (List<T>) RESULTS.remove(id);
    }

    @Override
    public SinkWriter<T> createWriter(WriterInitContext context) {
        List<Object> out = RESULTS.get(id);
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
