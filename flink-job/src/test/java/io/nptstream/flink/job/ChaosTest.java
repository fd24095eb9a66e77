package io.nptstream.flink.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.UnknownFieldSet;
import io.nptstream.flink.config.JobConfig;
import io.nptstream.flink.config.Settings;
import io.nptstream.flink.core.Row;
import io.nptstream.flink.core.Scored;
import io.nptstream.flink.operator.NptFixtures;
import io.nptstream.flink.validation.RecordValidator;
import io.nptstream.flink.validation.Rejection;
import io.nptstream.proto.DeadLetter;
import io.nptstream.proto.Golden;
import io.nptstream.proto.Prediction;
import io.nptstream.proto.Record;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.function.LongPredicate;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.state.CheckpointListener;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.runtime.jobgraph.SavepointRestoreSettings;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The job under failure, bad input and rescaling, through a real broker and a real MiniCluster of
 * two TaskManagers (two slots each), exactly-once, read with read_committed. Every check is
 * against a failure-free reference: the same records through the NPT operator alone.
 *
 * <p>{@code make chaos} runs the fault test on 100,000 records ({@code -Dchaos.records}); {@code make
 * test} on a smaller default.
 */
class ChaosTest {
    private static final int RECORDS = Integer.getInteger("chaos.records", 10_000);
    private static final int KEYS = 100;
    private static final String FIXTURE = NptFixtures.CAUSAL_CLS;
    private static final Duration TIMEOUT = Duration.ofSeconds(120 + RECORDS / 200);

    private static JobCluster cluster;
    private static KafkaBroker kafka;
    private static MiniCluster flink;

    @TempDir
    static Path checkpoints;

    @BeforeAll
    static void start() throws Exception {
        cluster = JobCluster.start(2, 2, checkpoints);
        kafka = cluster.kafka;
        flink = cluster.flink;
    }

    @AfterAll
    static void stop() throws Exception {
        if (cluster != null) {
            cluster.close();
        }
    }

    /** The records of a run: what goes on the input topic, and the reference predictions of the valid ones. */
    private record Stream(List<ProducerRecord<byte[], byte[]>> messages, Map<String, Scored> reference, int deadLetters) {
        int predictions() {
            return reference.size();
        }
    }

    @Test
    void injectedFailuresLoseNothingDoubleNothingAndChangeNoPrediction() throws Exception {
        String name = "chaos";
        Stream stream = keyedStream(name + "-records", RECORDS, 11);
        JobConfig config = config(name, 2);
        List<Failure> plan = List.of(Failure.THROW_MID_FLUSH, Failure.KILL_TASK_MANAGER, Failure.FAIL_BEFORE_COMMIT,
                Failure.THROW_MID_FLUSH, Failure.KILL_TASK_MANAGER, Failure.FAIL_BEFORE_COMMIT);
        Tap.reset(plan, RECORDS, new Random(12));
        produce(stream);

        JobID job = submit(config, true, SavepointRestoreSettings.none());
        Outputs out;
        try {
            int[] oldest = {0};
            out = readAll(name, stream, Tap::allFired, () -> {
                if (Tap.killsDue.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                    // MiniCluster never reuses a TaskManager's index: the oldest one alive is the next index.
                    flink.terminateTaskManager(oldest[0]++).get(30, TimeUnit.SECONDS);
                    flink.startTaskManager();
                    Tap.fired.incrementAndGet();
                }
            });
        } finally {
            cancel(job);
        }
        int restarts = Tap.opens.get() - 1;
        out.check(stream);
        assertEquals(plan.size(), Tap.fired.get(), "failures injected");
        assertTrue(restarts > 0, "the failures restarted the job");
        System.out.printf("chaos: records %d, predictions %d, dead letters %d, lost 0, duplicated 0, identical to the failure-free run: yes, "
                + "failures injected %d, restarts %d%n", stream.messages.size(), out.predictions.size(), out.deadLetters.size(),
                Tap.fired.get(), restarts);
    }

