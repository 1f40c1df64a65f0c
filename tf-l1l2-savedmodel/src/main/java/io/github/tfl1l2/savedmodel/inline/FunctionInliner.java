package io.github.tfl1l2.savedmodel.inline;

import io.github.tfl1l2.savedmodel.SavedModelException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.tensorflow.Graph;
import org.tensorflow.GraphOperation;
import org.tensorflow.GraphOperationBuilder;
import org.tensorflow.Output;
import org.tensorflow.TensorFlow;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.proto.AttrValue;
import org.tensorflow.proto.FunctionDef;
import org.tensorflow.proto.MetaGraphDef;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.OpDef;
import org.tensorflow.proto.OpDef.ArgDef;

/**
 * Copies the body of a graph function, called by a {@code (Stateful)PartitionedCall} node of a
 * loaded graph, into that graph as ordinary ops, so that {@code Graph.addGradients} reaches the
 * variable reads inside it.
 *
 * <p>Why inline at all: {@code addGradients} through a call node differentiates the call as one
 * {@code SymbolicGradient} op, which yields {@code DT_RESOURCE} gradients for the variable handles
 * that cannot run ("No attr named 'dtype' in NodeDef"). Op by op, TensorFlow's C++ gradient
 * registry applies, and a {@code ReadVariableOp}'s gradient passes through to its handle.
 *
 * <p>The rules, each for a reason:
 *
 * <ul>
 *   <li>Each body node becomes one op of the same type, built with {@code graph.opBuilder} under
 *       {@code prefix}: the body's node names stay readable in the graph, and a nested call's nodes
 *       get the call's name as one more level.
 *   <li>A reference {@code node:arg:index} names output {@code index} of the node's output argument
 *       {@code arg}. The op's {@link OpDef} (from the MetaGraphDef's {@code stripped_op_list}, else
 *       the process's registry) gives the order and length of the arguments, which the C API needs
 *       as one flat output index. A bare name is an argument of the function, taken by position
 *       from the call's inputs.
 *   <li>Input lists ({@code N}, {@code Tin}, … arguments) are added as lists: the C API matches
 *       inputs to the OpDef's arguments by how they were added.
 *   <li>Nested {@code PartitionedCall} and {@code StatefulPartitionedCall} nodes, and nodes whose
 *       op is a function of the library, are inlined recursively: a call inside the body would stop
 *       the gradient just as the outer one does.
 *   <li>Attributes are copied as {@link AttrValue}s, except those starting with {@code _}: they are
 *       TensorFlow's private annotations (shapes it inferred, auto-control-dependency markers, XLA
 *       scopes) and describe the function's nodes, not ops of this graph.
 *   <li>Control inputs are dropped. In a body traced by TF2 they order the variable reads before
 *       the function returns (automatic control dependencies); within one {@code Session.run} data
 *       edges suffice. A body that writes state, where the order would matter, is refused, unless a
 *       rewrite builds the write with its order ({@link TrainingStateWrites}, in training mode).
 *   <li>Devices are not copied: the session places the ops, as it places the loaded graph's.
 *   <li>A node that a {@link NodeRewrite} of the inliner's list applies to is built by that rewrite
 *       instead: a call of a Keras implementation pair inlines the generic one ({@link
 *       ImplementationSelection}); a loop that a variable reaches is unrolled when its trip count
 *       is known when the graph is built ({@link WhileUnrolling}), with its TensorList reads and
 *       writes at static indices turned into the element tensors ({@link TensorListElements});
 *       functional control flow that no variable reaches stays one node calling its functions
 *       ({@link ControlFlowAsCall}); other control flow that a variable reaches is refused.
 * </ul>
 *
 * <p>Not thread-safe; one instance inlines the calls of one signature.
 */
public final class FunctionInliner {
  /** The call ops whose function is inlined. */
  static final Set<String> CALL_OPS = Set.of("StatefulPartitionedCall", "PartitionedCall");

  /** One op the inliner built (named by its body node's path) and its data inputs. */
  public record InlinedOp(GraphOperation op, List<Output<?>> inputs) {}

