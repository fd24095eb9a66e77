package io.nptstream.flink.operator;

import io.nptstream.flink.config.NptOperatorConfig;
import io.nptstream.flink.model.ModelBundle;
import java.util.List;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.metrics.Counter;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides each requested model swap once for the whole job (it runs at parallelism 1), so that
 * every NPT subtask gets the same answer: a version that is missing from the store, altered, fails
 * its golden cases, does not fit the window, or has another layout than the rows in state is refused
 * with one log line and the {@code modelSwapsRejected} metric, and the job keeps its model. An
 * accepted version goes on to every subtask.
 */
final class ModelGate extends ProcessFunction<String, String> implements CheckpointedFunction {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(ModelGate.class);

    private final NptOperatorConfig config;
    private transient ListState<String> servingState;
    /** The version the job serves, as far as swaps go: restored with the NPT operator's state, from the same checkpoint. */
    private transient String serving;
    private transient String layout;
    private transient Counter accepted;
    private transient Counter rejected;

    ModelGate(NptOperatorConfig config) {
        this.config = config;
    }

    @Override
    public void initializeState(FunctionInitializationContext context) throws Exception {
        servingState = context.getOperatorStateStore().getListState(new ListStateDescriptor<>("npt-model-serving", String.class));
        serving = config.modelVersion;
        for (String restored : servingState.get()) {
            serving = restored;
        }
    }

    @Override
    public void snapshotState(FunctionSnapshotContext context) throws Exception {
        servingState.update(List.of(serving));
    }

    @Override
    public void open(OpenContext openContext) {
        // The configured model's layout: validation reads records with it, and the NPT operator refuses state of another.
        layout = config.loadModel(config.modelVersion).stateLayout();
        accepted = getRuntimeContext().getMetricGroup().counter("modelSwapsAccepted");
        rejected = getRuntimeContext().getMetricGroup().counter("modelSwapsRejected");
    }

    @Override
    public void processElement(String version, Context ctx, Collector<String> out) {
        if (version.equals(serving)) {
            LOG.info("npt-stream: model swap to {} ignored: the job already serves it", version);
            return;
        }
        String refusal = refusal(version);
        if (refusal != null) {
            rejected.inc();
            LOG.warn("npt-stream: model swap to {} refused, the job keeps serving {}: {}", version, serving, refusal);
            return;
        }
        accepted.inc();
        LOG.info("npt-stream: model swap {} -> {} accepted; every subtask serves it from the next checkpoint", serving, version);
        serving = version;
        out.collect(version);
    }

    /** Why {@code version} may not be served, or null. */
    private String refusal(String version) {
        try {
            ModelBundle candidate = config.loadModel(version).check(config.window, config.device);
            if (!candidate.stateLayout().equals(layout)) {
                return "its layout [" + candidate.stateLayout() + "] is not the one of the rows in state [" + layout
                        + "]: a swap keeps the features, their vocabularies and the classes; start a new job for another layout";
            }
            return null;
        } catch (IllegalArgumentException e) {
            return e.getMessage();
        }
    }
}
