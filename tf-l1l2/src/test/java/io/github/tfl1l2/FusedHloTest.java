package io.github.tfl1l2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Proves from XLA's own optimized HLO that the penalty reads each weight once: every instruction
 * holding a full-size tensor (other than the parameter itself) lives in a fused computation whose
 * result is the 32-times smaller vector of row sums, and that fusion computes both {@code |w|} and
 * {@code w*w}. There is one such fusion for all parameters of the cluster. No full-size buffer is
 * written, and no {@code reduce-window} (which nothing fuses into on CPU) sees full-size data.
 *
 * <p>The penalty runs in a child JVM ({@link HloDumpMain}, through {@link HloDump}).
 */
class FusedHloTest {
  /**
   * Full-size shapes of the 1M and the 70 001-element parameters: whole, the aligned 69 984-element
   * part, or as rows of 32.
   */
  private static final Pattern FULL_SIZE =
      Pattern.compile("f32\\[(1048576|32768,32|70001|69984|2187,32)\\]");

  @Test
  void optimizedHloReadsEachWeightOnceInOneFusion(@TempDir Path dump) throws Exception {
    List<String> modules = HloDump.optimizedModules(HloDumpMain.class, dump);
    assertEquals(1, modules.size(), "one compiled cluster expected, got " + modules.size());
    String hlo = modules.get(0);

    int fusedFullSize = 0;
    for (List<String> computation : HloDump.computations(hlo)) {
      boolean hasFullSize = false;
      boolean abs = false;
      boolean square = false;
      for (String line : computation) {
        if (!FULL_SIZE.matcher(HloDump.shapeOf(line)).find()) {
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
      String root = HloDump.root(computation);
      String header = computation.get(0);
      if (header.startsWith("ENTRY") || !(abs && square)) {
        // Outside the fusion only the incoming parameters may be full-size, and a fusion
        // wrapper (parallel task) that passes them on.
        for (String line : computation) {
          if (FULL_SIZE.matcher(HloDump.shapeOf(line)).find()) {
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
      assertFalse(
          FULL_SIZE.matcher(HloDump.shapeOf(root)).find(), "fusion writes full size: " + root);
      fusedFullSize++;
    }
    // Both large parameters (and the joined small ones) are reduced by one fusion, which XLA
    // splits once across the cores; one fusion per parameter would run them one after another.
    assertEquals(1, fusedFullSize, "one fused |w|,w*w reduction for all parameters:\n" + hlo);
  }
}
