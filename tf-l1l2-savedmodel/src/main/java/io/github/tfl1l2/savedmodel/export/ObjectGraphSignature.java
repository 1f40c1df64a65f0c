package io.github.tfl1l2.savedmodel.export;

import io.github.tfl1l2.L1L2;
import io.github.tfl1l2.savedmodel.ModelVariable;
import io.github.tfl1l2.savedmodel.SavedModelException;
import io.github.tfl1l2.savedmodel.load.GraphNames;
import io.github.tfl1l2.savedmodel.load.ObjectGraphVariables;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Signature;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.StatefulPartitionedCall;
import org.tensorflow.proto.AttrValue;
import org.tensorflow.proto.FunctionDef;
import org.tensorflow.proto.FunctionDefLibrary;
import org.tensorflow.proto.GraphDef;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.ResourceHandleProto;
import org.tensorflow.proto.SavedObjectGraphOuterClass.FunctionSpec;
import org.tensorflow.proto.SavedObjectGraphOuterClass.SavedBareConcreteFunction;
import org.tensorflow.proto.SavedObjectGraphOuterClass.SavedConcreteFunction;
import org.tensorflow.proto.SavedObjectGraphOuterClass.SavedObject;
import org.tensorflow.proto.SavedObjectGraphOuterClass.SavedObjectGraph;
import org.tensorflow.proto.SavedObjectGraphOuterClass.SavedUserObject;
import org.tensorflow.proto.SavedObjectGraphOuterClass.SavedVariable;
import org.tensorflow.proto.SignatureDef;
import org.tensorflow.proto.Struct.DictValue;
import org.tensorflow.proto.Struct.ListValue;
import org.tensorflow.proto.Struct.NamedTupleValue;
import org.tensorflow.proto.Struct.NoneValue;
import org.tensorflow.proto.Struct.PairValue;
import org.tensorflow.proto.Struct.StructuredValue;
import org.tensorflow.proto.Struct.TensorSpecProto;
import org.tensorflow.proto.Struct.TupleValue;
import org.tensorflow.proto.TensorShapeProto;
import org.tensorflow.proto.TrackableObjectGraphOuterClass.TrackableObjectGraph.TrackableObject.ObjectReference;
import org.tensorflow.proto.VersionDef;

/**
 * Writes the {@value SignatureLayout#KEY} signature into a MetaGraphDef that has an object graph
 * (TensorFlow 2 and Keras SavedModels), in both places a loader looks.
 *
 * <p>TensorFlow 2's {@code tf.saved_model.load} builds {@code .signatures} from the object graph
 * alone; TensorFlow-Java, TF Serving and the TF1 loader read {@code signature_def}. Both get the
 * same graph function (see {@link RegularizationFunction}):
 *
 * <ul>
 *   <li>the FunctionDef in {@code graph_def.library}, its arguments the variables' handles;
 *   <li>its {@code concrete_functions} entry: {@code bound_inputs} are the object-graph nodes of
 *       the variables in argument order, the input signature is {@code ((), {})}, the output
 *       signature a dictionary of TensorSpecs;
 *   <li>a {@code bare_concrete_function} node under the root's {@code signatures} map (a {@code
 *       signature_map} user object, added when the model has none), with no argument keywords;
 *   <li>a {@code StatefulPartitionedCall} of the function on the variables' handles in the graph,
 *       whose outputs {@code signature_def} names.
 * </ul>
 *
 * <p>Object-graph node ids are positions that the checkpoint and {@code keras_metadata.pb} refer
 * to, so nodes are only appended. A signature written before by this class is replaced in place:
 * its node keeps its id, and its FunctionDef, call node and {@code concrete_functions} entry are
 * removed. Everything else of the MetaGraphDef is kept as it was read, byte for byte.
 */
public final class ObjectGraphSignature {
  /** The root's child that holds the signatures. */
  static final String SIGNATURES = "signatures";

  /** The user-object identifier of the signature map. */
  static final String SIGNATURE_MAP = "signature_map";

