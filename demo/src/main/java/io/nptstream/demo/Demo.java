package io.nptstream.demo;

import io.nptstream.flink.config.ConfigException;
import io.nptstream.flink.config.JobConfig;
import io.nptstream.flink.config.Settings;
import io.nptstream.flink.core.CsvRecords;
import io.nptstream.flink.job.NptStreamJob;
import io.nptstream.flink.model.ModelStore;
import io.nptstream.proto.ModelSwap;
import io.nptstream.proto.DeadLetter;
import io.nptstream.proto.Prediction;
import io.nptstream.proto.Reason;
import io.nptstream.proto.Record;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * {@code make demo}: against a running broker, creates the topics, runs {@link NptStreamJob} on a
 * local Flink in this JVM, produces a CSV stream as Records (plus one bad record per dead-letter
 * reason), follows the output topics with progress lines, prints the final figures and cancels
 * the job. Options: {@code --csv f --from row --limit n --rate records/s --keys n --job local|external}
 * ({@code --keys}: the rows dealt round robin to n keys, "elec2-0".."elec2-(n-1)"; default one key, "elec2"),
 * and any job key. With {@code --retrain STORE} (a job on {@code model.store}, {@code make demo
 * DEMO_RETRAIN=1}) it also shows the model lifecycle: after {@code --retrain-after} rows it
 * retrains from the input topic in the background ({@code bin/npt-stream retrain}) while the stream
 * goes on slowly, asks the job to swap to the new version, and ends with the swap's line. With
 * {@code --retrain-on-drift STORE} ({@code make demo DEMO_RETRAIN=drift}) {@code bin/npt-stream
 * retrain --on-drift} runs beside the job instead, its lines among the demo's: on each drift in the
 * predictions it fine-tunes, tests, publishes and swaps by itself.
 */
public final class Demo {
    private static final Duration STALL = Duration.ofSeconds(90);

    private Demo() {}

    public static void main(String[] args) throws Exception {
        List<String> jobArgs = new ArrayList<>(Arrays.asList(args));
        String csv = take(jobArgs, "csv", null);
        if (csv == null) {
            System.err.println("demo: no stream: pass --csv FILE (make demo passes the Makefile's ELEC_CSV)");
            System.exit(2);
            return;
        }
        long limit = Long.parseLong(take(jobArgs, "limit", "20000"));
        long rate = Long.parseLong(take(jobArgs, "rate", "0"));
        int keys = Integer.parseInt(take(jobArgs, "keys", "1"));
        String from = take(jobArgs, "from", null);
        boolean external = take(jobArgs, "job", "local").equals("external");
        String retrainStore = take(jobArgs, "retrain", null);
        String driftStore = take(jobArgs, "retrain-on-drift", null);
        Retrain retrain = retrainStore == null ? null : new Retrain(Path.of(retrainStore),
                Long.parseLong(take(jobArgs, "retrain-after", "15000")), take(jobArgs, "retrain-steps", "100"));
        JobConfig config;
        try {
            config = JobConfig.from(Settings.fromArgs(jobArgs.toArray(new String[0]), JobConfig.DEFAULT_RESOURCE));
        } catch (ConfigException e) {
            System.err.println("demo: bad configuration:\n" + e.getMessage());
            System.exit(2);
            return;
        }
        // Rows the model was trained on would flatter it: by default the demo starts after them.
        long first = from != null ? Long.parseLong(from) : config.manifest.getTraining().getRowEnd();
        try {
            System.exit(new Demo().run(config, Path.of(csv), first, limit, rate, keys, external, retrain, driftStore) ? 0 : 1);
        } catch (IllegalArgumentException | IllegalStateException e) {
            System.err.println("demo: " + e.getMessage());
            System.exit(2);
        }
    }

    private static String take(List<String> args, String name, String defaultValue) {
        int i = args.indexOf("--" + name);
        if (i < 0 || i + 1 >= args.size()) {
            return defaultValue;
        }
        String v = args.get(i + 1);
        args.subList(i, i + 2).clear();
        return v;
    }

