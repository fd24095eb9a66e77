package io.nptstream.flink.config;

/** A bad configuration: the message has one line per problem, each naming the key and the fix. */
public class ConfigException extends Exception {
    private static final long serialVersionUID = 1L;

    public ConfigException(String message) {
        super(message, null, false, false);
    }
}
