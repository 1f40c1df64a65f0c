package io.github.tfl1l2.internal;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import org.tensorflow.Graph;
import org.tensorflow.GraphOperation;
import org.tensorflow.Operand;
import org.tensorflow.Operation;
import org.tensorflow.Output;
import org.tensorflow.framework.optimizers.Optimizer;
import org.tensorflow.framework.optimizers.Optimizer.GradAndVar;
import org.tensorflow.internal.types.registry.TensorTypeRegistry;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.Scope;
import org.tensorflow.op.core.Constant;
import org.tensorflow.op.core.Zeros;
import org.tensorflow.op.math.AddN;
import org.tensorflow.proto.DataType;
import org.tensorflow.types.family.TType;

/**
 * The data loss's gradient with respect to each variable it reaches: the one rule by which this
 * library's training steps ({@code L1L2.minimize} and the proximal optimizers of {@code
 * io.github.tfl1l2.optimizers}) find variables and take their data gradients.
 *
 * <p>A variable is either a ref variable, output 0 of a {@code VariableV2} (what {@code
 * tf.variable} builds and the framework's optimizers train), or a resource variable, output 0 of a
 * {@code VarHandleOp} (what TF2 and Keras graphs hold; its value is read through {@code
 * ReadVariableOp}s of the handle, or rows of it through {@code ResourceGather}s). The gradient of a
 * ref variable is {@code ∂loss/∂v}; that of a resource variable is the sum ({@code AddN}, in the
 * variable's dtype) of {@code ∂loss/∂r} over every {@code ReadVariableOp} {@code r} of its handle
 * that the loss reaches, since each read is a separate use of the same value.
 *
 * <p>TensorFlow has no gradient for {@code ResourceGather} (its input is a handle), so a row read,
 * {@code ResourceGather(handle, indices)} with {@code batch_dims} 0, or {@code GatherV2(read,
 * indices, axis 0)} of a {@code ReadVariableOp} whose every reached consumer is such a gather, is
 * differentiated at its output instead: {@code ∂loss/∂rows} paired with {@code indices} is the
 * read's gradient, row-sparse ({@link VariableGradient}). A variable read only by row reads has a
 * row-sparse gradient; one with dense reads too has the dense sum ({@link #gradients}).
 *
 * <p>The framework's {@code Optimizer.computeGradients} asks {@code Graph.addGradients} for every
 * {@code VariableV2} of the graph, and TensorFlow rejects the whole call when the loss does not
 * reach one of them ("Cannot compute the partial derivative for node … as it's unreachable"). So
 * the variables (or reads) from which the loss is reached along data edges are found first, and
 * only those are asked for, in one {@code Graph.addGradients} call. A variable or read the loss
 * reaches only through {@code StopGradient} has no gradient and counts as not reached.
 *
 * <p>Not API: public only because the optimizers live in another package than {@code L1L2}, and
 * both must follow the same rule; applications train through those classes and need not call it.
 */
public final class DataGradients {
  private static final String VAR_HANDLE_OP = "VarHandleOp";
  private static final String READ_VARIABLE_OP = "ReadVariableOp";

  /**
   * Marks the read that a fused resource update makes of its own variable, inside its XLA cluster,
   * so that no later update waits for it ({@link #readsToOrderBefore}).
   */
  public static final String UPDATE_READ_ATTR = "_tfl1l2_update_read";

  /** {@code XlaScope.XLA_COMPILE_ATTR}, named here because this package does not depend on xla. */
  private static final String XLA_COMPILE_ATTR = "_XlaCompile";

  private DataGradients() {}

