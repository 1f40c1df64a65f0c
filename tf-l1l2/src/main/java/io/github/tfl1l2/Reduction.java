package io.github.tfl1l2;

/**
 * How {@link L1L2} combines the penalties of the individual parameters.
 *
 * <p>The names follow the Keras/treex {@code Reduction} enum so that configurations port across.
 */
public enum Reduction {
  /**
   * No reduction: a rank-1 tensor with one penalty per selected parameter, in input order, each
   * already multiplied by {@link L1L2#weight()}. Its sum equals the {@link #SUM} value.
   */
  NONE,
  /** The scalar sum of the per-parameter penalties. */
  SUM,
  /**
   * The scalar sum divided by the batch size. A weight penalty has no batch dimension, so the
   * divisor is 1 and the value equals {@link #SUM}; kept as the default for parity with treex.
   */
  SUM_OVER_BATCH_SIZE
}
