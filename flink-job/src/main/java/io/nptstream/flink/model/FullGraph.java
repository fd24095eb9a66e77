package io.nptstream.flink.model;

import static io.nptstream.flink.model.GraphNames.*;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.nptstream.flink.state.ContextHistory;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.List;
import org.apache.flink.annotation.Internal;

/**
 * Serves a BIDIRECTIONAL model through its FULL graph: each call encodes every key's last W
 * labeled rows afresh and predicts one row per key against them. Rows of one key in one flush
 * go in rounds, so each sees the labels of the ones before it.
 */
@Internal
public final class FullGraph extends InferenceEngine {

    public FullGraph(ModelBundle model, OrtSession session, int window, long maxAgeMs) {
        super(model, session, window, maxAgeMs);
    }

    @Override
    protected boolean wholeKeysPerCall() {
        return false;
    }

    @Override
    protected void scoreSlices(List<Slice> slices) throws OrtException {
        int batch = slices.size();
        int fn = model.numNumeric();
        int fc = model.numCategorical();
        FloatBuffer ctxNum = fn > 0 ? arena.floatInput(CTX_NUM, batch, window, fn) : null;
        LongBuffer ctxCat = fc > 0 ? arena.longInput(CTX_CAT, batch, window, fc) : null;
        FloatBuffer ctxY = arena.floatInput(CTX_Y, batch, window);
        ByteBuffer ctxValid = arena.boolInput(CTX_VALID, batch, window);
        FloatBuffer qNum = fn > 0 ? arena.floatInput(Q_NUM, batch, 1, fn) : null;
        LongBuffer qCat = fc > 0 ? arena.longInput(Q_CAT, batch, 1, fc) : null;
        ByteBuffer qValid = arena.boolInput(Q_VALID, batch, 1);
        for (int i = 0; i < batch * window; i++) {
            ctxY.put(i, Float.NaN);
        }
        for (int b = 0; b < batch; b++) {
            ContextHistory h = slices.get(b).batch().history;
            int n = Math.min(window, h.size());
            // Right-aligned like the STEP cache: slot W-1 holds the newest row.
            for (int j = 0; j < n; j++) {
                int i = h.size() - n + j;
                int at = b * window + window - n + j;
                h.copyNumeric(i, ctxNum, at * fn);
                h.copyCategorical(i, ctxCat, at * fc);
                ctxY.put(at, h.label(i));
                setTrue(ctxValid, at);
            }
            putFeatures(slices.get(b).row(0), h, qNum, qCat, b);
            setTrue(qValid, b);
        }
        FloatBuffer prediction = model.isClassification()
                ? arena.floatOutput(PROBS, batch, 1, model.numClasses())
                : arena.floatOutput(MEAN, batch, 1);
        FloatBuffer std = model.hasStd() ? arena.floatOutput(STD, batch, 1) : null;
        run();
        for (int b = 0; b < batch; b++) {
            Slice s = slices.get(b);
            KeyBatch kb = s.batch();
            record(kb, s.from(), output(prediction, std, b), Math.min(window, kb.history.size()));
        }
    }
}
