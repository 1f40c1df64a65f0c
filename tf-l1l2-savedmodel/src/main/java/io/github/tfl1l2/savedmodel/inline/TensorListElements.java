package io.github.tfl1l2.savedmodel.inline;

import java.util.List;
import java.util.Set;
import org.tensorflow.GraphOperation;
import org.tensorflow.Output;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.NodeDef;

/**
 * Rewrites the TensorList ops of a recurrent layer into ops that TensorFlow's C++ gradient registry
 * differentiates, where the list's elements and the index are known when the graph is built ({@link
 * TensorLists}, {@link StaticValues}): {@code TensorListGetItem} becomes the element itself (a
 * slice of one {@code Unpack}, or the tensor that a {@code TensorListSetItem} wrote), {@code
 * TensorListStack} a {@code Pack}, and an {@code Identity} of a list the list itself.
 *
 * <p>{@code TensorListFromTensor}, {@code TensorListReserve} and {@code TensorListSetItem} are
 * still copied as they are: their outputs key the list versions they make, and stay correct inputs
 * of a loop kept as one node. Where a list or an index is not known, its ops are copied as they
 * are, and {@link GradientCoverage} names them if they lie between a trainable variable and an
 * output.
 */
final class TensorListElements implements NodeRewrite {
  /** List ops whose copy registers the list they make. */
  private static final Set<String> MAKERS =
      Set.of("TensorListFromTensor", "TensorListReserve", "TensorListSetItem");

  @Override
  public boolean applies(NodeDef node, List<Output<?>> inputs, FunctionInliner inliner) {
    TensorLists lists = inliner.lists();
    switch (node.getOp()) {
      case "TensorListFromTensor":
      case "TensorListReserve":
        return true;
      case "TensorListSetItem":
      case "TensorListGetItem":
        return inputs.size() == 3
            && lists.isKnown(inputs.get(0))
            && index(inputs.get(1), inliner) != null;
      case "TensorListStack":
        return !inputs.isEmpty() && lists.isComplete(inputs.get(0));
      case "Identity":
        return inputs.size() == 1
            && inputs.get(0).dataType() == DataType.DT_VARIANT
            && lists.isKnown(inputs.get(0));
      default:
        return false;
    }
  }

  @Override
  public List<Output<?>> rewrite(
      NodeDef node, List<Output<?>> inputs, String path, FunctionInliner inliner) {
    TensorLists lists = inliner.lists();
    if (MAKERS.contains(node.getOp())) {
      GraphOperation op = inliner.copy(node, inputs, path);
      Output<?> list = op.output(0);
      switch (node.getOp()) {
        case "TensorListFromTensor":
          lists.fromTensor(list, inputs.get(0), path, inliner);
          break;
        case "TensorListReserve":
          Long length = index(inputs.get(1), inliner);
          if (length != null) {
            lists.reserve(list, length);
          }
          break;
        default:
          lists.set(
              list, inputs.get(0), index(inputs.get(1), inliner), inputs.get(2), path, inliner);
          break;
      }
      return List.of(list);
    }
    switch (node.getOp()) {
      case "TensorListGetItem":
        return List.of(lists.get(inputs.get(0), index(inputs.get(1), inliner), path, inliner));
      case "TensorListStack":
        return List.of(lists.stack(inputs.get(0), path, inliner));
      default:
        // An Identity of a list: the same list.
        return List.of(inputs.get(0));
    }
  }

  /** The value of a scalar integer tensor, if known when the graph is built. */
  private static Long index(Output<?> tensor, FunctionInliner inliner) {
    StaticValues.Value value = inliner.values().of(tensor);
    return value == null || !value.isScalar() ? null : value.single();
  }
}
