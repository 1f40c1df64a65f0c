package io.github.tfl1l2.cli;

import static io.github.tfl1l2.savedmodel.TestModels.EXAMPLE;
import static io.github.tfl1l2.savedmodel.TestModels.assertClose;
import static io.github.tfl1l2.testing.References.l1Sum;
import static io.github.tfl1l2.testing.References.l2Sum;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.github.tfl1l2.savedmodel.TestModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.SavedModelBundle;

class PenaltyCommandTest {
  @TempDir Path temp;

  private static JsonObject json(String... args) {
    List<String> all = new ArrayList<>(List.of("penalty", "--json"));
    all.addAll(List.of(args));
    return JsonParser.parseString(CliRun.of(all.toArray(String[]::new)).succeeded().out())
        .getAsJsonObject();
  }

  private static List<String> names(JsonObject report) {
    List<String> names = new ArrayList<>();
    for (JsonElement v : report.getAsJsonArray("variables")) {
      names.add(v.getAsJsonObject().get("name").getAsString());
    }
    return names;
  }

  @Test
  void jsonHasExactlyTheDocumentedKeys() {
    JsonObject report = json("--model", EXAMPLE.toString());
    assertEquals(Set.of("penalty", "l1_sum", "l2_sum", "variables"), report.keySet());
    for (JsonElement v : report.getAsJsonArray("variables")) {
      assertEquals(
          Set.of("name", "shape", "dtype", "l1_sum", "l2_sum", "penalty"),
          v.getAsJsonObject().keySet());
    }
  }

  @Test
  void jsonValuesMatchTheVariablesRecomputedInDoublePrecision() {
    JsonObject report =
        json(
            "--model",
            EXAMPLE.toString(),
            "--l1",
            "0.5",
            "--l2",
            "0.25",
            "--weight",
            "2",
            "--on",
            "kernel");
    assertEquals(List.of("dense/kernel", "dense_1/kernel"), names(report));
    double total = 0;
    double l1Total = 0;
    double l2Total = 0;
    try (SavedModelBundle bundle = SavedModelBundle.load(EXAMPLE.toString(), "serve")) {
      for (JsonElement element : report.getAsJsonArray("variables")) {
        JsonObject v = element.getAsJsonObject();
        double[] w = TestModels.values(bundle.session(), v.get("name").getAsString());
        assertClose(l1Sum(w), v.get("l1_sum").getAsDouble(), "l1_sum");
        assertClose(l2Sum(w), v.get("l2_sum").getAsDouble(), "l2_sum");
        assertClose(
            2 * (0.5 * l1Sum(w) + 0.25 * l2Sum(w)), v.get("penalty").getAsDouble(), "penalty");
        assertEquals("float32", v.get("dtype").getAsString());
        total += 2 * (0.5 * l1Sum(w) + 0.25 * l2Sum(w));
        l1Total += l1Sum(w);
        l2Total += l2Sum(w);
      }
    }
    assertClose(total, report.get("penalty").getAsDouble(), "penalty");
    assertClose(l1Total, report.get("l1_sum").getAsDouble(), "l1_sum");
    assertClose(l2Total, report.get("l2_sum").getAsDouble(), "l2_sum");
  }

  @Test
  void jsonShapesAreListsOfDimensions() {
    JsonObject report = json("--model", EXAMPLE.toString(), "--on", "^dense/kernel$");
    JsonArray shape =
        report.getAsJsonArray("variables").get(0).getAsJsonObject().getAsJsonArray("shape");
    assertEquals(List.of(4L, 8L), List.of(shape.get(0).getAsLong(), shape.get(1).getAsLong()));
  }

  @Test
  void tableShowsThePenaltyAndOneRowPerVariableWithItsShare() {
    String out = CliRun.of("penalty", "--model", EXAMPLE.toString(), "--l2", "1").succeeded().out();
    assertTrue(out.lines().anyMatch(l -> l.startsWith("penalty ")), out);
    List<String> rows = out.lines().filter(l -> l.startsWith("dense")).toList();
    assertEquals(4, rows.size(), out);
    assertTrue(
        rows.stream()
            .anyMatch(
                r -> r.contains("dense/kernel") && r.contains("[4, 8]") && r.contains("float32")),
        out);
    double shares =
        rows.stream()
            .mapToDouble(
                r -> Double.parseDouble(r.substring(r.lastIndexOf(' ') + 1).replace("%", "")))
            .sum();
    assertEquals(100.0, shares, 0.05, out);
  }