    /** {@code external}: the job runs elsewhere (deploy/flink-cluster.sh submit); only produce and follow. */
    private boolean run(JobConfig c, Path csv, long first, long limit, long rate, int keys, boolean external, Retrain retrain,
                        String driftStore) throws Exception {
        createTopics(c);
        JobClient job = null;
        if (external) {
            System.out.println("demo: topics ready; waiting for a job started elsewhere to read " + c.topicIn);
        } else {
            StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(NptStreamJob.flinkConfiguration(c));
            NptStreamJob.build(env, c);
            job = env.executeAsync("npt-stream-demo");
            awaitRunning(job);
            System.out.printf("demo: job %s running; model %s (%s), window %s, batch %d / %d ms%s%n", job.getJobID(),
                    c.operator.modelStore != null ? c.operator.modelStore : c.operator.modelDir, c.manifest.getModelVersion(), c.operator.window == 0 ? c.manifest.getContext().getMaxWindow() : c.operator.window,
                    c.operator.batchSize, c.operator.batchDelayMs,
                    c.metricsPort > 0 ? ", metrics on http://127.0.0.1:" + c.metricsPort + "/metrics" : "");
        }

        Process driftFollower = driftStore == null ? null : followDrift(c, driftStore);

        AtomicLong sent = new AtomicLong();
        AtomicBoolean producing = new AtomicBoolean(true);
        AtomicReference<Exception> producerError = new AtomicReference<>();
        Map<Reason, byte[]> bad = new LinkedHashMap<>();
        Thread producer = new Thread(() -> {
            try {
                produce(c, csv, first, limit, rate, keys, sent, bad, retrain);
            } catch (Exception e) {
                producerError.set(e);
            } finally {
                producing.set(false);
            }
        }, "demo-producer");
        long started = System.nanoTime();
        producer.start();

        Figures f = new Figures(c.manifest);
        f.firstSentNanos = started;
        boolean complete = follow(c, f, sent, producing, started, retrain);
        producer.join();
        if (job != null) {
            job.cancel().get(30, TimeUnit.SECONDS);
        }
        if (driftFollower != null) {
            driftFollower.destroy();
            driftFollower.waitFor(30, TimeUnit.SECONDS);
        }

        if (producerError.get() != null) {
            System.out.println("demo: producing failed: " + producerError.get());
            return false;
        }
        System.out.println();
        System.out.println("=== NPT Stream demo: final figures ===");
        System.out.printf(Locale.ROOT, "records sent      %d (%d valid rows %d..%d of %s, %d malformed)%n",
                sent.get(), sent.get() - bad.size(), first, first + sent.get() - bad.size() - 1, csv.getFileName(), bad.size());
        System.out.printf(Locale.ROOT, "predictions       %d%n", f.predictions);
        System.out.printf(Locale.ROOT, "dead letters      %d%n", f.deadLetters);
        System.out.printf(Locale.ROOT, "accounted for     %s%n", f.predictions + f.deadLetters == sent.get() ? "all (records = predictions + dead letters)" : "NO: " + (sent.get() - f.predictions - f.deadLetters) + " missing");
        System.out.println(f.quality());
        System.out.printf(Locale.ROOT, "throughput        %.0f records/s (%d results in %.1f s, from the first record sent to the last "
                + "result read%s)%n", f.throughput(), f.predictions + f.deadLetters, (f.lastNanos - started) / 1e9,
                job == null ? "" : "; the job was running before the first record was sent");
        System.out.printf(Locale.ROOT, "operator latency  p50 %d us, p99 %d us (arrival at the operator to emission)%n", f.latencyPercentile(0.50), f.latencyPercentile(0.99));
        System.out.printf(Locale.ROOT, "end-to-end        p50 %.0f ms, p99 %.0f ms (record sent to its prediction read, through Kafka; the second half of the predictions)%n",
                f.endToEndPercentile(0.50) / 1e3, f.endToEndPercentile(0.99) / 1e3);
        for (DeadLetter d : f.deadLetterSamples) {
            System.out.printf("dead letter       %-16s %s%n", d.getReason(), d.getDetail());
        }
        boolean everyReason = !bad.isEmpty() && f.deadLetterSamples.stream().map(DeadLetter::getReason).toList().containsAll(bad.keySet());
        boolean accounted = f.predictions + f.deadLetters == sent.get();
        boolean swapped = true;
        if (retrain != null) {
            swapped = f.versions().size() > 1;
            System.out.println(swapped ? f.swapLine(accounted) : "swap: none happened (" + retrain.outcome + ")");
        }
        if (driftStore != null) {
            // No swap is no failure here: a stream without a drift that a fine-tune helps needs none.
            System.out.println(f.versions().size() > 1 ? f.swapLine(accounted) : "swap: none happened (retrain --on-drift swapped in no version before the stream ended)");
        }
        return complete && everyReason && accounted && swapped;
    }

