package io.github.tfl1l2;

import io.github.tfl1l2.internal.Checks;
import io.github.tfl1l2.internal.FloatingTypes;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import org.tensorflow.ExecutionEnvironment;
import org.tensorflow.Operand;
import org.tensorflow.framework.optimizers.Optimizer;
import org.tensorflow.framework.regularizers.Regularizer;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.Scope;
import org.tensorflow.op.math.Add;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.family.TFloating;
import org.tensorflow.types.family.TNumber;

/**
 * An L1L2 weight regularizer for TensorFlow-Java graphs and eager sessions.
 *
 * <p>Over a list of parameters {@code w_1 … w_n} (usually a model's variables) it emits the ops
 * that compute
 *
 * <pre>
 *   penalty = weight · (l1 · Σ_i Σ|w_i| + l2 · Σ_i Σ w_i²)
 * </pre>
 *
 * <p>as {@code Abs}, {@code Square} and {@code Sum} nodes under the name scope {@link #name()}.
 * Parameters may be {@code TFloat16}, {@code TBfloat16}, {@code TFloat32} or {@code TFloat64},
 * mixed in one list; ref variables from {@code tf.variable(…)}, variable reads and plain tensors
 * are all accepted. Half-precision parameters are summed in float32 and float64 parameters in
 * float64, then the result is cast to the requested type. By default the graph ops are marked for
 * XLA compilation, laid out so that XLA reads each weight once, with at most 64 reductions per
 * cluster to keep compile time linear ({@link Builder#xla(boolean)}).
 *
 * <p>Typical use, adding the penalty to a data loss before the optimizer takes gradients:
 *
 * <pre>{@code
 * L1L2 reg = L1L2.builder().l1(1e-5).l2(1e-4).on("kernel").build();
 * Operand<TFloat32> loss = reg.addTo(tf, dataLoss, List.of(kernel1, bias1, kernel2));
 * Op train = new GradientDescent(graph, 0.1f).minimize(loss);
 * }</pre>
 *
 * <p>It is also a TF-Java {@link Regularizer}: {@link #call(Ops, Operand)} gives one operand's
 * penalty in its dtype, so an {@code L1L2} goes wherever the framework expects a regularizer.
 *
 * <p>Instances are immutable, validated when built, and safe to share between threads; each {@code
 * penalty} call builds new ops in the given {@link Ops}' environment.
 */
public final class L1L2 implements Regularizer {
  /** The default name scope of the emitted ops. */
  public static final String DEFAULT_NAME = "l1_l2";

  private final double l1;
  private final double l2;
  private final double weight;
  private final Reduction reduction;
  private final Pattern on;
  private final String name;
  private final boolean xla;
  private final boolean checkNumerics;
  private final PenaltySpec spec;

  private L1L2(Builder builder) {
    this.l1 = Checks.nonNegativeFinite("l1", builder.l1);
    this.l2 = Checks.nonNegativeFinite("l2", builder.l2);
    this.weight = Checks.nonNegativeFinite("weight", builder.weight);
    this.reduction = Checks.notNull("reduction", builder.reduction);
    this.on = builder.on == null ? null : compile(builder.on);
    this.name = validName(builder.name);
    this.xla = builder.xla;
    this.checkNumerics = builder.checkNumerics;
    if (!isZero() && weight * l1 == 0 && weight * l2 == 0) {
      // Both coefficients underflow: the penalty would be neither zero by its settings nor
      // computable; refuse rather than silently drop it.
      throw new IllegalArgumentException(
          "weight·l1 and weight·l2 underflow to 0 (weight="
              + weight
              + ", l1="
              + l1
              + ", l2="
              + l2
              + "); allowed are settings whose products are representable doubles, or 0 for no"
              + " penalty");
    }
    this.spec =
        new PenaltySpec(
            name,
            weight * l1,
            weight * l2,
            isZero(),
            xla,
            checkNumerics,
            reduction == Reduction.NONE,
            this::selects,
            on == null ? null : on.pattern());
  }

  /**
   * Returns a regularizer with the given coefficients and every other setting at its default.
   *
   * @param l1 the coefficient of Σ|w|, finite and {@code >= 0}
   * @param l2 the coefficient of Σw², finite and {@code >= 0}
   * @return a regularizer computing {@code l1 · Σ|w| + l2 · Σw²} ({@code weight = 1}, all
   *     parameters, XLA on)
   * @throws IllegalArgumentException if a coefficient is negative, NaN or infinite
   */
  public static L1L2 of(double l1, double l2) {
    return builder().l1(l1).l2(l2).build();
  }

