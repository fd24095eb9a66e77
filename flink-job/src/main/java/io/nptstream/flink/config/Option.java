package io.nptstream.flink.config;

import java.util.Locale;
import java.util.Map;

/**
 * One option: its key, type, default, range and description, declared once in {@link NptOptions}
 * (or, for a tool's own options, beside the tool). {@link Settings#get} reads it; the options table
 * of deploy/README.md is written from it.
 */
public final class Option<T> {
    private final String key;
    private final Class<T> type;
    private final T defaultValue;
    private final boolean required;
    private final long min;
    private final long max;
    private final String description;

    private Option(String key, Class<T> type, T defaultValue, boolean required, long min, long max, String description) {
        this.key = key;
        this.type = type;
        this.defaultValue = defaultValue;
        this.required = required;
        this.min = min;
        this.max = max;
        this.description = description;
    }

    /** All keys under {@code prefix} (which ends with a dot), passed on as they are: {@code prefix + name = value}. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    public static Option<Map<String, String>> prefixed(String prefix, String description) {
        return new Option<>(prefix, (Class) Map.class, Map.of(), false, 0, 0, description);
    }

    /** Text with a default; null = none. */
    public static Option<String> text(String key, String defaultValue, String description) {
        return new Option<>(key, String.class, defaultValue, false, 0, 0, description);
    }

    /** Text that must be set. */
    public static Option<String> required(String key, String description) {
        return new Option<>(key, String.class, null, true, 0, 0, description);
    }

    public static Option<Integer> integer(String key, int defaultValue, int min, int max, String description) {
        return new Option<>(key, Integer.class, defaultValue, false, min, max, description);
    }

    public static Option<Long> whole(String key, long defaultValue, long min, long max, String description) {
        return new Option<>(key, Long.class, defaultValue, false, min, max, description);
    }

    public static <E extends Enum<E>> Option<E> choice(String key, E defaultValue, String description) {
        return new Option<>(key, defaultValue.getDeclaringClass(), defaultValue, false, 0, 0, description);
    }

    public String key() {
        return key;
    }

    public T defaultValue() {
        return defaultValue;
    }

    public String description() {
        return description;
    }

    Class<T> type() {
        return type;
    }

    /** Every key that starts with {@link #key}: their values, by the rest of the key (a {@link #prefixed} option). */
    boolean isPrefix() {
        return type == Map.class;
    }

    boolean isRequired() {
        return required;
    }

    long min() {
        return min;
    }

    long max() {
        return max;
    }

    /** How a value is written in a properties file: enums lowercase with hyphens. */
    static String format(Object value) {
        return value instanceof Enum<?> e ? e.name().toLowerCase(Locale.ROOT).replace('_', '-') : String.valueOf(value);
    }

    /** The key as the options table shows it. */
    String keyText() {
        return isPrefix() ? key + "*" : key;
    }

    /** The default as the options table shows it. */
    String defaultText() {
        return required ? "(required)" : defaultValue == null || isPrefix() ? "(none)" : "`" + format(defaultValue) + "`";
    }

    /** One line for a value outside the range, or null when it is inside (or the option has none). */
    String rangeProblem(long value, String written) {
        if (type != Integer.class && type != Long.class || value >= min && value <= max) {
            return null;
        }
        return key + "=" + written + " is out of range: use a whole number from " + min + " to " + max;
    }

    /** Throws IllegalArgumentException, named like a setting, when a value set in code is out of range. */
    void check(long value) {
        String problem = rangeProblem(value, Long.toString(value));
        if (problem != null) {
            throw new IllegalArgumentException(problem);
        }
    }

    @Override
    public String toString() {
        return key;
    }
}
