package io.github.tfl1l2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Proves from XLA's own optimized HLO that a training step computes the penalty's gradient of each
 * weight in one fused loop: each weight is read by exactly one instruction, a fused loop (a fusion,
 * or a call that splits one across CPU threads) that computes {@code sign(w)} and the products and
 * whose result, of the weight's shape, is its gradient. Nothing else is computed outside those
 * loops, and nothing is reduced.
 *
 * <p>XLA reads {@code XLA_FLAGS} once per process, so the step runs in a child JVM ({@link
 * GradientHloDumpMain}) with the dump flag set.
 */
class FusedGradientHloTest {
  private static final Pattern ASSIGNED =
      Pattern.compile("^\\s*(ROOT\\s+)?(\\S+) = (\\S+?)(\\{[0-9,]*\\})? ([a-z-]+)\\(([^)]*)\\)");

  @Test
  void eachWeightsGradientIsOneFusedLoopThatReadsItOnceAndWritesOnce(@TempDir Path dump)
      throws Exception {
    List<String> modules = HloDump.optimizedModules(GradientHloDumpMain.class, dump);
    assertEquals(1, modules.size(), "the five weights' gradients share one cluster:\n" + modules);
    String hlo = modules.get(0);
    List<List<String>> computations = HloDump.computations(hlo);
    List<String> entry =
        computations.stream().filter(c -> c.get(0).startsWith("ENTRY")).findFirst().orElseThrow();
    Map<String, String> weightShapes = new HashMap<>();
    Map<String, String> loops = new HashMap<>(); // weight -> the instruction that reads it
    for (String line : entry.subList(1, entry.size())) {
      if (line.contains(" tuple(")) {
        continue; // the cluster's outputs, handed back as they are
      }
      Matcher m = ASSIGNED.matcher(line);
      assertTrue(m.find(), "unparsed HLO line: " + line);
      String op = m.group(5);
      switch (op) {
        case "parameter" -> weightShapes.put(m.group(2), m.group(3));
        case "fusion", "call" -> {
          String operand = m.group(6).trim();
          assertTrue(weightShapes.containsKey(operand), "a loop over one weight: " + line);
          assertEquals(
              weightShapes.get(operand),
              m.group(3),
              "the gradient has the weight's shape: " + line);
          assertTrue(
              loops.put(operand, line) == null, "weight " + operand + " read twice:\n" + hlo);
        }
        default -> throw new AssertionError("computed outside a fused loop: " + line + "\n" + hlo);
      }
    }
    assertEquals(5, weightShapes.size(), "five weights:\n" + hlo);
    assertEquals(weightShapes.keySet(), loops.keySet(), "each weight has its loop:\n" + hlo);
    for (String weight : weightShapes.keySet()) {
      for (String other : entry) {
        if (!other.equals(loops.get(weight)) && !other.contains(weight + " = ")) {
          assertTrue(
              !other.matches(".*[(, ]" + java.util.regex.Pattern.quote(weight) + "[),].*")
                  || other.contains(" tuple("),
              "weight " + weight + " read again: " + other);
        }
      }
    }
    String fused =
        computations.stream()
            .filter(c -> !c.get(0).startsWith("ENTRY"))
            .flatMap(List::stream)
            .reduce("", (a, b) -> a + "\n" + b);
    assertEquals(5, fused.split(" sign\\(", -1).length - 1, "sign(w) once per weight:\n" + hlo);
    assertTrue(fused.contains(" multiply("), "products inside the loops:\n" + hlo);
    assertTrue(
        !hlo.contains(" reduce(") && !hlo.contains("reduce-window("), "no reduction:\n" + hlo);
  }
}