  /**
   * One (gradient, variable) pair for each of {@code variables}, in their order: the data gradient
   * (see the class comment) when {@code loss} reaches {@code v}; otherwise, when {@code
   * zeroWhenUnreached} accepts {@code v}, a zero gradient of {@code v}'s shape and dtype ({@code
   * Fill}; for a resource variable, from its {@code VarHandleOp}'s {@code shape} and {@code dtype}
   * attributes), built on {@code v}'s device so that it never crosses devices or tasks; otherwise
   * no pair. The gradients have the variables' (base) dtypes.
   *
   * @param scope where the zero gradients and the sums over reads are built (their names; their
   *     device is the variable's)
   * @param loss the floating data loss, in a {@link Graph}
   * @param variables {@code VariableV2} or {@code VarHandleOp} outputs of the loss's graph, each of
   *     a fully known shape where a zero gradient is built for it
   * @param zeroWhenUnreached which unreached variables still get a (zero) gradient
   * @return the pairs, ready for {@code Optimizer.applyGradients} (ref variables) or a resource
   *     kernel (resource variables)
   * @throws NullPointerException if an argument or a variable is null
   * @throws IllegalArgumentException if {@code loss} is not in a graph, a variable is not the
   *     output of a {@code VariableV2} or {@code VarHandleOp} of that graph, or a zero gradient is
   *     asked for a variable whose shape is not fully known
   */
  public static List<GradAndVar<?>> of(
      Scope scope,
      Operand<?> loss,
      List<? extends Output<?>> variables,
      Predicate<? super Output<?>> zeroWhenUnreached) {
    Checks.notNull("scope", scope);
    Checks.notNull("zeroWhenUnreached", zeroWhenUnreached);
    Map<Output<?>, Output<?>> gradients = reached(scope, loss, variables);
    List<GradAndVar<?>> pairs = new ArrayList<>();
    for (Output<?> variable : variables) {
      Output<?> gradient = gradients.get(variable);
      if (gradient != null) {
        pairs.add(pair(gradient, variable));
      } else if (zeroWhenUnreached.test(variable)) {
        pairs.add(pair(zerosBeside(scope, variable), variable));
      }
    }
    return pairs;
  }

  /**
   * Whether {@code output} is a variable in this library's sense: output 0 of a graph {@code
   * VariableV2} (ref variable) or {@code VarHandleOp} (resource variable).
   *
   * @param output any output; not null
   * @return true when {@code output} is output 0 of a graph {@code VariableV2} or {@code
   *     VarHandleOp}, false otherwise (eager outputs included)
   */
  public static boolean isVariable(Output<?> output) {
    return output.index() == 0
        && output.op() instanceof GraphOperation op
        && (op.type().equals(Optimizer.VARIABLE_V2) || op.type().equals(VAR_HANDLE_OP));
  }

  /**
   * Whether {@code variable} is a resource variable: output 0 of a {@code VarHandleOp}.
   *
   * @param variable any output; not null
   * @return true for output 0 of a graph {@code VarHandleOp}; false otherwise, for a ref variable
   *     too
   */
  public static boolean isResource(Output<?> variable) {
    return variable.index() == 0
        && variable.op() instanceof GraphOperation op
        && op.type().equals(VAR_HANDLE_OP);
  }

  /**
   * Every variable of {@code graph}, ref ({@code VariableV2}) and resource ({@code VarHandleOp})
   * alike, in the graph's op order.
   *
   * @param graph the graph to list
   * @return a new mutable list of output 0 of each {@code VariableV2} and {@code VarHandleOp};
   *     empty when the graph has none
   * @throws NullPointerException if {@code graph} is null
   */
  public static List<Output<?>> variablesOf(Graph graph) {
    Checks.notNull("graph", graph);
    List<Output<?>> variables = new ArrayList<>();
    for (Iterator<GraphOperation> it = graph.operations(); it.hasNext(); ) {
      Output<?> output = firstOutput(it.next());
      if (output != null && isVariable(output)) {
        variables.add(output);
      }
    }
    return variables;
  }

