package io.github.tfl1l2.savedmodel.load;

import io.github.tfl1l2.savedmodel.SavedModelException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.tensorflow.proto.AttrValue;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.SavedObjectGraphOuterClass.SavedConcreteFunction;
import org.tensorflow.proto.SavedObjectGraphOuterClass.SavedObject;
import org.tensorflow.proto.SavedObjectGraphOuterClass.SavedObjectGraph;
import org.tensorflow.proto.SavedObjectGraphOuterClass.SavedVariable;

/**
 * Which node of a SavedModel's object graph is which variable of its graph.
 *
 * <p>The object graph does not name graph ops, and {@code SavedVariable.name} is not unique (a
 * Keras model has a {@code total} and a {@code count} per metric). Two routes are unique:
 *
 * <ol>
 *   <li>A graph node that calls a function of the object graph ({@code serving_default}, for one)
 *       passes the variables' handles as the function's last arguments, in the order of the
 *       function's {@code bound_inputs}: pairing the two names each handle's node.
 *   <li>Otherwise a variable whose op name is the name of exactly one {@code SavedVariable}, of the
 *       same dtype and shape, and that no call binds to another op, is that node.
 * </ol>
 *
 * A variable that neither route names, or that two routes name differently, is refused.
 */
public final class ObjectGraphVariables {
  private static final Set<String> CALL_OPS = Set.of("StatefulPartitionedCall", "PartitionedCall");

  private final SavedObjectGraph objectGraph;
  private final Map<String, NodeDef> variableOps = new HashMap<>();

  /** Graph op name to the node ids that calls bind its handle to (more than one: conflicting). */
  private final Map<String, Set<Integer>> bound = new TreeMap<>();

  /** Node id to the graph op names that calls bind to it. */
  private final Map<Integer, Set<String>> boundOps = new HashMap<>();

  /** Node id to the variable ops that map to it; built by the first {@link #opName} call. */
  private Map<Integer, List<String>> byNode;

  /** SavedVariable name to the ids of the nodes that carry it. */
  private final Map<String, List<Integer>> byName = new HashMap<>();

  private ObjectGraphVariables(MetaGraphDef metaGraph) {
    objectGraph = metaGraph.getObjectGraphDef();
    for (NodeDef node : metaGraph.getGraphDef().getNodeList()) {
      if (node.getOp().equals("VarHandleOp")) {
        variableOps.put(node.getName(), node);
      }
    }
    for (NodeDef node : metaGraph.getGraphDef().getNodeList()) {
      if (CALL_OPS.contains(node.getOp())) {
        bindCall(node);
      }
    }
    for (int id = 0; id < objectGraph.getNodesCount(); id++) {
      SavedObject node = objectGraph.getNodes(id);
      if (node.hasVariable()) {
        byName.computeIfAbsent(node.getVariable().getName(), k -> new ArrayList<>()).add(id);
      }
    }
  }

  /**
   * Reads the routes of {@code metaGraph}, which must have an object graph.
   *
   * @param metaGraph a MetaGraphDef with an object graph
   * @return the variable routes of its object graph
   */
  public static ObjectGraphVariables of(MetaGraphDef metaGraph) {
    return new ObjectGraphVariables(metaGraph);
  }

  /**
   * The object-graph node ids of the variables {@code opNames}, in that order.
   *
   * @param source how messages name the model, e.g. its directory
   * @param opNames {@code VarHandleOp} names of the graph
   * @return one object-graph node id per name, in order
   * @throws SavedModelException naming the first variable that no unique route maps, or two
   *     variables mapped to one node
   */
  public List<Integer> nodeIds(String source, List<String> opNames) {
    List<Integer> ids = new ArrayList<>();
    Map<Integer, String> taken = new HashMap<>();
    for (String opName : opNames) {
      int id = nodeId(source, opName);
      String other = taken.putIfAbsent(id, opName);
      if (other != null) {
        throw new SavedModelException(
            source
                + ": variables "
                + other
                + " and "
                + opName
                + " both map to object-graph "
                + "node "
                + id
                + "; the regularization signature needs one node per variable");
      }
      ids.add(id);
    }
    return ids;
  }

  /**
   * The {@code VarHandleOp} that object-graph node {@code nodeId} is, by the same routes: the
   * variable a function's {@code bound_inputs} entry captures.
   *
   * @param source how messages name the model, e.g. its directory
   * @param nodeId the id of a {@code SavedVariable} node
   * @return the name of the one variable op of the graph that maps to the node
   * @throws SavedModelException if no variable op maps to the node, or more than one
   */
  public String opName(String source, int nodeId) {
    if (byNode == null) {
      byNode = new HashMap<>();
      for (String opName : new TreeSet<>(variableOps.keySet())) {
        try {
          byNode.computeIfAbsent(nodeId(source, opName), k -> new ArrayList<>()).add(opName);
        } catch (SavedModelException e) {
          // No unique route names this op's node: it is no captured variable's op.
        }
      }
    }
    List<String> ops = byNode.getOrDefault(nodeId, List.of());
    if (ops.size() != 1) {
      throw new SavedModelException(
          source
              + ": object-graph node "
              + nodeId
              + " is "
              + (ops.isEmpty() ? "no variable op of the graph" : "claimed by " + ops));
    }
    return ops.get(0);
  }

