package io.nptstream.flink.kafka;

import io.nptstream.flink.core.RawRecord;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/** Passes the input bytes on untouched: parsing happens in validation, where failures become dead letters. */
public class RawRecordDeserializationSchema implements KafkaRecordDeserializationSchema<RawRecord> {
    private static final long serialVersionUID = 1L;

    @Override
    public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<RawRecord> out) {
        out.collect(new RawRecord(record.value(), record.topic(), record.partition(), record.offset(),
                record.timestamp() >= 0 ? record.timestamp() : RawRecord.NO_TIMESTAMP));
    }

    @Override
    public TypeInformation<RawRecord> getProducedType() {
        return TypeInformation.of(RawRecord.class);
    }
}