  private final Graph graph;
  private final String source;
  private final Map<String, FunctionDef> library = new HashMap<>();
  private final Map<String, OpDef> opDefs = new HashMap<>();
  private final List<InlinedOp> inlined = new ArrayList<>();

  /**
   * The rewrites asked, in order, before a node is copied as one op. Each is one class of this
   * package; the first that applies builds the node.
   */
  private final List<NodeRewrite> rewrites;

  /** The small integer tensors known when the graph is built: loop bounds, counters, indices. */
  private final StaticValues values = new StaticValues();

  /** The TensorLists whose elements are known tensor by tensor. */
  private final TensorLists lists;

  /**
   * The tensors ({@code op:index}) that a variable's value reaches through floating-point or
   * resource tensors: those that may carry a gradient back to a variable.
   */
  private final Set<String> variableDependent = new HashSet<>();

  private Map<String, OpDef> registry;

  /**
   * @param graph the loaded graph of {@code metaGraph}, which gets the inlined ops
   * @param metaGraph the MetaGraphDef it was loaded from: the function library and the OpDefs
   * @param source how messages name the model and signature
   */
  public FunctionInliner(Graph graph, MetaGraphDef metaGraph, String source) {
    this(graph, metaGraph, source, List.of());
  }

  /**
   * An inliner that asks {@code first} before its own rewrites, e.g. to build the variable writes
   * that a training-mode call may make ({@link TrainingStateWrites}).
   *
   * @param graph the loaded graph of {@code metaGraph}, which gets the inlined ops
   * @param metaGraph the MetaGraphDef it was loaded from: the function library and the OpDefs
   * @param source how messages name the model and signature
   * @param first rewrites asked, in order, before the inliner's own
   */
  public FunctionInliner(
      Graph graph, MetaGraphDef metaGraph, String source, List<NodeRewrite> first) {
    List<NodeRewrite> all = new ArrayList<>(first);
    all.add(new ImplementationSelection());
    all.add(new WhileUnrolling());
    all.add(new TensorListElements());
    all.add(new ControlFlowAsCall());
    this.rewrites = List.copyOf(all);
    this.graph = graph;
    this.source = source;
    this.lists = new TensorLists(graph);
    for (FunctionDef function : metaGraph.getGraphDef().getLibrary().getFunctionList()) {
      library.put(function.getSignature().getName(), function);
    }
    for (OpDef op : metaGraph.getMetaInfoDef().getStrippedOpList().getOpList()) {
      opDefs.put(op.getName(), op);
    }
  }

  /**
   * Whether {@code node} calls a function that {@link #inlineCall} inlines.
   *
   * @param node a node of the graph's GraphDef or of a function body
   * @return true for a {@code (Stateful)PartitionedCall} or a node whose op is a library function
   */
  public boolean isCall(NodeDef node) {
    return CALL_OPS.contains(node.getOp()) || library.containsKey(node.getOp());
  }

  /**
   * Inlines the function that {@code call} (a node of the graph's GraphDef) calls, on the graph
   * tensors {@code arguments} (the call's data inputs, in order).
   *
   * @param call the call node
   * @param arguments the graph tensors of its data inputs, in order
   * @param prefix the name prefix of the inlined ops, ending with {@code /}
   * @return the function's outputs, in the order of its output arguments
   * @throws SavedModelException naming the node that cannot be inlined
   */
  public List<Output<?>> inlineCall(NodeDef call, List<Output<?>> arguments, String prefix) {
    return inline(callee(call, call.getName()), arguments, prefix + call.getName() + "/");
  }

  /**
   * Inlines function {@code name} of the graph's library on the graph tensors {@code arguments}: a
   * function that no node of the graph calls, such as a Keras layer's training-mode trace.
   *
   * @param name the name of a function of the library
   * @param arguments the graph tensors it takes, one per input argument, in order
   * @param prefix the name prefix of the inlined ops, ending with {@code /}
   * @return the function's outputs, in the order of its output arguments
   * @throws SavedModelException if the library has no such function, or naming the node that cannot
   *     be inlined
   */
  public List<Output<?>> inlineFunction(String name, List<Output<?>> arguments, String prefix) {
    FunctionDef function = library.get(name);
    if (function == null) {
      throw refused(prefix, "calls function \"" + name + "\", which the graph's library lacks");
    }
    return inline(function, arguments, prefix);
  }

