package io.github.tfl1l2.savedmodel;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.tensorflow.proto.AttrValue;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.FunctionDef;
import org.tensorflow.proto.GraphDef;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.OpDef.ArgDef;
import org.tensorflow.proto.SavedObjectGraphOuterClass.SavedBareConcreteFunction;
import org.tensorflow.proto.SavedObjectGraphOuterClass.SavedConcreteFunction;
import org.tensorflow.proto.SavedObjectGraphOuterClass.SavedObject;
import org.tensorflow.proto.SavedObjectGraphOuterClass.SavedObjectGraph;
import org.tensorflow.proto.SavedObjectGraphOuterClass.SavedVariable;
import org.tensorflow.proto.SignatureDef;
import org.tensorflow.proto.Struct.DictValue;
import org.tensorflow.proto.Struct.StructuredValue;
import org.tensorflow.proto.Struct.TupleValue;
import org.tensorflow.proto.TensorInfo;
import org.tensorflow.proto.TrackableObjectGraphOuterClass.TrackableObjectGraph.TrackableObject.ObjectReference;

/**
 * What TensorFlow 2's Python loader ({@code tf.saved_model.load}) requires of a MetaGraphDef to
 * list a signature, written down from its sources ({@code load.py}, {@code
 * function_deserialization.py}, {@code restore_captures.py}, {@code signature_serialization.py},
 * {@code function_def_to_graph.py}) so that it can be checked where Python TensorFlow is not
 * available. Each rule names the loader step that needs it. Written independently of the code under
 * test: it reads only protocol buffers.
 */
public final class Tf2LoaderRules {
  /** The outputs of the regularization signature, as {@link RegularizationSignature} names them. */
  public static final Set<String> REGULARIZATION_OUTPUTS =
      Set.of(
          RegularizationSignature.PENALTY, RegularizationSignature.L1_SUM,
          RegularizationSignature.L2_SUM, RegularizationSignature.PER_VARIABLE,
          RegularizationSignature.COEFFICIENTS, RegularizationSignature.VARIABLE_NAMES);

  private Tf2LoaderRules() {}

  /**
   * Checks the whole library and object graph, then the signature {@code key} in both the object
   * graph and {@code signature_def}.
   *
   * @param expectedOutputs the output keys the signature must have
   * @return the violated rules; empty when the MetaGraphDef satisfies all of them
   */
  public static List<String> violations(
      MetaGraphDef metaGraph, String key, Set<String> expectedOutputs) {
    List<String> problems = new ArrayList<>();
    checkLibrary(metaGraph.getGraphDef(), problems);
    checkObjectGraph(metaGraph, problems);
    checkSignature(metaGraph, key, expectedOutputs, problems);
    return problems;
  }

  /**
   * load_function_def_library converts EVERY FunctionDef at load (function_def_to_graph): one
   * malformed function fails the whole model.
   */
  private static void checkLibrary(GraphDef graph, List<String> problems) {
    Set<String> names = new HashSet<>();
    for (FunctionDef function : graph.getLibrary().getFunctionList()) {
      String name = function.getSignature().getName();
      if (!names.add(name)) {
        problems.add("library: two FunctionDefs are named " + name);
      }
      AttrValue inputShapes = function.getAttrMap().get("_input_shapes");
      if (inputShapes != null
          && inputShapes.getList().getShapeCount() != function.getSignature().getInputArgCount()) {
        problems.add(
            "library: "
                + name
                + " has "
                + inputShapes.getList().getShapeCount()
                + " _input_shapes for "
                + function.getSignature().getInputArgCount()
                + " arguments (function_def_to_graph_def needs one per argument)");
      }
      Set<String> outputNames = new HashSet<>();
      for (ArgDef output : function.getSignature().getOutputArgList()) {
        outputNames.add(output.getName());
        if (!function.getRetMap().containsKey(output.getName())) {
          problems.add("library: " + name + " returns nothing for output " + output.getName());
        }
      }
      if (!outputNames.equals(function.getRetMap().keySet())) {
        problems.add(
            "library: "
                + name
                + " ret keys "
                + function.getRetMap().keySet()
                + " are not its outputs "
                + outputNames);
      }
      Set<String> inputNames = new HashSet<>();
      for (ArgDef input : function.getSignature().getInputArgList()) {
        if (!inputNames.add(input.getName())) {
          problems.add("library: " + name + " has two arguments named " + input.getName());
        }
      }
    }
    for (NodeDef node : graph.getNodeList()) {
      if (node.getOp().endsWith("PartitionedCall") && !names.contains(callee(node))) {
        problems.add(
            "graph: " + node.getName() + " calls " + callee(node) + ", which the library lacks");
      }
    }
  }

