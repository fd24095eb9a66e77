package io.nptstream.flink.core;

/**
 * The operator's output for one {@link Row}; the sink turns it into a Prediction message with
 * the manifest's class names. A Flink POJO, like Row.
 */
public class Scored {
    public String key;
    public String id;
    public long eventTimeMs;
    /** Classification: probability per class, in manifest order; null for regression. */
    public float[] probs;
    /** Regression: predicted mean; NaN for classification. */
    public float value;
    /** Regression: predicted std where the model gives one, else NaN. */
    public float std;
    /** The record's label, echoed (NaN = unlabeled). */
    public float label;
    /** Labeled context rows the record attended to. */
    public int contextSize;
    /** Manifest.model_version of the model that made the prediction. */
    public String modelVersion;
    /** Microseconds from arrival at the operator to emission. */
    public long latencyUs;

    public Scored() {}

    /** The model's output, typed; the fields above are its Flink POJO form. */
    public ModelOutput output() {
        return probs != null ? new ModelOutput.Classes(probs) : new ModelOutput.Regression(value, std);
    }

    public void setOutput(ModelOutput output) {
        if (output instanceof ModelOutput.Classes c) {
            probs = c.probabilities();
            value = Float.NaN;
            std = Float.NaN;
        } else {
            ModelOutput.Regression r = (ModelOutput.Regression) output;
            probs = null;
            value = r.value();
            std = r.std();
        }
    }
}
