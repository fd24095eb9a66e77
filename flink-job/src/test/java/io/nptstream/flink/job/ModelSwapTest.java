package io.nptstream.flink.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.nptstream.flink.config.JobConfig;
import io.nptstream.flink.config.Settings;
import io.nptstream.flink.core.Row;
import io.nptstream.flink.core.Scored;
import io.nptstream.flink.model.ModelStore;
import io.nptstream.flink.operator.NptFixtures;
import io.nptstream.flink.validation.RecordValidator;
import io.nptstream.proto.Golden;
import io.nptstream.proto.ModelSwap;
import io.nptstream.proto.Prediction;
import io.nptstream.proto.Record;
import io.nptstream.proto.Tensor;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.state.CheckpointListener;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.runtime.jobgraph.SavepointRestoreSettings;
import org.apache.flink.runtime.jobmaster.JobResult;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.util.ExceptionUtils;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Model swaps in a running job, through a real broker and a MiniCluster (parallelism 2,
 * exactly-once, read_committed), serving from a model store of the fixture models: causal-cls
 * (version A, LATEST at the start) and causal-cls-retrained (version B, the same layout).
 * Every prediction is checked against the operator alone run over all records with the version it names.
 */
class ModelSwapTest {
    private static final String A_MODEL = NptFixtures.CAUSAL_CLS;
    private static final String B_MODEL = NptFixtures.CAUSAL_CLS_RETRAINED;
    private static final int RECORDS = 4_000;
    private static final Duration TIMEOUT = Duration.ofSeconds(120);

    private static JobCluster cluster;
    private static KafkaBroker kafka;
    private static MiniCluster flink;
    private static String versionA;
    private static String versionB;
    private static Map<String, Map<String, Scored>> reference;
    private static List<Record> records;

    @TempDir
    static Path tmp;

    @BeforeAll
    static void start() throws Exception {
        cluster = JobCluster.start(1, 2, tmp);
        kafka = cluster.kafka;
        flink = cluster.flink;
        versionA = NptFixtures.manifest(A_MODEL).getModelVersion();
        versionB = NptFixtures.manifest(B_MODEL).getModelVersion();
        records = records(RECORDS, 7);
        reference = Map.of(versionA, referenceRun(A_MODEL), versionB, referenceRun(B_MODEL));
    }

