package io.github.tfl1l2.demo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.github.tfl1l2.demo.LassoSolver.Solution;
import io.github.tfl1l2.testing.References;
import java.awt.image.BufferedImage;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Runs {@code tf-l1l2 demo --dataset diabetes --json FILE} once, in-process, and checks the path
 * against coordinate descent in double computed here, the paper's entry order, and the files.
 */
class DiabetesDemoTest {
  @TempDir static Path outputs;

  private static int exitCode;
  private static String printed;
  private static DiabetesDemo.Report report;
  private static Path json;

  @BeforeAll
  static void runDiabetesDemo() {
    json = outputs.resolve("json").resolve("path.json");
    StringWriter text = new StringWriter();
    DemoCommand command = new DemoCommand();
    exitCode =
        new CommandLine(command)
            .setOut(new PrintWriter(text, true))
            .execute(
                "--dataset",
                "diabetes",
                "--out",
                outputs.resolve("charts").toString(),
                "--json",
                json.toString());
    printed = text.toString();
    report = command.diabetesReport();
  }

  @Test
  void theDataLoadWithTheirShapeAndValuesAsPublished() {
    DiabetesData data = DiabetesData.load();
    assertEquals(
        List.of("age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"),
        data.featureNames());
    assertEquals(442, data.features().length);
    assertEquals(442, data.target().length);
    for (double[] row : data.features()) {
      assertEquals(10, row.length);
    }
    // Rows 1, 10, 24 and 442, checked by hand against scikit-learn's diabetes_data_raw.csv.gz
    // and diabetes_target.csv.gz and against the paper's tab-separated file.
    assertArrayEquals(
        new double[] {59, 2, 32.1, 101, 157, 93.2, 38, 4, 4.8598, 87}, data.features()[0]);
    assertEquals(151, data.target()[0]);
    assertArrayEquals(
        new double[] {29, 1, 30.0, 85, 180, 93.4, 43, 4, 5.3845, 88}, data.features()[9]);
    assertEquals(310, data.target()[9]);
    assertArrayEquals(
        new double[] {61, 2, 32.0, 103.67, 210, 85.2, 35, 6, 6.107, 124}, data.features()[23]);
    assertEquals(245, data.target()[23]);
    assertArrayEquals(
        new double[] {36, 1, 19.6, 71, 250, 133.2, 97, 3, 4.5951, 92}, data.features()[441]);
    assertEquals(57, data.target()[441]);
  }

  @Test
  void standardizingGivesMeanZeroAndPopulationVarianceOneAndACenteredTarget() {
    DiabetesData data = DiabetesData.load().standardized();
    int n = data.features().length;
    for (int j = 0; j < 10; j++) {
      double sum = 0.0;
      double squares = 0.0;
      for (double[] row : data.features()) {
        sum += row[j];
        squares += row[j] * row[j];
      }
      assertEquals(0.0, sum / n, 1e-12, "mean of " + j);
      assertEquals(1.0, squares / n, 1e-12, "population variance of " + j);
    }
    assertEquals(0.0, java.util.Arrays.stream(data.target()).sum() / n, 1e-12);
  }

  @Test
  void theCommandSucceedsAndMatchesThePapersOrder() {
    assertEquals(0, exitCode, printed);
    assertNotNull(report);
    assertTrue(printed.contains("  this run: bmi, s5, bp, s3, sex, s6, s1, s4, s2, age"), printed);
    assertTrue(printed.contains("  paper:    bmi, s5, bp, s3, sex, s6, s1, s4, s2, age"), printed);
  }

  @Test
  void theEntryOrderIsThePapers() {
    assertEquals(
        List.of("bmi", "s5", "bp", "s3", "sex", "s6", "s1", "s4", "s2", "age"),
        report.path().entryOrder());
  }

