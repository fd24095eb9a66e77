package io.nptstream.flink.kafka;

import io.nptstream.flink.core.Scored;
import io.nptstream.proto.Manifest;
import io.nptstream.proto.Prediction;
import io.nptstream.proto.Target;
import java.io.Serializable;

/** Turns the operator's {@link Scored} into a Prediction message, with the manifest's class names. */
public final class PredictionEncoder implements Serializable {
    private static final long serialVersionUID = 1L;

    private final boolean classification;
    private final String[] classes;
    private final String modelVersion;

    public PredictionEncoder(Manifest manifest) {
        classification = manifest.getTarget().getTask() == Target.Task.CLASSIFICATION;
        classes = manifest.getTarget().getClassesList().toArray(new String[0]);
        modelVersion = manifest.getModelVersion();
    }

    public boolean isClassification() {
        return classification;
    }

    /** The predicted class's index: the argmax, the first one on ties. */
    public static int argmax(float[] probs) {
        int best = 0;
        for (int i = 1; i < probs.length; i++) {
            if (probs[i] > probs[best]) {
                best = i;
            }
        }
        return best;
    }

    public String className(int index) {
        return classes[index];
    }

    public Prediction encode(Scored s) {
        Prediction.Builder p = Prediction.newBuilder()
                .setKey(s.key)
                .setId(s.id == null ? "" : s.id)
                .setEventTimeMs(s.eventTimeMs)
                .setContextSize(s.contextSize)
                .setModelVersion(modelVersion)
                .setLatencyUs(s.latencyUs);
        if (classification) {
            p.setPredictedClass(classes[argmax(s.probs)]);
            for (float v : s.probs) {
                p.addProbabilities(v);
            }
            if (!Float.isNaN(s.label)) {
                p.setLabelClass(classes[(int) s.label]);
            }
        } else {
            p.setValue(s.value);
            if (!Float.isNaN(s.std)) {
                p.setStd(s.std);
            }
            if (!Float.isNaN(s.label)) {
                p.setLabelValue(s.label);
            }
        }
        return p.build();
    }
}
