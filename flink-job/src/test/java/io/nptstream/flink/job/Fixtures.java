package io.nptstream.flink.job;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;

/** The models that {@code make fixtures} exports into build/fixtures (system property npt.fixtures). */
public final class Fixtures {
    private Fixtures() {}

    public static Path model(String name) {
        Path dir = Path.of(System.getProperty("npt.fixtures", "build/fixtures"), name);
        assertTrue(Files.isRegularFile(dir.resolve("manifest.pb")), "no fixture model at " + dir + ": run make fixtures");
        return dir;
    }
}
