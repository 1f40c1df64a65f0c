package io.github.tfl1l2.savedmodel.inline;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.tensorflow.Graph;
import org.tensorflow.GraphOperation;
import org.tensorflow.Output;
import org.tensorflow.proto.NodeDef;

/**
 * Builds the variable writes that a Keras layer's training-mode call makes, and refuses every other
 * write: {@code BatchNormalization}'s moving-statistics updates ({@code AssignSubVariableOp} of
 * {@code (old − batch)·(1 − momentum)}, or {@code AssignVariableOp} of the fused kernel's running
 * mean and variance) and the advance of a Dropout random generator's state ({@code RngReadAndSkip}
 * and the other stateful random ops on a resource).
 *
 * <p>Why only those: a training step is expected to update them (Keras does, once per call), while
 * any other write in a traced call (an optimizer's, a counter's) would change the model's state at
 * every step behind the caller's back. A refusal names the node, its op and the variable.
 *
 * <p>Order: a write keeps its control inputs on the body's earlier ops (the traced read of the
 * statistic it updates); a control input on an op not yet built, which only a data edge would have
 * ordered, is refused rather than dropped. The caller orders the call's outputs after {@link
 * #writes()}, so that whatever evaluates an output runs each write once per {@code Session.run}.
 */
public final class TrainingStateWrites implements NodeRewrite {
  /** What a moving statistic may be written with. */
  private static final Set<String> STATISTIC_WRITES =
      Set.of("AssignVariableOp", "AssignSubVariableOp", "AssignAddVariableOp");

  /** The kind of a moving statistic, as {@link #TrainingStateWrites} takes it. */
  public static final String MOVING_STATISTIC = "moving statistic";

  /** The kind of a random generator's state, as {@link #TrainingStateWrites} takes it. */
  public static final String GENERATOR_STATE = "random generator state";

  private final Graph graph;
  private final Map<String, String> allowed;
  private final List<GraphOperation> built = new ArrayList<>();

  /**
   * @param graph the graph the inliner builds into
   * @param allowed the {@code VarHandleOp} names of the variables that may be written, each with
   *     its kind, {@link #MOVING_STATISTIC} or {@link #GENERATOR_STATE}
   */
  public TrainingStateWrites(Graph graph, Map<String, String> allowed) {
    this.graph = graph;
    this.allowed = Map.copyOf(allowed);
  }

  @Override
  public boolean applies(NodeDef node, List<Output<?>> inputs, FunctionInliner inliner) {
    return ResourceWrites.writes(node.getOp());
  }

  @Override
  public List<Output<?>> rewrite(
      NodeDef node, List<Output<?>> inputs, String path, FunctionInliner inliner) {
    String op = node.getOp();
    Output<?> handle = inputs.isEmpty() ? null : inputs.get(0);
    String variable =
        handle != null && handle.op().type().equals("VarHandleOp") ? handle.op().name() : null;
    String kind = variable == null ? null : allowed.get(variable);
    boolean fits =
        kind != null
            && (kind.equals(MOVING_STATISTIC)
                ? STATISTIC_WRITES.contains(op)
                : !op.startsWith("Assign") && !op.startsWith("Resource"));
    if (!fits) {
      throw inliner.refused(
          path,
          "("
              + op
              + ") writes "
              + (variable == null
                  ? "a resource that is not a variable of the graph"
                  : "variable " + variable + (kind == null ? "" : " (a " + kind + ")"))
              + "; a training step may write only BatchNormalization moving statistics (with"
              + " AssignVariableOp, AssignSubVariableOp) and a Dropout random generator's state");
    }
    String scope = path.substring(0, path.length() - node.getName().length());
    List<GraphOperation> after = new ArrayList<>();
    for (String input : node.getInputList()) {
      if (input.startsWith("^")) {
        GraphOperation earlier = graph.operation(scope + input.substring(1));
        if (earlier == null) {
          throw inliner.refused(
              path,
              "("
                  + op
                  + ") must run after "
                  + input.substring(1)
                  + ", which is not built before it; the write's order cannot be kept");
        }
        after.add(earlier);
      }
    }
    GraphOperation write = inliner.copy(node, inputs, path, after);
    built.add(write);
    List<Output<?>> outputs = new ArrayList<>();
    for (int i = 0; i < write.numOutputs(); i++) {
      outputs.add(write.output(i));
    }
    return outputs;
  }

  /**
   * The writes built so far, in the order built.
   *
   * @return an immutable list of the write ops
   */
  public List<GraphOperation> writes() {
    return List.copyOf(built);
  }
}
