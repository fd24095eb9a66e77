package io.nptstream.flink.validation;

import io.nptstream.proto.Reason;

/**
 * Why one record cannot be served: a {@link Reason} and a detail that names the field and value.
 * The detail is bounded: sender text goes in through {@link #quote}, and the whole is cut at
 * {@value #MAX_DETAIL} characters, so that a dead letter stays small whatever was sent.
 */
public class Rejection extends Exception {
    private static final long serialVersionUID = 1L;

    static final int MAX_DETAIL = 1000;
    static final int MAX_QUOTE = 64;

    public final Reason reason;

    public Rejection(Reason reason, String detail) {
        // No stack trace: bad input is expected traffic, not a bug.
        super(cut(detail, MAX_DETAIL), null, false, false);
        this.reason = reason;
    }

    /** Sender text in single quotes, cut at {@value #MAX_QUOTE} characters. */
    static String quote(String senderText) {
        return "'" + cut(senderText, MAX_QUOTE) + "'";
    }

    private static String cut(String s, int max) {
        return s.length() <= max ? s : s.substring(0, max) + "...(" + s.length() + " characters)";
    }
}