  /** Loader._load_nodes/_load_edges: every reference resolves; every function exists. */
  private static void checkObjectGraph(MetaGraphDef metaGraph, List<String> problems) {
    SavedObjectGraph objectGraph = metaGraph.getObjectGraphDef();
    Map<String, FunctionDef> library = library(metaGraph.getGraphDef());
    int count = objectGraph.getNodesCount();
    for (int id = 0; id < count; id++) {
      SavedObject node = objectGraph.getNodes(id);
      for (ObjectReference child : node.getChildrenList()) {
        if (child.getNodeId() < 0 || child.getNodeId() >= count) {
          problems.add(
              "object graph: node "
                  + id
                  + " child "
                  + child.getLocalName()
                  + " points at node "
                  + child.getNodeId()
                  + " of "
                  + count);
        }
      }
      if (node.hasBareConcreteFunction()
          && !objectGraph
              .getConcreteFunctionsMap()
              .containsKey(node.getBareConcreteFunction().getConcreteFunctionName())) {
        problems.add(
            "object graph: node "
                + id
                + " names the concrete function "
                + node.getBareConcreteFunction().getConcreteFunctionName()
                + ", which has no entry");
      }
      for (String name : node.getFunction().getConcreteFunctionsList()) {
        if (!objectGraph.getConcreteFunctionsMap().containsKey(name)) {
          problems.add("object graph: node " + id + " lists " + name + ", which has no entry");
        }
      }
    }
    for (Map.Entry<String, SavedConcreteFunction> entry :
        objectGraph.getConcreteFunctionsMap().entrySet()) {
      FunctionDef function = library.get(entry.getKey());
      if (function == null) {
        problems.add("concrete_functions: " + entry.getKey() + " has no FunctionDef");
        continue;
      }
      // restore_captures: the bound inputs replace the LAST arguments of the function.
      List<Integer> bound = entry.getValue().getBoundInputsList();
      int args = function.getSignature().getInputArgCount();
      if (bound.size() > args) {
        problems.add(
            "concrete_functions: "
                + entry.getKey()
                + " binds "
                + bound.size()
                + " inputs to "
                + args
                + " arguments");
        continue;
      }
      for (int i = 0; i < bound.size(); i++) {
        int id = bound.get(i);
        if (id < 0 || id >= count) {
          problems.add(
              "concrete_functions: " + entry.getKey() + " binds node " + id + " of " + count);
        } else if (objectGraph.getNodes(id).hasVariable()
            && function.getSignature().getInputArg(args - bound.size() + i).getType()
                != DataType.DT_RESOURCE) {
          problems.add(
              "concrete_functions: "
                  + entry.getKey()
                  + " binds variable node "
                  + id
                  + " to a non-resource argument");
        }
      }
    }
  }