    @Test
    void fuzzedRecordsAreEachAnsweredOnceAndNeverRestartTheJob() throws Exception {
        String name = "fuzz";
        List<ProducerRecord<byte[], byte[]>> messages = new ArrayList<>();
        Random random = new Random(21);
        Golden golden = NptFixtures.golden(FIXTURE);
        for (int i = 0; i < 10_000; i++) {
            messages.add(new ProducerRecord<>(name + "-records", null, Fuzz.record(golden, random, "f" + i)));
        }
        Tap.reset(List.of(), 0, random);
        JobConfig config = config(name, 2);
        try (KafkaProducer<byte[], byte[]> producer = kafka.producer()) {
            messages.forEach(producer::send);
        }
        JobID job = submit(config, true, SavepointRestoreSettings.none());
        List<ConsumerRecord<byte[], byte[]>> predictions;
        List<ConsumerRecord<byte[], byte[]>> deadLetters;
        try {
            Outputs out = readUntil(name, answered -> answered >= messages.size(), () -> {});
            predictions = out.predictions;
            deadLetters = out.deadLetters;
            assertEquals(JobStatus.RUNNING, flink.getJobStatus(job).get(30, TimeUnit.SECONDS));
        } finally {
            cancel(job);
        }
        assertEquals(1, Tap.opens.get(), "the job never restarted");
        assertEquals(messages.size(), predictions.size() + deadLetters.size(), "records in = predictions + dead letters");
        Set<String> ids = new HashSet<>();
        for (ConsumerRecord<byte[], byte[]> p : predictions) {
            String id = Prediction.parseFrom(p.value()).getId();
            assertTrue(id.isEmpty() || ids.add(id), "one answer per record: " + id);
        }
        Set<String> positions = new HashSet<>();
        for (ConsumerRecord<byte[], byte[]> d : deadLetters) {
            DeadLetter letter = DeadLetter.parseFrom(d.value());
            assertTrue(!letter.getDetail().isEmpty() && letter.getSerializedSize() < 70_000, letter.getReason() + ": " + letter.getDetail());
            assertTrue(positions.add(letter.getPartition() + "/" + letter.getOffset()), "one dead letter per record");
        }
        System.out.printf("fuzz: records %d, predictions %d, dead letters %d, restarts 0%n", messages.size(), predictions.size(),
                deadLetters.size());
    }

    /** Stop with a savepoint, restart at parallelism 1 -> 2 -> 1: every record answered once, as without the stops. */
    @Test
    void savepointsRestoreAtAnotherParallelism() throws Exception {
        String name = "rescale";
        Stream stream = keyedStream(name + "-records", 6_000, 31);
        config(name, 1);
        produce(stream);
        Tap.reset(List.of(), 0, new Random(32));
        String savepoint = null;
        int[] parallelism = {1, 2, 1};
        Outputs last = null;
        for (int phase = 0; phase < parallelism.length; phase++) {
            JobID job = submit(config(name, parallelism[phase]), false,
                    savepoint == null ? SavepointRestoreSettings.none() : SavepointRestoreSettings.forPath(savepoint, false));
            if (phase < parallelism.length - 1) {
                long target = (long) stream.predictions() * (phase + 1) / parallelism.length;
                readUntil(name, answered -> answered >= target, () -> {});
                savepoint = flink.stopWithSavepoint(job, cluster.savepoints(), false,
                        SavepointFormatType.CANONICAL).get(60, TimeUnit.SECONDS);
            } else {
                try {
                    last = readAll(name, stream, () -> true, () -> {});
                } finally {
                    cancel(job);
                }
            }
        }
        last.check(stream);
    }

    // ---------------------------------------------------------------- the job and its outputs

