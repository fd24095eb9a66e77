package io.nptstream.flink.kafka;

import io.nptstream.flink.config.ConfigException;
import io.nptstream.flink.config.JobConfig;
import io.nptstream.flink.config.NptOptions;
import io.nptstream.flink.core.RawRecord;
import io.nptstream.flink.core.Rejected;
import io.nptstream.flink.core.Scored;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.KafkaException;

/** The job's Kafka source and sinks, built from the configuration. */
public final class KafkaIO {
    private KafkaIO() {}

    /**
     * Checks at startup that the broker answers and the topics exist (the control topic too with a
     * model store), so that a wrong address or topic name is one line instead of a job that
     * restarts forever.
     */
    public static void checkTopics(JobConfig c) throws ConfigException {
        Properties p = clientProperties(c);
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, c.kafkaBootstrap);
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "15000");
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "15000");
        Set<String> existing;
        try (Admin admin = Admin.create(p)) {
            existing = admin.listTopics().names().get(20, TimeUnit.SECONDS);
        } catch (KafkaException e) {
            throw new ConfigException(NptOptions.KAFKA_PROPERTIES.key() + "*: the Kafka client refuses the settings ("
                    + e.getMessage() + (e.getCause() == null ? "" : ": " + e.getCause().getMessage()) + "): fix them");
        } catch (ExecutionException | TimeoutException e) {
            throw new ConfigException("kafka.bootstrap=" + c.kafkaBootstrap + ": no broker answered (" + e.getClass().getSimpleName()
                    + "): start the broker or fix the address");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ConfigException("interrupted while checking the Kafka topics");
        }
        List<String> problems = new ArrayList<>();
        Map<String, String> topics = new LinkedHashMap<>();
        topics.put(NptOptions.TOPIC_IN.key(), c.topicIn);
        topics.put(NptOptions.TOPIC_OUT.key(), c.topicOut);
        topics.put(NptOptions.TOPIC_DEAD_LETTER.key(), c.topicDeadLetter);
        if (c.operator.modelStore != null) {
            topics.put(NptOptions.TOPIC_CONTROL.key(), c.topicControl);
        }
        topics.forEach((key, topic) -> {
            if (!existing.contains(topic)) {
                problems.add(key + "=" + topic + " does not exist on " + c.kafkaBootstrap + ": create the topic or fix the name");
            }
        });
        if (!problems.isEmpty()) {
            throw new ConfigException(String.join("\n", problems));
        }
    }

    /** The kafka.properties.* settings (security, client tuning), the base of every client the job makes. */
    static Properties clientProperties(JobConfig c) {
        Properties p = new Properties();
        p.putAll(c.kafkaProperties);
        return p;
    }

    /** Reads the input topic from the group's committed offsets, or from the start for a new group. */
    public static KafkaSource<RawRecord> source(JobConfig c) {
        return KafkaSource.<RawRecord>builder()
                .setProperties(clientProperties(c))
                .setBootstrapServers(c.kafkaBootstrap)
                .setTopics(c.topicIn)
                .setGroupId(c.group)
                .setStartingOffsets(OffsetsInitializer.committedOffsets(OffsetResetStrategy.EARLIEST))
                .setDeserializer(new RawRecordDeserializationSchema())
                // Exactly-once upstream producers: read only committed records.
                .setProperty("isolation.level", "read_committed")
                .build();
    }

    /**
     * The control topic's swap requests. A fresh start reads only messages sent after it (an old
     * swap must not replay over the configured version); a restore goes on from its checkpoint.
     */
    public static KafkaSource<String> swapSource(JobConfig c) {
        return KafkaSource.<String>builder()
                .setProperties(clientProperties(c))
                .setBootstrapServers(c.kafkaBootstrap)
                .setTopics(c.topicControl)
                .setGroupId(c.group + "-control")
                .setStartingOffsets(OffsetsInitializer.latest())
                .setDeserializer(new ModelSwapDeserializationSchema())
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
                .setKafkaProducerConfig(clientProperties(c))
                .setBootstrapServers(c.kafkaBootstrap)
                .setRecordSerializer(schema)
                .setDeliveryGuarantee(exactlyOnce ? DeliveryGuarantee.EXACTLY_ONCE : DeliveryGuarantee.AT_LEAST_ONCE);
        if (exactlyOnce) {
            // Each sink needs its own transactional ids; the timeout must stay under the broker's
            // transaction.max.timeout.ms (15 min by default).
            builder.setTransactionalIdPrefix(c.transactionalIdPrefix + "-" + name);
            if (!c.kafkaProperties.containsKey(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG)) {
                builder.setProperty(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, "600000");
            }
        }
        return builder.build();
    }
}
