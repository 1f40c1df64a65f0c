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
import org.tensorflow.Graph;
import org.tensorflow.GraphOperation;
import org.tensorflow.Session;
import org.tensorflow.exceptions.TensorFlowException;
import org.tensorflow.internal.types.registry.TensorTypeRegistry;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.MetaGraphDef;

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
 */
public final class CheckpointSync {
  private CheckpointSync() {}

  /**
   * Assigns the saver's copies in {@code session} from the handles the functions read.
   *
   * @param source the directory the model was loaded from, whose checkpoint's object graph maps
   *     keys to nodes
   * @param metaGraph the MetaGraphDef as loaded
   * @return how many copies were assigned
   * @throws SavedModelException if TensorFlow cannot assign them
   */
  public static int apply(Path source, MetaGraphDef metaGraph, Graph graph, Session session) {
    if (!ObjectGraphSignature.applies(metaGraph)) {
      return 0;
    }
    Map<String, String> saved = SaverKeys.handles(metaGraph);
    Map<String, Integer> bound = ObjectGraphVariables.of(metaGraph).callBindings();
    if (saved.isEmpty() || bound.isEmpty() || bound.keySet().containsAll(saved.values())) {
      // Every handle the saver reads is one the functions read: nothing is a copy.
      return 0;
    }
    Map<Integer, String> functionHandle = new HashMap<>();
    Set<Integer> ambiguous = new HashSet<>();
    bound.forEach(
        (handle, node) -> {
          if (functionHandle.putIfAbsent(node, handle) != null) {
            ambiguous.add(node);
          }
        });
    Map<String, Integer> keyNode = new HashMap<>();
    CheckpointKeys.read(source, metaGraph).forEach((node, key) -> keyNode.put(key, node));
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
      return 0;
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
    return pairs.size();
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
