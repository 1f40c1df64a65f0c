package io.github.tfl1l2;

import org.tensorflow.Operand;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Scope;
import org.tensorflow.op.core.Constant;
import org.tensorflow.op.core.Identity;
import org.tensorflow.op.core.Reshape;
import org.tensorflow.op.core.Slice;
import org.tensorflow.op.debugging.CheckNumerics;
import org.tensorflow.op.dtypes.Cast;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TFloat64;
import org.tensorflow.types.family.TFloating;
import org.tensorflow.types.family.TType;

/**
 * The graph plumbing every emitter of this package shares: reading a parameter, casting, erasing a
 * type for TF-Java's generic op factories, flattening, slicing, typed scalar constants. None of it
 * knows about penalties; each method builds at most a few ops in the scope it is given.
 */
final class Plumbing {
  private Plumbing() {}

  /**
   * Reads {@code parameter} through an unmarked {@code Identity} (in a graph): gradients taken
   * straight through a ref variable crash TensorFlow's {@code SquareGrad}, and an XLA cluster takes
   * values, not refs. With {@code checkNumerics}, a {@code CheckNumerics} after it names the
   * parameter when it holds NaN or infinity.
   */
  @SuppressWarnings("unchecked")
  static Operand<TType> read(Scope plain, Parameter parameter, boolean checkNumerics) {
    Operand<TType> value = (Operand<TType>) parameter.operand();
    if (plain.env().isGraph()) {
      value = Identity.create(plain, value);
    }
    if (checkNumerics) {
      value =
          erase(
              CheckNumerics.create(
                  plain,
                  (Operand<TFloating>) (Operand<?>) value,
                  "L1L2 parameter \"" + parameter.name() + "\" holds NaN or Inf"));
    }
    return value;
  }

  /** {@code value} as {@code type}: itself when it already is, else through one {@code Cast}. */
  @SuppressWarnings("unchecked")
  static <U extends TType> Operand<U> castIfNeeded(Scope scope, Operand<?> value, Class<U> type) {
    if (value.type() == type) {
      return (Operand<U>) value;
    }
    return Cast.create(scope, value, type);
  }

  /** {@code operand} with its element type erased, for the factories that take one type. */
  @SuppressWarnings("unchecked")
  static Operand<TType> erase(Operand<?> operand) {
    return (Operand<TType>) operand;
  }

  /** {@code x} as a vector: itself when it is one, else through a free {@code Reshape}. */
  static <T extends TType> Operand<T> flatten(Scope scope, Operand<T> x) {
    if (x.shape().numDimensions() == 1) {
      return x;
    }
    return Reshape.create(scope, x, Constant.vectorOf(scope, new int[] {-1}));
  }

  /**
   * Columns {@code [from, from + length)} of the last dimension of {@code x}: a vector, or with
   * {@code rows} a matrix of {@code k} rows.
   */
  static <T extends TType> Operand<T> slice(
      Scope scope, Operand<T> x, long k, boolean rows, long from, long length) {
    long[] begin = rows ? new long[] {0, from} : new long[] {from};
    long[] size = rows ? new long[] {k, length} : new long[] {length};
    if (from + length <= Integer.MAX_VALUE && k <= Integer.MAX_VALUE) {
      // int32 indices where they fit: the gradient of Slice pads with the index type and rejects
      // int64 there.
      return Slice.create(
          scope,
          x,
          Constant.vectorOf(scope, toInts(begin)),
          Constant.vectorOf(scope, toInts(size)));
    }
    return Slice.create(scope, x, Constant.vectorOf(scope, begin), Constant.vectorOf(scope, size));
  }

  private static int[] toInts(long[] values) {
    int[] ints = new int[values.length];
    for (int i = 0; i < values.length; i++) {
      ints[i] = (int) values[i];
    }
    return ints;
  }

  /** The number of elements of {@code shape}, or -1 when it is not fully known. */
  static long knownSize(Shape shape) {
    if (shape.isUnknown() || shape.hasUnknownDimension()) {
      return -1;
    }
    return shape.size();
  }

  /** A scalar constant of {@code type} holding {@code value} rounded once to that type. */
  @SuppressWarnings("unchecked")
  static <T extends TType> Operand<T> constant(Scope scope, double value, Class<T> type) {
    if (type == TFloat64.class) {
      return (Operand<T>) Constant.scalarOf(scope, value);
    }
    if (type == TFloat32.class) {
      return (Operand<T>) Constant.scalarOf(scope, (float) value);
    }
    return Cast.create(scope, Constant.scalarOf(scope, (float) value), type);
  }
}
