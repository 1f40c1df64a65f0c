package io.github.tfl1l2.internal;

import org.tensorflow.TensorFlow;
import org.tensorflow.internal.c_api.global.tensorflow;

/**
 * The one answer to "may a gradient pass this op?", for a check that walks a graph (a consumer of a
 * variable's handle, an op between a variable and the loss) before training it.
 */
public final class GradientRules {
  static {
    // Loads the native library, which the registry lookup below needs.
    TensorFlow.version();
  }

  private GradientRules() {}

  /**
   * Whether this library's training steps carry a gradient through an op of type {@code opType}:
   * TensorFlow's gradient registry has a gradient for it (built in, or registered with {@code
   * TensorFlow.registerCustomGradient}), or it is a row read ({@code ResourceGather}) that {@link
   * DataGradients} differentiates at its output.
   *
   * @param opType an op type, e.g. {@code "MatMul"} or {@code "ResourceGather"}
   * @return true when a gradient passes an op of that type
   * @throws NullPointerException if {@code opType} is null
   */
  public static boolean passes(String opType) {
    Checks.notNull("opType", opType);
    return opType.equals(RowReads.RESOURCE_GATHER) || tensorflow.TFJ_HasGradient(opType);
  }
}
