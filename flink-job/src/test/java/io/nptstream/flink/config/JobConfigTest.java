package io.nptstream.flink.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Bad settings stop startup with one line per problem, each naming the key. */
class JobConfigTest {
    private static List<String> problems(String... args) {
        ConfigException e = assertThrows(ConfigException.class, () -> JobConfig.fromArgs(args));
        return Arrays.asList(e.getMessage().split("\n"));
    }

    private static void onlyProblem(String key, String... args) {
        List<String> lines = problems(args);
        assertEquals(1, lines.size(), "one line per problem: " + lines);
        assertTrue(lines.get(0).contains(key), lines.get(0));
    }

    // The bundled model.dir (build/models/elec) is replaced by a folder that surely has no model,
    // so every case below also reports that one line; the tests count it in.
    private static final String[] NO_MODEL = {"--model.dir", "/nonexistent/model"};

    private static String[] with(String... args) {
        String[] all = Arrays.copyOf(NO_MODEL, NO_MODEL.length + args.length);
        System.arraycopy(args, 0, all, NO_MODEL.length, args.length);
        return all;
    }

    @Test
    void missingModelDirIsOneLine() {
        onlyProblem("model.dir=/nonexistent/model", NO_MODEL);
    }

    @Test
    void unknownKey() {
        List<String> lines = problems(with("--windw", "16"));
        assertEquals(2, lines.size(), lines.toString());
        assertTrue(lines.get(1).startsWith("unknown key 'windw'"), lines.get(1));
    }

    @Test
    void badNumbers() {
        List<String> lines = problems(with("--batch.size", "many", "--batch.delay.ms", "-5"));
        assertEquals(3, lines.size(), lines.toString());
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("batch.size=many is not a whole number")), lines.toString());
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("batch.delay.ms=-5 is out of range")), lines.toString());
    }

    @Test
    void badChoices() {
        List<String> lines = problems(with("--device", "tpu", "--kafka.delivery", "twice", "--inference", "guess"));
        assertEquals(4, lines.size(), lines.toString());
        assertTrue(lines.stream().anyMatch(l -> l.equals("device=tpu is not one of cpu, cuda")), lines.toString());
        assertTrue(lines.stream().anyMatch(l -> l.equals("kafka.delivery=twice is not one of at-least-once, exactly-once")), lines.toString());
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("inference=guess is not one of cached, recompute")), lines.toString());
    }

    @Test
    void exactlyOnceNeedsCheckpoints() {
        List<String> lines = problems(with("--kafka.delivery", "exactly-once", "--checkpoint.interval.ms", "0"));
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("kafka.delivery=exactly-once needs checkpoints")), lines.toString());
    }

    @Test
    void windowAboveTheModelsMaximum() {
        String model = io.nptstream.flink.job.Fixtures.model("causal-cls").toString();
        List<String> lines = problems("--model.dir", model, "--window", "100000");
        assertEquals(1, lines.size(), lines.toString());
        assertTrue(lines.get(0).startsWith("window=100000 is above the model's maximum of 16"), lines.get(0));
    }

    @Test
    void aFixtureModelWithDefaultsIsValid() throws ConfigException {
        JobConfig c = JobConfig.fromArgs(new String[] {"--model.dir", io.nptstream.flink.job.Fixtures.model("causal-cls").toString()});
        assertEquals(3, c.manifest.getTarget().getClassesCount());
        assertEquals(10_000, c.checkpointIntervalMs);
        assertEquals(JobConfig.Delivery.AT_LEAST_ONCE, c.delivery);
    }

    @Test
    void malformedCommandLine() {
        assertTrue(problems("--window").get(0).contains("--window has no value"));
        assertTrue(problems("window", "3").get(0).contains("unexpected argument 'window'"));
        assertTrue(problems("--config", "/nonexistent.properties").get(0).contains("no such file"));
    }
}
