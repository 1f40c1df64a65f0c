package io.github.tfl1l2;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import org.tensorflow.Graph;
import org.tensorflow.GraphOperation;
import org.tensorflow.Operand;
import org.tensorflow.Operation;
import org.tensorflow.Output;
import org.tensorflow.framework.optimizers.Optimizer;
import org.tensorflow.framework.optimizers.Optimizer.GradAndVar;
import org.tensorflow.op.Scope;
import org.tensorflow.op.core.Constant;
import org.tensorflow.op.core.Zeros;
import org.tensorflow.types.family.TType;

/**
 * The data loss's gradient with respect to each {@code VariableV2} variable it reaches: the one
 * rule by which this library's training steps ({@link L1L2#minimize} and the proximal optimizers
 * of {@code io.github.tfl1l2.optimizers}) take their data gradients.
 *
 * <p>The framework's {@code Optimizer.computeGradients} asks {@code Graph.addGradients} for every
 * {@code VariableV2} of the graph, and TensorFlow rejects the whole call when the loss does not
 * reach one of them ("Cannot compute the partial derivative for node … as it's unreachable"). So
 * the variables from which the loss is reached along data edges are found first, and only those
 * are asked for, in one {@code Graph.addGradients} call. A variable the loss reaches only through
 * {@code StopGradient} has no gradient and counts as not reached.
 *
 * <p>This class is public only because the optimizers live in another package than {@link
 * L1L2}, and both must follow the same rule; applications train through those classes and need
 * not call it.
 */
public final class DataGradients {
  private DataGradients() {}

  /**
   * One (gradient, variable) pair for each of {@code variables}, in their order: {@code ∂loss/∂v}
   * when {@code loss} reaches {@code v}; otherwise, when {@code zeroWhenUnreached} accepts {@code
   * v}, a zero gradient of {@code v}'s shape and dtype ({@code Fill}), built on {@code v}'s
   * device so that it never crosses devices or tasks; otherwise no pair. The gradients have the
   * variables' dtypes.
   *
   * @param scope where the zero gradients are built (their names; their device is the variable's)
   * @param loss the floating data loss, in a {@link Graph}
   * @param variables {@code VariableV2} outputs of the loss's graph, each of a fully known shape
   *     where a zero gradient may be built for it
   * @param zeroWhenUnreached which unreached variables still get a (zero) gradient
   * @return the pairs, ready for {@code Optimizer.applyGradients}
   * @throws NullPointerException if an argument or a variable is null
   * @throws IllegalArgumentException if {@code loss} is not in a graph, or a variable is not the
   *     output of a {@code VariableV2} of that graph
   */
  public static List<GradAndVar<?>> of(
      Scope scope,
      Operand<?> loss,
      List<? extends Output<?>> variables,
      Predicate<? super Output<?>> zeroWhenUnreached) {
    Checks.notNull("scope", scope);
    Checks.notNull("zeroWhenUnreached", zeroWhenUnreached);
    Map<Output<?>, Output<?>> gradients = reached(loss, variables);
    List<GradAndVar<?>> pairs = new ArrayList<>();
    for (Output<?> variable : variables) {
      Output<?> gradient = gradients.get(variable);
      if (gradient != null) {
        pairs.add(pair(gradient, variable));
      } else if (zeroWhenUnreached.test(variable)) {
        pairs.add(pair(zerosBeside(scope, variable), variable));
      }
    }
    return pairs;
  }

  /**
   * {@code ∂loss/∂v} for each of {@code variables} that {@code loss} reaches with a gradient,
   * keyed by the variable's output, in the order of {@code variables}.
   */
  static Map<Output<?>, Output<?>> reached(
      Operand<?> loss, List<? extends Output<?>> variables) {
    Checks.notNull("loss", loss);
    Checks.notNull("variables", variables);
    if (!(loss.env() instanceof Graph graph)) {
      throw new IllegalArgumentException(
          "loss (op \"" + loss.op().name() + "\") must be in a Graph, but is in " + loss.env());
    }
    for (int i = 0; i < variables.size(); i++) {
      Output<?> variable = Checks.notNull("variables[" + i + "]", variables.get(i));
      if (variable.env() != graph || !variable.op().type().equals(Optimizer.VARIABLE_V2)) {
        throw new IllegalArgumentException(
            "variables[" + i + "] (op \"" + variable.op().name() + "\", a "
                + variable.op().type() + ") must be a VariableV2 of the loss's graph");
      }
    }
    Set<GraphOperation> ancestors = ancestors((GraphOperation) loss.op());
    List<Output<?>> asked = new ArrayList<>();
    for (Output<?> variable : variables) {
      if (ancestors.contains((GraphOperation) variable.op()) && !asked.contains(variable)) {
        asked.add(variable);
      }
    }
    Map<Output<?>, Output<?>> gradients = new LinkedHashMap<>();
    if (asked.isEmpty()) {
      return gradients;
    }
    Output<?>[] outputs = graph.addGradients(loss.asOutput(), asked.toArray(new Output<?>[0]));
    for (int i = 0; i < asked.size(); i++) {
      // A NoGradient result (the loss reaches the variable only through StopGradient) is closed.
      if (outputs[i] != null && !outputs[i].isClosed()) {
        gradients.put(asked.get(i), outputs[i]);
      }
    }
    return gradients;
  }

  /** Whether {@code loss} reaches every one of {@code variables} along data edges. */
  static boolean reachesAll(Operand<?> loss, List<? extends Output<?>> variables) {
    Set<GraphOperation> ancestors = ancestors((GraphOperation) loss.op());
    for (Output<?> variable : variables) {
      if (!ancestors.contains((GraphOperation) variable.op())) {
        return false;
      }
    }
    return true;
  }

  /** The ops whose outputs flow into {@code root} along data edges, {@code root} included. */
  private static Set<GraphOperation> ancestors(GraphOperation root) {
    Set<GraphOperation> seen = new HashSet<>();
    Deque<GraphOperation> pending = new ArrayDeque<>();
    seen.add(root);
    pending.add(root);
    while (!pending.isEmpty()) {
      GraphOperation op = pending.pop();
      for (int i = 0; i < op.numInputs(); i++) {
        Operation input = op.input(i).op();
        if (input instanceof GraphOperation source && seen.add(source)) {
          pending.add(source);
        }
      }
    }
    return seen;
  }

  /**
   * Zeros shaped and typed as {@code variable}, built on its device: unplaced, the {@code Fill}
   * would run on the client's task of a cluster and send the whole weight-sized tensor to the
   * variable's task every step (measured: 8 MiB a step in {@code ClusterTrainingTest}'s model).
   */
  private static <T extends TType> Output<T> zerosBeside(Scope scope, Output<T> variable) {
    Scope beside = PinnedScope.on(scope, Devices.deviceOf(variable));
    return Zeros.create(beside, Constant.vectorOf(beside, variable.shape().asArray()),
        variable.type()).asOutput();
  }

  @SuppressWarnings("unchecked")
  private static <T extends TType> GradAndVar<T> pair(Output<?> gradient, Output<T> variable) {
    return new GradAndVar<>((Output<T>) gradient, variable);
  }
}
