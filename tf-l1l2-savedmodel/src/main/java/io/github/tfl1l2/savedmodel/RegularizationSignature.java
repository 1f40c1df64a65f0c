package io.github.tfl1l2.savedmodel;

import io.github.tfl1l2.L1L2;
import io.github.tfl1l2.Reduction;
import io.github.tfl1l2.savedmodel.export.RegularizationOutputs;
import io.github.tfl1l2.savedmodel.export.SignatureConfig;
import io.github.tfl1l2.savedmodel.export.SignatureLayout;
import java.util.Map;
import java.util.Objects;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.SavedModelBundle;
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
 *   <li>{@value #VARIABLE_NAMES}: string vector, the regularized variables' names in the order of
 *       {@value #PER_VARIABLE};
 *   <li>{@value #COEFFICIENTS}: float64 vector {@code [l1, l2, weight]}, so that a consumer can
 *       recompute the penalty for other coefficients from the two sums.
 * </ul>
 *
 * <p>The method name records the configuration as well, e.g. {@code
 * tfl1l2/l1=1.0E-4,l2=0.001,weight=1.0,on=kernel}.
 *
 * <p>The outputs are never marked for XLA, whatever {@link L1L2#xla()} says: the signature is
 * evaluated once per call, outside any training step, so an XLA compilation would cost far more
 * than it saves, and {@code _XlaCompile} attributes would tie the SavedModel to runtimes built with
 * XLA.
 */
public final class RegularizationSignature {
  /** The signature key. */
  public static final String KEY = SignatureLayout.KEY;

  /** Output: the configured penalty (float32 scalar). */
  public static final String PENALTY = SignatureLayout.PENALTY;

  /** Output: Σ|w| (float32 scalar). */
  public static final String L1_SUM = SignatureLayout.L1_SUM;

  /** Output: Σw² (float32 scalar). */
  public static final String L2_SUM = SignatureLayout.L2_SUM;

  /** Output: the per-variable penalties (float32 vector, input order). */
  public static final String PER_VARIABLE = SignatureLayout.PER_VARIABLE;

  /** Output: the names of the regularized variables (string vector, input order). */
  public static final String VARIABLE_NAMES = SignatureLayout.VARIABLE_NAMES;

  /** Output: {@code [l1, l2, weight]} (float64 vector). */
  public static final String COEFFICIENTS = SignatureLayout.COEFFICIENTS;

  /** Prefix of {@link #methodName(L1L2)}. */
  public static final String METHOD_PREFIX = SignatureLayout.METHOD_PREFIX;

  private RegularizationSignature() {}

  /**
   * Emits the outputs into {@code tf}'s graph and returns the signature that names them.
   *
   * <p>The ops go under a name scope {@value #KEY} (or {@code regularization_1}, … when the graph
   * already holds ops under that name, e.g. a model regularized before).
   *
   * @param tf the ops of the graph that will be exported
   * @param config the regularizer; its {@code on} selection applies to all outputs
   * @param variables the candidate variables by name, in the order of {@value #PER_VARIABLE}
   * @return a signature with key {@value #KEY}, no inputs and the outputs above
   * @throws IllegalArgumentException if {@code tf} is not a graph's, or no variable is selected
   */
  public static Signature create(Ops tf, L1L2 config, Map<String, ? extends Operand<?>> variables) {
    Objects.requireNonNull(tf, "tf must not be null");
    Objects.requireNonNull(config, "config must not be null");
    Objects.requireNonNull(variables, "variables must not be null");
    if (!(tf.scope().env() instanceof Graph graph)) {
      throw new IllegalArgumentException(
          "tf must build into a Graph (a signature names graph tensors), but its environment is "
              + tf.scope().env().environmentType());
    }
    return RegularizationOutputs.emit(tf, graph, KEY, config, variables, false).signature();
  }

  /**
   * The method name that documents {@code config} inside the SavedModel.
   *
   * @param config the regularizer; only {@code l1}, {@code l2}, {@code weight} and {@code on} are
   *     written
   * @return {@value #METHOD_PREFIX} followed by {@code l1=…,l2=…,weight=…} (Java's {@code double}
   *     text, e.g. {@code 1.0E-4}) and {@code ,on=<regex>} when a selection is set
   */
  public static String methodName(L1L2 config) {
    return SignatureLayout.methodName(config);
  }

  /**
   * Reads back the regularizer that a SavedModel's {@value #KEY} signature was made with: {@code
   * l1}, {@code l2} and {@code weight} from its {@value #COEFFICIENTS} output (float64, exact),
   * {@code on} from its method name ({@link #methodName(L1L2)}).
   *
   * <p>The signature records only those four settings: it always sums ({@link Reduction#SUM}) and
   * is never marked for XLA, whatever the regularizer said. The other settings of the result
   * ({@link L1L2#reduction()}, {@link L1L2#name()}, {@link L1L2#xla()}, {@link
   * L1L2#checkNumerics()}) are the builder's defaults, so a regularizer that kept those defaults
   * reads back {@code equals} to itself.
   *
   * @param bundle a loaded SavedModel; only the constant {@value #COEFFICIENTS} is computed
   * @return a regularizer with the recorded {@code l1}, {@code l2}, {@code weight} and {@code on},
   *     every other setting at its default
   * @throws NullPointerException if {@code bundle} is null
   * @throws SavedModelException if the model has no {@value #KEY} signature, or its method name or
   *     coefficients are not those this class writes, or they disagree
   */
  public static L1L2 readConfig(SavedModelBundle bundle) {
    Objects.requireNonNull(bundle, "bundle must not be null");
    return SignatureConfig.read(bundle);
  }
}
