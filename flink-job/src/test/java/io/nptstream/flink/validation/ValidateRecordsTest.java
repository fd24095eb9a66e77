package io.nptstream.flink.validation;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.nptstream.flink.config.RecordLimits;
import io.nptstream.flink.core.Row;
import io.nptstream.flink.core.RawRecord;
import io.nptstream.proto.Reason;
import io.nptstream.proto.Record;
import io.nptstream.proto.Target;
import java.util.List;
import org.apache.flink.streaming.api.operators.ProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

class ValidateRecordsTest {
    private static final RecordLimits LIMITS = RecordLimits.DEFAULTS;

    @Test
    void validRowsGoOnAndRejectedOnesToTheSideOutputWithWhereTheyCameFrom() throws Exception {
        byte[] good = Record.newBuilder().setKey("k").setId("ok").putNumeric("price", 1).putNumeric("demand", 2)
                .putCategorical("day", "mon").build().toByteArray();
        byte[] bad = {(byte) 0xff, 0x01};
        try (var harness = new OneInputStreamOperatorTestHarness<>(
                new ProcessOperator<>(new ValidateRecords(RecordValidatorTest.manifest(Target.Task.CLASSIFICATION), LIMITS)))) {
            harness.open();
            harness.processElement(new StreamRecord<>(new RawRecord(good, "in", 0, 7)));
            harness.processElement(new StreamRecord<>(new RawRecord(bad, "in", 2, 9)));
            harness.processElement(new StreamRecord<>(new RawRecord(null, "in", 2, 10)));
            byte[] huge = new byte[LIMITS.maxBytes() + 1000];
            harness.processElement(new StreamRecord<>(new RawRecord(huge, "in", 1, 11)));

            List<Row> rows = harness.extractOutputValues();
            assertEquals(1, rows.size());
            assertEquals("ok", rows.get(0).id);

            var dead = harness.getSideOutput(ValidateRecords.DEAD_LETTERS).stream().map(StreamRecord::getValue).toList();
            assertEquals(3, dead.size());
            assertEquals(Reason.UNPARSEABLE, dead.get(0).reason);
            assertArrayEquals(bad, dead.get(0).raw);
            assertEquals("in", dead.get(0).topic);
            assertEquals(2, dead.get(0).partition);
            assertEquals(9, dead.get(0).offset);
            assertEquals(Reason.MISSING_KEY, dead.get(1).reason);
            assertEquals(Reason.TOO_LARGE, dead.get(2).reason);
            assertEquals(LIMITS.maxBytes(), dead.get(2).raw.length, "the dead letter carries the record's first bytes only");
        }
    }
}
