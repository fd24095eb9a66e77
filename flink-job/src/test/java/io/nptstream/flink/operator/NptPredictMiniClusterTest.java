package io.nptstream.flink.operator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.nptstream.flink.config.NptOperatorConfig;
import io.nptstream.flink.core.Row;
import io.nptstream.flink.core.Scored;
import io.nptstream.proto.Golden;
import io.nptstream.proto.Prediction;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.datastream.KeyedStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.CloseableIterator;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Through {@link NptPredict#apply} on a real MiniCluster, spread over parallel subtasks: the reference's predictions. */
class NptPredictMiniClusterTest {

    @ParameterizedTest
    @ValueSource(strings = {NptFixtures.CAUSAL_CLS, NptFixtures.BIDIR_CLS})
    void parallelSubtasksReproduceTheReference(String fixture) throws Exception {
        Golden golden = NptFixtures.golden(fixture);
        NptOperatorConfig config = NptFixtures.config(fixture, golden.getWindow());
        config.batchSize = 8;
        config.batchDelayMs = 2;

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(3);
        KeyedStream<Row, String> rows = env.fromData(NptFixtures.goldenRows(fixture)).setParallelism(1)
                .keyBy(row -> row.key, Types.STRING);
        List<Scored> out = new ArrayList<>();
        try (CloseableIterator<Scored> it = NptPredict.apply(rows, config).executeAndCollect()) {
            it.forEachRemaining(out::add);
        }

        assertEquals(golden.getExpectedCount(), out.size(), "one prediction per record");
        Map<String, Scored> byId = new HashMap<>();
        out.forEach(s -> byId.put(s.id, s));
        double maxDiff = 0;
        for (Prediction want : golden.getExpectedList()) {
            Scored got = byId.get(want.getId());
            assertEquals(want.getContextSize(), got.contextSize, "context size of " + want.getId());
            for (int c = 0; c < want.getProbabilitiesCount(); c++) {
                maxDiff = Math.max(maxDiff, Math.abs(got.probs[c] - want.getProbabilities(c)));
            }
            // From arrival to emission, an ONNX Runtime call included: above 0, and far below a minute.
            assertTrue(got.latencyUs > 0 && got.latencyUs < 60_000_000, "latency of " + want.getId() + ": " + got.latencyUs + " us");
        }
        assertTrue(maxDiff <= 1e-4, "max abs diff to the reference " + maxDiff);
    }
}
