package io.github.tfl1l2.demo;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The demo from start to end: generates the problem, trains the four settings and the
 * regularization path, prints progress and the summary, draws the charts, exports the L1+L2 model
 * as a SavedModel and checks the reloaded copy.
 */
final class Demo {
  /** Label of the unregularized setting. */
  static final String NO_PENALTY = "no penalty";

  /** Label of the L2-only setting. */
  static final String L2_ONLY = "L2 only";

  /** Label of the L1-only setting. */
  static final String L1_ONLY = "L1 only";

  /** Label of the L1+L2 setting, the one exported. */
  static final String L1_L2 = "L1+L2";

  /** Label of the L1-only setting trained by plain gradient descent, for contrast. */
  static final String L1_SUBGRADIENT = "L1 plain GD";

  /**
   * The path runs from this factor below the smallest coefficient at which the optimum is all-zero
   * ({@link LinearAlgebra#smallestAllZeroL1}), where the model is dense ...
   */
  private static final double PATH_BOTTOM = 1.0 / 300.0;

  /** ... to this factor above it, where every weight is exactly zero. */
  private static final double PATH_TOP = 1.2;

  private final DemoSettings settings;
  private final PrintWriter out;

  private Demo(DemoSettings settings, PrintWriter out) {
    this.settings = settings;
    this.out = out;
  }

  /**
   * Runs the demo, printing to {@code out}, and returns what it computed.
   *
   * @throws IOException if the charts or the SavedModel cannot be written
   */
  static DemoReport run(DemoSettings settings, PrintWriter out) throws IOException {
    return new Demo(settings, out).run();
  }

  private DemoReport run() throws IOException {
    long start = System.nanoTime();
    SparseRegressionProblem.Shape shape = SparseRegressionProblem.Shape.DEFAULT;
    SparseRegressionProblem problem = SparseRegressionProblem.generate(shape, settings.seed());
    printProblem(shape);

    List<ScoredModel> fourSettings = new ArrayList<>();
    List<ScoredModel> path = new ArrayList<>();
    ScoredModel subgradient;
    try (Trainer trainer = new Trainer(problem, settings.steps())) {
      printTraining(trainer);
      List<Setting> compared =
          List.of(
              new Setting(NO_PENALTY, 0.0, 0.0),
              new Setting(L2_ONLY, 0.0, settings.l2()),
              new Setting(L1_ONLY, settings.l1(), 0.0),
              new Setting(L1_L2, settings.l1(), settings.l2()));
      out.println();
      out.println("Training the same model under four penalties");
      Files.createDirectories(settings.exportDirectory().toAbsolutePath().getParent());
      for (int i = 0; i < compared.size(); i++) {
        Setting setting = compared.get(i);
        TrainedModel model =
            trainer.train(
                setting, setting.label().equals(L1_L2) ? settings.exportDirectory() : null);
        ScoredModel scored = ScoredModel.of(problem, model);
        fourSettings.add(scored);
        printProgress(
            String.format(Locale.ROOT, "[%d/%d] %-11s", i + 1, compared.size(), setting.label()),
            scored);
      }
      subgradient =
          ScoredModel.of(
              problem,
              trainer.train(
                  new Setting(L1_SUBGRADIENT, settings.l1(), 0.0, Setting.Step.SUBGRADIENT)));
      out.println(
          "For contrast, L1 only trained by the framework's GradientDescent on MSE +"
              + " penalty (the subgradient of |w|, same steps and step size):");
      printProgress(String.format(Locale.ROOT, "[1/1] %-11s", L1_SUBGRADIENT), subgradient);

      double allZero =
          LinearAlgebra.smallestAllZeroL1(problem.trainFeatures(), problem.trainTargets());
      double[] grid =
          geometricGrid(allZero * PATH_BOTTOM, allZero * PATH_TOP, settings.pathPoints());
      out.println();
      out.printf(
          Locale.ROOT,
          "Regularization path: L1 only, %d coefficients from %s to %s (from %s on, the optimum"
              + " has every weight zero)%n",
          grid.length,
          SummaryTable.coefficient(grid[0]),
          SummaryTable.coefficient(grid[grid.length - 1]),
          SummaryTable.coefficient(allZero));
      for (int i = 0; i < grid.length; i++) {
        ScoredModel scored =
            ScoredModel.of(problem, trainer.train(new Setting(L1_ONLY, grid[i], 0.0)));
        path.add(scored);
        printProgress(
            String.format(
                Locale.ROOT,
                "[%2d/%d] l1 %-7s",
                i + 1,
                grid.length,
                SummaryTable.coefficient(grid[i])),
            scored);
      }
    }

    out.println();
    out.println(
        "Summary (MSE = mean squared error; non-zero = weights not exactly 0; precision and"
            + " recall of the non-zero set against the 10 truly informative features)");
    List<ScoredModel> table = new ArrayList<>(fourSettings);
    table.add(subgradient);
    SummaryTable.lines(table).forEach(line -> out.println("  " + line));
    out.printf(
        Locale.ROOT,
        "  %s: gradient descent on |w| steps across zero instead of landing on it, so %d of %d"
            + " weights stay non-zero (%d above 1e-3); the proximal step leaves %d.%n",
        L1_SUBGRADIENT,
        subgradient.score().nonZero(),
        subgradient.model().weights().length,
        ModelScore.countAbove(subgradient.model().weights(), 1e-3),
        fourSettings.get(2).score().nonZero());
    out.printf(
        Locale.ROOT,
        "  The noise variance, %.2f, is the lowest test MSE any model can reach.%n",
        problem.noiseStdDev() * problem.noiseStdDev());

    List<Path> charts =
        DemoCharts.writeAll(settings.outputDirectory(), problem, fourSettings, path, settings.l1());
    out.println();
    out.println("Charts");
    charts.forEach(chart -> out.println("  " + chart));

    TrainedModel exported = fourSettings.get(3).model();
    ExportCheck check = ExportCheck.run(settings.exportDirectory(), problem, exported);
    printExport(check);

    double seconds = (System.nanoTime() - start) / 1e9;
    out.println();
    out.printf(Locale.ROOT, "Done in %.1f s.%n", seconds);
    out.flush();
    return new DemoReport(problem, fourSettings, subgradient, path, charts, check, seconds);
  }

