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
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.FunctionDef;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.SavedObjectGraphOuterClass.SavedConcreteFunction;
import org.tensorflow.proto.SavedObjectGraphOuterClass.SavedObject;
import org.tensorflow.proto.SavedObjectGraphOuterClass.SavedObjectGraph;
import org.tensorflow.proto.SignatureDef;
import org.tensorflow.proto.Struct.StructuredValue;
import org.tensorflow.proto.Struct.TensorSpecProto;
import org.tensorflow.proto.TensorInfo;
import org.tensorflow.proto.TensorShapeProto;
import org.tensorflow.proto.TrackableObjectGraphOuterClass.TrackableObjectGraph.TrackableObject.ObjectReference;

/**
 * The training-mode call of a Keras 2 SavedModel, wired to one signature: the concrete function of
 * the root object's {@code __call__} that Keras traced with {@code training=True}, whose input
 * specs match the signature's inputs.
 *
 * <p>Keras 2 saves each layer's {@code __call__} traced with {@code training=True} and {@code
 * training=False}; the flag is a {@code bool_value} in the concrete function's {@code
 * canonicalized_input_signature}. The serving signature wraps only an inference trace. Keras 3
 * {@code model.export()}, TF1 graphs and plain {@code tf.Module}s have no such trace.
 *
 * <p>The wiring: the trace's first arguments are the flattened tensor specs of its input signature,
 * the rest its captured variables ({@code bound_inputs}, object-graph node ids). A spec is the
 * signature input of the same name; a lone spec is the lone input whatever its name (Keras saves
 * one trace with the model's input names and one named {@code inputs}; the first is preferred).
 * Outputs: a lone output is the signature's lone output; several are mapped through the signature's
 * function, whose return values are, key by key, outputs of its one call of the model's inference
 * trace, which has the training trace's output structure.
 */
public final class TrainingTrace {
  private static final String CALL = "__call__";
  private static final String LOOKED_FOR =
      "looked for a concrete function of the root object's "
          + CALL
          + " traced with training=True (a bool_value true in its canonicalized_input_signature),"
          + " as Keras 2 saves every layer's call";

  private final String function;
  private final List<String> inputKeys;
  private final List<Integer> boundInputs;
  private final Map<String, Integer> outputIndices;

  private TrainingTrace(
      String function,
      List<String> inputKeys,
      List<Integer> boundInputs,
      Map<String, Integer> outputIndices) {
    this.function = function;
    this.inputKeys = inputKeys;
    this.boundInputs = boundInputs;
    this.outputIndices = outputIndices;
  }

  /**
   * The name of the trace's function in the MetaGraphDef's library.
   *
   * @return a {@code FunctionDef} name, e.g. {@code __inference_sequential_layer_call_fn_302798}
   */
  public String function() {
    return function;
  }

  /**
   * The signature input that each data argument of the trace takes, in argument order.
   *
   * @return an immutable list of signature input keys, one per data argument
   */
  public List<String> inputKeys() {
    return inputKeys;
  }

  /**
   * The object-graph node ids of the variables the trace captures: its arguments after the data
   * arguments, in order.
   *
   * @return an immutable list of node ids of {@code SavedVariable} nodes
   */
  public List<Integer> boundInputs() {
    return boundInputs;
  }

  /**
   * Which output of the trace each signature output is.
   *
   * @return an immutable map from signature output key to the trace's output index
   */
  public Map<String, Integer> outputIndices() {
    return outputIndices;
  }

