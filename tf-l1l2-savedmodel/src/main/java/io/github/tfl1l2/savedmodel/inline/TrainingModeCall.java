package io.github.tfl1l2.savedmodel.inline;

import io.github.tfl1l2.savedmodel.SavedModelException;
import io.github.tfl1l2.savedmodel.load.KerasObjects;
import io.github.tfl1l2.savedmodel.load.ObjectGraphVariables;
import io.github.tfl1l2.savedmodel.load.TrainingTrace;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.tensorflow.Graph;
import org.tensorflow.GraphOperation;
import org.tensorflow.GraphOperationBuilder;
import org.tensorflow.Output;
import org.tensorflow.proto.MetaGraphDef;

/**
 * A Keras model's training-mode call ({@link TrainingTrace}) inlined in place of a signature's
 * function: on the signature's input placeholders and the graph's variable handles, with the
 * moving-statistics and random-generator writes built ({@link TrainingStateWrites}) and every
 * output ordered after them.
 *
 * @param body the signature's outputs by key as the call computes them, before the writes are
 *     ordered in ({@link #orderedOutputs} adds that), and the inlined ops
 * @param writes the variable writes the call makes, in the order built
 * @param prefix the name prefix of the inlined ops, ending with {@code /}
 */
public record TrainingModeCall(SignatureBody body, List<GraphOperation> writes, String prefix) {

  /**
   * Finds the model's training-mode call for signature {@code signatureKey} and inlines it.
   *
   * @param graph the loaded graph of {@code metaGraph}
   * @param metaGraph the MetaGraphDef it was loaded from
   * @param signatureKey the signature whose inputs and outputs the call is wired to
   * @param inputs the signature's input placeholders by key
   * @param outputKeys the signature's output keys
   * @param prefix the name prefix of the inlined ops (under {@code training/}) and of the ordered
   *     outputs (under {@code outputs/}), ending with {@code /}
   * @param source how messages name the model and signature
   * @return the inlined call
   * @throws SavedModelException if the model has no training-mode call (nothing is inlined then),
   *     none that takes the signature's inputs, or the call writes another variable than a moving
   *     statistic or a random generator's state (the message names the node, op and variable)
   */
  public static TrainingModeCall inline(
      Graph graph,
      MetaGraphDef metaGraph,
      String signatureKey,
      Map<String, Output<?>> inputs,
      Set<String> outputKeys,
      String prefix,
      String source) {
    TrainingTrace trace = TrainingTrace.find(metaGraph, signatureKey, source);
    ObjectGraphVariables variables = ObjectGraphVariables.of(metaGraph);
    Map<String, String> allowed = new HashMap<>();
    KerasObjects.of(metaGraph.getObjectGraphDef())
        .trainingStateVariables()
        .forEach(
            (id, kind) -> {
              try {
                allowed.put(variables.opName(source, id), kind);
              } catch (SavedModelException e) {
                // A state variable without a graph op cannot be written by the call either.
              }
            });
    TrainingStateWrites writes = new TrainingStateWrites(graph, allowed);
    FunctionInliner inliner = new FunctionInliner(graph, metaGraph, source, List.of(writes));
    List<Output<?>> arguments = new ArrayList<>();
    for (String key : trace.inputKeys()) {
      arguments.add(inputs.get(key));
    }
    for (int id : trace.boundInputs()) {
      arguments.add(graph.operationOrThrow(variables.capturedOpName(source, id)).output(0));
    }
    List<Output<?>> results =
        inliner.inlineFunction(trace.function(), arguments, prefix + "training/");
    Map<String, Output<?>> outputs = new LinkedHashMap<>();
    for (String key : outputKeys) {
      outputs.put(key, results.get(trace.outputIndices().get(key)));
    }
    return new TrainingModeCall(
        new SignatureBody(Collections.unmodifiableMap(outputs), inliner.inlined()),
        writes.writes(),
        prefix);
  }

  /**
   * The outputs, each as an {@code Identity} with control inputs on every write: whatever evaluates
   * an output (a loss, its gradients, an optimizer step) runs each write, and one {@code
   * Session.run} runs it once.
   *
   * @param graph the graph of the call
   * @return the ordered outputs by key, each an {@code Identity} named {@code
   *     <prefix>outputs/<key>}; the body's outputs themselves when there is no write
   */
  public Map<String, Output<?>> orderedOutputs(Graph graph) {
    if (writes.isEmpty()) {
      return body.outputs();
    }
    Map<String, Output<?>> ordered = new LinkedHashMap<>();
    for (Map.Entry<String, Output<?>> entry : body.outputs().entrySet()) {
      String name = prefix + "outputs/" + entry.getKey().replaceAll("[^A-Za-z0-9_.\\-]", "_");
      GraphOperationBuilder builder = graph.opBuilder("Identity", name, graph.baseScope());
      builder.addInput(entry.getValue());
      writes.forEach(builder::addControlInput);
      ordered.put(entry.getKey(), builder.build().output(0));
    }
    return Collections.unmodifiableMap(ordered);
  }
}
