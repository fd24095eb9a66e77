package io.nptstream.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BenchTest {
    /** The shipped prior model (32 feature slots, 10 class slots), whose manifest.json the bench reads. */
    private static final Path PRIOR = Path.of("../models/prior/checkpoint.pt");

    @TempDir
    Path dir;

    @Test
    void thePriorModelServesOnlyAStreamThatFitsItsSlots() throws Exception {
        assertNull(Bench.priorCannotServe(PRIOR, stream("fits", 32, 10)));
        assertEquals("33 features, more than the prior model's 32 feature slots",
                Bench.priorCannotServe(PRIOR, stream("wide", 33, 2)));
        assertEquals("11 classes, more than the prior model's 10 class slots",
                Bench.priorCannotServe(PRIOR, stream("many-classes", 3, 11)));
    }

    /** A CSV stream of {@code features} numeric features and {@code classes} classes, one row a class. */
    private CsvInstances stream(String name, int features, int classes) throws Exception {
        String header = IntStream.range(0, features).mapToObj(f -> "f" + f).collect(Collectors.joining(","));
        String rows = IntStream.range(0, classes)
                .mapToObj(c -> IntStream.range(0, features).mapToObj(f -> "0.5").collect(Collectors.joining(",")) + "," + c)
                .collect(Collectors.joining("\n"));
        Path csv = Files.writeString(dir.resolve(name + ".csv"), header + "," + BenchStream.TARGET + "\n" + rows + "\n");
        return CsvInstances.read(new BenchStream(name, csv, null, classes, name, BenchStream.NO_DRIFT));
    }
}
