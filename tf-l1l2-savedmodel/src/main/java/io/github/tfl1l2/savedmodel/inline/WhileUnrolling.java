package io.github.tfl1l2.savedmodel.inline;

import io.github.tfl1l2.savedmodel.SavedModelException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.tensorflow.Output;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.proto.AttrValue;
import org.tensorflow.proto.FunctionDef;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.OpDef.ArgDef;

/**
 * Unrolls a {@code While} or {@code StatelessWhile} loop whose trip count is known when the graph
 * is built: its body function is inlined once per iteration, each copy reading the loop variables
 * the previous one computed, so that the loop becomes ordinary ops that TensorFlow's C++ gradient
 * registry differentiates (it has no gradient for the loop ops themselves).
 *
 * <p>The trip count comes from running the condition function on the loop variables' static values
 * ({@link StaticValues}) before each iteration: Keras's recurrent layers loop while {@code time <
 * timesteps} (and {@code loop_counter < maximum_iterations}), with {@code timesteps} the static
 * length of the input's time axis. A condition that does not evaluate to a constant (a time axis of
 * unknown length, a bound read from the data) is refused, naming the loop and the loop variable it
 * depends on: nothing is truncated or guessed.
 */
final class WhileUnrolling implements NodeRewrite {
  /** Ops this rewrite replaces. */
  static final Set<String> OPS = Set.of("While", "StatelessWhile");

  /** More iterations than this are refused: the unrolled graph would not fit in memory anyway. */
  static final int MAX_ITERATIONS = 100_000;

  /**
   * A loop that a variable's value reaches (directly, or through the elements of a list it reads);
   * one that no variable reaches is left to {@link ControlFlowAsCall}, which keeps it as one node.
   */
  @Override
  public boolean applies(NodeDef node, List<Output<?>> inputs, FunctionInliner inliner) {
    if (!OPS.contains(node.getOp())) {
      return false;
    }
    if (inliner.reachedByVariable(inputs)) {
      return true;
    }
    for (Output<?> input : inputs) {
      if (inliner.lists().isKnown(input)
          && inliner.reachedByVariable(inliner.lists().elements(input))) {
        return true;
      }
    }
    return false;
  }

  /**
   * The loop's outputs, computed by unrolled copies of its body, each iteration's ops named {@code
   * path/iteration_k/…}.
   *
   * @throws SavedModelException if its trip count is not known when the graph is built, or exceeds
   *     {@link #MAX_ITERATIONS}
   */
  @Override
  public List<Output<?>> rewrite(
      NodeDef node, List<Output<?>> inputs, String path, FunctionInliner inliner) {
    FunctionDef cond = inliner.function(functionAttr(node, "cond", path, inliner), path);
    FunctionDef body = inliner.function(functionAttr(node, "body", path, inliner), path);
    List<Output<?>> variables = inputs;
    for (int iteration = 0; ; iteration++) {
      StaticValues.Value go = evaluate(cond, variables, inliner.values());
      Long decided = go == null || !go.isScalar() ? null : go.single();
      if (decided == null) {
        throw inliner.refused(
            path,
            "("
                + node.getOp()
                + ") cannot be unrolled: its trip count is not known when the graph is built ("
                + dependence(cond, node, variables, inliner.values(), iteration)
                + "); only loops bounded by constants and static shapes can be differentiated,"
                + " e.g. a recurrent layer over an input whose number of timesteps is fixed");
      }
      if (decided == 0) {
        return variables;
      }
      if (iteration == MAX_ITERATIONS) {
        throw inliner.refused(
            path,
            "("
                + node.getOp()
                + ") runs more than "
                + MAX_ITERATIONS
                + " iterations, too many to unroll");
      }
      variables = inliner.inline(body, variables, path + "/iteration_" + iteration + "/");
    }
  }

  private static String functionAttr(
      NodeDef node, String attr, String path, FunctionInliner inliner) {
    AttrValue value = node.getAttrMap().get(attr);
    if (value == null || !value.hasFunc()) {
      throw inliner.refused(path, "(" + node.getOp() + ") has no function attribute " + attr);
    }
    return value.getFunc().getName();
  }

