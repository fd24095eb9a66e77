package io.nptstream.flink.config;

import static io.nptstream.flink.config.NptOptions.CHECKPOINT_DIR;
import static io.nptstream.flink.config.NptOptions.CHECKPOINT_INTERVAL_MS;
import static io.nptstream.flink.config.NptOptions.DELIVERY;
import static io.nptstream.flink.config.NptOptions.GROUP;
import static io.nptstream.flink.config.NptOptions.KAFKA_BOOTSTRAP;
import static io.nptstream.flink.config.NptOptions.KAFKA_PROPERTIES;
import static io.nptstream.flink.config.NptOptions.METRICS_PORT;
import static io.nptstream.flink.config.NptOptions.PARALLELISM;
import static io.nptstream.flink.config.NptOptions.TOPIC_CONTROL;
import static io.nptstream.flink.config.NptOptions.TOPIC_DEAD_LETTER;
import static io.nptstream.flink.config.NptOptions.TOPIC_IN;
import static io.nptstream.flink.config.NptOptions.TOPIC_OUT;
import static io.nptstream.flink.config.NptOptions.TRANSACTIONAL_ID_PREFIX;

import io.nptstream.proto.Manifest;
import java.util.Map;

/**
 * The Kafka job's configuration: the bundled {@value #DEFAULT_RESOURCE} (or {@code --config file}),
 * then {@code --key value} overrides, read as the options of {@link NptOptions}. Building it checks
 * the model too, so that every problem is one line of one {@link ConfigException}.
 */
public final class JobConfig {
    public static final String DEFAULT_RESOURCE = "npt-stream.properties";

    public enum Delivery { AT_LEAST_ONCE, EXACTLY_ONCE }

    public final String kafkaBootstrap;
    public final String topicIn;
    public final String topicOut;
    public final String topicDeadLetter;
    public final String topicControl;
    public final String group;
    public final Delivery delivery;
    public final String transactionalIdPrefix;
    /** The kafka.properties.* settings, by Kafka client key. */
    public final Map<String, String> kafkaProperties;
    public final int parallelism;
    public final long checkpointIntervalMs;
    public final String checkpointDir;
    public final int metricsPort;
    public final NptOperatorConfig operator;
    public final RecordLimits recordLimits;
    /** The model's manifest, loaded and checked (with its graph) once, at startup. */
    public final Manifest manifest;

    private JobConfig(Settings s) throws ConfigException {
        kafkaBootstrap = s.get(KAFKA_BOOTSTRAP);
        topicIn = s.get(TOPIC_IN);
        topicOut = s.get(TOPIC_OUT);
        topicDeadLetter = s.get(TOPIC_DEAD_LETTER);
        topicControl = s.get(TOPIC_CONTROL);
        group = s.get(GROUP);
        delivery = s.get(DELIVERY);
        transactionalIdPrefix = s.get(TRANSACTIONAL_ID_PREFIX);
        kafkaProperties = s.get(KAFKA_PROPERTIES);
        parallelism = s.get(PARALLELISM);
        checkpointIntervalMs = s.get(CHECKPOINT_INTERVAL_MS);
        checkpointDir = s.get(CHECKPOINT_DIR);
        metricsPort = s.get(METRICS_PORT);
        operator = NptOperatorConfig.from(s);
        recordLimits = RecordLimits.from(s);
        manifest = checkModel(s, operator);
        if (delivery == Delivery.EXACTLY_ONCE && checkpointIntervalMs == 0) {
            s.problem("kafka.delivery=exactly-once needs checkpoints: set checkpoint.interval.ms above 0");
        }
        s.check();
    }

    /** Parses and validates; the exception lists every problem, one line each. */
    public static JobConfig from(Settings settings) throws ConfigException {
        return new JobConfig(settings);
    }

    public static JobConfig fromArgs(String[] args) throws ConfigException {
        return new JobConfig(Settings.fromArgs(args, DEFAULT_RESOURCE));
    }

    private static Manifest checkModel(Settings s, NptOperatorConfig operator) {
        try {
            return operator.checkModel().manifest();
        } catch (IllegalArgumentException e) {
            s.problem(e.getMessage());
            return null;
        }
    }
}
