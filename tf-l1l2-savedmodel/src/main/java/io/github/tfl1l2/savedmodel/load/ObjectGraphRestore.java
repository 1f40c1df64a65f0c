package io.github.tfl1l2.savedmodel.load;

import io.github.tfl1l2.savedmodel.SavedModelException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.exceptions.TensorFlowException;
import org.tensorflow.internal.types.registry.TensorTypeRegistry;
import org.tensorflow.ndarray.NdArrays;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.AssignVariableOp;
import org.tensorflow.op.core.VarIsInitializedOp;
import org.tensorflow.op.train.Restore;
import org.tensorflow.proto.AttrValue;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.TensorShapeProto;
import org.tensorflow.types.TBool;
import org.tensorflow.types.family.TType;

/**
 * Restores, after TensorFlow's C++ loader ({@code SavedModelBundle.load}) ran, the variables it
 * left uninitialized, by the object graph, as TensorFlow's Python loader restores them.
 *
 * <p>The C++ loader runs the MetaGraphDef's {@code saver_def} restore op and nothing else. In a
 * Keras 3 model saved with {@code tf.saved_model.save}, that op assigns copies of the weights
 * (Keras's variable wrappers), not the handles that the serving functions read, so those stay
 * uninitialized. Python's loader instead restores every object-graph variable node from its own
 * checkpoint key. This class does the same for each variable handle that the C++ loader left
 * uninitialized ({@code VarIsInitializedOp}) and that a call of an object-graph function binds to a
 * node ({@link ObjectGraphVariables#callBindings()}): {@code RestoreV2} of the node's key ({@link
 * CheckpointKeys}), checked against the handle's declared shape, then {@code AssignVariableOp}.
 *
 * <p>Only the handles that the restore op does not take are checked: on a model that the C++ loader
 * restores completely, opening costs nothing more. A handle that no function binds is left as it
 * is: no function of the model reads it (a Keras 3 {@code model.export()} archive holds one such
 * handle per weight).
 */
public final class ObjectGraphRestore {
  private ObjectGraphRestore() {}

  /**
   * Restores the uninitialized bound variables of a loaded model.
   *
   * @param directory the SavedModel directory, for messages and its checkpoint
   * @param metaGraph the loaded MetaGraphDef
   * @param graph the loaded graph; the restore ops are added to it under a scope of their own
   * @param session the loaded session, whose variables are assigned
   * @return the names of the variable handles that stay uninitialized (none for a model that the
   *     C++ loader restored completely), sorted
   * @throws SavedModelException naming the first variable that cannot be restored: its node has no
   *     checkpoint key, the checkpoint lacks the key, or its value has another dtype or shape
   */
  public static Set<String> restore(
      Path directory, MetaGraphDef metaGraph, Graph graph, Session session) {
    if (!metaGraph.hasObjectGraphDef()) {
      return Set.of();
    }
    // The loader ran the restore op without error, so the handles it takes are assigned; only
    // the others are checked (none, on a model that the C++ loader restores completely).
    Set<String> restoredByLoader = restoreCallHandles(metaGraph);
    List<NodeDef> handles = new ArrayList<>();
    for (NodeDef node : metaGraph.getGraphDef().getNodeList()) {
      if (node.getOp().equals("VarHandleOp") && !restoredByLoader.contains(node.getName())) {
        handles.add(node);
      }
    }
    if (handles.isEmpty()) {
      return Set.of();
    }
    Ops tf = Ops.create(graph).withSubScope(GraphNames.unusedScope(graph, "object_graph_restore"));
    Set<String> uninitialized = uninitialized(directory, tf, graph, session, handles);
    if (uninitialized.isEmpty()) {
      return Set.of();
    }
    Map<String, Integer> bound = ObjectGraphVariables.of(metaGraph).callBindings();
    List<NodeDef> toRestore = new ArrayList<>();
    for (NodeDef handle : handles) {
      if (uninitialized.contains(handle.getName()) && bound.containsKey(handle.getName())) {
        toRestore.add(handle);
      }
    }
    if (toRestore.isEmpty()) {
      return uninitialized;
    }
    Map<Integer, String> keys;
    try {
      keys = CheckpointKeys.read(directory, metaGraph);
    } catch (SavedModelException e) {
      throw new SavedModelException(
          directory
              + ": variable "
              + toRestore.get(0).getName()
              + " is left uninitialized by the SavedModel's restore op, and "
              + e.getMessage().substring(directory.toString().length() + 2),
          e);
    }
    Operand<org.tensorflow.types.TString> prefix = tf.constant(CheckpointKeys.prefix(directory));
    for (NodeDef handle : toRestore) {
      String name = handle.getName();
      int node = bound.get(name);
      String key = keys.get(node);
      String what = directory + ": variable " + name + " (object-graph node " + node + ")";
      if (key == null) {
        throw new SavedModelException(
            what
                + " is left uninitialized by the SavedModel's restore op, and the checkpoint's"
                + " object graph gives the node no "
                + CheckpointKeys.VARIABLE_VALUE
                + " key, so it cannot be restored");
      }
      restoreOne(tf, graph, session, handle, prefix, key, what);
      uninitialized.remove(name);
    }
    return uninitialized;
  }

