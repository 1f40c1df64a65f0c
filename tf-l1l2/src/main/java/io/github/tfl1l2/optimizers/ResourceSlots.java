package io.github.tfl1l2.optimizers;

import io.github.tfl1l2.internal.DataGradients;
import java.util.HashSet;
import java.util.Set;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.op.Scope;
import org.tensorflow.op.core.VarHandleOp;
import org.tensorflow.types.family.TType;

/** Slot variables of resource variables: resource variables themselves. */
final class ResourceSlots {
  private ResourceSlots() {}

  /**
   * A {@code VarHandleOp} named {@code name}, of {@code variable}'s shape and dtype, on {@code
   * variable}'s device (the slot's kernel reads both handles there), with a {@code shared_name}
   * that no other {@code VarHandleOp} of the graph uses: {@code name}, suffixed {@code _1}, {@code
   * _2}, … when a handle already claims it. Two handles with one {@code shared_name} are one
   * variable, and XLA rejects a cluster over two of them ("Duplicate variable passed to XLA
   * cluster").
   *
   * @param scope where the slot is built (an init scope: it is created once)
   */
  static Operand<?> create(Graph graph, Scope scope, String name, Output<?> variable) {
    Set<String> taken = new HashSet<>();
    for (Output<?> other : DataGradients.variablesOf(graph)) {
      if (DataGradients.isResource(other)) {
        taken.add(DataGradients.sharedNameOf(other));
      }
    }
    String sharedName = name;
    for (int k = 1; taken.contains(sharedName); k++) {
      sharedName = name + "_" + k;
    }
    Class<TType> type = ProximalTerms.valueType(variable);
    return VarHandleOp.create(
        DataGradients.besideVariable(scope, variable).withName(name),
        type,
        DataGradients.shapeOf(variable),
        VarHandleOp.sharedName(sharedName));
  }
}
