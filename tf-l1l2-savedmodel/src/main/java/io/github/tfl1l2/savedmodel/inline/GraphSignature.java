package io.github.tfl1l2.savedmodel.inline;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.tensorflow.Graph;
import org.tensorflow.GraphOperation;
import org.tensorflow.Output;

/**
 * A TF1 signature (a SavedModel without an object graph: TF Serving's classic models, estimators)
 * as it is: its tensors are already ordinary ops of the loaded graph, reading the variables ({@code
 * VariableV2} or {@code VarHandleOp}) directly, so nothing is inlined. Only the ops the outputs
 * need are listed, for {@link GradientCoverage}.
 */
public final class GraphSignature {
  private GraphSignature() {}

  /**
   * The ops of {@code graph} that compute {@code named}.
   *
   * @param graph the loaded graph
   * @param named the signature's outputs by key
   * @return the outputs unchanged and every op they depend on through data edges, with its inputs
   */
  public static SignatureBody asIs(Graph graph, Map<String, Output<?>> named) {
    // Walked here over data inputs: Graph.subgraphTo's result lacked the v1 Merge between a
    // variable and the output in TrainableSavedModelTf1Test, so the refusal never came.
    List<FunctionInliner.InlinedOp> ops = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    Deque<GraphOperation> pending = new ArrayDeque<>();
    for (Output<?> output : named.values()) {
      pending.add((GraphOperation) output.op());
    }
    while (!pending.isEmpty()) {
      GraphOperation op = pending.poll();
      if (!seen.add(op.name())) {
        continue;
      }
      List<Output<?>> inputs = new ArrayList<>();
      for (int i = 0; i < op.numInputs(); i++) {
        inputs.add(op.input(i));
        pending.add((GraphOperation) op.input(i).op());
      }
      ops.add(new FunctionInliner.InlinedOp(op, List.copyOf(inputs)));
    }
    // Producers before consumers, as the inliner lists its ops.
    Collections.reverse(ops);
    return new SignatureBody(Collections.unmodifiableMap(new LinkedHashMap<>(named)), ops);
  }
}