  /**
   * Returns an L1-only regularizer, {@code l1 · Σ|w|}, with every other setting at its default (the
   * Keras {@code regularizers.l1(l1)} shorthand).
   *
   * @param l1 the coefficient of Σ|w|, finite and {@code >= 0}
   * @return a regularizer with this {@code l1} and {@code l2 = 0}
   * @throws IllegalArgumentException if {@code l1} is negative, NaN or infinite
   */
  public static L1L2 l1(double l1) {
    return builder().l1(l1).build();
  }

  /**
   * Returns an L2-only regularizer, {@code l2 · Σw²}, with every other setting at its default (the
   * Keras {@code regularizers.l2(l2)} shorthand).
   *
   * @param l2 the coefficient of Σw², finite and {@code >= 0}
   * @return a regularizer with this {@code l2} and {@code l1 = 0}
   * @throws IllegalArgumentException if {@code l2} is negative, NaN or infinite
   */
  public static L1L2 l2(double l2) {
    return builder().l2(l2).build();
  }

  /**
   * Returns a builder with the defaults {@code l1 = l2 = 0}, {@code weight = 1}, …
   *
   * @return a new builder: {@code l1 = l2 = 0}, {@code weight = 1}, {@link
   *     Reduction#SUM_OVER_BATCH_SIZE}, no {@code on}, name {@value #DEFAULT_NAME}, XLA on, no
   *     numeric checks
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Returns a builder initialised with this regularizer's settings.
   *
   * @return a new builder whose {@link Builder#build()} gives a regularizer equal to this one until
   *     a setter changes it; this regularizer is not affected
   */
  public Builder toBuilder() {
    Builder builder = new Builder();
    builder.l1 = l1;
    builder.l2 = l2;
    builder.weight = weight;
    builder.reduction = reduction;
    builder.on = on == null ? null : on.pattern();
    builder.name = name;
    builder.xla = xla;
    builder.checkNumerics = checkNumerics;
    return builder;
  }

  /**
   * The coefficient of Σ|w|.
   *
   * @return {@code l1}, finite and {@code >= 0} (default 0)
   */
  public double l1() {
    return l1;
  }

  /**
   * The coefficient of Σw².
   *
   * @return {@code l2}, finite and {@code >= 0} (default 0)
   */
  public double l2() {
    return l2;
  }

  /**
   * The factor applied to the whole penalty.
   *
   * @return {@code weight}, finite and {@code >= 0} (default 1)
   */
  public double weight() {
    return weight;
  }

  /**
   * How the per-parameter penalties are combined.
   *
   * @return the reduction, never null (default {@link Reduction#SUM_OVER_BATCH_SIZE})
   */
  public Reduction reduction() {
    return reduction;
  }

  /**
   * The regular expression that selects parameters by name, if one was set.
   *
   * @return the {@code on(regex)} pattern as given, or empty when every parameter is selected
   */
  public Optional<String> on() {
    return on == null ? Optional.empty() : Optional.of(on.pattern());
  }

  /**
   * The name scope of the emitted ops (made unique by TF-Java when it is used twice).
   *
   * @return a valid TensorFlow op name (default {@value #DEFAULT_NAME})
   */
  public String name() {
    return name;
  }

  /**
   * Whether graph ops are marked for XLA compilation.
   *
   * @return the {@code xla} setting (default true); it has no effect in eager mode
   */
  public boolean xla() {
    return xla;
  }

  /**
   * Whether each parameter read is checked for NaN and infinity, naming the parameter.
   *
   * @return the {@code checkNumerics} setting (default false)
   */
  public boolean checkNumerics() {
    return checkNumerics;
  }

  /**
   * Whether this regularizer applies to the parameter named {@code name}: true when no {@code
   * on(regex)} was set, else when {@code name} contains a match of it ({@link
   * java.util.regex.Matcher#find()}). This is the one selection rule of the library: the penalty,
   * its gradient, the optimizers, the SavedModel signature and the command line all call it.
   *
   * @param name a parameter name: a map key, an op name, or a variable name of a SavedModel
   * @return true when the penalty covers the parameter named {@code name}
   * @throws NullPointerException if {@code name} is null
   */
  public boolean selects(String name) {
    Checks.notNull("name", name);
    return on == null || on.matcher(name).find();
  }