    @AfterAll
    static void stop() throws Exception {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void aSwapMidStreamMovesEveryKeyOnceAtOneCutAndEachRecordIsAnsweredOnce() throws Exception {
        Path store = store("swap", A_MODEL, B_MODEL);
        Run run = swapRun("swap", store, false);
        run.check();
        System.out.printf("swap: %d records, %d by %s then %d by %s, each input partition switched once%n", RECORDS,
                run.count(versionA), versionA, run.count(versionB), versionB);

        // A restore comes back on the version its state was written by, whatever model.version says.
        String savepoint = flink.stopWithSavepoint(run.job, cluster.savepoints(), false,
                SavepointFormatType.CANONICAL).get(60, TimeUnit.SECONDS);
        List<RecordMetadata> more = produce("swap", records(50, 8));
        JobID restored = submit(config("swap", fromStore(store, versionA)), false, SavepointRestoreSettings.forPath(savepoint, false));
        int after = 0;
        for (ConsumerRecord<byte[], byte[]> r : kafka.readCommitted("swap-predictions", RECORDS + more.size(), TIMEOUT)) {
            Prediction p = Prediction.parseFrom(r.value());
            if (p.getId().startsWith("8-")) {
                assertEquals(versionB, p.getModelVersion(), "served after the restore");
                after++;
            }
        }
        assertEquals(more.size(), after, "records answered after the restore");

        // The state's fingerprint refuses a model of another layout, for good, with one line.
        String savepoint2 = flink.stopWithSavepoint(restored, cluster.savepoints(), false,
                SavepointFormatType.CANONICAL).get(60, TimeUnit.SECONDS);
        JobConfig incompatible = config("swap", fromStore(store("swap-incompatible", NptFixtures.CAUSAL_REG), "latest"));
        JobID refused = submit(incompatible, false, SavepointRestoreSettings.forPath(savepoint2, false));
        JobResult result = flink.requestJobResult(refused).get(120, TimeUnit.SECONDS);
        assertFalse(result.isSuccess(), "an incompatible restore must fail");
        Throwable cause = result.getSerializedThrowable().get().deserializeError(getClass().getClassLoader());
        assertTrue(ExceptionUtils.findThrowableWithMessage(cause, "the state was written by a model of layout").isPresent(),
                ExceptionUtils.stringifyException(cause));
    }

    @Test
    void aFailureAfterASwapRestoresTheNewVersionWithIdenticalPredictions() throws Exception {
        Path store = store("swap-failure", A_MODEL, B_MODEL);
        Run run = swapRun("swap-failure", store, true);
        cancel(run.job);
        assertTrue(FailAfterSwap.fired.get(), "the failure after the swap was injected");
        assertTrue(FailAfterSwap.opens.get() > 1, "the job restarted");
        run.check();
    }

    @Test
    void refusedSwapsKeepTheModelServingAndNeverRestartTheJob() throws Exception {
        Path store = store("refuse", A_MODEL, B_MODEL, NptFixtures.CAUSAL_REG);
        // B's golden outputs moved: its graph hashes to its version but no longer gives its golden numbers.
        Path golden = store.resolve(versionB).resolve("golden.pb");
        Golden g = Golden.parseFrom(Files.readAllBytes(golden));
        Tensor out0 = g.getCases(0).getOutputs(0);
        Tensor.Builder moved = out0.toBuilder().clearF32();
        out0.getF32List().forEach(v -> moved.addF32(v + 0.5f));
        Files.write(golden, g.toBuilder().setCases(0, g.getCases(0).toBuilder().setOutputs(0, moved)).build().toByteArray());
        // A corrupt file: a version folder whose manifest is not a Manifest.
        Files.createDirectories(store.resolve("0123456789abcdef"));
        Files.write(store.resolve("0123456789abcdef").resolve("manifest.pb"), new byte[] {1, 2, 3});
        String regression = NptFixtures.manifest(NptFixtures.CAUSAL_REG).getModelVersion();
        JobConfig config = config("refuse", fromStore(store, "latest"));
        FailAfterSwap.reset(null);
        JobID job = submit(config, true, SavepointRestoreSettings.none());
        try {
            List<Record> all = records.subList(0, 1_000);
            produce("refuse", all.subList(0, 500));
            assertEquals(500, kafka.readCommitted("refuse-predictions", 500, TIMEOUT).size());
            try (KafkaProducer<byte[], byte[]> producer = kafka.producer()) {
                for (String version : List.of(regression, versionB, "0123456789abcdef", "no-such-version")) {
                    producer.send(new ProducerRecord<>("refuse-control", ModelSwap.newBuilder().setModelVersion(version).build().toByteArray()));
                }
                producer.send(new ProducerRecord<>("refuse-control", "not a ModelSwap".getBytes(StandardCharsets.UTF_8)));
            }
            Thread.sleep(2_000);
            produce("refuse", all.subList(500, 1_000));
            List<ConsumerRecord<byte[], byte[]>> out = kafka.readCommitted("refuse-predictions", 1_000, TIMEOUT);
            assertEquals(1_000, out.size());
            for (ConsumerRecord<byte[], byte[]> r : out) {
                assertEquals(versionA, Prediction.parseFrom(r.value()).getModelVersion());
            }
            assertEquals(JobStatus.RUNNING, flink.getJobStatus(job).get(30, TimeUnit.SECONDS));
            assertEquals(1, FailAfterSwap.opens.get(), "no restart");
        } finally {
            cancel(job);
        }
    }

    // ---------------------------------------------------------------- a run with a swap in the middle

    /** The committed predictions of a run, with where each record was on the input topic. */
    private record Run(JobID job, List<Prediction> predictions, Map<String, RecordMetadata> positions) {
        long count(String version) {
            return predictions.stream().filter(p -> p.getModelVersion().equals(version)).count();
        }

        /** Each record once, each prediction its version's reference, and each input partition switching A -> B once. */
        void check() {
            assertEquals(RECORDS, predictions.size(), "records in = predictions");
            Set<String> ids = new HashSet<>();
            Map<Integer, TreeMap<Long, String>> byPartition = new HashMap<>();
            double maxDiff = 0;
            for (Prediction p : predictions) {
                assertTrue(ids.add(p.getId()), "answered twice: " + p.getId());
                Scored want = reference.get(p.getModelVersion()).get(p.getId());
                assertEquals(want.contextSize, p.getContextSize());
                for (int c = 0; c < want.probs.length; c++) {
                    maxDiff = Math.max(maxDiff, Math.abs(want.probs[c] - p.getProbabilities(c)));
                }
                RecordMetadata at = positions.get(p.getId());
                byPartition.computeIfAbsent(at.partition(), k -> new TreeMap<>()).put(at.offset(), p.getModelVersion());
            }
            assertTrue(maxDiff <= 1e-5, "max difference to the reference of each prediction's version: " + maxDiff);
            assertTrue(count(versionA) > 0 && count(versionB) > 0, "both versions served: A " + count(versionA) + ", B " + count(versionB));
            for (Map.Entry<Integer, TreeMap<Long, String>> e : byPartition.entrySet()) {
                List<String> order = new ArrayList<>(new LinkedHashMap<>(e.getValue()).values());
                int switches = 0;
                for (int i = 1; i < order.size(); i++) {
                    if (!order.get(i).equals(order.get(i - 1))) {
                        switches++;
                        assertEquals(versionB, order.get(i), "partition " + e.getKey() + " went back to A");
                    }
                }
                assertTrue(switches <= 1, "partition " + e.getKey() + " switched " + switches + " times");
            }
        }
    }

    /** Half the records, a swap to B, the other half in slices; the run's job is left running. */
    private static Run swapRun(String name, Path store, boolean failAfterSwap) throws Exception {
        FailAfterSwap.reset(failAfterSwap ? versionB : null);
        JobID job = submit(config(name, fromStore(store, "latest")), true, SavepointRestoreSettings.none());
        Map<String, RecordMetadata> positions = new HashMap<>();
        List<RecordMetadata> first = produce(name, records.subList(0, RECORDS / 2));
        assertEquals(RECORDS / 2, kafka.readCommitted(name + "-predictions", RECORDS / 2, TIMEOUT).size());
        try (KafkaProducer<byte[], byte[]> producer = kafka.producer()) {
            producer.send(new ProducerRecord<>(name + "-control", ModelSwap.newBuilder().setModelVersion(versionB).build().toByteArray())).get();
        }
        List<RecordMetadata> second = new ArrayList<>();
        for (int from = RECORDS / 2; from < RECORDS; from += 100) {
            second.addAll(produce(name, records.subList(from, Math.min(RECORDS, from + 100))));
            Thread.sleep(100);
        }
        List<RecordMetadata> all = new ArrayList<>(first);
        all.addAll(second);
        for (int i = 0; i < RECORDS; i++) {
            positions.put(records.get(i).getId(), all.get(i));
        }
        List<Prediction> predictions = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> r : kafka.readCommitted(name + "-predictions", RECORDS, TIMEOUT)) {
            predictions.add(Prediction.parseFrom(r.value()));
        }
        return new Run(job, predictions, positions);
    }

