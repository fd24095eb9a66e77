package io.nptstream.flink.core;

import java.util.Arrays;

/**
 * What the model predicted for one record, typed by the task: the engine makes it, the operator
 * scores and emits it (in a {@link Scored}), the sink writes it as a Prediction message.
 */
public sealed interface ModelOutput {
    /** Whether it may be served: a non-finite output is a NON_FINITE_PREDICTION dead letter instead. */
    boolean isFinite();

    /** Classification: a probability per class, in the manifest's order. */
    record Classes(float[] probabilities) implements ModelOutput {
        /** The argmax, the first one on ties: the one definition of the predicted class. */
        public int predictedClass() {
            int best = 0;
            for (int c = 1; c < probabilities.length; c++) {
                if (probabilities[c] > probabilities[best]) {
                    best = c;
                }
            }
            return best;
        }

        @Override
        public boolean isFinite() {
            for (float p : probabilities) {
                if (!Float.isFinite(p)) {
                    return false;
                }
            }
            return true;
        }

        @Override
        public String toString() {
            return Arrays.toString(probabilities);
        }
    }

    /** Regression: the predicted value, and its std where the model has one (else NaN). */
    record Regression(float value, float std) implements ModelOutput {
        public boolean hasStd() {
            return !Float.isNaN(std);
        }

        @Override
        public boolean isFinite() {
            return Float.isFinite(value) && (!hasStd() || Float.isFinite(std));
        }

        @Override
        public String toString() {
            return hasStd() ? "[" + value + ", " + std + "]" : "[" + value + "]";
        }
    }
}
