package io.github.tfl1l2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Proves from XLA's own optimized HLO that {@link L1L2#minimize} updates a resource variable in one
 * pass: in each cluster, every argument (a weight, or a data gradient) is read by exactly one
 * instruction, a fused loop (a fusion, or a call that splits one across CPU threads) that computes
 * {@code sign(w)}, the products and the update and whose result, of the weight's shape, is the
 * weight's new value, handed back once. Nothing else is computed outside those loops.
 *
 * <p>XLA reads {@code XLA_FLAGS} once per process, so the step runs in a child JVM ({@link
 * ResourceUpdateHloDumpMain}) with the dump flag set.
 */
class ResourceUpdateHloTest {
  private static final Pattern ASSIGNED =
      Pattern.compile("^\\s*(ROOT\\s+)?(\\S+) = (\\S+?)(\\{[0-9,]*\\})? ([a-z-]+)\\(([^)]*)\\)");

  private static final Pattern TUPLE =
      Pattern.compile("^\\s*ROOT \\S+ = \\(.*\\) tuple\\(([^)]*)\\)");

  @Test
  void eachWeightIsReadOnceAndWrittenOnceByOneFusedLoop(@TempDir Path dump) throws Exception {
    List<String> modules = HloDump.optimizedModules(ResourceUpdateHloDumpMain.class, dump);
    assertEquals(
        2,
        modules.size(),
        "three penalty-only weights share one cluster, the fourth has its own:\n" + modules);
    int weights = 0;
    for (String hlo : modules) {
      List<List<String>> computations = HloDump.computations(hlo);
      List<String> entry =
          computations.stream().filter(c -> c.get(0).startsWith("ENTRY")).findFirst().orElseThrow();
      List<String> parameters = new ArrayList<>();
      List<String> loops = new ArrayList<>();
      String outputs = null;
      for (String line : entry.subList(1, entry.size())) {
        Matcher tuple = TUPLE.matcher(line);
        if (tuple.find()) {
          outputs = tuple.group(1);
          continue;
        }
        Matcher m = ASSIGNED.matcher(line);
        assertTrue(m.find(), "unparsed HLO line: " + line);
        switch (m.group(5)) {
          case "parameter" -> parameters.add(m.group(2));
          case "fusion", "call" -> {
            assertEquals(
                "f32[" + ResourceUpdates.XLA_MIN_ELEMENTS + "]",
                m.group(3),
                "the loop's result has the weight's shape: " + line);
            loops.add(m.group(2));
            if (m.group(1) != null) {
              outputs = m.group(2); // one output: the loop is the root
            }
          }
          default ->
              throw new AssertionError("computed outside a fused loop: " + line + "\n" + hlo);
        }
      }
      for (String parameter : parameters) {
        long readers =
            entry.stream()
                .filter(l -> !l.contains(parameter + " = "))
                .filter(l -> l.matches(".*[(, ]" + Pattern.quote(parameter) + "[),].*"))
                .count();
        assertEquals(1, readers, "argument " + parameter + " is read once:\n" + hlo);
      }
      assertTrue(outputs != null, "the cluster hands back its results:\n" + hlo);
      List<String> written = List.of(outputs.split(",\\s*"));
      assertEquals(loops.size(), written.size(), "one output per loop:\n" + hlo);
      assertTrue(written.containsAll(loops), "each loop's result is written back once:\n" + hlo);
      String fused =
          computations.stream()
              .filter(c -> !c.get(0).startsWith("ENTRY"))
              .flatMap(List::stream)
              .reduce("", (a, b) -> a + "\n" + b);
      assertEquals(
          loops.size(), fused.split(" sign\\(", -1).length - 1, "sign(w) once per weight:\n" + hlo);
      assertTrue(fused.contains(" subtract("), "the update inside the loops:\n" + hlo);
      weights += loops.size();
    }
    assertEquals(4, weights, "four weights updated");
  }
}
