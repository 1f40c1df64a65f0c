package io.github.tfl1l2.savedmodel.load;

import io.github.tfl1l2.savedmodel.ModelVariable;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import org.tensorflow.proto.AttrValue;
import org.tensorflow.proto.GraphDef;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.TensorShapeProto;

/** Lists the variables a MetaGraphDef's graph declares, as {@link ModelVariable}s. */
public final class GraphVariables {
  /** Resource variables (TF2, Keras) and reference variables (TF1 graphs, TF-Java exports). */
  private static final Set<String> VARIABLE_OPS = Set.of("VarHandleOp", "VariableV2", "Variable");

  private GraphVariables() {}

  /**
   * How many variable ops {@code graph} holds.
   *
   * @param graph a GraphDef as read
   * @return the number of {@code VarHandleOp}, {@code VariableV2} and {@code Variable} nodes
   */
  public static int count(GraphDef graph) {
    return (int) graph.getNodeList().stream().filter(GraphVariables::isVariable).count();
  }

  /**
   * The variables of {@code graph} with the trainable flags of {@code flags}, sorted by name.
   *
   * @param graph a GraphDef as read
   * @param flags where its trainable flags come from
   * @return an immutable list, every dtype included
   */
  public static List<ModelVariable> list(GraphDef graph, TrainableFlags flags) {
    List<ModelVariable> result = new ArrayList<>();
    for (NodeDef node : graph.getNodeList()) {
      if (isVariable(node)) {
        result.add(
            new ModelVariable(
                node.getName(),
                node.getOp(),
                node.getAttrOrDefault("dtype", AttrValue.getDefaultInstance()).getType(),
                shape(node.getAttrOrDefault("shape", AttrValue.getDefaultInstance()).getShape()),
                flags.isTrainable(node.getName())));
      }
    }
    result.sort(Comparator.comparing(ModelVariable::name));
    return List.copyOf(result);
  }

  private static boolean isVariable(NodeDef node) {
    return VARIABLE_OPS.contains(node.getOp());
  }

  private static List<Long> shape(TensorShapeProto shape) {
    List<Long> dims = new ArrayList<>();
    if (shape.getUnknownRank()) {
      dims.add(-1L);
      return dims;
    }
    shape.getDimList().forEach(d -> dims.add(d.getSize()));
    return dims;
  }
}
