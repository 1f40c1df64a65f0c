package io.github.tfl1l2.demo;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The {@code demo} command: trains a sparse linear regression in a TF-Java graph under no
 * penalty, L2, L1 and L1+L2, traces the L1 regularization path, prints a summary, draws charts
 * and exports the L1+L2 model as a SavedModel with its {@code regularization} signature.
 */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
      "Trains a linear model on a generated sparse regression problem (200 features, 10 of them"
          + " informative) with TF-Java's GradientDescent under no penalty, L2, L1 and L1+L2;"
          + " sweeps the L1 coefficient; prints a summary; writes PNG charts; exports the L1+L2"
          + " model as a SavedModel and checks the reloaded copy.",
      ""
    },
    exitCodeOnExecutionException = 1)
public final class DemoCommand implements Callable<Integer> {
  @Spec CommandLine.Model.CommandSpec spec;

  @Option(names = "--l1", paramLabel = "<coef>",
      description = "L1 coefficient of the L1-only and L1+L2 models (default: ${DEFAULT-VALUE}).",
      defaultValue = "" + DemoSettings.DEFAULT_L1)
  double l1;

  @Option(names = "--l2", paramLabel = "<coef>",
      description = "L2 coefficient of the L2-only and L1+L2 models (default: ${DEFAULT-VALUE}).",
      defaultValue = "" + DemoSettings.DEFAULT_L2)
  double l2;

  @Option(names = "--steps", paramLabel = "<n>",
      description = "Gradient-descent steps per model (default: " + DemoSettings.FULL_STEPS
          + ", with --quick " + DemoSettings.QUICK_STEPS + ").")
  Integer steps;

  @Option(names = "--seed", paramLabel = "<n>",
      description = "Seed of the generated problem (default: ${DEFAULT-VALUE}).",
      defaultValue = "" + DemoSettings.DEFAULT_SEED)
  long seed;

  @Option(names = "--out", paramLabel = "<dir>",
      description = "Folder for the charts (default: ${DEFAULT-VALUE}).",
      defaultValue = "target/demo")
  Path out;

  @Option(names = "--export", paramLabel = "<dir>",
      description = "Folder for the L1+L2 SavedModel (default: <out>/savedmodel).")
  Path export;

  @Option(names = "--quick",
      description = "Fewer steps and a shorter path (" + DemoSettings.QUICK_PATH_POINTS
          + " instead of " + DemoSettings.FULL_PATH_POINTS + " points): a few seconds.")
  boolean quick;

  /** Runs the demo; returns 0 on success, 1 if the reloaded SavedModel does not match. */
  @Override
  public Integer call() throws Exception {
    PrintWriter stdout = spec.commandLine().getOut();
    DemoSettings settings;
    try {
      settings = settings();
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
    }
    DemoReport report = Demo.run(settings, stdout);
    if (!report.export().allMatch()) {
      spec.commandLine().getErr().println("tf-l1l2 demo: the reloaded SavedModel does not match"
          + " the trained model (see above)");
      return 1;
    }
    return 0;
  }

  /** The settings the options describe. */
  DemoSettings settings() {
    int chosenSteps = steps != null ? steps
        : quick ? DemoSettings.QUICK_STEPS : DemoSettings.FULL_STEPS;
    return new DemoSettings(
        l1,
        l2,
        chosenSteps,
        seed,
        quick ? DemoSettings.QUICK_PATH_POINTS : DemoSettings.FULL_PATH_POINTS,
        out,
        export != null ? export : out.resolve("savedmodel"));
  }
}
