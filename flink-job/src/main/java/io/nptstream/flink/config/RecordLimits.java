package io.nptstream.flink.config;

import static io.nptstream.flink.config.NptOptions.RECORD_MAX_BYTES;
import static io.nptstream.flink.config.NptOptions.RECORD_MAX_EVENT_TIME_AHEAD_MS;
import static io.nptstream.flink.config.NptOptions.RECORD_MAX_ID_BYTES;
import static io.nptstream.flink.config.NptOptions.RECORD_MAX_KEY_BYTES;

import java.io.Serializable;

/** What an input record may carry before validation turns it into a dead letter (the record.max-* options). */
public record RecordLimits(int maxBytes, int maxKeyBytes, int maxIdBytes, long maxEventTimeAheadMs) implements Serializable {
    public static final RecordLimits DEFAULTS = new RecordLimits(RECORD_MAX_BYTES.defaultValue(), RECORD_MAX_KEY_BYTES.defaultValue(),
            RECORD_MAX_ID_BYTES.defaultValue(), RECORD_MAX_EVENT_TIME_AHEAD_MS.defaultValue());

    public static RecordLimits from(Settings s) {
        return new RecordLimits(s.get(RECORD_MAX_BYTES), s.get(RECORD_MAX_KEY_BYTES), s.get(RECORD_MAX_ID_BYTES),
                s.get(RECORD_MAX_EVENT_TIME_AHEAD_MS));
    }
}
