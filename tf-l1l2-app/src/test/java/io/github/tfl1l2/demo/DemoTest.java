package io.github.tfl1l2.demo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.tfl1l2.testing.References;
import java.awt.image.BufferedImage;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Signature;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TFloat64;
import picocli.CommandLine;

/**
 * Runs {@code tf-l1l2 demo --quick} once, in-process, and checks every claim it makes against
 * numbers recomputed here from the trained weights and the generated problem.
 */
class DemoTest {
  @TempDir static Path outputs;

  private static DemoReport report;
  private static String printed;
  private static Path exportDirectory;
  private static int exitCode;

  @BeforeAll
  static void runQuickDemo() {
    exportDirectory = outputs.resolve("model");
    StringWriter text = new StringWriter();
    DemoCommand command = new DemoCommand();
    exitCode =
        new CommandLine(command)
            .setOut(new PrintWriter(text, true))
            .execute(
                "--quick",
                "--out",
                outputs.resolve("charts").toString(),
                "--export",
                exportDirectory.toString());
    printed = text.toString();
    report = command.report();
  }

  @Test
  void theQuickDemoSucceeds() {
    assertEquals(0, exitCode, printed);
    assertNotNull(report);
  }

  @Test
  void l1YieldsASparserModelThanL2() {
    int l1 = nonZero(weights(Demo.L1_ONLY));
    int l2 = nonZero(weights(Demo.L2_ONLY));
    assertTrue(l1 < l2 / 2, "L1 only keeps " + l1 + " weights, L2 only " + l2);
    assertTrue(nonZero(weights(Demo.L1_L2)) < l2, "L1+L2 must also be sparser than L2 only");
  }

  @Test
  void l1RecoversTheTrueSupportBetterThanNoPenalty() {
    double[] truth = report.problem().trueWeights();
    double[] l1 = weights(Demo.L1_ONLY);
    double[] none = weights(Demo.NO_PENALTY);
    assertTrue(
        precision(l1, truth) > 2 * precision(none, truth),
        "precision L1 " + precision(l1, truth) + " vs no penalty " + precision(none, truth));
    assertEquals(1.0, recall(l1, truth), "every informative feature keeps a non-zero weight");
  }

  @Test
  void l1GeneralizesBetterThanNoPenalty() {
    SparseRegressionProblem p = report.problem();
    double none = testError(p, Demo.NO_PENALTY);
    double l1 = testError(p, Demo.L1_ONLY);
    assertTrue(l1 < none / 2, "test MSE L1 " + l1 + " vs no penalty " + none);
  }

  @Test
  void theL1WeightsAreTheOptimumOfTheRegularizedLossWithItsExactZeros() {
    assertIsTheOptimum(Demo.L1_ONLY);
  }

  @Test
  void theL1L2WeightsAreTheOptimumOfTheRegularizedLossWithItsExactZeros() {
    assertIsTheOptimum(Demo.L1_L2);
  }

  @Test
  void theSubgradientRunLandsOnNoZeroAndIsReportedOnceWithItsCount() {
    ScoredModel plain = report.subgradient();
    assertEquals(Setting.Step.SUBGRADIENT, plain.setting().step());
    int nonZero = nonZero(plain.model().weights());
    assertTrue(
        nonZero > 2 * nonZero(weights(Demo.L1_ONLY)),
        "plain GD keeps "
            + nonZero
            + " non-zero weights, the prox "
            + nonZero(weights(Demo.L1_ONLY)));
    List<String> rows =
        printed
            .lines()
            .filter(
                line -> line.trim().startsWith(Demo.L1_SUBGRADIENT + " ") && line.contains("/200"))
            .toList();
    assertEquals(1, rows.size(), printed);
    assertTrue(rows.get(0).contains(" " + nonZero + "/200"), rows.get(0));
    for (ScoredModel m : report.settings()) {
      assertEquals(Setting.Step.PROXIMAL, m.setting().step(), m.setting().label());
    }
  }

