package io.nptstream.flink.config;

import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;

/**
 * Raw key/value settings from a properties file and {@code --key value} overrides, read through
 * typed getters that collect every problem instead of stopping at the first, so one run of the
 * job tells the user everything that is wrong, one line each.
 */
public final class Settings {
    /** The command-line option that names the properties file. */
    public static final String CONFIG_OPTION = "config";

    private final Map<String, String> values;
    private final Set<String> read = new LinkedHashSet<>();
    private final List<String> problems = new ArrayList<>();

    public Settings(Map<String, String> values) {
        this.values = new LinkedHashMap<>(values);
    }

    /**
     * Reads the properties file named by {@code --config} (else {@code defaultResource} from the
     * classpath, when not null), then applies the other {@code --key value} pairs over it.
     */
    public static Settings fromArgs(String[] args, String defaultResource) throws ConfigException {
        Map<String, String> overrides = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (!arg.startsWith("--") || arg.length() == 2) {
                throw new ConfigException("unexpected argument '" + arg + "': options are --key value");
            }
            if (i + 1 >= args.length || args[i + 1].startsWith("--")) {
                throw new ConfigException("option " + arg + " has no value: write " + arg + " <value>");
            }
            overrides.put(arg.substring(2), args[++i]);
        }
        Map<String, String> values = new LinkedHashMap<>();
        String file = overrides.remove(CONFIG_OPTION);
        if (file != null) {
            values.putAll(readFile(Path.of(file)));
        } else if (defaultResource != null) {
            values.putAll(readResource(defaultResource));
        }
        values.putAll(overrides);
        return new Settings(values);
    }

    private static Map<String, String> readFile(Path file) throws ConfigException {
        if (!Files.isRegularFile(file)) {
            throw new ConfigException("--config " + file + ": no such file; give the path of a properties file");
        }
        try (Reader in = Files.newBufferedReader(file)) {
            Properties p = new Properties();
            p.load(in);
            return toMap(p);
        } catch (IOException | IllegalArgumentException e) {
            throw new ConfigException("--config " + file + ": not a readable properties file (" + e.getMessage() + ")");
        }
    }

    private static Map<String, String> readResource(String name) throws ConfigException {
        try (InputStream in = Settings.class.getClassLoader().getResourceAsStream(name)) {
            if (in == null) {
                throw new ConfigException("the bundled " + name + " is missing from the classpath; pass --config <file>");
            }
            Properties p = new Properties();
            p.load(in);
            return toMap(p);
        } catch (IOException e) {
            throw new ConfigException("the bundled " + name + " cannot be read: " + e.getMessage());
        }
    }

    private static Map<String, String> toMap(Properties p) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String name : p.stringPropertyNames()) {
            m.put(name, p.getProperty(name).trim());
        }
        return m;
    }

    /** The option's value, or its default when it is unset or bad (a bad or missing value is a problem). */
    public <T> T get(Option<T> option) {
        if (option.isPrefix()) {
            return option.type().cast(prefixed(option.key()));
        }
        String key = option.key();
        read.add(key);
        String v = values.get(key);
        if (v == null || v.isEmpty()) {
            if (option.isRequired()) {
                problem(key + " is missing: set it to the " + option.description());
            }
            return option.defaultValue();
        }
        Class<T> type = option.type();
        if (type == String.class) {
            return type.cast(v);
        }
        if (type.isEnum()) {
            return choice(option, v);
        }
        try {
            long n = Long.parseLong(v.replace("_", ""));
            String outOfRange = option.rangeProblem(n, v);
            if (outOfRange != null) {
                problem(outOfRange);
                return option.defaultValue();
            }
            Object value = type == Integer.class ? (Object) (int) n : (Object) n;
            return type.cast(value);
        } catch (NumberFormatException e) {
            problem(key + "=" + v + " is not a whole number: use a whole number from " + option.min() + " to " + option.max());
            return option.defaultValue();
        }
    }

    private Map<String, String> prefixed(String prefix) {
        Map<String, String> found = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : values.entrySet()) {
            if (e.getKey().startsWith(prefix) && e.getKey().length() > prefix.length()) {
                read.add(e.getKey());
                found.put(e.getKey().substring(prefix.length()), e.getValue());
            }
        }
        return Map.copyOf(found);
    }

    private <T> T choice(Option<T> option, String v) {
        List<String> names = new ArrayList<>();
        for (T e : option.type().getEnumConstants()) {
            String name = Option.format(e);
            if (name.equalsIgnoreCase(v) || ((Enum<?>) e).name().equalsIgnoreCase(v)) {
                return e;
            }
            names.add(name);
        }
        problem(option.key() + "=" + v + " is not one of " + String.join(", ", names));
        return option.defaultValue();
    }

    public void problem(String line) {
        problems.add(line);
    }

    /** Throws one ConfigException listing every problem, unknown keys included. */
    public void check() throws ConfigException {
        for (String key : values.keySet()) {
            if (!read.contains(key)) {
                problems.add("unknown key '" + key + "': check the spelling; the keys are " + String.join(", ", read));
            }
        }
        if (!problems.isEmpty()) {
            throw new ConfigException(String.join("\n", problems));
        }
    }
}
