package io.github.tfl1l2.demo;

import io.github.tfl1l2.L1L2;

/**
 * One way to regularize the demo's model: a label, the two coefficients and how the penalty is
 * trained.
 *
 * @param label what the summary table calls it
 * @param l1 the coefficient of Σ|w|
 * @param l2 the coefficient of Σw²
 * @param step the training step
 */
record Setting(String label, double l1, double l2, Step step) {

  /** How a model is trained. */
  enum Step {
    /**
     * {@code optimizers.ProximalGradientDescent} on the data loss: the penalty's prox, exact zeros.
     */
    PROXIMAL,
    /** The framework's {@code GradientDescent} on data loss + penalty: L1 by its subgradient. */
    SUBGRADIENT
  }

  /** A setting trained with the proximal step. */
  Setting(String label, double l1, double l2) {
    this(label, l1, l2, Step.PROXIMAL);
  }

  /**
   * The regularizer this setting trains with.
   *
   * <p>XLA marking is off: the whole penalty here is a 200-element Abs/Square/Sum, and on CPU the
   * launch of a compiled cluster costs more than it saves; measured on this model, training ran 2–3
   * times slower with the library's default {@code xla(true)}, with identical numbers.
   */
  L1L2 regularizer() {
    return L1L2.builder().l1(l1).l2(l2).xla(false).build();
  }
}
