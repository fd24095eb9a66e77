package io.nptstream.flink.core;

/**
 * An input record's bytes as read, with where they came from: validation needs the bytes and the
 * position to write a dead letter. A Flink POJO.
 */
public class RawRecord {
    public byte[] value;
    public String topic;
    public int partition;
    public long offset;
    /** The Kafka record's timestamp (producer or broker time), or {@link #NO_TIMESTAMP}. */
    public long timestamp = NO_TIMESTAMP;

    public static final long NO_TIMESTAMP = Long.MIN_VALUE;

    public RawRecord() {}

    public RawRecord(byte[] value, String topic, int partition, long offset) {
        this(value, topic, partition, offset, NO_TIMESTAMP);
    }

    public RawRecord(byte[] value, String topic, int partition, long offset, long timestamp) {
        this.value = value;
        this.topic = topic;
        this.partition = partition;
        this.offset = offset;
        this.timestamp = timestamp;
    }
}
