package io.nptstream.flink.model;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import com.google.protobuf.InvalidProtocolBufferException;
import io.nptstream.proto.Architecture;
import io.nptstream.proto.Attribute;
import io.nptstream.proto.Context;
import io.nptstream.proto.Golden;
import io.nptstream.proto.Graph;
import io.nptstream.proto.Manifest;
import io.nptstream.proto.Target;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * A model folder written by model-export, checked against the contract (proto/README.md): the
 * manifest, the graph file, and the graph's inputs and outputs. Every check failure is one
 * {@link IllegalArgumentException} line that names the folder and the fix.
 */
public final class ModelBundle {
    public static final String FORMAT = "npt-stream/1";
    public static final String MANIFEST_FILE = "manifest.pb";
    public static final String GOLDEN_FILE = "golden.pb";
    private final String dir;
    /** Where the model came from, as the option that points there: every problem with it names this. */
    private final String source;
    private final Manifest manifest;
    private final int numNumeric;
    private final int numCategorical;

    private ModelBundle(String dir, String source, Manifest manifest) {
        this.dir = dir;
        this.source = source;
        this.manifest = manifest;
        this.numNumeric = featureCount(manifest, Attribute.Kind.NUMERIC);
        this.numCategorical = featureCount(manifest, Attribute.Kind.CATEGORICAL);
    }

    /** Reads and checks the manifest of {@code dir}; the graph itself is checked by {@link #check}. */
    public static ModelBundle load(String dir) {
        if (dir == null || dir.isBlank()) {
            throw new IllegalArgumentException("model.dir is not set: point it at a folder exported by model-export");
        }
        return load(dir, "model.dir=" + dir);
    }

    /** Reads the manifest of {@code dir}, a local copy of {@code source} (named in every message). */
    static ModelBundle load(String dir, String source) {
        Path manifestFile = Path.of(dir).resolve(MANIFEST_FILE);
        if (!Files.isRegularFile(manifestFile)) {
            throw new IllegalArgumentException(source + " has no " + MANIFEST_FILE + ": point it at a folder exported by model-export (make model)");
        }
        Manifest manifest;
        try {
            manifest = Manifest.parseFrom(Files.readAllBytes(manifestFile));
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalArgumentException(source + ": " + MANIFEST_FILE + " is not a Manifest (" + e.getMessage() + "); re-export the model");
        } catch (IOException e) {
            throw new IllegalArgumentException(source + ": cannot read " + MANIFEST_FILE + " (" + e + ")");
        }
        ModelBundle model = new ModelBundle(dir, source, manifest);
        model.checkManifest();
        return model;
    }

    /**
     * Checks everything that can be checked before a job serves this model: the manifest, the graph
     * against it (by opening it once on the CPU), its golden cases, the window and the device.
     * Throws IllegalArgumentException with one line on the first problem; returns this model.
     */
    public ModelBundle check(int window, Device device) {
        windowFor(window);
        SharedSessions.checkDevice(device);
        try (SharedSessions.Lease lease = SharedSessions.acquire(this, Device.CPU, 1)) {
            // Acquiring checks the graph's inputs and outputs against the manifest; the golden cases, its numbers.
            GoldenCheck.check(golden(), lease.session(), source);
        } catch (OrtException e) {
            throw new IllegalArgumentException(source + ": ONNX Runtime failed (" + e.getMessage() + ")");
        }
        return this;
    }

    /**
     * What the stored context rows mean: the features in order with their kinds and vocabularies,
     * and the target with its classes. Rows stored under one layout are read right by any model of
     * the same layout (its caches are rebuilt from them), and by no other.
     */
    public String stateLayout() {
        StringBuilder b = new StringBuilder("features");
        for (Attribute a : manifest.getFeaturesList()) {
            b.append(' ').append(a.getName()).append(':').append(a.getKind() == Attribute.Kind.NUMERIC ? "numeric" : "categorical");
            if (a.getKind() == Attribute.Kind.CATEGORICAL) {
                b.append(a.getCategoriesList());
            }
        }
        Target t = manifest.getTarget();
        b.append("; target ").append(t.getName()).append(':').append(t.getTask() == Target.Task.CLASSIFICATION ? "classes" + t.getClassesList() : "value");
        return b.toString();
    }

    /** The folder's golden file (proto/README.md): graph inputs with PyTorch's outputs. */
    public Golden golden() {
        Path file = Path.of(dir).resolve(GOLDEN_FILE);
        if (!Files.isRegularFile(file)) {
            fail(GOLDEN_FILE + " is missing: the job checks every model against it at startup; re-export the model");
        }
        try {
            return Golden.parseFrom(Files.readAllBytes(file));
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalArgumentException(source + ": " + GOLDEN_FILE + " is not a Golden (" + e.getMessage() + "); re-export the model");
        } catch (IOException e) {
            throw new IllegalArgumentException(source + ": cannot read " + GOLDEN_FILE + " (" + e + ")");
        }
    }

