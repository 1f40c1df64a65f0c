package io.github.tfl1l2.optimizers;

import io.github.tfl1l2.DataGradients;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;
import org.tensorflow.Graph;
import org.tensorflow.GraphOperation;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.framework.optimizers.Optimizer;
import org.tensorflow.framework.optimizers.Optimizer.GradAndVar;
import org.tensorflow.op.Ops;

/**
 * The (gradient, variable) pairs a proximal optimizer applies: the data loss's gradient for every
 * {@code VariableV2} it reaches, and a zero gradient, built on the variable's device, for every
 * selected variable it does not reach (the prox still applies there). Which variables the loss
 * reaches, and their gradients, is {@link DataGradients}' rule, the one {@code L1L2.minimize}
 * follows too.
 */
final class GradientPairs {
  private GradientPairs() {}

  /**
   * @param optimizer the optimizer's name, for error messages
   * @param graph the graph the loss lives in
   * @param tf where the zero gradients are built
   * @param loss the data loss
   * @param selected whether a variable (by its op) takes the proximal step
   * @param excluded names of variables never trained (the optimizer's own slots)
   * @throws IllegalArgumentException if a selected variable's dtype has no proximal kernel
   */
  static List<GradAndVar<?>> of(String optimizer, Graph graph, Ops tf, Operand<?> loss,
      Predicate<Output<?>> selected, Set<String> excluded) {
    List<Output<?>> variables = new ArrayList<>();
    for (Iterator<GraphOperation> it = graph.operations(); it.hasNext(); ) {
      GraphOperation op = it.next();
      if (op.type().equals(Optimizer.VARIABLE_V2) && !excluded.contains(op.name())) {
        Output<?> variable = op.output(0);
        if (selected.test(variable)) {
          ProximalTerms.requireProximalKernel(optimizer, variable);
        }
        variables.add(variable);
      }
    }
    return DataGradients.of(tf.scope(), loss, variables, selected);
  }
}