  /**
   * Every op built so far, in the order built (inputs before their consumers).
   *
   * @return a copy of the list of inlined ops with their data inputs
   */
  public List<InlinedOp> inlined() {
    return List.copyOf(inlined);
  }

  /**
   * Inlines {@code function} on the graph tensors {@code arguments}, its ops named under {@code
   * prefix}; for rewrites that inline a function more than once (a loop's body) or another function
   * than the node names.
   */
  List<Output<?>> inline(FunctionDef function, List<Output<?>> arguments, String prefix) {
    String name = function.getSignature().getName();
    List<ArgDef> inputArgs = function.getSignature().getInputArgList();
    if (inputArgs.size() != arguments.size()) {
      throw refused(
          prefix,
          "function "
              + name
              + " takes "
              + inputArgs.size()
              + " arguments but the call passes "
              + arguments.size());
    }
    Map<String, Output<?>> args = new HashMap<>();
    for (int i = 0; i < inputArgs.size(); i++) {
      args.put(inputArgs.get(i).getName(), arguments.get(i));
    }
    Map<String, Output<?>[]> nodes = new HashMap<>();
    Map<String, Map<String, Integer>> offsets = new HashMap<>();
    for (NodeDef node : topologicalOrder(function, prefix)) {
      String path = prefix + node.getName();
      List<Output<?>> inputs = new ArrayList<>();
      for (String input : node.getInputList()) {
        if (!input.startsWith("^")) {
          inputs.add(resolve(input, args, nodes, offsets, path));
        }
      }
      NodeRewrite rewrite = rewriteFor(node, inputs);
      if (rewrite == null) {
        // Asked after the rewrites: one of them may build a write whose order it keeps.
        if (ResourceWrites.writes(node.getOp())) {
          throw refused(
              path,
              "writes a resource ("
                  + node.getOp()
                  + "); the inlined body drops"
                  + " control dependencies, so its order to the reads would be lost");
        }
      }
      if (rewrite != null) {
        List<Output<?>> outputs = rewrite.rewrite(node, inputs, path, this);
        nodes.put(node.getName(), outputs.toArray(new Output<?>[0]));
        offsets.put(node.getName(), outputOffsets(node, opDef(node.getOp(), path), path));
      } else if (isCall(node)) {
        FunctionDef callee = callee(node, path);
        List<Output<?>> outputs = inline(callee, inputs, path + "/");
        nodes.put(node.getName(), outputs.toArray(new Output<?>[0]));
        offsets.put(node.getName(), callOffsets(node, callee));
      } else {
        GraphOperation op = copy(node, inputs, path);
        Output<?>[] outputs = new Output<?>[op.numOutputs()];
        for (int i = 0; i < outputs.length; i++) {
          outputs[i] = op.output(i);
        }
        nodes.put(node.getName(), outputs);
        offsets.put(node.getName(), outputOffsets(node, opDef(node.getOp(), path), path));
      }
    }
    List<Output<?>> results = new ArrayList<>();
    for (ArgDef output : function.getSignature().getOutputArgList()) {
      String ret = function.getRetMap().get(output.getName());
      if (ret == null) {
        throw refused(
            prefix, "function " + name + " has no return value for its output " + output.getName());
      }
      results.add(resolve(ret, args, nodes, offsets, prefix + "(return " + output.getName() + ")"));
    }
    return results;
  }

  /** The first rewrite that applies to {@code node}, or null to copy it as one op. */
  private NodeRewrite rewriteFor(NodeDef node, List<Output<?>> inputs) {
    for (NodeRewrite rewrite : rewrites) {
      if (rewrite.applies(node, inputs, this)) {
        return rewrite;
      }
    }
    return null;
  }

