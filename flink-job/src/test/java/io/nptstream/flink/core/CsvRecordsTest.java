package io.nptstream.flink.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.nptstream.proto.Attribute;
import io.nptstream.proto.Manifest;
import io.nptstream.proto.Record;
import io.nptstream.proto.Target;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CsvRecordsTest {
    @TempDir
    Path tmp;

    private static final Manifest MANIFEST = Manifest.newBuilder()
            .addFeatures(Attribute.newBuilder().setName("a").setKind(Attribute.Kind.NUMERIC))
            .addFeatures(Attribute.newBuilder().setName("c").setKind(Attribute.Kind.CATEGORICAL).addCategories("x"))
            .setTarget(Target.newBuilder().setName("y").setTask(Target.Task.CLASSIFICATION).addClasses("0").addClasses("1"))
            .build();

    @Test
    void matchesColumnsByNameAndKeepsBadCellsForValidation() throws Exception {
        Path csv = tmp.resolve("d.csv");
        Files.writeString(csv, "y,extra,c,a,k\n1.0,9,x,0.5,n1\n,9,,,n2\n0,9,z,abc,n1\n");
        try (CsvRecords rows = new CsvRecords(csv, MANIFEST, "k")) {
            Record r = rows.next();
            assertEquals(0, rows.row());
            assertEquals("0", r.getId());
            assertEquals("n1", r.getKey());
            assertEquals(0.5, r.getNumericOrThrow("a"));
            assertEquals("x", r.getCategoricalOrThrow("c"));
            assertEquals("1", r.getLabelClass(), "1.0 in the CSV is class 1");

            r = rows.next();
            assertTrue(Double.isNaN(r.getNumericOrThrow("a")), "an empty cell is a missing value");
            assertEquals("", r.getCategoricalOrThrow("c"));
            assertEquals(Record.LabelCase.LABEL_NOT_SET, r.getLabelCase(), "an empty label is no label");

            r = rows.next();
            assertFalse(r.containsNumeric("a"));
            assertEquals("abc", r.getCategoricalOrThrow("a"), "text in a numeric column goes to validation as WRONG_TYPE");
            assertNull(rows.next());
        }
    }

    @Test
    void aMissingColumnIsOneLine() throws Exception {
        Path csv = tmp.resolve("d.csv");
        Files.writeString(csv, "a,y\n1,0\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new CsvRecords(csv, MANIFEST, null));
        assertTrue(e.getMessage().contains("has no column 'c' (the model's feature)"), e.getMessage());
    }
}
