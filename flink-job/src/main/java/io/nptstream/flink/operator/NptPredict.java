package io.nptstream.flink.operator;

import io.nptstream.flink.core.Row;
import io.nptstream.flink.core.Scored;
import io.nptstream.proto.Manifest;
import org.apache.flink.streaming.api.datastream.KeyedStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;

/** The NPT operator's entry point: the job calls this, and nothing else of the operator. */
public final class NptPredict {
    private NptPredict() {}

    /**
     * Validates the model folder and config (throws IllegalArgumentException with one clear
     * line), then applies the operator.
     */
    public static SingleOutputStreamOperator<Scored> apply(KeyedStream<Row, String> rows, NptOperatorConfig config) {
        throw new UnsupportedOperationException("NptPredict.apply: not implemented yet");
    }

    /** Loads and validates the manifest only (for the job's startup checks and for Row building). */
    public static Manifest loadManifest(String modelDir) {
        throw new UnsupportedOperationException("NptPredict.loadManifest: not implemented yet");
    }
}
