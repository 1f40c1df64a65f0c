package io.github.tfl1l2.savedmodel.export;

import io.github.tfl1l2.L1L2;
import io.github.tfl1l2.ParameterSums;
import io.github.tfl1l2.savedmodel.PenaltyReport;
import io.github.tfl1l2.savedmodel.load.GraphNames;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Signature;
import org.tensorflow.op.Ops;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TFloat64;
import org.tensorflow.types.TString;

/**
 * The ops behind the {@value SignatureLayout#KEY} signature's outputs, plus the per-variable Σ|w|
 * and Σw² that a {@link PenaltyReport} shows, emitted once into a graph. All of them come from one
 * {@link L1L2#sums} call: each variable is read once, whatever is reported.
 */
public final class RegularizationOutputs {
  final List<String> names;
  final Operand<TFloat32> penalty;
  final Operand<TFloat32> perVariable;
  final Operand<TFloat32> absSums;
  final Operand<TFloat32> squareSums;
  final Operand<TFloat32> l1Sum;
  final Operand<TFloat32> l2Sum;
  final Operand<TString> variableNames;
  final Operand<TFloat64> coefficients;
  private final String methodName;

  private RegularizationOutputs(
      Ops tf,
      L1L2 config,
      Map<String, ? extends Operand<?>> variables,
      List<String> names,
      boolean xla) {
    this.names = List.copyOf(names);
    // Every figure derives from one call that reads each variable once for both sums.
    ParameterSums sums = config.toBuilder().xla(xla).build().sums(tf, variables);
    penalty = tf.withName(SignatureLayout.PENALTY).dtypes.cast(sums.penalty(), TFloat32.class);
    perVariable =
        tf.withName(SignatureLayout.PER_VARIABLE).dtypes.cast(sums.perParameter(), TFloat32.class);
    absSums = tf.dtypes.cast(sums.absSums(), TFloat32.class);
    squareSums = tf.dtypes.cast(sums.squareSums(), TFloat32.class);
    l1Sum = tf.withName(SignatureLayout.L1_SUM).sum(absSums, tf.constant(0));
    l2Sum = tf.withName(SignatureLayout.L2_SUM).sum(squareSums, tf.constant(0));
    variableNames =
        tf.withName(SignatureLayout.VARIABLE_NAMES)
            .constant(StandardCharsets.UTF_8, names.toArray(new String[0]));
    coefficients =
        tf.withName(SignatureLayout.COEFFICIENTS)
            .constant(new double[] {config.l1(), config.l2(), config.weight()});
    methodName = SignatureLayout.methodName(config);
  }

  /**
   * Emits the outputs for {@code config} over {@code variables} with {@code tf}, under a name scope
   * {@code base} (made unique among the ops of {@code graph}, the graph {@code tf} builds into).
   *
   * @param tf the ops of {@code graph}
   * @param graph the graph the outputs go into
   * @param base the name scope's base
   * @param config the regularizer
   * @param variables the candidate variables (or their reads) by name
   * @param xla whether the sums are XLA-marked: true for a report computed here and now (one fused
   *     read of each variable), false for ops that a SavedModel will carry, which must run in any
   *     TensorFlow runtime and run once per call, where compiling costs more than it saves
   * @return the emitted outputs
   * @throws IllegalArgumentException if {@code config} selects none of {@code variables}
   */
  public static RegularizationOutputs emit(
      Ops tf,
      Graph graph,
      String base,
      L1L2 config,
      Map<String, ? extends Operand<?>> variables,
      boolean xla) {
    List<String> selected = new ArrayList<>();
    for (String name : variables.keySet()) {
      if (config.selects(name)) {
        selected.add(name);
      }
    }
    if (selected.isEmpty()) {
      throw new IllegalArgumentException(
          "no variable to regularize: "
              + (variables.isEmpty()
                  ? "variables is empty"
                  : "on=\"" + config.on().orElse("") + "\" matches none of " + variables.keySet()));
    }
    return new RegularizationOutputs(
        tf.withSubScope(GraphNames.unusedScope(graph, base)), config, variables, selected, xla);
  }

  /**
   * The signature that names the six outputs (not the per-variable sums).
   *
   * @return a signature with key {@value SignatureLayout#KEY} and no inputs
   */
  public Signature signature() {
    return Signature.builder()
        .key(SignatureLayout.KEY)
        .methodName(methodName)
        .output(SignatureLayout.PENALTY, penalty)
        .output(SignatureLayout.L1_SUM, l1Sum)
        .output(SignatureLayout.L2_SUM, l2Sum)
        .output(SignatureLayout.PER_VARIABLE, perVariable)
        .output(SignatureLayout.VARIABLE_NAMES, variableNames)
        .output(SignatureLayout.COEFFICIENTS, coefficients)
        .build();
  }
}
