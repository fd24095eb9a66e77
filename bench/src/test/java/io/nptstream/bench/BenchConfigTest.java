package io.nptstream.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BenchConfigTest {
    @TempDir
    Path dir;

    @Test
    void aStreamThatIsNotTheBenchsIsNamedAndWrittenAsTheBenchsOwnAre() throws Exception {
        BenchConfig c = BenchConfig.fromArgs(new String[] {"--stream", "stagger=generators.STAGGERGenerator -f 2 -i 3"});
        assertEquals("stagger", c.only);
        assertEquals("generators.STAGGERGenerator -f 2 -i 3", c.otherStream);
        assertEquals(Path.of("build/bench/stagger"), c.out);

        BenchStream s = SyntheticStreams.write(dir, c.only, c.otherStream, 50, BenchStream.NO_DRIFT);
        List<String> lines = Files.readAllLines(s.csv());
        assertEquals(51, lines.size(), "a header and 50 rows");
        assertTrue(lines.get(0).endsWith("," + BenchStream.TARGET), lines.get(0));
        assertEquals(3, CsvInstances.read(s).header().numAttributes() - 1, "STAGGER's three nominal features");
    }

    @Test
    void aStreamWithoutANameOrAGeneratorIsRefusedWithTheFormItTakes() {
        for (String bad : new String[] {"generators.SEAGenerator", "=generators.SEAGenerator", "sea=", "a b=generators.SEAGenerator"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> BenchConfig.fromArgs(new String[] {"--stream", bad}));
            assertTrue(e.getMessage().contains("is not NAME=MOA_STREAM"), e.getMessage());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> BenchConfig.fromArgs(new String[] {"--stream", "sea-abrupt=generators.SEAGenerator -f 2"}));
        assertTrue(e.getMessage().contains("the bench has a stream of that name"), e.getMessage());
    }

    @Test
    void aNameReusedForAnotherGeneratorStopsTheBenchRatherThanReadTheOthersRows() throws Exception {
        SyntheticStreams.write(dir, "s", "generators.SEAGenerator -f 1", 20, BenchStream.NO_DRIFT);
        SyntheticStreams.write(dir, "s", "generators.SEAGenerator -f 1", 20, BenchStream.NO_DRIFT);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SyntheticStreams.write(dir, "s", "generators.SEAGenerator -f 2", 20, BenchStream.NO_DRIFT));
        assertTrue(e.getMessage().contains("was written from 'generators.SEAGenerator -f 1'"), e.getMessage());
    }
}
