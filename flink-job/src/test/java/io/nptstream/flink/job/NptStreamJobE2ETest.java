package io.nptstream.flink.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.nptstream.flink.config.ConfigException;
import io.nptstream.flink.config.JobConfig;
import io.nptstream.flink.config.Settings;
import io.nptstream.flink.kafka.KafkaIO;
import io.nptstream.proto.DeadLetter;
import io.nptstream.proto.Golden;
import io.nptstream.proto.Prediction;
import io.nptstream.proto.Reason;
import io.nptstream.proto.Record;
import io.nptstream.proto.Target;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The whole job against a real KRaft broker and a real Flink MiniCluster (parallelism 2, ONNX
 * Runtime on an exported fixture model): the golden stream of several keys plus malformed records
 * go in; exactly one prediction per valid record, equal to the Python reference's, and one dead
 * letter per malformed record, with its reason, come out. The Prometheus reporter of the
 * MiniCluster serves the job's counters while it runs.
 */
class NptStreamJobE2ETest {
    private static final int METRICS_PORT = freePort();
    private static final Duration TIMEOUT = Duration.ofSeconds(120);

    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1)
            .setNumberSlotsPerTaskManager(4)
            .setConfiguration(prometheus())
            .build());

    private static KafkaBroker kafka;

    private static Configuration prometheus() {
        Configuration conf = new Configuration();
        conf.setString("metrics.reporter.prom.factory.class", "org.apache.flink.metrics.prometheus.PrometheusReporterFactory");
        conf.setString("metrics.reporter.prom.port", String.valueOf(METRICS_PORT));
        return conf;
    }

    private static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @BeforeAll
    static void startKafka() throws Exception {
        kafka = KafkaBroker.start();
    }

    @AfterAll
    static void stopKafka() throws Exception {
        if (kafka != null) {
            kafka.close();
        }
    }

    @ParameterizedTest(name = "{0}, {1}")
    @CsvSource({"causal-cls, at-least-once", "bidir-cls, at-least-once", "causal-reg, exactly-once"})
    void everyRecordBecomesOnePredictionOrOneDeadLetter(String fixture, String delivery) throws Exception {
        Path model = Fixtures.model(fixture);
        Golden golden = Golden.parseFrom(Files.readAllBytes(model.resolve("golden.pb")));
        String in = fixture + "-records";
        String out = fixture + "-predictions";
        String dead = fixture + "-dead-letters";
        kafka.createTopic(in, 3);
        kafka.createTopic(out, 2);
        kafka.createTopic(dead, 1);
        JobConfig config = JobConfig.from(new Settings(Map.ofEntries(
                Map.entry("kafka.bootstrap", kafka.bootstrap()),
                Map.entry("kafka.topic.in", in),
                Map.entry("kafka.topic.out", out),
                Map.entry("kafka.topic.dead-letter", dead),
                Map.entry("kafka.group", fixture),
                Map.entry("kafka.delivery", delivery),
                Map.entry("kafka.transactional-id-prefix", fixture),
                // A client setting through to the source, both sinks and the topic check.
                Map.entry("kafka.properties.client.dns.lookup", "use_all_dns_ips"),
                Map.entry("model.dir", model.toString()),
                Map.entry("window", String.valueOf(golden.getWindow())),
                Map.entry("batch.size", "8"),
                Map.entry("batch.delay.ms", "20"),
                Map.entry("parallelism", "2"),
                Map.entry("checkpoint.interval.ms", "1000"))));

        Map<String, Reason> malformed = produce(in, golden, config.manifest.getTarget().getTask() == Target.Task.CLASSIFICATION);

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        NptStreamJob.build(env, config);
        JobClient job = env.executeAsync(fixture);
        try {
            List<ConsumerRecord<byte[], byte[]>> predictions = read(out, golden.getStreamCount());
            List<ConsumerRecord<byte[], byte[]>> deadLetters = read(dead, malformed.size());
            checkPredictions(golden, predictions, config.manifest.getModelVersion());
            checkDeadLetters(malformed, deadLetters, in);
            checkMetrics(fixture, golden.getStreamCount(), malformed);
        } finally {
            job.cancel().get(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void aMissingTopicStopsStartupWithOneLine() throws Exception {
        kafka.createTopic("check-out", 1);
        kafka.createTopic("check-dead", 1);
        JobConfig config = JobConfig.from(new Settings(Map.of(
                "kafka.bootstrap", kafka.bootstrap(),
                "kafka.topic.in", "no-such-topic",
                "kafka.topic.out", "check-out",
                "kafka.topic.dead-letter", "check-dead",
                "model.dir", Fixtures.model("causal-cls").toString())));
        ConfigException e = assertThrows(ConfigException.class, () -> KafkaIO.checkTopics(config));
        assertEquals("kafka.topic.in=no-such-topic does not exist on " + kafka.bootstrap() + ": create the topic or fix the name", e.getMessage());
    }

    /** kafka.properties.* reach the Kafka clients (here the startup check's): a bad one is one line, not a stack trace. */
    @Test
    void kafkaPropertiesReachTheClients() throws Exception {
        JobConfig config = JobConfig.from(new Settings(Map.of(
                "kafka.bootstrap", kafka.bootstrap(),
                "kafka.properties.security.protocol", "NOT_A_PROTOCOL",
                "model.dir", Fixtures.model("causal-cls").toString())));
        assertEquals(Map.of("security.protocol", "NOT_A_PROTOCOL"), config.kafkaProperties);
        ConfigException e = assertThrows(ConfigException.class, () -> KafkaIO.checkTopics(config));
        assertTrue(e.getMessage().startsWith("kafka.properties.*: the Kafka client refuses the settings (")
                && e.getMessage().contains("NOT_A_PROTOCOL"), e.getMessage());
    }

    /** The golden stream, keyed so each key stays in one partition, with bad records between its rows. */
    private static Map<String, Reason> produce(String topic, Golden golden, boolean classification) throws Exception {
        Record valid = golden.getStream(0);
        String numeric = valid.getNumericMap().keySet().iterator().next();
        Map<String, byte[]> bad = new LinkedHashMap<>();
        Map<String, Reason> reasons = new HashMap<>();
        bad.put("garbage", new byte[] {(byte) 0xff, (byte) 0xfe, 0x00, 0x13});
        reasons.put("garbage", Reason.UNPARSEABLE);
        Map<String, Record> records = new LinkedHashMap<>();
        records.put("no-key", valid.toBuilder().setKey("").build());
        records.put("missing", valid.toBuilder().removeNumeric(numeric).build());
        records.put("unknown", valid.toBuilder().putNumeric("no-such-feature", 1).build());
        records.put("wrong-type", valid.toBuilder().removeNumeric(numeric).putCategorical(numeric, "x").build());
        records.put("infinite", valid.toBuilder().putNumeric(numeric, Double.NEGATIVE_INFINITY).build());
        records.put("bad-label", classification ? valid.toBuilder().setLabelClass("no-such-class").build() : valid.toBuilder().setLabelClass("7").build());
        // 400 KB of key and 400 KB of id: a prediction of it would be over the producer's 1 MiB limit.
        records.put("huge", valid.toBuilder().setKey("k".repeat(400_000)).build());
        records.put("future", valid.toBuilder().setEventTimeMs(System.currentTimeMillis() + Duration.ofDays(30).toMillis()).build());
        reasons.putAll(Map.of("no-key", Reason.MISSING_KEY, "missing", Reason.MISSING_FEATURE, "unknown", Reason.UNKNOWN_FEATURE,
                "wrong-type", Reason.WRONG_TYPE, "infinite", Reason.NOT_FINITE, "bad-label", classification ? Reason.UNKNOWN_CLASS : Reason.WRONG_TYPE,
                "huge", Reason.TOO_LARGE, "future", Reason.OUT_OF_RANGE));
        records.forEach((id, r) -> bad.put(id, r.toBuilder().setId(id.equals("huge") ? "i".repeat(400_000) : id).build().toByteArray()));

        try (KafkaProducer<byte[], byte[]> producer = kafka.producer()) {
            var badOnes = new ArrayList<>(bad.values());
            for (int i = 0; i < golden.getStreamCount(); i++) {
                Record r = golden.getStream(i);
                producer.send(new ProducerRecord<>(topic, r.getKey().getBytes(StandardCharsets.UTF_8), r.toByteArray()));
                if (i % 10 == 5 && !badOnes.isEmpty()) {
                    producer.send(new ProducerRecord<>(topic, r.getKey().getBytes(StandardCharsets.UTF_8), badOnes.remove(0)));
                }
            }
            for (byte[] b : badOnes) {
                producer.send(new ProducerRecord<>(topic, b));
            }
            producer.flush();
        }
        return reasons;
    }

    /** Reads {@code count} committed messages, then briefly more, so that duplicates would show. */
    private static List<ConsumerRecord<byte[], byte[]>> read(String topic, int count) {
        List<ConsumerRecord<byte[], byte[]>> got = kafka.readCommitted(topic, count, TIMEOUT);
        assertEquals(count, got.size(), "messages on " + topic);
        return got;
    }

    private static void checkPredictions(Golden golden, List<ConsumerRecord<byte[], byte[]>> got, String modelVersion) throws Exception {
        Map<String, Prediction> byId = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> r : got) {
            Prediction p = Prediction.parseFrom(r.value());
            assertEquals(p.getKey(), new String(r.key(), StandardCharsets.UTF_8), "the Kafka key is the record key");
            assertEquals(null, byId.put(p.getId(), p), "one prediction per record id " + p.getId());
        }
        for (Prediction want : golden.getExpectedList()) {
            Prediction p = byId.get(want.getId());
            assertTrue(p != null, "no prediction for " + want.getId());
            String what = "record " + want.getId() + " of " + want.getKey();
            assertEquals(want.getKey(), p.getKey(), what);
            assertEquals(modelVersion, p.getModelVersion(), what);
            assertEquals(want.getContextSize(), p.getContextSize(), what + ": context size");
            assertEquals(want.getLabelCase(), p.getLabelCase(), what + ": label echo");
            assertEquals(want.getLabelClass(), p.getLabelClass(), what);
            assertEquals(want.getProbabilitiesCount(), p.getProbabilitiesCount(), what);
            for (int i = 0; i < want.getProbabilitiesCount(); i++) {
                assertEquals(want.getProbabilities(i), p.getProbabilities(i), 1e-4, what + ": probability " + i);
            }
            if (want.getProbabilitiesCount() == 0) {
                assertEquals(want.getValue(), p.getValue(), 1e-4 * Math.max(1, Math.abs(want.getValue())), what + ": value");
                assertEquals(want.hasStd(), p.hasStd(), what);
            }
        }
    }

    private static void checkDeadLetters(Map<String, Reason> malformed, List<ConsumerRecord<byte[], byte[]>> got, String topic) throws Exception {
        Map<String, Reason> seen = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> r : got) {
            DeadLetter d = DeadLetter.parseFrom(r.value());
            assertEquals(topic, d.getTopic());
            assertTrue(d.getOffset() >= 0 && d.getPartition() >= 0 && !d.getDetail().isEmpty(), d.toString());
            assertTrue(d.getSerializedSize() < 70_000, "a dead letter stays small: " + d.getSerializedSize() + " bytes");
            // The garbage does not parse, and the huge record comes back cut to record.max-bytes.
            String id = d.getReason() == Reason.UNPARSEABLE ? "garbage" : d.getReason() == Reason.TOO_LARGE ? "huge"
                    : Record.parseFrom(d.getRaw()).getId();
            seen.put(id, d.getReason());
        }
        assertEquals(malformed, seen);
    }

    /** Scrapes the reporter: the validation and operator counters of this job, with their values. */
    private static void checkMetrics(String jobName, int predictions, Map<String, Reason> malformed) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        String body = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + METRICS_PORT + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        // The reporter writes names and labels with '_' for characters Prometheus does not allow.
        String label = "job_name=\"" + jobName.replace('-', '_') + "\"";
        List<String> lines = body.lines().filter(l -> l.contains(label)).toList();
        assertEquals(malformed.size(), sum(lines, "flink_taskmanager_job_task_operator_deadLetters{"), body);
        assertEquals(1, sum(lines, "flink_taskmanager_job_task_operator_deadLetters_UNPARSEABLE{"));
        assertEquals(predictions, sum(lines, "flink_taskmanager_job_task_operator_recordsValidated{"));
        assertEquals(predictions, sum(lines, "flink_taskmanager_job_task_operator_recordsIn{"));
        assertEquals(predictions, sum(lines, "flink_taskmanager_job_task_operator_predictionsOut{"));
    }

    /** The sum over subtasks of one metric's values. */
    private static long sum(List<String> lines, String prefix) {
        List<String> matching = lines.stream().filter(l -> l.startsWith(prefix)).toList();
        assertTrue(!matching.isEmpty(), "the reporter serves no metric " + prefix);
        return Math.round(matching.stream().mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum());
    }
}
