package io.nptstream.flink.model;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtProvider;
import ai.onnxruntime.OrtSession;
import java.util.HashMap;
import java.util.Map;
import org.apache.flink.annotation.Internal;

/**
 * One ONNX Runtime session per TaskManager process and model: the slots of a TaskManager share
 * its weights and thread pool instead of loading the graph once per subtask. Reference-counted;
 * the last {@link Lease#close()} closes the session.
 */
@Internal
public final class SharedSessions {
    private SharedSessions() {}

    private static final Map<String, Shared> SESSIONS = new HashMap<>();

    /** A hold on a shared session; close it once, when the operator closes. */
    public static final class Lease implements AutoCloseable {
        private final String id;
        private final OrtSession session;
        private boolean closed;

        private Lease(String id, OrtSession session) {
            this.id = id;
            this.session = session;
        }

        public OrtSession session() {
            return session;
        }

        @Override
        public void close() throws OrtException {
            if (!closed) {
                closed = true;
                release(id);
            }
        }
    }

    private static final class Shared {
        final OrtSession session;
        int holders;

        Shared(OrtSession session) {
            this.session = session;
        }
    }

    /**
     * The session for {@code model} on {@code device} with {@code intraOpThreads} threads, created
     * and checked against the manifest on first use.
     */
    public static synchronized Lease acquire(ModelBundle model, Device device, int intraOpThreads) throws OrtException {
        String id = model.graphPath().toAbsolutePath() + "|" + model.version() + "|" + device + "|" + intraOpThreads;
        Shared shared = SESSIONS.get(id);
        if (shared == null) {
            shared = new Shared(open(model, device, intraOpThreads));
            SESSIONS.put(id, shared);
        }
        shared.holders++;
        return new Lease(id, shared.session);
    }

    /** Sessions held right now (for tests: one per model and setting, however many operators). */
    static synchronized int open() {
        return SESSIONS.size();
    }

    private static synchronized void release(String id) throws OrtException {
        Shared shared = SESSIONS.get(id);
        if (shared != null && --shared.holders == 0) {
            SESSIONS.remove(id);
            shared.session.close();
        }
    }

    /** Fails with one line when {@code device} is CUDA and this ONNX Runtime build cannot use it. */
    static void checkDevice(Device device) {
        if (device == Device.CUDA && !OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA)) {
            throw new IllegalArgumentException("device cuda: this ONNX Runtime build has no CUDA execution provider; "
                    + "build the job with `mvn -Pcuda` (onnxruntime_gpu) and run it where CUDA is installed, or use device cpu");
        }
    }

    private static OrtSession open(ModelBundle model, Device device, int intraOpThreads) throws OrtException {
        checkDevice(device);
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setIntraOpNumThreads(intraOpThreads);
            options.setInterOpNumThreads(1);
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            if (device == Device.CUDA) {
                try {
                    options.addCUDA(0);
                } catch (OrtException e) {
                    throw new IllegalArgumentException("device cuda: the CUDA execution provider did not load (" + e.getMessage()
                            + "); check the CUDA and cuDNN install, or use device cpu");
                }
            }
            OrtSession session;
            try {
                session = env.createSession(model.graphPath().toString(), options);
            } catch (OrtException e) {
                throw new IllegalArgumentException(model.source() + ": ONNX Runtime cannot load "
                        + model.graphPath().getFileName() + " (" + e.getMessage().lines().findFirst().orElse("") + "); re-export the model");
            }
            try {
                model.checkSession(session);
            } catch (RuntimeException | OrtException e) {
                session.close();
                throw e;
            }
            return session;
        }
    }
}
