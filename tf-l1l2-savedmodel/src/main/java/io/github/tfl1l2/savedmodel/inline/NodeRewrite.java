package io.github.tfl1l2.savedmodel.inline;

import java.util.List;
import org.tensorflow.Output;
import org.tensorflow.proto.NodeDef;

/**
 * One translation of a function-body node that the op-by-op copy of {@link FunctionInliner} cannot
 * do as it is. The inliner asks its rewrites in order, for each node; the first that applies builds
 * the node's replacement. Each missing capability (a loop to unroll, control flow to keep as a
 * call, …) is one small class implementing this.
 */
public interface NodeRewrite {
  /**
   * Whether this rewrite translates {@code node}.
   *
   * @param node a node of a function body being inlined
   * @param inputs the graph tensors of its data inputs, in order
   * @param inliner the inliner, for what it knows of the inlined graph so far
   * @return true if {@link #rewrite} is to build the node's replacement
   */
  boolean applies(NodeDef node, List<Output<?>> inputs, FunctionInliner inliner);

  /**
   * Builds the replacement of {@code node} in the inliner's graph.
   *
   * @param node the node, for which {@link #applies} returned true
   * @param inputs the graph tensors of its data inputs, in order
   * @param path the name the node gets in the graph (its ops are named under it)
   * @param inliner the inliner, to build ops, inline functions and refuse with its message form
   * @return the tensors standing for the node's outputs, flat, in the order of its op's output
   *     arguments (as {@code node:arg:index} references resolve them)
   */
  List<Output<?>> rewrite(
      NodeDef node, List<Output<?>> inputs, String path, FunctionInliner inliner);
}