  /**
   * The variable that a user-given weight is or reads: {@code weight} itself when it is a variable;
   * the variable at the end of its chain of {@code Identity} and {@code ReadVariableOp} reads
   * otherwise. So a ref variable may be given as the {@code VariableV2} output or an {@code
   * Identity} read of it, and a resource variable as the {@code VarHandleOp} output or a {@code
   * ReadVariableOp} read of it; {@code L1L2.on(regex)} names either by the variable's op name.
   *
   * @param argument the argument's name, for messages (e.g. {@code "variables"})
   * @param index the weight's index in that argument, for messages
   * @param weight the weight as the user gave it
   * @param graph the graph the variable must belong to
   * @return the variable's output: output 0 of a {@code VariableV2} or {@code VarHandleOp}
   * @throws NullPointerException if {@code weight} is null (the message names {@code
   *     argument[index]})
   * @throws IllegalArgumentException if {@code weight} belongs to another environment than {@code
   *     graph}, or neither is nor reads a variable
   */
  public static Output<?> variableOf(String argument, int index, Operand<?> weight, Graph graph) {
    Checks.notNull("argument", argument);
    Checks.notNull("graph", graph);
    Checks.notNull(argument + "[" + index + "]", weight);
    if (weight.env() != graph) {
      throw new IllegalArgumentException(
          argument
              + "["
              + index
              + "] (op \""
              + weight.op().name()
              + "\") belongs to another execution environment than the loss's graph");
    }
    Output<?> source = ReadChain.sourceOf(weight);
    if (!isVariable(source)) {
      throw new IllegalArgumentException(
          argument
              + "["
              + index
              + "] (op \""
              + weight.op().name()
              + "\", a "
              + weight.op().type()
              + (source.op() == weight.op() ? "" : ", reading a " + source.op().type())
              + ") is not a variable; allowed are a VariableV2 or VarHandleOp output, or an"
              + " Identity or ReadVariableOp read of one");
    }
    return source;
  }

  /**
   * The base dtype of {@code variable}'s value: a {@code VariableV2}'s output dtype with the
   * reference flag stripped, or a {@code VarHandleOp}'s {@code dtype} attribute.
   *
   * @param variable a variable ({@link #isVariable}); not null
   * @return its value's dtype, never a reference dtype: e.g. {@code DT_FLOAT} for a {@code
   *     DT_FLOAT_REF} output or a {@code VarHandleOp} with {@code dtype=DT_FLOAT}
   */
  public static DataType dtypeOf(Output<?> variable) {
    if (isResource(variable)) {
      return ((GraphOperation) variable.op()).attributes().getAttrType("dtype");
    }
    return FloatingTypes.baseOf(variable.dataType());
  }

  /**
   * The shape of {@code variable}'s value: a {@code VariableV2}'s output shape, or a {@code
   * VarHandleOp}'s {@code shape} attribute (its output is a scalar handle).
   *
   * @param variable a variable ({@link #isVariable}); not null
   * @return its value's shape, which may have an unknown rank or unknown dimensions
   */
  public static Shape shapeOf(Output<?> variable) {
    if (isResource(variable)) {
      return ((GraphOperation) variable.op()).attributes().getAttrShape("shape");
    }
    return variable.shape();
  }

  /**
   * {@link #shapeOf} of {@code variable}, which must be fully known because {@code what} (a zero
   * gradient, a slot) is built in its shape.
   *
   * @param variable a variable ({@link #isVariable}); not null
   * @param what what needs the shape, for the message, e.g. {@code "a zero gradient"}
   * @return its value's shape, of known rank and dimensions
   * @throws IllegalArgumentException naming the variable, its shape and {@code what}, if a rank or
   *     dimension is unknown
   */
  public static Shape fullyKnownShapeOf(Output<?> variable, String what) {
    Shape shape = shapeOf(variable);
    if (shape.isUnknown() || shape.hasUnknownDimension()) {
      throw new IllegalArgumentException(
          "variable \""
              + variable.op().name()
              + "\" has shape "
              + shape
              + "; "
              + what
              + " needs a fully known shape");
    }
    return shape;
  }

  /**
   * {@code scope} pinned to {@code variable}'s device (that of its op, or of the variable behind an
   * unpinned read chain), so that every op built through it, and through scopes derived from it,
   * runs beside the variable; {@code scope} itself when the variable is not pinned.
   *
   * @param scope any scope, including one from TensorFlow's gradient machinery
   * @param variable a variable, or an operand that reads one
   * @return a {@link PinnedScope} on the variable's device, or {@code scope}
   * @throws NullPointerException if {@code scope} or {@code variable} is null
   */
  public static Scope besideVariable(Scope scope, Output<?> variable) {
    Checks.notNull("scope", scope);
    Checks.notNull("variable", variable);
    return PinnedScope.on(scope, Devices.deviceOf(variable));
  }

