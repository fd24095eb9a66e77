package io.nptstream.flink.config;

import io.nptstream.flink.operator.NptOperatorConfig;
import io.nptstream.flink.operator.NptPredict;
import io.nptstream.proto.Manifest;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The job's configuration: the bundled {@value #DEFAULT_RESOURCE} (or {@code --config file}),
 * then {@code --key value} overrides. Every key is documented in deploy/README.md.
 */
public final class JobConfig {
    public static final String DEFAULT_RESOURCE = "npt-stream.properties";

    public enum Delivery { AT_LEAST_ONCE, EXACTLY_ONCE }

    public enum Device { CPU, CUDA }

    public final String kafkaBootstrap;
    public final String topicIn;
    public final String topicOut;
    public final String topicDeadLetter;
    public final String group;
    public final Delivery delivery;
    public final String transactionalIdPrefix;
    public final int parallelism;
    /** 0 = checkpointing off. */
    public final long checkpointIntervalMs;
    /** null = the state backend's default storage (JobManager memory). */
    public final String checkpointDir;
    /** Port of the Prometheus reporter when the job runs on a local, in-process Flink; 0 = none. */
    public final int metricsPort;
    public final NptOperatorConfig operator;
    /** The model's manifest, loaded and checked at startup. */
    public final Manifest manifest;

    private JobConfig(Settings s) throws ConfigException {
        kafkaBootstrap = s.required("kafka.bootstrap", "the broker list, e.g. 127.0.0.1:9092");
        topicIn = s.string("kafka.topic.in", "npt-records");
        topicOut = s.string("kafka.topic.out", "npt-predictions");
        topicDeadLetter = s.string("kafka.topic.dead-letter", "npt-dead-letters");
        group = s.string("kafka.group", "npt-stream");
        delivery = s.choice("kafka.delivery", Delivery.AT_LEAST_ONCE, Delivery.class);
        transactionalIdPrefix = s.string("kafka.transactional-id-prefix", "npt-stream");
        parallelism = s.intValue("parallelism", 1, 1, 4096);
        checkpointIntervalMs = s.longValue("checkpoint.interval.ms", 10_000, 0, Long.MAX_VALUE);
        checkpointDir = s.string("checkpoint.dir", null);
        metricsPort = s.intValue("metrics.port", 0, 0, 65535);
        operator = operatorConfig(s);
        manifest = loadManifest(s, operator);
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

    /** The operator keys, shared by the Kafka job and the replay mode. */
    public static NptOperatorConfig operatorConfig(Settings s) {
        NptOperatorConfig c = new NptOperatorConfig();
        c.modelDir = s.required("model.dir", "the folder with model.onnx and manifest.pb");
        c.window = s.intValue("window", 0, 0, 1 << 20);
        c.batchSize = s.intValue("batch.size", c.batchSize, 1, 1 << 16);
        c.batchDelayMs = s.longValue("batch.delay.ms", c.batchDelayMs, 0, 60_000);
        c.intraOpThreads = s.intValue("ort.threads", c.intraOpThreads, 1, 1024);
        c.device = s.choice("device", Device.CPU, Device.class).name().toLowerCase();
        c.inference = s.choice("inference", c.inference, NptOperatorConfig.Inference.class);
        c.maxAgeMs = s.longValue("context.max-age.ms", c.maxAgeMs, 0, Long.MAX_VALUE);
        c.stateTtlMs = s.longValue("state.ttl.ms", c.stateTtlMs, 0, Long.MAX_VALUE);
        c.cacheMaxBytes = s.longValue("cache.max-bytes", c.cacheMaxBytes, 1 << 20, Long.MAX_VALUE);
        return c;
    }

    /** Loads the model's manifest and checks the window against it; null when it cannot. */
    public static Manifest loadManifest(Settings s, NptOperatorConfig c) {
        if (c.modelDir == null) {
            return null;
        }
        if (!Files.isRegularFile(Path.of(c.modelDir, "manifest.pb"))) {
            s.problem("model.dir=" + c.modelDir + " has no manifest.pb: point it at a folder exported by model-export (make model)");
            return null;
        }
        Manifest m;
        try {
            m = NptPredict.loadManifest(c.modelDir);
        } catch (RuntimeException e) {
            s.problem("model.dir=" + c.modelDir + ": " + e.getMessage());
            return null;
        }
        int max = m.getContext().getMaxWindow();
        if (c.window > max) {
            s.problem("window=" + c.window + " is above the model's maximum of " + max + ": use a window from 1 to " + max + " (0 = " + max + ")");
        }
        return m;
    }
}