  /** The start of the function's name, before a counter and TensorFlow's hash of the body. */
  private static final String FUNCTION_PREFIX = "tfl1l2_regularization_";

  private ObjectGraphSignature() {}

  /**
   * Whether {@code metaGraph} has an object graph, so that TF2 loaders read signatures there.
   *
   * @param metaGraph a MetaGraphDef as read
   * @return true for TF2 and Keras SavedModels, false for TF1 graphs and TF-Java exports
   */
  public static boolean applies(MetaGraphDef metaGraph) {
    return metaGraph.hasObjectGraphDef() && metaGraph.getObjectGraphDef().getNodesCount() > 0;
  }

  /**
   * Adds the signature over the variables of {@code selected} that {@code config} selects to {@code
   * metaGraph}, replacing one that exists.
   *
   * <p>The call node is built by TensorFlow-Java in {@code graph} (the loaded {@code metaGraph},
   * which gets the function and the call); only that node and the function are written, beside the
   * MetaGraphDef as it was read.
   *
   * @param source how messages name the model, e.g. its directory
   * @param metaGraph the MetaGraphDef as it was read
   * @param graph the graph loaded from it, which gets the function and its call
   * @param config the regularizer the signature computes
   * @param selected the variables it regularizes
   * @return the MetaGraphDef to write
   * @throws SavedModelException if a selected variable cannot be mapped to one object-graph node,
   *     or the object graph's {@code signatures} child is not a signature map
   * @throws IllegalArgumentException if {@code config} selects none of {@code selected}, or one it
   *     selects is not a floating-point resource variable
   */
  public static MetaGraphDef add(
      String source,
      MetaGraphDef metaGraph,
      Graph graph,
      L1L2 config,
      List<ModelVariable> selected) {
    Objects.requireNonNull(config, "config must not be null");
    List<ModelVariable> chosen = new ArrayList<>();
    for (ModelVariable variable : selected) {
      if (config.selects(variable.name())) {
        chosen.add(variable);
      }
    }
    SavedObjectGraph objectGraph = metaGraph.getObjectGraphDef();
    List<Integer> nodeIds =
        ObjectGraphVariables.of(metaGraph)
            .nodeIds(source, chosen.stream().map(ModelVariable::name).toList());
    Slots slots = Slots.find(source, objectGraph);

    try (RegularizationFunction function =
        RegularizationFunction.create(
            config, chosen, functionBaseName(metaGraph.getGraphDef().getLibrary()))) {
      List<ResourceHandleProto.DtypeAndShape> handleData = new ArrayList<>();
      for (int id : nodeIds) {
        SavedVariable variable = objectGraph.getNodes(id).getVariable();
        handleData.add(
            ResourceHandleProto.DtypeAndShape.newBuilder()
                .setDtype(variable.getDtype())
                .setShape(variable.getShape())
                .build());
      }
      FunctionDef functionDef = function.functionDef(handleData);

      Ops tf = Ops.create(graph).withSubScope(GraphNames.unusedScope(graph, SignatureLayout.KEY));
      List<Operand<?>> handles = new ArrayList<>();
      for (ModelVariable variable : chosen) {
        handles.add(graph.operationOrThrow(variable.name()).output(0));
      }
      StatefulPartitionedCall call =
          StatefulPartitionedCall.create(
              tf.scope(), handles, function.outputClasses(), function.function());
      Signature.Builder signature =
          Signature.builder()
              .key(SignatureLayout.KEY)
              .methodName(SignatureLayout.methodName(config));
      List<String> keys = function.outputKeys();
      for (int i = 0; i < keys.size(); i++) {
        signature.output(keys.get(i), call.output().get(i));
      }
      String callName = call.output().get(0).op().name();
      NodeDef callNode =
          graph.toGraphDef().getNodeList().stream()
              .filter(n -> n.getName().equals(callName))
              .findFirst()
              .orElseThrow(() -> new IllegalStateException("the call " + callName + " is missing"));

      return write(
          metaGraph,
          slots,
          function,
          functionDef,
          callNode,
          nodeIds,
          SignatureDefs.of(signature.build()));
    }
  }

