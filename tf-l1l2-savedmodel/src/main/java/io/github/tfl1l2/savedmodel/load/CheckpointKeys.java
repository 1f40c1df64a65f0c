package io.github.tfl1l2.savedmodel.load;

import io.github.tfl1l2.savedmodel.SavedModelException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.tensorflow.Graph;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.exceptions.TensorFlowException;
import org.tensorflow.ndarray.NdArrays;
import org.tensorflow.op.Ops;
import org.tensorflow.op.train.Restore;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.SavedObjectGraphOuterClass.SavedObjectGraph;
import org.tensorflow.proto.TrackableObjectGraphOuterClass.TrackableObjectGraph;
import org.tensorflow.proto.TrackableObjectGraphOuterClass.TrackableObjectGraph.TrackableObject;
import org.tensorflow.proto.TrackableObjectGraphOuterClass.TrackableObjectGraph.TrackableObject.ObjectReference;
import org.tensorflow.proto.TrackableObjectGraphOuterClass.TrackableObjectGraph.TrackableObject.SerializedTensor;
import org.tensorflow.types.TString;
import org.tensorflow.types.family.TType;

/**
 * The checkpoint key under which a SavedModel's checkpoint holds each object-graph variable's
 * value, found as TensorFlow's Python loader finds it.
 *
 * <p>The checkpoint ({@code variables/variables}) carries its own object graph, a serialized {@code
 * TrackableObjectGraph} under the key {@value #OBJECT_GRAPH_KEY}. Its nodes are matched to the
 * MetaGraphDef's object-graph nodes by walking both from the root (node 0) along children of the
 * same local name, and a matched node's attribute {@value #VARIABLE_VALUE} names the key, e.g.
 * {@code optimizer/_trainable_variables/0/.ATTRIBUTES/VARIABLE_VALUE}. Node ids are not assumed to
 * agree between the two graphs.
 */
public final class CheckpointKeys {
  /** The checkpoint key of the serialized object graph. */
  public static final String OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH";

  /** The attribute name of a variable's value. */
  public static final String VARIABLE_VALUE = "VARIABLE_VALUE";

  private CheckpointKeys() {}

  /**
   * The prefix of {@code directory}'s checkpoint, as {@code RestoreV2} takes it.
   *
   * @param directory a SavedModel directory
   * @return {@code directory/variables/variables}, as a string
   */
  public static String prefix(Path directory) {
    return directory
        .resolve(SavedModelProto.VARIABLES)
        .resolve(SavedModelProto.VARIABLES)
        .toString();
  }

  /**
   * Reads the checkpoint's object graph and maps object-graph node ids of {@code metaGraph} to the
   * checkpoint keys of their values.
   *
   * @param directory the SavedModel directory, whose checkpoint is read in a session of its own
   * @param metaGraph the MetaGraphDef whose object graph's node ids the result uses
   * @return node id to key, for every variable node that the walk reaches and whose checkpoint node
   *     has a {@value #VARIABLE_VALUE} attribute
   * @throws SavedModelException naming the directory if the checkpoint has no readable object graph
   */
  public static Map<Integer, String> read(Path directory, MetaGraphDef metaGraph) {
    return match(metaGraph.getObjectGraphDef(), readObjectGraph(directory));
  }

  /** The checkpoint's serialized object graph, parsed. */
  static TrackableObjectGraph readObjectGraph(Path directory) {
    byte[] serialized;
    try (Graph graph = new Graph();
        Session session = new Session(graph)) {
      Ops tf = Ops.create(graph);
      Restore restore =
          tf.train.restore(
              tf.constant(prefix(directory)),
              tf.constant(NdArrays.vectorOfObjects(OBJECT_GRAPH_KEY)),
              tf.constant(NdArrays.vectorOfObjects("")),
              List.<Class<? extends TType>>of(TString.class));
      try (Result result = session.runner().fetch(restore.tensors().get(0)).run()) {
        TString value = (TString) result.get(0);
        if (value.shape().numDimensions() != 0) {
          throw new SavedModelException(
              directory + ": the checkpoint's " + OBJECT_GRAPH_KEY + " is not a scalar string");
        }
        serialized = value.asBytes().getObject();
      }
    } catch (TensorFlowException | IllegalArgumentException | ClassCastException e) {
      throw new SavedModelException(
          directory
              + ": the checkpoint's object graph ("
              + OBJECT_GRAPH_KEY
              + ") cannot be read: "
              + SavedModelException.firstLine(e),
          e);
    }
    try {
      return TrackableObjectGraph.parseFrom(serialized);
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      throw new SavedModelException(
          directory
              + ": the checkpoint's object graph ("
              + OBJECT_GRAPH_KEY
              + ") cannot be parsed: "
              + SavedModelException.firstLine(e),
          e);
    }
  }

  /** Walks both graphs from their roots along children of equal local names. */
  static Map<Integer, String> match(SavedObjectGraph saved, TrackableObjectGraph checkpoint) {
    Map<Integer, String> keys = new HashMap<>();
    if (saved.getNodesCount() == 0 || checkpoint.getNodesCount() == 0) {
      return keys;
    }
    Map<Integer, Integer> matched = new HashMap<>();
    Deque<Integer> queue = new ArrayDeque<>();
    matched.put(0, 0);
    queue.add(0);
    while (!queue.isEmpty()) {
      int savedId = queue.poll();
      TrackableObject node = checkpoint.getNodes(matched.get(savedId));
      Map<String, Integer> checkpointChildren = new HashMap<>();
      for (ObjectReference child : node.getChildrenList()) {
        checkpointChildren.putIfAbsent(child.getLocalName(), child.getNodeId());
      }
      for (ObjectReference child : saved.getNodes(savedId).getChildrenList()) {
        Integer checkpointId = checkpointChildren.get(child.getLocalName());
        int childId = child.getNodeId();
        if (checkpointId != null
            && checkpointId >= 0
            && checkpointId < checkpoint.getNodesCount()
            && childId >= 0
            && childId < saved.getNodesCount()
            && !matched.containsKey(childId)) {
          matched.put(childId, checkpointId);
          queue.add(childId);
        }
      }
    }
    for (Map.Entry<Integer, Integer> pair : matched.entrySet()) {
      if (!saved.getNodes(pair.getKey()).hasVariable()) {
        continue;
      }
      for (SerializedTensor attribute : checkpoint.getNodes(pair.getValue()).getAttributesList()) {
        if (attribute.getName().equals(VARIABLE_VALUE)) {
          keys.put(pair.getKey(), attribute.getCheckpointKey());
        }
      }
    }
    return keys;
  }
}
