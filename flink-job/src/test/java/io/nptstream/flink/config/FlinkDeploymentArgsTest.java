package io.nptstream.flink.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.nptstream.flink.job.Fixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * deploy/k8s/flinkdeployment.yaml starts the job with spec.job.args: they must pass the job's own
 * configuration check. The image's model path is replaced by a fixture model, which exists here.
 */
class FlinkDeploymentArgsTest {
    private static final Path DEPLOYMENT = Path.of("../deploy/k8s/flinkdeployment.yaml");

    @Test
    void theDeploymentsArgsAreAValidJobConfiguration() throws Exception {
        List<String> args = args(Files.readString(DEPLOYMENT));
        int model = args.indexOf("--model.dir");
        assertTrue(model >= 0, "the deployment names the model");
        args.set(model + 1, Fixtures.model("causal-cls").toString());
        JobConfig c = JobConfig.fromArgs(args.toArray(new String[0]));
        assertEquals(JobConfig.Delivery.EXACTLY_ONCE, c.delivery);
        assertEquals(2, c.parallelism);
        assertTrue(Files.readString(DEPLOYMENT).contains("parallelism: " + c.parallelism), "spec.job.parallelism matches --parallelism");
    }

    /** The strings of the one-line {@code args: [...]} list. */
    private static List<String> args(String yaml) {
        Matcher line = Pattern.compile("(?m)^\\s*args:\\s*\\[(.*)]\\s*$").matcher(yaml);
        assertTrue(line.find(), DEPLOYMENT + " has no one-line args: [...]");
        List<String> args = new ArrayList<>();
        Matcher item = Pattern.compile("\"((?:[^\"\\\\]|\\\\.)*)\"").matcher(line.group(1));
        while (item.find()) {
            args.add(item.group(1));
        }
        return args;
    }
}
