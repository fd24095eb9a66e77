package io.nptstream.bench;

import com.yahoo.labs.samoa.instances.Attribute;
import com.yahoo.labs.samoa.instances.DenseInstance;
import com.yahoo.labs.samoa.instances.Instance;
import com.yahoo.labs.samoa.instances.Instances;
import com.yahoo.labs.samoa.instances.InstancesHeader;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * A bench CSV as MOA instances, in file order. Columns that parse as numbers are numeric, others
 * nominal; the target is nominal over its values; the key column is dropped (a MOA learner is one
 * global model, it doesn't get per-key contexts).
 */
public record CsvInstances(InstancesHeader header, List<Instance> instances) {

    public static CsvInstances read(BenchStream stream) throws IOException {
        List<String> lines = Files.readAllLines(stream.csv());
        String[] names = lines.get(0).split(",", -1);
        List<String[]> rows = new ArrayList<>(lines.size() - 1);
        for (String line : lines.subList(1, lines.size())) {
            if (!line.isBlank()) {
                rows.add(line.split(",", -1));
            }
        }
        int target = indexOf(names, BenchStream.TARGET, stream);
        int key = stream.keyColumn() == null ? -1 : indexOf(names, stream.keyColumn(), stream);

        List<Attribute> attributes = new ArrayList<>();
        List<Integer> columns = new ArrayList<>();
        List<Map<String, Integer>> nominal = new ArrayList<>();
        for (int c = 0; c < names.length; c++) {
            if (c == key || c == target) {
                continue;
            }
            columns.add(c);
            Map<String, Integer> values = numericColumn(rows, c) ? null : values(rows, c);
            nominal.add(values);
            attributes.add(values == null ? new Attribute(names[c]) : new Attribute(names[c], List.copyOf(values.keySet())));
        }
        Map<String, Integer> classes = values(rows, target);
        attributes.add(new Attribute(BenchStream.TARGET, List.copyOf(classes.keySet())));
        columns.add(target);
        nominal.add(classes);

        Instances data = new Instances(stream.name(), attributes, 0);
        data.setClassIndex(attributes.size() - 1);
        InstancesHeader header = new InstancesHeader(data);
        List<Instance> instances = new ArrayList<>(rows.size());
        for (String[] row : rows) {
            double[] values = new double[columns.size()];
            for (int a = 0; a < values.length; a++) {
                String cell = row[columns.get(a)].trim();
                Map<String, Integer> vocabulary = nominal.get(a);
                values[a] = cell.isEmpty() ? Double.NaN : vocabulary == null ? Double.parseDouble(cell) : vocabulary.get(cell);
            }
            Instance x = new DenseInstance(1.0, values);
            x.setDataset(header);
            instances.add(x);
        }
        return new CsvInstances(header, instances);
    }

    private static int indexOf(String[] names, String name, BenchStream stream) {
        for (int i = 0; i < names.length; i++) {
            if (names[i].trim().equals(name)) {
                return i;
            }
        }
        throw new IllegalArgumentException(stream.csv() + " has no column '" + name + "'; write it in the header");
    }

    private static boolean numericColumn(List<String[]> rows, int c) {
        for (String[] row : rows) {
            String cell = row[c].trim();
            if (!cell.isEmpty()) {
                try {
                    Double.parseDouble(cell);
                } catch (NumberFormatException e) {
                    return false;
                }
            }
        }
        return true;
    }

    /** The column's distinct values, sorted (numerically when they are numbers), each to its index. */
    private static Map<String, Integer> values(List<String[]> rows, int c) {
        TreeSet<String> seen = new TreeSet<>((a, b) -> {
            try {
                return Double.compare(Double.parseDouble(a), Double.parseDouble(b));
            } catch (NumberFormatException e) {
                return a.compareTo(b);
            }
        });
        for (String[] row : rows) {
            if (!row[c].trim().isEmpty()) {
                seen.add(row[c].trim());
            }
        }
        Map<String, Integer> index = new LinkedHashMap<>();
        for (String v : seen) {
            index.put(v, index.size());
        }
        return index;
    }
}
