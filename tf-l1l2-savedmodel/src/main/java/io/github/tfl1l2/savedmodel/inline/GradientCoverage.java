package io.github.tfl1l2.savedmodel.inline;

import io.github.tfl1l2.internal.FloatingTypes;
import io.github.tfl1l2.internal.GradientRules;
import io.github.tfl1l2.savedmodel.SavedModelException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.tensorflow.Output;
import org.tensorflow.proto.DataType;

/**
 * Checks, when a signature is inlined, that {@code Graph.addGradients} will find a gradient for
 * every inlined op between a trainable variable and a floating-point output, and names the first op
 * it would fail on.
 *
 * <p>Only ops on such a path matter: TensorFlow's C++ gradient builder visits exactly those, and an
 * op elsewhere in the body (an {@code ArgMax} beside the probabilities, a {@code Shape} feeding a
 * {@code Reshape}) may lack a gradient without harm. A path follows floating-point and resource
 * tensors only: integer tensors carry no gradient. Ops registered as not differentiable ({@code
 * Shape}, {@code Const}) count as covered; TensorFlow stops the gradient there as Python does.
 */
public final class GradientCoverage {
  private GradientCoverage() {}

  /**
   * @param source how messages name the model and signature
   * @param ops the inlined ops, inputs before consumers
   * @param variables the handles of the trainable variables the ops read
   * @param outputs the signature's outputs
   * @throws SavedModelException naming the first op on a path that has no registered gradient
   */
  public static void check(
      String source,
      List<FunctionInliner.InlinedOp> ops,
      List<Output<?>> variables,
      List<Output<?>> outputs) {
    Map<String, List<FunctionInliner.InlinedOp>> consumers = new HashMap<>();
    Map<String, FunctionInliner.InlinedOp> byName = new HashMap<>();
    for (FunctionInliner.InlinedOp op : ops) {
      byName.put(op.op().name(), op);
      for (Output<?> input : op.inputs()) {
        consumers.computeIfAbsent(key(input), k -> new ArrayList<>()).add(op);
      }
    }

    Set<String> fromVariables = new HashSet<>();
    Deque<Output<?>> pending = new ArrayDeque<>(variables);
    while (!pending.isEmpty()) {
      for (FunctionInliner.InlinedOp op : consumers.getOrDefault(key(pending.poll()), List.of())) {
        if (fromVariables.add(op.op().name())) {
          for (int i = 0; i < op.op().numOutputs(); i++) {
            if (carriesGradient(op.op().output(i))) {
              pending.add(op.op().output(i));
            }
          }
        }
      }
    }

    Set<String> toOutputs = new HashSet<>();
    for (Output<?> output : outputs) {
      if (FloatingTypes.isFloating(output.dataType())) {
        pending.add(output);
      }
    }
    while (!pending.isEmpty()) {
      FunctionInliner.InlinedOp op = byName.get(pending.poll().op().name());
      if (op != null && toOutputs.add(op.op().name())) {
        for (Output<?> input : op.inputs()) {
          if (carriesGradient(input)) {
            pending.add(input);
          }
        }
      }
    }

    for (FunctionInliner.InlinedOp op : ops) {
      String name = op.op().name();
      if (fromVariables.contains(name)
          && toOutputs.contains(name)
          && !GradientRules.passes(op.op().type())) {
        throw new SavedModelException(
            source
                + ": node "
                + name
                + " ("
                + op.op().type()
                + ") lies between a trainable"
                + " variable and an output, but TensorFlow has no C++ gradient for "
                + op.op().type()
                + "; the signature cannot be differentiated");
      }
    }
  }

  /**
   * Whether a gradient can flow through {@code output}: floating-point and resource tensors carry
   * one; integer, boolean and string tensors do not.
   */
  static boolean carriesGradient(Output<?> output) {
    DataType type = output.dataType();
    return FloatingTypes.isFloating(type) || type == DataType.DT_RESOURCE;
  }

  private static String key(Output<?> output) {
    return output.op().name() + ":" + output.index();
  }
}
