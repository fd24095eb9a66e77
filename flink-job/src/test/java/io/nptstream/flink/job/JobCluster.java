package io.nptstream.flink.job;

import io.nptstream.flink.config.JobConfig;
import io.nptstream.flink.core.Scored;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.apache.flink.api.common.JobID;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.jobgraph.SavepointRestoreSettings;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.graph.StreamGraph;

/**
 * A real broker and a MiniCluster in the test JVM, for the tests that run the whole job through
 * failures, restores and savepoints: the job's topics and settings, submitting and cancelling it.
 */
final class JobCluster implements AutoCloseable {
    final KafkaBroker kafka;
    final MiniCluster flink;
    private final Path folder;
    private final Set<String> created = new HashSet<>();

    private JobCluster(KafkaBroker kafka, MiniCluster flink, Path folder) {
        this.kafka = kafka;
        this.flink = flink;
        this.folder = folder;
    }

    /** Checkpoints and savepoints go under {@code folder}. */
    static JobCluster start(int taskManagers, int slotsPerTaskManager, Path folder) throws Exception {
        KafkaBroker kafka = KafkaBroker.start();
        MiniCluster flink = new MiniCluster(new MiniClusterConfiguration.Builder()
                .setNumTaskManagers(taskManagers)
                .setNumSlotsPerTaskManager(slotsPerTaskManager)
                .setConfiguration(configuration(folder))
                .build());
        flink.start();
        return new JobCluster(kafka, flink, folder);
    }

    /** Restart at once, as often as it takes: the default exponential backoff would make a test wait minutes. */
    private static Configuration configuration(Path folder) {
        Configuration conf = new Configuration();
        conf.setString("restart-strategy.type", "fixed-delay");
        conf.setString("restart-strategy.fixed-delay.attempts", "1000");
        conf.setString("restart-strategy.fixed-delay.delay", "100 ms");
        conf.setString("execution.checkpointing.dir", folder.resolve("checkpoints").toUri().toString());
        return conf;
    }

    String savepoints() {
        return folder.resolve("savepoints").toUri().toString();
    }

    /**
     * The settings of a job on topics NAME-records (4 partitions), NAME-predictions,
     * NAME-dead-letters and NAME-control, created on first use: exactly-once, small batches,
     * checkpoints every 300 ms. The caller adds the model.
     */
    Map<String, String> settings(String name, int parallelism) throws Exception {
        if (created.add(name)) {
            kafka.createTopic(name + "-records", 4);
            kafka.createTopic(name + "-predictions", 2);
            kafka.createTopic(name + "-dead-letters", 2);
            kafka.createTopic(name + "-control", 1);
        }
        return new HashMap<>(Map.ofEntries(
                Map.entry("kafka.bootstrap", kafka.bootstrap()),
                Map.entry("kafka.topic.in", name + "-records"),
                Map.entry("kafka.topic.out", name + "-predictions"),
                Map.entry("kafka.topic.dead-letter", name + "-dead-letters"),
                Map.entry("kafka.topic.control", name + "-control"),
                Map.entry("kafka.group", name),
                Map.entry("kafka.delivery", "exactly-once"),
                Map.entry("kafka.transactional-id-prefix", name),
                Map.entry("batch.size", "16"),
                Map.entry("batch.delay.ms", "5"),
                Map.entry("parallelism", Integer.toString(parallelism)),
                Map.entry("checkpoint.interval.ms", "300")));
    }

    /** Submits the job, {@code beforeSink} applied to its predictions (see NptStreamJob.build). */
    JobID submit(JobConfig config, UnaryOperator<DataStream<Scored>> beforeSink, SavepointRestoreSettings restore) throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(configuration(folder));
        NptStreamJob.build(env, config, beforeSink);
        StreamGraph graph = env.getStreamGraph();
        graph.setSavepointRestoreSettings(restore);
        return flink.submitJob(graph).get(60, TimeUnit.SECONDS).getJobID();
    }

    /** Cancels the job unless it has ended, and waits until it has stopped, so that no task of it runs into the next test. */
    void cancel(JobID job) throws Exception {
        if (!flink.getJobStatus(job).get(30, TimeUnit.SECONDS).isGloballyTerminalState()) {
            flink.cancelJob(job).get(30, TimeUnit.SECONDS);
        }
        flink.requestJobResult(job).get(60, TimeUnit.SECONDS);
    }

    @Override
    public void close() throws Exception {
        try {
            flink.close();
        } finally {
            kafka.close();
        }
    }
}