  private static MetaGraphDef write(
      MetaGraphDef metaGraph,
      Slots slots,
      RegularizationFunction function,
      FunctionDef functionDef,
      NodeDef callNode,
      List<Integer> nodeIds,
      SignatureDef signatureDef) {
    SavedObjectGraph.Builder objectGraph = metaGraph.getObjectGraphDef().toBuilder();
    GraphDef.Builder graphDef = metaGraph.getGraphDef().toBuilder();
    if (slots.previous >= 0) {
      removePrevious(objectGraph, graphDef, slots.previous);
    }
    String name = function.name();
    if (graphDef.getLibrary().getFunctionList().stream()
        .anyMatch(f -> f.getSignature().getName().equals(name))) {
      throw new IllegalStateException("the graph's library already holds a function named " + name);
    }
    graphDef.getLibraryBuilder().addFunction(functionDef);
    graphDef.addNode(callNode);

    objectGraph.putConcreteFunctions(name, concreteFunction(function, nodeIds));
    SavedObject node =
        SavedObject.newBuilder()
            .setBareConcreteFunction(
                SavedBareConcreteFunction.newBuilder()
                    .setConcreteFunctionName(name)
                    .setAllowedPositionalArguments(0)
                    .setFunctionSpec(signatureFunctionSpec()))
            .build();
    if (slots.previous >= 0) {
      objectGraph.setNodes(slots.previous, node);
    } else {
      int map = slots.map;
      if (map < 0) {
        map = objectGraph.getNodesCount();
        objectGraph.addNodes(
            SavedObject.newBuilder()
                .setUserObject(
                    SavedUserObject.newBuilder()
                        .setIdentifier(SIGNATURE_MAP)
                        .setVersion(VersionDef.newBuilder().setProducer(1).setMinConsumer(1))));
        objectGraph.getNodesBuilder(0).addChildren(child(SIGNATURES, map));
      }
      int id = objectGraph.getNodesCount();
      objectGraph.addNodes(node);
      objectGraph.getNodesBuilder(map).addChildren(child(SignatureLayout.KEY, id));
    }
    return metaGraph.toBuilder()
        .setGraphDef(graphDef)
        .setObjectGraphDef(objectGraph)
        .putSignatureDef(SignatureLayout.KEY, signatureDef)
        .build();
  }

  /** Where the signature goes: the signature map's node, and the node of a previous one. */
  private record Slots(int map, int previous) {
    /**
     * @throws SavedModelException if the root's {@code signatures} child is not a signature map, or
     *     a {@value SignatureLayout#KEY} signature there is not a function
     */
    static Slots find(String source, SavedObjectGraph objectGraph) {
      int map = onlyChild(source, objectGraph, 0, SIGNATURES);
      if (map < 0) {
        return new Slots(-1, -1);
      }
      SavedObject mapNode = objectGraph.getNodes(map);
      if (!mapNode.hasUserObject()
          || !mapNode.getUserObject().getIdentifier().equals(SIGNATURE_MAP)) {
        throw new SavedModelException(
            source
                + ": the object graph's root has a child \""
                + SIGNATURES
                + "\" (node "
                + map
                + ") that is not a "
                + SIGNATURE_MAP
                + " but a "
                + mapNode.getKindCase()
                + "; the signature cannot be listed there");
      }
      int previous = onlyChild(source, objectGraph, map, SignatureLayout.KEY);
      if (previous >= 0 && !objectGraph.getNodes(previous).hasBareConcreteFunction()) {
        throw new SavedModelException(
            source
                + ": the signature map's \""
                + SignatureLayout.KEY
                + "\" (node "
                + previous
                + ") is a "
                + objectGraph.getNodes(previous).getKindCase()
                + ", not a bare concrete function; it cannot be replaced");
      }
      return new Slots(map, previous);
    }

