package io.github.tfl1l2.optimizers;

import io.github.tfl1l2.gradients.MissingGradients;
import io.github.tfl1l2.internal.DataGradients;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Predicate;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.framework.optimizers.Optimizer.GradAndVar;
import org.tensorflow.op.Ops;

/**
 * The variables a proximal step trains, and the (gradient, variable) pairs it applies: the data
 * loss's gradient for every variable it reaches, and a zero gradient, built on the variable's
 * device, for every selected variable it does not reach (the prox still applies there). What counts
 * as a variable (ref or resource, and the forms a user may give it in), which variables the loss
 * reaches and their gradients is {@link DataGradients}' rule, the one {@code L1L2.minimize} follows
 * too.
 */
final class GradientPairs {
  private GradientPairs() {}

  /** Every variable of {@code graph}, ref and resource, except those named in {@code excluded}. */
  static List<Output<?>> graphVariables(Graph graph, Set<String> excluded) {
    List<Output<?>> variables = new ArrayList<>();
    for (Output<?> variable : DataGradients.variablesOf(graph)) {
      if (!excluded.contains(variable.op().name())) {
        variables.add(variable);
      }
    }
    return variables;
  }

  /**
   * The variables of {@code given}, each mapped by {@link DataGradients#variableOf}.
   *
   * @throws NullPointerException if {@code given} or an element is null
   * @throws IllegalArgumentException if {@code given} is empty, or an element is no variable of
   *     {@code graph}, is one of the optimizer's own slots, or names a variable given before
   */
  static List<Output<?>> givenVariables(
      Graph graph, Iterable<? extends Operand<?>> given, Set<String> slots) {
    Objects.requireNonNull(given, "variables must not be null");
    List<Output<?>> variables = new ArrayList<>();
    Map<Output<?>, Integer> firstIndex = new HashMap<>();
    int index = 0;
    for (Operand<?> weight : given) {
      Output<?> variable = DataGradients.variableOf("variables", index, weight, graph);
      String described = "variables[" + index + "] (op \"" + weight.op().name() + "\")";
      if (slots.contains(variable.op().name())) {
        throw new IllegalArgumentException(
            described
                + " is this optimizer's own slot \""
                + variable.op().name()
                + "\", which it updates itself and never trains");
      }
      Integer first = firstIndex.putIfAbsent(variable, index);
      if (first != null) {
        throw new IllegalArgumentException(
            described
                + " is the variable \""
                + variable.op().name()
                + "\" again, already given as variables["
                + first
                + "]; give each variable once");
      }
      variables.add(variable);
      index++;
    }
    if (variables.isEmpty()) {
      throw new IllegalArgumentException(
          "variables is empty, so the step would train nothing; pass the variables to train");
    }
    return variables;
  }

  /**
   * The pairs for {@code variables}, in their order.
   *
   * @param optimizer the optimizer's name, for error messages
   * @param graph the optimizer's graph, which the loss must belong to
   * @param tf where the zero gradients and the sums over reads are built
   * @param loss the data loss
   * @param variables the candidate variables
   * @param which how messages name {@code variables} ("the graph's variables", …)
   * @param selected whether a variable (by its op) takes the proximal step
   * @throws IllegalArgumentException if the loss belongs to another graph, a selected variable's
   *     dtype has no proximal kernel, or the loss reaches none of {@code variables} with a gradient
   *     (the step would not train on the data at all)
   */
  static List<GradAndVar<?>> of(
      String optimizer,
      Graph graph,
      Ops tf,
      Operand<?> loss,
      List<Output<?>> variables,
      String which,
      Predicate<Output<?>> selected) {
    Objects.requireNonNull(loss, "dataLoss must not be null");
    // Before any gradient is built: a data loss such as SparseSoftmaxCrossEntropyWithLogits has
    // no gradient in TensorFlow's C++ registry until this library adds it.
    MissingGradients.register();
    if (loss.env() != graph) {
      throw new IllegalArgumentException(
          "dataLoss (op \""
              + loss.op().name()
              + "\") belongs to another execution environment than "
              + optimizer
              + "'s graph");
    }
    for (Output<?> variable : variables) {
      if (selected.test(variable)) {
        ProximalTerms.requireProximalKernel(optimizer, variable);
      }
    }
    Map<Output<?>, Output<?>> gradients = DataGradients.reached(tf.scope(), loss, variables);
    if (gradients.isEmpty()) {
      throw new IllegalArgumentException(
          optimizer
              + " would not train on the data: the data loss"
              + " (op \""
              + loss.op().name()
              + "\") reaches none of "
              + which
              + " ("
              + variables.size()
              + ") with a gradient (along data edges, not only through"
              + " StopGradient); build the loss from the variables (or their Identity or"
              + " ReadVariableOp reads)");
    }
    List<GradAndVar<?>> pairs = new ArrayList<>();
    for (Output<?> variable : variables) {
      Output<?> gradient = gradients.get(variable);
      if (gradient == null && selected.test(variable)) {
        gradient = DataGradients.zerosBeside(tf.scope(), variable);
      }
      if (gradient != null) {
        pairs.add(pair(gradient, variable));
      }
    }
    return pairs;
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private static GradAndVar<?> pair(Output<?> gradient, Output<?> variable) {
    return new GradAndVar(gradient, variable);
  }
}