  private static void checkSignature(
      MetaGraphDef metaGraph, String key, Set<String> expectedOutputs, List<String> problems) {
    SavedObjectGraph objectGraph = metaGraph.getObjectGraphDef();
    // signature_serialization: root.signatures is a "signature_map" user object, version 1.
    List<Integer> maps = children(objectGraph.getNodes(0), "signatures");
    if (maps.size() != 1) {
      problems.add("root: " + maps.size() + " children named signatures");
      return;
    }
    SavedObject map = objectGraph.getNodes(maps.get(0));
    if (!map.getUserObject().getIdentifier().equals("signature_map")
        || map.getUserObject().getVersion().getProducer() != 1
        || map.getUserObject().getVersion().getMinConsumer() != 1) {
      problems.add("root.signatures is not a signature_map user object of version 1: " + map);
      return;
    }
    List<Integer> signatureNodes = children(map, key);
    if (signatureNodes.size() != 1) {
      problems.add("signature map: " + signatureNodes.size() + " children named " + key);
      return;
    }
    SavedObject node = objectGraph.getNodes(signatureNodes.get(0));
    if (!node.hasBareConcreteFunction()) {
      problems.add(
          "signature " + key + " is a " + node.getKindCase() + ", not a bare_concrete_function");
      return;
    }
    // setup_bare_concrete_function: no inputs, so no keywords and no positional arguments.
    SavedBareConcreteFunction bare = node.getBareConcreteFunction();
    if (bare.getArgumentKeywordsCount() != 0 || bare.getAllowedPositionalArguments() != 0) {
      problems.add(
          "signature "
              + key
              + " takes arguments: keywords "
              + bare.getArgumentKeywordsList()
              + ", positional "
              + bare.getAllowedPositionalArguments());
    }
    String name = bare.getConcreteFunctionName();
    SavedConcreteFunction entry = objectGraph.getConcreteFunctionsMap().get(name);
    FunctionDef function = library(metaGraph.getGraphDef()).get(name);
    if (entry == null || function == null) {
      problems.add("signature " + key + ": function " + name + " is missing");
      return;
    }
    StructuredValue noInputs =
        StructuredValue.newBuilder()
            .setTupleValue(
                TupleValue.newBuilder()
                    .addValues(StructuredValue.newBuilder().setTupleValue(TupleValue.newBuilder()))
                    .addValues(StructuredValue.newBuilder().setDictValue(DictValue.newBuilder())))
            .build();
    if (!entry.getCanonicalizedInputSignature().equals(noInputs)) {
      problems.add(
          "signature "
              + key
              + ": canonicalized_input_signature is not ((), {}): "
              + entry.getCanonicalizedInputSignature());
    }
    // With no structured inputs every argument is a bound input (a variable's handle).
    List<Integer> bound = entry.getBoundInputsList();
    List<ArgDef> args = function.getSignature().getInputArgList();
    if (bound.size() != args.size()) {
      problems.add(
          "signature "
              + key
              + ": "
              + bound.size()
              + " bound inputs for "
              + args.size()
              + " arguments");
      return;
    }
    for (int i = 0; i < bound.size(); i++) {
      SavedObject variableNode = objectGraph.getNodes(bound.get(i));
      ArgDef arg = args.get(i);
      if (!variableNode.hasVariable()) {
        problems.add(
            "signature "
                + key
                + ": bound input "
                + i
                + " (node "
                + bound.get(i)
                + ") is a "
                + variableNode.getKindCase()
                + ", not a variable");
        continue;
      }
      if (arg.getType() != DataType.DT_RESOURCE) {
        problems.add("signature " + key + ": argument " + arg.getName() + " is " + arg.getType());
      }
      SavedVariable variable = variableNode.getVariable();
      for (var handle : arg.getHandleDataList()) {
        if (handle.getDtype() != variable.getDtype()
            || !handle.getShape().equals(variable.getShape())) {
          problems.add(
              "signature "
                  + key
                  + ": argument "
                  + arg.getName()
                  + " handle_data differs from variable node "
                  + bound.get(i));
        }
      }
    }
    // function_def_to_graph packs the flat outputs into output_signature: a dict unpacks in
    // sorted key order.
    if (!entry.getOutputSignature().hasDictValue()) {
      problems.add("signature " + key + ": output_signature is not a dict");
      return;
    }
    Map<String, StructuredValue> specs =
        new TreeMap<>(entry.getOutputSignature().getDictValue().getFieldsMap());
    if (!specs.keySet().equals(expectedOutputs)) {
      problems.add(
          "signature " + key + ": outputs " + specs.keySet() + ", expected " + expectedOutputs);
    }
    List<ArgDef> outputs = function.getSignature().getOutputArgList();
    if (outputs.size() != specs.size()) {
      problems.add(
          "signature "
              + key
              + ": "
              + outputs.size()
              + " function outputs for "
              + specs.size()
              + " TensorSpecs");
      return;
    }
    List<String> sortedKeys = new ArrayList<>(specs.keySet());
    for (int i = 0; i < sortedKeys.size(); i++) {
      StructuredValue spec = specs.get(sortedKeys.get(i));
      if (!spec.hasTensorSpecValue()) {
        problems.add("signature " + key + ": output " + sortedKeys.get(i) + " is no TensorSpec");
      } else if (spec.getTensorSpecValue().getDtype() != outputs.get(i).getType()) {
        problems.add(
            "signature "
                + key
                + ": output "
                + i
                + " of the function is "
                + outputs.get(i).getType()
                + " but the "
                + i
                + "th sorted key "
                + sortedKeys.get(i)
                + " is "
                + spec.getTensorSpecValue().getDtype());
      }
    }
    checkSignatureDef(metaGraph, key, name, sortedKeys, specs, outputs, bound, problems);
  }

