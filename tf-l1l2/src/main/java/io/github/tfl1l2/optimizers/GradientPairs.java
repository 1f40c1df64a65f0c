package io.github.tfl1l2.optimizers;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
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
import org.tensorflow.types.family.TType;

/**
 * The (gradient, variable) pairs a proximal optimizer applies: the data loss's gradient for every
 * {@code VariableV2} it reaches, and a zero gradient for every selected variable it does not
 * reach (the prox still applies there).
 *
 * <p>The framework's {@code computeGradients} asks {@code Graph.addGradients} for every {@code
 * VariableV2} of the graph, and TensorFlow rejects the whole call when one of them is unreachable
 * from the loss ("Cannot compute the partial derivative for node … as it's unreachable"); so the
 * reachable variables are found first, by walking the loss's data inputs.
 */
final class GradientPairs {
  private GradientPairs() {}

  /**
   * @param graph the graph the loss lives in
   * @param tf where the zero gradients are built
   * @param loss the data loss
   * @param selected whether a variable (by its op) takes the proximal step
   * @param excluded names of variables never trained (the optimizer's own slots)
   */
  static List<GradAndVar<?>> of(
      Graph graph, Ops tf, Operand<?> loss, Predicate<Output<?>> selected, Set<String> excluded) {
    Set<GraphOperation> ancestors = ancestors((GraphOperation) loss.op());
    List<Output<?>> reached = new ArrayList<>();
    List<Output<?>> unreached = new ArrayList<>();
    for (Iterator<GraphOperation> it = graph.operations(); it.hasNext(); ) {
      GraphOperation op = it.next();
      if (op.type().equals(Optimizer.VARIABLE_V2) && !excluded.contains(op.name())) {
        (ancestors.contains(op) ? reached : unreached).add(op.output(0));
      }
    }
    List<GradAndVar<?>> pairs = new ArrayList<>();
    if (!reached.isEmpty()) {
      Output<?>[] gradients = graph.addGradients(loss.asOutput(), reached.toArray(new Output<?>[0]));
      for (int i = 0; i < gradients.length; i++) {
        pairs.add(pair(gradients[i], reached.get(i)));
      }
    }
    for (Output<?> variable : unreached) {
      if (selected.test(variable)) {
        pairs.add(zeroGradient(tf, variable));
      }
    }
    return pairs;
  }

  @SuppressWarnings("unchecked")
  private static <T extends TType> GradAndVar<T> pair(Output<?> gradient, Output<T> variable) {
    return new GradAndVar<>((Output<T>) gradient, variable);
  }

  private static <T extends TType> GradAndVar<T> zeroGradient(Ops tf, Output<T> variable) {
    Output<T> zeros =
        tf.fill(tf.constant(variable.shape()), ProximalTerms.scalar(tf, 0.0, variable)).asOutput();
    return new GradAndVar<>(zeros, variable);
  }

  /** The ops whose outputs flow into {@code root} along data edges, {@code root} included. */
  private static Set<GraphOperation> ancestors(GraphOperation root) {
    Set<GraphOperation> seen = new HashSet<>();
    Deque<GraphOperation> pending = new ArrayDeque<>();
    seen.add(root);
    pending.add(root);
    while (!pending.isEmpty()) {
      for (Operand<?> input : pending.pop().inputs()) {
        GraphOperation op = (GraphOperation) input.op();
        if (seen.add(op)) {
          pending.add(op);
        }
      }
    }
    return seen;
  }
}
