package io.github.tfl1l2.optimizers;

import io.github.tfl1l2.L1L2;
import io.github.tfl1l2.internal.DataGradients;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Operation;
import org.tensorflow.Output;
import org.tensorflow.framework.optimizers.Optimizer;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.family.TType;

/**
 * AdaGrad on a data loss with an {@link L1L2} regularizer applied through its proximal operator, so
 * that L1 leaves weights at exactly zero (TensorFlow's {@code ProximalAdagrad}).
 *
 * <p>{@code new ProximalAdaGrad(graph, lr, reg).minimize(dataLoss)} builds one op that, for every
 * variable {@code w} of the graph (ref or resource; or of the list given to {@code minimize}), with
 * {@code g = ∂dataLoss/∂w} ({@code g = 0} where the data loss does not reach {@code w}) and its
 * accumulator slot {@code a} (named {@value #ACCUMULATOR}, same shape and dtype as {@code w},
 * initially {@link #initialAccumulatorValue()} everywhere), sets
 *
 * <pre>
 *   a ← a + g²
 *   η = lr / √a                                          (elementwise)
 *   v = w − η·g
 *   w ← sign(v) · max(|v| − η·λ1, 0) / (1 + η·λ2)        if reg.selects(name of w)
 *   w ← v                                                otherwise (a plain AdaGrad step)
 * </pre>
 *
 * <p>with {@code λ1 = weight·l1} and {@code λ2 = 2·weight·l2}: each element takes the proximal step
 * of {@link ProximalGradientDescent} with its own step size {@code η}. The step runs in
 * TensorFlow's {@code ApplyProximalAdagrad} kernel (unselected variables in {@code ApplyAdagrad}).
 * The default initial accumulator value 0.1 is TensorFlow 1's {@code ProximalAdagradOptimizer} and
 * Keras' {@code Adagrad} default; it keeps the first steps from dividing by a tiny {@code √a}.
 * Dtypes, the regularizer's settings and the variables trained are as for {@link
 * ProximalGradientDescent}; this optimizer's own accumulators are never trained. An embedding table
 * read through {@code ResourceGather} takes the dense gradient of its gathered rows, as there:
 * every element of a selected table takes the proximal step, and the accumulator of a row the batch
 * did not gather stays as it is ({@code g = 0}).
 */
public final class ProximalAdaGrad extends Optimizer {
  /** The name of the accumulator slot. */
  public static final String ACCUMULATOR = "accumulator";

  /** The initial accumulator value when none is given (TensorFlow 1's and Keras' default). */
  public static final float INITIAL_ACCUMULATOR_DEFAULT = 0.1f;

  private final float learningRate;
  private final float initialAccumulatorValue;
  private final ProximalTerms terms;
  private final Set<String> slotNames = new HashSet<>();

  /** The accumulators of resource variables, by the variable's op name. */
  private final Map<String, Output<?>> resourceSlots = new HashMap<>();

  /**
   * Creates the optimizer with accumulators starting at {@value #INITIAL_ACCUMULATOR_DEFAULT}.
   *
   * @param graph the graph whose variables it trains
   * @param learningRate the base step size {@code lr}, finite and {@code > 0}
   * @param regularizer the penalty applied through its proximal operator, and which variables it
   *     selects
   * @throws NullPointerException if {@code graph} or {@code regularizer} is null
   * @throws IllegalArgumentException if {@code learningRate} is not a finite number {@code > 0}
   * @see #ProximalAdaGrad(Graph, float, float, L1L2)
   */
  public ProximalAdaGrad(Graph graph, float learningRate, L1L2 regularizer) {
    this(graph, learningRate, INITIAL_ACCUMULATOR_DEFAULT, regularizer);
  }

  /**
   * Creates the optimizer.
   *
   * @param graph the graph whose variables it trains
   * @param learningRate the base step size {@code lr}, finite and {@code > 0}
   * @param initialAccumulatorValue the value every accumulator starts at, finite and {@code > 0}
   * @param regularizer the penalty applied through its proximal operator, and which variables it
   *     selects
   * @throws NullPointerException if {@code graph} or {@code regularizer} is null
   * @throws IllegalArgumentException if {@code learningRate} or {@code initialAccumulatorValue} is
   *     not a finite number {@code > 0}
   */
  public ProximalAdaGrad(
      Graph graph, float learningRate, float initialAccumulatorValue, L1L2 regularizer) {
    super(ProximalTerms.checked(graph, learningRate, regularizer));
    this.learningRate = learningRate;
    this.initialAccumulatorValue =
        ProximalTerms.positiveFinite("initialAccumulatorValue", initialAccumulatorValue);
    this.terms = new ProximalTerms(regularizer);
  }

