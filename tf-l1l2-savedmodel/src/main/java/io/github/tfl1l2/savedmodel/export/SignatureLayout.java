package io.github.tfl1l2.savedmodel.export;

import io.github.tfl1l2.L1L2;

/**
 * The names of the {@code regularization} signature: its key, output keys and method name. The one
 * place they are spelled; the public {@code RegularizationSignature} repeats them as its API
 * constants.
 */
public final class SignatureLayout {
  /** The signature key. */
  public static final String KEY = "regularization";

  /** Output: the configured penalty (float32 scalar). */
  public static final String PENALTY = "penalty";

  /** Output: Σ|w| (float32 scalar). */
  public static final String L1_SUM = "l1_sum";

  /** Output: Σw² (float32 scalar). */
  public static final String L2_SUM = "l2_sum";

  /** Output: the per-variable penalties (float32 vector, input order). */
  public static final String PER_VARIABLE = "per_variable";

  /** Output: the names of the regularized variables (string vector, input order). */
  public static final String VARIABLE_NAMES = "variable_names";

  /** Output: {@code [l1, l2, weight]} (float64 vector). */
  public static final String COEFFICIENTS = "coefficients";

  /** Prefix of {@link #methodName(L1L2)}. */
  public static final String METHOD_PREFIX = "tfl1l2/";

  private SignatureLayout() {}

  /**
   * The method name that documents {@code config} inside the SavedModel.
   *
   * @param config the regularizer; only {@code l1}, {@code l2}, {@code weight} and {@code on} are
   *     written
   * @return {@value #METHOD_PREFIX} followed by {@code l1=…,l2=…,weight=…} (Java's {@code double}
   *     text, e.g. {@code 1.0E-4}) and {@code ,on=<regex>} when a selection is set
   */
  public static String methodName(L1L2 config) {
    return METHOD_PREFIX
        + "l1="
        + config.l1()
        + ",l2="
        + config.l2()
        + ",weight="
        + config.weight()
        + config.on().map(p -> ",on=" + p).orElse("");
  }
}
