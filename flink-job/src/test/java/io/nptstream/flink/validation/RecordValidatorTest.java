package io.nptstream.flink.validation;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.nptstream.flink.core.Row;
import io.nptstream.proto.Attribute;
import io.nptstream.proto.Manifest;
import io.nptstream.proto.Reason;
import io.nptstream.proto.Record;
import io.nptstream.proto.Target;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class RecordValidatorTest {
    static Manifest manifest(Target.Task task) {
        Target.Builder target = Target.newBuilder().setName("y").setTask(task);
        if (task == Target.Task.CLASSIFICATION) {
            target.addClasses("down").addClasses("up");
        }
        return Manifest.newBuilder()
                .setModelVersion("test")
                .addFeatures(Attribute.newBuilder().setName("price").setKind(Attribute.Kind.NUMERIC))
                .addFeatures(Attribute.newBuilder().setName("day").setKind(Attribute.Kind.CATEGORICAL).addCategories("mon").addCategories("tue"))
                .addFeatures(Attribute.newBuilder().setName("demand").setKind(Attribute.Kind.NUMERIC))
                .setTarget(target)
                .build();
    }

    private final RecordValidator classifier = new RecordValidator(manifest(Target.Task.CLASSIFICATION));
    private final RecordValidator regressor = new RecordValidator(manifest(Target.Task.REGRESSION));

    private static Record.Builder valid() {
        return Record.newBuilder().setKey("k").setId("1").setEventTimeMs(5)
                .putNumeric("price", 0.5).putNumeric("demand", 2.0).putCategorical("day", "tue");
    }

    private static void rejects(RecordValidator v, Record.Builder r, Reason reason, String field) {
        Rejection e = assertThrows(Rejection.class, () -> v.validate(r.build().toByteArray()));
        assertEquals(reason, e.reason, e.getMessage());
        assertTrue(e.getMessage().contains(field), "detail should name '" + field + "': " + e.getMessage());
    }

    @Test
    void laysOutAValidRecordInManifestOrder() throws Rejection {
        Row row = classifier.validate(valid().setLabelClass("up").build().toByteArray());
        assertEquals("k", row.key);
        assertEquals("1", row.id);
        assertEquals(5, row.eventTimeMs);
        assertArrayEquals(new float[] {0.5f, 2.0f}, row.num);
        assertArrayEquals(new long[] {2}, row.cat);
        assertEquals(1f, row.label);
    }

    @Test
    void acceptsNaNUnknownCategoryAndNoLabel() throws Rejection {
        Row row = classifier.validate(valid().putNumeric("price", Double.NaN).putCategorical("day", "sun").build().toByteArray());
        assertTrue(Float.isNaN(row.num[0]));
        assertArrayEquals(new long[] {0}, row.cat);
        assertTrue(Float.isNaN(row.label));
    }

    @Test
    void regressionLabel() throws Rejection {
        assertEquals(3.25f, regressor.validate(valid().setLabelValue(3.25).build().toByteArray()).label);
    }

    @Test
    void unparseable() {
        Rejection e = assertThrows(Rejection.class, () -> classifier.validate("not a protobuf record".getBytes(StandardCharsets.UTF_8)));
        assertEquals(Reason.UNPARSEABLE, e.reason);
        e = assertThrows(Rejection.class, () -> classifier.validate(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff}));
        assertEquals(Reason.UNPARSEABLE, e.reason);
    }

    /** A newer producer's Record (a field this version does not know) is served; the new field is ignored. */
    @Test
    void aFieldFromANewerProducerIsIgnored() throws Rejection {
        byte[] newer = valid().setLabelClass("up").setUnknownFields(com.google.protobuf.UnknownFieldSet.newBuilder()
                .addField(99, com.google.protobuf.UnknownFieldSet.Field.newBuilder().addVarint(7).build()).build())
                .build().toByteArray();
        Row row = classifier.validate(newer);
        assertEquals("k", row.key);
        assertEquals(1f, row.label);
    }

    @Test
    void aNaNLabelValueIsNotSilentlyUnlabeled() {
        rejects(regressor, valid().setLabelValue(Double.NaN), Reason.NOT_FINITE, "label_value");
    }

    @Test
    void missingKey() {
        rejects(classifier, valid().setKey(""), Reason.MISSING_KEY, "key");
    }

    @Test
    void missingFeature() {
        rejects(classifier, valid().removeNumeric("demand"), Reason.MISSING_FEATURE, "demand");
        rejects(classifier, valid().removeCategorical("day"), Reason.MISSING_FEATURE, "day");
    }

    @Test
    void unknownFeature() {
        rejects(classifier, valid().putNumeric("temperature", 1), Reason.UNKNOWN_FEATURE, "temperature");
        rejects(classifier, valid().putCategorical("colour", "red"), Reason.UNKNOWN_FEATURE, "colour");
    }

    @Test
    void wrongType() {
        rejects(classifier, valid().removeCategorical("day").putNumeric("day", 1), Reason.WRONG_TYPE, "day");
        rejects(classifier, valid().removeNumeric("price").putCategorical("price", "high"), Reason.WRONG_TYPE, "price");
        rejects(classifier, valid().setLabelValue(1), Reason.WRONG_TYPE, "label_value");
        rejects(regressor, valid().setLabelClass("up"), Reason.WRONG_TYPE, "label_class");
    }

    @Test
    void notFinite() {
        rejects(classifier, valid().putNumeric("price", Double.POSITIVE_INFINITY), Reason.NOT_FINITE, "price");
        rejects(classifier, valid().putNumeric("demand", Double.NEGATIVE_INFINITY), Reason.NOT_FINITE, "demand");
        rejects(classifier, valid().putNumeric("demand", 1e300), Reason.NOT_FINITE, "demand");
        rejects(regressor, valid().setLabelValue(Double.POSITIVE_INFINITY), Reason.NOT_FINITE, "label_value");
    }

    @Test
    void outOfRangeBeyondTheManifestsLimitInTrainingStandardDeviations() throws Rejection {
        Manifest m = manifest(Target.Task.REGRESSION).toBuilder().setValueLimitStd(100)
                .setFeatures(0, Attribute.newBuilder().setName("price").setKind(Attribute.Kind.NUMERIC).setMean(0.5).setStd(0.1))
                .setFeatures(2, Attribute.newBuilder().setName("demand").setKind(Attribute.Kind.NUMERIC).setMean(2).setStd(1))
                .setTarget(Target.newBuilder().setName("y").setTask(Target.Task.REGRESSION).setMean(10).setStd(2))
                .build();
        RecordValidator v = new RecordValidator(m);
        rejects(v, valid().putNumeric("price", 3.0e38), Reason.OUT_OF_RANGE, "price");
        rejects(v, valid().putNumeric("price", 0.5 - 10.01), Reason.OUT_OF_RANGE, "price");
        rejects(v, valid().setLabelValue(10 + 201 * 2), Reason.OUT_OF_RANGE, "label_value");
        assertEquals(0.5f + 9.9f, v.validate(valid().putNumeric("price", 0.5 + 9.9).setLabelValue(-189).build()).num[0], 1e-5);
        assertTrue(Float.isNaN(v.validate(valid().putNumeric("price", Double.NaN).build()).num[0]), "NaN stays unknown");
        // A model without a limit (none in the manifest) serves every finite value.
        assertEquals(3.0e38f, regressor.validate(valid().putNumeric("price", 3.0e38).build()).num[0]);
    }

    @Test
    void unknownClass() {
        rejects(classifier, valid().setLabelClass("sideways"), Reason.UNKNOWN_CLASS, "sideways");
    }
}
