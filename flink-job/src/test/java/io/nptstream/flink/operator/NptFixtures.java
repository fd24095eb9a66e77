package io.nptstream.flink.operator;

import io.nptstream.flink.config.NptOperatorConfig;
import io.nptstream.flink.core.Row;
import io.nptstream.flink.core.Scored;
import io.nptstream.flink.validation.RecordValidator;
import io.nptstream.flink.validation.Rejection;
import io.nptstream.proto.Golden;
import io.nptstream.proto.Manifest;
import io.nptstream.proto.Record;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;

/** The models exported by `make fixtures` (model-export), their golden files, and operator harnesses over them. */
public final class NptFixtures {
    private NptFixtures() {}

    public static final String CAUSAL_CLS = "causal-cls";
    public static final String BIDIR_CLS = "bidir-cls";
    public static final String CAUSAL_REG = "causal-reg";
    /** causal-cls trained again, with multi-query attention: the same layout, another version and cache width. */
    public static final String CAUSAL_CLS_RETRAINED = "causal-cls-retrained";
    /** causal-cls's layout with one ABD and one ABA layer (train.ARCHITECTURES' "long" shape). */
    public static final String CAUSAL_CLS_LONG = "causal-cls-long";
    /** A prior model (feature and class slots) fine-tuned on causal-cls's stream: served like any other. */
    public static final String PRIOR_CLS = "prior-cls";
    /** Such a prior model served untrained: each key's numeric features standardised by its own first rows. */
    public static final String PRIOR_CLS_ZERO_SHOT = "prior-cls-zero-shot";

    public static Path dir(String name) {
        Path root = Path.of(System.getProperty("npt.fixtures", "build/fixtures"));
        Path dir = root.resolve(name);
        if (!Files.isRegularFile(dir.resolve("manifest.pb"))) {
            throw new IllegalStateException("fixture model " + dir + " is missing; run `make fixtures` first");
        }
        return dir;
    }

    public static Golden golden(String name) throws IOException {
        return Golden.parseFrom(Files.readAllBytes(dir(name).resolve("golden.pb")));
    }

    public static Manifest manifest(String name) {
        return NptPredict.loadManifest(dir(name).toString());
    }

    /** The golden stream's records as the job's validation turns them into rows. */
    public static List<Row> goldenRows(String name) throws IOException {
        RecordValidator validator = new RecordValidator(manifest(name));
        List<Row> rows = new ArrayList<>();
        for (Record r : golden(name).getStreamList()) {
            try {
                rows.add(validator.validate(r));
            } catch (Rejection e) {
                throw new IllegalStateException("golden record " + r.getId() + " rejected: " + e.getMessage());
            }
        }
        return rows;
    }

    public static NptOperatorConfig config(String name, int window) {
        NptOperatorConfig c = new NptOperatorConfig();
        c.modelDir = dir(name).toString();
        c.window = window;
        return c;
    }

    public static KeyedOneInputStreamOperatorTestHarness<String, Row, Scored> harness(NptOperatorConfig config) throws Exception {
        NptPredict.check(config);
        return new KeyedOneInputStreamOperatorTestHarness<>(new NptPredictOperator(config, false), row -> row.key, Types.STRING);
    }

    /** Runs {@code rows} through a fresh operator, one per processing-time millisecond, and returns its output. */
    public static List<Scored> run(NptOperatorConfig config, List<Row> rows) throws Exception {
        try (KeyedOneInputStreamOperatorTestHarness<String, Row, Scored> h = harness(config)) {
            h.open();
            for (Row row : rows) {
                h.processElement(row, row.eventTimeMs);
            }
            h.endInput();
            return h.extractOutputValues();
        }
    }

    public static Row copy(Row r) {
        return new Row(r.key, r.id, r.eventTimeMs, r.num == null ? null : r.num.clone(), r.cat == null ? null : r.cat.clone(), r.label);
    }
}