  @Test
  void theSummaryTableReportsWhatTheWeightsShow() {
    List<ScoredModel> rows = new java.util.ArrayList<>(report.settings());
    rows.add(report.subgradient());
    for (ScoredModel m : rows) {
      double[] truth = report.problem().trueWeights();
      int nonZero = nonZero(m.model().weights());
      String row =
          printed
              .lines()
              .filter(line -> line.trim().startsWith(m.setting().label() + " "))
              .filter(line -> line.contains("/200"))
              .findFirst()
              .orElseThrow(() -> new AssertionError("no summary row for " + m.setting().label()));
      assertTrue(row.contains(" " + nonZero + "/200"), row + " should count " + nonZero);
      assertTrue(
          row.contains(
              String.format(java.util.Locale.ROOT, "%.2f", recall(m.model().weights(), truth))),
          row);
    }
  }

  @Test
  void thePathRunsFromADenseModelToAnEmptyOne() {
    List<ScoredModel> path = report.path();
    assertEquals(DemoSettings.QUICK_PATH_POINTS, path.size());
    for (int i = 1; i < path.size(); i++) {
      assertTrue(path.get(i).setting().l1() > path.get(i - 1).setting().l1());
    }
    assertTrue(nonZero(path.get(0).model().weights()) > 50, "smallest coefficient: dense");
    assertEquals(
        0,
        nonZero(path.get(path.size() - 1).model().weights()),
        "largest coefficient: every weight zero");
  }

  @Test
  void theChartsAreReadablePngImages() throws Exception {
    assertEquals(3, report.charts().size());
    for (Path chart : report.charts()) {
      assertTrue(printed.contains(chart.toString()), "the path " + chart + " is printed");
      assertTrue(chart.startsWith(outputs.resolve("charts")), chart + " is in --out");
      BufferedImage image = ImageIO.read(chart.toFile());
      assertNotNull(image, chart + " is a readable image");
      assertTrue(
          image.getWidth() >= 800 && image.getHeight() >= 500,
          chart + " is " + image.getWidth() + "x" + image.getHeight());
      assertTrue(distinctColours(image) > 20, chart + " has content, not a blank canvas");
    }
  }

  @Test
  void theExportedSavedModelServesTheTrainedModel() {
    double[] w = weights(Demo.L1_L2);
    double b = report.setting(Demo.L1_L2).model().bias();
    double[][] rows = report.problem().testFeatures();
    try (SavedModelBundle bundle = SavedModelBundle.load(exportDirectory.toString(), "serve");
        TFloat32 x =
            TFloat32.tensorOf(
                Shape.of(rows.length, w.length),
                t -> {
                  for (int i = 0; i < rows.length; i++) {
                    for (int j = 0; j < w.length; j++) {
                      t.setFloat((float) rows[i][j], i, j);
                    }
                  }
                });
        Result served = bundle.function(Signature.DEFAULT_KEY).call(Map.of("features", x))) {
      TFloat32 prediction = (TFloat32) served.get("prediction").orElseThrow();
      assertEquals(rows.length, prediction.shape().get(0));
      for (int i = 0; i < rows.length; i++) {
        double expected = b;
        for (int j = 0; j < w.length; j++) {
          expected += (float) rows[i][j] * w[j];
        }
        assertEquals(expected, prediction.getFloat(i), 1e-4, "row " + i);
      }
    }
  }

  @Test
  void theExportedRegularizationSignatureMatchesADoublePrecisionRecomputation() {
    Setting exported = report.setting(Demo.L1_L2).setting();
    try (SavedModelBundle bundle = SavedModelBundle.load(exportDirectory.toString(), "serve")) {
      Set<String> keys = new HashSet<>();
      bundle.signatures().forEach(s -> keys.add(s.key()));
      assertEquals(Set.of("serving_default", "regularization"), keys);

      double absSum = 0.0;
      double squareSum = 0.0;
      try (Result variables = bundle.session().runner().fetch("weights").run()) {
        TFloat32 w = (TFloat32) variables.get(0);
        for (int j = 0; j < w.shape().get(0); j++) {
          double v = w.getFloat(j, 0);
          absSum += Math.abs(v);
          squareSum += v * v;
        }
      }
      try (Result outputs = bundle.function("regularization").call(Map.of())) {
        double expectedPenalty = exported.l1() * absSum + exported.l2() * squareSum;
        assertEquals(expectedPenalty, scalar(outputs, "penalty"), 1e-5 * expectedPenalty);
        assertEquals(absSum, scalar(outputs, "l1_sum"), 1e-5 * absSum);
        assertEquals(squareSum, scalar(outputs, "l2_sum"), 1e-5 * squareSum);
        TFloat32 perVariable = (TFloat32) outputs.get("per_variable").orElseThrow();
        assertEquals(1, perVariable.shape().get(0), "only the weights are regularized");
        assertEquals(expectedPenalty, perVariable.getFloat(0), 1e-5 * expectedPenalty);
        TFloat64 coefficients = (TFloat64) outputs.get("coefficients").orElseThrow();
        assertEquals(exported.l1(), coefficients.getDouble(0));
        assertEquals(exported.l2(), coefficients.getDouble(1));
        assertEquals(1.0, coefficients.getDouble(2));
      }
    }
    assertTrue(printed.contains("-> match"), printed);
  }

