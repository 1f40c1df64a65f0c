package io.github.tfl1l2.optimizers;

import io.github.tfl1l2.L1L2;
import io.github.tfl1l2.internal.DataGradients;
import java.util.Objects;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.internal.types.registry.TensorTypeRegistry;
import org.tensorflow.op.Ops;
import org.tensorflow.op.Scope;
import org.tensorflow.op.core.Constant;
import org.tensorflow.op.dtypes.Cast;
import org.tensorflow.proto.DataType;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.family.TType;

/**
 * What the proximal optimizers share: argument checks, the mapping from an {@link L1L2} to the
 * coefficients of TensorFlow's proximal kernels.
 */
final class ProximalTerms {
  private final L1L2 regularizer;

  /** TensorFlow's {@code l1}: {@code weight · l1}, computed here once. */
  private final double kernelL1;

  /** TensorFlow's {@code l2}: {@code 2 · weight · l2}, computed here once. */
  private final double kernelL2;

  ProximalTerms(L1L2 regularizer) {
    this.regularizer = regularizer;
    this.kernelL1 = regularizer.weight() * regularizer.l1();
    this.kernelL2 = 2.0 * regularizer.weight() * regularizer.l2();
  }

  /**
   * Checks the arguments every proximal optimizer takes and returns {@code graph}, so that a
   * constructor can check them before it calls its superclass.
   */
  static Graph checked(Graph graph, float learningRate, L1L2 regularizer) {
    Objects.requireNonNull(graph, "graph must not be null");
    Objects.requireNonNull(regularizer, "regularizer must not be null");
    positiveFinite("learningRate", learningRate);
    return graph;
  }

  /** Returns {@code value} if it is finite and {@code > 0}. */
  static float positiveFinite(String argument, float value) {
    if (!(value > 0f) || Float.isInfinite(value)) {
      throw new IllegalArgumentException(
          argument + " must be a finite number > 0, but was " + value);
    }
    return value;
  }

  L1L2 regularizer() {
    return regularizer;
  }

  /** Whether the variable takes the proximal step: {@link L1L2#selects(String)} on its op name. */
  boolean selects(Output<?> variable) {
    return regularizer.selects(variable.op().name());
  }

  /**
   * TensorFlow's {@code l1} for a selected variable: {@code weight · l1}, cast to the variable's
   * dtype. The kernels shrink by {@code alpha · l1}, the prox of {@code alpha · l1 · |w|}.
   */
  <T extends TType> Operand<T> l1(Ops tf, Output<T> variable) {
    return scalar(tf, kernelL1, variable);
  }

  /**
   * TensorFlow's {@code l2} for a selected variable: {@code 2 · weight · l2}. The kernels divide by
   * {@code 1 + alpha · l2}, the prox of {@code alpha · (l2/2) · w²}; this library's term is {@code
   * l2 · w²}, hence the factor 2.
   */
  <T extends TType> Operand<T> l2(Ops tf, Output<T> variable) {
    return scalar(tf, kernelL2, variable);
  }

  /**
   * Fails unless a selected variable's dtype has TensorFlow's proximal kernels: float32 and float64
   * only (measured: TF 2.18 registers no half-precision kernel for {@code
   * ApplyProximalGradientDescent}, so the step would fail only when the graph runs).
   */
  static void requireProximalKernel(String optimizer, Output<?> variable) {
    DataType dtype = DataGradients.dtypeOf(variable);
    if (dtype != DataType.DT_FLOAT && dtype != DataType.DT_DOUBLE) {
      throw new IllegalArgumentException(
          optimizer
              + " applies TensorFlow's proximal kernels,"
              + " which exist for float32 and float64 only, but the selected variable '"
              + variable.op().name()
              + "' is "
              + dtype
              + "; deselect it with L1L2.on(regex) or train it in float32");
    }
  }

  /** A scalar constant in the variable's dtype, rounded once from double. */
  static <T extends TType> Operand<T> scalar(Ops tf, double value, Output<T> variable) {
    return tf.dtypes.cast(tf.constant(value), variable.type());
  }

  /** A scalar constant in {@code type}, rounded once from double. */
  static <T extends TType> Operand<T> scalar(Ops tf, double value, Class<T> type) {
    return tf.dtypes.cast(tf.constant(value), type);
  }

  /** The class of a variable's value, ref or resource (a resource handle's output has none). */
  static Class<TType> valueType(Output<?> variable) {
    return TensorTypeRegistry.<TType>find(DataGradients.dtypeOf(variable)).type();
  }

  /** TensorFlow's {@code l1} in {@code type}, built in {@code scope}. */
  <T extends TType> Operand<T> l1(Scope scope, Class<T> type) {
    return Cast.create(scope, Constant.scalarOf(scope, kernelL1), type);
  }

  /** TensorFlow's {@code l2} in {@code type}, built in {@code scope}. */
  <T extends TType> Operand<T> l2(Scope scope, Class<T> type) {
    return Cast.create(scope, Constant.scalarOf(scope, kernelL2), type);
  }

  /**
   * Whether TensorFlow's {@code l1}, rounded to {@code type}, is {@code > 0}: the test by which the
   * proximal kernels choose between soft thresholding and plain scaling.
   */
  boolean l1IsPositive(Class<? extends TType> type) {
    return type == TFloat32.class ? (float) kernelL1 > 0f : kernelL1 > 0.0;
  }

  /** TensorFlow's {@code l1} for a selected resource variable (see {@link #l1(Ops, Output)}). */
  <T extends TType> Operand<T> l1(Ops tf, Class<T> type) {
    return scalar(tf, kernelL1, type);
  }

  /** TensorFlow's {@code l2} for a selected resource variable (see {@link #l2(Ops, Output)}). */
  <T extends TType> Operand<T> l2(Ops tf, Class<T> type) {
    return scalar(tf, kernelL2, type);
  }
}
