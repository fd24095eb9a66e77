package io.nptstream.bench;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReportTest {
    @TempDir
    Path dir;

    /** The chart as PNG and SVG (XChart draws text as paths, so the SVG is checked for shape, not words), and the tables. */
    @Test
    void plotsAndDriftRecovery() throws Exception {
        boolean[] npt = new boolean[8000];
        boolean[] arf = new boolean[8000];
        for (int i = 0; i < 8000; i++) {
            npt[i] = i % 4 != 0;
            arf[i] = i < 3000 || i >= 4000;                 // wrong for the 1,000 rows after the drift
        }
        BenchStream s = new BenchStream("drifty", dir.resolve("drifty.csv"), null, 10_000, "", 5_000);
        List<Outcome> outcomes = List.of(new Outcome("drifty", "NPT", 1, 1, 1, npt), new Outcome("drifty", "ARF", 1, 1, 1, arf));
        Report.write(List.of(s), outcomes, Map.of("drifty", 0.95), null, dir);

        assertTrue(ImageIO.read(dir.resolve("accuracy-drifty.png").toFile()).getWidth() > 0);
        String svg = Files.readString(dir.resolve("accuracy-drifty.svg"));
        assertTrue(svg.contains("<svg") && svg.split("<path", -1).length > 20, "an SVG with the chart's lines and glyphs");
        String md = Files.readString(dir.resolve("results.md"));
        assertTrue(md.contains("| drifty | NPT | 75.00% | 75.00% | met |"), md);
        assertTrue(md.contains("| drifty | ARF | 0.00% | 50.00% |"), md);
        assertTrue(md.contains("| drifty | 75.00% | ARF 87.50% | -12.50 | NOT met | 95.00% |"), md);
    }
}