  /**
   * The condition's value on the loop variables' static values: the function's nodes evaluated in
   * order, null if its result is not known.
   */
  private static StaticValues.Value evaluate(
      FunctionDef cond, List<Output<?>> variables, StaticValues values) {
    Map<String, StaticValues.Value> known = new HashMap<>();
    Map<String, Shape> shapes = new HashMap<>();
    List<ArgDef> args = cond.getSignature().getInputArgList();
    if (args.size() != variables.size() || cond.getSignature().getOutputArgCount() != 1) {
      return null;
    }
    for (int i = 0; i < args.size(); i++) {
      StaticValues.Value value = values.of(variables.get(i));
      if (value != null) {
        known.put(args.get(i).getName(), value);
      }
      shapes.put(args.get(i).getName(), variables.get(i).shape());
    }
    // The condition is a handful of nodes listed in order; a node read before it is evaluated
    // simply stays unknown, which can only make the result unknown, never wrong.
    for (int pass = 0; pass < 2; pass++) {
      for (NodeDef node : cond.getNodeDefList()) {
        List<StaticValues.Value> inputs = new ArrayList<>();
        List<Shape> inputShapes = new ArrayList<>();
        for (String input : node.getInputList()) {
          if (!input.startsWith("^")) {
            inputs.add(known.get(firstOutput(input)));
            inputShapes.add(shapes.get(input));
          }
        }
        StaticValues.Value value =
            StaticValues.evaluate(node.getOp(), node.getAttrMap(), inputs, inputShapes);
        if (value != null) {
          known.put(node.getName(), value);
        }
      }
    }
    String ret = cond.getRetMap().get(cond.getSignature().getOutputArg(0).getName());
    return ret == null ? null : known.get(firstOutput(ret));
  }

  /** {@code node} for {@code node:arg:0} and for a bare argument name; null for other outputs. */
  private static String firstOutput(String reference) {
    String[] parts = reference.split(":");
    if (parts.length == 1) {
      return reference;
    }
    return parts.length == 3 && parts[2].equals("0") ? parts[0] : "(" + reference + ")";
  }

  /** Which loop variables of unknown value the condition reads, for the refusal. */
  private static String dependence(
      FunctionDef cond,
      NodeDef node,
      List<Output<?>> variables,
      StaticValues values,
      int iteration) {
    List<ArgDef> args = cond.getSignature().getInputArgList();
    Map<String, Integer> argIndex = new HashMap<>();
    for (int i = 0; i < args.size(); i++) {
      argIndex.put(args.get(i).getName(), i);
    }
    Map<String, NodeDef> byName = new HashMap<>();
    cond.getNodeDefList().forEach(n -> byName.put(n.getName(), n));
    Set<Integer> unknown = new LinkedHashSet<>();
    List<String> pending = new ArrayList<>(cond.getRetMap().values());
    Set<String> seen = new java.util.HashSet<>();
    while (!pending.isEmpty()) {
      String name = pending.remove(pending.size() - 1).split(":")[0];
      if (!seen.add(name)) {
        continue;
      }
      Integer arg = argIndex.get(name);
      if (arg != null) {
        if (arg < variables.size() && values.of(variables.get(arg)) == null) {
          unknown.add(arg);
        }
      } else if (byName.containsKey(name)) {
        for (String input : byName.get(name).getInputList()) {
          if (!input.startsWith("^")) {
            pending.add(input);
          }
        }
      }
    }
    String condName = cond.getSignature().getName();
    if (unknown.isEmpty()) {
      return "its condition " + condName + " uses ops that cannot be evaluated before running";
    }
    List<String> named = new ArrayList<>();
    for (int arg : unknown) {
      String initial =
          arg < node.getInputCount() ? node.getInput(arg) : variables.get(arg).op().name();
      named.add("loop variable " + arg + " (initially " + initial + ")");
    }
    return "its condition "
        + condName
        + " reads "
        + String.join(", ", named)
        + (iteration == 0 ? "" : " after iteration " + (iteration - 1))
        + ", whose value is known only when the graph runs";
  }
}