  /**
   * Whether the penalty is identically zero ({@code l1 = l2 = 0} or {@code weight = 0}): it is then
   * emitted as a constant and reads no parameter.
   *
   * @return true when {@code weight = 0} or {@code l1 = l2 = 0}
   */
  public boolean isZero() {
    return weight == 0.0 || (l1 == 0.0 && l2 == 0.0);
  }

  /**
   * Emits the float32 penalty over {@code parameters}; see {@link #penalty(Ops, Iterable, Class)}.
   *
   * @param tf the ops of the graph or eager session the parameters belong to
   * @param parameters floating operands: DT_HALF, DT_BFLOAT16, DT_FLOAT or DT_DOUBLE
   * @return the penalty as a float32 scalar, or a float32 {@code [n]} vector for {@link
   *     Reduction#NONE}
   */
  public Operand<TFloat32> penalty(Ops tf, Iterable<? extends Operand<?>> parameters) {
    return penalty(tf, parameters, TFloat32.class);
  }

  /**
   * Emits {@code weight · (l1 · Σ_i Σ|w_i| + l2 · Σ_i Σ w_i²)} over the selected parameters.
   *
   * <p>{@code on(regex)} selects by the operand's op name (with {@code :index} for outputs other
   * than the first); a read through {@code Identity} or {@code ReadVariableOp} is named after the
   * variable it reads. The result is a scalar, or for {@link Reduction#NONE} a rank-1 tensor with
   * one entry per selected parameter, in {@code type}. An empty selection or {@link #isZero()}
   * gives zeros and emits nothing that reads a parameter.
   *
   * @param tf the ops of the graph or eager session the parameters belong to
   * @param parameters floating operands: DT_HALF, DT_BFLOAT16, DT_FLOAT or DT_DOUBLE
   * @param <T> the result's element type
   * @param type the result type: {@code TFloat16}, {@code TBfloat16}, {@code TFloat32} or {@code
   *     TFloat64}
   * @return the penalty in {@code type}: a scalar, or {@code [n]} for {@link Reduction#NONE} with
   *     {@code n} the number of selected parameters
   * @throws NullPointerException if {@code parameters} or one of its elements is null
   * @throws IllegalArgumentException if a parameter is not floating or belongs to another
   *     environment, or {@code type} is not a floating type
   */
  public <T extends TFloating> Operand<T> penalty(
      Ops tf, Iterable<? extends Operand<?>> parameters, Class<T> type) {
    FloatingTypes.dataTypeOf(type);
    List<Parameter> selected = select(tf, parameters); // checks tf first
    return PenaltyGraph.emit(spec, tf.scope(), selected, type);
  }

  /**
   * Emits the float32 penalty over named parameters; {@code on(regex)} matches the map keys.
   * Parameters are taken in the map's iteration order (which {@link Reduction#NONE} keeps).
   *
   * @param tf the ops of the graph or eager session the parameters belong to
   * @param namedParameters floating operands (DT_HALF, DT_BFLOAT16, DT_FLOAT or DT_DOUBLE) by name;
   *     neither keys nor values may be null
   * @return the penalty as a float32 scalar, or a float32 {@code [n]} vector for {@link
   *     Reduction#NONE}
   * @see #penalty(Ops, Iterable, Class)
   */
  public Operand<TFloat32> penalty(Ops tf, Map<String, ? extends Operand<?>> namedParameters) {
    return penalty(tf, namedParameters, TFloat32.class);
  }

  /**
   * Emits the penalty in {@code type} over named parameters; {@code on(regex)} matches the map
   * keys. Parameters are taken in the map's iteration order.
   *
   * @param <T> the result's element type
   * @param tf the ops of the graph or eager session the parameters belong to
   * @param namedParameters floating operands (DT_HALF, DT_BFLOAT16, DT_FLOAT or DT_DOUBLE) by name;
   *     neither keys nor values may be null
   * @param type the result type: {@code TFloat16}, {@code TBfloat16}, {@code TFloat32} or {@code
   *     TFloat64}
   * @return the penalty in {@code type}: a scalar, or {@code [n]} for {@link Reduction#NONE} with
   *     {@code n} the number of selected parameters
   * @see #penalty(Ops, Iterable, Class)
   */
  public <T extends TFloating> Operand<T> penalty(
      Ops tf, Map<String, ? extends Operand<?>> namedParameters, Class<T> type) {
    FloatingTypes.dataTypeOf(type);
    List<Parameter> selected = select(tf, namedParameters); // checks tf first
    return PenaltyGraph.emit(spec, tf.scope(), selected, type);
  }

