package io.nptstream.flink.kafka;

import com.google.protobuf.InvalidProtocolBufferException;
import io.nptstream.proto.ModelSwap;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The control topic's ModelSwap messages, as the versions they request; a message that is not one is logged and skipped. */
public class ModelSwapDeserializationSchema implements KafkaRecordDeserializationSchema<String> {
    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(ModelSwapDeserializationSchema.class);

    @Override
    public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<String> out) {
        try {
            out.collect(ModelSwap.parseFrom(record.value() == null ? new byte[0] : record.value()).getModelVersion());
        } catch (InvalidProtocolBufferException e) {
            LOG.warn("npt-stream: {}-{}@{} is not a ModelSwap ({}); skipped: send ModelSwap messages (npt-stream swap)",
                    record.topic(), record.partition(), record.offset(), e.getMessage());
        }
    }

    @Override
    public TypeInformation<String> getProducedType() {
        return Types.STRING;
    }
}
