package io.github.tfl1l2.demo;

import java.io.PrintWriter;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.function.Function;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Unmatched;

/**
 * The {@code demo} command: trains a sparse linear regression in a TF-Java graph under no penalty,
 * L2, L1 and L1+L2 with the proximal step (and L1 by plain gradient descent), traces the L1
 * regularization path, prints a summary, draws charts and exports the L1+L2 model as a SavedModel
 * with its {@code regularization} signature.
 *
 * <p>Exit status: 0 on success, 2 for bad options (one line on standard error), 1 if the run fails
 * or the reloaded SavedModel does not match the trained model.
 *
 * <p>The options are read as text and checked here, and unknown arguments are collected rather than
 * rejected by picocli, so that a mistake gets one line of explanation instead of the error followed
 * by the whole usage text.
 */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
      "Trains a linear model on a generated sparse regression problem (200 features, 10 of them"
          + " informative) with the proximal gradient step under no penalty, L2, L1 and L1+L2"
          + " (and L1 by plain gradient descent, for contrast); sweeps the L1 coefficient; prints"
          + " a summary; writes PNG charts; exports the L1+L2 model as a SavedModel and checks the"
          + " reloaded copy.",
      ""
    },
    exitCodeOnExecutionException = 1)
public final class DemoCommand implements Callable<Integer> {
  /** The exit status for bad options. */
  static final int BAD_OPTIONS = 2;

  @Spec CommandLine.Model.CommandSpec spec;

  @Option(
      names = "--l1",
      paramLabel = "<coef>",
      description =
          "L1 coefficient of the L1-only and L1+L2 models, >= 0 (default: " + "${DEFAULT-VALUE}).",
      defaultValue = "" + DemoSettings.DEFAULT_L1)
  String l1;

  @Option(
      names = "--l2",
      paramLabel = "<coef>",
      description =
          "L2 coefficient of the L2-only and L1+L2 models, >= 0 (default: " + "${DEFAULT-VALUE}).",
      defaultValue = "" + DemoSettings.DEFAULT_L2)
  String l2;

  @Option(
      names = "--steps",
      paramLabel = "<n>",
      description =
          "Training steps per model, >= "
              + DemoSettings.MIN_STEPS
              + " (default: "
              + DemoSettings.FULL_STEPS
              + ", with --quick "
              + DemoSettings.QUICK_STEPS
              + ").")
  String steps;

  @Option(
      names = "--seed",
      paramLabel = "<n>",
      description = "Seed of the generated problem (default: ${DEFAULT-VALUE}).",
      defaultValue = "" + DemoSettings.DEFAULT_SEED)
  String seed;

  @Option(
      names = "--out",
      paramLabel = "<dir>",
      description = "Folder for the charts (default: ${DEFAULT-VALUE}).",
      defaultValue = "target/demo")
  String out;

  @Option(
      names = "--export",
      paramLabel = "<dir>",
      description = "Folder for the L1+L2 SavedModel (default: <out>/savedmodel).")
  String export;

  @Option(
      names = "--quick",
      description =
          "Fewer steps ("
              + DemoSettings.QUICK_STEPS
              + ") and a shorter path ("
              + DemoSettings.QUICK_PATH_POINTS
              + " instead of "
              + DemoSettings.FULL_PATH_POINTS
              + " coefficients), for tests.")
  boolean quick;

  @Option(
      names = "--dataset",
      paramLabel = "<name>",
      description =
          "synthetic (default): the generated sparse problem above; diabetes: the lasso"
              + " path of the LARS paper's diabetes data (Efron et al. 2004), shipped with this"
              + " program, traced with ProximalGradientDescent, its entry order printed next to the"
              + " paper's and drawn as "
              + DemoCharts.DIABETES_FILE
              + " in --out.",
      defaultValue = SYNTHETIC)
  String dataset;

  @Option(
      names = "--json",
      paramLabel = "<file>",
      description =
          "With --dataset diabetes: also write the path to this file as JSON"
              + " (feature_names, path: [{l1, weights}], entry_order).")
  String json;

  @Unmatched List<String> unmatched = new ArrayList<>();

  /** The {@code --dataset} value of the generated problem. */
  static final String SYNTHETIC = "synthetic";

  /** The {@code --dataset} value of the diabetes lasso path. */
  static final String DIABETES = "diabetes";

  /** Options of the synthetic demo that mean nothing for the diabetes path. */
  private static final List<String> SYNTHETIC_ONLY =
      List.of("--l1", "--l2", "--steps", "--seed", "--export", "--quick");

  private DemoReport report;
  private DiabetesDemo.Report diabetesReport;