    /** The window W to serve with: {@code window}, or the model's maximum for 0; above it is refused. */
    public int windowFor(int window) {
        int max = maxWindow();
        if (window > max) {
            throw new IllegalArgumentException("window=" + window + " is above the model's maximum of " + max
                    + " (it was trained with that context): use a window from 1 to " + max + " (0 = " + max + ")");
        }
        return window == 0 ? max : window;
    }

    private void checkManifest() {
        if (!FORMAT.equals(manifest.getFormat())) {
            fail("manifest format is '" + manifest.getFormat() + "', this job reads '" + FORMAT + "'; export the model with a matching model-export");
        }
        Graph graph = manifest.getGraph();
        if (graph.getFile().isEmpty() || !Files.isRegularFile(graphPath())) {
            fail("graph file '" + graph.getFile() + "' named by the manifest is missing; re-export the model");
        }
        Context.Attention attention = manifest.getContext().getAttention();
        if (attention == Context.Attention.CAUSAL && graph.getKind() != Graph.Kind.STEP
                || attention == Context.Attention.BIDIRECTIONAL && graph.getKind() != Graph.Kind.FULL
                || attention != Context.Attention.CAUSAL && attention != Context.Attention.BIDIRECTIONAL) {
            fail("context attention " + attention + " does not go with graph kind " + graph.getKind() + " (CAUSAL needs STEP, BIDIRECTIONAL needs FULL)");
        }
        Target target = manifest.getTarget();
        if (target.getTask() == Target.Task.CLASSIFICATION && target.getClassesCount() < 2) {
            fail("a classification target needs at least 2 classes, the manifest has " + target.getClassesCount());
        }
        if (target.getTask() != Target.Task.CLASSIFICATION && target.getTask() != Target.Task.REGRESSION) {
            fail("target task " + target.getTask() + " is neither CLASSIFICATION nor REGRESSION");
        }
        for (Attribute a : manifest.getFeaturesList()) {
            if (a.getKind() != Attribute.Kind.NUMERIC && a.getKind() != Attribute.Kind.CATEGORICAL) {
                fail("feature '" + a.getName() + "' has kind " + a.getKind() + ", expected NUMERIC or CATEGORICAL");
            }
        }
        if (manifest.getContext().getMaxWindow() < 1 || manifest.getContext().getHistoryLayers() < 1) {
            fail("context max_window and history_layers must be >= 1, got " + manifest.getContext().getMaxWindow()
                    + " and " + manifest.getContext().getHistoryLayers());
        }
        if (manifest.getContext().getStandardiseRows() < 0) {
            fail("context standardise_rows must be >= 0, got " + manifest.getContext().getStandardiseRows());
        }
        if (isCausal() && (manifest.getArchitecture().getAbdLayers() < 1 || manifest.getArchitecture().getRowDim() < 1)) {
            fail("architecture abd_layers and row_dim must be >= 1 for a STEP graph");
        }
        Set<String> declared = new TreeSet<>(graph.getInputsList());
        if (!declared.equals(expectedInputs().keySet())) {
            fail("manifest graph inputs " + declared + " are not the contract's " + expectedInputs().keySet()
                    + " for this model; re-export the model");
        }
        Set<String> declaredOut = new TreeSet<>(graph.getOutputsList());
        if (!declaredOut.equals(expectedOutputs().keySet())) {
            fail("manifest graph outputs " + declaredOut + " are not the contract's " + expectedOutputs().keySet()
                    + " for this model; re-export the model");
        }
    }

    /** Checks that the ONNX graph in {@code session} has exactly the inputs and outputs the manifest promises. */
    public void checkSession(OrtSession session) throws OrtException {
        checkNodes("input", session.getInputInfo(), expectedInputs());
        checkNodes("output", session.getOutputInfo(), expectedOutputs());
    }

    private void checkNodes(String what, Map<String, NodeInfo> actual, Map<String, Spec> expected) {
        if (!actual.keySet().equals(expected.keySet())) {
            fail("the graph's " + what + "s " + new TreeSet<>(actual.keySet()) + " do not match the manifest's "
                    + expected.keySet() + "; the manifest belongs to another graph, re-export the model");
        }
        for (Map.Entry<String, Spec> e : expected.entrySet()) {
            if (!(actual.get(e.getKey()).getInfo() instanceof TensorInfo info)) {
                fail("graph " + what + " " + e.getKey() + " is not a tensor");
                return;
            }
            Spec spec = e.getValue();
            long[] shape = info.getShape();
            boolean ok = info.type == spec.type && shape.length == spec.shape.length;
            for (int i = 0; ok && i < shape.length; i++) {
                ok = spec.shape[i] < 0 || shape[i] < 0 || shape[i] == spec.shape[i];
            }
            if (!ok) {
                fail("graph " + what + " " + e.getKey() + " is " + info.type + Arrays.toString(shape) + " but the manifest implies "
                        + spec.type + Arrays.toString(spec.shape) + " (-1 = any); the manifest belongs to another graph, re-export the model");
            }
        }
    }

