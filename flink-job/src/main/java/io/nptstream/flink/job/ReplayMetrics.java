package io.nptstream.flink.job;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.Metric;
import org.apache.flink.metrics.MetricConfig;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.reporter.MetricReporter;
import org.apache.flink.metrics.reporter.MetricReporterFactory;

/**
 * A metric reporter for {@link Replay}'s local cluster, which runs in Replay's JVM: it keeps the
 * NPT operator's cache counters of each replay, by job name, for Replay to read once the job has
 * finished. A gauge is read when its task unregisters it, or when Replay asks if that has not
 * happened yet (the gauge then reads the finished operator's own counter).
 */
public final class ReplayMetrics implements MetricReporter, MetricReporterFactory {
    static final String CACHE_REBUILDS = "cacheRebuilds";
    static final String CACHE_LOOKUPS = "cacheLookups";
    private static final Set<String> KEPT = Set.of(CACHE_REBUILDS, CACHE_LOOKUPS);
    private static final String REPORTER = "npt-replay";
    private static final Map<String, List<Kept>> JOBS = new ConcurrentHashMap<>();

    /** One subtask's gauge, until its task unregisters it, then its last value. */
    private static final class Kept {
        final String name;
        volatile Gauge<?> gauge;
        volatile double last = Double.NaN;

        Kept(String name, Gauge<?> gauge) {
            this.name = name;
            this.gauge = gauge;
        }

        double value() {
            Gauge<?> g = gauge;
            return g != null ? ((Number) g.getValue()).doubleValue() : last;
        }
    }

    /** {@code config} with this reporter installed. */
    static Configuration install(Configuration config) {
        config.setString("metrics.reporter." + REPORTER + ".factory.class", ReplayMetrics.class.getName());
        return config;
    }

    /** Job {@code job}'s kept gauges summed over subtasks, by name (absent when no task registered it); forgets the job. */
    static Map<String, Double> take(String job) {
        Map<String, Double> sums = new HashMap<>();
        for (Kept k : JOBS.getOrDefault(job, List.of())) {
            sums.merge(k.name, k.value(), Double::sum);
        }
        JOBS.remove(job);
        return sums;
    }

    @Override
    public MetricReporter createMetricReporter(Properties properties) {
        return new ReplayMetrics();
    }

    @Override
    public void open(MetricConfig config) {}

    @Override
    public void close() {}

    @Override
    public void notifyOfAddedMetric(Metric metric, String name, MetricGroup group) {
        String job = group.getAllVariables().get("<job_name>");
        if (job != null && KEPT.contains(name) && metric instanceof Gauge<?> gauge) {
            JOBS.computeIfAbsent(job, j -> new CopyOnWriteArrayList<>()).add(new Kept(name, gauge));
        }
    }

    /** Keeps the value and drops the gauge, which holds the operator (and its cache) in memory. */
    @Override
    public void notifyOfRemovedMetric(Metric metric, String name, MetricGroup group) {
        String job = group.getAllVariables().get("<job_name>");
        if (job == null) {
            return;     // a TaskManager's or JobManager's own metric, removed at shutdown: never kept
        }
        for (Kept k : JOBS.getOrDefault(job, List.of())) {
            if (k.gauge == metric) {
                k.last = ((Number) ((Gauge<?>) metric).getValue()).doubleValue();
                k.gauge = null;
            }
        }
    }
}
