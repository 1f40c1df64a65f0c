package io.github.tfl1l2.gradients;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.DisabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.tensorflow.internal.c_api.global.tensorflow;

/** {@link MissingGradients#register()}: what it registers, once, from any thread. */
@DisabledOnOs(OS.WINDOWS)
class MissingGradientsTest {
  /** Every op type the library provides; none has a gradient in TensorFlow 2.18 by itself. */
  static final List<String> ALL =
      List.of(
          "SparseSoftmaxCrossEntropyWithLogits",
          "SparseSegmentSum",
          "SparseSegmentSumWithNumSegments",
          "SparseSegmentMean",
          "SparseSegmentMeanWithNumSegments",
          "SparseSegmentSqrtN",
          "SparseSegmentSqrtNWithNumSegments",
          "TopKV2",
          "TopK",
          "Xlogy",
          "Cumprod");

  @Test
  void registersEveryOpTypeNobodyElseHasAGradientFor() {
    Set<String> provided = MissingGradients.register();
    assertEquals(ALL, List.copyOf(provided));
    for (String opType : ALL) {
      assertTrue(tensorflow.TFJ_HasGradient(opType), opType + " has a gradient");
    }
  }

  @Test
  void aSecondCallReturnsTheSameSet() {
    Set<String> first = MissingGradients.register();
    assertSame(first, MissingGradients.register());
  }

  @Test
  void theSetCannotBeChanged() {
    Set<String> provided = MissingGradients.register();
    assertThrows(UnsupportedOperationException.class, () -> provided.add("Erfc"));
    assertThrows(UnsupportedOperationException.class, () -> provided.remove("Xlogy"));
  }

  @Test
  void threadsCallingAtOnceAllGetTheSameSet() throws Exception {
    int threads = 8;
    CountDownLatch start = new CountDownLatch(1);
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<Set<String>>> results = new ArrayList<>();
      for (int i = 0; i < threads; i++) {
        results.add(
            pool.submit(
                () -> {
                  start.await();
                  return MissingGradients.register();
                }));
      }
      start.countDown();
      Set<String> first = results.get(0).get(30, TimeUnit.SECONDS);
      for (Future<Set<String>> result : results) {
        assertSame(first, result.get(30, TimeUnit.SECONDS));
      }
    } finally {
      pool.shutdownNow();
    }
  }

  /**
   * In a fresh JVM, where the application registered a gradient for {@code Cumprod} first: eight
   * threads make the first calls at once, all get one set without {@code Cumprod}, and the
   * application's gradient stays in force (its value, 7 per entry, is what {@code addGradients}
   * gives), while this library's {@code Xlogy} gradient gives {@code x / y} for {@code y}. All
   * eleven op types share one native callback: the application can still register eight gradients
   * of its own through {@code TensorFlow.registerCustomGradient}, and they run (ten callbacks fit
   * in a TF-Java 1.1.0 process).
   */
  @Test
  void aGradientRegisteredFirstStaysInForceAndIsNotInTheSet() throws Exception {
    List<String> lines = runFresh(RegistrationMain.class.getName());
    List<String> expected = new ArrayList<>(ALL);
    expected.remove("Cumprod");
    assertEquals(
        List.of(
            "application registered Cumprod: true",
            "distinct sets: 1",
            "provided: " + expected,
            "Cumprod gradient: [7.0, 7.0, 7.0]",
            "Xlogy gradient: [0.5, 0.75]",
            "application gradients 8 and 6: [2.0, 2.0] [6.0, 6.0]"),
        lines);
  }

  private static List<String> runFresh(String mainClass) throws IOException, InterruptedException {
    String classPath = System.getProperty("surefire.test.class.path");
    if (classPath == null || classPath.isEmpty()) {
      classPath = System.getProperty("java.class.path");
    }
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    ProcessBuilder builder =
        new ProcessBuilder(java.toString(), "-cp", classPath, mainClass).redirectErrorStream(false);
    builder.environment().put("TF_CPP_MIN_LOG_LEVEL", "2");
    builder.redirectError(ProcessBuilder.Redirect.DISCARD);
    Process process = builder.start();
    String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(process.waitFor(120, TimeUnit.SECONDS), "the fresh JVM finished");
    assertEquals(0, process.exitValue(), "exit status; output:\n" + out);
    return out.lines().toList();
  }
}
