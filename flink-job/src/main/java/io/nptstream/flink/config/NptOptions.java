package io.nptstream.flink.config;

import io.nptstream.flink.config.JobConfig.Delivery;
import io.nptstream.flink.config.NptOperatorConfig.Inference;
import io.nptstream.flink.model.Device;
import io.nptstream.flink.model.ModelStore;
import java.util.List;
import java.util.Map;

/**
 * Every option of the job, declared once: the job and Replay read them through {@link Settings},
 * the bundled npt-stream.properties sets only what the demo changes, and the options table of
 * deploy/README.md is {@link #markdownTable()} (a test keeps the two equal).
 */
public final class NptOptions {
    private NptOptions() {}

    public static final Option<String> KAFKA_BOOTSTRAP = Option.required("kafka.bootstrap",
            "broker list, e.g. `127.0.0.1:9092`");
    public static final Option<String> TOPIC_IN = Option.text("kafka.topic.in", "npt-records",
            "input topic of `Record`s");
    public static final Option<String> TOPIC_OUT = Option.text("kafka.topic.out", "npt-predictions",
            "output topic of `Prediction`s (Kafka key = record key)");
    public static final Option<String> TOPIC_DEAD_LETTER = Option.text("kafka.topic.dead-letter", "npt-dead-letters",
            "rejected records as `DeadLetter`s");
    public static final Option<String> GROUP = Option.text("kafka.group", "npt-stream",
            "consumer group; a new group starts at the earliest offset");
    public static final Option<Delivery> DELIVERY = Option.choice("kafka.delivery", Delivery.AT_LEAST_ONCE,
            "or `exactly-once`: transactional sinks, committed at checkpoints (consumers read with "
                    + "`isolation.level=read_committed`); needs checkpoints");
    public static final Option<String> TRANSACTIONAL_ID_PREFIX = Option.text("kafka.transactional-id-prefix", "npt-stream",
            "prefix of the sinks' transactional ids (exactly-once); unique per job on a cluster");
    public static final Option<Map<String, String>> KAFKA_PROPERTIES = Option.prefixed("kafka.properties.",
            "any Kafka client setting, passed to the source, both sinks and the startup topic check, e.g. "
                    + "`kafka.properties.security.protocol=SASL_SSL`, `kafka.properties.sasl.mechanism=SCRAM-SHA-512`, "
                    + "`kafka.properties.ssl.truststore.location=...`, `kafka.properties.max.request.size=2097152`; "
                    + "the options above win over it for what they set");
    public static final Option<String> TOPIC_CONTROL = Option.text("kafka.topic.control", "npt-model-control",
            "`ModelSwap` messages that move a job serving from `model.store` to another version (read from the newest "
                    + "message at a fresh start); unused with `model.dir`");
    public static final Option<String> MODEL_DIR = Option.text("model.dir", null,
            "folder with `model.onnx`, `manifest.pb`, `golden.pb` from model-export; unused when `model.store` is set");
    public static final Option<String> MODEL_STORE = Option.text("model.store", null,
            "a store of model versions (`file:///...`, or `s3://...` with Flink's plugin; deploy/README.md, \"Model "
                    + "lifecycle\"): the job can then swap versions while it runs; takes precedence over `model.dir`");
    public static final Option<String> MODEL_VERSION = Option.text("model.version", ModelStore.LATEST_VERSION,
            "with `model.store`: the version to start with; `latest` = the one the store's `LATEST` names. A restore "
                    + "serves the version its state was written by");
    public static final Option<Integer> WINDOW = Option.integer("window", 0, 0, 1 << 20,
            "context window W per key; 0 = the model's maximum; above it is refused");
    public static final Option<Integer> BATCH_SIZE = Option.integer("batch.size", 64, 1, 1 << 16,
            "records buffered before a flush: one ONNX Runtime call for all their keys (a few when some keys are much busier)");
    public static final Option<Long> BATCH_DELAY_MS = Option.whole("batch.delay.ms", 10, 0, 60_000,
            "longest a record waits in the buffer, and in the network buffer before it; 0 = flush every record");
    public static final Option<Integer> ORT_THREADS = Option.integer("ort.threads", 1, 1, 1024,
            "ONNX Runtime intra-op threads of the session shared by a TaskManager's slots");
    public static final Option<Device> DEVICE = Option.choice("device", Device.CPU,
            "or `cuda` (needs the `-Pcuda` build)");
    public static final Option<Inference> INFERENCE = Option.choice("inference", Inference.CACHED,
            "or `recompute`: re-encode the whole context per call, O(W^2) (checks, benchmarks); a BIDIRECTIONAL model always recomputes");
    public static final Option<Integer> PARALLELISM = Option.integer("parallelism", 1, 1, 4096,
            "job parallelism");
    public static final Option<Long> CHECKPOINT_INTERVAL_MS = Option.whole("checkpoint.interval.ms", 10_000, 0, Long.MAX_VALUE,
            "0 = no checkpoints");
    public static final Option<String> CHECKPOINT_DIR = Option.text("checkpoint.dir", null,
            "checkpoint storage, e.g. `file:///var/npt/checkpoints`; none = the JobManager's memory");
    public static final Option<Long> MAX_AGE_MS = Option.whole("context.max-age.ms", 0, 0, Long.MAX_VALUE,
            "context rows older than this (event time, before the record predicted) are dropped; 0 = no limit");
    public static final Option<Long> STATE_TTL_MS = Option.whole("state.ttl.ms", 0, 0, Long.MAX_VALUE,
            "a key idle this long (processing time) loses its state; 0 = never");
    public static final Option<Long> CACHE_MAX_BYTES = Option.whole("cache.max-bytes", 256L << 20, 1, Long.MAX_VALUE,
            "memory of the per-key layer keys/values cache of each operator subtask (LRU over keys; evicted keys are "
                    + "rebuilt from their state); a TaskManager with S slots needs S times this");
    public static final Option<Integer> METRICS_PORT = Option.integer("metrics.port", 0, 0, 65535,
            "Prometheus reporter port when the job brings its own local Flink (the bundled file sets 9249); 0 = off; "
                    + "on a cluster the cluster's reporter configuration applies");