    private static int onlyChild(
        String source, SavedObjectGraph objectGraph, int parent, String name) {
      int found = -1;
      for (ObjectReference child : objectGraph.getNodes(parent).getChildrenList()) {
        if (child.getLocalName().equals(name)) {
          if (found >= 0) {
            throw new SavedModelException(
                source
                    + ": object-graph node "
                    + parent
                    + " has two children named \""
                    + name
                    + "\" (nodes "
                    + found
                    + " and "
                    + child.getNodeId()
                    + ")");
          }
          if (child.getNodeId() < 0 || child.getNodeId() >= objectGraph.getNodesCount()) {
            throw new SavedModelException(
                source
                    + ": object-graph node "
                    + parent
                    + " has a child \""
                    + name
                    + "\" with node id "
                    + child.getNodeId()
                    + ", but the graph has "
                    + objectGraph.getNodesCount()
                    + " nodes");
          }
          found = child.getNodeId();
        }
      }
      return found;
    }
  }

  /**
   * Removes what a previous signature at node {@code previous} added: its {@code
   * concrete_functions} entry, its calls in the graph and its FunctionDef, each only where nothing
   * else refers to it. The node itself is overwritten by the caller.
   */
  private static void removePrevious(
      SavedObjectGraph.Builder objectGraph, GraphDef.Builder graphDef, int previous) {
    String old = objectGraph.getNodes(previous).getBareConcreteFunction().getConcreteFunctionName();
    boolean namedElsewhere = false;
    for (int id = 0; id < objectGraph.getNodesCount(); id++) {
      SavedObject node = objectGraph.getNodes(id);
      if (id != previous
          && (node.getFunction().getConcreteFunctionsList().contains(old)
              || node.getBareConcreteFunction().getConcreteFunctionName().equals(old))) {
        namedElsewhere = true;
      }
    }
    if (namedElsewhere) {
      return;
    }
    objectGraph.removeConcreteFunctions(old);

    Set<String> calls = new HashSet<>();
    for (NodeDef node : graphDef.getNodeList()) {
      if (node.getOp().endsWith("PartitionedCall") && callee(node).equals(old)) {
        calls.add(node.getName());
      }
    }
    for (NodeDef node : graphDef.getNodeList()) {
      if (!calls.contains(node.getName())) {
        for (String input : node.getInputList()) {
          if (calls.contains(opName(input))) {
            return;
          }
        }
      }
    }
    for (int i = graphDef.getNodeCount() - 1; i >= 0; i--) {
      if (calls.contains(graphDef.getNode(i).getName())) {
        graphDef.removeNode(i);
      }
    }
    boolean referenced = graphDef.getNodeList().stream().anyMatch(n -> refersTo(n, old));
    FunctionDefLibrary.Builder library = graphDef.getLibraryBuilder();
    for (FunctionDef function : library.getFunctionList()) {
      if (!function.getSignature().getName().equals(old)) {
        referenced |= function.getNodeDefList().stream().anyMatch(n -> refersTo(n, old));
      }
    }
    referenced |=
        library.getGradientList().stream()
            .anyMatch(g -> g.getFunctionName().equals(old) || g.getGradientFunc().equals(old));
    if (!referenced) {
      for (int i = library.getFunctionCount() - 1; i >= 0; i--) {
        if (library.getFunction(i).getSignature().getName().equals(old)) {
          library.removeFunction(i);
        }
      }
    }
  }

  /**
   * {@code tfl1l2_regularization_K} with the least K that starts no function name of {@code
   * library}. The loaded graph still holds the previous signature's function, and TensorFlow names
   * a function by its body: the same configuration would give the same name again.
   */
  private static String functionBaseName(FunctionDefLibrary library) {
    for (int k = 0; ; k++) {
      String candidate = FUNCTION_PREFIX + k;
      if (library.getFunctionList().stream()
          .noneMatch(f -> f.getSignature().getName().startsWith(candidate + "_"))) {
        return candidate;
      }
    }
  }

  private static String callee(NodeDef node) {
    return node.getAttrOrDefault("f", AttrValue.getDefaultInstance()).getFunc().getName();
  }

