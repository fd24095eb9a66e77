package io.nptstream.flink.model;

import com.google.protobuf.InvalidProtocolBufferException;
import io.nptstream.proto.Manifest;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.stream.Stream;
import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.core.fs.Path;

/**
 * A model store: one folder per model version, as model-export writes it, named by its
 * {@code model_version}, and a {@value #LATEST} file naming the newest published version
 * (deploy/README.md, "Model lifecycle"). It is read through Flink's file systems ({@code file://}
 * here; {@code s3://} or {@code hdfs://} with Flink's plugins), so TaskManagers need no local copy:
 * each version is fetched once into a local folder and checked against its version, a hash of its graph.
 */
public final class ModelStore {
    public static final String LATEST = "LATEST";
    /** The model.version that means the version named by the store's LATEST file. */
    public static final String LATEST_VERSION = "latest";
    private static final String PREFIX = "model.store=";

    private final String uri;

    private ModelStore(String uri) {
        this.uri = uri.endsWith("/") ? uri.substring(0, uri.length() - 1) : uri;
    }

    public static ModelStore at(String uri) {
        if (uri == null || uri.isBlank()) {
            throw new IllegalArgumentException("model.store is not set: point it at a store of model versions");
        }
        return new ModelStore(uri);
    }

    /** {@code version}, or the one the store's LATEST file names for {@link #LATEST_VERSION}. */
    public String resolve(String version) {
        if (!LATEST_VERSION.equals(version)) {
            return version;
        }
        Path latest = new Path(uri, LATEST);
        try (InputStream in = latest.getFileSystem().open(latest)) {
            String named = new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
            if (named.isEmpty()) {
                throw fail("its " + LATEST + " file is empty: publish a model (npt-stream publish)");
            }
            return named;
        } catch (IOException e) {
            throw fail("cannot read its " + LATEST + " file (" + e.getMessage() + "): publish a model (npt-stream publish) or set model.version");
        }
    }

    /**
     * The model of {@code version}, fetched into a local folder under {@code java.io.tmpdir} (once
     * per version and machine) and loaded. Its graph must hash to its version and its manifest must
     * name it, so that a partial or altered copy is refused, not served.
     */
    public ModelBundle fetch(String version) {
        if (version == null || !version.matches("[0-9A-Za-z_-][0-9A-Za-z._-]*")) {
            throw fail("version '" + version + "' is not a version folder name: use a manifest's model_version");
        }
        java.nio.file.Path local = java.nio.file.Path.of(System.getProperty("java.io.tmpdir"), "npt-stream-models", storeId(), version);
        if (!Files.isRegularFile(local.resolve(ModelBundle.MANIFEST_FILE))) {
            copy(version, local);
        }
        return ModelBundle.load(local.toString(), PREFIX + uri + " version " + version);
    }

    private void copy(String version, java.nio.file.Path local) {
        Path remote = new Path(uri, version);
        java.nio.file.Path staging = local.resolveSibling(version + ".part-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
        try {
            FileSystem fs = remote.getFileSystem();
            if (!fs.exists(new Path(remote, ModelBundle.MANIFEST_FILE))) {
                throw fail("version " + version + " is not in the store (no " + remote + "/" + ModelBundle.MANIFEST_FILE + "): publish it first");
            }
            Files.createDirectories(staging);
            copyFile(fs, new Path(remote, ModelBundle.MANIFEST_FILE), staging.resolve(ModelBundle.MANIFEST_FILE));
            Manifest manifest = Manifest.parseFrom(Files.readAllBytes(staging.resolve(ModelBundle.MANIFEST_FILE)));
            if (!version.equals(manifest.getModelVersion())) {
                throw fail("folder " + version + " holds model " + manifest.getModelVersion() + ": a version is stored under its own name; publish it again");
            }
            copyFile(fs, new Path(remote, ModelBundle.GOLDEN_FILE), staging.resolve(ModelBundle.GOLDEN_FILE));
            String graph = manifest.getGraph().getFile();
            String hash = copyFile(fs, new Path(remote, graph), staging.resolve(graph));
            if (!hash.startsWith(version)) {
                throw fail("version " + version + ": " + graph + " hashes to " + hash.substring(0, 16)
                        + ", not to its version; the stored copy is corrupt: publish it again");
            }
            try {
                Files.move(staging, local, StandardCopyOption.ATOMIC_MOVE);
            } catch (FileAlreadyExistsException | DirectoryNotEmptyException e) {
                // Another slot of this TaskManager fetched it first; its copy passed the same checks.
            }
        } catch (InvalidProtocolBufferException e) {
            throw fail("version " + version + ": " + ModelBundle.MANIFEST_FILE + " is not a Manifest; publish it again");
        } catch (IOException e) {
            throw fail("cannot fetch version " + version + " (" + e + ")");
        } finally {
            delete(staging);
        }
    }

    /** A folder name for this store: local copies of two stores never mix, whatever their versions. */
    private String storeId() {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(uri.getBytes(StandardCharsets.UTF_8))).substring(0, 12);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Copies one file and returns its sha256 in hex. */
    private static String copyFile(FileSystem fs, Path from, java.nio.file.Path to) throws IOException {
        try (DigestInputStream in = new DigestInputStream(fs.open(from), MessageDigest.getInstance("SHA-256"))) {
            Files.copy(in, to);
            return HexFormat.of().formatHex(in.getMessageDigest().digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void delete(java.nio.file.Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<java.nio.file.Path> files = Files.walk(dir)) {
            for (java.nio.file.Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            // A leftover staging folder under tmp is harmless.
        }
    }

    private IllegalArgumentException fail(String why) {
        return new IllegalArgumentException(PREFIX + uri + ": " + why);
    }

    @Override
    public String toString() {
        return uri;
    }
}
