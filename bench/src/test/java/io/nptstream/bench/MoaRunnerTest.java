package io.nptstream.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MoaRunnerTest {
    @TempDir
    Path dir;

    /** Labels 0,0,0,0,0,1,1,1,1,1 with the first 2 rows warm-up: NoChange misses only the switch. */
    @Test
    void noChangeIsTestedBeforeItTrainsAndOnlyAfterTheWarmUp() throws Exception {
        StringBuilder csv = new StringBuilder("key,x,color,target\n");
        for (int i = 0; i < 10; i++) {
            csv.append("k").append(i % 2).append(',').append(i / 10.0).append(',').append(i % 3 == 0 ? "red" : "blue")
                    .append(',').append(i < 5 ? 0 : 1).append('\n');
        }
        Path file = dir.resolve("s.csv");
        Files.writeString(file, csv);
        BenchStream stream = new BenchStream("s", file, "key", 10, "", BenchStream.NO_DRIFT);
        CsvInstances data = CsvInstances.read(stream);

        assertEquals(3, data.header().numAttributes(), "key dropped: x, color, target");
        assertEquals(2, data.header().attribute(1).numValues(), "color is nominal");
        assertEquals(2, data.header().classIndex());

        Outcome o = MoaRunner.run(stream, data, "NoChange");
        assertEquals(8, o.scored());
        assertEquals(7 / 8.0, o.accuracy(), 1e-12);
    }

    @Test
    void aShortStreamIsPlottedInSmallerWindowsSoThatThePlotHasALine() {
        Outcome o = new Outcome("s", "NPT", 1, 1, 1, new boolean[480]);
        assertEquals(60, o.window());
        assertEquals(Outcome.MIN_POINTS, o.windowedAccuracy().length);
        assertEquals(Outcome.WINDOW, new Outcome("s", "NPT", 1, 1, 1, new boolean[36_250]).window());
    }
}