  @Test
  void theSameSeedGivesTheSameNumbers(@TempDir Path second) {
    DemoCommand command = new DemoCommand();
    int code =
        new CommandLine(command)
            .setOut(new PrintWriter(new StringWriter()))
            .execute("--quick", "--out", second.toString());
    assertEquals(0, code);
    DemoReport again = command.report();
    for (int i = 0; i < report.settings().size(); i++) {
      assertArrayEquals(
          report.settings().get(i).model().weights(),
          again.settings().get(i).model().weights(),
          report.settings().get(i).setting().label());
      assertEquals(
          report.settings().get(i).model().finalPenalty(),
          again.settings().get(i).model().finalPenalty());
    }
    for (int i = 0; i < report.path().size(); i++) {
      assertArrayEquals(
          report.path().get(i).model().weights(),
          again.path().get(i).model().weights(),
          "path point " + i);
    }
    assertTrue(
        Files.isRegularFile(second.resolve("savedmodel").resolve("saved_model.pb")),
        "--export defaults to a folder inside --out");
  }

  /**
   * The trained weights equal an exact coordinate-descent optimum of the same loss, computed in
   * double, and are exactly zero where it is.
   */
  private static void assertIsTheOptimum(String label) {
    SparseRegressionProblem p = report.problem();
    Setting setting = report.setting(label).setting();
    double[] optimum =
        References.elasticNet(p.trainFeatures(), p.trainTargets(), setting.l1(), setting.l2(), true)
            .weights();
    double[] trained = weights(label);
    for (int j = 0; j < trained.length; j++) {
      assertEquals(optimum[j], trained[j], 1e-3, label + " weight " + j);
      assertEquals(
          optimum[j] == 0.0,
          trained[j] == 0.0,
          label + " weight " + j + ": optimum " + optimum[j] + ", trained " + trained[j]);
    }
  }

  private static double[] weights(String label) {
    return report.setting(label).model().weights();
  }

  private static int nonZero(double[] w) {
    int count = 0;
    for (double v : w) {
      if (v != 0.0) {
        count++;
      }
    }
    return count;
  }

  private static double precision(double[] w, double[] truth) {
    int selected = 0;
    int right = 0;
    for (int j = 0; j < w.length; j++) {
      if (w[j] != 0.0) {
        selected++;
        if (truth[j] != 0.0) {
          right++;
        }
      }
    }
    return (double) right / selected;
  }

  private static double recall(double[] w, double[] truth) {
    int informative = 0;
    int found = 0;
    for (int j = 0; j < w.length; j++) {
      if (truth[j] != 0.0) {
        informative++;
        if (w[j] != 0.0) {
          found++;
        }
      }
    }
    return (double) found / informative;
  }

  private static double testError(SparseRegressionProblem p, String label) {
    double[] w = weights(label);
    double b = report.setting(label).model().bias();
    double sum = 0.0;
    for (int i = 0; i < p.testFeatures().length; i++) {
      double residual = b - p.testTargets()[i];
      for (int j = 0; j < w.length; j++) {
        residual += p.testFeatures()[i][j] * w[j];
      }
      sum += residual * residual;
    }
    return sum / p.testFeatures().length;
  }

  private static double scalar(Result result, String name) {
    return ((TFloat32) result.get(name).orElseThrow()).getFloat();
  }

  private static int distinctColours(BufferedImage image) {
    Set<Integer> colours = new HashSet<>();
    for (int y = 0; y < image.getHeight(); y += 3) {
      for (int x = 0; x < image.getWidth(); x += 3) {
        colours.add(image.getRGB(x, y));
      }
    }
    return colours.size();
  }
}
