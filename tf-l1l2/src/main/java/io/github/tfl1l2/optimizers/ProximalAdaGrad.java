package io.github.tfl1l2.optimizers;

import io.github.tfl1l2.L1L2;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.framework.optimizers.Optimizer;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.family.TType;

/**
 * AdaGrad on a data loss with an {@link L1L2} regularizer applied through its proximal operator,
 * so that L1 leaves weights at exactly zero (TensorFlow's {@code ProximalAdagrad}).
 *
 * <p>{@code new ProximalAdaGrad(graph, lr, reg).minimize(dataLoss)} builds one op that, for every
 * {@code VariableV2} {@code w} of the graph, with {@code g = ∂dataLoss/∂w} ({@code g = 0} where
 * the data loss does not reach {@code w}) and its accumulator slot {@code a} (named {@value
 * #ACCUMULATOR}, same shape and dtype as {@code w}, initially {@link #initialAccumulatorValue()}
 * everywhere), sets
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
 * of {@link ProximalGradientDescent} with its own step size {@code η}. The step runs in TensorFlow's
 * {@code ApplyProximalAdagrad} kernel, with {@code l1 = l2 = 0} for unselected variables. The
 * default initial accumulator value 0.1 is TensorFlow 1's {@code ProximalAdagradOptimizer} and
 * Keras' {@code Adagrad} default; it keeps the first steps from dividing by a tiny {@code √a}.
 * Dtypes, the regularizer's settings and the variables trained are as for {@link
 * ProximalGradientDescent}; this optimizer's own accumulators are never trained.
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

  /**
   * Creates the optimizer with accumulators starting at {@value #INITIAL_ACCUMULATOR_DEFAULT}.
   *
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

  /** The base step size {@code lr}. */
  public float learningRate() {
    return learningRate;
  }

  /** The value every accumulator starts at. */
  public float initialAccumulatorValue() {
    return initialAccumulatorValue;
  }

  /** The regularizer whose proximal operator the step applies. */
  public L1L2 regularizer() {
    return terms.regularizer();
  }

  /**
   * The data loss's gradient for every {@code VariableV2} it reaches, and a zero gradient for
   * every selected variable it does not reach; this optimizer's own accumulators are left out.
   */
  @Override
  public <T extends TType> List<GradAndVar<?>> computeGradients(Operand<?> loss) {
    return GradientPairs.of(graph, tf, loss, terms::selects, slotNames);
  }

  @Override
  protected void createSlots(List<Output<? extends TType>> variables) {
    for (Output<? extends TType> variable : variables) {
      createAccumulator(variable);
    }
  }

  private <T extends TType> void createAccumulator(Output<T> variable) {
    if (getSlot(variable, ACCUMULATOR).isPresent()) {
      return;
    }
    Operand<T> initial =
        tf.withInitScope().fill(tf.withInitScope().constant(variable.shape()),
            ProximalTerms.scalar(tf.withInitScope(), initialAccumulatorValue, variable));
    createSlot(variable, ACCUMULATOR, initial);
    slotNames.add(createName(variable, ACCUMULATOR));
  }

  @Override
  protected <T extends TType> Op applyDense(Ops tf, Output<T> gradient, Output<T> variable) {
    Variable<T> accumulator = getSlot(variable, ACCUMULATOR).orElseThrow();
    Operand<T> lr = ProximalTerms.scalar(tf, learningRate, variable);
    boolean selected = terms.selects(variable);
    Operand<T> l1 = selected ? terms.l1(tf, variable) : ProximalTerms.scalar(tf, 0.0, variable);
    Operand<T> l2 = selected ? terms.l2(tf, variable) : ProximalTerms.scalar(tf, 0.0, variable);
    return tf.train.applyProximalAdagrad(variable, accumulator, lr, l1, l2, gradient);
  }

  @Override
  public String getOptimizerName() {
    return "ProximalAdaGrad";
  }

  @Override
  public String toString() {
    return "ProximalAdaGrad{learningRate=" + learningRate + ", initialAccumulatorValue="
        + initialAccumulatorValue + ", regularizer=" + terms.regularizer() + "}";
  }
}
