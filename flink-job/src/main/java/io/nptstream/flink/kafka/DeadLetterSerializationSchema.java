package io.nptstream.flink.kafka;

import com.google.protobuf.ByteString;
import io.nptstream.flink.core.Rejected;
import io.nptstream.proto.DeadLetter;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.kafka.clients.producer.ProducerRecord;

/** Writes each rejected record as a DeadLetter message: the raw bytes, where they came from, and why. */
public class DeadLetterSerializationSchema implements KafkaRecordSerializationSchema<Rejected> {
    private static final long serialVersionUID = 1L;

    private final String topic;

    public DeadLetterSerializationSchema(String topic) {
        this.topic = topic;
    }

    public static DeadLetter encode(Rejected r) {
        return DeadLetter.newBuilder()
                .setRaw(r.raw == null ? ByteString.EMPTY : ByteString.copyFrom(r.raw))
                .setTopic(r.topic == null ? "" : r.topic)
                .setPartition(r.partition)
                .setOffset(r.offset)
                .setReason(r.reason)
                .setDetail(r.detail)
                .setRejectedAtMs(r.rejectedAtMs)
                .build();
    }

    @Override
    public ProducerRecord<byte[], byte[]> serialize(Rejected rejected, KafkaSinkContext context, Long timestamp) {
        return new ProducerRecord<>(topic, null, timestamp, null, encode(rejected).toByteArray());
    }
}