  /**
   * The TF-Java {@link Regularizer} contract: emits {@code weight · (l1 · Σ|x| + l2 · Σx²)} of the
   * one operand {@code input} as a scalar of {@code input}'s dtype, that is {@code penalty(tf,
   * List.of(input), input.type())}. With {@code weight = 1} and no {@code on} it equals the
   * framework's {@code new org.tensorflow.framework.regularizers.L1L2(l1, l2).call(tf, input)} (up
   * to the order of the float additions; float16 and bfloat16 are summed in float32 here, in their
   * own precision there), and unlike the framework's it can be trained through on a ref variable.
   *
   * <p>{@code weight} multiplies the result, as in {@link #penalty}. {@code on(regex)} applies as
   * in {@link #penalty}: an operand whose name it does not select (a read through {@code Identity}
   * or {@code ReadVariableOp} is named after its variable) gives a zero of its dtype, so one
   * regularizer handed every variable of a model still regularizes only the selected ones.
   *
   * @param tf the ops of the graph or eager session {@code input} belongs to
   * @param input a floating operand: DT_HALF, DT_BFLOAT16, DT_FLOAT or DT_DOUBLE
   * @return the scalar penalty of {@code input}, in {@code input}'s dtype
   * @throws NullPointerException if {@code tf} or {@code input} is null
   * @throws IllegalArgumentException if the reduction is {@link Reduction#NONE} (a regularizer
   *     returns one scalar), or {@code input} is not floating (integer {@code TNumber}s included)
   *     or belongs to another environment
   */
  @Override
  public <R extends TNumber> Operand<R> call(Ops tf, Operand<R> input) {
    Checks.notNull("tf", tf);
    Checks.notNull("input", input);
    requireScalarReduction();
    List<Parameter> selected = new ArrayList<>(1);
    Parameter parameter = Parameter.of("input", null, input, 0, tf.scope().env());
    if (selects(parameter.name())) {
      selected.add(parameter);
    }
    // Parameter.of has checked that R is one of the four floating types.
    @SuppressWarnings({"unchecked", "rawtypes"})
    Operand<R> penalty =
        (Operand<R>) PenaltyGraph.emit(spec, tf.scope(), selected, (Class) input.type());
    return penalty;
  }

  /**
   * Returns {@code loss + penalty(parameters)} in the loss's dtype, ready for {@code
   * Optimizer.minimize}: the penalty sits in the loss before gradients are taken, so the
   * optimizer's update includes {@code weight · (l1 · sign(w) + 2 · l2 · w)}.
   *
   * @param <T> the loss's element type, which the result keeps
   * @param tf the ops of the graph or eager session
   * @param loss a scalar floating data loss
   * @param parameters the parameters to regularize, as for {@link #penalty(Ops, Iterable, Class)}
   * @return the scalar {@code Add} of {@code loss} and the penalty, named {@code <name>_loss}, in
   *     the loss's dtype
   * @throws IllegalArgumentException if the reduction is {@link Reduction#NONE} (a vector cannot be
   *     added to a scalar loss), or as for {@code penalty}
   */
  public <T extends TFloating> Operand<T> addTo(
      Ops tf, Operand<T> loss, Iterable<? extends Operand<?>> parameters) {
    Checks.notNull("loss", loss);
    requireScalarReduction();
    Operand<T> penalty = penalty(tf, parameters, loss.type());
    return Add.create(tf.scope().withName(name + "_loss"), loss, penalty);
  }

