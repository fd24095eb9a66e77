package io.nptstream.demo;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.TextFormat;
import io.nptstream.flink.config.ConfigException;
import io.nptstream.flink.config.JobConfig;
import io.nptstream.flink.config.NptOptions;
import io.nptstream.flink.config.Option;
import io.nptstream.flink.config.Settings;
import io.nptstream.flink.core.CsvRecords;
import io.nptstream.flink.operator.NptPredict;
import io.nptstream.proto.DeadLetter;
import io.nptstream.proto.Prediction;
import io.nptstream.proto.Record;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * {@code bin/npt-stream produce} and {@code consume}: a CSV onto the input topic as Records, and
 * the prediction and dead-letter topics printed one message a line. They read the job's own
 * options (the bundled npt-stream.properties, {@code --config}, {@code --key value}), so they
 * find the broker, the topics and the model the job uses.
 */
public final class Tools {
    static final Option<String> CSV = Option.required("csv", "CSV to produce, with a header; columns matched by name to the model's features and target");
    static final Option<String> KEY = Option.text("key", null, "the column with each row's key; none = every row has the key " + CsvRecords.SINGLE_KEY);
    static final Option<Long> RATE = Option.whole("rate", 0, 0, Long.MAX_VALUE, "records per second; 0 = as fast as the broker takes them");
    static final Option<Long> MAX = Option.whole("max", 0, 0, Long.MAX_VALUE, "messages to print before stopping; 0 = until --idle-s passes with none");
    static final Option<Long> IDLE_S = Option.whole("idle-s", 10, 1, 86_400, "seconds without a message after which consume stops");

    private Tools() {}

    public static void main(String[] args) throws Exception {
        if (args.length == 0 || !List.of("produce", "consume").contains(args[0])) {
            System.err.println("usage: Tools produce|consume [--key value ...]");
            System.exit(2);
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        try {
            if (args[0].equals("produce")) {
                produce(rest);
            } else {
                consume(rest);
            }
        } catch (ConfigException | IllegalArgumentException e) {
            System.err.println("npt-stream " + args[0] + ": " + e.getMessage());
            System.exit(2);
        }
    }

    /** The job's options (read so that none is unknown), then the tool's. */
    private static Settings settings(String[] args) throws ConfigException {
        Settings s = Settings.fromArgs(args, JobConfig.DEFAULT_RESOURCE);
        for (Option<?> o : NptOptions.JOB) {
            s.get(o);
        }
        return s;
    }

    /** The kafka.properties.* settings and the broker, once the settings are checked: the base of a tool's client. */
    private static Properties client(Settings s) throws ConfigException {
        Properties p = new Properties();
        p.putAll(s.get(NptOptions.KAFKA_PROPERTIES));
        p.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, s.get(NptOptions.KAFKA_BOOTSTRAP));
        s.check();
        return p;
    }

    private static void produce(String[] args) throws Exception {
        Settings s = settings(args);
        Path csv = Path.of(s.get(CSV) == null ? "" : s.get(CSV));
        String key = s.get(KEY);
        long rate = s.get(RATE);
        String topic = s.get(NptOptions.TOPIC_IN);
        String modelDir = s.get(NptOptions.MODEL_DIR);
        Properties p = client(s);
        p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        long n = 0;
        long start = System.nanoTime();
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
             CsvRecords rows = new CsvRecords(csv, NptPredict.loadManifest(modelDir), key)) {
            for (Record r = rows.next(); r != null; r = rows.next()) {
                producer.send(new ProducerRecord<>(topic, r.getKey().getBytes(StandardCharsets.UTF_8), r.toByteArray()));
                n++;
                if (rate > 0) {
                    long wait = start + n * 1_000_000_000L / rate - System.nanoTime();
                    if (wait > 0) {
                        TimeUnit.NANOSECONDS.sleep(wait);
                    }
                }
            }
            producer.flush();
        }
        System.out.printf("produced %d records from %s to %s on %s%n", n, csv, topic, p.get(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG));
    }

    /** One message, one line; the raw bytes of a dead letter left out. */
    private static String describe(ConsumerRecord<byte[], byte[]> r, String predictions) {
        try {
            return r.topic().equals(predictions)
                    ? "prediction " + TextFormat.printer().shortDebugString(Prediction.parseFrom(r.value()))
                    : "dead letter " + TextFormat.printer().shortDebugString(DeadLetter.parseFrom(r.value()).toBuilder().clearRaw().build());
        } catch (InvalidProtocolBufferException e) {
            return "unreadable message on " + r.topic() + "/" + r.partition() + " at offset " + r.offset() + ": " + e.getMessage();
        }
    }

    private static void consume(String[] args) throws Exception {
        Settings s = settings(args);
        long max = s.get(MAX);
        long idle = s.get(IDLE_S);
        String out = s.get(NptOptions.TOPIC_OUT);
        String dead = s.get(NptOptions.TOPIC_DEAD_LETTER);
        Properties p = client(s);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, "npt-stream-consume-" + System.nanoTime());
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        long printed = 0;
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            consumer.subscribe(List.of(out, dead));
            long lastMessage = System.nanoTime();
            while ((max == 0 || printed < max) && System.nanoTime() - lastMessage < Duration.ofSeconds(idle).toNanos()) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    lastMessage = System.nanoTime();
                    System.out.println(describe(r, out));
                    printed++;
                    if (max > 0 && printed >= max) {
                        break;
                    }
                }
            }
        }
    }
}
