package io.nptstream.flink.job;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.junit.jupiter.api.Test;

class ReplayMetricsTest {
    /** A group of job {@code job}'s task, as the cluster's operator groups carry it. */
    private static UnregisteredMetricsGroup jobGroup(String job) {
        return new UnregisteredMetricsGroup() {
            @Override
            public Map<String, String> getAllVariables() {
                return Map.of("<job_name>", job);
            }
        };
    }

    /** A cache counter keeps its last value once its task unregisters it. */
    @Test
    void keepsTheLastValueOfAnUnregisteredGauge() {
        ReplayMetrics reporter = new ReplayMetrics();
        AtomicLong lookups = new AtomicLong(5);
        Gauge<Long> gauge = lookups::get;
        reporter.notifyOfAddedMetric(gauge, ReplayMetrics.CACHE_LOOKUPS, jobGroup("replay-test"));
        lookups.set(7);
        reporter.notifyOfRemovedMetric(gauge, ReplayMetrics.CACHE_LOOKUPS, jobGroup("replay-test"));
        lookups.set(9);
        assertEquals(Map.of(ReplayMetrics.CACHE_LOOKUPS, 7.0), ReplayMetrics.take("replay-test"));
    }

    /** The cluster's own metrics (no job) are removed at shutdown too; that must not throw. */
    @Test
    void ignoresMetricsOfNoJob() {
        Gauge<Long> gauge = () -> 1L;
        new ReplayMetrics().notifyOfRemovedMetric(gauge, "Count", new UnregisteredMetricsGroup());
        assertEquals(Map.of(), ReplayMetrics.take("no-such-job"));
    }
}
