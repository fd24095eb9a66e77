package io.nptstream.flink.validation;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.nptstream.flink.config.RecordLimits;
import io.nptstream.flink.core.Row;
import io.nptstream.proto.Attribute;
import io.nptstream.proto.Context;
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

    /**
     * Issue 9, item 1: a valid record with a 400 KB key and a 400 KB id would have made a 1.2 MB
     * prediction, over the producer's 1 MiB limit, and a restart loop. It is a small dead letter.
     */
    @Test
    void oversizedRecordsKeysAndIdsAreTooLargeWithABoundedDetail() {
        String huge = "k".repeat(400_000);
        rejects(classifier, valid().setKey(huge).setId(huge), Reason.TOO_LARGE, "record.max-bytes");
        RecordValidator roomy = new RecordValidator(manifest(Target.Task.CLASSIFICATION), new RecordLimits(512 << 10, 256, 256, 0));
        rejects(roomy, valid().setKey("k".repeat(257)), Reason.TOO_LARGE, "record.max-key-bytes=256");
        rejects(roomy, valid().setId("i".repeat(257)), Reason.TOO_LARGE, "record.max-id-bytes=256");
        classifierAccepts(valid().setKey("k".repeat(256)).setId("i".repeat(256)));

        Rejection e = assertThrows(Rejection.class, () -> classifier.validate(valid().putNumeric("x".repeat(50_000), 1).build()));
        assertEquals(Reason.UNKNOWN_FEATURE, e.reason);
        assertTrue(e.getMessage().length() <= Rejection.MAX_DETAIL + 40, "a bounded detail, not the sender's 50,000 characters");
        assertTrue(e.getMessage().contains("(50000 characters)"), e.getMessage());
    }

    /** Issue 9, item 3: a negative event time, or one far after the record's Kafka timestamp, must not age out a key's context. */
    @Test
    void eventTimesAreBounded() throws Rejection {
        rejects(classifier, valid().setEventTimeMs(-1), Reason.OUT_OF_RANGE, "event_time_ms -1 is negative");
        rejects(classifier, valid().setEventTimeMs(Long.MIN_VALUE), Reason.OUT_OF_RANGE, "negative");
        long kafka = 1_700_000_000_000L;
        long day = 24L * 3600 * 1000;
        byte[] future = valid().setEventTimeMs(kafka + day + 1).build().toByteArray();
        Rejection e = assertThrows(Rejection.class, () -> classifier.validate(future, kafka));
        assertEquals(Reason.OUT_OF_RANGE, e.reason);
        assertTrue(e.getMessage().contains("record.max-event-time-ahead-ms=" + day), e.getMessage());
        assertEquals(kafka + day, classifier.validate(valid().setEventTimeMs(kafka + day).build().toByteArray(), kafka).eventTimeMs);
        assertEquals(kafka + day + 1, classifier.validate(future).eventTimeMs, "no Kafka timestamp (a CSV): no bound");
        assertEquals(0, classifier.validate(valid().setEventTimeMs(0).build().toByteArray(), kafka).eventTimeMs, "0 = no event time");
    }

    private void classifierAccepts(Record.Builder r) {
        try {
            classifier.validate(r.build().toByteArray());
        } catch (Rejection e) {
            throw new AssertionError("rejected: " + e.getMessage());
        }
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
        // Standardised per key, a feature has no training range: every finite value is served, the label's range stays.
        RecordValidator perKey = new RecordValidator(m.toBuilder().setContext(Context.newBuilder().setStandardiseRows(16)).build());
        assertEquals(3.0e38f, perKey.validate(valid().putNumeric("price", 3.0e38).build()).num[0]);
        rejects(perKey, valid().putNumeric("price", Double.POSITIVE_INFINITY), Reason.NOT_FINITE, "price");
        rejects(perKey, valid().setLabelValue(10 + 201 * 2), Reason.OUT_OF_RANGE, "label_value");
    }

    @Test
    void unknownClass() {
        rejects(classifier, valid().setLabelClass("sideways"), Reason.UNKNOWN_CLASS, "sideways");
    }
}
