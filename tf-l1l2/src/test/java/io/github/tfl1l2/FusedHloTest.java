package io.github.tfl1l2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Proves from XLA's own optimized HLO that the penalty reads each weight once: every
 * instruction holding a full-size tensor (other than the parameter itself) lives in a fused
 * computation whose result is the 32-times smaller vector of row sums, and that fusion computes
 * both {@code |w|} and {@code w*w}. No full-size buffer is written, and no {@code reduce-window}
 * (which nothing fuses into on CPU) sees full-size data.
 *
 * <p>XLA reads {@code XLA_FLAGS} once per process, so the penalty runs in a child JVM ({@link
 * HloDumpMain}) with the dump flag set.
 */
class FusedHloTest {
  /** Full-size shapes of the 1M and the 70 001-element parameters: whole, the aligned 69 984-element part, or as rows of 32. */
  private static final Pattern FULL_SIZE =
      Pattern.compile("f32\\[(1048576|32768,32|70001|69984|2187,32)\\]");

  private static final Pattern ASSIGNED_SHAPE =
      Pattern.compile("^\\s*(ROOT\\s+)?\\S+ = (\\S+\\[[0-9,]*\\])");

  @Test
  void optimizedHloReadsEachWeightOnceInOneFusion(@TempDir Path dump) throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    ProcessBuilder builder =
        new ProcessBuilder(
                java, "-cp", System.getProperty("java.class.path"), HloDumpMain.class.getName())
            .redirectErrorStream(true)
            .redirectOutput(dump.resolve("child.log").toFile());
    builder.environment().put("XLA_FLAGS", "--xla_dump_to=" + dump.resolve("hlo"));
    builder.environment().put("TF_CPP_MIN_LOG_LEVEL", "2");
    Process child = builder.start();
    assertTrue(child.waitFor(300, TimeUnit.SECONDS), "child JVM timed out");
    assertEquals(0, child.exitValue(), () -> read(dump.resolve("child.log")));

    List<Path> modules;
    try (Stream<Path> files = Files.list(dump.resolve("hlo"))) {
      modules = files.filter(p -> p.toString().endsWith("cpu_after_optimizations.txt")).toList();
    }
    assertEquals(1, modules.size(), "one compiled cluster expected, got " + modules);
    String hlo = read(modules.get(0));

    int fusedFullSize = 0;
    for (List<String> computation : computations(hlo)) {
      boolean hasFullSize = false;
      boolean abs = false;
      boolean square = false;
      for (String line : computation) {
        if (!FULL_SIZE.matcher(shapeOf(line)).find()) {
          continue;
        }
        hasFullSize = true;
        abs |= line.contains(" abs(");
        square |= line.contains(" multiply(");
        assertFalse(line.contains("reduce-window("), "full-size reduce-window: " + line);
      }
      if (!hasFullSize) {
        continue;
      }
      String root =
          computation.stream().filter(l -> l.trim().startsWith("ROOT")).findFirst().orElse("");
      String header = computation.get(0);
      if (header.startsWith("ENTRY") || !(abs && square)) {
        // Outside the fusion only the incoming parameters may be full-size, and a fusion
        // wrapper (parallel task) that passes them on.
        for (String line : computation) {
          if (FULL_SIZE.matcher(shapeOf(line)).find()) {
            assertTrue(
                line.contains(" parameter("),
                "full-size value written outside a fused reduction:\n" + line + "\nin\n" + header);
          }
        }
        continue;
      }
      assertTrue(
          computation.stream().anyMatch(l -> l.contains(" reduce(")),
          "fusion with |w| and w*w has no reduction: " + header);
      assertFalse(FULL_SIZE.matcher(shapeOf(root)).find(), "fusion writes full size: " + root);
      fusedFullSize++;
    }
    assertEquals(2, fusedFullSize, "one fused |w|,w*w reduction per large parameter:\n" + hlo);
  }

  private static String shapeOf(String line) {
    Matcher m = ASSIGNED_SHAPE.matcher(line);
    return m.find() ? m.group(2) : "";
  }

  /** Splits an HLO module's text into computations, each starting with its header line. */
  private static List<List<String>> computations(String hlo) {
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

  private static String read(Path file) {
    try {
      return Files.readString(file);
    } catch (IOException e) {
      return "<" + e + ">";
    }
  }
}
