package io.github.tfl1l2.cli;

import io.github.tfl1l2.L1L2;
import io.github.tfl1l2.savedmodel.ExportDirectory;
import io.github.tfl1l2.savedmodel.LoadedSavedModel;
import io.github.tfl1l2.savedmodel.ModelVariable;
import io.github.tfl1l2.savedmodel.PenaltyReport;
import io.github.tfl1l2.savedmodel.RegularizationSignature;
import io.github.tfl1l2.savedmodel.SavedModelException;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import org.tensorflow.exceptions.TensorFlowException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code tf-l1l2 regularize}: a copy of a SavedModel with a {@code regularization} signature. */
@Command(
    name = "regularize",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
      "Writes a new SavedModel that keeps every signature, variable value and file of --model "
          + "and adds the signature \"regularization\" (no inputs; outputs penalty, l1_sum, "
          + "l2_sum, per_variable, variable_names, coefficients). A \"regularization\" signature "
          + "already there is replaced.",
      "On a TF2/Keras model (one with an object graph) the signature is also listed there, so "
          + "that Python's tf.saved_model.load(DIR2).signatures has it; both routes call the "
          + "same graph function.",
      "The model is written to a temporary sibling of --out and renamed into place when "
          + "complete; --model is only read."
    },
    footer = {
      "",
      "Exit status: 0 done, 1 the model cannot be used or --out not written, "
          + "2 an option value is invalid."
    })
public final class RegularizeCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin RegularizerOptions options;

  @Option(
      names = "--out",
      required = true,
      paramLabel = "DIR2",
      description =
          "Directory to create for the regularized SavedModel; must not exist yet, "
              + "and must lie outside --model.")
  Path out;

  @Override
  public Integer call() {
    PrintWriter stdout = spec.commandLine().getOut();
    try {
      L1L2 config = options.config();
      checkOut();
      try (LoadedSavedModel model = options.open()) {
        List<ModelVariable> selected = options.select(model, config);
        Set<String> before = model.signatureKeys();
        PenaltyReport report;
        try {
          report = model.exportRegularized(config, selected, out);
        } catch (SavedModelException e) {
          // TensorFlow failing on the model's graph is a fault of --model; the rest is --out's.
          throw e.getCause() instanceof TensorFlowException
              ? RegularizerOptions.modelFailure(e)
              : CommandFailure.input(e.getMessage());
        }
        Set<String> after = new TreeSet<>(before);
        after.add(RegularizationSignature.KEY);
        stdout.println("wrote      " + out + " (from " + model.directory() + ")");
        stdout.println(
            "signatures "
                + String.join(", ", after)
                + (before.contains(RegularizationSignature.KEY)
                    ? " (regularization replaced)"
                    : " (regularization added)"));
        stdout.println("method     " + RegularizationSignature.methodName(config));
        stdout.println("variables  " + options.describeSelection(model, selected));
        stdout.println("penalty    " + Float.toString((float) report.penalty()));
      }
      stdout.flush();
      return 0;
    } catch (RuntimeException e) {
      return Failures.report(spec, e);
    }
  }

  /** Refuses an --out that exists, has no parent, or is (inside) --model, before loading. */
  private void checkOut() {
    Path model = options.model.toAbsolutePath().normalize();
    Path target = out.toAbsolutePath().normalize();
    if (target.equals(model) || sameFile(target, model)) {
      throw CommandFailure.usage(
          "--out "
              + out
              + " is the --model directory; write the regularized model to a new "
              + "directory (--model is never modified)");
    }
    if (target.startsWith(model)) {
      throw CommandFailure.usage(
          "--out "
              + out
              + " lies inside --model "
              + options.model
              + "; choose a directory outside it (--model is never modified)");
    }
    try {
      ExportDirectory.checkAvailable(out, "--out");
    } catch (SavedModelException e) {
      throw CommandFailure.usage(e.getMessage());
    }
  }

  private static boolean sameFile(Path a, Path b) {
    try {
      return Files.exists(a) && Files.exists(b) && Files.isSameFile(a, b);
    } catch (IOException e) {
      return false;
    }
  }
}