    public static final Option<Integer> RECORD_MAX_BYTES = Option.integer("record.max-bytes", 64 << 10, 64, 512 << 10,
            "a larger input record is a TOO_LARGE dead letter carrying only its first this many bytes, so that no "
                    + "output message nears Kafka's 1 MiB default `max.request.size`");
    public static final Option<Integer> RECORD_MAX_KEY_BYTES = Option.integer("record.max-key-bytes", 256, 1, 16 << 10,
            "a longer key (UTF-8) is a TOO_LARGE dead letter: each prediction carries its key twice");
    public static final Option<Integer> RECORD_MAX_ID_BYTES = Option.integer("record.max-id-bytes", 256, 0, 16 << 10,
            "a longer id (UTF-8) is a TOO_LARGE dead letter");
    public static final Option<Long> RECORD_MAX_EVENT_TIME_AHEAD_MS = Option.whole("record.max-event-time-ahead-ms",
            24L * 3600 * 1000, 0, Long.MAX_VALUE,
            "an event time this far after the record's Kafka timestamp, or a negative one, is OUT_OF_RANGE "
                    + "(one far-future record would otherwise age out its key's whole context); 0 = no check");

    /** What the NPT operator reads: the Kafka job's and Replay's. */
    public static final List<Option<?>> OPERATOR = List.of(MODEL_DIR, MODEL_STORE, MODEL_VERSION, WINDOW, BATCH_SIZE, BATCH_DELAY_MS, ORT_THREADS,
            DEVICE, INFERENCE, MAX_AGE_MS, STATE_TTL_MS, CACHE_MAX_BYTES);

    /** Every option of the Kafka job, in the order of the table. */
    public static final List<Option<?>> JOB = List.of(KAFKA_BOOTSTRAP, TOPIC_IN, TOPIC_OUT, TOPIC_DEAD_LETTER, GROUP,
            TOPIC_CONTROL, DELIVERY, TRANSACTIONAL_ID_PREFIX, KAFKA_PROPERTIES, MODEL_DIR, MODEL_STORE, MODEL_VERSION, WINDOW, BATCH_SIZE, BATCH_DELAY_MS, ORT_THREADS, DEVICE,
            INFERENCE, PARALLELISM, CHECKPOINT_INTERVAL_MS, CHECKPOINT_DIR, MAX_AGE_MS, STATE_TTL_MS, CACHE_MAX_BYTES,
            RECORD_MAX_BYTES, RECORD_MAX_KEY_BYTES, RECORD_MAX_ID_BYTES, RECORD_MAX_EVENT_TIME_AHEAD_MS, METRICS_PORT);

    /** The options table of deploy/README.md. */
    public static String markdownTable() {
        StringBuilder md = new StringBuilder("| key | default | meaning |\n|---|---|---|\n");
        for (Option<?> o : JOB) {
            md.append("| `").append(o.keyText()).append("` | ").append(o.defaultText()).append(" | ").append(o.description()).append(" |\n");
        }
        return md.toString();
    }
}
