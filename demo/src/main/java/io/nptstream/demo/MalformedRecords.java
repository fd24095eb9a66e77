package io.nptstream.demo;

import io.nptstream.proto.Manifest;
import io.nptstream.proto.Reason;
import io.nptstream.proto.Record;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/** One deliberately bad record per dead-letter reason, made from a valid one, to show the dead-letter path. */
final class MalformedRecords {
    private MalformedRecords() {}

    static Map<Reason, byte[]> from(Record valid, Manifest manifest) {
        Map<Reason, byte[]> bad = new LinkedHashMap<>();
        String numeric = valid.getNumericMap().keySet().stream().findFirst().orElseThrow();
        bad.put(Reason.UNPARSEABLE, "{\"key\": \"json is not a Record\"}".getBytes(StandardCharsets.UTF_8));
        bad.put(Reason.MISSING_KEY, valid.toBuilder().setId("bad-key").setKey("").build().toByteArray());
        bad.put(Reason.MISSING_FEATURE, valid.toBuilder().setId("bad-missing").removeNumeric(numeric).build().toByteArray());
        bad.put(Reason.UNKNOWN_FEATURE, valid.toBuilder().setId("bad-unknown").putNumeric("temperature", 21.5).build().toByteArray());
        bad.put(Reason.WRONG_TYPE, valid.toBuilder().setId("bad-type").removeNumeric(numeric).putCategorical(numeric, "high").build().toByteArray());
        bad.put(Reason.NOT_FINITE, valid.toBuilder().setId("bad-inf").putNumeric(numeric, Double.POSITIVE_INFINITY).build().toByteArray());
        // A model standardised per key has no range for its features (proto/README.md).
        if (manifest.getValueLimitStd() > 0 && manifest.getContext().getStandardiseRows() == 0) {
            bad.put(Reason.OUT_OF_RANGE, valid.toBuilder().setId("bad-huge").putNumeric(numeric, 3.0e38).build().toByteArray());
        }
        if (!manifest.getTarget().getClassesList().isEmpty()) {
            bad.put(Reason.UNKNOWN_CLASS, valid.toBuilder().setId("bad-class").setLabelClass("maybe").build().toByteArray());
        }
        // A 1 KB key: each prediction carries its key twice, so keys are bounded (record.max-key-bytes).
        bad.put(Reason.TOO_LARGE, valid.toBuilder().setId("bad-key-size").setKey("k".repeat(1024)).build().toByteArray());
        return bad;
    }
}
