package io.github.tfl1l2;

import io.github.tfl1l2.FusedGradient.Term;
import io.github.tfl1l2.internal.DataGradients;
import io.github.tfl1l2.internal.Devices;
import io.github.tfl1l2.internal.PinnedScope;
import io.github.tfl1l2.internal.VariableGradient;
import io.github.tfl1l2.xla.XlaScope;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.tensorflow.DeviceSpec;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Operation;
import org.tensorflow.Output;
import org.tensorflow.internal.types.registry.TensorTypeRegistry;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Ops;
import org.tensorflow.op.Scope;
import org.tensorflow.op.core.AssignVariableOp;
import org.tensorflow.op.core.Constant;
import org.tensorflow.op.core.Fill;
import org.tensorflow.op.core.ReadVariableOp;
import org.tensorflow.op.core.VarHandleOp;
import org.tensorflow.op.dtypes.Cast;
import org.tensorflow.op.math.Mul;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.family.TType;

/**
 * The updates of resource variables in {@code L1L2.minimize} ({@link FusedMinimize}): for each
 * variable, its penalty gradient and data gradient summed and handed to the optimizer's rule
 * ({@link OptimizerRule}), as one computation that reads the variable once and each slot once and
 * writes each once.
 *
 * <ul>
 *   <li>A penalized variable of at least {@link #XLA_MIN_ELEMENTS} elements (with {@code
 *       xla(true)}) is updated inside an XLA cluster: {@code ReadVariableOp}, the fused gradient
 *       and the {@code ResourceApply*} op, which XLA compiles into one loop per variable. A
 *       variable with a data gradient has a cluster of its own, so that its update waits for its
 *       gradient only; variables without one (penalty only) share clusters of up to {@link
 *       #WEIGHTS_PER_CLUSTER}, which wait for nothing.
 *   <li>Smaller or unpenalized variables, and those of a shape not fully known, are updated by
 *       TensorFlow's kernels: the gradient as plain ops, then the {@code ResourceApply*} kernel,
 *       which updates in place.
 *   <li>An unpenalized variable whose data gradient is row-sparse (an embedding table read only
 *       through row reads) gets a row-sparse update of the gathered rows ({@link
 *       OptimizerRule#applySparse}). A penalized one takes the dense path: the penalty's gradient
 *       touches every row.
 * </ul>
 *
 * <p>There is no barrier across variables: each update waits for its own gradient and for the reads
 * of its variable that were in the graph before (a metric's, the penalty's), so that those see the
 * value before the step. Slots are resource variables named as the framework names its slots of ref
 * variables ({@code <variable>-<slot>}, Adam's {@code beta1_power}, {@code beta2_power}), each with
 * its op name as {@code shared_name}; a variable's slots sit on its device (Adam's two powers,
 * shared by every variable, are not pinned).
 */
final class ResourceUpdates {
  private ResourceUpdates() {}

  /**
   * The fewest elements for which a variable's update runs in XLA; smaller ones run as kernels.
   * Measured on a 2-core CPU (notes/resource-variables-minimize.md): penalty-only steps over 4M
   * floats ran as fast as kernels at 64k elements per variable (1.04×), 1.8× faster at 128k and
   * 2.3× at 512k; at 16k the kernels won by 10%.
   */
  static final long XLA_MIN_ELEMENTS = 1L << 17;

  /** The most penalty-only variables one XLA cluster updates. */
  static final int WEIGHTS_PER_CLUSTER = 8;

  /**
   * One variable to update.
   *
   * @param handle output 0 of the variable's {@code VarHandleOp}
   * @param dataGradient its dense data gradient in its dtype, or null when the loss does not reach
   *     it or its gradient is {@code rows}
   * @param rows its row-sparse data gradient, which only an unpenalized variable has: it then gets
   *     a row-sparse update ({@link OptimizerRule#applySparse}); else null
   * @param c1 the coefficient of {@code sign(w)} in its penalty gradient
   * @param c2 half the coefficient of {@code w} in its penalty gradient
   */
  record Variable(
      Output<?> handle, Output<?> dataGradient, VariableGradient rows, double c1, double c2) {
    boolean penalized() {
      return c1 != 0.0 || c2 != 0.0;
    }
  }

