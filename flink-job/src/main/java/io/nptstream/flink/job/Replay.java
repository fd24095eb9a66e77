package io.nptstream.flink.job;

import io.nptstream.flink.config.ConfigException;
import io.nptstream.flink.core.CsvRecords;
import io.nptstream.flink.core.ModelOutput;
import io.nptstream.flink.core.Prequential;
import io.nptstream.flink.core.Rejected;
import io.nptstream.flink.core.Row;
import io.nptstream.flink.core.Scored;
import io.nptstream.flink.kafka.PredictionEncoder;
import io.nptstream.flink.operator.NptPredict;
import io.nptstream.flink.validation.RecordValidator;
import io.nptstream.flink.validation.Rejection;
import io.nptstream.proto.Manifest;
import io.nptstream.proto.Reason;
import io.nptstream.proto.Record;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.types.Either;

/**
 * Backtest mode: a CSV row range goes through the same validation and NPT operator as the Kafka
 * job, on a local Flink in this JVM, and the prequential figures come out. Used by the bench.
 */
public final class Replay {
    private Replay() {}

    public static void main(String[] args) throws Exception {
        ReplayOptions options;
        try {
            options = ReplayOptions.fromArgs(args);
        } catch (ConfigException e) {
            System.err.println("replay: bad options:\n" + e.getMessage());
            System.exit(2);
            return;
        }
        try {
            System.out.println(run(options).summary());
        } catch (IllegalArgumentException e) {
            System.err.println("replay: " + e.getMessage());
            System.exit(2);
        }
    }

    /** Replays {@code o}; a bad model or setting throws IllegalArgumentException with one line. */
    public static ReplayResult run(ReplayOptions o) throws Exception {
        Manifest manifest = NptPredict.check(o.operator);
        PredictionEncoder encoder = new PredictionEncoder(manifest);
        RecordValidator validator = new RecordValidator(manifest);

        List<Row> rows = new ArrayList<>();
        Map<Reason, Long> deadLetters = new EnumMap<>(Reason.class);
        try (CsvRecords csv = new CsvRecords(o.csv, manifest, o.keyColumn)) {
            for (Record r = csv.next(); r != null && (o.rowEnd < 0 || csv.row() < o.rowEnd); r = csv.next()) {
                if (csv.row() < o.rowBegin) {
                    continue;
                }
                try {
                    rows.add(validator.validate(r));
                } catch (Rejection e) {
                    deadLetters.merge(e.reason, 1L, Long::sum);
                }
            }
        }
        if (!deadLetters.isEmpty()) {
            System.err.println("replay: rows rejected by validation: " + deadLetters);
        }
        if (rows.isEmpty()) {
            throw new IllegalArgumentException("no row of " + o.csv + " passed validation (" + deadLetters + "): check that its "
                    + "columns are the model's features, of the kinds its manifest.json names, and the rows given by --rows");
        }
        long records = rows.size() + deadLetters.values().stream().mapToLong(Long::longValue).sum();

        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(o.parallelism,
                ReplayMetrics.install(new Configuration()));
        // Answers reach the sink when they are emitted, not with a network buffer's timeout (100 ms by
        // default): the throughput below is timed by their arrival, and a short replay fits in one timeout.
        env.setBufferTimeout(0);
        var keyed = env.fromData(rows, TypeInformation.of(Row.class)).setParallelism(1)
                .keyBy(row -> row.key, Types.STRING);
        List<Scored> scored = new ArrayList<>(rows.size());
        // Predictions and the operator's own dead letters (non-finite outputs), in one stream.
        SingleOutputStreamOperator<Scored> predicted = NptPredict.apply(keyed, o.operator);
        TypeInformation<Either<Scored, Rejected>> answer = Types.EITHER(TypeInformation.of(Scored.class),
                TypeInformation.of(Rejected.class));
        DataStream<Either<Scored, Rejected>> answers = predicted.map(Either::<Scored, Rejected>Left).returns(answer)
                .union(predicted.getSideOutput(NptPredict.DEAD_LETTERS).map(Either::<Scored, Rejected>Right).returns(answer));
        InJvmSink<Either<Scored, Rejected>> sink = new InJvmSink<>();
        answers.sinkTo(sink).setParallelism(1);
        long started = System.nanoTime();
        String job = "npt-replay-" + UUID.randomUUID();
        Map<String, Double> cache;
        InJvmSink.Collected<Either<Scored, Rejected>> answered;
        try {
            env.execute(job);
        } finally {
            // Taken whatever happened: both keep their job's output (and the cache's gauges) in static maps.
            cache = ReplayMetrics.take(job);
            answered = sink.take();
        }
        // Per key and call: a lookup that found the key's keys/values cached (NaN without a cache).
        double cacheHitRate = 1 - cache.getOrDefault(ReplayMetrics.CACHE_REBUILDS, Double.NaN)
                / cache.getOrDefault(ReplayMetrics.CACHE_LOOKUPS, Double.NaN);
        for (Either<Scored, Rejected> a : answered.elements) {
            if (a.isRight()) {
                deadLetters.merge(a.right().reason, 1L, Long::sum);
            } else if (Long.parseLong(a.left().id) >= o.firstScoredRow()) {
                scored.add(a.left());
            }
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        // From the first answer to the last: the job's deployment and the model's load are not the
        // model's speed (over a short replay they were most of the run time). Answers that all came
        // within a millisecond (one flush) have no measurable rate.
        double span = answered.secondsFirstToLast();
        double perSecond = span < 1e-3 ? Double.NaN : (answered.elements.size() - 1) / span;
        scored.sort(Comparator.comparingLong(s -> Long.parseLong(s.id)));
        Prequential prequential = Prequential.perRow(encoder.isClassification());
        for (Scored s : scored) {
            prequential.add(s.output(), s.label);
            prequential.addLatency(s.latencyUs);
        }
        write(o.out, scored, encoder);
        long rejected = deadLetters.values().stream().mapToLong(Long::longValue).sum();
        return new ReplayResult(records, rejected, List.copyOf(scored), prequential, perSecond, cacheHitRate, seconds, o.out);
    }

    private static void write(Path out, List<Scored> scored, PredictionEncoder encoder) throws IOException {
        if (out.getParent() != null) {
            Files.createDirectories(out.getParent());
        }
        try (BufferedWriter w = Files.newBufferedWriter(out)) {
            w.write(encoder.isClassification()
                    ? "key,id,row,label,predicted,probabilities,context_size,latency_us\n"
                    : "key,id,row,label,predicted,std,context_size,latency_us\n");
            for (Scored s : scored) {
                String label;
                String predicted;
                String detail;
                ModelOutput output = s.output();
                if (output instanceof ModelOutput.Classes c) {
                    label = Float.isNaN(s.label) ? "" : encoder.className((int) s.label);
                    predicted = encoder.className(c.predictedClass());
                    String[] p = new String[c.probabilities().length];
                    for (int i = 0; i < p.length; i++) {
                        p[i] = String.format(Locale.ROOT, "%.6f", c.probabilities()[i]);
                    }
                    detail = String.join(";", p);
                } else {
                    ModelOutput.Regression r = (ModelOutput.Regression) output;
                    label = Float.isNaN(s.label) ? "" : Float.toString(s.label);
                    predicted = Float.toString(r.value());
                    detail = r.hasStd() ? Float.toString(r.std()) : "";
                }
                w.write(String.join(",", s.key, s.id, s.id, label, predicted, detail,
                        Integer.toString(s.contextSize), Long.toString(s.latencyUs)));
                w.write('\n');
            }
        }
    }
}
