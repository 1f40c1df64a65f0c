package io.github.tfl1l2.cli;

import static io.github.tfl1l2.savedmodel.TestModels.EXAMPLE;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.tfl1l2.savedmodel.Keras3SavedModelFixture;
import io.github.tfl1l2.savedmodel.TestModels;
import io.github.tfl1l2.testing.References;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.SavedModelBundle;

/**
 * Corrupt copies of the example model (truncated files, flipped bits, hostile tensor shapes; see
 * {@link ModelMutator}) given to {@code penalty} and {@code regularize}: every case either succeeds
 * with the example's own penalty or fails with one line naming {@code --model}, exit status 1 or 2,
 * nothing written and the input unchanged; none leaves a JVM crash dump, and a case that aborts or
 * hangs TensorFlow in-process is judged as the supervised command line.
 */
class HostileInputFuzzTest {
  /** Cases in the default suite: a quick sample of every kind of mutation. */
  static final int QUICK_CASES = 200;

  /**
   * Cases in the soak run: {@code mvn -B test -Dtest=HostileInputFuzzTest -Dgroups=soak
   * -DexcludedGroups=}.
   */
  static final int SOAK_CASES = 1200;

  /**
   * Cases in the default suite on a Keras 3 model laid out as {@code tf.saved_model.save} writes
   * it, whose variables are restored by the object graph after TensorFlow's loader ran.
   */
  static final int KERAS3_CASES = 30;

  @TempDir Path temp;

  /** The example's penalty with the commands' defaults (l2 = 0.01), from its variables. */
  private static double expectedPenalty() {
    double sumOfSquares = 0;
    try (SavedModelBundle bundle = SavedModelBundle.load(EXAMPLE.toString(), "serve")) {
      for (String name : List.of("dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias")) {
        sumOfSquares += References.l2Sum(TestModels.values(bundle.session(), name));
      }
    }
    return 0.01 * sumOfSquares;
  }

  private void fuzz(int cases) throws Exception {
    double expected = expectedPenalty();
    Map<String, String> seedBefore = TestModels.digest(EXAMPLE);
    long start = System.nanoTime();
    List<FuzzHarness.Outcome> outcomes =
        new FuzzHarness(EXAMPLE, temp, Duration.ofSeconds(15), Duration.ofSeconds(10))
            .run(0, cases);
    long seconds = (System.nanoTime() - start) / 1_000_000_000;
    assertEquals(cases, outcomes.size(), "every case has an outcome");
    for (FuzzHarness.Outcome outcome : outcomes) {
      FuzzHarness.assertContract(outcome, expected);
    }
    assertEquals(seedBefore, TestModels.digest(EXAMPLE), "the committed example is untouched");
    System.out.println(summary(outcomes, seconds));
  }

  /**
   * Counts by mutation kind and result, for the record (docs/savedmodels.md quotes a soak run's).
   */
  static String summary(List<FuzzHarness.Outcome> outcomes, long seconds) {
    Map<String, Long> counts =
        new TreeMap<>(
            outcomes.stream()
                .collect(
                    Collectors.groupingBy(
                        o ->
                            o.kind()
                                + " "
                                + o.file().replaceFirst(".*/", "")
                                + " -> "
                                + (o.exit() == 0
                                    ? "exit 0, correct penalty"
                                    : "exit " + o.exit() + ", one line")
                                + (o.inProcess().equals("in-process")
                                    ? ""
                                    : " [" + o.inProcess() + "]"),
                        Collectors.counting())));
    StringBuilder text = new StringBuilder(outcomes.size() + " mutations in " + seconds + " s\n");
    counts.forEach((k, v) -> text.append(String.format("%5d  %s%n", v, k)));
    outcomes.stream()
        .filter(o -> !o.inProcess().equals("in-process"))
        .forEach(o -> text.append("  ").append(o.describe().strip()).append('\n'));
    return text.toString();
  }

  @Test
  void aSampleOfCorruptModelsFailsCleanlyOrGivesTheRightPenalty() throws Exception {
    fuzz(QUICK_CASES);
  }

  @Test
  void corruptKeras3SavedLayoutModelsFailCleanlyOrGiveTheRightPenalty() throws Exception {
    Path seed = Keras3SavedModelFixture.create(temp.resolve("keras3-seed"));
    // The commands' default: l2 = 0.01 over the trainable weights, which the serving functions
    // read; recomputed from the archive the fixture was built from, loaded as it is.
    double sumOfSquares = 0;
    Path source = TestModels.external(Keras3SavedModelFixture.SOURCE);
    try (SavedModelBundle bundle = SavedModelBundle.load(source.toString(), "serve")) {
      for (String layer :
          List.of("dense", "dense_1", "dense_2", "classification_head", "regression_head")) {
        for (String weight : List.of("kernel", "bias")) {
          sumOfSquares +=
              References.l2Sum(
                  TestModels.values(
                      bundle.session(), layer + "/" + weight + "_1/Read/ReadVariableOp"));
        }
      }
      for (String layer : List.of("batch_normalization", "batch_normalization_1")) {
        for (String weight : List.of("gamma", "beta")) {
          sumOfSquares +=
              References.l2Sum(
                  TestModels.values(
                      bundle.session(), layer + "/" + weight + "_1/Read/ReadVariableOp"));
        }
      }
    }
    Map<String, String> seedBefore = TestModels.digest(seed);
    Path work = java.nio.file.Files.createDirectories(temp.resolve("keras3-fuzz"));
    long start = System.nanoTime();
    List<FuzzHarness.Outcome> outcomes =
        new FuzzHarness(seed, work, Duration.ofSeconds(30), Duration.ofSeconds(20))
            .run(0, KERAS3_CASES);
    long seconds = (System.nanoTime() - start) / 1_000_000_000;
    assertEquals(KERAS3_CASES, outcomes.size(), "every case has an outcome");
    for (FuzzHarness.Outcome outcome : outcomes) {
      FuzzHarness.assertContract(outcome, 0.01 * sumOfSquares);
    }
    assertEquals(seedBefore, TestModels.digest(seed), "the seed is untouched");
    System.out.println(summary(outcomes, seconds));
  }

  @Test
  @Tag("soak")
  void overAThousandCorruptModelsFailCleanlyOrGiveTheRightPenalty() throws Exception {
    fuzz(SOAK_CASES);
  }
}
