package io.github.tfl1l2.optimizers;

import io.github.tfl1l2.L1L2;
import java.util.List;
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
 * <p>{@code new ProximalGradientDescent(graph, lr, reg).minimize(dataLoss)} builds one op that,
 * for every {@code VariableV2} {@code w} of the graph (the variables every framework optimizer
 * trains), with {@code g = ∂dataLoss/∂w} ({@code g = 0} where the data loss does not reach
 * {@code w}) and {@code α = lr}, sets
 *
 * <pre>
 *   v = w − α·g
 *   w ← sign(v) · max(|v| − α·λ1, 0) / (1 + α·λ2)      if reg.selects(name of w)
 *   w ← v                                               otherwise
 * </pre>
 *
 * <p>with {@code λ1 = weight·l1} and {@code λ2 = 2·weight·l2}. A weight that the threshold
 * catches becomes an exact zero ({@code w == 0}; {@code -0.0} when {@code v < 0}). For a selected variable this is
 * the exact minimizer of {@code |u − v|²/(2α) + weight·(l1·Σ|u| + l2·Σu²)}: the proximal operator
 * of {@code α} times the regularizer's penalty, so the iterates minimize {@code dataLoss +
 * reg.penalty(…)} with exact zeros. The step runs in TensorFlow's {@code ApplyProximalGradientDescent}
 * kernel (unselected variables in {@code ApplyGradientDescent}); TensorFlow's {@code l2} means
 * {@code (l2/2)·w²}, which is why {@code λ2} carries the factor 2. Coefficients are computed in
 * double and cast once to the variable's dtype ({@code TFloat16}, {@code TBfloat16}, {@code
 * TFloat32} or {@code TFloat64}).
 *
 * <p>The regularizer's {@code reduction} does not change the step (every reduction sums the same
 * terms), and its {@code xla} and {@code checkNumerics} settings do not apply: no penalty op is
 * built. Pass the data loss alone: adding {@code reg.penalty(…)} to it as well would count the
 * penalty twice.
 *
 * <p>Like the framework's optimizers it trains ref variables ({@code tf.variable(…)}); resource
 * variables ({@code VarHandleOp}) are not seen by the framework's {@code computeGradients} and are
 * left unchanged. Every selected variable of the graph takes the proximal step, even one the data
 * loss does not reach (it shrinks towards zero), so select the model's weights with {@code
 * on(regex)} when a graph holds other variables, such as another optimizer's slots.
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

  /** The step size {@code α}. */
  public float learningRate() {
    return learningRate;
  }

  /** The regularizer whose proximal operator the step applies. */
  public L1L2 regularizer() {
    return terms.regularizer();
  }

  /**
   * The data loss's gradient for every {@code VariableV2} it reaches, and a zero gradient for
   * every selected variable it does not reach (unselected ones it does not reach stay as they are).
   */
  @Override
  public <T extends TType> List<GradAndVar<?>> computeGradients(Operand<?> loss) {
    return GradientPairs.of(graph, tf, loss, terms::selects, Set.of());
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

  @Override
  public String getOptimizerName() {
    return "ProximalGradientDescent";
  }

  @Override
  public String toString() {
    return "ProximalGradientDescent{learningRate=" + learningRate + ", regularizer="
        + terms.regularizer() + "}";
  }
}