  /**
   * The one rule for the reads a resource variable's update must follow, so that a read taken in
   * the same step (a metric's, the penalty's, one fetched beside the step) sees the value before
   * the update: every {@link #readsOf} read except those with control inputs of their own (an edge
   * from one would pull what it waits for, an initializer's assignment say, into every step), those
   * XLA-marked, and a fused update's own read ({@link #UPDATE_READ_ATTR}; an edge from either would
   * run that whole cluster). Resource kernels copy on write, so nothing else needs ordering.
   *
   * @param variable a variable ({@link #isVariable}); not null
   * @return a new mutable list of the reads' ops; empty for a ref variable
   */
  public static List<GraphOperation> readsToOrderBefore(Output<?> variable) {
    List<GraphOperation> reads = new ArrayList<>();
    for (GraphOperation read : readsOf(variable)) {
      if (read.numControlInputs() == 0
          && !isSetTrue(read, XLA_COMPILE_ATTR)
          && !isSetTrue(read, UPDATE_READ_ATTR)) {
        reads.add(read);
      }
    }
    return reads;
  }

  private static boolean isSetTrue(GraphOperation op, String attribute) {
    try {
      return op.attributes().getAttrBool(attribute);
    } catch (RuntimeException absent) {
      return false;
    }
  }

  /**
   * The reads of a resource variable's handle: its {@code ReadVariableOp}s (the whole value) and
   * {@code ResourceGather}s (rows), directly or through {@code Identity}s of the handle, in no
   * particular order; empty for a ref variable.
   *
   * @param variable a variable ({@link #isVariable}); not null
   * @return a new mutable list of the reads' ops, each once
   */
  public static List<GraphOperation> readsOf(Output<?> variable) {
    List<GraphOperation> reads = new ArrayList<>();
    if (!isResource(variable)) {
      return reads;
    }
    Deque<GraphOperation> handles = new ArrayDeque<>();
    Set<GraphOperation> seen = new HashSet<>();
    handles.add((GraphOperation) variable.op());
    while (!handles.isEmpty()) {
      GraphOperation handle = handles.pop();
      for (GraphOperation consumer : handle.consumers(0)) {
        if (consumer.type().equals(READ_VARIABLE_OP)
            || consumer.type().equals(RowReads.RESOURCE_GATHER)) {
          if (seen.add(consumer)) {
            reads.add(consumer);
          }
        } else if (consumer.type().equals("Identity") && seen.add(consumer)) {
          handles.add(consumer);
        }
      }
    }
    return reads;
  }

  /**
   * {@code ∂loss/∂v} for each of {@code variables} that {@code loss} reaches with a gradient, keyed
   * by the variable's output, in the order of {@code variables}; the sums over a resource
   * variable's reads are built in a root scope of the loss's graph.
   *
   * @param loss the floating data loss, in a {@link Graph}
   * @param variables {@code VariableV2} or {@code VarHandleOp} outputs of the loss's graph
   * @return as {@link #reached(Scope, Operand, List)} returns, with the same exceptions
   */
  public static Map<Output<?>, Output<?>> reached(
      Operand<?> loss, List<? extends Output<?>> variables) {
    Graph graph = graphOf(loss);
    return reached(Ops.create(graph).scope(), loss, variables);
  }

  /**
   * {@link #gradients} of {@code variables}, each as a dense tensor ({@link
   * VariableGradient#dense}): what the steps that need a dense gradient (the proximal optimizers, a
   * penalized variable) apply.
   *
   * @param scope where the sums over a resource variable's reads are built (their device is the
   *     variable's)
   * @param loss the floating data loss, in a {@link Graph}
   * @param variables {@code VariableV2} or {@code VarHandleOp} outputs of the loss's graph
   * @return the dense gradients, in the variables' (base) dtypes, keyed and ordered as {@link
   *     #gradients}
   * @throws NullPointerException if an argument or a variable is null
   * @throws IllegalArgumentException as {@link #gradients} throws
   */
  public static Map<Output<?>, Output<?>> reached(
      Scope scope, Operand<?> loss, List<? extends Output<?>> variables) {
    Map<Output<?>, Output<?>> dense = new LinkedHashMap<>();
    gradients(scope, loss, variables).forEach((v, g) -> dense.put(v, g.dense(scope)));
    return dense;
  }