  /**
   * Returns one training step of {@code optimizer} on {@code dataLoss + penalty(weights)}, with the
   * same updates as {@code optimizer.minimize(addTo(tf, dataLoss, weights))} but cheaper: the
   * penalty is never evaluated, and each selected weight's gradient, {@code dData/dw + weight · (l1
   * · sign(w) + 2 · l2 · w)}, is computed in one fused pass that reads {@code w} and the data
   * gradient once, instead of a penalty gradient and an {@code AddN}.
   *
   * <p>Which variables train: every ref variable that {@code dataLoss} reaches (with a gradient),
   * as with the framework's {@code minimize}; every resource variable listed in {@code weights}
   * (and no other: a loaded model's frozen layers, moving statistics and slots are read by the loss
   * but stay as they are); and every weight that {@code on} selects. A weight that {@code dataLoss}
   * does not reach gets the penalty gradient alone, a weight that {@code on} does not select its
   * data gradient alone, and a variable that is neither is not updated. A weight listed twice is
   * penalized twice, as in {@code addTo}. The data gradients follow the rule the proximal
   * optimizers follow too: a resource variable's is the sum over the {@code ReadVariableOp}s of it
   * that the loss reaches.
   *
   * <p><b>Ref variables</b> ({@code VariableV2}, {@code tf.variable}): the fused gradients (XLA
   * clusters of up to 64 weights, one loop per weight; unmarked with {@code xla(false)}) go to the
   * optimizer's own {@code applyGradients}, so slots, learning rates and every framework optimizer
   * behave as with {@code minimize}.
   *
   * <p><b>Resource variables</b> ({@code VarHandleOp}, read through {@code ReadVariableOp}): the
   * framework's optimizers skip them, so this method applies the optimizer's rule itself, for
   * exactly {@code GradientDescent}, {@code Momentum}, {@code Adam}, {@code AdaGrad} and {@code
   * RMSProp}: the {@code ResourceApply*} twin of the kernel the optimizer applies, with the
   * hyperparameters it was built with (read from its {@code toString()}), and its slots kept in
   * resource variables named as it names them ({@code <variable>-m}, {@code beta1_power}, …), each
   * with its own name as {@code shared_name}, on the variable's device, initialised by init ops.
   * Each variable's update waits only for its own gradient and for the reads of it that were in the
   * graph before this call (so a metric's read sees the value before the step); there is no barrier
   * across variables. A selected weight of at least 131 072 elements is updated by one XLA
   * computation (with {@code xla(true)}) that reads it, its data gradient and each slot once; a
   * smaller one by TensorFlow's kernels, which are faster there. Each trained resource variable
   * needs a {@code VarHandleOp} with a {@code shared_name} of its own (TensorFlow gives handles
   * with the same {@code container} and {@code shared_name}, an empty one included, one variable).
   *
   * <p>Before it builds gradients it calls {@link
   * io.github.tfl1l2.gradients.MissingGradients#register()}, so that a data loss using an op whose
   * gradient TensorFlow's C++ registry lacks (e.g. {@code SparseSoftmaxCrossEntropyWithLogits}) can
   * be trained.
   *
   * @param optimizer a framework optimizer of the graph: for ref variables any ({@code
   *     GradientDescent}, {@code Momentum}, {@code RMSProp}, {@code AdaGrad}, {@code Adam}, …), for
   *     resource variables one of the five named above, not a subclass
   * @param dataLoss the floating data loss (DT_HALF, DT_BFLOAT16, DT_FLOAT or DT_DOUBLE) in the
   *     optimizer's graph
   * @param weights the weights to regularize, at least one, of a floating dtype: ref variables
   *     ({@code VariableV2} outputs or {@code Identity} reads of them) and resource variables
   *     ({@code VarHandleOp} outputs or {@code ReadVariableOp} reads of them, named after the
   *     handle for {@code on}), mixed as needed
   * @return the op that runs one step
   * @throws NullPointerException if an argument or a weight is null
   * @throws IllegalArgumentException if the reduction is {@link Reduction#NONE}; {@code dataLoss}
   *     is not floating or belongs to another graph; a weight is not a variable (or a read of one)
   *     of that graph or not floating; {@code weights} is empty; {@code dataLoss} reaches none of
   *     the weights and the penalty selects none of them (the step would train none of them);
   *     resource variables are to be trained by an optimizer type other than the five named above
   *     (the message names the type); or two {@code VarHandleOp}s of the graph share the variable
   *     of one to be trained
   */
  public Op minimize(
      Optimizer optimizer, Operand<?> dataLoss, Iterable<? extends Operand<?>> weights) {
    return FusedMinimize.minimize(spec, optimizer, dataLoss, weights);
  }

  /** Rejects {@link Reduction#NONE} where the penalty joins a scalar loss. */
  private void requireScalarReduction() {
    spec.requireScalarReduction();
  }