    /**
     * Starts {@code bin/npt-stream retrain --on-drift} on the job's topics and store, echoing its
     * lines; returns once it follows the output topic, so that it sees every prediction.
     */
    private static Process followDrift(JobConfig c, String store) throws Exception {
        Process p = new ProcessBuilder("bin/npt-stream", "retrain", "--bootstrap", c.kafkaBootstrap, "--topic", c.topicIn,
                "--store", store, "--on-drift", "--predictions", c.topicOut, "--control", c.topicControl)
                .redirectErrorStream(true).start();
        CountDownLatch following = new CountDownLatch(1);
        Thread echo = new Thread(() -> {
            try (BufferedReader out = p.inputReader()) {
                for (String line = out.readLine(); line != null; line = out.readLine()) {
                    System.out.println(line);
                    if (line.contains("following " + c.topicOut)) {
                        following.countDown();
                    }
                }
            } catch (IOException e) {
                System.out.println("demo: lost retrain --on-drift's output: " + e);
            }
        }, "demo-retrain-on-drift");
        echo.setDaemon(true);
        echo.start();
        long deadline = System.nanoTime() + STALL.toNanos();
        while (!following.await(1, TimeUnit.SECONDS)) {
            if (!p.isAlive() || System.nanoTime() > deadline) {
                p.destroy();
                throw new IllegalStateException("retrain --on-drift did not start following " + c.topicOut
                        + (p.isAlive() ? " within " + STALL.toSeconds() + " s" : ": it exited") + " (its output is above)");
            }
        }
        return p;
    }

