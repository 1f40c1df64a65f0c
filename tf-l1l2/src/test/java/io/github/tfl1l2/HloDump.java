package io.github.tfl1l2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Runs a main class in a child JVM with {@code XLA_FLAGS=--xla_dump_to=DIR} (XLA reads the flag
 * once per process) and reads back the optimized HLO modules it compiled.
 */
final class HloDump {
  private HloDump() {}

  private static final Pattern ASSIGNED_SHAPE =
      Pattern.compile("^\\s*(ROOT\\s+)?\\S+ = (\\S+\\[[0-9,]*\\])");

  /** Runs {@code main} with the dump flag and returns the text of each optimized module. */
  static List<String> optimizedModules(Class<?> main, Path dir) throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    ProcessBuilder builder =
        new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), main.getName())
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve("child.log").toFile());
    builder.environment().put("XLA_FLAGS", "--xla_dump_to=" + dir.resolve("hlo"));
    builder.environment().put("TF_CPP_MIN_LOG_LEVEL", "2");
    Process child = builder.start();
    try {
      assertTrue(child.waitFor(300, TimeUnit.SECONDS), "child JVM timed out");
    } finally {
      child.destroyForcibly();
    }
    assertEquals(0, child.exitValue(), () -> read(dir.resolve("child.log")));
    List<String> modules = new ArrayList<>();
    try (Stream<Path> files = Files.list(dir.resolve("hlo"))) {
      for (Path file :
          files
              .filter(p -> p.toString().endsWith("cpu_after_optimizations.txt"))
              .sorted()
              .toList()) {
        modules.add(read(file));
      }
    }
    return modules;
  }

  /** The shape an HLO instruction line assigns, e.g. {@code f32[32768,32]}; empty if none. */
  static String shapeOf(String line) {
    Matcher m = ASSIGNED_SHAPE.matcher(line);
    return m.find() ? m.group(2) : "";
  }

  /** Splits an HLO module's text into computations, each starting with its header line. */
  static List<List<String>> computations(String hlo) {
    List<List<String>> result = new ArrayList<>();
    List<String> current = null;
    for (String line : hlo.split("\n")) {
      if (line.endsWith("{") && !line.startsWith(" ") && !line.startsWith("HloModule")) {
        current = new ArrayList<>();
        current.add(line);
      } else if (line.startsWith("}") && current != null) {
        result.add(current);
        current = null;
      } else if (current != null) {
        current.add(line);
      }
    }
    return result;
  }

  /** The ROOT line of a computation, or an empty string. */
  static String root(List<String> computation) {
    return computation.stream().filter(l -> l.trim().startsWith("ROOT")).findFirst().orElse("");
  }

  static String read(Path file) {
    try {
      return Files.readString(file);
    } catch (IOException e) {
      return "<" + e + ">";
    }
  }
}