    /** The job on topics NAME-*, with the fixture model. */
    private static JobConfig config(String name, int parallelism) throws Exception {
        Map<String, String> settings = cluster.settings(name, parallelism);
        settings.put("model.dir", NptFixtures.dir(FIXTURE).toString());
        return JobConfig.from(new Settings(settings));
    }

    private static void cancel(JobID job) throws Exception {
        cluster.cancel(job);
    }

    private static JobID submit(JobConfig config, boolean tap, SavepointRestoreSettings restore) throws Exception {
        return cluster.submit(config, tap ? s -> s.map(new Tap()).name("chaos-tap").uid("chaos-tap") : s -> s, restore);
    }

    /** The committed outputs read so far. */
    private static final class Outputs {
        final List<ConsumerRecord<byte[], byte[]>> predictions = new ArrayList<>();
        final List<ConsumerRecord<byte[], byte[]>> deadLetters = new ArrayList<>();

        long answered() {
            return predictions.size() + deadLetters.size();
        }

        /** Nothing lost, nothing doubled, every prediction the reference's. */
        void check(Stream stream) throws Exception {
            Map<String, Prediction> byId = new HashMap<>();
            for (ConsumerRecord<byte[], byte[]> r : predictions) {
                Prediction p = Prediction.parseFrom(r.value());
                assertEquals(null, byId.put(p.getId(), p), "duplicated: record " + p.getId());
            }
            assertEquals(stream.predictions(), byId.size(), "lost predictions");
            assertEquals(stream.deadLetters, deadLetters.size(), "dead letters");
            double maxDiff = 0;
            for (Map.Entry<String, Scored> e : stream.reference.entrySet()) {
                Prediction p = byId.get(e.getKey());
                assertTrue(p != null, "lost: record " + e.getKey());
                Scored want = e.getValue();
                assertEquals(want.contextSize, p.getContextSize(), "context size of record " + e.getKey());
                for (int c = 0; c < want.probs.length; c++) {
                    maxDiff = Math.max(maxDiff, Math.abs(want.probs[c] - p.getProbabilities(c)));
                }
            }
            assertTrue(maxDiff <= 1e-6, "max difference to the failure-free run " + maxDiff);
        }
    }

    /** Reads until every record is answered and {@code alsoWhen} holds. */
    private static Outputs readAll(String name, Stream stream, BooleanSupplier alsoWhen, ThrowingRunnable onPoll) throws Exception {
        Outputs out = readUntil(name, answered -> answered >= stream.predictions() + stream.deadLetters && alsoWhen.getAsBoolean(), onPoll);
        assertEquals(stream.predictions() + stream.deadLetters, out.predictions.size() + out.deadLetters.size(),
                "records in = predictions + dead letters");
        return out;
    }

    interface ThrowingRunnable {
        void run() throws Exception;
    }

    /** Reads both output topics, committed only, until {@code done} (given the answers so far), then 2 s more so that duplicates would show. */
    private static Outputs readUntil(String name, LongPredicate done, ThrowingRunnable onPoll) throws Exception {
        Outputs out = new Outputs();
        try (var predictions = kafka.committedReader(name + "-predictions");
             var deadLetters = kafka.committedReader(name + "-dead-letters")) {
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            long settle = Long.MAX_VALUE;
            while (System.nanoTime() < Math.min(deadline, settle)) {
                predictions.poll(Duration.ofMillis(100)).forEach(out.predictions::add);
                deadLetters.poll(Duration.ofMillis(10)).forEach(out.deadLetters::add);
                onPoll.run();
                if (settle == Long.MAX_VALUE && done.test(out.answered())) {
                    settle = System.nanoTime() + Duration.ofSeconds(2).toNanos();
                }
            }
            assertTrue(done.test(out.answered()), "timed out after " + TIMEOUT + " with " + out.answered() + " answers");
        }
        return out;
    }

    // ---------------------------------------------------------------- the records