  /**
   * Copies {@code node} into the graph as one op of the same type and attributes, on {@code
   * inputs}, and records it among the {@link #inlined()} ops.
   *
   * @param node a function-body node that is no call to inline
   * @param inputs the graph tensors of its data inputs, in order
   * @param path the op's name in the graph
   * @return the op built
   * @throws SavedModelException naming the node if its op is unknown or the copy is refused
   */
  public GraphOperation copy(NodeDef node, List<Output<?>> inputs, String path) {
    return copy(node, inputs, path, List.of());
  }

  /**
   * Copies {@code node} as {@link #copy(NodeDef, List, String)} does, with control inputs on {@code
   * after}: for a node whose order to other ops must be kept.
   *
   * @param node a function-body node that is no call to inline
   * @param inputs the graph tensors of its data inputs, in order
   * @param path the op's name in the graph
   * @param after ops of the graph that must run before it
   * @return the op built
   * @throws SavedModelException naming the node if its op is unknown or the copy is refused
   */
  public GraphOperation copy(
      NodeDef node, List<Output<?>> inputs, String path, List<GraphOperation> after) {
    GraphOperation op = build(node, opDef(node.getOp(), path), inputs, after, path);
    adopt(op, inputs);
    if (op.numOutputs() == 1) {
      List<StaticValues.Value> inputValues = new ArrayList<>();
      List<Shape> inputShapes = new ArrayList<>();
      for (Output<?> input : inputs) {
        inputValues.add(values.of(input));
        inputShapes.add(node.getOp().equals("Shape") ? input.shape() : null);
      }
      values.record(
          op.output(0),
          StaticValues.evaluate(node.getOp(), node.getAttrMap(), inputValues, inputShapes));
    }
    return op;
  }

  /**
   * Records {@code op}, built by a rewrite on {@code inputs}, among the {@link #inlined()} ops, so
   * that {@link GradientCoverage} and {@link #reachedByVariable} follow paths through it.
   *
   * @param op an op of the inliner's graph that a rewrite built
   * @param inputs its data inputs, in order
   */
  public void adopt(GraphOperation op, List<Output<?>> inputs) {
    inlined.add(new InlinedOp(op, List.copyOf(inputs)));
    if (reachedByVariable(inputs)) {
      for (int i = 0; i < op.numOutputs(); i++) {
        if (GradientCoverage.carriesGradient(op.output(i))) {
          variableDependent.add(key(op.output(i)));
        }
      }
    }
  }

  /** The values of the inlined tensors that are known when the graph is built. */
  StaticValues values() {
    return values;
  }

  /** The lists whose elements are known tensor by tensor. */
  TensorLists lists() {
    return lists;
  }

  /** The functions of the graph's library. */
  Collection<FunctionDef> functions() {
    return library.values();
  }

  /**
   * The function {@code name} of the graph's library.
   *
   * @throws SavedModelException naming {@code path} if the library lacks it
   */
  FunctionDef function(String name, String path) {
    FunctionDef function = library.get(name);
    if (function == null) {
      throw refused(path, "calls function \"" + name + "\", which the graph's library lacks");
    }
    return function;
  }

  /**
   * Whether a variable's value reaches any of {@code tensors}: one is a variable handle, or was
   * computed by an inlined op from such a tensor through floating-point or resource tensors.
   *
   * @param tensors graph tensors, e.g. a node's inputs
   * @return true if a gradient could flow from one of them back to a variable
   */
  public boolean reachedByVariable(List<Output<?>> tensors) {
    for (Output<?> tensor : tensors) {
      String type = tensor.op().type();
      if (type.equals("VarHandleOp")
          || type.equals("VariableV2")
          || variableDependent.contains(key(tensor))) {
        return true;
      }
    }
    return false;
  }

  private static String key(Output<?> tensor) {
    return tensor.op().name() + ":" + tensor.index();
  }