  /**
   * signature_def[key] (TensorFlow-Java, TF Serving, the TF1 loader) must call the same function on
   * the handles of the same variables, output k of the call being the k-th sorted key.
   */
  private static void checkSignatureDef(
      MetaGraphDef metaGraph,
      String key,
      String function,
      List<String> sortedKeys,
      Map<String, StructuredValue> specs,
      List<ArgDef> outputs,
      List<Integer> bound,
      List<String> problems) {
    SignatureDef def = metaGraph.getSignatureDefMap().get(key);
    if (def == null) {
      problems.add("signature_def has no " + key);
      return;
    }
    if (!def.getOutputsMap().keySet().equals(specs.keySet()) || def.getInputsCount() != 0) {
      problems.add(
          "signature_def "
              + key
              + ": inputs "
              + def.getInputsMap().keySet()
              + ", outputs "
              + def.getOutputsMap().keySet());
      return;
    }
    Set<String> callNodes = new HashSet<>();
    for (int i = 0; i < sortedKeys.size(); i++) {
      TensorInfo info = def.getOutputsOrThrow(sortedKeys.get(i));
      String[] parts = info.getName().split(":");
      callNodes.add(parts[0]);
      if (parts.length != 2 || !parts[1].equals(Integer.toString(i))) {
        problems.add(
            "signature_def "
                + key
                + ": "
                + sortedKeys.get(i)
                + " is "
                + info.getName()
                + ", not output "
                + i
                + " of the call");
      }
      if (info.getDtype() != outputs.get(i).getType()) {
        problems.add(
            "signature_def " + key + ": " + sortedKeys.get(i) + " has dtype " + info.getDtype());
      }
    }
    if (callNodes.size() != 1) {
      problems.add("signature_def " + key + ": outputs come from " + callNodes);
      return;
    }
    String callName = callNodes.iterator().next();
    NodeDef call =
        metaGraph.getGraphDef().getNodeList().stream()
            .filter(n -> n.getName().equals(callName))
            .findFirst()
            .orElse(null);
    if (call == null
        || !call.getOp().equals("StatefulPartitionedCall")
        || !callee(call).equals(function)) {
      problems.add(
          "signature_def "
              + key
              + ": "
              + callName
              + " is not a StatefulPartitionedCall"
              + " of "
              + function
              + ": "
              + (call == null ? "missing" : call.getOp() + " of " + callee(call)));
      return;
    }
    List<String> inputs = call.getInputList().stream().filter(s -> !s.startsWith("^")).toList();
    if (inputs.size() != bound.size()) {
      problems.add(
          "signature_def "
              + key
              + ": the call has "
              + inputs.size()
              + " inputs for "
              + bound.size()
              + " bound variables");
      return;
    }
    Map<String, NodeDef> nodes = new TreeMap<>();
    metaGraph.getGraphDef().getNodeList().forEach(n -> nodes.put(n.getName(), n));
    for (int i = 0; i < inputs.size(); i++) {
      NodeDef handle = nodes.get(inputs.get(i).split(":")[0]);
      SavedVariable variable = metaGraph.getObjectGraphDef().getNodes(bound.get(i)).getVariable();
      if (handle == null || !handle.getOp().equals("VarHandleOp")) {
        problems.add(
            "signature_def "
                + key
                + ": call input "
                + i
                + " "
                + inputs.get(i)
                + " is not a VarHandleOp");
      } else if (handle.getAttrOrThrow("dtype").getType() != variable.getDtype()
          || !handle.getAttrOrThrow("shape").getShape().equals(variable.getShape())) {
        problems.add(
            "signature_def "
                + key
                + ": call input "
                + i
                + " "
                + inputs.get(i)
                + " differs in dtype or shape from bound node "
                + bound.get(i));
      }
    }
  }

  /** The ids of {@code node}'s children named {@code name}. */
  static List<Integer> children(SavedObject node, String name) {
    List<Integer> ids = new ArrayList<>();
    for (ObjectReference child : node.getChildrenList()) {
      if (child.getLocalName().equals(name)) {
        ids.add(child.getNodeId());
      }
    }
    return ids;
  }

  static Map<String, FunctionDef> library(GraphDef graph) {
    Map<String, FunctionDef> functions = new TreeMap<>();
    graph.getLibrary().getFunctionList().forEach(f -> functions.put(f.getSignature().getName(), f));
    return functions;
  }

  static String callee(NodeDef node) {
    return node.getAttrOrDefault("f", AttrValue.getDefaultInstance()).getFunc().getName();
  }
}