    /** {@code n} records over {@link #KEYS} keys from the fixture's golden stream, 1% garbage, and the reference predictions. */
    private static Stream keyedStream(String topic, int n, long seed) throws Exception {
        Random random = new Random(seed);
        Golden golden = NptFixtures.golden(FIXTURE);
        RecordValidator validator = new RecordValidator(NptFixtures.manifest(FIXTURE));
        List<ProducerRecord<byte[], byte[]>> messages = new ArrayList<>(n);
        List<Row> rows = new ArrayList<>();
        int garbage = 0;
        for (int i = 0; i < n; i++) {
            String key = "key-" + random.nextInt(KEYS);
            byte[] k = key.getBytes(StandardCharsets.UTF_8);
            if (random.nextInt(100) == 0) {
                messages.add(new ProducerRecord<>(topic, k, new byte[] {(byte) 0xff, (byte) i, 0x01}));
                garbage++;
                continue;
            }
            Record template = golden.getStream(random.nextInt(golden.getStreamCount()));
            Record.Builder r = template.toBuilder().setKey(key).setId(Integer.toString(i)).setEventTimeMs(1_000L * i);
            for (Map.Entry<String, Double> e : template.getNumericMap().entrySet()) {
                r.putNumeric(e.getKey(), e.getValue() + 0.1 * random.nextGaussian());
            }
            if (random.nextInt(10) == 0) {
                r.clearLabel();
            }
            Record record = r.build();
            messages.add(new ProducerRecord<>(topic, k, record.toByteArray()));
            try {
                rows.add(validator.validate(record));
            } catch (Rejection e) {
                throw new IllegalStateException("a generated record is invalid: " + e.getMessage());
            }
        }
        Map<String, Scored> reference = new LinkedHashMap<>();
        for (Scored s : NptFixtures.run(NptFixtures.config(FIXTURE, 0), rows)) {
            reference.put(s.id, s);
        }
        return new Stream(messages, reference, garbage);
    }

    private static void produce(Stream stream) {
        try (KafkaProducer<byte[], byte[]> producer = kafka.producer()) {
            stream.messages.forEach(producer::send);
        }
    }

    // ---------------------------------------------------------------- the failures

    enum Failure { THROW_MID_FLUSH, KILL_TASK_MANAGER, FAIL_BEFORE_COMMIT }

    /**
     * Chained to the NPT operator, so that a throw here is a throw inside its flush (between two
     * of its emissions). Static state: the MiniCluster runs in this JVM, and it outlives restarts.
     */
    static final class Tap extends RichMapFunction<Scored, Scored> implements CheckpointListener {
        static final AtomicLong passed = new AtomicLong();
        static final AtomicInteger opens = new AtomicInteger();
        static final AtomicInteger fired = new AtomicInteger();
        /** Failures due but not yet done: a kill is the test thread's to do, a commit failure waits for a checkpoint. */
        static final AtomicInteger killsDue = new AtomicInteger();
        static final AtomicInteger commitFailuresDue = new AtomicInteger();
        /** Failures still to fire, each at a count of predictions passed (replays after a restart count too). */
        static final List<long[]> plan = new ArrayList<>();
        static List<Failure> kinds = List.of();

        static synchronized void reset(List<Failure> failures, int records, Random random) {
            passed.set(0);
            opens.set(0);
            fired.set(0);
            killsDue.set(0);
            commitFailuresDue.set(0);
            plan.clear();
            kinds = failures;
            for (int i = 0; i < failures.size(); i++) {
                // Spread over the first pass: the i-th failure somewhere in the i-th of n equal parts of 10%..90%.
                long from = records / 10 + (long) records * 8 / 10 * i / failures.size();
                long span = (long) records * 8 / 10 / failures.size();
                plan.add(new long[] {from + (long) (random.nextDouble() * span), i});
            }
        }