  private void printProblem(SparseRegressionProblem.Shape shape) {
    out.printf(
        Locale.ROOT,
        "tf-l1l2 demo: sparse linear regression, %d features of which %d matter, %d training and"
            + " %d test rows, seed %d%n",
        shape.features(),
        shape.informative(),
        shape.trainRows(),
        shape.testRows(),
        settings.seed());
    out.printf(
        Locale.ROOT,
        "  features correlated (corr(x_i, x_j) = %.1f^|i-j|), target noise sd %.1f;"
            + " fewer rows than features, so an unpenalized fit is not unique%n",
        shape.correlation(),
        shape.noiseStdDev());
  }

  private void printTraining(Trainer trainer) {
    out.printf(
        Locale.ROOT,
        "  loss = MSE + L1L2 penalty on the weights (bias not penalized), minimized by"
            + " optimizers.ProximalGradientDescent:%n  a gradient step on the MSE, then the"
            + " penalty's proximal step (exact zeros); %d full-batch steps per model at step size"
            + " %.3g (1/L)%n",
        trainer.steps(),
        trainer.learningRate());
  }

  private void printProgress(String prefix, ScoredModel scored) {
    TrainedModel model = scored.model();
    out.printf(
        Locale.ROOT,
        "  %s loss %8.4f = MSE %7.4f + penalty %7.4f   non-zero %3d   test MSE %7.4f  %5.2f s%n",
        prefix,
        model.finalDataLoss() + model.finalPenalty(),
        model.finalDataLoss(),
        model.finalPenalty(),
        scored.score().nonZero(),
        scored.score().testError(),
        model.seconds());
    out.flush();
  }

  private void printExport(ExportCheck check) {
    out.println();
    out.printf(
        Locale.ROOT,
        "SavedModel of the L1+L2 model%n  %s  (signatures: %s)%n",
        check.directory(),
        String.join(", ", check.signatureKeys()));
    out.printf(
        Locale.ROOT,
        "  reloaded serving_default on %d test rows: largest difference from the trained model"
            + " %s -> %s%n",
        check.rows(),
        difference(check.maxPredictionDifference()),
        verdict(check.predictionsMatch()));
    out.printf(
        Locale.ROOT,
        "  reloaded regularization: penalty %.6f; in training %.6f; recomputed in double from"
            + " the reloaded weights %.6f -> %s%n",
        check.reloadedPenalty(),
        check.trainedPenalty(),
        check.recomputedPenalty(),
        verdict(check.penaltyMatches()));
    out.printf(
        Locale.ROOT,
        "  reloaded weights identical to the trained ones: %s%n",
        check.weightsIdentical() ? "yes" : "NO");
  }

  private static String difference(double value) {
    return value == 0.0 ? "0" : String.format(Locale.ROOT, "%.2g", value);
  }

  private static String verdict(boolean match) {
    return match ? "match" : "MISMATCH";
  }

  /** {@code count} values from {@code low} to {@code high}, evenly spaced on a log scale. */
  static double[] geometricGrid(double low, double high, int count) {
    double[] grid = new double[count];
    for (int i = 0; i < count; i++) {
      grid[i] = low * Math.pow(high / low, (double) i / (count - 1));
    }
    return grid;
  }
}