    /** The job's start (deploying tasks, loading the model) is not its speed: produce once it runs. */
    private static void awaitRunning(JobClient job) throws Exception {
        long deadline = System.nanoTime() + STALL.toNanos();
        while (job.getJobStatus().get(30, TimeUnit.SECONDS) != JobStatus.RUNNING) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the job did not reach RUNNING in " + STALL.toSeconds() + " s");
            }
            Thread.sleep(100);
        }
    }

    private static void createTopics(JobConfig c) throws Exception {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, c.kafkaBootstrap);
        try (Admin admin = Admin.create(p)) {
            var existing = admin.listTopics().names().get(30, TimeUnit.SECONDS);
            List<NewTopic> topics = new ArrayList<>();
            for (String t : List.of(c.topicIn, c.topicOut, c.topicDeadLetter, c.topicControl)) {
                if (!existing.contains(t)) {
                    topics.add(new NewTopic(t, c.parallelism, (short) 1));
                }
            }
            admin.createTopics(topics).all().get(30, TimeUnit.SECONDS);
        }
    }

    private static void produce(JobConfig c, Path csv, long first, long limit, long rate, int keys, AtomicLong sent,
                                Map<Reason, byte[]> bad, Retrain retrain) throws Exception {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, c.kafkaBootstrap);
        p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
                CsvRecords rows = new CsvRecords(csv, c.manifest, null)) {
            long start = System.nanoTime();
            long n = 0;
            for (Record r = rows.next(); r != null && n < limit; r = rows.next()) {
                if (rows.row() < first) {
                    continue;
                }
                String key = keys == 1 ? "elec2" : "elec2-" + n % keys;
                Record record = r.toBuilder().setKey(key).setEventTimeMs(System.currentTimeMillis()).build();
                if (n == Math.min(limit / 2, 1000)) {
                    // The bad records, early in the stream: each one must come back as a dead letter.
                    bad.putAll(MalformedRecords.from(record, c.manifest));
                    for (byte[] b : bad.values()) {
                        producer.send(new ProducerRecord<>(c.topicIn, b));
                        sent.incrementAndGet();
                    }
                }
                producer.send(new ProducerRecord<>(c.topicIn, record.getKey().getBytes(), record.toByteArray()));
                sent.incrementAndGet();
                n++;
                if (retrain != null && retrain.pace(n, c, producer)) {
                    continue;
                }
                if (rate > 0) {
                    long due = start + n * 1_000_000_000L / rate;
                    long wait = due - System.nanoTime();
                    if (wait > 0) {
                        TimeUnit.NANOSECONDS.sleep(wait);
                    }
                }
            }
            producer.flush();
        }
    }

    /** Reads predictions and dead letters until every sent record is accounted for; prints progress. */
    private static boolean follow(JobConfig c, Figures f, AtomicLong sent, AtomicBoolean producing, long started, Retrain retrain) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, c.kafkaBootstrap);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, "npt-stream-demo-monitor-" + System.nanoTime());
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            consumer.subscribe(List.of(c.topicOut, c.topicDeadLetter));
            long lastReport = System.nanoTime();
            long lastProgress = System.nanoTime();
            while (true) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    f.lastNanos = System.nanoTime();
                    lastProgress = f.lastNanos;
                    try {
                        if (r.topic().equals(c.topicOut)) {
                            f.add(Prediction.parseFrom(r.value()));
                            if (retrain != null && !retrain.served && f.versions().size() > 1) {
                                retrain.served = true;
                                System.out.println("demo: the job serves " + f.versions().get(1) + " now");
                            }
                        } else {
                            f.add(DeadLetter.parseFrom(r.value()));
                        }
                    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
                        throw new IllegalStateException("unreadable message on " + r.topic() + " at offset " + r.offset(), e);
                    }
                }
                long now = System.nanoTime();
                boolean done = !producing.get() && f.predictions + f.deadLetters >= sent.get();
                if (done || now - lastReport > 2_000_000_000L) {
                    lastReport = now;
                    System.out.printf(Locale.ROOT, "[%5.1f s] sent %d | predictions %d | dead letters %d | %s%n",
                            (now - started) / 1e9, sent.get(), f.predictions, f.deadLetters, f.running());
                }
                if (done) {
                    return true;
                }
                if (now - lastProgress > STALL.toNanos()) {
                    System.out.println("demo: no results for " + STALL.toSeconds() + " s; giving up");
                    return false;
                }
            }
        }
    }

    /**
     * The lifecycle part of the demo: after {@code after} rows, {@code bin/npt-stream retrain} runs
     * in the background on the topic's newest labeled records and publishes into the store, while
     * the stream goes on at {@link #SLOW_RATE}; then a ModelSwap goes to the control topic and the
     * stream resumes its pace.
     */
    private static final class Retrain {
        private static final int SLOW_RATE = 25;
        private static final int LAST = 10_000;

        final Path store;
        final long after;
        final String steps;
        private Process process;
        private long swapSentNanos;
        /** Set by the reader of the output topics when a prediction by the new version arrives. */
        volatile boolean served;
        String outcome = "the stream ended before the retraining";

        Retrain(Path store, long after, String steps) {
            this.store = store;
            this.after = after;
            this.steps = steps;
        }

        /**
         * Called after each row sent; returns true when it paced the row itself (the caller's rate
         * then skips it). The stream stays slow until the new version serves: it does so from the
         * job's next checkpoint, up to checkpoint.interval.ms after the swap request.
         */
        boolean pace(long rows, JobConfig c, KafkaProducer<byte[], byte[]> producer) throws Exception {
            if (served || rows < after || process != null && !process.isAlive() && process.exitValue() != 0) {
                return false;
            }
            if (swapSentNanos > 0) {
                if (System.nanoTime() - swapSentNanos > STALL.toNanos()) {
                    outcome = "the job did not serve the new version within " + STALL.toSeconds() + " s of the swap request";
                    return false;
                }
                TimeUnit.MILLISECONDS.sleep(1000 / SLOW_RATE);
                return true;
            }
            if (process == null) {
                System.out.printf("demo: %d rows sent; retraining from %s on its last %d labeled records (%s steps), the stream "
                        + "slowed to %d records/s meanwhile%n", rows, c.topicIn, LAST, steps, SLOW_RATE);
                producer.flush();
                process = new ProcessBuilder("bin/npt-stream", "retrain", "--bootstrap", c.kafkaBootstrap, "--topic", c.topicIn,
                        "--store", store.toString(), "--last", Integer.toString(LAST), "--steps", steps)
                        .inheritIO().start();
            }
            if (process.isAlive()) {
                TimeUnit.MILLISECONDS.sleep(1000 / SLOW_RATE);
                return true;
            }
            if (process.exitValue() != 0) {
                outcome = "the retraining failed with exit code " + process.exitValue();
                return false;
            }
            swapSentNanos = System.nanoTime();
            String version = Files.readString(store.resolve(ModelStore.LATEST)).trim();
            producer.send(new ProducerRecord<>(c.topicControl, ModelSwap.newBuilder().setModelVersion(version).build().toByteArray())).get();
            System.out.printf("demo: published %s; asked the job to swap to it at its next checkpoint%n", version);
            return true;
        }
    }
}