  /**
   * The data gradient (see the class comment) of each of {@code variables} that {@code loss}
   * reaches with a gradient, keyed by the variable's output, in the order of {@code variables};
   * variables it does not reach are absent. One {@code Graph.addGradients} call serves all of them.
   *
   * <p>A resource variable's gradient is row-sparse ({@link VariableGradient#isRowSparse}) when
   * every read of it that the loss reaches is a row read ({@code ResourceGather}, or {@code
   * GatherV2} on axis 0 of a {@code ReadVariableOp} all of whose reached consumers are such
   * gathers): the gradients at the reads' outputs, reshaped to {@code [n, row…]}, with the reads'
   * indices flattened to {@code [n]}, several reads concatenated. Otherwise it is dense: the sum of
   * its dense reads' gradients and {@code UnsortedSegmentSum} of its row reads'.
   *
   * @param scope where the sums over a resource variable's reads are built (their device is the
   *     variable's)
   * @param loss the floating data loss, in a {@link Graph}
   * @param variables {@code VariableV2} or {@code VarHandleOp} outputs of the loss's graph
   * @return the gradients, in the variables' (base) dtypes
   * @throws NullPointerException if an argument or a variable is null
   * @throws IllegalArgumentException if {@code loss} is not in a graph, a variable is not the
   *     output of a {@code VariableV2} or {@code VarHandleOp} of that graph, or the loss reaches a
   *     resource variable through an op other than a read ({@code ReadVariableOp}, {@code
   *     ResourceGather} with {@code batch_dims} 0), or through a {@code ResourceGather} of a
   *     variable whose shape is not fully known
   */
  public static Map<Output<?>, VariableGradient> gradients(
      Scope scope, Operand<?> loss, List<? extends Output<?>> variables) {
    Checks.notNull("scope", scope);
    Graph graph = graphOf(loss);
    Checks.notNull("variables", variables);
    for (int i = 0; i < variables.size(); i++) {
      Output<?> variable = Checks.notNull("variables[" + i + "]", variables.get(i));
      if (variable.env() != graph || !isVariable(variable)) {
        throw new IllegalArgumentException(
            "variables["
                + i
                + "] (op \""
                + variable.op().name()
                + "\", a "
                + variable.op().type()
                + ") must be a VariableV2 or VarHandleOp of the loss's"
                + " graph");
      }
    }
    Set<GraphOperation> ancestors = ancestors((GraphOperation) loss.op());
    // What addGradients is asked for: a ref variable itself, each reached dense read of a resource
    // variable, or each reached row read's output (an intermediate tensor: its gradient is the
    // gathered rows' gradient, which the C++ registry could not carry through the gather).
    List<Use> asked = new ArrayList<>();
    Set<Output<?>> seen = new HashSet<>();
    for (Output<?> variable : variables) {
      if (seen.add(variable)) {
        asked.addAll(uses(variable, ancestors));
      }
    }
    Map<Output<?>, List<Output<?>>> denseParts = new LinkedHashMap<>();
    Map<Output<?>, List<Output<?>>> rowValues = new LinkedHashMap<>();
    Map<Output<?>, List<Output<?>>> rowIndices = new LinkedHashMap<>();
    if (!asked.isEmpty()) {
      Output<?>[] xs = new Output<?>[asked.size()];
      for (int k = 0; k < xs.length; k++) {
        xs[k] = asked.get(k).x();
      }
      Output<?>[] outputs = graph.addGradients(loss.asOutput(), xs);
      for (int k = 0; k < asked.size(); k++) {
        if (!hasGradient(outputs[k])) {
          continue;
        }
        Use use = asked.get(k);
        if (use.indices() == null) {
          denseParts.computeIfAbsent(use.variable(), v -> new ArrayList<>()).add(outputs[k]);
        } else {
          rowValues.computeIfAbsent(use.variable(), v -> new ArrayList<>()).add(outputs[k]);
          rowIndices.computeIfAbsent(use.variable(), v -> new ArrayList<>()).add(use.indices());
        }
      }
    }
    Map<Output<?>, VariableGradient> gradients = new LinkedHashMap<>();
    for (Output<?> variable : variables) {
      if (gradients.containsKey(variable)) {
        continue;
      }
      List<Output<?>> dense = denseParts.getOrDefault(variable, new ArrayList<>());
      List<Output<?>> values = rowValues.get(variable);
      if (values == null && dense.isEmpty()) {
        continue;
      }
      Scope beside = PinnedScope.on(scope, Devices.deviceOf(variable));
      if (values == null) {
        gradients.put(
            variable,
            VariableGradient.dense(
                variable, dense.size() == 1 ? dense.get(0) : sum(beside, dense)));
        continue;
      }
      VariableGradient rows =
          RowReads.concatenate(beside, variable, values, rowIndices.get(variable));
      if (dense.isEmpty()) {
        gradients.put(variable, rows);
      } else {
        dense.add(rows.dense(beside));
        gradients.put(variable, VariableGradient.dense(variable, sum(beside, dense)));
      }
    }
    return gradients;
  }

