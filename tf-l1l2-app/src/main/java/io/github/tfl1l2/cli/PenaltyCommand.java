package io.github.tfl1l2.cli;

import com.google.gson.Gson;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import io.github.tfl1l2.L1L2;
import io.github.tfl1l2.savedmodel.LoadedSavedModel;
import io.github.tfl1l2.savedmodel.ModelVariable;
import io.github.tfl1l2.savedmodel.PenaltyReport;
import io.github.tfl1l2.savedmodel.PenaltyReport.VariablePenalty;
import io.github.tfl1l2.savedmodel.SavedModelException;
import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code tf-l1l2 penalty}: the L1L2 penalty of a SavedModel's variables, in total and per variable.
 */
@Command(
    name = "penalty",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
      "Prints the L1L2 penalty weight * (l1 * sum|w| + l2 * sum w^2) of a SavedModel's "
          + "variables, computed by TensorFlow in float32, with one row per variable "
          + "(name, shape, dtype, sum|w|, sum w^2, share of the penalty).",
      "By default only trainable variables count: for TF2/Keras models the object graph says "
          + "which (optimizer slots, metric counters and moving statistics are not)."
    },
    footer = {"", "Exit status: 0 done, 1 the model cannot be used, 2 an option value is invalid."})
public final class PenaltyCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin RegularizerOptions options;

  @Option(
      names = "--json",
      description =
          "Print one JSON object on one line, with keys penalty, l1_sum, l2_sum and variables "
              + "(objects with name, shape, dtype, l1_sum, l2_sum, penalty) instead of the table.")
  boolean json;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    try {
      L1L2 config = options.config();
      try (LoadedSavedModel model = options.open()) {
        List<ModelVariable> selected = options.select(model, config);
        PenaltyReport report;
        try {
          report = model.penalty(config, selected);
        } catch (SavedModelException e) {
          throw RegularizerOptions.modelFailure(e);
        }
        if (json) {
          out.println(new Gson().toJson(toJson(report)));
        } else {
          printTable(out, model, selected, report);
        }
      }
      out.flush();
      return 0;
    } catch (RuntimeException e) {
      return Failures.report(spec, e);
    }
  }

  /** The JSON form: exactly the keys the help text lists. */
  static JsonObject toJson(PenaltyReport report) {
    JsonObject root = new JsonObject();
    root.add("penalty", number(report.penalty()));
    root.add("l1_sum", number(report.l1Sum()));
    root.add("l2_sum", number(report.l2Sum()));
    JsonArray variables = new JsonArray();
    for (VariablePenalty row : report.variables()) {
      JsonObject variable = new JsonObject();
      variable.addProperty("name", row.variable().name());
      JsonArray shape = new JsonArray();
      row.variable().shape().forEach(shape::add);
      variable.add("shape", shape);
      variable.addProperty("dtype", row.variable().dtypeName());
      variable.add("l1_sum", number(row.l1Sum()));
      variable.add("l2_sum", number(row.l2Sum()));
      variable.add("penalty", number(row.penalty()));
      variables.add(variable);
    }
    root.add("variables", variables);
    return root;
  }

  private void printTable(
      PrintWriter out, LoadedSavedModel model, List<ModelVariable> selected, PenaltyReport report) {
    L1L2 config = report.config();
    out.println("model      " + model.directory() + " (tag " + options.tag + ")");
    out.println(
        "config     l1="
            + config.l1()
            + " l2="
            + config.l2()
            + " weight="
            + config.weight()
            + " on="
            + config.on().orElse("(all)"));
    out.println("variables  " + options.describeSelection(model, selected));
    out.println("penalty    " + shortest(report.penalty()));
    out.println("l1_sum     " + shortest(report.l1Sum()));
    out.println("l2_sum     " + shortest(report.l2Sum()));
    List<ModelVariable> skipped =
        options.allVariables
            ? model.variables().stream().filter(v -> !v.isFloating()).toList()
            : List.of();
    if (!skipped.isEmpty()) {
      out.println(
          "skipped    "
              + skipped.stream()
                  .map(v -> v.name() + " (" + v.dtypeName() + ")")
                  .collect(Collectors.joining(", "))
              + ": not floating point, cannot be regularized");
    }
    out.println();
    int nameWidth =
        Math.max(
            4,
            report.variables().stream()
                .mapToInt(r -> r.variable().name().length())
                .max()
                .orElse(4));
    int shapeWidth =
        Math.max(
            5,
            report.variables().stream()
                .mapToInt(r -> shapeText(r.variable()).length())
                .max()
                .orElse(5));
    String format = "%-" + nameWidth + "s  %-" + shapeWidth + "s  %-8s  %13s  %13s  %7s%n";
    out.printf(Locale.ROOT, format, "name", "shape", "dtype", "sum|w|", "sum w^2", "share");
    for (VariablePenalty row : report.variables()) {
      out.printf(
          Locale.ROOT,
          format,
          row.variable().name(),
          shapeText(row.variable()),
          row.variable().dtypeName(),
          String.format(Locale.ROOT, "%.6g", row.l1Sum()),
          String.format(Locale.ROOT, "%.6g", row.l2Sum()),
          report.penalty() > 0
              ? String.format(Locale.ROOT, "%.2f%%", 100.0 * row.penalty() / report.penalty())
              : "-");
    }
  }

  private static String shapeText(ModelVariable variable) {
    return variable.shape().toString();
  }

  /** A float32 result in its shortest round-trip decimal form (the graph computes in float32). */
  private static JsonPrimitive number(double value) {
    return new JsonPrimitive(Double.parseDouble(shortest(value)));
  }

  private static String shortest(double value) {
    return Float.toString((float) value);
  }
}
