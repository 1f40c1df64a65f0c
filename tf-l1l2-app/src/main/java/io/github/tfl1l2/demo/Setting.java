package io.github.tfl1l2.demo;

import io.github.tfl1l2.L1L2;

/**
 * One way to regularize the demo's model: a label and the two coefficients.
 *
 * @param label what the summary table calls it
 * @param l1 the coefficient of Σ|w|
 * @param l2 the coefficient of Σw²
 */
record Setting(String label, double l1, double l2) {

  /**
   * The regularizer this setting trains with.
   *
   * <p>XLA marking is off: the whole penalty here is a 200-element Abs/Square/Sum, and on CPU
   * the launch of a compiled cluster costs more than it saves; measured on this model, training
   * ran 2–3 times slower with the library's default {@code xla(true)}, with identical numbers.
   */
  L1L2 regularizer() {
    return L1L2.builder().l1(l1).l2(l2).xla(false).build();
  }
}