  /**
   * Whether {@code gradient}, one result of {@code Graph.addGradients} (or of the framework's
   * {@code computeGradients}), is a gradient: TensorFlow's NoGradient, for an input reached only
   * through {@code StopGradient}, comes back closed (or null), and counts as none.
   *
   * @param gradient one output of {@code addGradients}; may be null
   * @return false when {@code gradient} is null or closed, true otherwise
   */
  public static boolean hasGradient(Output<?> gradient) {
    return gradient != null && !gradient.isClosed();
  }

  /**
   * Whether {@code loss} reaches every one of {@code variables} along data edges.
   *
   * @param loss a graph operand; not null
   * @param variables variables of the loss's graph ({@link #isVariable}); not null
   * @return true when each variable (for a resource variable, at least one of its reads) is an
   *     ancestor of {@code loss}, or when {@code variables} is empty; a variable reached only
   *     through {@code StopGradient} still counts as reached here
   */
  public static boolean reachesAll(Operand<?> loss, List<? extends Output<?>> variables) {
    Set<GraphOperation> ancestors = ancestors((GraphOperation) loss.op());
    for (Output<?> variable : variables) {
      if (uses(variable, ancestors).isEmpty()) {
        return false;
      }
    }
    return true;
  }

  /**
   * What {@code addGradients} is asked for on behalf of {@code variable}: the variable itself
   * (ref), or each of its reads that the loss reaches (resource): a dense read's output, or a row
   * read's output with its indices. Empty when the loss does not reach it.
   *
   * @throws IllegalArgumentException if the loss reaches the resource variable through an op that
   *     is not a read, or through a row read that {@link RowReads} refuses
   */
  private static List<Use> uses(Output<?> variable, Set<GraphOperation> ancestors) {
    List<Use> found = new ArrayList<>();
    if (!isResource(variable)) {
      if (ancestors.contains((GraphOperation) variable.op())) {
        found.add(new Use(variable, variable, null));
      }
      return found;
    }
    Deque<GraphOperation> handles = new ArrayDeque<>();
    Set<GraphOperation> seen = new HashSet<>();
    handles.add((GraphOperation) variable.op());
    while (!handles.isEmpty()) {
      GraphOperation handle = handles.pop();
      for (GraphOperation consumer : handle.consumers(0)) {
        if (!seen.add(consumer)) {
          continue;
        }
        if (consumer.type().equals("Identity")) {
          handles.add(consumer);
        } else if (!ancestors.contains(consumer)) {
          continue;
        } else if (consumer.type().equals(READ_VARIABLE_OP)) {
          List<GraphOperation> gathers = RowReads.gathersOverRead(variable, consumer, ancestors);
          if (gathers == null) {
            found.add(new Use(consumer.output(0), variable, null));
          } else {
            for (GraphOperation gather : gathers) {
              found.add(new Use(gather.output(0), variable, gather.input(1)));
            }
          }
        } else if (consumer.type().equals(RowReads.RESOURCE_GATHER)) {
          RowReads.requireRowRead(variable, consumer);
          found.add(new Use(consumer.output(0), variable, consumer.input(1)));
        } else {
          throw new IllegalArgumentException(
              "the loss reaches resource variable \""
                  + variable.op().name()
                  + "\" through op \""
                  + consumer.name()
                  + "\" (a "
                  + consumer.type()
                  + "); only reads through ReadVariableOp or ResourceGather are differentiated, so"
                  + " its gradient would miss that path: read the variable with ReadVariableOp or"
                  + " ResourceGather");
        }
      }
    }
    return found;
  }

  /**
   * One tensor {@code addGradients} is asked for: {@code x}, standing for {@code variable}; {@code
   * indices} is null for a dense use (the variable or a full read), else the row read's indices.
   */
  private record Use(Output<?> x, Output<?> variable, Output<?> indices) {}

