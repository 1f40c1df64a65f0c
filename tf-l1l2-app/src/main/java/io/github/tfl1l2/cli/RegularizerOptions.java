package io.github.tfl1l2.cli;

import io.github.tfl1l2.L1L2;
import io.github.tfl1l2.savedmodel.LoadedSavedModel;
import io.github.tfl1l2.savedmodel.ModelVariable;
import io.github.tfl1l2.savedmodel.SavedModelException;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import picocli.CommandLine.Option;

/** The options that {@code penalty} and {@code regularize} share: the model and the regularizer. */
final class RegularizerOptions {
  /** One day: a larger {@code --timeout} is more likely a typo than a plan. */
  static final long MAX_TIMEOUT_SECONDS = 86_400;

  @Option(
      names = "--model",
      required = true,
      paramLabel = "DIR",
      description = "SavedModel directory; its MetaGraphDef tagged --tag is used.")
  Path model;

  @Option(
      names = "--tag",
      paramLabel = "TAG",
      defaultValue = LoadedSavedModel.SERVE_TAG,
      description =
          "Tag of the MetaGraphDef to load (default: ${DEFAULT-VALUE}, the one TF "
              + "Serving serves).")
  String tag;

  @Option(
      names = "--timeout",
      paramLabel = "SECONDS",
      defaultValue = "600",
      description =
          "Give up when loading and computing take longer than this, a whole number "
              + "from 1 to 86400 (default: ${DEFAULT-VALUE}). The command runs in a child process "
              + "that is stopped then, so a model that makes TensorFlow hang or abort still ends with "
              + "one line and exit status 1.")
  long timeoutSeconds;

  @Option(
      names = "--l1",
      paramLabel = "X",
      defaultValue = "0.0",
      description = "Coefficient of sum|w|, finite and >= 0 (default: ${DEFAULT-VALUE}).")
  double l1;

  @Option(
      names = "--l2",
      paramLabel = "Y",
      defaultValue = "0.01",
      description =
          "Coefficient of sum w^2, finite and >= 0 (default: ${DEFAULT-VALUE}, as Keras' l2()).")
  double l2;

  @Option(
      names = "--weight",
      paramLabel = "W",
      defaultValue = "1.0",
      description = "Factor on the whole penalty, finite and >= 0 (default: ${DEFAULT-VALUE}).")
  double weight;

  @Option(
      names = "--on",
      paramLabel = "REGEX",
      description =
          "Only variables whose name contains a match of this java.util.regex "
              + "pattern, e.g. kernel or '^dense/' (default: all).")
  String on;

  @Option(
      names = "--all-variables",
      description =
          "Also regularize non-trainable variables (optimizer slots, metric counters, "
              + "batch-norm moving statistics). Default: trainable only, as the model marks them.")
  boolean allVariables;

  /**
   * The regularizer the options describe; an invalid value is an option error naming it. The
   * options are checked here, in the command line's own words, before {@link L1L2} sees them.
   */
  L1L2 config() {
    L1L2.Builder builder =
        L1L2.builder()
            .l1(nonNegativeFinite("--l1", l1))
            .l2(nonNegativeFinite("--l2", l2))
            .weight(nonNegativeFinite("--weight", weight))
            // The signature is read once per call; XLA compilation would only add latency.
            .xla(false);
    if (on != null) {
      builder.on(validRegex("--on", on));
    }
    return builder.build();
  }

  private static double nonNegativeFinite(String option, double value) {
    if (!(value >= 0.0) || Double.isInfinite(value)) {
      throw CommandFailure.usage(option + " must be a finite number >= 0, but was " + value);
    }
    return value;
  }

  private static String validRegex(String option, String regex) {
    try {
      Pattern.compile(regex);
    } catch (PatternSyntaxException e) {
      throw CommandFailure.usage(
          option
              + " must be a valid java.util.regex pattern, but was \""
              + regex
              + "\": "
              + e.getDescription());
    }
    return regex;
  }

  /** Loads {@code --model}, turning every failure into one line that names the option. */
  LoadedSavedModel open() {
    if (tag.isBlank()) {
      throw CommandFailure.usage("--tag must not be empty, but was \"" + tag + "\"");
    }
    checkTimeout();
    try {
      return LoadedSavedModel.open(model, tag);
    } catch (SavedModelException e) {
      throw modelFailure(e);
    }
  }

  /**
   * A failure of {@code --model}, e.g. TensorFlow failing to run its graph (a restore op that a
   * corrupt graph no longer wires up leaves a variable uninitialized), as one line naming the
   * option; the exception's message names the directory and quotes TensorFlow's first line.
   */
  static CommandFailure modelFailure(SavedModelException e) {
    return CommandFailure.input("--model " + e.getMessage());
  }

  /** The {@code --timeout} value, checked; the supervising process enforces it. */
  long checkTimeout() {
    if (timeoutSeconds < 1 || timeoutSeconds > MAX_TIMEOUT_SECONDS) {
      throw CommandFailure.usage(
          "--timeout must be a whole number of seconds from 1 to "
              + MAX_TIMEOUT_SECONDS
              + ", but was "
              + timeoutSeconds);
    }
    return timeoutSeconds;
  }

  /**
   * The variables {@code config} regularizes in {@code model}.
   *
   * @throws CommandFailure if none matches
   */
  List<ModelVariable> select(LoadedSavedModel model, L1L2 config) {
    List<ModelVariable> selected = model.select(config, allVariables);
    if (selected.isEmpty()) {
      List<ModelVariable> candidates =
          model.variables().stream()
              .filter(ModelVariable::isFloating)
              .filter(v -> allVariables || v.trainable())
              .toList();
      String pool =
          candidates.size()
              + " "
              + (allVariables ? "" : "trainable ")
              + "floating-point variables of "
              + model.directory();
      throw CommandFailure.input(
          candidates.isEmpty()
              ? "--model "
                  + model.directory()
                  + " has no "
                  + (allVariables ? "" : "trainable ")
                  + "floating-point variable to regularize ("
                  + model.variables().size()
                  + " variables in all"
                  + (allVariables ? "" : "; --all-variables includes non-trainable ones")
                  + ")"
              : "--on \"" + on + "\" matches none of the " + pool + ": " + names(candidates));
    }
    return selected;
  }

  /** How the selection came about, for the human-readable report. */
  String describeSelection(LoadedSavedModel model, List<ModelVariable> selected) {
    String scope =
        allVariables
            ? "all floating-point variables"
            : switch (model.trainableSource()) {
              case OBJECT_GRAPH -> "trainable only, as the object graph marks them";
              case TRAINABLE_VARIABLES_COLLECTION ->
                  "trainable only, per the trainable_variables collection";
              case ALL_ASSUMED_TRAINABLE ->
                  "no trainable flags in the model: all count as trainable";
            };
    return selected.size() + " of " + model.variables().size() + " variables (" + scope + ")";
  }

  private static String names(List<ModelVariable> variables) {
    int shown = Math.min(8, variables.size());
    String list =
        String.join(", ", variables.subList(0, shown).stream().map(ModelVariable::name).toList());
    return variables.size() > shown
        ? list + ", ... (" + (variables.size() - shown) + " more)"
        : list;
  }
}
