package io.nptstream.flink.job;

import io.nptstream.flink.config.ConfigException;
import io.nptstream.flink.config.JobConfig;
import io.nptstream.flink.core.RawRecord;
import io.nptstream.flink.core.Row;
import io.nptstream.flink.core.Scored;
import io.nptstream.flink.kafka.KafkaIO;
import io.nptstream.flink.kafka.PredictionEncoder;
import io.nptstream.flink.operator.NptPredict;
import io.nptstream.flink.validation.ValidateRecords;
import java.util.function.UnaryOperator;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.KeyedStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * The streaming job: Kafka records, validated against the model's manifest, keyed by record key,
 * predicted by the NPT operator, written to the prediction topic; rejected records go to the
 * dead-letter topic. With a model store, the control topic's swaps move it to other versions.
 * Arguments: {@code [--config file] [--key value ...]} (deploy/README.md).
 */
public final class NptStreamJob {
    private NptStreamJob() {}

    public static void main(String[] args) throws Exception {
        JobConfig config;
        try {
            config = JobConfig.fromArgs(args);
            KafkaIO.checkTopics(config);
        } catch (ConfigException e) {
            System.err.println("npt-stream: bad configuration:\n" + e.getMessage());
            System.exit(2);
            return;
        }
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(flinkConfiguration(config));
        build(env, config);
        env.execute("npt-stream");
    }

    /**
     * Flink settings that follow from the job's configuration. The Prometheus reporter only takes
     * effect where the job brings its own Flink (a local run); a cluster has its own reporters.
     */
    public static Configuration flinkConfiguration(JobConfig c) {
        Configuration conf = new Configuration();
        if (c.checkpointDir != null) {
            conf.setString("execution.checkpointing.dir", c.checkpointDir);
        }
        if (c.metricsPort > 0) {
            conf.setString("metrics.reporter.prom.factory.class", "org.apache.flink.metrics.prometheus.PrometheusReporterFactory");
            conf.setString("metrics.reporter.prom.port", String.valueOf(c.metricsPort));
        }
        return conf;
    }

    /** Adds the job's pipeline to {@code env}. */
    public static void build(StreamExecutionEnvironment env, JobConfig c) {
        build(env, c, UnaryOperator.identity());
    }

    /**
     * The pipeline, with {@code beforeSink} applied to the predictions on their way to the sink
     * (chained to the NPT operator: the fault-injection test fails tasks there, in mid-flush).
     */
    static void build(StreamExecutionEnvironment env, JobConfig c, UnaryOperator<DataStream<Scored>> beforeSink) {
        env.setParallelism(c.parallelism);
        // The operator batches records itself, for at most batch.delay.ms; a network buffer that waits
        // longer (Flink's default is 100 ms) would hand it records in bursts, late, and each burst's
        // records would wait for the whole burst's inference.
        env.setBufferTimeout(c.operator.batchDelayMs);
        if (c.checkpointIntervalMs > 0) {
            env.enableCheckpointing(c.checkpointIntervalMs, CheckpointingMode.EXACTLY_ONCE);
        }
        DataStream<RawRecord> raw = env
                .fromSource(KafkaIO.source(c), WatermarkStrategy.noWatermarks(), "kafka-records")
                .uid("kafka-records");
        SingleOutputStreamOperator<Row> rows = raw
                .process(new ValidateRecords(c.manifest, c.recordLimits))
                .name("validate")
                .uid("validate");
        KeyedStream<Row, String> keyed = rows.keyBy(row -> row.key, Types.STRING);
        SingleOutputStreamOperator<Scored> scored;
        if (c.operator.modelStore == null) {
            scored = NptPredict.apply(keyed, c.operator);
        } else {
            DataStream<String> swaps = env
                    .fromSource(KafkaIO.swapSource(c), WatermarkStrategy.noWatermarks(), "kafka-model-swaps")
                    .uid("kafka-model-swaps")
                    .setParallelism(1);
            scored = NptPredict.apply(keyed, swaps, c.operator, c.checkpointIntervalMs > 0);
        }
        beforeSink.apply(scored)
                .sinkTo(KafkaIO.predictionSink(c, new PredictionEncoder(c.manifest)))
                .name("kafka-predictions")
                .uid("kafka-predictions");
        rows.getSideOutput(ValidateRecords.DEAD_LETTERS)
                .union(scored.getSideOutput(NptPredict.DEAD_LETTERS))
                .sinkTo(KafkaIO.deadLetterSink(c))
                .name("kafka-dead-letters")
                .uid("kafka-dead-letters");
    }
}
