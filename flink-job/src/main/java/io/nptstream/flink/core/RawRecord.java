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

    public RawRecord() {}

    public RawRecord(byte[] value, String topic, int partition, long offset) {
        this.value = value;
        this.topic = topic;
        this.partition = partition;
        this.offset = offset;
    }
}
