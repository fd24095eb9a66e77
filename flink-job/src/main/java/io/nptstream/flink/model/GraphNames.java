package io.nptstream.flink.model;

/** The graph's input and output names, as proto/README.md defines them. */
final class GraphNames {
    private GraphNames() {}

    /** ABD layer {@code layer}'s cached keys: one input per layer, since a slice of one input is a copy in ONNX Runtime. */
    static String cacheK(int layer) {
        return "cache_k_" + layer;
    }

    /** ABD layer {@code layer}'s cached values. */
    static String cacheV(int layer) {
        return "cache_v_" + layer;
    }

    static final String CACHE_VALID = "cache_valid";
    static final String X_NUM = "x_num";
    static final String X_CAT = "x_cat";
    static final String X_Y = "x_y";
    static final String X_VALID = "x_valid";

    static final String CTX_NUM = "ctx_num";
    static final String CTX_CAT = "ctx_cat";
    static final String CTX_Y = "ctx_y";
    static final String CTX_VALID = "ctx_valid";
    static final String Q_NUM = "q_num";
    static final String Q_CAT = "q_cat";
    static final String Q_VALID = "q_valid";

    static final String PROBS = "probs";
    static final String MEAN = "mean";
    static final String STD = "std";
    static final String NEW_K = "new_k";
    static final String NEW_V = "new_v";
}
