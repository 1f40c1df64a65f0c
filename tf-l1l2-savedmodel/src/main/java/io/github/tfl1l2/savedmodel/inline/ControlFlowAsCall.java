package io.github.tfl1l2.savedmodel.inline;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.tensorflow.GraphOperation;
import org.tensorflow.Output;
import org.tensorflow.proto.NodeDef;

/**
 * Keeps functional control flow ({@code If}, {@code While}, {@code Case} and their stateless forms)
 * that no variable reaches as one node calling its functions, as the loaded graph has it.
 *
 * <p>Why: string preprocessing (a {@code TextVectorization}'s vocabulary {@code cond}), lookups and
 * shape logic use control flow on tensors that carry no gradient. Its branches are functions of the
 * graph's library already, so the node runs as it is; inlining its branches would gain nothing and
 * fail on their own control flow. Control flow that a variable's value does reach is left to later
 * rewrites (a loop to unroll) or refused: the C++ gradient registry has no gradient for it, and
 * {@link GradientCoverage} names the node if it lies between a trainable variable and an output.
 */
final class ControlFlowAsCall implements NodeRewrite {
  /** Functional control flow: its branches are functions of the library. */
  static final Set<String> CONTROL_FLOW =
      Set.of("If", "StatelessIf", "While", "StatelessWhile", "Case", "StatelessCase");

  @Override
  public boolean applies(NodeDef node, List<Output<?>> inputs, FunctionInliner inliner) {
    return CONTROL_FLOW.contains(node.getOp());
  }

  @Override
  public List<Output<?>> rewrite(
      NodeDef node, List<Output<?>> inputs, String path, FunctionInliner inliner) {
    if (inliner.reachedByVariable(inputs)) {
      throw inliner.refused(
          path,
          "is functional control flow ("
              + node.getOp()
              + ") that a variable's value reaches: TensorFlow has no C++ gradient for it, and"
              + " its trip count or branch is not known when the graph is built");
    }
    GraphOperation op = inliner.copy(node, inputs, path);
    List<Output<?>> outputs = new ArrayList<>();
    for (int i = 0; i < op.numOutputs(); i++) {
      outputs.add(op.output(i));
    }
    return outputs;
  }
}