  /**
   * Emits each selected parameter's {@code Σ|w|} and {@code Σw²} from one read of it, and the
   * penalty this regularizer makes of them (per parameter and summed), all in float64. Reports and
   * signatures use it; for training, {@link #penalty} is the cheaper single reduction.
   *
   * @param tf the ops of the graph or eager session the parameters belong to
   * @param parameters floating operands, selected and named as for {@link #penalty(Ops, Iterable,
   *     Class)}
   * @return the float64 sums, per selected parameter, and the penalty made of them
   * @throws NullPointerException if {@code parameters} or one of its elements is null
   * @throws IllegalArgumentException if a parameter is not floating or belongs to another
   *     environment
   */
  public ParameterSums sums(Ops tf, Iterable<? extends Operand<?>> parameters) {
    List<Parameter> selected = select(tf, parameters); // checks tf first
    return ParameterSums.emit(spec, tf.scope(), selected);
  }

  /**
   * Emits the sums of named parameters; {@code on(regex)} matches the map keys, and {@link
   * ParameterSums#names()} are the selected keys in map order.
   *
   * @param tf the ops of the graph or eager session the parameters belong to
   * @param namedParameters floating operands (DT_HALF, DT_BFLOAT16, DT_FLOAT or DT_DOUBLE) by name;
   *     neither keys nor values may be null
   * @return the float64 sums, per selected parameter, and the penalty made of them
   * @see #sums(Ops, Iterable)
   */
  public ParameterSums sums(Ops tf, Map<String, ? extends Operand<?>> namedParameters) {
    List<Parameter> selected = select(tf, namedParameters); // checks tf first
    return ParameterSums.emit(spec, tf.scope(), selected);
  }

  /** Validates {@code parameters} and keeps those {@link #selects} names, in order. */
  private List<Parameter> select(Ops tf, Iterable<? extends Operand<?>> parameters) {
    Checks.notNull("tf", tf);
    Checks.notNull("parameters", parameters);
    ExecutionEnvironment env = tf.scope().env();
    List<Parameter> selected = new ArrayList<>();
    int index = 0;
    for (Operand<?> operand : parameters) {
      Parameter parameter = Parameter.of(null, operand, index++, env);
      if (selects(parameter.name())) {
        selected.add(parameter);
      }
    }
    return selected;
  }

  /** Validates {@code namedParameters} and keeps those whose key {@link #selects}, in order. */
  private List<Parameter> select(Ops tf, Map<String, ? extends Operand<?>> namedParameters) {
    Checks.notNull("tf", tf);
    Checks.notNull("namedParameters", namedParameters);
    ExecutionEnvironment env = tf.scope().env();
    List<Parameter> selected = new ArrayList<>();
    int index = 0;
    for (Map.Entry<String, ? extends Operand<?>> entry : namedParameters.entrySet()) {
      Checks.notNull("namedParameters key at index " + index, entry.getKey());
      Parameter parameter = Parameter.of(entry.getKey(), entry.getValue(), index++, env);
      if (selects(parameter.name())) {
        selected.add(parameter);
      }
    }
    return selected;
  }

  private static Pattern compile(String regex) {
    try {
      return Pattern.compile(regex);
    } catch (PatternSyntaxException e) {
      throw new IllegalArgumentException(
          "on must be a valid java.util.regex pattern, but was \""
              + regex
              + "\": "
              + e.getDescription(),
          e);
    }
  }

  private static String validName(String name) {
    Checks.notNull("name", name);
    if (!Scope.isValidOpName(name)) {
      throw new IllegalArgumentException(
          "name must match [A-Za-z0-9.][A-Za-z0-9_.\\-]* (a TensorFlow name scope), but was \""
              + name
              + "\"");
    }
    return name;
  }

  @Override
  public boolean equals(Object o) {
    if (this == o) {
      return true;
    }
    if (!(o instanceof L1L2 other)) {
      return false;
    }
    return Double.compare(l1, other.l1) == 0
        && Double.compare(l2, other.l2) == 0
        && Double.compare(weight, other.weight) == 0
        && reduction == other.reduction
        && Objects.equals(on(), other.on())
        && name.equals(other.name)
        && xla == other.xla
        && checkNumerics == other.checkNumerics;
  }

  @Override
  public int hashCode() {
    return Objects.hash(l1, l2, weight, reduction, on(), name, xla, checkNumerics);
  }