  /**
   * Builds the updates of {@code variables} and returns the ops that complete them (Adam's power
   * updates included).
   */
  static List<Operation> build(
      Scope scope, Graph graph, OptimizerRule rule, List<Variable> variables, boolean xla) {
    // Slots are named at the root, as the framework names them, not under the update's scope.
    Scope root = Ops.create(graph).scope();
    Map<List<String>, List<Output<?>>> handlesByName = handlesByName(graph);
    for (Variable v : variables) {
      requireOwnVariable(v.handle(), handlesByName);
    }
    Names names = new Names(graph);
    // Captured before anything is built here: the reads the updates must follow.
    List<List<Operation>> waits = new ArrayList<>();
    for (Variable v : variables) {
      waits.add(new ArrayList<>(DataGradients.readsToOrderBefore(v.handle())));
    }
    List<Output<TFloat32>> powers = null;
    List<Output<?>> powerHandles = List.of();
    if (rule.usesPowers()) {
      powerHandles =
          List.of(
              scalarVariable(root, names, "beta1_power", rule.number("betaOne")),
              scalarVariable(root, names, "beta2_power", rule.number("betaTwo")));
      powers = new ArrayList<>();
      for (Output<?> power : powerHandles) {
        powers.add(ReadVariableOp.create(scope, power, TFloat32.class).value().asOutput());
      }
    }
    List<Operation> updates = new ArrayList<>();
    String cluster = null;
    int inCluster = 0;
    for (int i = 0; i < variables.size(); i++) {
      Variable v = variables.get(i);
      DeviceSpec device = Devices.deviceOf(v.handle());
      Scope local = PinnedScope.on(scope, device);
      List<Output<?>> slots = new ArrayList<>();
      for (OptimizerRule.Slot slot : rule.slots()) {
        slots.add(slotVariable(PinnedScope.on(root, device), names, v.handle(), slot));
      }
      Scope compute = local;
      if (xla && v.penalized() && v.rows() == null && fusable(v.handle())) {
        boolean alone = v.dataGradient() != null;
        if (alone || cluster == null || inCluster == WEIGHTS_PER_CLUSTER) {
          // makeOpName, not makeUnique: the cluster name must be unique in the whole graph.
          cluster = scope.makeOpName("update_xla");
          inCluster = 0;
        }
        inCluster++;
        compute = XlaScope.wrap(local, cluster);
        if (alone) {
          cluster = null;
        }
      }
      updates.add(update(compute, rule, v, slots, powers, waits.get(i)));
    }
    List<Operation> done = new ArrayList<>(updates);
    for (int p = 0; p < powerHandles.size(); p++) {
      // After every update has read this step's power: Adam's ApplyAdam reads it unordered
      // against its own power update, which makes its trajectory vary from run to run.
      Scope after = scope.withControlDependencyOps(updates);
      Operand<TFloat32> beta =
          Constant.scalarOf(after, rule.number(p == 0 ? "betaOne" : "betaTwo"));
      done.add(
          AssignVariableOp.create(
                  after, powerHandles.get(p), Mul.create(after, powers.get(p), beta))
              .op());
    }
    return done;
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private static Operation update(
      Scope scope,
      OptimizerRule rule,
      Variable v,
      List<Output<?>> slots,
      List<Output<TFloat32>> powers,
      List<Operation> waitFor) {
    if (v.rows() != null) {
      return rule.applySparse(
          scope.withControlDependencyOps(waitFor),
          v.handle(),
          slots,
          (Operand) v.rows().values(),
          (Operand) v.rows().indices(),
          powers);
    }
    Operand<?> gradient = v.dataGradient();
    if (v.penalized()) {
      Operand<?> read =
          scope
              .opBuilder(ReadVariableOp.OP_NAME, "read")
              .addInput(v.handle())
              .setAttr("dtype", DataGradients.dtypeOf(v.handle()))
              .setAttr(DataGradients.UPDATE_READ_ATTR, true)
              .build()
              .output(0);
      gradient =
          FusedGradient.of(scope, new Term(read, null, v.dataGradient(), v.c1(), v.c2()), true);
    }
    return rule.apply(
        scope.withControlDependencyOps(waitFor), v.handle(), slots, (Operand) gradient, powers);
  }

  /**
   * Whether XLA can take the variable: a fully known shape of at least {@link #XLA_MIN_ELEMENTS}
   * elements.
   */
  static boolean fusable(Output<?> handle) {
    Shape shape = DataGradients.shapeOf(handle);
    return !shape.isUnknown() && !shape.hasUnknownDimension() && shape.size() >= XLA_MIN_ELEMENTS;
  }

  /**
   * Refuses a handle that another {@code VarHandleOp} of the graph shares its variable with.
   * TensorFlow names a resource variable by its handle's {@code container} and {@code shared_name},
   * so two handles with the same pair, an empty {@code shared_name} included, are one variable:
   * training both would apply two updates to it, and XLA refuses such a pair in one cluster
   * ("Duplicate variable passed to XLA cluster").
   */
  /** The graph's resource handles by (container, shared_name): one scan for every check. */
  private static Map<List<String>, List<Output<?>>> handlesByName(Graph graph) {
    Map<List<String>, List<Output<?>>> byName = new HashMap<>();
    for (Output<?> variable : DataGradients.variablesOf(graph)) {
      if (DataGradients.isResource(variable)) {
        byName
            .computeIfAbsent(
                List.of(DataGradients.containerOf(variable), DataGradients.sharedNameOf(variable)),
                k -> new ArrayList<>())
            .add(variable);
      }
    }
    return byName;
  }

  private static void requireOwnVariable(
      Output<?> handle, Map<List<String>, List<Output<?>>> handlesByName) {
    String shared = DataGradients.sharedNameOf(handle);
    String container = DataGradients.containerOf(handle);
    for (Output<?> other : handlesByName.getOrDefault(List.of(container, shared), List.of())) {
      if (!other.op().equals(handle.op())) {
        throw new IllegalArgumentException(
            "VarHandleOp \""
                + handle.op().name()
                + "\" and VarHandleOp \""
                + other.op().name()
                + "\" have the same shared_name \""
                + shared
                + "\" (container \""
                + container
                + "\"), so TensorFlow gives them one variable; give each VarHandleOp a"
                + " shared_name of its own (Keras uses the variable's name) to train it");
      }
    }
  }

  private static Class<? extends TType> typeOf(Output<?> handle) {
    return TensorTypeRegistry.find(DataGradients.dtypeOf(handle)).type();
  }

  /**
   * The slot {@code slot} of {@code variable}: a resource variable of its shape and dtype, named
   * {@code <variable>-<slot>} as the framework names a ref variable's slot, initialised to the
   * framework's value by an init op.
   */
  @SuppressWarnings({"unchecked", "rawtypes"})
  private static Output<?> slotVariable(
      Scope scope, Names names, Output<?> variable, OptimizerRule.Slot slot) {
    Shape shape = DataGradients.fullyKnownShapeOf(variable, "its " + slot.name() + " slot");
    Class<? extends TType> type = typeOf(variable);
    String name = names.unique(variable.op().name() + "-" + slot.name());
    Scope init = scope.withInitScope();
    Output<?> handle = varHandle(init, name, type, shape);
    Operand<TFloat32> value = Constant.scalarOf(init, slot.initialValue());
    Operand<?> typed = type == TFloat32.class ? value : Cast.create(init, value, (Class) type);
    Operand<?> filled =
        Fill.create(init, Constant.vectorOf(init, shape.asArray()), (Operand) typed);
    AssignVariableOp.create(init, handle, filled);
    return handle;
  }

  /** A float32 scalar resource variable (Adam's powers), initialised to {@code value}. */
  private static Output<?> scalarVariable(Scope scope, Names names, String base, float value) {
    String name = names.unique(base);
    Scope init = scope.withInitScope();
    Output<?> handle = varHandle(init, name, TFloat32.class, Shape.scalar());
    AssignVariableOp.create(init, handle, Constant.scalarOf(init, value));
    return handle;
  }

  /**
   * A {@code VarHandleOp} named exactly {@code name}, which is also its {@code shared_name}. It is
   * built by name, not through {@code Scope.withName}, because the slot of a variable in a name
   * scope has a '/' in its name ({@code dense/kernel-m}, as in every Keras model), which {@code
   * withName} refuses; {@code scope} still places it and registers it as an init op.
   */
  private static Output<?> varHandle(
      Scope scope, String name, Class<? extends TType> type, Shape shape) {
    return scope
        .env()
        .opBuilder(VarHandleOp.OP_NAME, name, scope)
        .setAttr("dtype", TensorTypeRegistry.find(type).dataType())
        .setAttr("shape", shape)
        .setAttr("shared_name", name)
        .build()
        .output(0);
  }

  /** Op names and {@code shared_name}s not yet used in the graph. */
  private static final class Names {
    private final Graph graph;
    private final Set<String> shared = new HashSet<>();

    Names(Graph graph) {
      this.graph = graph;
      for (Output<?> variable : DataGradients.variablesOf(graph)) {
        if (DataGradients.isResource(variable)) {
          shared.add(DataGradients.sharedNameOf(variable));
        }
      }
    }

    String unique(String base) {
      String name = base;
      for (int k = 1; graph.operation(name) != null || shared.contains(name); k++) {
        name = base + "_" + k;
      }
      shared.add(name);
      return name;
    }
  }
}