    /** The contract's inputs for this model, by name, with dtype and shape (-1 = dynamic). */
    Map<String, Spec> expectedInputs() {
        Map<String, Spec> m = new TreeMap<>();
        if (isCausal()) {
            for (int l = 0; l < abdLayers(); l++) {
                m.put(GraphNames.cacheK(l), new Spec(OnnxJavaType.FLOAT, -1, -1, cacheDim()));
                m.put(GraphNames.cacheV(l), new Spec(OnnxJavaType.FLOAT, -1, -1, cacheDim()));
            }
            m.put(GraphNames.CACHE_VALID, new Spec(OnnxJavaType.BOOL, -1, -1));
            rowInputs(m, GraphNames.X_NUM, GraphNames.X_CAT, GraphNames.X_Y, GraphNames.X_VALID);
        } else {
            rowInputs(m, GraphNames.CTX_NUM, GraphNames.CTX_CAT, GraphNames.CTX_Y, GraphNames.CTX_VALID);
            rowInputs(m, GraphNames.Q_NUM, GraphNames.Q_CAT, null, GraphNames.Q_VALID);
        }
        return m;
    }

    /** A group of row inputs: [B, rows, F] features, [B, rows] labels (null = none) and validity. */
    private void rowInputs(Map<String, Spec> m, String num, String cat, String label, String valid) {
        if (numNumeric > 0) {
            m.put(num, new Spec(OnnxJavaType.FLOAT, -1, -1, numNumeric));
        }
        if (numCategorical > 0) {
            m.put(cat, new Spec(OnnxJavaType.INT64, -1, -1, numCategorical));
        }
        if (label != null) {
            m.put(label, new Spec(OnnxJavaType.FLOAT, -1, -1));
        }
        m.put(valid, new Spec(OnnxJavaType.BOOL, -1, -1));
    }

    Map<String, Spec> expectedOutputs() {
        Map<String, Spec> m = new TreeMap<>();
        if (isClassification()) {
            m.put(GraphNames.PROBS, new Spec(OnnxJavaType.FLOAT, -1, -1, numClasses()));
        } else {
            m.put(GraphNames.MEAN, new Spec(OnnxJavaType.FLOAT, -1, -1));
            if (hasStd()) {
                m.put(GraphNames.STD, new Spec(OnnxJavaType.FLOAT, -1, -1));
            }
        }
        if (isCausal()) {
            m.put(GraphNames.NEW_K, new Spec(OnnxJavaType.FLOAT, -1, abdLayers(), -1, cacheDim()));
            m.put(GraphNames.NEW_V, new Spec(OnnxJavaType.FLOAT, -1, abdLayers(), -1, cacheDim()));
        }
        return m;
    }

    private void fail(String why) {
        throw new IllegalArgumentException(source + ": " + why);
    }

    public String dir() {
        return dir;
    }

    /** Where the model came from, as its option: {@code model.dir=...} or {@code model.store=... version ...}. */
    public String source() {
        return source;
    }

    public Manifest manifest() {
        return manifest;
    }

    public Path graphPath() {
        return Path.of(dir).resolve(manifest.getGraph().getFile());
    }

    public String version() {
        return manifest.getModelVersion();
    }

    public boolean isCausal() {
        return manifest.getContext().getAttention() == Context.Attention.CAUSAL;
    }

    public boolean isClassification() {
        return manifest.getTarget().getTask() == Target.Task.CLASSIFICATION;
    }

    public boolean hasStd() {
        return !isClassification() && manifest.getTarget().getHasStd();
    }

    public int numClasses() {
        return manifest.getTarget().getClassesCount();
    }

    public int numNumeric() {
        return numNumeric;
    }

    public int numCategorical() {
        return numCategorical;
    }

    public int abdLayers() {
        return manifest.getArchitecture().getAbdLayers();
    }

    public int rowDim() {
        return manifest.getArchitecture().getRowDim();
    }

    /** The width of a cached ABD key or value (Architecture.cache_dim; row_dim for models exported before it). */
    public int cacheDim() {
        return cacheDim(manifest.getArchitecture());
    }

    /** How many of the manifest's features are of {@code kind}. */
    public static int featureCount(Manifest manifest, Attribute.Kind kind) {
        return (int) manifest.getFeaturesList().stream().filter(a -> a.getKind() == kind).count();
    }

    /** {@link #cacheDim()} of an architecture. */
    public static int cacheDim(Architecture a) {
        return a.getCacheDim() > 0 ? a.getCacheDim() : a.getRowDim();
    }

    public int maxWindow() {
        return manifest.getContext().getMaxWindow();
    }

    public int historyLayers() {
        return manifest.getContext().getHistoryLayers();
    }

    /** N > 0: the numeric features are standardised per key by its first N labeled rows (proto/README.md); 0: by the graph. */
    public int standardiseRows() {
        return manifest.getContext().getStandardiseRows();
    }

    /** An input or output as the contract defines it. */
    record Spec(OnnxJavaType type, long... shape) {}
}
