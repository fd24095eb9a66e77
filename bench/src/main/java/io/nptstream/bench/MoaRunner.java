package io.nptstream.bench;

import com.yahoo.labs.samoa.instances.Instance;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import moa.classifiers.Classifier;
import moa.core.Utils;
import moa.options.ClassOption;

/**
 * MOA's EvaluatePrequential loop, test then train, over every row: the first rows only train
 * (warm-up, the rows NPT was trained on), the rest are scored by cumulative accuracy.
 */
public final class MoaRunner {
    /** The learners, as MOA command lines; defaults unless the issue names a setting. */
    public static final Map<String, String> LEARNERS = new LinkedHashMap<>();

    static {
        LEARNERS.put("ARF", "meta.AdaptiveRandomForest");
        LEARNERS.put("SRP", "meta.StreamingRandomPatches");
        LEARNERS.put("HAT", "trees.HoeffdingAdaptiveTree");
        LEARNERS.put("kNN", "lazy.kNN -k 10 -w 1000");
        LEARNERS.put("NoChange", "functions.NoChange");
    }

    private MoaRunner() {}

    public static Outcome run(BenchStream stream, CsvInstances data, String learner) {
        Classifier c = classifier(LEARNERS.get(learner));
        c.setModelContext(data.header());
        c.prepareForUse();
        List<Instance> rows = data.instances();
        int warm = (int) stream.trainRows();
        boolean[] correct = new boolean[rows.size() - warm];
        long started = System.nanoTime();
        for (int i = 0; i < rows.size(); i++) {
            Instance x = rows.get(i);
            if (i >= warm) {
                correct[i - warm] = Utils.maxIndex(c.getVotesForInstance(x)) == (int) x.classValue();
            }
            c.trainOnInstance(x);
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        return new Outcome(stream.name(), learner, rows.size() / seconds, Double.NaN, Double.NaN, correct);
    }

    static Classifier classifier(String cli) {
        try {
            return (Classifier) ClassOption.cliStringToObject(cli, Classifier.class, null);
        } catch (Exception e) {
            throw new IllegalArgumentException("MOA learner '" + cli + "' could not be built: " + e.getMessage(), e);
        }
    }
}
