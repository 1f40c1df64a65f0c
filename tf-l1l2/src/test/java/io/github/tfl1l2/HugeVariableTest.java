package io.github.tfl1l2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * One 1 GiB float32 variable: the penalty is within 1e-5 of the reference and a run adds at most
 * one copy of the weights to the resident memory.
 *
 * <p>Each configuration runs in a child JVM of its own with {@code TF_ENABLE_ONEDNN_OPTS=0}: with
 * oneDNN on (TensorFlow's default on x86 Linux) the CPU allocator keeps freed buffers, so memory
 * freed while the weights were built would silently absorb a copy and RSS would not show it.
 */
@Tag("soak")
class HugeVariableTest {

  /** Entry point of the child JVM: {@code HugeVariableTest$Probe <xla>}. */
  static final class Probe {
    private Probe() {}

    public static void main(String[] args) {
      long[] extra = ScaleTest.measureHugeVariable(Boolean.parseBoolean(args[0]));
      System.out.println("EXTRA " + extra[0] + " " + extra[1]);
    }
  }

  @ParameterizedTest(name = "xla={0}")
  @ValueSource(booleans = {false, true})
  void sumsWithinOneHundredThousandthCopyingTheWeightsAtMostOnce(boolean xla) throws Exception {
    String classPath =
        System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    ProcessBuilder child =
        new ProcessBuilder(
                new File(System.getProperty("java.home"), "bin/java").getPath(),
                "-cp",
                classPath,
                Probe.class.getName(),
                Boolean.toString(xla))
            .redirectErrorStream(true);
    child.environment().put("TF_ENABLE_ONEDNN_OPTS", "0");
    child.environment().put("TF_CPP_MIN_LOG_LEVEL", "2");
    Process process = child.start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(process.waitFor(10, TimeUnit.MINUTES), "child JVM did not finish");
    System.out.println(output);
    assertEquals(0, process.exitValue(), output);
    List<String> lines = output.lines().filter(l -> l.startsWith("EXTRA ")).toList();
    assertEquals(1, lines.size(), output);
    String[] f = lines.get(0).split(" ");
    long weights = 1L << 30;
    for (int run = 1; run <= 2; run++) {
      long extra = Long.parseLong(f[run]);
      assertTrue(
          extra <= weights + 64 * Memory.MIB,
          "run " + run + " holds more than one copy of the weights: " + Memory.mib(extra));
    }
  }
}
