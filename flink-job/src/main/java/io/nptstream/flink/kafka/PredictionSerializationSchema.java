package io.nptstream.flink.kafka;

import io.nptstream.flink.core.Scored;
import java.nio.charset.StandardCharsets;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.kafka.clients.producer.ProducerRecord;

/** Writes each prediction as a Prediction message, keyed by the record's key so a key's predictions stay in order. */
public class PredictionSerializationSchema implements KafkaRecordSerializationSchema<Scored> {
    private static final long serialVersionUID = 1L;

    private final String topic;
    private final PredictionEncoder encoder;

    public PredictionSerializationSchema(String topic, PredictionEncoder encoder) {
        this.topic = topic;
        this.encoder = encoder;
    }

    @Override
    public ProducerRecord<byte[], byte[]> serialize(Scored scored, KafkaSinkContext context, Long timestamp) {
        return new ProducerRecord<>(topic, null, timestamp, scored.key.getBytes(StandardCharsets.UTF_8),
                encoder.encode(scored).toByteArray());
    }
}
