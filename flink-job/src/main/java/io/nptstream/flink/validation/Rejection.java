package io.nptstream.flink.validation;

import io.nptstream.proto.Reason;

/** Why one record cannot be served: a {@link Reason} and a detail that names the field and value. */
public class Rejection extends Exception {
    private static final long serialVersionUID = 1L;

    public final Reason reason;

    public Rejection(Reason reason, String detail) {
        // No stack trace: bad input is expected traffic, not a bug.
        super(detail, null, false, false);
        this.reason = reason;
    }
}
