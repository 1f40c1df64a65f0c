package io.github.tfl1l2.savedmodel;

import io.github.tfl1l2.L1L2;
import io.github.tfl1l2.Reduction;
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
 * The ops behind the {@value RegularizationSignature#KEY} signature's outputs, plus the
 * per-variable Σ|w| and Σw² that a {@link PenaltyReport} shows, emitted once into a graph.
 */
final class RegularizationOutputs {
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

  private RegularizationOutputs(Ops tf, L1L2 config, Map<String, ? extends Operand<?>> variables,
      List<String> names) {
    this.names = List.copyOf(names);
    L1L2 plain = config.toBuilder().xla(false).build();
    penalty = plain.toBuilder().reduction(Reduction.SUM).build().penalty(tf, variables);
    perVariable = plain.toBuilder().reduction(Reduction.NONE).name(RegularizationSignature.PER_VARIABLE)
        .build().penalty(tf, variables);
    List<Operand<TFloat32>> sums = absAndSquareSums(tf, plain, variables);
    absSums = sums.get(0);
    squareSums = sums.get(1);
    l1Sum = tf.withName(RegularizationSignature.L1_SUM).sum(absSums, tf.constant(0));
    l2Sum = tf.withName(RegularizationSignature.L2_SUM).sum(squareSums, tf.constant(0));
    variableNames = tf.withName(RegularizationSignature.VARIABLE_NAMES)
        .constant(StandardCharsets.UTF_8, names.toArray(new String[0]));
    coefficients = tf.withName(RegularizationSignature.COEFFICIENTS)
        .constant(new double[] {config.l1(), config.l2(), config.weight()});
    methodName = RegularizationSignature.methodName(config);
  }

  /**
   * Emits the outputs for {@code config} over {@code variables} with {@code tf}, under a name
   * scope {@code base} (made unique among the ops of {@code graph}, the graph {@code tf} builds
   * into).
   *
   * @throws IllegalArgumentException if {@code config} selects none of {@code variables}
   */
  static RegularizationOutputs emit(
      Ops tf, Graph graph, String base, L1L2 config, Map<String, ? extends Operand<?>> variables) {
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
        tf.withSubScope(GraphNames.unusedScope(graph, base)), config, variables, selected);
  }

  /** The signature that names the six outputs (not the per-variable sums). */
  Signature signature() {
    return Signature.builder()
        .key(RegularizationSignature.KEY)
        .methodName(methodName)
        .output(RegularizationSignature.PENALTY, penalty)
        .output(RegularizationSignature.L1_SUM, l1Sum)
        .output(RegularizationSignature.L2_SUM, l2Sum)
        .output(RegularizationSignature.PER_VARIABLE, perVariable)
        .output(RegularizationSignature.VARIABLE_NAMES, variableNames)
        .output(RegularizationSignature.COEFFICIENTS, coefficients)
        .build();
  }

  /**
   * Σ|w| and Σw² of each selected variable, as two float32 vectors in selection order.
   *
   * <p>THE ONE PLACE that gets these sums by re-running the regularizer with its coefficients set
   * to (l1, l2) = (1, 0) and then (0, 1): two more reductions over every variable beside the
   * penalty's own. A core call that returns each parameter's Σ|w| and Σw² in one fused pass
   * replaces this method, and the penalty and per-variable outputs above can then be computed
   * from its result.
   */
  private static List<Operand<TFloat32>> absAndSquareSums(
      Ops tf, L1L2 plain, Map<String, ? extends Operand<?>> variables) {
    L1L2 sums = plain.toBuilder().weight(1.0).reduction(Reduction.NONE).build();
    return List.of(
        sums.toBuilder().l1(1.0).l2(0.0).name("abs_sums").build().penalty(tf, variables),
        sums.toBuilder().l1(0.0).l2(1.0).name("square_sums").build().penalty(tf, variables));
  }
}
