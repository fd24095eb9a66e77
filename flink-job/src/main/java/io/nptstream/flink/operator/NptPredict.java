package io.nptstream.flink.operator;

import ai.onnxruntime.OrtException;
import io.nptstream.flink.core.Rejected;
import io.nptstream.flink.core.Row;
import io.nptstream.flink.core.Scored;
import io.nptstream.flink.model.ModelBundle;
import io.nptstream.flink.model.SharedSessions;
import io.nptstream.proto.Manifest;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.streaming.api.datastream.KeyedStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.util.OutputTag;

/** The NPT operator's entry point: the job calls this, and nothing else of the operator. */
public final class NptPredict {
    /**
     * Records whose prediction came out non-finite (NON_FINITE_PREDICTION): the side output of the
     * stream that {@link #apply} returns. They are never predictions and never join a context.
     */
    public static final OutputTag<Rejected> DEAD_LETTERS = new OutputTag<>("npt-dead-letters") {};

    private NptPredict() {}

    /**
     * Validates the model folder and config (throws IllegalArgumentException with one clear
     * line), then applies the operator.
     */
    public static SingleOutputStreamOperator<Scored> apply(KeyedStream<Row, String> rows, NptOperatorConfig config) {
        check(config);
        // A stable uid: the keyed contexts are matched by it on restore, whatever else changes in the graph.
        return rows.transform("NPT predict", TypeInformation.of(Scored.class), new NptPredictOperator(config)).uid("npt-predict");
    }

    /** Loads and validates the manifest only (for the job's startup checks and for Row building). */
    public static Manifest loadManifest(String modelDir) {
        return ModelBundle.load(modelDir).manifest();
    }

    /**
     * Everything that can be checked before the job runs: the settings, the manifest, the graph
     * against the manifest (by loading it once), and that the device is usable by this build.
     */
    static void check(NptOperatorConfig config) {
        config.validate();
        ModelBundle model = ModelBundle.load(config.modelDir);
        config.windowFor(model);
        SharedSessions.checkDevice(config.device);
        try (SharedSessions.Lease lease = SharedSessions.acquire(model, "cpu", 1)) {
            // Acquiring checks the graph's inputs and outputs against the manifest.
        } catch (OrtException e) {
            throw new IllegalArgumentException("model dir " + config.modelDir + ": ONNX Runtime failed (" + e.getMessage() + ")");
        }
    }
}
