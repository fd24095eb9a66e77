package io.nptstream.flink.core;

import io.nptstream.proto.Attribute;
import io.nptstream.proto.Manifest;
import io.nptstream.proto.Record;
import io.nptstream.proto.Target;
import java.io.BufferedReader;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * Reads a CSV (header, comma-separated, no quoting) as Records: columns are matched by name to the
 * manifest's features and target, other columns are ignored. The id is the data row's index
 * (header excluded). Empty cells are missing values, or no label. A cell that is not a number in
 * a numeric column is sent as text, so validation rejects the row as WRONG_TYPE instead of guessing.
 */
public final class CsvRecords implements Closeable {
    /** The key of every record of a CSV read without a key column. */
    public static final String SINGLE_KEY = "all";

    private final Path csv;
    private final BufferedReader in;
    private final List<Attribute> features;
    private final int[] featureColumns;
    private final int targetColumn;
    private final int keyColumn;
    private final boolean classification;
    private final List<String> classes;
    private long row = -1;

    /** @throws IllegalArgumentException naming the missing column */
    public CsvRecords(Path csv, Manifest manifest, String keyColumn) throws IOException {
        this.csv = csv;
        this.in = Files.newBufferedReader(csv);
        String header = in.readLine();
        if (header == null) {
            in.close();
            throw new IllegalArgumentException(csv + " is empty: it needs a header line");
        }
        List<String> names = Arrays.stream(header.split(",", -1)).map(String::trim).toList();
        features = manifest.getFeaturesList();
        featureColumns = new int[features.size()];
        for (int i = 0; i < features.size(); i++) {
            featureColumns[i] = column(names, features.get(i).getName(), "the model's feature");
        }
        targetColumn = column(names, manifest.getTarget().getName(), "the model's target");
        this.keyColumn = keyColumn == null ? -1 : column(names, keyColumn, "the key column");
        classification = manifest.getTarget().getTask() == Target.Task.CLASSIFICATION;
        classes = manifest.getTarget().getClassesList();
    }

    private int column(List<String> names, String name, String what) throws IOException {
        int i = names.indexOf(name);
        if (i < 0) {
            in.close();
            throw new IllegalArgumentException(csv + " has no column '" + name + "' (" + what + "); its columns are " + names);
        }
        return i;
    }

    /** The index of the row that {@link #next} returned last. */
    public long row() {
        return row;
    }

    /** The next data row as a Record, or null at the end of the file. */
    public Record next() throws IOException {
        String line = in.readLine();
        while (line != null && line.isBlank()) {
            line = in.readLine();
        }
        if (line == null) {
            return null;
        }
        row++;
        String[] cells = line.split(",", -1);
        Record.Builder r = Record.newBuilder()
                .setId(Long.toString(row))
                .setKey(keyColumn < 0 ? SINGLE_KEY : cell(cells, keyColumn));
        for (int i = 0; i < features.size(); i++) {
            Attribute a = features.get(i);
            String v = cell(cells, featureColumns[i]);
            if (a.getKind() == Attribute.Kind.CATEGORICAL) {
                r.putCategorical(a.getName(), v);
            } else if (v.isEmpty()) {
                r.putNumeric(a.getName(), Double.NaN);
            } else {
                try {
                    r.putNumeric(a.getName(), Double.parseDouble(v));
                } catch (NumberFormatException e) {
                    r.putCategorical(a.getName(), v);
                }
            }
        }
        String label = cell(cells, targetColumn);
        if (!label.isEmpty()) {
            if (classification) {
                r.setLabelClass(className(label));
            } else {
                try {
                    r.setLabelValue(Double.parseDouble(label));
                } catch (NumberFormatException e) {
                    r.setLabelClass(label);
                }
            }
        }
        return r.build();
    }

    /** "1.0" in the CSV is class "1" of the manifest; anything else stays as written. */
    private String className(String label) {
        if (classes.contains(label)) {
            return label;
        }
        try {
            double v = Double.parseDouble(label);
            for (String c : classes) {
                try {
                    if (Double.parseDouble(c) == v) {
                        return c;
                    }
                } catch (NumberFormatException notNumeric) {
                    // not a numeric class name: keep looking
                }
            }
        } catch (NumberFormatException notNumeric) {
            // validation reports the unknown class
        }
        return label;
    }

    private static String cell(String[] cells, int i) {
        return i < cells.length ? cells[i].trim() : "";
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
