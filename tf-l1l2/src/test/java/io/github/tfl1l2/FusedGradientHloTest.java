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
 * Proves from XLA's own optimized HLO that a training step computes the penalty's gradient of
 * each large weight in one fused loop: the weight is read by exactly one instruction, a call into
 * a fusion that computes {@code sign(w)} and the products and whose result is the gradient, the
 * only full-size value the cluster writes. No reduction, broadcast to full size outside the
 * fusion, or second pass appears.
 *
 * <p>XLA reads {@code XLA_FLAGS} once per process, so the step runs in a child JVM ({@link
 * GradientHloDumpMain}) with the dump flag set.
 */
class FusedGradientHloTest {
  /** The two large parameters of {@link GradientHloDumpMain}: 1M and 70 001 floats. */
  private static final Pattern FULL_SIZE = Pattern.compile("f32\\[(1048576|70001)\\]");

  private static final Pattern ASSIGNED =
      Pattern.compile("^\\s*(ROOT\\s+)?(\\S+) = (\\S+\\[[0-9,]*\\])\\{?[0-9,]*\\}? (\\S+)\\(");

  @Test
  void eachLargeWeightsGradientIsOneFusedPassThatReadsItOnceAndWritesOnce(@TempDir Path dump)
      throws Exception {
    List<String> modules = HloDump.optimizedModules(GradientHloDumpMain.class, dump);
    int gradientsOfLargeWeights = 0;
    for (String hlo : modules) {
      List<List<String>> computations = HloDump.computations(hlo);
      List<String> entry =
          computations.stream().filter(c -> c.get(0).startsWith("ENTRY")).findFirst().orElseThrow();
      if (!FULL_SIZE.matcher(entry.get(0) + String.join("\n", entry)).find()) {
        continue; // the small weights' shared cluster
      }
      gradientsOfLargeWeights++;
      List<String> parameters = new ArrayList<>();
      List<String> writes = new ArrayList<>();
      for (String line : entry.subList(1, entry.size())) {
        Matcher m = ASSIGNED.matcher(line);
        if (!m.find() || !FULL_SIZE.matcher(m.group(3)).find()) {
          continue;
        }
        if (m.group(4).equals("parameter")) {
          parameters.add(m.group(2));
        } else {
          writes.add(line);
        }
      }
      assertEquals(1, parameters.size(), "one full-size input, the weight:\n" + hlo);
      assertEquals(1, writes.size(), "one full-size value written, the gradient:\n" + hlo);
      String write = writes.get(0);
      String weight = parameters.get(0);
      assertTrue(
          write.contains(" call(" + weight + ")") || write.contains(" fusion(" + weight + ")"),
          "the gradient is one fused pass over the weight: " + write);
      long readers =
          entry.stream().filter(l -> l.contains("(" + weight + ")") || l.contains(" " + weight + ",")).count();
      assertEquals(1, readers, "the weight is read once:\n" + hlo);
      String fused =
          computations.stream()
              .filter(c -> !c.get(0).startsWith("ENTRY"))
              .flatMap(List::stream)
              .reduce("", (a, b) -> a + "\n" + b);
      assertTrue(fused.contains(" sign("), "sign(w) inside the fusion:\n" + hlo);
      assertTrue(fused.contains(" multiply("), "products inside the fusion:\n" + hlo);
      assertTrue(!hlo.contains(" reduce(") && !hlo.contains("reduce-window("), "no reduction:\n" + hlo);
    }
    assertEquals(2, gradientsOfLargeWeights, "one gradient cluster per large weight:\n" + modules);
  }
}
