package io.github.tfl1l2.demo;

import com.google.gson.GsonBuilder;
import io.github.tfl1l2.demo.LassoSolver.Solution;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code tf-l1l2 demo --dataset diabetes}: the lasso path of the LARS paper's diabetes data, traced
 * with {@code optimizers.ProximalGradientDescent}; prints the entry order next to the paper's, a
 * table of weights, the least-squares weights; draws {@value DemoCharts#DIABETES_FILE}; optionally
 * writes the path as JSON.
 */
final class DiabetesDemo {
  /** The order in which the variables enter the lasso in Efron et al. (2004). */
  static final List<String> PAPER_ORDER =
      List.of("bmi", "s5", "bp", "s3", "sex", "s6", "s1", "s4", "s2", "age");

  /** Grid points of the path. */
  static final int PATH_POINTS = 50;

  /** The last grid point's l1, as a fraction of the first: nearly no penalty. */
  static final double PATH_BOTTOM = 1e-4;

  /** Every this many grid points a row of the weight table (and always the last). */
  private static final int TABLE_EVERY = 7;

  /** The JSON document's keys. */
  static final String FEATURE_NAMES = "feature_names";

  static final String PATH = "path";
  static final String L1 = "l1";
  static final String WEIGHTS = "weights";
  static final String ENTRY_ORDER = "entry_order";

  private DiabetesDemo() {}

  /**
   * What a run computed.
   *
   * @param path the traced path
   * @param chart the PNG written
   * @param json the JSON file written, or null
   * @param seconds wall time
   */
  record Report(LassoPath path, Path chart, Path json, double seconds) {
    /** Whether the entry order equals the paper's. */
    boolean matchesPaper() {
      return path.entryOrder().equals(PAPER_ORDER);
    }
  }

  /**
   * Runs the diabetes demo, printing to {@code out}.
   *
   * @param outputDirectory where the chart goes
   * @param json where the path goes as JSON, or null for nowhere
   * @throws IOException if the chart or the JSON cannot be written
   */
  static Report run(Path outputDirectory, Path json, PrintWriter out) throws IOException {
    long start = System.nanoTime();
    DiabetesData data = DiabetesData.load().standardized();
    out.printf(
        Locale.ROOT,
        "tf-l1l2 demo --dataset diabetes: the lasso path of Efron, Hastie,"
            + " Johnstone and Tibshirani, \"Least Angle Regression\" (2004)%n");
    out.printf(
        Locale.ROOT,
        "  %d patients, %d baseline variables (%s) standardized to mean 0 and"
            + " variance 1 (population variance), target centered%n",
        data.features().length,
        data.featureNames().size(),
        String.join(", ", data.featureNames()));
    out.flush();
    LassoPath path = LassoPath.trace(data, PATH_POINTS, PATH_BOTTOM);
    out.printf(
        Locale.ROOT,
        "  loss = (1/n)·|y − Xw|² + l1·|w|₁, minimized by"
            + " optimizers.ProximalGradientDescent in float64, step size %.4g (1/L), at %d values of"
            + " l1 from %s (every weight zero) down to %s, each started from the previous solution"
            + " and run until no weight moves more than %.0e over %d steps%n",
        path.learningRate(),
        PATH_POINTS,
        SummaryTable.coefficient(path.points().get(0).l1()),
        SummaryTable.coefficient(path.points().get(PATH_POINTS - 1).l1()),
        LassoSolver.TOLERANCE,
        LassoSolver.CHECK_EVERY);
    int totalSteps = path.points().stream().mapToInt(Solution::steps).sum();
    out.printf(Locale.ROOT, "  %d proximal steps in all for the grid%n", totalSteps);

    out.println();
    out.println("Entry order (first exact non-zero going down the path)");
    out.println("  this run: " + String.join(", ", path.entryOrder()));
    out.println(
        "  paper:    "
            + String.join(", ", PAPER_ORDER)
            + "   -> "
            + (path.entryOrder().equals(PAPER_ORDER) ? "same order" : "DIFFERENT"));
    path.refinements().forEach(line -> out.println("  " + line));
    path.exits().forEach(line -> out.println("  " + line));

    out.println();
    out.println("Weights along the path (0 = exactly zero)");
    weightTable(path).forEach(line -> out.println("  " + line));

    Path chart = DemoCharts.diabetesLassoPath(outputDirectory, path);
    out.println();
    out.println("Chart");
    out.println("  " + chart);
    if (json != null) {
      writeJson(path, json);
      out.println("Path as JSON");
      out.println("  " + json);
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    out.println();
    out.printf(Locale.ROOT, "Done in %.1f s.%n", seconds);
    out.flush();
    return new Report(path, chart, json, seconds);
  }

  /** A row every {@value #TABLE_EVERY} grid points and the last, then least squares. */
  static List<String> weightTable(LassoPath path) {
    List<String> names = path.featureNames();
    StringBuilder format = new StringBuilder("%-14s %8s %3s");
    for (int j = 0; j < names.size(); j++) {
      format.append(" %8s");
    }
    String row = format.toString();
    List<String> lines = new ArrayList<>();
    List<Object> header = new ArrayList<>(List.of("l1", "Σ|w|", "nz"));
    header.addAll(names);
    lines.add(String.format(Locale.ROOT, row, header.toArray()));
    lines.add("-".repeat(lines.get(0).length()));
    List<Solution> points = path.points();
    for (int i = 0; i < points.size(); i++) {
      if (i % TABLE_EVERY == 0 || i == points.size() - 1) {
        Solution s = points.get(i);
        lines.add(weightRow(row, SummaryTable.coefficient(s.l1()), s.weights()));
      }
    }
    lines.add(weightRow(row, "least squares", path.leastSquares()));
    return lines;
  }

  private static String weightRow(String format, String label, double[] weights) {
    List<Object> cells = new ArrayList<>();
    cells.add(label);
    double norm = 0.0;
    int nonZero = 0;
    for (double w : weights) {
      norm += Math.abs(w);
      nonZero += w != 0.0 ? 1 : 0;
    }
    cells.add(String.format(Locale.ROOT, "%.2f", norm));
    cells.add(Integer.toString(nonZero));
    for (double w : weights) {
      cells.add(w == 0.0 ? "0" : String.format(Locale.ROOT, "%.3f", w));
    }
    return String.format(Locale.ROOT, format, cells.toArray());
  }

  /**
   * Writes {@code {"feature_names": [...], "path": [{"l1": …, "weights": [...]}, …], "entry_order":
   * [...]}}, the grid points by decreasing l1, exact zeros as 0.0.
   */
  static void writeJson(LassoPath path, Path file) throws IOException {
    List<Map<String, Object>> points = new ArrayList<>();
    for (Solution s : path.points()) {
      double[] weights = new double[s.weights().length];
      for (int j = 0; j < weights.length; j++) {
        weights[j] = s.weights()[j] == 0.0 ? 0.0 : s.weights()[j]; // no -0.0 in the file
      }
      Map<String, Object> point = new LinkedHashMap<>();
      point.put(L1, s.l1());
      point.put(WEIGHTS, weights);
      points.add(point);
    }
    Map<String, Object> document = new LinkedHashMap<>();
    document.put(FEATURE_NAMES, path.featureNames());
    document.put(PATH, points);
    document.put(ENTRY_ORDER, path.entryOrder());
    Path parent = file.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    try (Writer writer = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
      new GsonBuilder().setPrettyPrinting().create().toJson(document, writer);
    }
  }
}
