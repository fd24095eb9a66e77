package io.nptstream.flink.operator;

import io.nptstream.flink.config.NptOperatorConfig;
import io.nptstream.flink.core.Rejected;
import io.nptstream.flink.core.Row;
import io.nptstream.flink.core.Scored;
import io.nptstream.flink.model.KvCache;
import io.nptstream.flink.model.ModelBundle;
import io.nptstream.flink.state.ContextHistorySerializer;
import io.nptstream.proto.Attribute;
import io.nptstream.proto.Manifest;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.datastream.DataStream;
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

    private static final String NAME = "NPT predict";
    private static final String UID = "npt-predict";

    private NptPredict() {}

    /**
     * Applies the operator. Check the config with {@link #check} first: the operator's own
     * checks run on the TaskManagers, where a failure restarts the job.
     */
    public static SingleOutputStreamOperator<Scored> apply(KeyedStream<Row, String> rows, NptOperatorConfig config) {
        // A stable uid: the keyed contexts are matched by it on restore, whatever else changes in the graph.
        return rows.transform(NAME, TypeInformation.of(Scored.class), new NptPredictOperator(config, false)).uid(UID);
    }

    /**
     * Applies the operator with model swaps (a config with model.store): {@code swapRequests} are
     * model versions, each checked once by a gate, then served by every subtask from the next
     * checkpoint on, or at once when {@code checkpoints} is false (deploy/README.md, "Model lifecycle").
     */
    public static SingleOutputStreamOperator<Scored> apply(KeyedStream<Row, String> rows, DataStream<String> swapRequests,
                                                           NptOperatorConfig config, boolean checkpoints) {
        DataStream<String> accepted = swapRequests
                .process(new ModelGate(config), Types.STRING)
                .name("model gate")
                .uid("npt-model-gate")
                .setParallelism(1)
                .broadcast();
        return rows.connect(accepted)
                .transform(NAME, TypeInformation.of(Scored.class), new NptPredictOperator(config, checkpoints))
                .uid(UID);
    }

    /** Reads the manifest only, unchecked against its graph (for tools that build rows or read names). */
    public static Manifest loadManifest(String modelDir) {
        return ModelBundle.load(modelDir).manifest();
    }

    /**
     * Bytes one cached key takes in the key/value cache at {@code window} (what {@code
     * cache.max-bytes} is divided by): sizing a TaskManager for many keys (deploy/README.md).
     */
    public static long cacheBytesPerKey(Manifest manifest, int window) {
        return KvCache.entryBytes(manifest.getArchitecture().getAbdLayers(), window, ModelBundle.cacheDim(manifest.getArchitecture()));
    }

    /** Bytes of one key's keyed state at {@code window} once its context is full: history_layers x W raw rows. */
    public static long stateBytesPerKey(Manifest manifest, int window) {
        return ContextHistorySerializer.serializedBytes(manifest.getContext().getHistoryLayers() * window,
                ModelBundle.featureCount(manifest, Attribute.Kind.NUMERIC), ModelBundle.featureCount(manifest, Attribute.Kind.CATEGORICAL),
                manifest.getContext().getStandardiseRows() > 0);
    }

    /**
     * Everything that can be checked before the job runs: the settings, the manifest, the graph
     * against it, the window and the device. Returns the manifest; throws IllegalArgumentException
     * with one line on the first problem.
     */
    public static Manifest check(NptOperatorConfig config) {
        return config.checkModel().manifest();
    }
}
