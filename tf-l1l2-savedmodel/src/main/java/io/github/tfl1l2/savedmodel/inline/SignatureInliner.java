package io.github.tfl1l2.savedmodel.inline;

import io.github.tfl1l2.savedmodel.load.GraphNames;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.tensorflow.Graph;
import org.tensorflow.Output;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.NodeDef;

/**
 * A TF2 or Keras signature as ordinary ops: each output computed by a call node of the loaded graph
 * ({@code StatefulPartitionedCall} of the traced function) gets the call's function inlined, nested
 * calls included, so that {@code Graph.addGradients} reaches the variables it reads.
 */
public final class SignatureInliner {
  private SignatureInliner() {}

  /**
   * Inlines the calls that compute {@code named} into {@code graph}.
   *
   * @param graph the loaded graph of {@code metaGraph}
   * @param metaGraph the MetaGraphDef it was loaded from (function library, OpDefs)
   * @param source how messages name the model and signature
   * @param scope the base of the name scope the inlined ops go under
   * @param named the signature's outputs by key, as the graph's own tensors
   * @return the inlined outputs by key (an output that is no call's stays as it is) and the ops
   * @throws io.github.tfl1l2.savedmodel.SavedModelException naming the node that cannot be inlined
   */
  public static SignatureBody inline(
      Graph graph,
      MetaGraphDef metaGraph,
      String source,
      String scope,
      Map<String, Output<?>> named) {
    FunctionInliner inliner = new FunctionInliner(graph, metaGraph, source);
    String prefix = GraphNames.unusedScope(graph, scope) + "/";
    Map<String, NodeDef> nodes = new HashMap<>();
    metaGraph.getGraphDef().getNodeList().forEach(n -> nodes.put(n.getName(), n));
    Map<String, List<Output<?>>> calls = new HashMap<>();
    Map<String, Output<?>> outputs = new LinkedHashMap<>();
    for (Map.Entry<String, Output<?>> entry : named.entrySet()) {
      Output<?> tensor = entry.getValue();
      NodeDef node = nodes.get(tensor.op().name());
      if (node != null && inliner.isCall(node)) {
        // Outputs of one call share one inlined body.
        List<Output<?>> results =
            calls.computeIfAbsent(
                node.getName(), k -> inliner.inlineCall(node, arguments(graph, node), prefix));
        outputs.put(entry.getKey(), results.get(tensor.index()));
      } else {
        // Already ordinary ops of the graph (e.g. a constant output): nothing to inline.
        outputs.put(entry.getKey(), tensor);
      }
    }
    return new SignatureBody(Collections.unmodifiableMap(outputs), inliner.inlined());
  }

  /** The graph tensors that {@code call}'s data inputs name, in order. */
  private static List<Output<?>> arguments(Graph graph, NodeDef call) {
    List<Output<?>> arguments = new ArrayList<>();
    for (String input : call.getInputList()) {
      if (!input.startsWith("^")) {
        arguments.add(graph.outputOrThrow(input));
      }
    }
    return arguments;
  }
}
