package io.github.tfl1l2.savedmodel.load;

import io.github.tfl1l2.savedmodel.SavedModelException;
import java.nio.file.Path;
import java.util.ArrayList;
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
 * the whole process instead of returning an error. Refuses too a tensor attribute (a constant's
 * value) that declares more than {@value #MAX_TENSOR_ELEMENTS} elements: a SavedModel's graph is
 * one protocol buffer of at most 2 GiB, so such a tensor can only be a single value repeated, which
 * TensorFlow would materialize while it loads (a [2^40, 2] constant kept the loader busy past every
 * time limit).
 */
public final class ElementCounts {
  /** The most elements a tensor attribute may declare: 2^31, as many bytes as a graph can hold. */
  static final long MAX_TENSOR_ELEMENTS = 1L << 31;

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
      List<TensorShapeProto> shapes = new ArrayList<>();
      List<TensorShapeProto> tensors = new ArrayList<>();
      if (value.hasTensor()) {
        tensors.add(value.getTensor().getTensorShape());
      } else if (value.hasShape()) {
        shapes.add(value.getShape());
      } else if (value.hasList()) {
        shapes.addAll(value.getList().getShapeList());
        value.getList().getTensorList().forEach(t -> tensors.add(t.getTensorShape()));
      }
      shapes.addAll(tensors);
      for (TensorShapeProto shape : shapes) {
        String why =
            overflows(shape)
                ? "whose element count overflows 64 bits"
                : tensors.contains(shape) && elements(shape) > MAX_TENSOR_ELEMENTS
                    ? "a tensor of more than 2^31 elements, more than a SavedModel's graph can hold"
                    : null;
        if (why != null) {
          throw new SavedModelException(
              directory
                  + " is not a SavedModel TensorFlow can load safely: node "
                  + node.getName()
                  + where
                  + " has attribute "
                  + attr.getKey()
                  + " of shape "
                  + shape.getDimList().stream().map(d -> Long.toString(d.getSize())).toList()
                  + ", "
                  + why);
        }
      }
    }
  }

  /** The product of the known dimensions of a shape that does not overflow. */
  private static long elements(TensorShapeProto shape) {
    long count = 1;
    for (TensorShapeProto.Dim dim : shape.getDimList()) {
      if (dim.getSize() >= 0) {
        count *= dim.getSize();
      }
    }
    return count;
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
