package io.nptstream.flink.validation;

import io.nptstream.flink.config.RecordLimits;
import io.nptstream.flink.core.Rejected;
import io.nptstream.flink.core.Row;
import io.nptstream.flink.core.RawRecord;
import io.nptstream.proto.Manifest;
import io.nptstream.proto.Reason;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.Map;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * Turns raw input bytes into {@link Row}s; every record that fails validation goes to the
 * {@link #DEAD_LETTERS} side output with its reason, so bad input never stops the job.
 *
 * <p>Metrics: {@code recordsValidated}, {@code deadLetters} and {@code deadLetters_<REASON>}.
 */
public class ValidateRecords extends ProcessFunction<RawRecord, Row> {
    private static final long serialVersionUID = 1L;

    public static final OutputTag<Rejected> DEAD_LETTERS = new OutputTag<>("dead-letters") {};

    private final RecordValidator validator;
    private transient Counter validated;
    private transient Counter deadLetters;
    private transient Map<Reason, Counter> byReason;

    private final int maxRawBytes;

    public ValidateRecords(Manifest manifest, RecordLimits limits) {
        this.validator = new RecordValidator(manifest, limits);
        this.maxRawBytes = limits.maxBytes();
    }

    @Override
    public void open(OpenContext openContext) {
        validated = getRuntimeContext().getMetricGroup().counter("recordsValidated");
        deadLetters = getRuntimeContext().getMetricGroup().counter("deadLetters");
        byReason = new EnumMap<>(Reason.class);
        for (Reason r : Reason.values()) {
            if (r != Reason.UNRECOGNIZED && r != Reason.REASON_UNSPECIFIED) {
                byReason.put(r, getRuntimeContext().getMetricGroup().counter("deadLetters_" + r.name()));
            }
        }
    }

    @Override
    public void processElement(RawRecord in, Context ctx, Collector<Row> out) {
        try {
            Row row = validator.validate(in.value == null ? new byte[0] : in.value, in.timestamp);
            validated.inc();
            out.collect(row);
        } catch (Rejection r) {
            deadLetters.inc();
            byReason.get(r.reason).inc();
            // A dead letter carries the record's bytes up to the limit: an oversized record must not make an oversized message.
            byte[] raw = in.value != null && in.value.length > maxRawBytes ? Arrays.copyOf(in.value, maxRawBytes) : in.value;
            ctx.output(DEAD_LETTERS, new Rejected(raw, in.topic, in.partition, in.offset, r.reason, r.getMessage(), System.currentTimeMillis()));
        }
    }
}