  private GraphOperation build(
      NodeDef node, OpDef opDef, List<Output<?>> inputs, List<GraphOperation> after, String path) {
    GraphOperationBuilder builder = graph.opBuilder(node.getOp(), path, graph.baseScope());
    after.forEach(builder::addControlInput);
    int next = 0;
    for (ArgDef arg : opDef.getInputArgList()) {
      if (isList(arg)) {
        int length = listLength(node, opDef, arg, path);
        if (next + length > inputs.size()) {
          throw refused(
              path, "has " + inputs.size() + " inputs, too few for its op " + node.getOp());
        }
        builder.addInputList(inputs.subList(next, next + length).toArray(new Output<?>[0]));
        next += length;
      } else {
        if (next >= inputs.size()) {
          throw refused(
              path, "has " + inputs.size() + " inputs, too few for its op " + node.getOp());
        }
        builder.addInput(inputs.get(next++));
      }
    }
    if (next != inputs.size()) {
      throw refused(
          path, "has " + inputs.size() + " inputs; its op " + node.getOp() + " takes " + next);
    }
    for (Map.Entry<String, AttrValue> attr : node.getAttrMap().entrySet()) {
      if (attr.getKey().startsWith("_")) {
        continue;
      }
      if (!attr.getValue().getPlaceholder().isEmpty()) {
        throw refused(
            path,
            "has attribute "
                + attr.getKey()
                + " bound to the function's own"
                + " attribute $"
                + attr.getValue().getPlaceholder()
                + " (a polymorphic function)");
      }
      builder.setAttr(attr.getKey(), attr.getValue());
    }
    try {
      return builder.build();
    } catch (RuntimeException e) {
      throw new SavedModelException(
          source
              + ": node "
              + path
              + " ("
              + node.getOp()
              + ") cannot be added to the graph: "
              + SavedModelException.firstLine(e),
          e);
    }
  }

  /**
   * The tensor that {@code reference} names: a function argument ({@code x}), or output {@code i}
   * of an output argument of an earlier node ({@code node:arg:i}).
   */
  private Output<?> resolve(
      String reference,
      Map<String, Output<?>> args,
      Map<String, Output<?>[]> nodes,
      Map<String, Map<String, Integer>> offsets,
      String path) {
    String[] parts = reference.split(":");
    if (parts.length == 1) {
      Output<?> arg = args.get(reference);
      if (arg == null) {
        throw refused(path, "refers to " + reference + ", which is no argument of its function");
      }
      return arg;
    }
    if (parts.length != 3) {
      throw refused(path, "refers to " + reference + ", which is not of the form node:arg:index");
    }
    Output<?>[] outputs = nodes.get(parts[0]);
    Integer offset = offsets.getOrDefault(parts[0], Map.of()).get(parts[1]);
    int index;
    try {
      index = Integer.parseInt(parts[2]);
    } catch (NumberFormatException e) {
      index = -1;
    }
    if (outputs == null || offset == null || index < 0 || offset + index >= outputs.length) {
      throw refused(path, "refers to " + reference + ", which names no output of its function");
    }
    return outputs[offset + index];
  }

  /** The flat index at which each output argument of {@code opDef} starts on {@code node}. */
  private Map<String, Integer> outputOffsets(NodeDef node, OpDef opDef, String path) {
    Map<String, Integer> offsets = new HashMap<>();
    int offset = 0;
    for (ArgDef arg : opDef.getOutputArgList()) {
      offsets.put(arg.getName(), offset);
      offset += isList(arg) ? listLength(node, opDef, arg, path) : 1;
    }
    return offsets;
  }

  /**
   * A call op has one output list, {@code output}; a node whose op is a function names the
   * function's output arguments, one tensor each.
   */
  private static Map<String, Integer> callOffsets(NodeDef node, FunctionDef callee) {
    Map<String, Integer> offsets = new HashMap<>();
    if (CALL_OPS.contains(node.getOp())) {
      offsets.put("output", 0);
    } else {
      List<ArgDef> outputs = callee.getSignature().getOutputArgList();
      for (int i = 0; i < outputs.size(); i++) {
        offsets.put(outputs.get(i).getName(), i);
      }
    }
    return offsets;
  }

  private static boolean isList(ArgDef arg) {
    return !arg.getNumberAttr().isEmpty() || !arg.getTypeListAttr().isEmpty();
  }

