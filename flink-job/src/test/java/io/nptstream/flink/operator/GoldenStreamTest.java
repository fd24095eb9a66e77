package io.nptstream.flink.operator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.nptstream.flink.config.NptOperatorConfig;
import io.nptstream.flink.core.Row;
import io.nptstream.flink.core.Scored;
import io.nptstream.proto.Golden;
import io.nptstream.proto.Prediction;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The operator reproduces the Python reference's prequential predictions for the golden stream. */
class GoldenStreamTest {
    private static final double TOLERANCE = 1e-4;

    @ParameterizedTest
    @ValueSource(strings = {NptFixtures.CAUSAL_CLS, NptFixtures.BIDIR_CLS, NptFixtures.CAUSAL_REG, NptFixtures.CAUSAL_CLS_RETRAINED,
            NptFixtures.CAUSAL_CLS_LONG, NptFixtures.PRIOR_CLS,
            NptFixtures.PRIOR_CLS_ZERO_SHOT})
    void cachedOperatorReproducesTheReference(String fixture) throws Exception {
        check(fixture, NptOperatorConfig.Inference.CACHED);
    }

    @ParameterizedTest
    @ValueSource(strings = {NptFixtures.CAUSAL_CLS, NptFixtures.CAUSAL_REG, NptFixtures.CAUSAL_CLS_RETRAINED,
            NptFixtures.CAUSAL_CLS_LONG, NptFixtures.PRIOR_CLS,
            NptFixtures.PRIOR_CLS_ZERO_SHOT})
    void recomputingOperatorReproducesTheReference(String fixture) throws Exception {
        check(fixture, NptOperatorConfig.Inference.RECOMPUTE);
    }

    private static void check(String fixture, NptOperatorConfig.Inference inference) throws Exception {
        Golden golden = NptFixtures.golden(fixture);
        List<Row> rows = NptFixtures.goldenRows(fixture);
        NptOperatorConfig config = NptFixtures.config(fixture, golden.getWindow());
        config.inference = inference;
        config.batchSize = 16;
        List<Scored> out = NptFixtures.run(config, rows);
        assertEquals(golden.getExpectedCount(), out.size(), "one prediction per record");
        double maxDiff = 0;
        for (int i = 0; i < out.size(); i++) {
            Prediction want = golden.getExpected(i);
            Scored got = out.get(i);
            assertEquals(want.getId(), got.id, "arrival order");
            assertEquals(want.getContextSize(), got.contextSize, "context size of " + want.getId());
            if (want.getProbabilitiesCount() > 0) {
                assertEquals(want.getProbabilitiesCount(), got.probs.length);
                for (int c = 0; c < got.probs.length; c++) {
                    maxDiff = Math.max(maxDiff, Math.abs(got.probs[c] - want.getProbabilities(c)));
                }
            } else {
                maxDiff = Math.max(maxDiff, Math.abs(got.value - want.getValue()));
                if (want.hasStd()) {
                    maxDiff = Math.max(maxDiff, Math.abs(got.std - want.getStd()));
                }
            }
        }
        assertTrue(maxDiff <= TOLERANCE, fixture + " " + inference + ": max abs diff to the reference " + maxDiff);
    }
}
