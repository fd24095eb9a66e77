package io.nptstream.flink.core;

import io.nptstream.proto.Reason;

/**
 * A rejected record on its way to the dead-letter topic, with where it came from. A Flink POJO,
 * so it crosses operators without Kryo; the sink turns it into a DeadLetter message.
 */
public class Rejected {
    public byte[] raw;
    public String topic;
    public int partition;
    public long offset;
    public Reason reason;
    public String detail;
    public long rejectedAtMs;

    public Rejected() {}

    public Rejected(byte[] raw, String topic, int partition, long offset, Reason reason, String detail, long rejectedAtMs) {
        this.raw = raw;
        this.topic = topic;
        this.partition = partition;
        this.offset = offset;
        this.reason = reason;
        this.detail = detail;
        this.rejectedAtMs = rejectedAtMs;
    }
}
