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
 * Proves from XLA's optimized HLO that {@link L1L2#sums} reads each weight once for both sums: per
 * parameter, one fusion computes {@code |w|} and {@code w*w} from the full-size input and writes
 * only the per-row pairs (16 times smaller); nothing else touches full-size data.
 */
class SumsHloTest {
  /** The 1M and 70 001 parameters, whole, aligned, as rows of 32, or stacked as [rows, 2, 32]. */
  private static final Pattern FULL_SIZE =
      Pattern.compile("f32\\[(1048576|32768,32|32768,2,32|70001|69984|2187,32|2187,2,32)\\]");

  @Test
  void eachParameterIsReadOnceByOneFusionThatComputesBothSums(@TempDir Path dump) throws Exception {
    List<String> modules = HloDump.optimizedModules(SumsHloDumpMain.class, dump);
    assertEquals(2, modules.size(), "one cluster per parameter");
    for (String hlo : modules) {
      int fusions = 0;
      for (List<String> computation : HloDump.computations(hlo)) {
        List<String> fullSize =
            computation.stream().filter(l -> FULL_SIZE.matcher(HloDump.shapeOf(l)).find()).toList();
        if (fullSize.isEmpty()) {
          continue;
        }
        String header = computation.get(0);
        boolean both =
            fullSize.stream().anyMatch(l -> l.contains(" abs("))
                && fullSize.stream().anyMatch(l -> l.contains(" multiply("));
        if (header.startsWith("ENTRY") || !both) {
          for (String line : fullSize) {
            assertTrue(
                line.contains(" parameter(")
                    || line.contains(" slice(")
                    || line.contains(" bitcast("),
                "full-size value outside the fused reduction:\n" + line + "\nin " + header);
          }
          continue;
        }
        assertTrue(
            computation.stream().anyMatch(l -> l.contains(" reduce(")),
            "fusion with |w| and w*w has no reduction: " + header);
        String root = HloDump.root(computation);
        assertFalse(FULL_SIZE.matcher(HloDump.shapeOf(root)).find(), "writes full size: " + root);
        assertFalse(hlo.contains("reduce-window(") && fullSizeReduceWindow(hlo), hlo);
        fusions++;
      }
      assertEquals(1, fusions, "one fused pass per parameter:\n" + hlo);
    }
  }

  private static boolean fullSizeReduceWindow(String hlo) {
    for (String line : hlo.split("\n")) {
      if (line.contains("reduce-window(") && FULL_SIZE.matcher(HloDump.shapeOf(line)).find()) {
        return true;
      }
    }
    return false;
  }
}