    // ---------------------------------------------------------------- the job

    /** The job on topics NAME-*, with the model settings {@code model}. */
    private static JobConfig config(String name, Map<String, String> model) throws Exception {
        Map<String, String> settings = cluster.settings(name, 2);
        settings.putAll(model);
        return JobConfig.from(new Settings(settings));
    }

    private static Map<String, String> fromStore(Path store, String version) {
        return Map.of("model.store", store.toUri().toString(), "model.version", version);
    }

    /** A store under the test's folder with the fixtures' models, LATEST naming the first. */
    private static Path store(String name, String... models) throws Exception {
        Path store = tmp.resolve("store-" + name);
        for (String model : models) {
            Path folder = store.resolve(NptFixtures.manifest(model).getModelVersion());
            Files.createDirectories(folder);
            for (String file : List.of("model.onnx", "manifest.pb", "golden.pb")) {
                Files.copy(NptFixtures.dir(model).resolve(file), folder.resolve(file));
            }
        }
        Files.writeString(store.resolve(ModelStore.LATEST), NptFixtures.manifest(models[0]).getModelVersion() + "\n");
        return store;
    }

    private static JobID submit(JobConfig config, boolean tap, SavepointRestoreSettings restore) throws Exception {
        return cluster.submit(config, tap ? s -> s.map(new FailAfterSwap()).name("swap-tap").uid("swap-tap") : s -> s, restore);
    }

