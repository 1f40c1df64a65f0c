package io.github.tfl1l2.savedmodel.export;

import io.github.tfl1l2.savedmodel.SavedModelException;
import io.github.tfl1l2.savedmodel.load.CheckpointKeys;
import io.github.tfl1l2.savedmodel.load.GraphNames;
import io.github.tfl1l2.savedmodel.load.ObjectGraphVariables;
import io.github.tfl1l2.savedmodel.load.SaverKeys;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.tensorflow.Graph;
import org.tensorflow.GraphOperation;
import org.tensorflow.Session;
import org.tensorflow.exceptions.TensorFlowException;
import org.tensorflow.internal.types.registry.TensorTypeRegistry;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.NodeDef;

/**
 * Makes the model's own saver write, under each object-graph variable's checkpoint key, the value
 * of the handle that the model's functions read for that variable.
 *
 * <p>In a Keras 3 SavedModel the saver writes a variable's key from a copy of the variable (the
 * handle TensorFlow made for Keras's variable wrapper), while the serving functions read another
 * handle. Fine-tuning changes the handle the functions read; saved as it is, the checkpoint would
 * keep the old values under those keys, and both TensorFlow loaders would serve the old model.
 * Before saving, each such copy is assigned the value of the handle that a call of an object-graph
 * function binds to the same node; then the saver writes the current values under every key (the
 * object graph's and any other it writes). Models whose saver reads the functions' handles
 * (TensorFlow 2 and Keras 2 SavedModels) need no assignment and get none.
 *
 * <p>Where the saver restores a key only into the copy, so that TensorFlow's C++ loader would leave
 * the handle the functions read uninitialized (Keras 3's {@code tf.saved_model.save} layout), the
 * written MetaGraphDef's save and restore calls take that handle in place of the copy ({@link
 * #rewire}): the C++ loader then restores it from the same key, and the object graph, which
 * Python's loader uses, is unchanged.
 */
public final class CheckpointSync {
  private CheckpointSync() {}

  /**
   * Assigns the saver's copies in {@code session} from the handles the functions read.
   *
   * @param source the directory the model was loaded from, whose checkpoint's object graph maps
   *     keys to nodes
   * @param metaGraph the MetaGraphDef as loaded
   * @param graph the loaded graph; the assignments are added to it under a scope of their own
   * @param session the loaded session, whose copies are assigned
   * @return the copies whose handle the saver does not save or restore itself, each to that handle:
   *     what {@link #rewire} replaces in the written MetaGraphDef
   * @throws SavedModelException if TensorFlow cannot assign them
   */
  public static Map<String, String> apply(
      Path source, MetaGraphDef metaGraph, Graph graph, Session session) {
    if (!ObjectGraphSignature.applies(metaGraph)) {
      return Map.of();
    }
    Map<String, String> saved = SaverKeys.handles(metaGraph);
    Map<String, Integer> bound = ObjectGraphVariables.of(metaGraph).callBindings();
    if (saved.isEmpty() || bound.isEmpty() || bound.keySet().containsAll(saved.values())) {
      // Every handle the saver reads is one the functions read: nothing is a copy.
      return Map.of();
    }
    Map<Integer, String> functionHandle = new HashMap<>();
    Set<Integer> ambiguous = new HashSet<>();
    bound.forEach(
        (handle, node) -> {
          if (functionHandle.putIfAbsent(node, handle) != null) {
            ambiguous.add(node);
          }
        });
    Map<Integer, String> nodeKeys;
    try {
      nodeKeys = CheckpointKeys.read(source, metaGraph);
    } catch (SavedModelException e) {
      // A checkpoint without an object graph names no node's key: the saver's keys are then
      // written as the saver writes them, as for any model without copies.
      return Map.of();
    }
    Map<String, Integer> keyNode = new HashMap<>();
    nodeKeys.forEach((node, key) -> keyNode.put(key, node));
    List<String[]> pairs = new ArrayList<>();
    for (Map.Entry<String, String> entry : saved.entrySet()) {
      Integer node = keyNode.get(entry.getKey());
      if (node == null || ambiguous.contains(node)) {
        continue;
      }
      String from = functionHandle.get(node);
      String to = entry.getValue();
      if (from != null && !from.equals(to) && sameVariable(graph, from, to)) {
        pairs.add(new String[] {from, to});
      }
    }
    if (pairs.isEmpty()) {
      return Map.of();
    }
    Ops tf = Ops.create(graph).withSubScope(GraphNames.unusedScope(graph, "checkpoint_sync"));
    Session.Runner runner = session.runner();
    for (String[] pair : pairs) {
      GraphOperation from = graph.operationOrThrow(pair[0]);
      DataType dtype = from.attributes().getAttrType("dtype");
      Op assign =
          tf.assignVariableOp(
              graph.operationOrThrow(pair[1]).output(0),
              tf.readVariableOp(from.output(0), TensorTypeRegistry.find(dtype).type()));
      runner.addTarget(assign);
    }
    try {
      runner.run().close();
    } catch (TensorFlowException e) {
      throw new SavedModelException(
          source
              + ": TensorFlow cannot copy the trained values to the handles the saver writes: "
              + SavedModelException.firstLine(e),
          e);
    }
    Map<String, String> rewire = new TreeMap<>();
    Set<String> saverHandles = new HashSet<>(saved.values());
    for (String[] pair : pairs) {
      if (!saverHandles.contains(pair[0])) {
        rewire.put(pair[1], pair[0]);
      }
    }
    return rewire;
  }

  /**
   * {@code metaGraph} with its {@code saver_def}'s save and restore calls taking each handle of
   * {@code copies}' values in place of the copy its key names.
   *
   * @param metaGraph the MetaGraphDef to write
   * @param copies copy op name to the handle that replaces it, from {@link #apply}
   * @return the MetaGraphDef to write; {@code metaGraph} itself when {@code copies} is empty
   */
  public static MetaGraphDef rewire(MetaGraphDef metaGraph, Map<String, String> copies) {
    if (copies.isEmpty()) {
      return metaGraph;
    }
    Set<String> calls =
        Set.of(
            metaGraph.getSaverDef().getSaveTensorName().replaceAll(":.*", ""),
            metaGraph.getSaverDef().getRestoreOpName().replaceAll(":.*", ""));
    MetaGraphDef.Builder builder = metaGraph.toBuilder();
    for (NodeDef.Builder node : builder.getGraphDefBuilder().getNodeBuilderList()) {
      if (calls.contains(node.getName())) {
        for (int i = 0; i < node.getInputCount(); i++) {
          String replacement = copies.get(node.getInput(i));
          if (replacement != null) {
            node.setInput(i, replacement);
          }
        }
      }
    }
    return builder.build();
  }

  /** Whether two handles declare the same dtype and shape, so one can take the other's value. */
  private static boolean sameVariable(Graph graph, String a, String b) {
    GraphOperation first = graph.operationOrThrow(a);
    GraphOperation second = graph.operationOrThrow(b);
    return first.attributes().getAttrType("dtype") == second.attributes().getAttrType("dtype")
        && first
            .attributes()
            .getAttrShape("shape")
            .equals(second.attributes().getAttrShape("shape"));
  }
}