  private static Graph graphOf(Operand<?> loss) {
    Checks.notNull("loss", loss);
    if (!(loss.env() instanceof Graph graph)) {
      throw new IllegalArgumentException(
          "loss (op \"" + loss.op().name() + "\") must be in a Graph, but is in " + loss.env());
    }
    return graph;
  }

  /** The ops whose outputs flow into {@code root} along data edges, {@code root} included. */
  private static Set<GraphOperation> ancestors(GraphOperation root) {
    Set<GraphOperation> seen = new HashSet<>();
    Deque<GraphOperation> pending = new ArrayDeque<>();
    seen.add(root);
    pending.add(root);
    while (!pending.isEmpty()) {
      GraphOperation op = pending.pop();
      for (int i = 0; i < op.numInputs(); i++) {
        Operation input = op.input(i).op();
        if (input instanceof GraphOperation source && seen.add(source)) {
          pending.add(source);
        }
      }
    }
    return seen;
  }

  /** The sum of a resource variable's per-read gradients, built in {@code beside}. */
  @SuppressWarnings("unchecked")
  private static Output<?> sum(Scope beside, List<Output<?>> terms) {
    List<Operand<TType>> operands = new ArrayList<>();
    for (Output<?> term : terms) {
      operands.add((Operand<TType>) term);
    }
    return AddN.create(beside, operands).asOutput();
  }

  /**
   * A zero gradient for {@code variable}: zeros of its value's shape and dtype ({@link #shapeOf},
   * {@link #dtypeOf}), built in {@code scope} on the variable's device. Unplaced, the {@code Fill}
   * would run on the client's task of a cluster and send the whole weight-sized tensor to the
   * variable's task every step (measured: 8 MiB a step in {@code ClusterTrainingTest}'s model).
   *
   * @param scope where the zeros are built (their names; their device is the variable's)
   * @param variable a variable ({@link #isVariable}) of fully known shape
   * @return zeros of the variable's value's shape, in its base dtype
   * @throws NullPointerException if {@code scope} or {@code variable} is null
   * @throws IllegalArgumentException if {@code variable} is not a variable or its shape is not
   *     fully known
   */
  public static Output<?> zerosBeside(Scope scope, Output<?> variable) {
    Checks.notNull("scope", scope);
    Checks.notNull("variable", variable);
    if (!isVariable(variable)) {
      throw new IllegalArgumentException(
          "variable (op \""
              + variable.op().name()
              + "\", a "
              + variable.op().type()
              + ") must be a VariableV2 or VarHandleOp output");
    }
    Shape shape = fullyKnownShapeOf(variable, "a zero gradient");
    Scope beside = PinnedScope.on(scope, Devices.deviceOf(variable));
    Class<? extends TType> type = TensorTypeRegistry.find(dtypeOf(variable)).type();
    return Zeros.create(beside, Constant.vectorOf(beside, shape.asArray()), type).asOutput();
  }

  /**
   * A resource variable's {@code shared_name}: with its container, what names its variable.
   *
   * @param handle output 0 of a graph {@code VarHandleOp}
   * @return its {@code shared_name} attribute; empty when it is not set
   */
  public static String sharedNameOf(Output<?> handle) {
    return stringAttr((GraphOperation) handle.op(), "shared_name");
  }

  /**
   * A resource variable's {@code container}.
   *
   * @param handle output 0 of a graph {@code VarHandleOp}
   * @return its {@code container} attribute; empty for the default container
   */
  public static String containerOf(Output<?> handle) {
    return stringAttr((GraphOperation) handle.op(), "container");
  }

  /**
   * A string attribute, read from its proto: TF-Java 1.1.0's {@code getAttrString} returns garbage
   * for an empty string.
   */
  private static String stringAttr(GraphOperation op, String name) {
    return op.attributes().getAttrValueProto(name).getS().toStringUtf8();
  }

  private static Output<?> firstOutput(GraphOperation op) {
    return op.numOutputs() > 0 ? op.output(0) : null;
  }

  @SuppressWarnings("unchecked")
  private static <T extends TType> GradAndVar<T> pair(Output<?> gradient, Output<?> variable) {
    return new GradAndVar<>((Output<T>) gradient, (Output<T>) variable);
  }
}
