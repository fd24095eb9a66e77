package io.nptstream.flink.core;

/**
 * A validated record, laid out for the model: the values are already in the manifest's column
 * order, so the operator copies them into tensors without looking at names.
 *
 * <p>A Flink POJO (public fields, no-argument constructor), so keyBy serializes it with Flink's
 * POJO and primitive-array serializers, never with Kryo.
 */
public class Row {
    public String key;
    public String id;
    public long eventTimeMs;
    /** Numeric features in manifest order; NaN = missing. */
    public float[] num;
    /** Categorical features in manifest order: vocabulary index + 1, 0 = unknown or missing. */
    public long[] cat;
    /** Class index (classification) or raw value (regression); NaN = unlabeled. */
    public float label;

    public Row() {}

    public Row(String key, String id, long eventTimeMs, float[] num, long[] cat, float label) {
        this.key = key;
        this.id = id;
        this.eventTimeMs = eventTimeMs;
        this.num = num;
        this.cat = cat;
        this.label = label;
    }

    public boolean isLabeled() {
        return !Float.isNaN(label);
    }
}
