package io.github.tfl1l2.savedmodel.load;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.tensorflow.proto.AttrValue;
import org.tensorflow.proto.FunctionDef;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.OpDef.ArgDef;

/**
 * Which variable handle the MetaGraphDef's own saver writes under which checkpoint key.
 *
 * <p>A TensorFlow 2 SavedModel's {@code saver_def.save_tensor_name} is an output of a call of a
 * traced save function; the call passes the variables' handles, and inside the function each {@code
 * SaveV2} tensor is a {@code ReadVariableOp} of one argument (through {@code Identity} nodes),
 * under the key at the same position of the {@code SaveV2}'s {@code tensor_names} constant. A saver
 * of another form (TF1 graphs) gives an empty map.
 */
public final class SaverKeys {
  private SaverKeys() {}

  /**
   * The keys the saver writes from variable handles.
   *
   * @param metaGraph a MetaGraphDef with a {@code saver_def}
   * @return checkpoint key to the graph op name of the {@code VarHandleOp} it is read from, sorted
   *     by key; empty when the saver is not a traced save function of that form
   */
  public static Map<String, String> handles(MetaGraphDef metaGraph) {
    Map<String, String> keys = new TreeMap<>();
    String saveOp = opName(metaGraph.getSaverDef().getSaveTensorName());
    Map<String, NodeDef> graphNodes = new HashMap<>();
    metaGraph.getGraphDef().getNodeList().forEach(n -> graphNodes.put(n.getName(), n));
    NodeDef call = graphNodes.get(saveOp);
    if (call == null || !call.getOp().endsWith("PartitionedCall")) {
      return keys;
    }
    String functionName =
        call.getAttrOrDefault("f", AttrValue.getDefaultInstance()).getFunc().getName();
    FunctionDef function =
        metaGraph.getGraphDef().getLibrary().getFunctionList().stream()
            .filter(f -> f.getSignature().getName().equals(functionName))
            .findFirst()
            .orElse(null);
    if (function == null) {
      return keys;
    }
    List<String> callInputs = new ArrayList<>();
    for (String input : call.getInputList()) {
      if (!input.startsWith("^")) {
        callInputs.add(input);
      }
    }
    Map<String, Integer> arguments = new HashMap<>();
    List<ArgDef> args = function.getSignature().getInputArgList();
    for (int i = 0; i < args.size(); i++) {
      arguments.put(args.get(i).getName(), i);
    }
    Map<String, NodeDef> body = new HashMap<>();
    function.getNodeDefList().forEach(n -> body.put(n.getName(), n));
    for (NodeDef save : function.getNodeDefList()) {
      if (!save.getOp().equals("SaveV2")) {
        continue;
      }
      List<String> inputs = dataInputs(save);
      if (inputs.size() < 3) {
        continue;
      }
      NodeDef names = body.get(opName(inputs.get(1)));
      if (names == null || !names.getOp().equals("Const")) {
        continue;
      }
      List<String> tensorNames =
          names
              .getAttrOrDefault("value", AttrValue.getDefaultInstance())
              .getTensor()
              .getStringValList()
              .stream()
              .map(b -> b.toStringUtf8())
              .toList();
      for (int i = 3; i < inputs.size() && i - 3 < tensorNames.size(); i++) {
        Integer argument = readArgument(body, arguments, inputs.get(i));
        if (argument != null && argument < callInputs.size()) {
          NodeDef handle = graphNodes.get(opName(callInputs.get(argument)));
          if (handle != null && handle.getOp().equals("VarHandleOp")) {
            keys.put(tensorNames.get(i - 3), handle.getName());
          }
        }
      }
    }
    return keys;
  }

  /** The argument index that {@code input} reads through Identity nodes and a ReadVariableOp. */
  private static Integer readArgument(
      Map<String, NodeDef> body, Map<String, Integer> arguments, String input) {
    NodeDef node = body.get(opName(input));
    for (int depth = 0; node != null && depth < 16; depth++) {
      List<String> inputs = dataInputs(node);
      if (inputs.isEmpty()) {
        return null;
      }
      if (node.getOp().equals("ReadVariableOp")) {
        return arguments.get(opName(inputs.get(0)));
      }
      if (!node.getOp().equals("Identity")) {
        return null;
      }
      node = body.get(opName(inputs.get(0)));
    }
    return null;
  }

  private static List<String> dataInputs(NodeDef node) {
    return node.getInputList().stream().filter(i -> !i.startsWith("^")).toList();
  }

  /** {@code op}, {@code op:0} or {@code op:output:0} to {@code op}. */
  private static String opName(String input) {
    int colon = input.indexOf(':');
    return colon < 0 ? input : input.substring(0, colon);
  }
}