  @Test
  void helpDescribesEveryOption() {
    String out = CliRun.of("penalty", "--help").succeeded().out();
    for (String option :
        List.of("--model", "--l1", "--l2", "--weight", "--on", "--all-variables", "--json")) {
      assertTrue(out.contains(option), option + " in " + out);
    }
  }

  @Test
  void kerasDefaultCountsOnlyTheTrainableVariables() {
    Path keras = TestModels.external("keras-mnist-cnn");
    JsonObject report = json("--model", keras.toString());
    List<String> names = names(report);
    assertEquals(16, names.size(), names.toString());
    assertTrue(
        names.stream()
            .noneMatch(
                n ->
                    n.startsWith("Adam/")
                        || n.contains("moving_")
                        || n.startsWith("total")
                        || n.startsWith("count")),
        names.toString());
    double l2Sum = 0;
    try (SavedModelBundle bundle = SavedModelBundle.load(keras.toString(), "serve")) {
      for (String name : names) {
        l2Sum += l2Sum(TestModels.values(bundle.session(), name));
      }
    }
    // Defaults: l1 = 0, l2 = 0.01.
    assertClose(0.01 * l2Sum, report.get("penalty").getAsDouble(), "penalty");
  }

  @Test
  void kerasAllVariablesAddsOptimizerSlotsMetricsAndMovingStatistics() {
    Path keras = TestModels.external("keras-mnist-cnn");
    List<String> names = names(json("--model", keras.toString(), "--all-variables"));
    // 63 variables, of which Adam/iter (int64) cannot be regularized.
    assertEquals(62, names.size(), names.toString());
    assertTrue(
        names.containsAll(
            List.of(
                "Adam/dense/kernel/m",
                "Adam/dense/kernel/v",
                "batch_normalization/moving_mean",
                "total",
                "count_1")),
        names.toString());
  }

  @Test
  void tf23ModelsSingleVariableGivesTheHandComputedPenalty() {
    Path tf23 = TestModels.external("python-tf23-model");
    JsonObject report = json("--model", tf23.toString(), "--l1", "0.5", "--l2", "0.25");
    assertEquals(List.of("Variable"), names(report));
    // One scalar variable of value 2: 0.5 * |2| + 0.25 * 2^2.
    assertEquals(2.0, report.get("penalty").getAsDouble(), 0.0);
  }

  @Test
  void aMissingModelDirectoryFailsWithOneLine() {
    Path missing = temp.resolve("missing");
    CliRun.of("penalty", "--model", missing.toString())
        .failedWith(1, "--model", missing.toString(), "no such directory");
  }

  @Test
  void aDirectoryThatIsNotASavedModelFailsWithOneLine() {
    CliRun.of("penalty", "--model", temp.toString())
        .failedWith(1, "--model", "is not a SavedModel");
  }

  @Test
  void aCorruptVariablesFileFailsWithOneLine() throws IOException {
    Path copy = temp.resolve("copy");
    Files.createDirectories(copy.resolve("variables"));
    for (String file :
        List.of(
            "saved_model.pb",
            "variables/variables.index",
            "variables/variables.data-00000-of-00001")) {
      Files.copy(EXAMPLE.resolve(file), copy.resolve(file));
    }
    Path data = copy.resolve("variables/variables.data-00000-of-00001");
    byte[] bytes = Files.readAllBytes(data);
    bytes[3] ^= 0x55;
    Files.write(data, bytes);
    CliRun.of("penalty", "--model", copy.toString())
        .failedWith(1, "--model", "TensorFlow cannot load it");
  }

  @Test
  void aPatternMatchingNoVariableFailsListingTheCandidates() {
    CliRun.of("penalty", "--model", EXAMPLE.toString(), "--on", "conv")
        .failedWith(1, "--on \"conv\" matches none", "dense/kernel");
  }

  @Test
  void aNegativeCoefficientFailsNamingTheOption() {
    CliRun.of("penalty", "--model", EXAMPLE.toString(), "--l1", "-0.1")
        .failedWith(2, "--l1 must be a finite number >= 0, but was -0.1");
  }

  @Test
  void anInfiniteWeightFailsNamingTheOption() {
    CliRun.of("penalty", "--model", EXAMPLE.toString(), "--weight", "Infinity")
        .failedWith(2, "--weight", "Infinity");
  }

  @Test
  void anInvalidPatternFailsNamingTheOption() {
    CliRun.of("penalty", "--model", EXAMPLE.toString(), "--on", "[")
        .failedWith(2, "--on must be a valid java.util.regex pattern", "\"[\"");
  }
}