  /**
   * Finds the training-mode trace for signature {@code signatureKey}.
   *
   * @param metaGraph the loaded MetaGraphDef, with its object graph and function library
   * @param signatureKey the key of a signature of {@code metaGraph}
   * @param source how messages name the model and signature
   * @return the trace and its wiring to the signature
   * @throws SavedModelException if the model has no training-mode call (the message names what was
   *     looked for), none whose inputs match the signature's (naming both), or its outputs cannot
   *     be mapped to the signature's
   */
  public static TrainingTrace find(MetaGraphDef metaGraph, String signatureKey, String source) {
    SavedObjectGraph objects = metaGraph.getObjectGraphDef();
    if (objects.getNodesCount() == 0) {
      throw noTrace(source, "it has no object graph");
    }
    SavedObject root = objects.getNodes(0);
    SavedObject call = child(objects, root, CALL);
    if (call == null || !call.hasFunction()) {
      throw noTrace(source, "its root object" + identifier(root) + " has no " + CALL + " function");
    }
    List<String> candidates = new ArrayList<>();
    for (String name : call.getFunction().getConcreteFunctionsList()) {
      SavedConcreteFunction concrete = objects.getConcreteFunctionsMap().get(name);
      if (concrete != null && isTraining(concrete.getCanonicalizedInputSignature())) {
        candidates.add(name);
      }
    }
    if (candidates.isEmpty()) {
      throw noTrace(
          source,
          "its root object"
              + identifier(root)
              + " has "
              + call.getFunction().getConcreteFunctionsCount()
              + " traces of "
              + CALL
              + ", none with training=True");
    }

    SignatureDef signature = metaGraph.getSignatureDefMap().get(signatureKey);
    Map<String, TensorInfo> inputs = new TreeMap<>(signature.getInputsMap());
    String chosen = null;
    List<String> chosenKeys = null;
    List<String> seen = new ArrayList<>();
    for (String name : candidates) {
      List<TensorSpecProto> specs = new ArrayList<>();
      flatten(objects.getConcreteFunctionsMap().get(name).getCanonicalizedInputSignature(), specs);
      seen.add(name + " " + describe(specs));
      List<String> keys = byName(specs, inputs);
      if (keys != null) {
        chosen = name;
        chosenKeys = keys;
        break;
      }
      if (chosen == null && specs.size() == 1 && inputs.size() == 1) {
        String key = inputs.keySet().iterator().next();
        if (compatible(specs.get(0), inputs.get(key))) {
          chosen = name;
          chosenKeys = List.of(key);
        }
      }
    }
    if (chosen == null) {
      throw new SavedModelException(
          source
              + ": no training-mode call takes the signature's inputs "
              + describeInputs(inputs)
              + "; the traces with training=True take "
              + seen);
    }
    SavedConcreteFunction concrete = objects.getConcreteFunctionsMap().get(chosen);
    FunctionDef body = function(metaGraph, chosen, source);
    int arguments = body.getSignature().getInputArgCount();
    if (arguments != chosenKeys.size() + concrete.getBoundInputsCount()) {
      throw new SavedModelException(
          source
              + ": the training-mode call "
              + chosen
              + " takes "
              + arguments
              + " arguments, not its "
              + chosenKeys.size()
              + " inputs and "
              + concrete.getBoundInputsCount()
              + " captured variables");
    }
    Map<String, Integer> outputs =
        outputIndices(metaGraph, signature, body.getSignature().getOutputArgCount(), source);
    return new TrainingTrace(
        chosen, List.copyOf(chosenKeys), List.copyOf(concrete.getBoundInputsList()), outputs);
  }

  private static SavedModelException noTrace(String source, String why) {
    return new SavedModelException(
        source + ": the model has no training-mode call (" + why + "; " + LOOKED_FOR + ")");
  }

  /** The child named {@code name} of {@code node}, or null. */
  static SavedObject child(SavedObjectGraph objects, SavedObject node, String name) {
    for (ObjectReference child : node.getChildrenList()) {
      if (child.getLocalName().equals(name)
          && child.getNodeId() >= 0
          && child.getNodeId() < objects.getNodesCount()) {
        return objects.getNodes(child.getNodeId());
      }
    }
    return null;
  }

  private static String identifier(SavedObject node) {
    return node.hasUserObject() ? " (" + node.getUserObject().getIdentifier() + ")" : "";
  }

  /** Whether a trace's arguments hold a {@code training} flag that is true. */
  private static boolean isTraining(StructuredValue signature) {
    return switch (signature.getKindCase()) {
      case BOOL_VALUE -> signature.getBoolValue();
      case TUPLE_VALUE ->
          signature.getTupleValue().getValuesList().stream().anyMatch(TrainingTrace::isTraining);
      case LIST_VALUE ->
          signature.getListValue().getValuesList().stream().anyMatch(TrainingTrace::isTraining);
      case DICT_VALUE ->
          signature.getDictValue().getFieldsMap().values().stream()
              .anyMatch(TrainingTrace::isTraining);
      default -> false;
    };
  }

  /**
   * The tensor specs of a structured value in TensorFlow's flattening order: tuples and lists in
   * order, dictionaries by sorted key.
   */
  private static void flatten(StructuredValue value, List<TensorSpecProto> specs) {
    switch (value.getKindCase()) {
      case TENSOR_SPEC_VALUE -> specs.add(value.getTensorSpecValue());
      case TUPLE_VALUE -> value.getTupleValue().getValuesList().forEach(v -> flatten(v, specs));
      case LIST_VALUE -> value.getListValue().getValuesList().forEach(v -> flatten(v, specs));
      case DICT_VALUE ->
          new TreeMap<>(value.getDictValue().getFieldsMap())
              .values()
              .forEach(v -> flatten(v, specs));
      default -> {}
    }
  }

  /** The signature key of each spec when every spec names a distinct input and covers all. */
  private static List<String> byName(List<TensorSpecProto> specs, Map<String, TensorInfo> inputs) {
    if (specs.size() != inputs.size()) {
      return null;
    }
    List<String> keys = new ArrayList<>();
    for (TensorSpecProto spec : specs) {
      TensorInfo info = inputs.get(spec.getName());
      if (info == null || keys.contains(spec.getName()) || !compatible(spec, info)) {
        return null;
      }
      keys.add(spec.getName());
    }
    return keys;
  }

