package io.github.tfl1l2.optimizers;

import io.github.tfl1l2.L1L2;
import io.github.tfl1l2.internal.DataGradients;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.framework.optimizers.Optimizer;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.types.family.TType;

/**
 * Gradient descent on a data loss with an {@link L1L2} regularizer applied through its proximal
 * operator, so that L1 leaves weights at exactly zero.
 *
 * <p>{@code new ProximalGradientDescent(graph, lr, reg).minimize(dataLoss)} builds one op that, for
 * every variable {@code w} of the graph, ref or resource, with {@code g = ∂dataLoss/∂w} ({@code g =
 * 0} where the data loss does not reach {@code w}) and {@code α = lr}, sets
 *
 * <pre>
 *   v = w − α·g
 *   w ← sign(v) · max(|v| − α·λ1, 0) / (1 + α·λ2)      if reg.selects(name of w)
 *   w ← v                                               otherwise
 * </pre>
 *
 * <p>with {@code λ1 = weight·l1} and {@code λ2 = 2·weight·l2}. A weight that the threshold catches
 * becomes an exact zero ({@code w == 0}; {@code -0.0} when {@code v < 0}). For a selected variable
 * this is the exact minimizer of {@code |u − v|²/(2α) + weight·(l1·Σ|u| + l2·Σu²)}: the proximal
 * operator of {@code α} times the regularizer's penalty, so the iterates minimize {@code dataLoss +
 * reg.penalty(…)} with exact zeros. The step runs in TensorFlow's {@code
 * ApplyProximalGradientDescent} kernel (unselected variables in {@code ApplyGradientDescent});
 * TensorFlow's {@code l2} means {@code (l2/2)·w²}, which is why {@code λ2} carries the factor 2.
 * Coefficients are computed in double and cast once to the variable's dtype. Selected variables
 * must be {@code TFloat32} or {@code TFloat64}, the only dtypes TensorFlow registers the proximal
 * kernels for; {@code minimize} rejects a selected half-precision variable with an {@link
 * IllegalArgumentException} naming it. Unselected variables may also be {@code TFloat16} or {@code
 * TBfloat16}.
 *
 * <p>The regularizer's {@code reduction} does not change the step (every reduction sums the same
 * terms), and its {@code xla} and {@code checkNumerics} settings do not apply: no penalty op is
 * built. Pass the data loss alone: adding {@code reg.penalty(…)} to it as well would count the
 * penalty twice.
 *
 * <p>{@code minimize(dataLoss)} trains every variable of the graph, ref ({@code VariableV2}, what
 * {@code tf.variable(…)} builds) and resource ({@code VarHandleOp}, read through {@code
 * ReadVariableOp}, as TF2 and Keras graphs hold them) alike; {@link #minimize(Operand, Iterable)}
 * trains exactly the variables it is given. A resource variable's data gradient is the sum over the
 * reads of it that the loss reaches; an embedding table read through {@code ResourceGather} (or
 * {@code GatherV2} of a read) gets the dense gradient of its gathered rows ({@code
 * UnsortedSegmentSum}), which is right here: the proximal step shrinks every row of a selected
 * table. Ref variables step in the kernels above, behind the framework's barrier on all the step's
 * gradients; resource variables step in {@code ResourceApplyProximalGradientDescent} ({@code
 * ResourceApplyGradientDescent} when unselected), each waiting only for its own gradient and,
 * through control edges, for the reads of that variable that exist when the step is built and have
 * no control inputs of their own, so that such a read (a metric's, say) fetched beside the step
 * sees the value before the update. Every selected variable takes the proximal step, even one the
 * data loss does not reach (it shrinks towards zero), so select the model's weights with {@code
 * on(regex)} when a graph holds other variables, such as another optimizer's slots. Building a step
 * whose data loss reaches none of the variables it would train throws an {@link
 * IllegalArgumentException}: such a step would not train on the data.
 */