    private static void cancel(JobID job) throws Exception {
        cluster.cancel(job);
    }

    // ---------------------------------------------------------------- the records

    /** {@code n} records over 20 keys from causal-cls's golden stream, ids "seed-i". */
    private static List<Record> records(int n, long seed) throws Exception {
        Random random = new Random(seed);
        Golden golden = NptFixtures.golden(A_MODEL);
        List<Record> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            Record template = golden.getStream(random.nextInt(golden.getStreamCount()));
            Record.Builder r = template.toBuilder().setKey("key-" + random.nextInt(20)).setId(seed + "-" + i).setEventTimeMs(1_000L * i);
            for (Map.Entry<String, Double> e : template.getNumericMap().entrySet()) {
                r.putNumeric(e.getKey(), e.getValue() + 0.1 * random.nextGaussian());
            }
            out.add(r.build());
        }
        return out;
    }

    /** The fixture model over all the records, the operator alone: the prediction of each record by that version. */
    private static Map<String, Scored> referenceRun(String model) throws Exception {
        RecordValidator validator = new RecordValidator(NptFixtures.manifest(model));
        List<Row> rows = new ArrayList<>();
        for (Record r : records) {
            rows.add(validator.validate(r));
        }
        Map<String, Scored> byId = new HashMap<>();
        for (Scored s : NptFixtures.run(NptFixtures.config(model, 0), rows)) {
            byId.put(s.id, s);
        }
        assertNotEquals(null, byId.get(records.get(0).getId()));
        return byId;
    }

    private static List<RecordMetadata> produce(String name, List<Record> batch) throws Exception {
        List<java.util.concurrent.Future<RecordMetadata>> sent = new ArrayList<>();
        try (KafkaProducer<byte[], byte[]> producer = kafka.producer()) {
            for (Record r : batch) {
                sent.add(producer.send(new ProducerRecord<>(name + "-records", r.getKey().getBytes(StandardCharsets.UTF_8), r.toByteArray())));
            }
        }
        List<RecordMetadata> out = new ArrayList<>();
        for (var f : sent) {
            out.add(f.get());
        }
        return out;
    }

    /**
     * Chained to the NPT operator. With a version set, it fails the task once, at the first
     * prediction by that version after a checkpoint completed with it served: the restore is then
     * from a checkpoint written by the new model.
     */
    static final class FailAfterSwap extends RichMapFunction<Scored, Scored> implements CheckpointListener {
        static volatile String version;
        static final AtomicBoolean seen = new AtomicBoolean();
        static final AtomicBoolean checkpointedAfter = new AtomicBoolean();
        static final AtomicBoolean fired = new AtomicBoolean();
        static final AtomicInteger opens = new AtomicInteger();

        static void reset(String failAfter) {
            version = failAfter;
            seen.set(false);
            checkpointedAfter.set(false);
            fired.set(false);
            opens.set(0);
        }

        @Override
        public void open(OpenContext context) {
            if (getRuntimeContext().getTaskInfo().getIndexOfThisSubtask() == 0) {
                opens.incrementAndGet();
            }
        }

        @Override
        public Scored map(Scored s) {
            if (version != null && version.equals(s.modelVersion)) {
                seen.set(true);
                if (checkpointedAfter.get() && !fired.getAndSet(true)) {
                    throw new IllegalStateException("a task fails after the swap");
                }
            }
            return s;
        }

        @Override
        public void notifyCheckpointComplete(long checkpointId) {
            if (seen.get()) {
                checkpointedAfter.set(true);
            }
        }
    }
}
