package io.github.tfl1l2.savedmodel.load;

import io.github.tfl1l2.savedmodel.SavedModelException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.tensorflow.proto.AttrValue;
import org.tensorflow.proto.FunctionDef;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.TensorShapeProto;

/**
 * Refuses, before TensorFlow sees the graph, a tensor or shape attribute whose element count does
 * not fit in 64 bits: TensorFlow's shape code meets such a shape with a failed CHECK, which aborts
 * the whole process instead of returning an error.
 */
public final class ElementCounts {
  private ElementCounts() {}

  /**
   * Checks every tensor and shape attribute (lists included) of the graph's nodes and of the nodes
   * of every function in its library.
   *
   * @param directory the SavedModel directory, for the message
   * @param metaGraph the MetaGraphDef about to be loaded
   * @throws SavedModelException naming the node, its function (if any), the attribute and the
   *     shape, if the product of the shape's known dimensions overflows a 64-bit count
   */
  public static void check(Path directory, MetaGraphDef metaGraph) {
    for (NodeDef node : metaGraph.getGraphDef().getNodeList()) {
      check(directory, node, "");
    }
    for (FunctionDef function : metaGraph.getGraphDef().getLibrary().getFunctionList()) {
      for (NodeDef node : function.getNodeDefList()) {
        check(directory, node, " of function " + function.getSignature().getName());
      }
    }
  }

  private static void check(Path directory, NodeDef node, String where) {
    for (Map.Entry<String, AttrValue> attr : node.getAttrMap().entrySet()) {
      AttrValue value = attr.getValue();
      List<TensorShapeProto> shapes =
          value.hasTensor()
              ? List.of(value.getTensor().getTensorShape())
              : value.hasShape()
                  ? List.of(value.getShape())
                  : value.hasList()
                      ? java.util.stream.Stream.concat(
                              value.getList().getShapeList().stream(),
                              value.getList().getTensorList().stream().map(t -> t.getTensorShape()))
                          .toList()
                      : List.of();
      for (TensorShapeProto shape : shapes) {
        if (overflows(shape)) {
          throw new SavedModelException(
              directory
                  + " is not a SavedModel TensorFlow can load safely: node "
                  + node.getName()
                  + where
                  + " has attribute "
                  + attr.getKey()
                  + " of shape "
                  + shape.getDimList().stream().map(d -> Long.toString(d.getSize())).toList()
                  + ", whose element count overflows 64 bits");
        }
      }
    }
  }

  /** Whether the product of the known (non-negative) dimensions exceeds {@code Long.MAX_VALUE}. */
  static boolean overflows(TensorShapeProto shape) {
    long count = 1;
    for (TensorShapeProto.Dim dim : shape.getDimList()) {
      if (dim.getSize() < 0) {
        continue;
      }
      try {
        count = Math.multiplyExact(count, dim.getSize());
      } catch (ArithmeticException e) {
        return true;
      }
    }
    return false;
  }
}