  /**
   * The base step size {@code lr}.
   *
   * @return the learning rate given to the constructor, finite and {@code > 0}
   */
  public float learningRate() {
    return learningRate;
  }

  /**
   * The value every accumulator starts at.
   *
   * @return the initial accumulator value, finite and {@code > 0} (default {@value
   *     #INITIAL_ACCUMULATOR_DEFAULT})
   */
  public float initialAccumulatorValue() {
    return initialAccumulatorValue;
  }

  /**
   * The regularizer whose proximal operator the step applies.
   *
   * @return the regularizer given to the constructor: its {@code l1}, {@code l2}, {@code weight}
   *     and {@code on} set the step
   */
  public L1L2 regularizer() {
    return terms.regularizer();
  }

  /**
   * Builds one training step for exactly {@code variables}: the step {@link #minimize(Operand)}
   * takes, restricted to them. Each element may be a ref variable (a {@code VariableV2} output or
   * an {@code Identity} read of it) or a resource variable (a {@code VarHandleOp} output or a
   * {@code ReadVariableOp} read of it); a read is trained as the variable it reads, and the
   * regularizer's {@code on(regex)} matches that variable's op name. Like every step of this class,
   * it first calls {@link io.github.tfl1l2.gradients.MissingGradients#register()}, so that a data
   * loss using an op whose gradient TensorFlow's C++ registry lacks can be trained.
   *
   * @param dataLoss the floating data loss (without the penalty), in this optimizer's graph
   * @param variables the variables to train, each once
   * @return the op that runs the step
   * @throws NullPointerException if an argument or an element is null
   * @throws IllegalArgumentException if {@code variables} is empty; an element is not a variable
   *     (or a read of one) of this graph, is one of this optimizer's accumulators, or names a
   *     variable given before (the message names its index and op); a selected variable is neither
   *     float32 nor float64; or the data loss reaches none of the variables
   */
  public Op minimize(Operand<?> dataLoss, Iterable<? extends Operand<?>> variables) {
    Objects.requireNonNull(dataLoss, "dataLoss must not be null");
    List<Output<?>> given = GradientPairs.givenVariables(graph, variables, slotNames);
    return applyGradients(
        GradientPairs.of(
            getOptimizerName(), graph, tf, dataLoss, given, "the given variables", terms::selects),
        getOptimizerName() + "-minimize");
  }

  /**
   * The data loss's gradient for every variable of the graph (ref or resource) it reaches, and a
   * zero gradient for every selected variable it does not reach; this optimizer's own accumulators
   * are left out.
   *
   * @throws IllegalArgumentException if the loss reaches no variable of the graph, or a selected
   *     variable is neither float32 nor float64
   */
  @Override
  public <T extends TType> List<GradAndVar<?>> computeGradients(Operand<?> loss) {
    return GradientPairs.of(
        getOptimizerName(),
        graph,
        tf,
        loss,
        GradientPairs.graphVariables(graph, slotNames),
        "the graph's variables",
        terms::selects);
  }

  /**
   * Applies the pairs: exactly the framework's {@code applyGradients} when all variables are ref
   * variables; otherwise ref variables as there and resource variables in the resource kernels,
   * ordered as {@link ResourceUpdates} says.
   */
  @Override
  public Op applyGradients(List<GradAndVar<? extends TType>> gradsAndVars, String name) {
    if (gradsAndVars.stream().noneMatch(p -> DataGradients.isResource(p.getVariable()))) {
      return super.applyGradients(gradsAndVars, name);
    }
    createSlots(
        gradsAndVars.stream().<Output<? extends TType>>map(GradAndVar::getVariable).toList());
    return finish(
        ResourceUpdates.build(
            tf, gradsAndVars, gradsAndVars, this::refUpdate, this::resourceUpdate),
        name);
  }

