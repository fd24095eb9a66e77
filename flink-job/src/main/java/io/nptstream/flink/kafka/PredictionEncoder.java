package io.nptstream.flink.kafka;

import io.nptstream.flink.core.ModelOutput;
import io.nptstream.flink.core.Scored;
import io.nptstream.proto.Manifest;
import io.nptstream.proto.Prediction;
import io.nptstream.proto.Target;
import java.io.Serializable;

/**
 * Turns the operator's {@link Scored} into a Prediction message, with the manifest's class names
 * (a model swap keeps them: the gate refuses a model of another layout).
 */
public final class PredictionEncoder implements Serializable {
    private static final long serialVersionUID = 1L;

    private final boolean classification;
    private final String[] classes;

    public PredictionEncoder(Manifest manifest) {
        classification = manifest.getTarget().getTask() == Target.Task.CLASSIFICATION;
        classes = manifest.getTarget().getClassesList().toArray(new String[0]);
    }

    public boolean isClassification() {
        return classification;
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
                .setModelVersion(s.modelVersion == null ? "" : s.modelVersion)
                .setLatencyUs(s.latencyUs);
        ModelOutput output = s.output();
        if (output instanceof ModelOutput.Classes c) {
            p.setPredictedClass(classes[c.predictedClass()]);
            for (float v : c.probabilities()) {
                p.addProbabilities(v);
            }
            if (!Float.isNaN(s.label)) {
                p.setLabelClass(classes[(int) s.label]);
            }
        } else {
            ModelOutput.Regression r = (ModelOutput.Regression) output;
            p.setValue(r.value());
            if (r.hasStd()) {
                p.setStd(r.std());
            }
            if (!Float.isNaN(s.label)) {
                p.setLabelValue(s.label);
            }
        }
        return p.build();
    }
}