        @Override
        public void open(OpenContext context) {
            if (getRuntimeContext().getTaskInfo().getIndexOfThisSubtask() == 0) {
                opens.incrementAndGet();
            }
        }

        @Override
        public Scored map(Scored s) {
            Failure due = due(passed.incrementAndGet());
            if (due == Failure.THROW_MID_FLUSH) {
                fired.incrementAndGet();
                throw new IllegalStateException("chaos: a task fails in the middle of a flush");
            } else if (due == Failure.KILL_TASK_MANAGER) {
                killsDue.incrementAndGet();
            } else if (due == Failure.FAIL_BEFORE_COMMIT) {
                commitFailuresDue.incrementAndGet();
            }
            return s;
        }

        /** Every failure of the plan has happened. */
        static synchronized boolean allFired() {
            return plan.isEmpty() && killsDue.get() == 0 && commitFailuresDue.get() == 0;
        }

        private static synchronized Failure due(long n) {
            if (!plan.isEmpty() && plan.get(0)[0] <= n) {
                return kinds.get((int) plan.remove(0)[1]);
            }
            return null;
        }

        /** After a checkpoint completes and before the sinks commit what it covers (or while they do). */
        @Override
        public void notifyCheckpointComplete(long checkpointId) {
            if (commitFailuresDue.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                fired.incrementAndGet();
                throw new IllegalStateException("chaos: a task fails between checkpoint " + checkpointId + " and its commit");
            }
        }
    }

    // ---------------------------------------------------------------- fuzzed records

    /** Bad records of every kind the job must survive, with some good ones among them. */
    static final class Fuzz {
        private Fuzz() {}

        static byte[] record(Golden golden, Random random, String id) {
            Record valid = golden.getStream(random.nextInt(golden.getStreamCount())).toBuilder().setId(id).build();
            String numeric = valid.getNumericMap().keySet().iterator().next();
            switch (random.nextInt(14)) {
                case 0:
                    byte[] bytes = new byte[random.nextInt(200)];
                    random.nextBytes(bytes);
                    return bytes;
                case 1:
                    byte[] whole = valid.toByteArray();
                    return Arrays.copyOf(whole, random.nextInt(whole.length));
                case 2:
                    return valid.toBuilder().removeNumeric(numeric).putCategorical(numeric, "x").build().toByteArray();
                case 3:
                    return valid.toBuilder().putNumeric(numeric, random.nextBoolean() ? Double.NaN : Double.POSITIVE_INFINITY).build().toByteArray();
                case 4:
                    return valid.toBuilder().putNumeric(numeric, (random.nextBoolean() ? 1 : -1) * Math.pow(10, random.nextInt(39))).build().toByteArray();
                case 5:
                    return valid.toBuilder().setUnknownFields(UnknownFieldSet.newBuilder().addField(50 + random.nextInt(100),
                            UnknownFieldSet.Field.newBuilder().addVarint(random.nextLong()).build()).build()).build().toByteArray();
                case 6:
                    return valid.toBuilder().setKey("k".repeat(200 + random.nextInt(400))).build().toByteArray();
                case 7:
                    return valid.toBuilder().setId(id + "-" + "i".repeat(250 + random.nextInt(100_000))).build().toByteArray();
                case 8:
                    return valid.toBuilder().setKey("").build().toByteArray();
                case 9:
                    return valid.toBuilder().setEventTimeMs(random.nextBoolean() ? Long.MAX_VALUE : Long.MIN_VALUE + random.nextInt(1000))
                            .build().toByteArray();
                case 10:
                    return valid.toBuilder().setLabelClass("class-" + random.nextInt(1000)).build().toByteArray();
                case 11:
                    return valid.toBuilder().putNumeric("no-such-feature-" + random.nextInt(10), 1).build().toByteArray();
                case 12:
                    return valid.toBuilder().setLabelValue(random.nextGaussian()).build().toByteArray();
                default:
                    return valid.toByteArray();
            }
        }
    }
}