  @Override
  public String toString() {
    return "L1L2{l1="
        + l1
        + ", l2="
        + l2
        + ", weight="
        + weight
        + ", reduction="
        + reduction
        + on().map(p -> ", on=" + p).orElse("")
        + ", name="
        + name
        + ", xla="
        + xla
        + (checkNumerics ? ", checkNumerics=true" : "")
        + "}";
  }

  /**
   * Builds an {@link L1L2}. Setters record values; {@link #build()} validates them all and names
   * the first argument that is out of range.
   */
  public static final class Builder {
    private double l1 = 0.0;
    private double l2 = 0.0;
    private double weight = 1.0;
    private Reduction reduction = Reduction.SUM_OVER_BATCH_SIZE;
    private String on;
    private String name = DEFAULT_NAME;
    private boolean xla = true;
    private boolean checkNumerics = false;

    private Builder() {}

    /**
     * Sets the coefficient of Σ|w| (default 0); finite and {@code >= 0}.
     *
     * @param l1 the coefficient; checked by {@link #build()}
     * @return this builder
     */
    public Builder l1(double l1) {
      this.l1 = l1;
      return this;
    }

    /**
     * Sets the coefficient of Σw² (default 0); finite and {@code >= 0}.
     *
     * @param l2 the coefficient; checked by {@link #build()}
     * @return this builder
     */
    public Builder l2(double l2) {
      this.l2 = l2;
      return this;
    }

    /**
     * Sets the factor on the whole penalty (default 1); finite and {@code >= 0}.
     *
     * @param weight the factor; checked by {@link #build()}
     * @return this builder
     */
    public Builder weight(double weight) {
      this.weight = weight;
      return this;
    }

    /**
     * Sets how per-parameter penalties combine (default {@link Reduction#SUM_OVER_BATCH_SIZE}).
     *
     * @param reduction {@link Reduction#NONE}, {@link Reduction#SUM} or {@link
     *     Reduction#SUM_OVER_BATCH_SIZE}; null is rejected by {@link #build()}
     * @return this builder
     */
    public Builder reduction(Reduction reduction) {
      this.reduction = reduction;
      return this;
    }

    /**
     * Keeps only parameters whose name contains a match of {@code regex} ({@link
     * java.util.regex.Matcher#find()}; anchor with {@code ^…$} for a whole-name match). Default:
     * all parameters.
     *
     * @param regex a {@link java.util.regex.Pattern} expression; its syntax is checked by {@link
     *     #build()}
     * @return this builder
     * @throws NullPointerException if {@code regex} is null
     */
    public Builder on(String regex) {
      this.on = Checks.notNull("on", regex);
      return this;
    }

    /**
     * Sets the name scope of the emitted ops (default {@value L1L2#DEFAULT_NAME}).
     *
     * @param name a TensorFlow op name, {@code [A-Za-z0-9.][A-Za-z0-9_.\-]*}; checked by {@link
     *     #build()}
     * @return this builder
     */
    public Builder name(String name) {
      this.name = name;
      return this;
    }

    /**
     * Marks graph ops for XLA compilation (default {@code true}).
     *
     * @param xla true to mark the penalty's graph ops (and those of the fused training step) for
     *     XLA, false to leave them to TensorFlow's kernels; ignored in eager mode
     * @return this builder
     */
    public Builder xla(boolean xla) {
      this.xla = xla;
      return this;
    }

    /**
     * Checks every parameter for NaN and infinity when the penalty runs (default {@code false}).
     * Without it a NaN or infinite weight propagates into the penalty; with it the run fails with
     * an {@code InvalidArgumentError} whose message names the parameter.
     *
     * @param checkNumerics true to add a {@code CheckNumerics} op on each parameter read
     * @return this builder
     */
    public Builder checkNumerics(boolean checkNumerics) {
      this.checkNumerics = checkNumerics;
      return this;
    }

    /**
     * Validates the settings and returns the regularizer.
     *
     * @return a new immutable regularizer with these settings; the builder can be reused
     * @throws IllegalArgumentException naming the first invalid setting, or if {@code weight·l1}
     *     and {@code weight·l2} are both non-zero settings whose products underflow to 0
     * @throws NullPointerException if reduction or name is null
     */
    public L1L2 build() {
      return new L1L2(this);
    }
  }
}