  /** Same dtype, and shapes that agree wherever both know a dimension. */
  private static boolean compatible(TensorSpecProto spec, TensorInfo info) {
    if (spec.getDtype() != info.getDtype()) {
      return false;
    }
    TensorShapeProto a = spec.getShape();
    TensorShapeProto b = info.getTensorShape();
    if (a.getUnknownRank() || b.getUnknownRank()) {
      return true;
    }
    if (a.getDimCount() != b.getDimCount()) {
      return false;
    }
    for (int i = 0; i < a.getDimCount(); i++) {
      long x = a.getDim(i).getSize();
      long y = b.getDim(i).getSize();
      if (x >= 0 && y >= 0 && x != y) {
        return false;
      }
    }
    return true;
  }

  private static String describe(List<TensorSpecProto> specs) {
    List<String> parts = new ArrayList<>();
    for (TensorSpecProto spec : specs) {
      parts.add(spec.getName() + ": " + describe(spec.getDtype(), spec.getShape()));
    }
    return parts.toString();
  }

  private static String describeInputs(Map<String, TensorInfo> inputs) {
    List<String> parts = new ArrayList<>();
    inputs.forEach((k, v) -> parts.add(k + ": " + describe(v.getDtype(), v.getTensorShape())));
    return parts.toString();
  }

  private static String describe(DataType dtype, TensorShapeProto shape) {
    if (shape.getUnknownRank()) {
      return dtype + "[?]";
    }
    List<Long> dims = new ArrayList<>();
    shape.getDimList().forEach(d -> dims.add(d.getSize()));
    return dtype + dims.toString();
  }

  private static FunctionDef function(MetaGraphDef metaGraph, String name, String source) {
    for (FunctionDef function : metaGraph.getGraphDef().getLibrary().getFunctionList()) {
      if (function.getSignature().getName().equals(name)) {
        return function;
      }
    }
    throw new SavedModelException(
        source + ": the training-mode call " + name + " is not in the graph's function library");
  }

  /**
   * Which trace output each signature output is: the only one, or the index of the signature
   * function's call of the model that returns it.
   */
  private static Map<String, Integer> outputIndices(
      MetaGraphDef metaGraph, SignatureDef signature, int traceOutputs, String source) {
    Map<String, TensorInfo> outputs = new TreeMap<>(signature.getOutputsMap());
    if (outputs.size() == 1 && traceOutputs == 1) {
      return Map.of(outputs.keySet().iterator().next(), 0);
    }
    Map<String, NodeDef> graphNodes = new HashMap<>();
    metaGraph.getGraphDef().getNodeList().forEach(n -> graphNodes.put(n.getName(), n));
    Map<String, FunctionDef> library = new HashMap<>();
    metaGraph
        .getGraphDef()
        .getLibrary()
        .getFunctionList()
        .forEach(f -> library.put(f.getSignature().getName(), f));
    Map<String, Integer> indices = new TreeMap<>();
    Set<String> callees = new TreeSet<>();
    for (Map.Entry<String, TensorInfo> entry : outputs.entrySet()) {
      String[] tensor = entry.getValue().getName().split(":");
      NodeDef call = graphNodes.get(tensor[0]);
      FunctionDef wrapper =
          call == null
              ? null
              : library.get(
                  call.getAttrOrDefault("f", AttrValue.getDefaultInstance()).getFunc().getName());
      int index = -1;
      if (wrapper != null && tensor.length == 2 && tensor[1].matches("[0-9]{1,9}")) {
        int k = Integer.parseInt(tensor[1]);
        if (k < wrapper.getSignature().getOutputArgCount()) {
          String ret = wrapper.getRetMap().get(wrapper.getSignature().getOutputArg(k).getName());
          index = modelOutput(wrapper, ret, callees);
        }
      }
      if (index < 0 || index >= traceOutputs) {
        throw new SavedModelException(
            source
                + ": signature output "
                + entry.getKey()
                + " cannot be matched to one of the training-mode call's "
                + traceOutputs
                + " outputs");
      }
      indices.put(entry.getKey(), index);
    }
    if (callees.size() > 1) {
      throw new SavedModelException(
          source + ": the signature's outputs come from several calls " + callees);
    }
    return Map.copyOf(indices);
  }

  /**
   * Follows {@code ret} in {@code wrapper} through {@code Identity} nodes to an output {@code
   * call:output:i} of a call node, and returns {@code i}; -1 if it leads elsewhere.
   */
  private static int modelOutput(FunctionDef wrapper, String ret, Set<String> callees) {
    Map<String, NodeDef> nodes = new HashMap<>();
    wrapper.getNodeDefList().forEach(n -> nodes.put(n.getName(), n));
    String reference = ret;
    for (int hops = 0; reference != null && hops <= nodes.size(); hops++) {
      String[] parts = reference.split(":");
      NodeDef node = nodes.get(parts[0]);
      if (node == null || parts.length != 3) {
        return -1;
      }
      if (node.getOp().equals("Identity")) {
        reference = node.getInputCount() == 0 ? null : node.getInput(0);
      } else if (node.getOp().endsWith("PartitionedCall")
          && parts[1].equals("output")
          && parts[2].matches("[0-9]{1,9}")) {
        callees.add(node.getAttrOrDefault("f", AttrValue.getDefaultInstance()).getFunc().getName());
        return Integer.parseInt(parts[2]);
      } else {
        return -1;
      }
    }
    return -1;
  }
}
