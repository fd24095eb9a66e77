package io.nptstream.flink.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** deploy/README.md's options table and the bundled properties file come from {@link NptOptions}. */
class OptionsTableTest {
    static final Path README = Path.of("../deploy/README.md");
    static final String BEGIN = "<!-- options: NptOptions.markdownTable(), checked by OptionsTableTest -->\n";
    static final String END = "<!-- /options -->";

    @Test
    void theReadmeTableIsTheRegistry() throws Exception {
        String readme = Files.readString(README);
        int from = readme.indexOf(BEGIN);
        int to = readme.indexOf(END);
        assertTrue(from >= 0 && to > from, README + " has no options table between " + BEGIN.strip() + " and " + END);
        String expected = NptOptions.markdownTable();
        assertEquals(expected, readme.substring(from + BEGIN.length(), to),
                "deploy/README.md's options table differs from NptOptions; replace it with:\n" + expected);
    }

    /** The bundled file sets only options of the registry, each to something other than its default. */
    @Test
    void theBundledFileSetsOnlyWhatDiffers() throws Exception {
        Properties bundled = new Properties();
        try (InputStream in = getClass().getClassLoader().getResourceAsStream(JobConfig.DEFAULT_RESOURCE)) {
            bundled.load(in);
        }
        Map<String, Option<?>> byKey = NptOptions.JOB.stream().collect(Collectors.toMap(Option::key, Function.identity()));
        assertTrue(bundled.stringPropertyNames().size() > 0);
        for (String key : bundled.stringPropertyNames()) {
            Option<?> option = byKey.get(key);
            assertTrue(option != null, JobConfig.DEFAULT_RESOURCE + " sets '" + key + "', which is no option");
            assertNotEquals(Option.format(option.defaultValue()), bundled.getProperty(key),
                    JobConfig.DEFAULT_RESOURCE + " sets " + key + " to its default: remove it");
        }
    }
}