  /**
   * The variable handles that the {@code saver_def}'s restore op takes as inputs, when it is a call
   * of a traced restore function (TensorFlow 2), which assigns every handle it takes; empty for any
   * other form.
   */
  private static Set<String> restoreCallHandles(MetaGraphDef metaGraph) {
    String restoreOp = metaGraph.getSaverDef().getRestoreOpName();
    int colon = restoreOp.indexOf(':');
    String name = colon < 0 ? restoreOp : restoreOp.substring(0, colon);
    Map<String, NodeDef> nodes = new HashMap<>();
    metaGraph.getGraphDef().getNodeList().forEach(n -> nodes.put(n.getName(), n));
    NodeDef call = nodes.get(name);
    Set<String> handles = new TreeSet<>();
    if (call == null || !call.getOp().endsWith("PartitionedCall")) {
      return handles;
    }
    for (String input : call.getInputList()) {
      NodeDef source = input.startsWith("^") ? null : nodes.get(input.replaceAll(":.*", ""));
      if (source != null && source.getOp().equals("VarHandleOp")) {
        handles.add(source.getName());
      }
    }
    return handles;
  }

  /** The handles of {@code handles} that hold no value in {@code session}, sorted. */
  private static Set<String> uninitialized(
      Path directory, Ops tf, Graph graph, Session session, List<NodeDef> handles) {
    List<VarIsInitializedOp> checks = new ArrayList<>();
    for (NodeDef handle : handles) {
      checks.add(tf.varIsInitializedOp(graph.operationOrThrow(handle.getName()).output(0)));
    }
    Set<String> uninitialized = new TreeSet<>();
    Session.Runner runner = session.runner();
    checks.forEach(runner::fetch);
    try (Result result = runner.run()) {
      for (int i = 0; i < handles.size(); i++) {
        if (!((TBool) result.get(i)).getBoolean()) {
          uninitialized.add(handles.get(i).getName());
        }
      }
    } catch (TensorFlowException e) {
      throw new SavedModelException(
          directory
              + ": TensorFlow cannot check which variables it restored: "
              + SavedModelException.firstLine(e),
          e);
    }
    return uninitialized;
  }

  private static void restoreOne(
      Ops tf,
      Graph graph,
      Session session,
      NodeDef handle,
      Operand<org.tensorflow.types.TString> prefix,
      String key,
      String what) {
    AttrValue dtype = handle.getAttrOrDefault("dtype", AttrValue.getDefaultInstance());
    Class<? extends TType> type;
    try {
      type = TensorTypeRegistry.find(dtype.getType()).type();
    } catch (IllegalArgumentException e) {
      throw new SavedModelException(
          what + " has dtype " + dtype.getType() + ", which cannot be restored here", e);
    }
    try {
      Restore restore =
          tf.train.restore(
              prefix,
              tf.constant(NdArrays.vectorOfObjects(key)),
              tf.constant(NdArrays.vectorOfObjects("")),
              List.<Class<? extends TType>>of(type));
      Operand<?> value =
          tf.ensureShape(
              restore.tensors().get(0),
              shape(handle.getAttrOrDefault("shape", AttrValue.getDefaultInstance()).getShape()));
      AssignVariableOp assign =
          tf.assignVariableOp(graph.operationOrThrow(handle.getName()).output(0), value);
      session.runner().addTarget(assign).run().close();
    } catch (TensorFlowException | IllegalArgumentException e) {
      throw new SavedModelException(
          what
              + " is left uninitialized by the SavedModel's restore op and cannot be restored"
              + " from checkpoint key "
              + key
              + ": "
              + SavedModelException.firstLine(e),
          e);
    }
  }

  private static Shape shape(TensorShapeProto proto) {
    if (proto.getUnknownRank()) {
      return Shape.unknown();
    }
    long[] dims = new long[proto.getDimCount()];
    for (int i = 0; i < dims.length; i++) {
      dims[i] = proto.getDim(i).getSize();
    }
    return Shape.of(dims);
  }
}
