package io.nptstream.flink.validation;

import com.google.protobuf.InvalidProtocolBufferException;
import io.nptstream.flink.config.RecordLimits;
import io.nptstream.flink.core.RawRecord;
import io.nptstream.flink.core.Row;
import io.nptstream.proto.Attribute;
import io.nptstream.proto.Manifest;
import io.nptstream.proto.Reason;
import io.nptstream.proto.Record;
import io.nptstream.proto.Target;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Checks a Record against the manifest's schema and lays it out as a {@link Row} in the
 * manifest's column order. Missing values (NaN) and unknown categories are not errors: the model
 * has a mask bit for them. A numeric value farther than {@code Manifest.value_limit_std} standard
 * deviations from its training mean is (OUT_OF_RANGE): no row like it was ever seen, and one such
 * value must not reach a key's context. A model standardised per key (Context.standardise_rows) has
 * no training mean: any finite value is served, and the graph clamps it once standardised.
 */
public final class RecordValidator implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Where a feature goes: its column in Row.num (numeric) or Row.cat (categorical). */
    private record Column(boolean numeric, int index) implements Serializable {}

    private final Map<String, Column> columns = new HashMap<>();
    /** The schema's feature names in manifest order, for error details. */
    private final List<String> featureNames = new ArrayList<>();
    private final String[] numericNames;
    /** Per numeric column, and for a regression label: the interval of values that are served. */
    private final double[] numericLow;
    private final double[] numericHigh;
    private final double labelLow;
    private final double labelHigh;
    private final double limitStd;
    private final String[] categoricalNames;
    /** Per categorical column: category -> vocabulary index + 1. */
    private final Map<String, Long>[] vocabularies;
    private final boolean classification;
    private final Map<String, Integer> classIndex = new HashMap<>();
    private final List<String> classNames = new ArrayList<>();
    private final RecordLimits limits;

    public RecordValidator(Manifest manifest) {
        this(manifest, RecordLimits.DEFAULTS);
    }

    @SuppressWarnings("unchecked")
    public RecordValidator(Manifest manifest, RecordLimits limits) {
        this.limits = limits;
        int numeric = 0;
        int categorical = 0;
        for (Attribute a : manifest.getFeaturesList()) {
            featureNames.add(a.getName());
            if (a.getKind() == Attribute.Kind.NUMERIC) {
                columns.put(a.getName(), new Column(true, numeric++));
            } else {
                columns.put(a.getName(), new Column(false, categorical++));
            }
        }
        numericNames = new String[numeric];
        numericLow = new double[numeric];
        numericHigh = new double[numeric];
        limitStd = manifest.getValueLimitStd() > 0 ? manifest.getValueLimitStd() : Double.POSITIVE_INFINITY;
        categoricalNames = new String[categorical];
        vocabularies = new Map[categorical];
        for (Attribute a : manifest.getFeaturesList()) {
            Column c = columns.get(a.getName());
            if (c.numeric) {
                numericNames[c.index] = a.getName();
                // Standardised per key, a feature has no training data to bound it: the graph clamps what it is fed.
                boolean perKey = manifest.getContext().getStandardiseRows() > 0;
                numericLow[c.index] = perKey ? Double.NEGATIVE_INFINITY : bound(a.getMean(), -a.getStd());
                numericHigh[c.index] = perKey ? Double.POSITIVE_INFINITY : bound(a.getMean(), a.getStd());
            } else {
                categoricalNames[c.index] = a.getName();
                Map<String, Long> vocabulary = new HashMap<>();
                for (int i = 0; i < a.getCategoriesCount(); i++) {
                    vocabulary.put(a.getCategories(i), (long) i + 1);
                }
                vocabularies[c.index] = vocabulary;
            }
        }
        classification = manifest.getTarget().getTask() == Target.Task.CLASSIFICATION;
        labelLow = classification ? Double.NEGATIVE_INFINITY : bound(manifest.getTarget().getMean(), -manifest.getTarget().getStd());
        labelHigh = classification ? Double.POSITIVE_INFINITY : bound(manifest.getTarget().getMean(), manifest.getTarget().getStd());
        for (int i = 0; i < manifest.getTarget().getClassesCount(); i++) {
            classIndex.put(manifest.getTarget().getClasses(i), i);
            classNames.add(manifest.getTarget().getClasses(i));
        }
    }

    public Row validate(byte[] bytes) throws Rejection {
        return validate(bytes, RawRecord.NO_TIMESTAMP);
    }

    /** Validates a record read from Kafka; {@code kafkaTimestampMs} bounds its event time ({@link RawRecord#NO_TIMESTAMP}: no bound). */
    public Row validate(byte[] bytes, long kafkaTimestampMs) throws Rejection {
        if (bytes.length > limits.maxBytes()) {
            throw new Rejection(Reason.TOO_LARGE, "the record is " + bytes.length + " bytes, over record.max-bytes="
                    + limits.maxBytes() + ": send smaller records, or raise the limit");
        }
        Record record;
        try {
            record = Record.parseFrom(bytes);
        } catch (InvalidProtocolBufferException e) {
            throw new Rejection(Reason.UNPARSEABLE, "the bytes are not a nptstream.v1.Record: " + e.getMessage());
        }
        // Random bytes often parse as a message made only of unknown fields; a record from a newer
        // producer has the fields this version knows as well, and its new fields are ignored.
        if (!record.getUnknownFields().asMap().isEmpty() && record.equals(Record.getDefaultInstance().toBuilder()
                .setUnknownFields(record.getUnknownFields()).build())) {
            throw new Rejection(Reason.UNPARSEABLE, "the bytes are not a nptstream.v1.Record: only unknown field numbers "
                    + record.getUnknownFields().asMap().keySet());
        }
        Row row = validate(record);
        if (kafkaTimestampMs != RawRecord.NO_TIMESTAMP && limits.maxEventTimeAheadMs() > 0
                && row.eventTimeMs - kafkaTimestampMs > limits.maxEventTimeAheadMs()) {
            throw new Rejection(Reason.OUT_OF_RANGE, "event_time_ms " + row.eventTimeMs + " is " + (row.eventTimeMs - kafkaTimestampMs)
                    + " ms after the record's Kafka timestamp " + kafkaTimestampMs + ", over record.max-event-time-ahead-ms="
                    + limits.maxEventTimeAheadMs() + ": send epoch milliseconds");
        }
        return row;
    }

    /** Validates a record (from a CSV, say: its size and event time are not bounded here). */
    public Row validate(Record record) throws Rejection {
        if (record.getKey().isEmpty()) {
            throw new Rejection(Reason.MISSING_KEY, "record id=" + Rejection.quote(record.getId()) + " has an empty key: every record needs a key");
        }
        if (record.getKeyBytes().size() > limits.maxKeyBytes()) {
            throw new Rejection(Reason.TOO_LARGE, "the key is " + record.getKeyBytes().size() + " bytes, over record.max-key-bytes="
                    + limits.maxKeyBytes() + ": use shorter keys, or raise the limit");
        }
        if (record.getIdBytes().size() > limits.maxIdBytes()) {
            throw new Rejection(Reason.TOO_LARGE, "the id is " + record.getIdBytes().size() + " bytes, over record.max-id-bytes="
                    + limits.maxIdBytes() + ": use shorter ids, or raise the limit");
        }
        if (record.getEventTimeMs() < 0) {
            throw new Rejection(Reason.OUT_OF_RANGE, "event_time_ms " + record.getEventTimeMs()
                    + " is negative: send epoch milliseconds, or 0 when there is no event time");
        }
        float[] num = new float[numericNames.length];
        long[] cat = new long[categoricalNames.length];
        for (Map.Entry<String, Double> e : record.getNumericMap().entrySet()) {
            Column c = column(e.getKey(), "numeric");
            if (!c.numeric) {
                throw new Rejection(Reason.WRONG_TYPE, "feature " + Rejection.quote(e.getKey()) + " is categorical but was sent as numeric " + e.getValue() + ": send it in categorical");
            }
            num[c.index] = servedFloat("feature " + Rejection.quote(e.getKey()), e.getValue(), numericLow[c.index], numericHigh[c.index]);
        }
        for (Map.Entry<String, String> e : record.getCategoricalMap().entrySet()) {
            Column c = column(e.getKey(), "categorical");
            if (c.numeric) {
                throw new Rejection(Reason.WRONG_TYPE, "feature " + Rejection.quote(e.getKey()) + " is numeric but was sent as categorical " + Rejection.quote(e.getValue()) + ": send it in numeric");
            }
            cat[c.index] = vocabularies[c.index].getOrDefault(e.getValue(), 0L);
        }
        for (String name : numericNames) {
            if (!record.containsNumeric(name)) {
                throw new Rejection(Reason.MISSING_FEATURE, "numeric feature '" + name + "' is missing: send NaN for an unknown value");
            }
        }
        for (String name : categoricalNames) {
            if (!record.containsCategorical(name)) {
                throw new Rejection(Reason.MISSING_FEATURE, "categorical feature '" + name + "' is missing: send \"\" for an unknown value");
            }
        }
        return new Row(record.getKey(), record.getId(), record.getEventTimeMs(), num, cat, label(record));
    }

    private Column column(String name, String map) throws Rejection {
        Column c = columns.get(name);
        if (c == null) {
            throw new Rejection(Reason.UNKNOWN_FEATURE, map + " feature " + Rejection.quote(name) + " is not in the model's schema " + featureNames);
        }
        return c;
    }

    private float label(Record record) throws Rejection {
        switch (record.getLabelCase()) {
            case LABEL_CLASS -> {
                if (!classification) {
                    throw new Rejection(Reason.WRONG_TYPE, "label_class " + Rejection.quote(record.getLabelClass()) + " sent for a regression target: send label_value");
                }
                Integer index = classIndex.get(record.getLabelClass());
                if (index == null) {
                    throw new Rejection(Reason.UNKNOWN_CLASS, "label_class " + Rejection.quote(record.getLabelClass()) + " is not one of the target's classes " + classNames);
                }
                return index;
            }
            case LABEL_VALUE -> {
                if (Double.isNaN(record.getLabelValue())) {
                    throw new Rejection(Reason.NOT_FINITE, "label_value is NaN: leave the label unset for an unlabeled record");
                }
                if (classification) {
                    throw new Rejection(Reason.WRONG_TYPE, "label_value " + record.getLabelValue() + " sent for a classification target: send label_class");
                }
                return servedFloat("label_value", record.getLabelValue(), labelLow, labelHigh);
            }
            default -> {
                return Float.NaN;
            }
        }
    }

    /** mean + limit * signedStd; unbounded when the manifest sets no limit. */
    private double bound(double mean, double signedStd) {
        return Double.isInfinite(limitStd) ? Math.copySign(Double.POSITIVE_INFINITY, signedStd) : mean + limitStd * signedStd;
    }

    /** NaN (unknown) as it is; otherwise a finite float32 within [low, high]. */
    private float servedFloat(String what, double v, double low, double high) throws Rejection {
        if (Double.isNaN(v)) {
            return Float.NaN;
        }
        float f = (float) v;
        if (Float.isInfinite(f)) {
            throw new Rejection(Reason.NOT_FINITE, what + " is " + v + (Double.isInfinite(v) ? "" : ", beyond float32")
                    + ": send a finite value, or NaN when it is unknown");
        }
        if (f < low || f > high) {
            throw new Rejection(Reason.OUT_OF_RANGE, String.format(Locale.ROOT,
                    "%s is %s, beyond the model's range [%.6g, %.6g] (%.0f standard deviations of its training data): "
                            + "check the value, or send NaN when it is unknown", what, v, low, high, limitStd));
        }
        return f;
    }
}
