package io.nptstream.flink.kafka;

import io.nptstream.flink.config.JobConfig;
import io.nptstream.flink.core.Scored;
import io.nptstream.flink.validation.Rejected;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;

/** The job's Kafka source and sinks, built from the configuration. */
public final class KafkaIO {
    private KafkaIO() {}

    /** Reads the input topic from the group's committed offsets, or from the start for a new group. */
    public static KafkaSource<RawRecord> source(JobConfig c) {
        return KafkaSource.<RawRecord>builder()
                .setBootstrapServers(c.kafkaBootstrap)
                .setTopics(c.topicIn)
                .setGroupId(c.group)
                .setStartingOffsets(OffsetsInitializer.committedOffsets(OffsetResetStrategy.EARLIEST))
                .setDeserializer(new RawRecordDeserializationSchema())
                // Exactly-once upstream producers: read only committed records.
                .setProperty("isolation.level", "read_committed")
                .build();
    }

    public static KafkaSink<Scored> predictionSink(JobConfig c, PredictionEncoder encoder) {
        return sink(c, new PredictionSerializationSchema(c.topicOut, encoder), "predictions");
    }

    public static KafkaSink<Rejected> deadLetterSink(JobConfig c) {
        return sink(c, new DeadLetterSerializationSchema(c.topicDeadLetter), "dead-letters");
    }

    private static <T> KafkaSink<T> sink(JobConfig c, KafkaRecordSerializationSchema<T> schema, String name) {
        boolean exactlyOnce = c.delivery == JobConfig.Delivery.EXACTLY_ONCE;
        var builder = KafkaSink.<T>builder()
                .setBootstrapServers(c.kafkaBootstrap)
                .setRecordSerializer(schema)
                .setDeliveryGuarantee(exactlyOnce ? DeliveryGuarantee.EXACTLY_ONCE : DeliveryGuarantee.AT_LEAST_ONCE);
        if (exactlyOnce) {
            // Each sink needs its own transactional ids; the timeout must stay under the broker's
            // transaction.max.timeout.ms (15 min by default).
            builder.setTransactionalIdPrefix(c.transactionalIdPrefix + "-" + name)
                    .setProperty("transaction.timeout.ms", "600000");
        }
        return builder.build();
    }
}