  /** Whether an attribute of {@code node} names function {@code name}, or its op is it. */
  private static boolean refersTo(NodeDef node, String name) {
    if (node.getOp().equals(name)) {
      return true;
    }
    for (AttrValue value : node.getAttrMap().values()) {
      if (value.getFunc().getName().equals(name)
          || value.getList().getFuncList().stream().anyMatch(f -> f.getName().equals(name))) {
        return true;
      }
    }
    return false;
  }

  private static String opName(String input) {
    String name = input.startsWith("^") ? input.substring(1) : input;
    int colon = name.indexOf(':');
    return colon < 0 ? name : name.substring(0, colon);
  }

  /**
   * The {@code concrete_functions} entry: the variables' nodes as bound inputs, no structured
   * inputs ({@code ((), {})}, as TensorFlow's StructuredValue encodes it) and a dictionary of
   * TensorSpecs as output.
   */
  private static SavedConcreteFunction concreteFunction(
      RegularizationFunction function, List<Integer> nodeIds) {
    DictValue.Builder outputs = DictValue.newBuilder();
    for (String key : function.outputKeys()) {
      outputs.putFields(
          key,
          StructuredValue.newBuilder()
              .setTensorSpecValue(
                  TensorSpecProto.newBuilder()
                      .setName(key)
                      .setShape(shapeProto(function.outputShape(key)))
                      .setDtype(function.outputType(key)))
              .build());
    }
    return SavedConcreteFunction.newBuilder()
        .addAllBoundInputs(nodeIds)
        .setCanonicalizedInputSignature(
            StructuredValue.newBuilder()
                .setTupleValue(
                    TupleValue.newBuilder()
                        .addValues(
                            StructuredValue.newBuilder().setTupleValue(TupleValue.newBuilder()))
                        .addValues(
                            StructuredValue.newBuilder().setDictValue(DictValue.newBuilder()))))
        .setOutputSignature(StructuredValue.newBuilder().setDictValue(outputs))
        .build();
  }

  /**
   * The function spec TensorFlow writes for a signature: {@code signature_wrapper(**kwargs)}, no
   * input signature. Without inputs the keyword arguments stay empty.
   */
  private static FunctionSpec signatureFunctionSpec() {
    StructuredValue none =
        StructuredValue.newBuilder().setNoneValue(NoneValue.newBuilder()).build();
    StructuredValue emptyList =
        StructuredValue.newBuilder().setListValue(ListValue.newBuilder()).build();
    NamedTupleValue fullArgSpec =
        NamedTupleValue.newBuilder()
            .setName("FullArgSpec")
            .addValues(pair("args", emptyList))
            .addValues(pair("varargs", none))
            .addValues(pair("varkw", StructuredValue.newBuilder().setStringValue("kwargs").build()))
            .addValues(pair("defaults", none))
            .addValues(pair("kwonlyargs", emptyList))
            .addValues(pair("kwonlydefaults", none))
            .addValues(
                pair(
                    "annotations",
                    StructuredValue.newBuilder().setDictValue(DictValue.newBuilder()).build()))
            .build();
    return FunctionSpec.newBuilder()
        .setFullargspec(StructuredValue.newBuilder().setNamedTupleValue(fullArgSpec))
        .setInputSignature(none)
        .build();
  }

  private static PairValue pair(String key, StructuredValue value) {
    return PairValue.newBuilder().setKey(key).setValue(value).build();
  }

  private static ObjectReference child(String name, int id) {
    return ObjectReference.newBuilder().setLocalName(name).setNodeId(id).build();
  }

  private static TensorShapeProto shapeProto(Shape shape) {
    TensorShapeProto.Builder proto = TensorShapeProto.newBuilder();
    if (shape.isUnknown()) {
      return proto.setUnknownRank(true).build();
    }
    for (int i = 0; i < shape.numDimensions(); i++) {
      proto.addDim(TensorShapeProto.Dim.newBuilder().setSize(shape.get(i)));
    }
    return proto.build();
  }
}