public final class ProximalGradientDescent extends Optimizer {
  private final float learningRate;
  private final ProximalTerms terms;

  /**
   * Creates the optimizer.
   *
   * @param graph the graph whose variables it trains
   * @param learningRate the step size {@code α}, finite and {@code > 0}
   * @param regularizer the penalty applied through its proximal operator, and which variables it
   *     selects
   * @throws NullPointerException if {@code graph} or {@code regularizer} is null
   * @throws IllegalArgumentException if {@code learningRate} is not a finite number {@code > 0}
   */
  public ProximalGradientDescent(Graph graph, float learningRate, L1L2 regularizer) {
    super(ProximalTerms.checked(graph, learningRate, regularizer));
    this.learningRate = learningRate;
    this.terms = new ProximalTerms(regularizer);
  }

  /**
   * The step size {@code α}.
   *
   * @return the learning rate given to the constructor, finite and {@code > 0}
   */
  public float learningRate() {
    return learningRate;
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
   *     (or a read of one) of this graph, or names a variable given before (the message names its
   *     index and op); a selected variable is neither float32 nor float64; or the data loss reaches
   *     none of the variables
   */
  public Op minimize(Operand<?> dataLoss, Iterable<? extends Operand<?>> variables) {
    Objects.requireNonNull(dataLoss, "dataLoss must not be null");
    List<Output<?>> given = GradientPairs.givenVariables(graph, variables, Set.of());
    return applyGradients(
        GradientPairs.of(
            getOptimizerName(), graph, tf, dataLoss, given, "the given variables", terms::selects),
        getOptimizerName() + "-minimize");
  }

  /**
   * The data loss's gradient for every variable of the graph (ref or resource) it reaches, and a
   * zero gradient for every selected variable it does not reach (unselected ones it does not reach
   * stay as they are).
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
        GradientPairs.graphVariables(graph, Set.of()),
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
    // Plain resource kernels at every size: the loss's reads are released before the update, so
    // the kernel updates in place, while an XLA cluster's AssignVariableOp writes a fresh buffer
    // (measured slower: see the notes on resource variables).
    return finish(
        ResourceUpdates.build(
            tf, gradsAndVars, gradsAndVars, this::refUpdate, this::resourceUpdate),
        name);
  }

  private <T extends TType> Op refUpdate(Ops tf, GradAndVar<T> pair) {
    return applyDense(tf, pair.getGradient(), pair.getVariable());
  }

  @Override
  protected <T extends TType> Op applyDense(Ops tf, Output<T> gradient, Output<T> variable) {
    Operand<T> alpha = ProximalTerms.scalar(tf, learningRate, variable);
    if (!terms.selects(variable)) {
      return tf.train.applyGradientDescent(variable, alpha, gradient);
    }
    return tf.train.applyProximalGradientDescent(
        variable, alpha, terms.l1(tf, variable), terms.l2(tf, variable), gradient);
  }

  @SuppressWarnings("unchecked")
  private Op resourceUpdate(Ops tf, GradAndVar<? extends TType> pair) {
    Output<?> handle = pair.getVariable();
    Class<TType> type = ProximalTerms.valueType(handle);
    Operand<TType> gradient = (Operand<TType>) pair.getGradient();
    Operand<TType> alpha = ProximalTerms.scalar(tf, learningRate, type);
    if (!terms.selects(handle)) {
      return tf.train.resourceApplyGradientDescent(handle, alpha, gradient);
    }
    return tf.train.resourceApplyProximalGradientDescent(
        handle, alpha, terms.l1(tf, type), terms.l2(tf, type), gradient);
  }

  @Override
  public String getOptimizerName() {
    return "ProximalGradientDescent";
  }

  @Override
  public String toString() {
    return "ProximalGradientDescent{learningRate="
        + learningRate
        + ", regularizer="
        + terms.regularizer()
        + "}";
  }
}
