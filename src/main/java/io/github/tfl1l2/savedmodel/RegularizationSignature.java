package io.github.tfl1l2.savedmodel;

import io.github.tfl1l2.L1L2;
import io.github.tfl1l2.Reduction;
import java.util.Map;
import java.util.Objects;
import org.tensorflow.Operand;
import org.tensorflow.Signature;
import org.tensorflow.op.Ops;

/**
 * The {@value #KEY} signature that a regularized SavedModel carries beside its own signatures.
 *
 * <p>It has no inputs. Its outputs, all computed from the model's variables when called:
 *
 * <ul>
 *   <li>{@value #PENALTY}: float32 scalar, the configured L1L2 penalty;
 *   <li>{@value #L1_SUM}: float32 scalar, Σ|w| over the regularized variables;
 *   <li>{@value #L2_SUM}: float32 scalar, Σw² over the regularized variables;
 *   <li>{@value #PER_VARIABLE}: float32 vector, the {@link Reduction#NONE} penalty per variable;
 *   <li>{@value #COEFFICIENTS}: float64 vector {@code [l1, l2, weight]}, so that a consumer can
 *       recompute the penalty for other coefficients from the two sums.
 * </ul>
 *
 * <p>The method name records the configuration as well, e.g. {@code
 * tfl1l2/l1=1.0E-4,l2=0.001,weight=1.0}.
 */
public final class RegularizationSignature {
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
  /** Output: {@code [l1, l2, weight]} (float64 vector). */
  public static final String COEFFICIENTS = "coefficients";

  private RegularizationSignature() {}

  /**
   * Emits the outputs into {@code tf}'s graph and returns the signature that names them.
   *
   * @param tf the ops of the graph that will be exported
   * @param config the regularizer; its {@code on} selection applies to all outputs
   * @param variables the candidate variables by name, in the order of {@value #PER_VARIABLE}
   * @return a signature with key {@value #KEY}, no inputs and the five outputs above
   */
  public static Signature create(
      Ops tf, L1L2 config, Map<String, ? extends Operand<?>> variables) {
    Objects.requireNonNull(tf, "tf must not be null");
    Objects.requireNonNull(config, "config must not be null");
    Objects.requireNonNull(variables, "variables must not be null");
    Ops scoped = tf.withSubScope(KEY);
    L1L2 sums = config.toBuilder().weight(1.0).reduction(Reduction.SUM).build();
    return Signature.builder()
        .key(KEY)
        .methodName(methodName(config))
        .output(PENALTY, config.toBuilder().reduction(Reduction.SUM).build()
            .penalty(scoped, variables))
        .output(L1_SUM, sums.toBuilder().l1(1.0).l2(0.0).name("l1_sum").build()
            .penalty(scoped, variables))
        .output(L2_SUM, sums.toBuilder().l1(0.0).l2(1.0).name("l2_sum").build()
            .penalty(scoped, variables))
        .output(PER_VARIABLE, config.toBuilder().reduction(Reduction.NONE).name("per_variable")
            .build().penalty(scoped, variables))
        .output(COEFFICIENTS,
            scoped.withName(COEFFICIENTS)
                .constant(new double[] {config.l1(), config.l2(), config.weight()}))
        .build();
  }

  /** The method name that documents {@code config} inside the SavedModel. */
  public static String methodName(L1L2 config) {
    return "tfl1l2/l1=" + config.l1() + ",l2=" + config.l2() + ",weight=" + config.weight()
        + config.on().map(p -> ",on=" + p).orElse("");
  }
}