  @Test
  void thePathHasAtLeastFortyPointsFromAllZeroToNearlyNoPenalty() {
    List<Solution> points = report.path().points();
    assertTrue(points.size() >= 40, points.size() + " points");
    DiabetesData data = DiabetesData.load().standardized();
    double l1Max = 0.0;
    for (int j = 0; j < 10; j++) {
      double g = 0.0;
      for (int i = 0; i < 442; i++) {
        g += 2.0 * data.features()[i][j] * data.target()[i] / 442;
      }
      l1Max = Math.max(l1Max, Math.abs(g));
    }
    assertTrue(points.get(0).l1() >= l1Max, "starts where every weight is zero");
    for (double w : points.get(0).weights()) {
      assertTrue(w == 0.0, "exactly zero (±0), was " + w);
    }
    assertTrue(points.get(points.size() - 1).l1() <= 1e-3 * l1Max, "ends near no penalty");
    for (int i = 1; i < points.size(); i++) {
      assertTrue(points.get(i).l1() < points.get(i - 1).l1(), "decreasing l1");
    }
  }

  @Test
  void everyPathPointIsTheCoordinateDescentOptimumWithTheSameExactZeros() {
    DiabetesData data = DiabetesData.load().standardized();
    for (Solution point : report.path().points()) {
      // The reference fits an intercept too; with centered X and y it is zero.
      double[] optimum =
          References.elasticNet(data.features(), data.target(), point.l1(), 0.0, true)
              .weightsThenIntercept();
      assertEquals(0.0, optimum[10], 1e-9, "intercept");
      for (int j = 0; j < 10; j++) {
        assertEquals(optimum[j], point.weights()[j], 1e-4, "l1 " + point.l1() + " weight " + j);
        assertEquals(
            optimum[j] == 0.0,
            point.weights()[j] == 0.0,
            "l1 "
                + point.l1()
                + " weight "
                + j
                + ": optimum "
                + optimum[j]
                + ", traced "
                + point.weights()[j]);
      }
    }
  }

  @Test
  void theLeastSquaresWeightsAreTheUnpenalizedOptimum() {
    DiabetesData data = DiabetesData.load().standardized();
    double[] optimum =
        References.elasticNet(data.features(), data.target(), 0.0, 0.0, true).weights();
    for (int j = 0; j < 10; j++) {
      assertEquals(optimum[j], report.path().leastSquares()[j], 1e-6, "weight " + j);
    }
    assertTrue(printed.contains("least squares"), printed);
  }

  @Test
  void s3LeavesTheModelAndComesBack() {
    assertTrue(
        report.path().exits().stream()
            .anyMatch(line -> line.startsWith("s3 leaves") && line.contains("comes back")),
        String.join("\n", report.path().exits()));
  }

  @Test
  void theJsonHoldsFeatureNamesPathAndEntryOrder() throws Exception {
    JsonObject document =
        JsonParser.parseString(Files.readString(json, StandardCharsets.UTF_8)).getAsJsonObject();
    assertEquals(Set.of("feature_names", "path", "entry_order"), document.keySet());
    assertEquals(strings(document.getAsJsonArray("feature_names")), report.path().featureNames());
    assertEquals(strings(document.getAsJsonArray("entry_order")), report.path().entryOrder());
    JsonArray path = document.getAsJsonArray("path");
    assertEquals(report.path().points().size(), path.size());
    for (int i = 0; i < path.size(); i++) {
      JsonObject point = path.get(i).getAsJsonObject();
      assertEquals(Set.of("l1", "weights"), point.keySet());
      Solution expected = report.path().points().get(i);
      assertEquals(expected.l1(), point.get("l1").getAsDouble());
      JsonArray weights = point.getAsJsonArray("weights");
      for (int j = 0; j < 10; j++) {
        assertEquals(expected.weights()[j], weights.get(j).getAsDouble(), 0.0);
      }
    }
  }

  @Test
  void theChartIsAReadablePngInOut() throws Exception {
    Path chart = report.chart();
    assertEquals(outputs.resolve("charts").resolve("diabetes-lasso-path.png"), chart);
    assertTrue(printed.contains(chart.toString()));
    BufferedImage image = ImageIO.read(chart.toFile());
    assertNotNull(image);
    assertTrue(image.getWidth() >= 800 && image.getHeight() >= 500);
  }

  private static List<String> strings(JsonArray array) {
    List<String> values = new ArrayList<>();
    for (JsonElement element : array) {
      values.add(element.getAsString());
    }
    return values;
  }
}