  /** How many tensors a list argument holds on {@code node}: its {@code N} or type list. */
  private int listLength(NodeDef node, OpDef opDef, ArgDef arg, String path) {
    String attr = arg.getNumberAttr().isEmpty() ? arg.getTypeListAttr() : arg.getNumberAttr();
    AttrValue value = node.getAttrMap().get(attr);
    if (value == null) {
      // Attributes equal to their default are stripped from the saved graph.
      for (OpDef.AttrDef def : opDef.getAttrList()) {
        if (def.getName().equals(attr) && def.hasDefaultValue()) {
          value = def.getDefaultValue();
        }
      }
    }
    if (value == null) {
      throw refused(
          path, "lacks attribute " + attr + ", the length of its argument " + arg.getName());
    }
    return arg.getNumberAttr().isEmpty()
        ? value.getList().getTypeCount()
        : Math.toIntExact(value.getI());
  }

  private FunctionDef callee(NodeDef node, String path) {
    String name =
        CALL_OPS.contains(node.getOp())
            ? node.getAttrOrDefault("f", AttrValue.getDefaultInstance()).getFunc().getName()
            : node.getOp();
    return function(name, path);
  }

  /**
   * The OpDef of {@code op}: from the MetaGraphDef, which lists every op its graph and functions
   * use, else from this process's registry (read once, only when needed: it holds ~1500 ops).
   */
  private OpDef opDef(String op, String path) {
    OpDef def = opDefs.get(op);
    if (def == null) {
      if (registry == null) {
        registry = new HashMap<>();
        for (OpDef registered : TensorFlow.registeredOpList().getOpList()) {
          registry.put(registered.getName(), registered);
        }
      }
      def = registry.get(op);
    }
    if (def == null) {
      throw refused(
          path,
          "has op "
              + op
              + ", which is neither listed in the MetaGraphDef nor"
              + " registered in this TensorFlow");
    }
    return def;
  }

  /**
   * The body's nodes, each after the nodes whose outputs it reads. A FunctionDef lists its nodes in
   * any order; ties keep the listed order, so that the inlined graph is the same every time.
   */
  private List<NodeDef> topologicalOrder(FunctionDef function, String prefix) {
    Map<String, NodeDef> byName = new HashMap<>();
    for (NodeDef node : function.getNodeDefList()) {
      byName.put(node.getName(), node);
    }
    Map<String, Integer> waiting = new HashMap<>();
    Map<String, List<String>> dependents = new HashMap<>();
    for (NodeDef node : function.getNodeDefList()) {
      Set<String> producers = new LinkedHashSet<>();
      for (String input : node.getInputList()) {
        int colon = input.indexOf(':');
        if (!input.startsWith("^") && colon > 0 && byName.containsKey(input.substring(0, colon))) {
          producers.add(input.substring(0, colon));
        }
      }
      waiting.put(node.getName(), producers.size());
      for (String producer : producers) {
        dependents.computeIfAbsent(producer, k -> new ArrayList<>()).add(node.getName());
      }
    }
    Deque<String> ready = new ArrayDeque<>();
    for (NodeDef node : function.getNodeDefList()) {
      if (waiting.get(node.getName()) == 0) {
        ready.add(node.getName());
      }
    }
    List<NodeDef> order = new ArrayList<>();
    while (!ready.isEmpty()) {
      String name = ready.poll();
      order.add(byName.get(name));
      for (String dependent : dependents.getOrDefault(name, List.of())) {
        if (waiting.merge(dependent, -1, Integer::sum) == 0) {
          ready.add(dependent);
        }
      }
    }
    if (order.size() != function.getNodeDefCount()) {
      throw refused(
          prefix, "function " + function.getSignature().getName() + " has a cycle among its nodes");
    }
    return order;
  }

  /**
   * The refusal of a node, in the one message form of the inliner.
   *
   * @param path the node's name in the graph
   * @param why what is wrong with it, completing "node PATH ..."
   * @return the exception to throw, naming the model, signature and node
   */
  public SavedModelException refused(String path, String why) {
    return new SavedModelException(source + ": node " + path + " " + why);
  }
}