  /**
   * The graph op whose output a function's {@code bound_inputs} entry {@code nodeId} captures: a
   * variable's {@code VarHandleOp} ({@link #opName}), or a constant's op (Keras saves adapted
   * preprocessing statistics, such as a {@code Normalization} layer's mean, as constants).
   *
   * @param source how messages name the model, e.g. its directory
   * @param nodeId the id of a node of the object graph
   * @return the name of the graph op whose output 0 is the captured tensor
   * @throws SavedModelException if the node is neither a variable nor a constant, or no unique op
   *     maps to it
   */
  public String capturedOpName(String source, int nodeId) {
    if (nodeId >= 0
        && nodeId < objectGraph.getNodesCount()
        && objectGraph.getNodes(nodeId).hasConstant()) {
      return objectGraph.getNodes(nodeId).getConstant().getOperation();
    }
    if (nodeId < 0
        || nodeId >= objectGraph.getNodesCount()
        || !objectGraph.getNodes(nodeId).hasVariable()) {
      throw new SavedModelException(
          source
              + ": a function captures object-graph node "
              + nodeId
              + ", which is neither a variable nor a constant");
    }
    return opName(source, nodeId);
  }

  private int nodeId(String source, String opName) {
    String prefix =
        source + ": variable " + opName + " cannot be matched to one object-graph " + "node: ";
    if (!variableOps.containsKey(opName)) {
      throw new SavedModelException(prefix + "it is not a VarHandleOp of the graph");
    }
    Set<Integer> viaCalls = bound.getOrDefault(opName, Set.of());
    if (viaCalls.size() > 1) {
      throw new SavedModelException(
          prefix + "the graph's function calls bind its handle to nodes " + viaCalls);
    }
    if (viaCalls.size() == 1) {
      int id = viaCalls.iterator().next();
      Set<String> ops = boundOps.get(id);
      if (ops.size() > 1) {
        throw new SavedModelException(prefix + "node " + id + " is bound to the handles of " + ops);
      }
      return id;
    }
    List<Integer> named = byName.getOrDefault(opName, List.of());
    if (named.size() != 1) {
      throw new SavedModelException(
          prefix
              + "no function of the object graph binds its handle, and "
              + (named.isEmpty()
                  ? "no SavedVariable is named \"" + opName + "\""
                  : named.size()
                      + " SavedVariables are named \""
                      + opName
                      + "\" (nodes "
                      + named
                      + ")")
              + "; leave it out of the selection");
    }
    int id = named.get(0);
    if (boundOps.containsKey(id)) {
      throw new SavedModelException(
          prefix
              + "the SavedVariable named \""
              + opName
              + "\" (node "
              + id
              + ") is bound to the handle of "
              + boundOps.get(id));
    }
    SavedVariable saved = objectGraph.getNodes(id).getVariable();
    NodeDef op = variableOps.get(opName);
    AttrValue dtype = op.getAttrOrDefault("dtype", AttrValue.getDefaultInstance());
    AttrValue shape = op.getAttrOrDefault("shape", AttrValue.getDefaultInstance());
    if (saved.getDtype() != dtype.getType() || !saved.getShape().equals(shape.getShape())) {
      throw new SavedModelException(
          prefix
              + "the SavedVariable named \""
              + opName
              + "\" (node "
              + id
              + ") has dtype "
              + saved.getDtype()
              + " and shape "
              + dims(saved.getShape())
              + ", the op "
              + dtype.getType()
              + " and "
              + dims(shape.getShape()));
    }
    return id;
  }

  /** Pairs the trailing inputs of a call of an object-graph function with its bound inputs. */
  private void bindCall(NodeDef call) {
    String function =
        call.getAttrOrDefault("f", AttrValue.getDefaultInstance()).getFunc().getName();
    SavedConcreteFunction saved = objectGraph.getConcreteFunctionsMap().get(function);
    if (saved == null) {
      return;
    }
    List<String> inputs = new ArrayList<>();
    for (String input : call.getInputList()) {
      if (!input.startsWith("^")) {
        inputs.add(input);
      }
    }
    int count = saved.getBoundInputsCount();
    if (inputs.size() < count) {
      return;
    }
    for (int i = 0; i < count; i++) {
      String opName = opName(inputs.get(inputs.size() - count + i));
      int id = saved.getBoundInputs(i);
      if (variableOps.containsKey(opName)
          && id >= 0
          && id < objectGraph.getNodesCount()
          && objectGraph.getNodes(id).hasVariable()) {
        bound.computeIfAbsent(opName, k -> new TreeSet<>()).add(id);
        boundOps.computeIfAbsent(id, k -> new TreeSet<>()).add(opName);
      }
    }
  }

  /** {@code op}, {@code op:0} or {@code op:output:0} to {@code op}. */
  private static String opName(String input) {
    int colon = input.indexOf(':');
    return colon < 0 ? input : input.substring(0, colon);
  }

  private static String dims(org.tensorflow.proto.TensorShapeProto shape) {
    if (shape.getUnknownRank()) {
      return "<unknown>";
    }
    List<Long> dims = new ArrayList<>();
    shape.getDimList().forEach(d -> dims.add(d.getSize()));
    return dims.toString();
  }
}
