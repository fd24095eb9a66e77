package io.nptstream.flink.operator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.nptstream.flink.config.NptOperatorConfig;
import io.nptstream.flink.core.Row;
import io.nptstream.flink.core.Scored;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.runtime.jobgraph.OperatorID;
import org.apache.flink.runtime.metrics.groups.InternalOperatorMetricGroup;
import org.apache.flink.runtime.metrics.util.InterceptingOperatorMetricGroup;
import org.apache.flink.runtime.metrics.util.InterceptingTaskMetricGroup;
import org.apache.flink.runtime.operators.testutils.MockEnvironment;
import org.apache.flink.runtime.operators.testutils.MockEnvironmentBuilder;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

/** The operator's metrics count what it did. */
class NptMetricsTest {

    @Test
    void metricsFollowTheStream() throws Exception {
        InterceptingOperatorMetricGroup metrics = new InterceptingOperatorMetricGroup();
        MockEnvironment env = new MockEnvironmentBuilder().setMetricGroup(new InterceptingTaskMetricGroup() {
            @Override
            public InternalOperatorMetricGroup getOrAddOperator(OperatorID id, String name, Map<String, String> variables) {
                return metrics;
            }
        }).build();
        List<Row> rows = NptFixtures.goldenRows(NptFixtures.CAUSAL_CLS);
        NptOperatorConfig config = NptFixtures.config(NptFixtures.CAUSAL_CLS, 0);
        config.batchSize = 10;
        List<Scored> out;
        try (KeyedOneInputStreamOperatorTestHarness<String, Row, Scored> h = new KeyedOneInputStreamOperatorTestHarness<>(
                new NptPredictOperator(config, false), row -> row.key, Types.STRING, env)) {
            h.open();
            for (Row r : rows) {
                h.processElement(r, r.eventTimeMs);
            }
            h.endInput();
            out = h.extractOutputValues();
        }
        assertEquals(rows.size(), ((Counter) metrics.get("recordsIn")).getCount());
        assertEquals(out.size(), ((Counter) metrics.get("predictionsOut")).getCount());
        assertEquals((rows.size() + 9) / 10, ((Histogram) metrics.get("batchSize")).getCount(), "one sample per flush");
        assertEquals(rows.size(), ((Histogram) metrics.get("inferenceLatencyUs")).getCount());
        assertEquals(16, ((Histogram) metrics.get("contextSize")).getStatistics().getMax());
        long keys = rows.stream().map(r -> r.key).distinct().count();
        assertEquals(keys, gauge(metrics, "activeKeys"));
        assertEquals(0, gauge(metrics, "cacheRebuilds"), "each key's entry built with its first rows, then kept");
        assertTrue(gauge(metrics, "cacheLookups") > keys, "a lookup per key and call once it has labeled rows");
        assertTrue(gauge(metrics, "cacheBytes") > 0);
        assertEquals(NptFixtures.manifest(NptFixtures.CAUSAL_CLS).getModelVersion(), ((Gauge<?>) metrics.get("modelVersion")).getValue());

        long labeled = 0;
        long correct = 0;
        for (int i = 0; i < rows.size(); i++) {
            if (rows.get(i).isLabeled()) {
                labeled++;
                float[] p = out.get(i).probs;
                int best = 0;
                for (int c = 1; c < p.length; c++) {
                    best = p[c] > p[best] ? c : best;
                }
                correct += best == (int) rows.get(i).label ? 1 : 0;
            }
        }
        assertEquals((double) correct / labeled, (Double) ((Gauge<?>) metrics.get("prequentialAccuracy")).getValue(), 1e-12);
    }

    private static long gauge(InterceptingOperatorMetricGroup metrics, String name) {
        return ((Number) ((Gauge<?>) metrics.get(name)).getValue()).longValue();
    }
}