  /** Runs the demo and returns the exit status. */
  @Override
  public Integer call() throws Exception {
    DemoSettings settings = null;
    DiabetesOptions diabetes = null;
    try {
      if (isDiabetes()) {
        diabetes = diabetesOptions();
      } else {
        settings = settings();
      }
    } catch (IllegalArgumentException e) {
      spec.commandLine()
          .getErr()
          .println("tf-l1l2 demo: " + e.getMessage() + " (see tf-l1l2 demo --help)");
      return BAD_OPTIONS;
    }
    PrintWriter stdout = spec.commandLine().getOut();
    if (diabetes != null) {
      diabetesReport = DiabetesDemo.run(diabetes.outputDirectory(), diabetes.json(), stdout);
      if (!diabetesReport.matchesPaper()) {
        spec.commandLine()
            .getErr()
            .println("tf-l1l2 demo: the entry order differs from the" + " paper's (see above)");
        return 1;
      }
      return 0;
    }
    report = Demo.run(settings, stdout);
    if (!report.export().allMatch()) {
      spec.commandLine()
          .getErr()
          .println(
              "tf-l1l2 demo: the reloaded SavedModel does not match"
                  + " the trained model (see above)");
      return 1;
    }
    return 0;
  }

  /** What the last successful synthetic {@link #call()} computed; null before. */
  DemoReport report() {
    return report;
  }

  /** What the last {@code --dataset diabetes} {@link #call()} computed; null before. */
  DiabetesDemo.Report diabetesReport() {
    return diabetesReport;
  }

  /**
   * Where the diabetes demo writes.
   *
   * @param outputDirectory the chart's folder ({@code --out})
   * @param json the JSON file ({@code --json}), or null
   */
  record DiabetesOptions(Path outputDirectory, Path json) {}

  /**
   * Whether {@code --dataset} names the diabetes data.
   *
   * @throws IllegalArgumentException if it names neither dataset
   */
  boolean isDiabetes() {
    if (!dataset.equals(SYNTHETIC) && !dataset.equals(DIABETES)) {
      throw new IllegalArgumentException(
          "--dataset must be " + SYNTHETIC + " or " + DIABETES + ", but was '" + dataset + "'");
    }
    return dataset.equals(DIABETES);
  }

  /**
   * The diabetes demo's options.
   *
   * @throws IllegalArgumentException with a one-line message naming the bad option
   */
  DiabetesOptions diabetesOptions() {
    rejectUnmatched();
    for (String option : SYNTHETIC_ONLY) {
      if (spec.commandLine().getParseResult().hasMatchedOption(option)) {
        throw new IllegalArgumentException(
            option + " applies to --dataset " + SYNTHETIC + " only, not to --dataset " + DIABETES);
      }
    }
    return new DiabetesOptions(path("--out", out), json == null ? null : path("--json", json));
  }

  private void rejectUnmatched() {
    if (!unmatched.isEmpty()) {
      String first = unmatched.get(0);
      throw new IllegalArgumentException(
          (first.startsWith("-") ? "unknown option '" : "unexpected argument '") + first + "'");
    }
  }

  /**
   * The settings the options describe.
   *
   * @throws IllegalArgumentException with a one-line message naming the bad option
   */
  DemoSettings settings() {
    rejectUnmatched();
    if (json != null) {
      throw new IllegalArgumentException("--json applies to --dataset " + DIABETES + " only");
    }
    int chosenSteps =
        steps != null
            ? integer("--steps", steps)
            : quick ? DemoSettings.QUICK_STEPS : DemoSettings.FULL_STEPS;
    Path outputDirectory = path("--out", out);
    return new DemoSettings(
        number("--l1", l1),
        number("--l2", l2),
        chosenSteps,
        longInteger("--seed", seed),
        quick ? DemoSettings.QUICK_PATH_POINTS : DemoSettings.FULL_PATH_POINTS,
        outputDirectory,
        export != null ? path("--export", export) : outputDirectory.resolve("savedmodel"));
  }

  private static double number(String option, String text) {
    return parsed(option, text, Double::parseDouble, "a number");
  }

  private static int integer(String option, String text) {
    return parsed(option, text, Integer::parseInt, "an integer");
  }

  private static long longInteger(String option, String text) {
    return parsed(option, text, Long::parseLong, "an integer");
  }

  /** Parses an option's text, naming the option, the text and what is allowed when it fails. */
  private static <T> T parsed(
      String option, String text, Function<String, T> parser, String allowed) {
    try {
      return parser.apply(text);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          option + " must be " + allowed + ", but was '" + text + "'");
    }
  }

  private static Path path(String option, String text) {
    try {
      if (text.isBlank()) {
        throw new IllegalArgumentException(option + " must name a folder, but was empty");
      }
      return Path.of(text);
    } catch (InvalidPathException e) {
      throw new IllegalArgumentException(option + " is not a valid path: " + e.getMessage());
    }
  }
}