  @Override
  protected void createSlots(List<Output<? extends TType>> variables) {
    for (Output<? extends TType> variable : variables) {
      if (DataGradients.isResource(variable)) {
        createResourceAccumulator(variable);
      } else {
        createAccumulator(variable);
      }
    }
  }

  private <T extends TType> void createAccumulator(Output<T> variable) {
    if (getSlot(variable, ACCUMULATOR).isPresent()) {
      return;
    }
    Operand<T> initial =
        tf.withInitScope()
            .fill(
                tf.withInitScope().constant(variable.shape()),
                ProximalTerms.scalar(tf.withInitScope(), initialAccumulatorValue, variable));
    createSlot(variable, ACCUMULATOR, initial);
    slotNames.add(createName(variable, ACCUMULATOR));
  }

  /**
   * A resource variable's accumulator: a resource variable itself, named as the framework names
   * slots ({@code createName(variable, ACCUMULATOR)}), on the variable's device, with a {@code
   * shared_name} of its own (XLA rejects a cluster over two handles that share one), filled with
   * the initial accumulator value by the graph's initializers.
   */
  private void createResourceAccumulator(Output<?> variable) {
    if (resourceSlots.containsKey(variable.op().name())) {
      return;
    }
    @SuppressWarnings("unchecked")
    String name = createName((Output<? extends TType>) variable, ACCUMULATOR);
    Class<TType> type = ProximalTerms.valueType(variable);
    Shape shape = DataGradients.shapeOf(variable);
    Ops init = tf.withInitScope();
    Operand<?> accumulator = ResourceSlots.create(graph, init.scope(), name, variable);
    Operand<TType> initial =
        init.fill(init.constant(shape), ProximalTerms.scalar(init, initialAccumulatorValue, type));
    init.assignVariableOp(accumulator, initial);
    resourceSlots.put(variable.op().name(), accumulator.asOutput());
    slotNames.add(name);
  }

  private <T extends TType> Op refUpdate(Ops tf, GradAndVar<T> pair) {
    return applyDense(tf, pair.getGradient(), pair.getVariable());
  }

  @Override
  protected <T extends TType> Op applyDense(Ops tf, Output<T> gradient, Output<T> variable) {
    Variable<T> accumulator = getSlot(variable, ACCUMULATOR).orElseThrow();
    Operand<T> lr = ProximalTerms.scalar(tf, learningRate, variable);
    if (!terms.selects(variable)) {
      return tf.train.applyAdagrad(variable, accumulator, lr, gradient);
    }
    return tf.train.applyProximalAdagrad(
        variable, accumulator, lr, terms.l1(tf, variable), terms.l2(tf, variable), gradient);
  }

  @SuppressWarnings("unchecked")
  private Op resourceUpdate(Ops tf, GradAndVar<? extends TType> pair) {
    Output<?> handle = pair.getVariable();
    Output<?> accumulator = resourceSlots.get(handle.op().name());
    Class<TType> type = ProximalTerms.valueType(handle);
    Operand<TType> gradient = (Operand<TType>) pair.getGradient();
    Operand<TType> lr = ProximalTerms.scalar(tf, learningRate, type);
    if (!terms.selects(handle)) {
      // TF-Java's resourceApplyAdagrad is ResourceApplyAdagradV2, which divides by √a + ε where
      // ApplyAdagrad (the ref path) multiplies by rsqrt(a); ResourceApplyAdagrad is the same
      // kernel as ApplyAdagrad.
      Operation update =
          tf.scope()
              .opBuilder("ResourceApplyAdagrad", "ResourceApplyAdagrad")
              .addInput(handle)
              .addInput(accumulator)
              .addInput(lr.asOutput())
              .addInput(gradient.asOutput())
              .build();
      return () -> update;
    }
    return tf.train.resourceApplyProximalAdagrad(
        handle, accumulator, lr, terms.l1(tf, type), terms.l2(tf, type), gradient);
  }

  @Override
  public String getOptimizerName() {
    return "ProximalAdaGrad";
  }

  @Override
  public String toString() {
    return "ProximalAdaGrad{learningRate="
        + learningRate
        + ", initialAccumulatorValue="
        + initialAccumulatorValue
        + ", regularizer="
        + terms.regularizer()
        + "}";
  }
}
