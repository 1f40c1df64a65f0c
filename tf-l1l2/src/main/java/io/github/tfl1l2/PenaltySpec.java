package io.github.tfl1l2;

import java.util.function.Predicate;

/**
 * What an {@code L1L2} hands the code that emits its ops (the penalty, its sums, its gradient, its
 * training step), so that nothing below it refers back to it: the penalty is {@code c1 · Σ|w| + c2
 * · Σw²} over the parameters that {@code selects} names. {@code L1L2} builds it once, in its
 * constructor, which is the one place where {@code weight · l1} and {@code weight · l2} are
 * computed.
 *
 * @param name the name scope of the emitted ops
 * @param c1 {@code weight · l1}, the coefficient of {@code Σ|w|}
 * @param c2 {@code weight · l2}, the coefficient of {@code Σw²}
 * @param zero whether the penalty is identically zero ({@code weight = 0} or {@code l1 = l2 = 0}),
 *     decided on the settings, not on {@code c1} and {@code c2}, which may underflow
 * @param xla whether graph ops are XLA-marked (the fused formulation)
 * @param checkNumerics whether each parameter read is checked for NaN and infinity
 * @param perParameter whether the penalty is one value per parameter ({@link Reduction#NONE})
 * @param selects the selection rule, {@code L1L2.selects}
 * @param on the selection's regular expression, for messages; null when every name is selected
 */
record PenaltySpec(
    String name,
    double c1,
    double c2,
    boolean zero,
    boolean xla,
    boolean checkNumerics,
    boolean perParameter,
    Predicate<String> selects,
    String on) {

  /**
   * Rejects a per-parameter penalty where it joins a scalar loss.
   *
   * @throws IllegalArgumentException if {@link #perParameter()}
   */
  void requireScalarReduction() {
    if (perParameter) {
      throw new IllegalArgumentException(
          "reduction must be SUM or SUM_OVER_BATCH_SIZE to add the penalty to a loss, but was NONE");
    }
  }
}
